import { fromWireError } from '../pool/registry.js';
import type { TaskPool } from '../pool/pool.js';
import { BATCH_FIELDS, type BatchArgs, type BatchResult } from '../udif/batch-task.js';
import { chunkError } from '../udif/decode.js';
import type { UdifImage } from '../udif/image.js';
import { toShared } from '../util/shared.js';

/** A decoded chunk in the cache. `buf` is valid once `ready` resolves and while the entry is pinned. */
export interface CachedChunk {
  readonly index: number;
  readonly ready: Promise<Uint8Array>;
}

interface Entry extends CachedChunk {
  buf: Uint8Array;
  pins: number;
  done: boolean;
  /** Still in the map (a failed decode leaves it). */
  live: boolean;
}

/**
 * The block device's cache of decoded chunks (compressed chunk types only), the NBD server's read path:
 *
 * - one decode per chunk however many requests (from any connection, or read-ahead) want it while it is decoded
 *   (single flight: they all wait on the same entry);
 * - a chunk is decoded on the pool's threads by the 'udif.batch' task, which reads the stored bytes itself
 *   (positional reads on the image's descriptor into the thread's reused buffer) and decodes straight into the
 *   cache's buffer (shared memory): the calling thread touches neither the compressed nor the decoded bytes;
 * - buffers are reused: an evicted chunk's buffer of the right size takes the next decode, so steady-state reading
 *   allocates nothing and takes no page faults on fresh memory (measured as ~10% of the CPU time before);
 * - a reader pins the entries it uses (`pin`) until it has sent the bytes (`unpin`): a pinned or unfinished entry
 *   is never evicted, so the socket can send straight from the cache without a copy. The cache may exceed its
 *   capacity by what is pinned (bounded by the server's queued-bytes limits).
 */
export class ChunkCache {
  /** Insertion order is recency order (oldest first). */
  private readonly map = new Map<number, Entry>();
  private bytes = 0;
  private readonly shared: boolean;
  private readonly input: BatchArgs['input'] | null;

  constructor(
    private readonly udif: UdifImage,
    private readonly pool: TaskPool,
    readonly capacityBytes: number,
  ) {
    this.shared = pool.threads > 1 && typeof SharedArrayBuffer !== 'undefined';
    const fd = (udif.source as { fd?: unknown }).fd; // a FileSource's descriptor (Node)
    this.input = typeof fd === 'number' ? { fd } : null;
  }

  /** Bytes held now (decoded and in flight). */
  get byteSize(): number {
    return this.bytes;
  }

  /** Entry for chunk `i` (decoding it when missing), pinned: `unpin` it once its bytes are no longer used. */
  pin(i: number): CachedChunk {
    const e = this.entry(i);
    e.pins++;
    return e;
  }

  unpin(c: CachedChunk): void {
    const e = c as Entry;
    if (e.pins > 0) e.pins--;
  }

  /** Starts decoding chunk `i` if it is not cached or in flight (read-ahead); never throws. */
  prefetch(i: number): void {
    this.entry(i).ready.catch(() => undefined);
  }

  private entry(i: number): Entry {
    const hit = this.map.get(i);
    if (hit) {
      this.map.delete(i);
      this.map.set(i, hit);
      return hit;
    }
    const c = this.udif.chunks[i];
    const e = { index: i, buf: this.alloc(c.outLength), pins: 0, done: false, live: true } as Entry;
    (e as { ready: Promise<Uint8Array> }).ready = this.decode(i, e.buf).then(
      (buf) => {
        e.done = true;
        return buf;
      },
      (err) => {
        if (e.live) this.drop(e);
        throw err;
      },
    );
    this.map.set(i, e);
    return e;
  }

  private drop(e: Entry): void {
    e.live = false;
    this.map.delete(e.index);
    this.bytes -= e.buf.length;
  }

  /** A buffer of `size` bytes: evicts unpinned finished entries (oldest first) to make room, reusing one of that size. */
  private alloc(size: number): Uint8Array {
    let reuse: Uint8Array | null = null;
    if (this.bytes + size > this.capacityBytes) {
      for (const e of this.map.values()) {
        if (this.bytes + size <= this.capacityBytes) break;
        if (e.pins > 0 || !e.done) continue;
        this.drop(e);
        if (!reuse && e.buf.length === size) reuse = e.buf;
      }
    }
    this.bytes += size;
    return reuse ?? new Uint8Array(this.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
  }

  private async decode(i: number, buf: Uint8Array): Promise<Uint8Array> {
    const c = this.udif.chunks[i];
    const chunks = new Float64Array(BATCH_FIELDS);
    chunks.set([c.type, c.inOffset, c.inLength, c.outLength, 0, c.outLength, 0]);
    let input = this.input;
    try {
      if (!input) {
        // no descriptor (HTTP, Blob, nested container): read here and hand the bytes over
        let b = await this.udif.source.read(c.inOffset, c.inLength);
        if (this.pool.threads > 1) b = toShared(b); // (copied, not transferred: util/shared.ts)
        input = { bytes: [b] };
      }
      const r = await this.pool.run<BatchResult>('udif.batch', { chunks, input, sink: { slot: buf }, crc: false, keepGoing: false } satisfies BatchArgs);
      if (r.errors[0]) throw fromWireError(r.errors[0]);
      return buf;
    } catch (e) {
      throw chunkError(e, c, this.udif.partitions);
    }
  }

  clear(): void {
    for (const e of this.map.values()) e.live = false;
    this.map.clear();
    this.bytes = 0;
  }
}
