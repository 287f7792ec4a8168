/** CRC-32 through the host's native one where it has one (node:zlib's `crc32`, via `#platform`), else ./crc32.ts. */
import { crc32Native } from '#platform';
import { crc32 } from './crc32.js';

/** Continues a CRC-32 (pass the previous result, 0 to start); returns the unsigned CRC. */
export function crc32Fast(data: Uint8Array, previous = 0): number {
  return crc32Native ? crc32Native(data, previous) >>> 0 : crc32(data, previous);
}
