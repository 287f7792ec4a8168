/** zlib compression for the writer: node:zlib where present, pako elsewhere. */
import { deflate as pakoDeflate } from 'pako';

type NodeZlib = typeof import('node:zlib');
let nodeZlib: NodeZlib | null = null;
if (typeof process !== 'undefined' && process.versions?.node) {
  try {
    nodeZlib = await import('node:zlib');
  } catch {
    nodeZlib = null;
  }
}

export function deflateZlib(data: Uint8Array, level = 6): Uint8Array {
  if (nodeZlib) return new Uint8Array(nodeZlib.deflateSync(data, { level }));
  return pakoDeflate(data, { level: level as 6 });
}
