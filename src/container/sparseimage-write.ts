/**
 * Writing a sparse image (`.sparseimage`, hdiutil UDSP) in one pass, as a stream: the layout is the reader's
 * (sparseimage.ts) — a node of band numbers followed by the bands it lists. The writer reads a batch of bands,
 * leaves out the all-zero ones, and writes a node listing the others followed by them: the header node first,
 * then an index node per further batch. Memory holds one batch.
 */
import { DmgkitError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { putU32be, putU64be } from '../util/bytes.js';
import {
  HDR_BAND_SLOTS, HDR_OFF_BANDS, HDR_OFF_FLAGS, HDR_OFF_NEXT_NODE, HDR_OFF_SECTORS_PER_BAND, HDR_OFF_TOTAL_SECTORS_32,
  HDR_OFF_TOTAL_SECTORS_64, HDR_OFF_VERSION, IDX_BAND_SLOTS, IDX_OFF_BANDS, IDX_OFF_FLAGS, IDX_OFF_MAGIC, IDX_OFF_NEXT_NODE,
  IDX_OFF_NUMBER, MAX_BAND_BYTES, SPARSE_NODE_SIZE, SPARSE_SECTOR, SPARSE_SIGNATURE,
} from './sparseimage.js';

export interface SparseImageWriteOptions {
  /** Sectors per band; default 2048 (1 MiB, as hdiutil). */
  sectorsPerBand?: number;
  /** Logical bands examined per node; default 16 (memory: that many bands). */
  batchBands?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

function isZero(b: Uint8Array): boolean {
  const w = b.byteOffset % 4 === 0 && b.length % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset, b.length >> 2) : null;
  if (w) {
    for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
    return true;
  }
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** The sparse image of `disk`, as byte pieces in file order. */
export async function* writeSparseImage(disk: ByteSource, opts: SparseImageWriteOptions = {}): AsyncGenerator<Uint8Array> {
  const spb = opts.sectorsPerBand ?? 2048;
  const bandBytes = spb * SPARSE_SECTOR;
  if (!Number.isInteger(spb) || spb < 1 || bandBytes > MAX_BAND_BYTES) {
    throw new DmgkitError('INVALID_ARGUMENT', `sparse image bands of ${spb} sectors are outside 1..${MAX_BAND_BYTES / SPARSE_SECTOR}`);
  }
  if (disk.size % SPARSE_SECTOR !== 0) throw new DmgkitError('INVALID_ARGUMENT', `disk size ${disk.size} is not a multiple of 512`);
  const totalSectors = disk.size / SPARSE_SECTOR;
  const bandCount = Math.ceil(disk.size / bandBytes);
  const batch = Math.max(1, Math.min(opts.batchBands ?? 16, IDX_BAND_SLOTS));
  let pos = 0;
  let node = 0;
  for (let first = 0; first < bandCount || node === 0; node++) {
    // The header may list up to 1008 bands, an index node 1010; this batch's bands follow the node.
    const slots = node === 0 ? HDR_BAND_SLOTS : IDX_BAND_SLOTS;
    const last = Math.min(bandCount, first + Math.min(batch, slots));
    const bands: { n: number; data: Uint8Array }[] = [];
    for (let b = first; b < last; b++) {
      opts.signal?.throwIfAborted();
      const len = Math.min(bandBytes, disk.size - b * bandBytes);
      const data = await disk.read(b * bandBytes, len);
      if (!isZero(data)) bands.push({ n: b + 1, data });
    }
    const nodeBytes = new Uint8Array(SPARSE_NODE_SIZE);
    const bandsAt = node === 0 ? HDR_OFF_BANDS : IDX_OFF_BANDS;
    bands.forEach((b, k) => putU32be(nodeBytes, bandsAt + 4 * k, b.n));
    const storedBytes = bands.length * bandBytes;
    const next = last < bandCount ? pos + SPARSE_NODE_SIZE + storedBytes : 0;
    if (node === 0) {
      for (let i = 0; i < 4; i++) nodeBytes[i] = SPARSE_SIGNATURE.charCodeAt(i);
      putU32be(nodeBytes, HDR_OFF_VERSION, 3);
      putU32be(nodeBytes, HDR_OFF_SECTORS_PER_BAND, spb);
      putU32be(nodeBytes, HDR_OFF_FLAGS, 1);
      putU32be(nodeBytes, HDR_OFF_TOTAL_SECTORS_32, totalSectors <= 0xffffffff ? totalSectors : 0);
      putU64be(nodeBytes, HDR_OFF_NEXT_NODE, next);
      putU64be(nodeBytes, HDR_OFF_TOTAL_SECTORS_64, totalSectors);
    } else {
      for (let i = 0; i < 4; i++) nodeBytes[IDX_OFF_MAGIC + i] = SPARSE_SIGNATURE.charCodeAt(i);
      putU32be(nodeBytes, IDX_OFF_NUMBER, node);
      putU32be(nodeBytes, IDX_OFF_FLAGS, 1);
      putU64be(nodeBytes, IDX_OFF_NEXT_NODE, next);
    }
    yield nodeBytes;
    pos += SPARSE_NODE_SIZE;
    for (const b of bands) {
      yield b.data;
      // A short last band is stored full length, zero-padded.
      if (b.data.length < bandBytes) yield new Uint8Array(bandBytes - b.data.length);
      pos += bandBytes;
    }
    first = last;
    opts.onProgress?.(Math.min(disk.size, last * bandBytes), disk.size);
  }
}
