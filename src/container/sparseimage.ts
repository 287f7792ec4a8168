import { DmgkitError, at, isDmgkitError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { checkRange } from '../io/source.js';
import { ascii, u32be, u64be } from '../util/bytes.js';
import { detectEncryption, encryptedError } from './encrypted.js';

/**
 * Apple sparse disk image (`.sparseimage`, hdiutil UDSP). Big-endian. Sources: libyal libmodi "Mac OS disk image
 * types" (sparse image section), apfs-fuse ApfsLib/DeviceSparseImage.cpp, mac_apt AppleSparseImage.
 *
 * ```
 * header node (4096 bytes at 0)
 *   0  'sprs'              4  version (3)          8  sectors per band     12 flags (1)
 *   16 total sectors (u32, legacy)                 20 next index node offset (u64, 0 = none)
 *   28 total sectors (u64)                         36 zero padding (28 bytes)
 *   64 band numbers: 1008 × u32
 * index node (4096 bytes, at "next index node offset")
 *   0  magic               4  index node number    8  flags
 *   12 next index node offset (u64)                20 zero padding (36 bytes)
 *   56 band numbers: 1010 × u32
 * ```
 * Slot k of a node's array describes the band stored at `nodeOffset + 4096 + k × bandBytes`; its value is the
 * 1-based logical band number (0 = slot unused). Logical band b covers virtual bytes
 * `[(b-1) × bandBytes, b × bandBytes)`. Bands absent from every array read as zeros.
 */

export const SPARSE_SECTOR = 512;
export const SPARSE_NODE_SIZE = 4096;
export const SPARSE_SIGNATURE = 'sprs';
export const HDR_OFF_SIGNATURE = 0;
export const HDR_OFF_VERSION = 4;
export const HDR_OFF_SECTORS_PER_BAND = 8;
export const HDR_OFF_FLAGS = 12;
export const HDR_OFF_TOTAL_SECTORS_32 = 16;
export const HDR_OFF_NEXT_NODE = 20;
export const HDR_OFF_TOTAL_SECTORS_64 = 28;
export const HDR_OFF_BANDS = 64;
export const HDR_BAND_SLOTS = (SPARSE_NODE_SIZE - HDR_OFF_BANDS) / 4; // 1008
export const IDX_OFF_MAGIC = 0;
export const IDX_OFF_NUMBER = 4;
export const IDX_OFF_FLAGS = 8;
export const IDX_OFF_NEXT_NODE = 12;
export const IDX_OFF_BANDS = 56;
export const IDX_BAND_SLOTS = (SPARSE_NODE_SIZE - IDX_OFF_BANDS) / 4; // 1010

/** Bands larger than this are refused (hdiutil uses 1 MiB; the field allows 2 TiB). */
export const MAX_BAND_BYTES = 1 << 30;

export interface SparseImageOptions {
  /** Most index nodes followed after the header (default: as many as fit in the file). */
  maxIndexNodes?: number;
}

export function isSparseImage(firstBytes: Uint8Array): boolean {
  return firstBytes.length >= 4 && ascii(firstBytes, HDR_OFF_SIGNATURE, 4) === SPARSE_SIGNATURE;
}

export interface SparseImage extends ByteSource {
  readonly bandBytes: number;
  readonly version: number;
  /** Logical bands stored in the file. */
  readonly storedBands: number;
  readonly warnings: readonly string[];
  /** Closes the underlying source. */
  close(): Promise<void>;
}

class SparseImageSource implements SparseImage {
  readonly name: string;
  constructor(
    private readonly src: ByteSource,
    readonly size: number,
    readonly bandBytes: number,
    readonly version: number,
    /** logical band index (0-based) → byte offset of its data in src. */
    private readonly bandOffsets: Map<number, number>,
    readonly warnings: readonly string[],
    /** Set when an index node lies past the end of the file: a band absent from the map may be lost, not zero. */
    private readonly lostIndex: string | null = null,
  ) {
    this.name = `${src.name ?? 'sparse image'}`;
  }

  get storedBands(): number {
    return this.bandOffsets.size;
  }

  private sortedBands: number[] | undefined;

  /** Absent bands read as zeros (unless an index node was lost: then nothing is known to be a hole). */
  nextData(offset: number): number {
    if (this.lostIndex !== null || offset >= this.size) return Math.min(offset, this.size);
    const band = Math.floor(offset / this.bandBytes);
    if (this.bandOffsets.has(band)) return offset;
    const bands = (this.sortedBands ??= [...this.bandOffsets.keys()].sort((a, b) => a - b));
    let lo = 0;
    let hi = bands.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bands[mid] <= band) lo = mid + 1;
      else hi = mid;
    }
    return lo < bands.length ? Math.min(this.size, bands[lo] * this.bandBytes) : this.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const band = Math.floor(pos / this.bandBytes);
      const inBand = pos - band * this.bandBytes;
      const n = Math.min(length - done, this.bandBytes - inBand);
      const base = this.bandOffsets.get(band);
      if (base === undefined && this.lostIndex !== null) {
        throw new DmgkitError('TRUNCATED', `sparse image: band ${band + 1} is in no index node read; ${this.lostIndex}, so it may be lost (disk bytes [${pos}, +${n}))`, { band: band + 1 });
      }
      if (base !== undefined) {
        // A band stored (partly) past the end of a truncated file is damage: what exists is read, the rest fails.
        const from = base + inBand;
        const avail = Math.max(0, Math.min(n, this.src.size - from));
        if (avail > 0) out.set(await this.src.read(from, avail), done);
        if (avail < n) {
          throw new DmgkitError(
            'TRUNCATED',
            `sparse image: band ${band + 1} is stored ${at(base)} but the file ends ${at(this.src.size)}: disk bytes [${pos + avail}, +${n - avail}) are lost`,
            { offset: from + avail, band: band + 1 },
          );
        }
      }
      done += n;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.src.close?.();
  }
}

