import { DmgkitError, at } from '../errors.js';
import {
  HDR_BAND_SLOTS, HDR_OFF_BANDS, HDR_OFF_FLAGS, HDR_OFF_NEXT_NODE, HDR_OFF_SECTORS_PER_BAND, HDR_OFF_SIGNATURE,
  HDR_OFF_TOTAL_SECTORS_32, HDR_OFF_TOTAL_SECTORS_64, HDR_OFF_VERSION, IDX_BAND_SLOTS, IDX_OFF_BANDS, IDX_OFF_FLAGS,
  IDX_OFF_MAGIC, IDX_OFF_NEXT_NODE, IDX_OFF_NUMBER, MAX_BAND_BYTES, SPARSE_NODE_SIZE, SPARSE_SECTOR,
} from '../container/sparseimage.js';
import { ascii, putU32be, putU64be, u32be, u64be } from '../util/bytes.js';
import { crc32 } from '../util/crc32.js';

/**
 * The shadow file: a sparse image (`sprs`, docs/formats/sparse.md) of the served disk's size holding only the
 * bands that were written, plus a dmgkit record in bytes the sparse-image format leaves zero (docs/formats/shadow.md):
 *
 * ```
 * header node, bytes 36..64 (zero padding in hdiutil's images)
 *   36 'dksh'   40 record version (1)   44 base identity (16 bytes)   60 CRC32 of the node (this field as zero)
 * index node, bytes 20..56 (zero padding)
 *   20 'dksh'   24 CRC32 of the node (this field as zero)
 * ```
 * Any sparse-image reader opens the file (it sees the written bands over zeros); dmgkit also checks the CRCs, the
 * identity of the base image, and that every band a node names lies wholly inside the file.
 */

export const SHADOW_MAGIC = 'dksh';
export const SHADOW_RECORD_VERSION = 1;
export const HDR_OFF_SHADOW_MAGIC = 36;
export const HDR_OFF_SHADOW_VERSION = 40;
export const HDR_OFF_IDENTITY = 44;
export const IDENTITY_BYTES = 16;
export const HDR_OFF_CRC = 60;
export const IDX_OFF_SHADOW_MAGIC = 20;
export const IDX_OFF_CRC = 24;
/** The sparse-image version and flags hdiutil writes (docs/formats/sparse.md). */
export const SPARSE_VERSION = 3;
export const SPARSE_FLAGS = 1;
/** Default band: 512 sectors (256 KiB); the first write into a band copies the base's band into the shadow. */
export const DEFAULT_BAND_SECTORS = 512;

export interface ShadowHeader {
  sectorsPerBand: number;
  totalSectors: number;
  nextNode: number;
  identity: Uint8Array;
  /** Slot k → 1-based logical band number (0 = unused). */
  slots: Uint32Array;
}

export interface ShadowIndexNode {
  number: number;
  nextNode: number;
  slots: Uint32Array;
}

function putAscii(b: Uint8Array, o: number, s: string): void {
  for (let i = 0; i < s.length; i++) b[o + i] = s.charCodeAt(i);
}

function nodeCrc(node: Uint8Array, crcOff: number): number {
  const saved = u32be(node, crcOff);
  putU32be(node, crcOff, 0);
  const c = crc32(node);
  putU32be(node, crcOff, saved);
  return c;
}

export function serializeHeader(h: ShadowHeader): Uint8Array {
  const b = new Uint8Array(SPARSE_NODE_SIZE);
  putAscii(b, HDR_OFF_SIGNATURE, 'sprs');
  putU32be(b, HDR_OFF_VERSION, SPARSE_VERSION);
  putU32be(b, HDR_OFF_SECTORS_PER_BAND, h.sectorsPerBand);
  putU32be(b, HDR_OFF_FLAGS, SPARSE_FLAGS);
  putU32be(b, HDR_OFF_TOTAL_SECTORS_32, h.totalSectors > 0xffffffff ? 0 : h.totalSectors);
  putU64be(b, HDR_OFF_NEXT_NODE, h.nextNode);
  putU64be(b, HDR_OFF_TOTAL_SECTORS_64, h.totalSectors);
  putAscii(b, HDR_OFF_SHADOW_MAGIC, SHADOW_MAGIC);
  putU32be(b, HDR_OFF_SHADOW_VERSION, SHADOW_RECORD_VERSION);
  b.set(h.identity.subarray(0, IDENTITY_BYTES), HDR_OFF_IDENTITY);
  for (let k = 0; k < HDR_BAND_SLOTS; k++) putU32be(b, HDR_OFF_BANDS + 4 * k, h.slots[k] ?? 0);
  putU32be(b, HDR_OFF_CRC, nodeCrc(b, HDR_OFF_CRC));
  return b;
}

