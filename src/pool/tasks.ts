/**
 * Built-in pool tasks (browser-safe): decode a chunk, encode a chunk, CRC-32 a range. Loaded by every pool.
 *
 * Buffers: a Uint8Array over a SharedArrayBuffer is shared between threads (no copy); any other buffer is copied
 * when posted unless the caller transfers it; results come back copied. Pass `output` as a shared view to decode
 * without any copy.
 */
import { DmgkitError } from '../errors.js';
import { crc32 } from '../util/crc32.js';
import { loadDecoders, requireCodec } from '../udif/chunk-codecs.js';
import { CODECS, codecEntry, loadEncoder } from '../codecs/table.js';
import { registerTask } from './registry.js';
import { forClone } from '../util/shared.js';
// The image writer's task ('udif.encode': a cell's CRC, zero runs and encoding), so any pool can encode for it.
import '../udif/write/encode-task.js';

export interface DecodeArgs {
  /** UDIF chunk type (0x80000005 zlib, 0x80000006 bzip2, ...). */
  type: number;
  input: Uint8Array;
  outLength: number;
  /** Where to decode (at least outLength bytes, typically a view of a SharedArrayBuffer); else a new buffer is returned. */
  output?: Uint8Array;
  /** Also return the CRC-32 of the decoded bytes. */
  crc?: boolean;
}
export interface DecodeResult {
  /** The decoded bytes when no `output` was given (a copy reaches the caller of a worker pool). */
  data?: Uint8Array;
  crc?: number;
}

export interface EncodeArgs {
  /** The codec: its chunk type, or its name in src/codecs/table.ts ('zlib', 'adc', 'lzfse', …). */
  codec: string | number;
  level?: number;
  input: Uint8Array;
}

export interface Crc32Args {
  data: Uint8Array;
  previous?: number;
}

/** Decodes a chunk on this thread (the body of the 'decode' task; also usable directly). */
export function decodeChunkHere(a: DecodeArgs): DecodeResult {
  const codec = requireCodec(a.type, 'decoder');
  let out: Uint8Array;
  if (a.output) {
    if (a.output.length < a.outLength) throw new DmgkitError('INVALID_ARGUMENT', `decode output holds ${a.output.length} bytes, ${a.outLength} needed`);
    out = a.output.length === a.outLength ? a.output : a.output.subarray(0, a.outLength);
    codec.decode(a.input, out);
    return a.crc ? { crc: crc32(out) } : {};
  }
  if (codec.decodeNew) out = codec.decodeNew(a.input, a.outLength);
  else {
    out = new Uint8Array(a.outLength);
    codec.decode(a.input, out);
  }
  return { data: out, crc: a.crc ? crc32(out) : undefined };
}

/** Encodes a chunk on this thread (the body of the 'encode' task); the codec's encoder is imported on first use. */
export async function encodeChunkHere(a: EncodeArgs): Promise<Uint8Array> {
  const e = typeof a.codec === 'number' ? codecEntry(a.codec) : CODECS.find((c) => c.name === a.codec);
  const encode = e && (e.encode ?? (await loadEncoder(e)));
  if (!e || !encode) throw new DmgkitError('UNSUPPORTED_CODEC', `no encoder for '${a.codec}' in the pool`);
  return encode(a.input, a.level ?? e.defaultLevel);
}

// Results are cloned, not transferred: a transfer would detach the buffer in the worker, and one detached buffer
// slows every typed-array access of that thread from then on (util/shared.ts). For no copy, decode into `output`.
registerTask<DecodeArgs, DecodeResult>('decode', async (a) => {
  await loadDecoders([a.type]); // a worker imports a decoder on first use
  const r = decodeChunkHere(a);
  if (r.data) r.data = forClone(r.data);
  return r;
});
registerTask<EncodeArgs, Uint8Array>('encode', async (a) => forClone(await encodeChunkHere(a)), { fallbackCode: 'INVALID_ARGUMENT' });
registerTask<Crc32Args, number>('crc32', (a) => crc32(a.data, a.previous ?? 0), { fallbackCode: 'INVALID_ARGUMENT' });
