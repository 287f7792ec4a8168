import { DmgkitError, at } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import type { UdifImage } from '../udif/image.js';
import { isZeroFill } from '../udif/chunk-types.js';
import { type DecodeExecutor, chunkError, damagedChunk, syncExecutor } from '../udif/decode.js';
import type { Extent } from './types.js';

/** The read-only disk under a block device: a byte range of a decoded image, with allocation extents. */
export interface BaseDisk {
  readonly size: number;
  readonly name: string;
  read(offset: number, length: number): Promise<Uint8Array>;
  /** May return a view into a cache (not to be modified). */
  readShared?(offset: number, length: number): Promise<Uint8Array>;
  extents(offset: number, length: number): Extent[];
}

/** Shared zeros for readShared of zero-fill runs (never modified). */
const SHARED_ZEROS = new Uint8Array(1 << 20);

export function checkDeviceRange(size: number, offset: number, length: number, what = 'request'): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new DmgkitError('OUT_OF_RANGE', `${what} of ${length} bytes ${at(offset)} lies outside the ${size}-byte device`, { offset, length, size });
  }
}

/** Any ByteSource (sparse image, bundle, raw disk): every byte counts as allocated data. */
export class PlainBase implements BaseDisk {
  readonly name: string;
  constructor(
    private readonly disk: ByteSource,
    private readonly start: number,
    readonly size: number,
  ) {
    this.name = disk.name ?? 'disk';
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    checkDeviceRange(this.size, offset, length, 'read');
    return this.disk.read(this.start + offset, length);
  }
  extents(offset: number, length: number): Extent[] {
    checkDeviceRange(this.size, offset, length, 'block status');
    return [{ offset, length, zero: false, hole: false }];
  }
}

/** Sequential streams remembered for read-ahead (several clients, or nbdcopy's several connections). */
const STREAMS = 16;

/**
 * A range of a UDIF image read chunk by chunk: the chunks a request spans are decoded in parallel on the executor
 * (through the image's LRU cache, which shares one decode between concurrent requests), zero-fill chunks are
 * holes, and a request that continues where an earlier one ended decodes the next chunks ahead.
 */
export class UdifBase implements BaseDisk {
  readonly name: string;
  private readonly ends = new Float64Array(STREAMS).fill(-1);
  private endSlot = 0;

  constructor(
    private readonly udif: UdifImage,
    private readonly start: number,
    readonly size: number,
    private readonly executor: DecodeExecutor = syncExecutor,
    /** Chunks decoded ahead of a sequential reader. */
    private readonly readAhead = 4,
  ) {
    this.name = udif.name;
  }

  /** Index of the first chunk ending after absolute offset `abs`. */
  private find(abs: number): number {
    const c = this.udif.chunks;
    let lo = 0;
    let hi = c.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid].outOffset + c[mid].outLength <= abs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private async piece(i: number, from: number, to: number): Promise<Uint8Array> {
    const c = this.udif.chunks[i];
    if (c.type === 1 /* raw */) {
      if (c.damage) throw damagedChunk(c);
      try {
        return await this.udif.source.read(c.inOffset + (from - c.outOffset), to - from);
      } catch (e) {
        throw chunkError(e, c, this.udif.partitions);
      }
    }
    const data = await this.udif.chunkData(i, this.executor);
    return data.subarray(from - c.outOffset, to - c.outOffset);
  }

  /** A request inside one chunk is answered with a view of the decoded chunk (or shared zeros), without a copy. */
  async readShared(offset: number, length: number): Promise<Uint8Array> {
    checkDeviceRange(this.size, offset, length, 'read');
    const abs = this.start + offset;
    const end = abs + length;
    const i = this.find(abs);
    const c = this.udif.chunks[i];
    if (!c || c.outOffset > abs || c.outOffset + c.outLength < end) return this.read(offset, length);
    this.sequential(abs, end, i + 1);
    if (isZeroFill(c.type)) return length <= SHARED_ZEROS.length ? SHARED_ZEROS.subarray(0, length) : new Uint8Array(length);
    return this.piece(i, abs, end);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkDeviceRange(this.size, offset, length, 'read');
    const abs = this.start + offset;
    const end = abs + length;
    const chunks = this.udif.chunks;
    const out = new Uint8Array(length);
    const jobs: Promise<void>[] = [];
    let i = this.find(abs);
    for (; i < chunks.length && chunks[i].outOffset < end; i++) {
      const c = chunks[i];
      if (isZeroFill(c.type)) continue;
      const from = Math.max(abs, c.outOffset);
      const to = Math.min(end, c.outOffset + c.outLength);
      jobs.push(this.piece(i, from, to).then((b) => out.set(b, from - abs)));
    }
    this.sequential(abs, end, i);
    if (jobs.length === 1) await jobs[0];
    else if (jobs.length > 1) await Promise.all(jobs);
    return out;
  }

  /** Read-ahead: a read that starts where a recent one ended decodes the next chunks into the cache. */
  private sequential(abs: number, end: number, nextChunk: number): void {
    let seq = false;
    for (let k = 0; k < STREAMS; k++) {
      if (this.ends[k] === abs) {
        this.ends[k] = end;
        seq = true;
        break;
      }
    }
    if (!seq) {
      this.ends[this.endSlot] = end;
      this.endSlot = (this.endSlot + 1) % STREAMS;
      return;
    }
    if (this.readAhead <= 0) return;
    const chunks = this.udif.chunks;
    const limit = this.start + this.size;
    let n = 0;
    // from the chunk holding `end` (it may be partly read); cached or in-flight chunks cost a map lookup
    for (let j = Math.max(0, nextChunk - 1); j < chunks.length && n < this.readAhead; j++) {
      const c = chunks[j];
      if (c.outOffset >= limit) break;
      if (c.outOffset + c.outLength <= end || isZeroFill(c.type) || c.type === 1 || c.damage) continue;
      n++;
      this.udif.chunkData(j, this.executor).catch(() => undefined);
    }
  }

  extents(offset: number, length: number): Extent[] {
    checkDeviceRange(this.size, offset, length, 'block status');
    const abs = this.start + offset;
    const end = abs + length;
    const chunks = this.udif.chunks;
    const out: Extent[] = [];
    const push = (from: number, to: number, zero: boolean) => {
      if (to <= from) return;
      const last = out[out.length - 1];
      if (last && last.zero === zero) last.length += to - from;
      else out.push({ offset: from - this.start, length: to - from, zero, hole: zero });
    };
    let pos = abs;
    for (let i = this.find(abs); i < chunks.length && chunks[i].outOffset < end && out.length < 4096; i++) {
      const c = chunks[i];
      if (c.outOffset > pos) push(pos, Math.min(c.outOffset, end), true); // gap between tables
      const from = Math.max(pos, c.outOffset);
      const to = Math.min(end, c.outOffset + c.outLength);
      push(from, to, isZeroFill(c.type));
      pos = to;
    }
    if (pos < end && out.length < 4096) push(pos, end, true);
    return out;
  }
}