export function serializeIndexNode(n: ShadowIndexNode): Uint8Array {
  const b = new Uint8Array(SPARSE_NODE_SIZE);
  // hdiutil's index-node magic is not documented by the readers we know of; dmgkit writes 'sprs'.
  putAscii(b, IDX_OFF_MAGIC, 'sprs');
  putU32be(b, IDX_OFF_NUMBER, n.number);
  putU32be(b, IDX_OFF_FLAGS, SPARSE_FLAGS);
  putU64be(b, IDX_OFF_NEXT_NODE, n.nextNode);
  putAscii(b, IDX_OFF_SHADOW_MAGIC, SHADOW_MAGIC);
  for (let k = 0; k < IDX_BAND_SLOTS; k++) putU32be(b, IDX_OFF_BANDS + 4 * k, n.slots[k] ?? 0);
  putU32be(b, IDX_OFF_CRC, nodeCrc(b, IDX_OFF_CRC));
  return b;
}

const corrupt = (what: string, offset: number) =>
  new DmgkitError('CORRUPT_HEADER', `shadow file: ${what} ${at(offset)}`, { offset });

/** Parses and checks the header node of a shadow file (signature, dmgkit record, CRC, band size). */
export function parseHeader(b: Uint8Array, name = 'shadow file'): ShadowHeader {
  if (b.length < SPARSE_NODE_SIZE) {
    throw new DmgkitError('TRUNCATED', `${name}: the header needs ${SPARSE_NODE_SIZE} bytes, the file has ${b.length}`, { offset: 0 });
  }
  if (ascii(b, HDR_OFF_SIGNATURE, 4) !== 'sprs') {
    throw new DmgkitError('NOT_AN_IMAGE', `${name} is not a shadow file (no 'sprs' signature)`, { offset: 0 });
  }
  if (ascii(b, HDR_OFF_SHADOW_MAGIC, 4) !== SHADOW_MAGIC) {
    throw new DmgkitError('NOT_AN_IMAGE', `${name} is a sparse image but not a dmgkit shadow (no '${SHADOW_MAGIC}' record ${at(HDR_OFF_SHADOW_MAGIC)})`, { offset: HDR_OFF_SHADOW_MAGIC });
  }
  const version = u32be(b, HDR_OFF_SHADOW_VERSION);
  if (version !== SHADOW_RECORD_VERSION) {
    throw new DmgkitError('UNSUPPORTED', `${name}: shadow record version ${version} ${at(HDR_OFF_SHADOW_VERSION)} (dmgkit writes ${SHADOW_RECORD_VERSION})`, { offset: HDR_OFF_SHADOW_VERSION });
  }
  const stored = u32be(b, HDR_OFF_CRC);
  const actual = nodeCrc(b, HDR_OFF_CRC);
  if (stored !== actual) {
    throw new DmgkitError('CHECKSUM_MISMATCH', `${name}: header node CRC32 is 0x${stored.toString(16)}, computed 0x${actual.toString(16)} ${at(HDR_OFF_CRC)}: the header was damaged or written partially`, { offset: HDR_OFF_CRC });
  }
  const sectorsPerBand = u32be(b, HDR_OFF_SECTORS_PER_BAND);
  if (sectorsPerBand === 0 || sectorsPerBand * SPARSE_SECTOR > MAX_BAND_BYTES) {
    throw corrupt(`${sectorsPerBand} sectors per band is out of range`, HDR_OFF_SECTORS_PER_BAND);
  }
  const totalSectors = u64be(b, HDR_OFF_TOTAL_SECTORS_64, 'shadow total sectors', 0);
  if (!Number.isSafeInteger(totalSectors * SPARSE_SECTOR)) throw corrupt(`${totalSectors} sectors is too large`, HDR_OFF_TOTAL_SECTORS_64);
  const slots = new Uint32Array(HDR_BAND_SLOTS);
  for (let k = 0; k < HDR_BAND_SLOTS; k++) slots[k] = u32be(b, HDR_OFF_BANDS + 4 * k);
  return {
    sectorsPerBand,
    totalSectors,
    nextNode: u64be(b, HDR_OFF_NEXT_NODE, 'shadow next index node', 0),
    identity: b.slice(HDR_OFF_IDENTITY, HDR_OFF_IDENTITY + IDENTITY_BYTES),
    slots,
  };
}

/** Parses and checks an index node read at `offset`. */
export function parseIndexNode(b: Uint8Array, offset: number, name = 'shadow file'): ShadowIndexNode {
  if (ascii(b, IDX_OFF_SHADOW_MAGIC, 4) !== SHADOW_MAGIC) {
    throw new DmgkitError('CORRUPT_HEADER', `${name}: index node ${at(offset)} has no '${SHADOW_MAGIC}' record: not written by dmgkit, or damaged`, { offset });
  }
  const stored = u32be(b, IDX_OFF_CRC);
  const actual = nodeCrc(b, IDX_OFF_CRC);
  if (stored !== actual) {
    throw new DmgkitError('CHECKSUM_MISMATCH', `${name}: index node CRC32 is 0x${stored.toString(16)}, computed 0x${actual.toString(16)} ${at(offset + IDX_OFF_CRC)}: the node was damaged or written partially`, { offset: offset + IDX_OFF_CRC });
  }
  const slots = new Uint32Array(IDX_BAND_SLOTS);
  for (let k = 0; k < IDX_BAND_SLOTS; k++) slots[k] = u32be(b, IDX_OFF_BANDS + 4 * k);
  return { number: u32be(b, IDX_OFF_NUMBER), nextNode: u64be(b, IDX_OFF_NEXT_NODE, 'shadow next index node', offset), slots };
}
