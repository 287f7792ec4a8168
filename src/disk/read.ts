import type { ByteSource } from '../io/source.js';

/**
 * Reads [offset, offset+length) when it lies inside the disk, else returns null: partition-map probing asks
 * "is there a structure here?" and a short disk is an answer, not an error. Errors of the source itself
 * (I/O, a corrupt UDIF chunk) still propagate.
 */
export async function readIfInside(disk: ByteSource, offset: number, length: number): Promise<Uint8Array | null> {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) return null;
  if (offset + length > disk.size) return null;
  return disk.read(offset, length);
}
