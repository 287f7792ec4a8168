/**
 * A chunk decoder: reads all of `input` and fills `output` exactly (output.length is the declared decoded size).
 * Malformed input, producing more than output.length, or fewer, throws a CORRUPT_CHUNK DmgkitError (see
 * codecs/errors.ts). Decoders never allocate memory sized by a field of the input beyond output.length.
 */
export type DecodeInto = (input: Uint8Array, output: Uint8Array) => void;

export interface Codec {
  /** Short name: 'zlib', 'bzip2', 'adc', 'lzfse', 'xz'. */
  readonly name: string;
  readonly decode: DecodeInto;
  /** Optional: decodes into a new buffer of its own (saves a copy where the library allocates anyway, as node:zlib). */
  readonly decodeNew?: (input: Uint8Array, outLength: number) => Uint8Array;
  /**
   * Optional off-thread variant (node:zlib on the libuv pool): resolves to exactly `outLength` decoded bytes in a
   * buffer of its own (no copy into a caller buffer), or rejects with CORRUPT_CHUNK.
   */
  readonly decodeAsync?: (input: Uint8Array, outLength: number) => Promise<Uint8Array>;
}