function collectBands(
  node: Uint8Array,
  firstSlot: number,
  slots: number,
  dataBase: number,
  bandBytes: number,
  bandCount: number,
  map: Map<number, number>,
  warnings: string[],
  nodeOffset: number,
  fileSize: number,
): void {
  for (let k = 0; k < slots; k++) {
    const b = u32be(node, firstSlot + k * 4);
    if (b === 0) continue;
    const fileOffset = dataBase + k * bandBytes;
    if (b > bandCount) {
      if (warnings.length < 32) warnings.push(`sparse image: slot ${k} of the node ${at(nodeOffset)} names band ${b}, beyond the ${bandCount} bands of the disk; ignored`);
      continue;
    }
    if (map.has(b - 1)) {
      if (warnings.length < 32) warnings.push(`sparse image: band ${b} is stored twice (slot ${k} of the node ${at(nodeOffset)}); the first copy is used`);
      continue;
    }
    // A band past the end of the file (a truncated image) is kept: reading it fails, naming the lost bytes.
    if (fileOffset >= fileSize) {
      if (warnings.length < 32) warnings.push(`sparse image: band ${b} would be stored ${at(fileOffset)}, past the end of the file (truncated image); reading it fails`);
    } else if (fileOffset + bandBytes > fileSize && warnings.length < 32) {
      warnings.push(`sparse image: band ${b} ${at(fileOffset)} is cut short by the end of the file (truncated image); reading past the end fails`);
    }
    map.set(b - 1, fileOffset);
  }
}

/**
 * Opens a sparse image over `src` (the .sparseimage file). The result reads the virtual disk. An encrypted sparse
 * image ('encrcdsa' header or 'cdsaencr' trailer around the whole file) is refused with ENCRYPTED.
 */
