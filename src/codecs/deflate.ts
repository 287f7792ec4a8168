/** zlib compression for the writer: node:zlib in Node (the `#platform` import), pako elsewhere. */
import { deflate as pakoDeflate } from 'pako';
import { zlibNode } from '#platform';

/**
 * node:zlib's memLevel for levels 4..9. Node's zlib (Chromium's) keeps its hash at 15 bits whatever memLevel is,
 * so memLevel only sets the block size (8K symbols at 7, 16K at 8): on the bench's mixed data, 7 writes 0.7 %
 * less than the default 8 for 2 % more time at level 6 (within 0.4 % of pigz -6's size; 8 is 1 % above it).
 * Levels 1..3 keep 8 (speed first).
 */
const MEM_LEVEL_DENSE = 7;

/**
 * node:zlib's options for `data`: one output buffer as large as the input (plus the stored-block overhead, rarely
 * reached: such a chunk is stored raw), so the result comes in one piece, handed out as it is (a view, no copy).
 */
const nodeOptions = (data: Uint8Array, level: number) => ({ level, memLevel: level >= 4 ? MEM_LEVEL_DENSE : 8, chunkSize: Math.max(1024, data.length + 64) });

export function deflateZlib(data: Uint8Array, level = 6): Uint8Array {
  if (zlibNode) {
    const out = zlibNode.deflateSync(data, nodeOptions(data, level));
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
  return pakoDeflate(data, { level: level as 6 });
}

/** deflateZlib on libuv's thread pool (Node only): the same bytes, off the calling thread. */
export function deflateZlibAsync(data: Uint8Array, level = 6): Promise<Uint8Array> {
  const z = zlibNode;
  if (!z) return Promise.resolve().then(() => deflateZlib(data, level));
  return new Promise((resolve, reject) =>
    z.deflate(data, nodeOptions(data, level), (err, out) => (err ? reject(err) : resolve(new Uint8Array(out.buffer, out.byteOffset, out.length)))),
  );
}
