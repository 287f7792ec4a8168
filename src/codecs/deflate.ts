/** zlib compression for the writer: node:zlib in Node (the `#platform` import), pako elsewhere. */
import { deflate as pakoDeflate } from 'pako';
import { zlibNode } from '#platform';

export function deflateZlib(data: Uint8Array, level = 6): Uint8Array {
  if (zlibNode) return new Uint8Array(zlibNode.deflateSync(data, { level }));
  return pakoDeflate(data, { level: level as 6 });
}
