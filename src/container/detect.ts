import { DmgkitError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { ascii } from '../util/bytes.js';
import { ENCRYPTED_V1_SIGNATURE, ENCRYPTED_V2_SIGNATURE } from './encrypted.js';
import { SPARSE_SIGNATURE } from './sparseimage.js';
import { locateKoly } from '../udif/trailer.js';

/**
 * The one place that names containers. A raw disk image (.img, .iso, .cdr, UDTO/UDRW data) is its own byte
 * source: nothing to decode. detectContainer names what a single file holds from its signatures, with the same
 * koly rule the UDIF reader uses (src/udif/trailer.ts: the last 512 bytes, a trailer a few bytes before the end,
 * or a koly block at the start).
 */

/** What an opened image is (`openDisk`, `openImage`): a sparse bundle is a directory, the others one file. */
export type ContainerKind = 'udif' | 'sparseimage' | 'sparsebundle' | 'raw';
/** What the bytes of one file say: a container, or an encrypted image (refused when opened). */
export type DetectedContainer = Exclude<ContainerKind, 'sparsebundle'> | 'encrypted-v2' | 'encrypted-v1';

export interface RawDescription {
  kind: DetectedContainer;
  size: number;
  /** Whether the size is a whole number of 512-byte sectors (raw disks usually are). */
  sectorAligned: boolean;
}

/**
 * Identifies a single-file container by its signatures: encrypted ('encrcdsa' at 0 / 'cdsaencr' at the end),
 * sparse image ('sprs' at 0), UDIF (a valid koly block where src/udif/trailer.ts looks), else raw.
 */
export async function detectContainer(src: ByteSource): Promise<DetectedContainer> {
  if (src.size >= 8) {
    const head = await src.read(0, 8);
    if (ascii(head, 0, 8) === ENCRYPTED_V2_SIGNATURE) return 'encrypted-v2';
    const tail = await src.read(src.size - 8, 8);
    if (ascii(tail, 0, 8) === ENCRYPTED_V1_SIGNATURE) return 'encrypted-v1';
    if (ascii(head, 0, 4) === SPARSE_SIGNATURE) return 'sparseimage';
  }
  try {
    await locateKoly(src);
    return 'udif';
  } catch (e) {
    if (!(e instanceof DmgkitError) || e.code !== 'NOT_AN_IMAGE') throw e;
  }
  return 'raw';
}

export async function describeRaw(src: ByteSource): Promise<RawDescription> {
  return { kind: await detectContainer(src), size: src.size, sectorAligned: src.size % 512 === 0 };
}