export async function openSparseImage(src: ByteSource, opts: SparseImageOptions = {}): Promise<SparseImage> {
  try {
    const enc = await detectEncryption(src);
    if (enc) throw encryptedError(enc, src.name);
    if (src.size < SPARSE_NODE_SIZE) {
      const head = await src.read(0, Math.min(src.size, 4));
      if (!isSparseImage(head)) throw new DmgkitError('NOT_AN_IMAGE', `${src.name ?? 'source'} is not a sparse image (no 'sprs' signature)`, { offset: 0 });
      throw new DmgkitError('TRUNCATED', `sparse image header needs ${SPARSE_NODE_SIZE} bytes, the file has ${src.size}`, { offset: 0 });
    }
    const hdr = await src.read(0, SPARSE_NODE_SIZE);
    if (!isSparseImage(hdr)) {
      throw new DmgkitError('NOT_AN_IMAGE', `${src.name ?? 'source'} is not a sparse image (no 'sprs' signature)`, { offset: 0 });
    }
    const warnings: string[] = [];
    const version = u32be(hdr, HDR_OFF_VERSION);
    const sectorsPerBand = u32be(hdr, HDR_OFF_SECTORS_PER_BAND);
    if (sectorsPerBand === 0 || sectorsPerBand * SPARSE_SECTOR > MAX_BAND_BYTES) {
      throw new DmgkitError(
        'CORRUPT_HEADER',
        `sparse image: ${sectorsPerBand} sectors per band ${at(HDR_OFF_SECTORS_PER_BAND)} is out of range (1..${MAX_BAND_BYTES / SPARSE_SECTOR})`,
        { offset: HDR_OFF_SECTORS_PER_BAND },
      );
    }
    const bandBytes = sectorsPerBand * SPARSE_SECTOR;
    const total32 = u32be(hdr, HDR_OFF_TOTAL_SECTORS_32);
    const total64 = u64be(hdr, HDR_OFF_TOTAL_SECTORS_64, 'sparse image total sectors', 0);
    let totalSectors = total64 || total32;
    if (total64 && total32 && total64 !== total32 && total64 <= 0xffffffff) {
      warnings.push(`sparse image: total sectors differ (u32 ${total32} ${at(HDR_OFF_TOTAL_SECTORS_32)}, u64 ${total64} ${at(HDR_OFF_TOTAL_SECTORS_64)}); using the u64`);
    }
    if (!Number.isSafeInteger(totalSectors * SPARSE_SECTOR)) {
      throw new DmgkitError('CORRUPT_HEADER', `sparse image: ${totalSectors} sectors is too large`, { offset: HDR_OFF_TOTAL_SECTORS_64 });
    }
    const size = totalSectors * SPARSE_SECTOR;
    const bandCount = Math.ceil(size / bandBytes);

    const map = new Map<number, number>();
    collectBands(hdr, HDR_OFF_BANDS, HDR_BAND_SLOTS, SPARSE_NODE_SIZE, bandBytes, bandCount, map, warnings, 0, src.size);

    // Index nodes, each followed by its bands. Bounded by the file size and a visited set.
    const maxNodes = opts.maxIndexNodes ?? Math.floor(src.size / SPARSE_NODE_SIZE);
    const visited = new Set<number>([0]);
    let next = u64be(hdr, HDR_OFF_NEXT_NODE, 'sparse image next index node', 0);
    let nodes = 0;
    let lostIndex: string | null = null;
    while (next !== 0) {
      if (visited.has(next)) {
        warnings.push(`sparse image: index node chain loops back ${at(next)}; stopped`);
        break;
      }
      if (++nodes > maxNodes) {
        warnings.push(`sparse image: more than ${maxNodes} index nodes; stopped`);
        break;
      }
      if (next + SPARSE_NODE_SIZE > src.size) {
        lostIndex = `index node ${at(next)} lies past the end of the file (truncated image)`;
        warnings.push(`sparse image: ${lostIndex}; the bands it lists are lost and reading a band not found fails`);
        break;
      }
      visited.add(next);
      const node = await src.read(next, SPARSE_NODE_SIZE);
      collectBands(node, IDX_OFF_BANDS, IDX_BAND_SLOTS, next + SPARSE_NODE_SIZE, bandBytes, bandCount, map, warnings, next, src.size);
      next = u64be(node, IDX_OFF_NEXT_NODE, 'sparse image next index node', next);
    }
    return new SparseImageSource(src, size, bandBytes, version, map, warnings, lostIndex);
  } catch (e) {
    if (isDmgkitError(e)) throw e;
    throw new DmgkitError('CORRUPT_HEADER', `sparse image could not be parsed: ${(e as Error).message}`, {}, { cause: e });
  }
}
