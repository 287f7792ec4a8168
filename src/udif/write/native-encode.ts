/**
 * The 'udif.encode' task's native variant (Node-only; see src/pool/native.ts) for zlib (UDZO) and raw cells: the
 * calling thread finds the cell's CRC-32 (node:zlib's native crc32) and zero runs, libuv's thread pool deflates
 * the rest. The result is encodeCell's in ./encode-task.ts, byte for byte (the same zlib with the same options).
 */
import { DmgkitError } from '../../errors.js';
import { registerNativeTask } from '../../pool/native.js';
import { deflateZlibAsync } from '../../codecs/deflate.js';
import { CHUNK_RAW, CHUNK_ZLIB } from '../chunk-types.js';
import { cellPart, cellResult, type EncodeCellArgs, type EncodeCellResult } from './encode-task.js';

export async function encodeCellNative(a: EncodeCellArgs): Promise<EncodeCellResult> {
  const p = cellPart(a);
  let enc: Uint8Array | null = null;
  // (null from deflateZlibAsync: not smaller, stored raw, as encodeCell does)
  if (p.part && a.type === CHUNK_ZLIB) {
    try {
      enc = await deflateZlibAsync(p.part, a.level, a.lend);
    } catch (e) {
      throw new DmgkitError('INVALID_ARGUMENT', `zlib could not compress a chunk: ${(e as Error)?.message ?? e}`);
    }
  }
  return cellResult(a, p, enc);
}

registerNativeTask<EncodeCellArgs, EncodeCellResult>('udif.encode', {
  accepts: (a) => a.type === CHUNK_ZLIB || a.type === CHUNK_RAW,
  run: encodeCellNative,
});
