import type { ByteSource } from '../io/source.js';
import { ascii } from '../util/bytes.js';
import { ENCRYPTED_V1_SIGNATURE, ENCRYPTED_V2_SIGNATURE } from './encrypted.js';
import { SPARSE_SIGNATURE } from './sparseimage.js';

/**
 * A raw disk image (.img, .iso, .cdr, UDTO/UDRW data) is its own byte source: nothing to decode. This module
 * names what a single file holds, so a caller can pick the right opener.
 */

export type ContainerKind = 'udif' | 'sparseimage' | 'encrypted-v2' | 'encrypted-v1' | 'raw';

/** UDIF trailer: 'koly' in the last 512 bytes (7-Zip also accepts it at offset 0). */
const KOLY = 'koly';
const KOLY_SIZE = 512;

export interface RawDescription {
  kind: ContainerKind;
  size: number;
  /** Whether the size is a whole number of 512-byte sectors (raw disks usually are). */
  sectorAligned: boolean;
}

/**
 * Identifies a single-file container by its signatures: encrypted ('encrcdsa' at 0 / 'cdsaencr' at the end),
 * sparse image ('sprs' at 0), UDIF ('koly' at size−512 or at 0), else raw.
 */
export async function detectContainer(src: ByteSource): Promise<ContainerKind> {
  if (src.size >= 8) {
    const head = await src.read(0, 8);
    if (ascii(head, 0, 8) === ENCRYPTED_V2_SIGNATURE) return 'encrypted-v2';
    const tail = await src.read(src.size - 8, 8);
    if (ascii(tail, 0, 8) === ENCRYPTED_V1_SIGNATURE) return 'encrypted-v1';
    if (ascii(head, 0, 4) === SPARSE_SIGNATURE) return 'sparseimage';
  }
  if (src.size >= KOLY_SIZE) {
    const trailer = await src.read(src.size - KOLY_SIZE, 4);
    if (ascii(trailer, 0, 4) === KOLY) return 'udif';
    const first = await src.read(0, 4);
    if (ascii(first, 0, 4) === KOLY) return 'udif';
  }
  return 'raw';
}

export async function describeRaw(src: ByteSource): Promise<RawDescription> {
  return { kind: await detectContainer(src), size: src.size, sectorAligned: src.size % 512 === 0 };
}
