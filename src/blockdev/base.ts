import { DmgkitError, at } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import type { UdifImage } from '../udif/image.js';
import { isZeroFill } from '../udif/chunk-types.js';
import { chunkError, damagedChunk } from '../udif/decode.js';
import type { TaskPool } from '../pool/pool.js';
import { type CachedChunk, ChunkCache } from './chunk-cache.js';
import type { Extent } from './types.js';

/** The read-only disk under a block device: a byte range of a decoded image, with allocation extents. */
export interface BaseDisk {
  readonly size: number;
  readonly name: string;
  read(offset: number, length: number): Promise<Uint8Array>;
  /** The bytes as views (into a cache, not to be modified) to release once sent. */
  readParts?(offset: number, length: number): Promise<ReadParts>;
  /** Starts decoding ahead of the first client (optional). */
  warm?(): void;
  extents(offset: number, length: number): Extent[];
}

/** Shared zeros for zero-fill runs of readParts (never modified). */
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

/** Bytes of a read, as views (into the chunk cache, shared zeros or fresh buffers) to send in order, then release. */
export interface ReadParts {
  parts: Uint8Array[];
  /** Call once the parts were sent (or dropped): the cache may then reuse their memory. */
  release(): void;
}

const NO_RELEASE = () => undefined;

/** Chunks one extents() call looks at. */
const EXTENT_CHUNKS = 65536;

/** Pushes `n` zero bytes as views of the shared zeros. */
function pushZeros(parts: (Uint8Array | Promise<Uint8Array>)[], n: number): void {
  for (let o = 0; o < n; o += SHARED_ZEROS.length) parts.push(SHARED_ZEROS.subarray(0, Math.min(SHARED_ZEROS.length, n - o)));
}

/**
 * A range of a UDIF image read chunk by chunk through a ChunkCache (chunk-cache.ts): compressed chunks are decoded
 * once on the pool's threads however many requests want them, zero-fill chunks are holes, and a request that
 * continues where an earlier one ended (on any connection) decodes the next chunks ahead.
 */
export class UdifBase implements BaseDisk {
  readonly name: string;
  private readonly ends = new Float64Array(STREAMS).fill(-1);
  private endSlot = 0;
  private readonly cache: ChunkCache;

  constructor(
    private readonly udif: UdifImage,
    private readonly start: number,
    readonly size: number,
    /** Threads that decode; must know the 'udif.batch' task (udif/to-file.ts BATCH_TASK_MODULE). */
    private readonly pool: TaskPool,
    /** Chunks decoded ahead of a sequential reader. */
    private readonly readAhead = 4,
    cacheBytes = udif.limits.cacheBytes,
  ) {
    this.name = udif.name;
    this.cache = new ChunkCache(udif, pool, cacheBytes);
  }

  /** Index of the first chunk ending after absolute offset `abs`. */
  private find(abs: number): number {
    return this.udif.chunkIndexAt(abs);
  }

  /**
   * The bytes of [offset, offset + length) as views, without copying: decoded chunks stay pinned in the cache until
   * `release()` (the NBD server releases once the socket has sent them).
   */
  async readParts(offset: number, length: number): Promise<ReadParts> {
    checkDeviceRange(this.size, offset, length, 'read');
    const abs = this.start + offset;
    const end = abs + length;
    const chunks = this.udif.chunks;
    const parts: (Uint8Array | Promise<Uint8Array>)[] = [];
    const pinned: CachedChunk[] = [];
    let pos = abs;
    let i = this.find(abs);
    try {
      for (; i < chunks.length && chunks[i].outOffset < end; i++) {
        const c = chunks[i];
        if (c.outOffset > pos) pushZeros(parts, Math.min(c.outOffset, end) - pos); // gap between tables
        const from = Math.max(pos, c.outOffset);
        const to = Math.min(end, c.outOffset + c.outLength);
        pos = to;
        if (to <= from) continue;
        if (isZeroFill(c.type)) pushZeros(parts, to - from);
        else if (c.damage) throw damagedChunk(c);
        else if (c.type === 1 /* raw: straight from the file */) {
          parts.push(this.udif.source.read(c.inOffset + (from - c.outOffset), to - from).catch((e) => { throw chunkError(e, c, this.udif.partitions); }));
        } else {
          const e = this.cache.pin(i);
          pinned.push(e);
          parts.push(e.ready.then((b) => b.subarray(from - c.outOffset, to - c.outOffset)));
        }
      }
      if (pos < end) pushZeros(parts, end - pos);
      this.sequential(abs, end, i);
      const out = parts.length === 1 ? [await parts[0]] : await Promise.all(parts);
      if (pinned.length === 0) return { parts: out, release: NO_RELEASE };
      let released = false;
      return {
        parts: out,
        release: () => {
          if (released) return;
          released = true;
          for (const e of pinned) this.cache.unpin(e);
        },
      };
    } catch (e) {
      for (const p of parts) if (p instanceof Promise) p.catch(() => undefined);
      for (const c of pinned) this.cache.unpin(c);
      throw e;
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const r = await this.readParts(offset, length);
    try {
      const out = new Uint8Array(length);
      let o = 0;
      for (const p of r.parts) {
        if (p.buffer !== SHARED_ZEROS.buffer) out.set(p, o);
        o += p.length;
      }
      return out;
    } finally {
      r.release();
    }
  }

  /** Starts the decoder threads on the first data chunks (one per thread), so the first client does not wait for them. */
  warm(): void {
    const chunks = this.udif.chunks;
    let n = 0;
    for (let i = this.find(this.start); i < chunks.length && chunks[i].outOffset < this.start + this.size && n < this.pool.threads; i++) {
      const c = chunks[i];
      if (isZeroFill(c.type) || c.type === 1 || c.damage) continue;
      this.cache.prefetch(i);
      n++;
    }
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
      this.cache.prefetch(j);
    }
  }

  close(): void {
    this.cache.clear();
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
    // At most EXTENT_CHUNKS chunks per call (a shorter answer is allowed): a huge range costs bounded time.
    let i = this.find(abs);
    const stop = i + EXTENT_CHUNKS;
    for (; i < chunks.length && i < stop && chunks[i].outOffset < end && out.length < 4096; i++) {
      const c = chunks[i];
      if (c.outOffset > pos) push(pos, Math.min(c.outOffset, end), true); // gap between tables
      const from = Math.max(pos, c.outOffset);
      const to = Math.min(end, c.outOffset + c.outLength);
      push(from, to, isZeroFill(c.type));
      pos = to;
    }
    if (pos < end && out.length < 4096 && (i >= chunks.length || chunks[i].outOffset >= end)) push(pos, end, true);
    return out;
  }
}
