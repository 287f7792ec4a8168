/**
 * Where chunk encoding runs. The writer hands chunks to an `EncodeRunner` in disk order and takes the results in
 * the same order, with a bounded number in flight; the runner decides where the work happens (this thread, the
 * libuv pool for zlib, or a worker pool). Encoders are deterministic (src/codecs/table.ts), so the output bytes
 * do not depend on the runner or the thread count.
 */
import { DmgkitError } from '../../errors.js';
import { codecEntry } from '../../codecs/table.js';

export interface EncodeRunner {
  /** Encodes one chunk with the codec of `type` at `level`. The runner may take ownership of `data`. */
  encode(type: number, level: number, data: Uint8Array): Promise<Uint8Array>;
  /** How many chunks are worth keeping in flight. */
  readonly parallelism: number;
  close?(): Promise<void>;
}

export function encoderOf(type: number): (input: Uint8Array, level: number) => Uint8Array {
  const e = codecEntry(type);
  if (!e?.encode) {
    throw new DmgkitError('UNSUPPORTED_CODEC', `dmgkit cannot write ${e ? `${e.title} (${e.format ?? 'no format'})` : `chunk type 0x${type.toString(16)}`} chunks yet`, {
      chunkType: type,
    });
  }
  return e.encode;
}

/** Encodes on the calling thread (browsers, one thread). */
export const inlineRunner: EncodeRunner = {
  parallelism: 1,
  async encode(type, level, data) {
    return encoderOf(type)(data, level);
  },
};
