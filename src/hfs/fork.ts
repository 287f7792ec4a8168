import { DmgkitError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import type { Limits } from '../limits.js';
import type { Extent, ForkData } from './volume-header.js';

/** Where a fork's blocks live: the volume source, its block size and block count. */
export interface VolumeGeometry {
  source: ByteSource;
  blockSize: number;
  totalBlocks: number;
  limits: Limits;
}

export type ForkType = 'data' | 'rsrc';
export const FORK_TYPE_DATA = 0x00;
export const FORK_TYPE_RSRC = 0xff;

/** Looks up the extents-overflow record (fileID, forkType, startBlock); null when absent. */
export type OverflowLookup = (fileID: number, forkType: number, startBlock: number) => Promise<Extent[] | null>;

/**
 * One fork (data, resource, a B-tree file, a large xattr) read through its extents: the eight in the record,
 * then the extents-overflow records. Reads are bounded by the logical size; blocks past it (sparse tails) are
 * never returned. A fork whose extents don't cover its logical size is CORRUPT_FS.
 */
export class Fork {
  private resolved: Extent[] | null = null;
  /** File-relative first block of each resolved extent. */
  private starts: number[] = [];
  readonly size: number;

  constructor(
    private readonly geo: VolumeGeometry,
    readonly fileID: number,
    readonly forkType: number,
    private readonly data: ForkData,
    readonly what: string,
    private readonly overflow: OverflowLookup | null,
    /** Extra extent records known up front (attribute extent records); used before the overflow tree. */
    private readonly moreExtents: Extent[] = [],
  ) {
    this.size = data.logicalSize;
  }

  private corrupt(msg: string): DmgkitError {
    return new DmgkitError('CORRUPT_FS', `${this.what}: ${msg}`, { fileID: this.fileID });
  }

  async extents(): Promise<Extent[]> {
    if (this.resolved) return this.resolved;
    const { blockSize, totalBlocks: volBlocks, limits } = this.geo;
    const want = this.data.totalBlocks;
    const out: Extent[] = [];
    const starts: number[] = [];
    let sum = 0;
    const add = (list: Extent[]): boolean => {
      for (const e of list) {
        if (sum >= want) return true;
        if (e.blockCount === 0) return false;
        if (e.startBlock + e.blockCount > volBlocks) {
          throw this.corrupt(`extent [${e.startBlock}, +${e.blockCount}) lies outside the volume's ${volBlocks} blocks`);
        }
        starts.push(sum);
        out.push(e);
        sum += e.blockCount;
      }
      return sum >= want;
    };
    add(this.data.extents);
    if (sum < want && this.moreExtents.length) add(this.moreExtents);
    let records = 0;
    while (sum < want) {
      if (!this.overflow) {
        throw this.corrupt(`extents cover ${sum} of ${want} blocks and there are no overflow extents to look up`);
      }
      if (++records > limits.maxExtentRecords) {
        throw new DmgkitError('LIMIT_EXCEEDED', `${this.what}: more than ${limits.maxExtentRecords} extents-overflow records`, {
          fileID: this.fileID,
        });
      }
      const rec = await this.overflow(this.fileID, this.forkType, sum);
      if (!rec) {
        throw this.corrupt(`extents cover ${sum} of ${want} blocks and no overflow record starts at block ${sum}`);
      }
      const before = sum;
      add(rec);
      if (sum === before) throw this.corrupt(`overflow record at block ${sum} holds no extents`);
    }
    // An extent running past totalBlocks is tolerated: reads stop at the logical size anyway.
    if (this.data.logicalSize > sum * blockSize) {
      throw this.corrupt(`logical size ${this.data.logicalSize} exceeds the ${sum} allocated blocks of ${blockSize} bytes`);
    }
    this.resolved = out;
    this.starts = starts;
    return out;
  }

  /** Reads [offset, offset+length) of the fork; the range must lie within the logical size. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new DmgkitError('OUT_OF_RANGE', `${this.what}: read of ${length} bytes at ${offset} is outside its ${this.size} bytes`, {
        fileID: this.fileID,
      });
    }
    const ext = await this.extents();
    const bs = this.geo.blockSize;
    if (length === 0) return new Uint8Array(0);
    // Find the extent holding `offset` (binary search on starts).
    const firstBlock = Math.floor(offset / bs);
    let lo = 0;
    let hi = ext.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= firstBlock) lo = mid;
      else hi = mid - 1;
    }
    let idx = lo;
    let pos = offset;
    const end = offset + length;
    // Single-extent fast path: return the source's bytes directly.
    const e0 = ext[idx];
    const e0End = (this.starts[idx] + e0.blockCount) * bs;
    if (end <= e0End) {
      return this.geo.source.read(e0.startBlock * bs + (offset - this.starts[idx] * bs), length);
    }
    const out = new Uint8Array(length);
    while (pos < end) {
      if (idx >= ext.length) throw this.corrupt(`no extent covers byte ${pos}`);
      const e = ext[idx];
      const eStart = this.starts[idx] * bs;
      const eEnd = eStart + e.blockCount * bs;
      const n = Math.min(end, eEnd) - pos;
      const chunk = await this.geo.source.read(e.startBlock * bs + (pos - eStart), n);
      out.set(chunk, pos - offset);
      pos += n;
      idx++;
    }
    return out;
  }

  /** The whole fork, bounded by `max` bytes (LIMIT_EXCEEDED beyond). */
  async readAll(max: number): Promise<Uint8Array> {
    if (this.size > max) {
      throw new DmgkitError('LIMIT_EXCEEDED', `${this.what}: ${this.size} bytes exceed the limit of ${max}`, { fileID: this.fileID });
    }
    return this.read(0, this.size);
  }

  /** Streams the fork in pieces of at most `chunk` bytes (constant memory). */
  async *chunks(chunk = 1 << 20): AsyncGenerator<Uint8Array> {
    for (let pos = 0; pos < this.size; pos += chunk) {
      yield await this.read(pos, Math.min(chunk, this.size - pos));
    }
  }
}
