import { DmgkitError, at } from '../errors.js';
import { type Limits, resolveLimits } from '../limits.js';
import type { ByteSource } from '../io/source.js';
import { SliceSource, checkRange } from '../io/source.js';
import { type SourceInput, openSource } from '../io/open-source.js';
import type { HttpSourceOptions } from '../io/http-source.js';
import { type NodeReadableLike, toNodeReadable, toWebStream } from '../io/stream.js';
import { ByteLru } from '../util/lru.js';
import type { Koly } from './koly.js';
import { locateKoly } from './trailer.js';
import { type ChunkRef, type UdifLayout, type UdifPartition, readLayout } from './layout.js';
import { CHUNK_IGNORE, isZeroFill } from './chunk-types.js';
import { type DecodeExecutor, asyncExecutor, chunkError, damagedChunk, loadChunk, syncExecutor } from './decode.js';
import { formatName } from './format-name.js';
import type { Resource } from './resources.js';
import type { Codec } from '../codecs/types.js';
import { registerChunkCodec } from './chunk-codecs.js';

export interface UdifOpenOptions {
  limits?: Partial<Limits>;
  /**
   * Decoder threads for sequential reads (streams, convert, verify): 1 decodes on the calling thread; more
   * decodes ahead in parallel. Default: 1 here; the CLI defaults to the number of cores.
   */
  threads?: number;
  /**
   * An executor for parallel decoding (e.g. a worker pool); default: node:zlib's thread pool where it applies.
   * The image does not close it: whoever made it closes it (after closing the image).
   */
  executor?: DecodeExecutor;
  /**
   * Refuse (CORRUPT_TABLE) an image whose chunks share stored bytes (hdiutil never writes that; it lets a small
   * file describe a huge disk). Default false: a warning. For servers that want to reject such input early.
   */
  rejectOverlappingChunks?: boolean;
  /** An http(s) URL input: its options (timeoutMs, allowCrossOriginRedirects, headers). */
  http?: HttpSourceOptions;
  /**
   * Chunk codecs to register (chunk type → codec) before opening. This module brings no codec: `openUdif`
   * (./open-udif.ts), `openDisk` and `openImage` pass every codec; the lean `dmgkit/core` entry passes only what
   * its caller names, so a bundle holds only those codecs.
   */
  codecs?: Iterable<readonly [number, Codec]>;
}

/** A piece of decoded disk, in order. `data` is null for zero-fill (zero or ignore chunks, gaps). */
export interface Piece {
  offset: number;
  length: number;
  data: Uint8Array | null;
  /** The chunk this piece comes from (absent for gaps between chunks). */
  chunk?: ChunkRef;
}

export interface PieceOptions {
  threads?: number;
  /** Most chunk bytes decoded ahead of the consumer. */
  windowBytes?: number;
  /** On a chunk that fails to decode: record it and yield zeros instead of throwing. */
  keepGoing?: boolean;
  onLost?: (range: { offset: number; length: number; error: DmgkitError }) => void;
}

const ZERO_PIECE_MAX = 1 << 20;
let sharedZeros: Uint8Array | null = null;
function zeros(n: number): Uint8Array {
  if (!sharedZeros) sharedZeros = new Uint8Array(ZERO_PIECE_MAX);
  return n <= ZERO_PIECE_MAX ? sharedZeros.subarray(0, n) : new Uint8Array(n);
}

/** An opened UDIF image: its trailer, resources, partitions, and the decoded disk as a ByteSource. */
export class UdifImage implements ByteSource {
  readonly size: number;
  readonly name: string;
  private readonly cache: ByteLru<number>;
  private readonly inflight = new Map<number, Promise<Uint8Array>>();

  private constructor(
    readonly source: ByteSource,
    readonly koly: Koly,
    readonly kolyOffset: number,
    readonly kolyPosition: 'end' | 'near-end' | 'start',
    readonly layout: UdifLayout,
    readonly limits: Limits,
    private readonly options: UdifOpenOptions,
    private readonly ownsSource: boolean,
  ) {
    this.size = layout.size;
    this.name = source.name ?? 'image';
    this.cache = new ByteLru<number>(limits.cacheBytes);
  }

  static async open(input: SourceInput, options: UdifOpenOptions = {}): Promise<UdifImage> {
    for (const [type, codec] of options.codecs ?? []) registerChunkCodec(type, codec);
    const src = await openSource(input, { http: options.http });
    const owns = src !== input;
    try {
      const limits = resolveLimits(options.limits);
      const { koly, offset, position } = await locateKoly(src);
      const layout = await readLayout(src, koly, offset, limits, { rejectOverlappingChunks: options.rejectOverlappingChunks });
      if (position !== 'end') layout.warnings.unshift(`koly block found ${at(offset)} (${position === 'start' ? 'at the start of the file' : 'not in the last 512 bytes'})`);
      return new UdifImage(src, koly, offset, position, layout, limits, options, owns);
    } catch (e) {
      if (owns) await src.close?.();
      throw e;
    }
  }

  get partitions(): readonly UdifPartition[] {
    return this.layout.partitions;
  }
  get chunks(): readonly ChunkRef[] {
    return this.layout.chunks;
  }
  get warnings(): readonly string[] {
    return this.layout.warnings;
  }
  /** UDZO, UDBZ, ULFO, ULMO, UDCO, UDRO/UDRW, or mixed. */
  get format(): string {
    return formatName(this.layout.chunks);
  }
  resources(type: string): readonly Resource[] {
    return this.layout.resources.get(type) ?? [];
  }
  get resourceTypes(): string[] {
    return [...this.layout.resources.keys()];
  }

  /** The decoded bytes of one blkx partition as a ByteSource. */
  partition(index: number): ByteSource {
    const p = this.layout.partitions[index];
    if (!p) throw new DmgkitError('OUT_OF_RANGE', `no partition ${index} (the image has ${this.layout.partitions.length})`);
    return new SliceSource(this, p.offset, p.size, `${this.name} partition ${index}`);
  }

  /** Index of the first chunk whose range ends after `offset`. */
  chunkIndexAt(offset: number): number {
    const c = this.layout.chunks;
    let lo = 0;
    let hi = c.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid].outOffset + c[mid].outLength <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Decoded bytes of a chunk, through the bounded cache (concurrent requests share one decode). */
  async chunkData(i: number, executor: DecodeExecutor = syncExecutor): Promise<Uint8Array> {
    const hit = this.cache.get(i);
    if (hit) return hit;
    const pending = this.inflight.get(i);
    if (pending) return pending;
    const p = loadChunk(this.source, this.layout.chunks[i], this.layout.partitions, executor).then(
      (data) => {
        this.inflight.delete(i);
        this.cache.set(i, data);
        return data;
      },
      (e) => {
        this.inflight.delete(i);
        throw e;
      },
    );
    this.inflight.set(i, p);
    return p;
  }

  /** Random access into the decoded disk. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    const end = offset + length;
    const chunks = this.layout.chunks;
    for (let i = this.chunkIndexAt(offset); i < chunks.length && chunks[i].outOffset < end; i++) {
      const c = chunks[i];
      if (isZeroFill(c.type)) continue;
      const from = Math.max(offset, c.outOffset);
      const to = Math.min(end, c.outOffset + c.outLength);
      if (c.type === 1 /* raw: read straight from the file */) {
        if (c.damage) throw damagedChunk(c);
        try {
          out.set(await this.source.read(c.inOffset + (from - c.outOffset), to - from), from - offset);
        } catch (e) {
          throw chunkError(e, c, this.layout.partitions);
        }
        continue;
      }
      const data = await this.chunkData(i);
      out.set(data.subarray(from - c.outOffset, to - c.outOffset), from - offset);
    }
    return out;
  }

  /**
   * The decoded disk (or a range of it) as ordered pieces, decoding ahead on several threads when asked.
   * Memory stays bounded by the decode-ahead window whatever the image size.
   */
  async *pieces(start = 0, end = this.size, opts: PieceOptions = {}): AsyncGenerator<Piece> {
    checkRange(this, start, end - start);
    const threads = Math.max(1, opts.threads ?? this.options.threads ?? 1);
    const executor = threads > 1 ? (this.options.executor ?? asyncExecutor) : syncExecutor;
    const windowBytes = opts.windowBytes ?? Math.max(8 << 20, threads * 4 * (1 << 20));
    const chunks = this.layout.chunks;
    const first = this.chunkIndexAt(start);
    let last = first;
    while (last < chunks.length && chunks[last].outOffset < end) last++;

    // Decode-ahead queue of data-bearing chunks: at least the one being consumed, then more while the window
    // (bytes and count) allows. Reads overlap decoding even on one thread.
    const queue = new Map<number, Promise<Uint8Array>>();
    let next = first;
    let aheadBytes = 0;
    const fill = () => {
      while (next < last && (queue.size === 0 || (aheadBytes < windowBytes && queue.size < threads * 4))) {
        const i = next++;
        const c = chunks[i];
        if (isZeroFill(c.type)) continue;
        const p = loadChunk(this.source, c, this.layout.partitions, executor);
        p.catch(() => undefined);
        queue.set(i, p);
        aheadBytes += c.outLength;
      }
    };

    let pos = start;
    try {
      for (let i = first; i < last; i++) {
        const c = chunks[i];
        if (c.outOffset > pos) {
          // gap between chunks
          yield* zeroPieces(pos, Math.min(c.outOffset, end) - pos);
          pos = Math.min(c.outOffset, end);
        }
        const from = Math.max(pos, c.outOffset);
        const to = Math.min(end, c.outOffset + c.outLength);
        if (isZeroFill(c.type)) {
          yield* zeroPieces(from, to - from, c);
          pos = to;
          continue;
        }
        fill();
        const p = queue.get(i)!;
        let data: Uint8Array;
        try {
          data = await p;
        } catch (e) {
          queue.delete(i);
          aheadBytes -= c.outLength;
          const err = e instanceof DmgkitError ? e : chunkError(e, c, this.layout.partitions);
          if (!opts.keepGoing) throw err;
          opts.onLost?.({ offset: from, length: to - from, error: err });
          yield* zeroPieces(from, to - from, c);
          pos = to;
          continue;
        }
        queue.delete(i);
        aheadBytes -= c.outLength;
        fill();
        yield { offset: from, length: to - from, data: data.subarray(from - c.outOffset, to - c.outOffset), chunk: c };
        pos = to;
      }
      if (pos < end) yield* zeroPieces(pos, end - pos);
    } finally {
      queue.clear();
    }
  }

  /** The decoded bytes in order (zero runs materialised), for streams. */
  async *bytes(start = 0, end = this.size, opts: PieceOptions = {}): AsyncGenerator<Uint8Array> {
    for await (const p of this.pieces(start, end, opts)) {
      if (p.data) {
        yield p.data;
      } else {
        for (let o = 0; o < p.length; o += ZERO_PIECE_MAX) yield zeros(Math.min(ZERO_PIECE_MAX, p.length - o));
      }
    }
  }

  private range(partition?: number): [number, number] {
    if (partition === undefined) return [0, this.size];
    const p = this.layout.partitions[partition];
    if (!p) throw new DmgkitError('OUT_OF_RANGE', `no partition ${partition} (the image has ${this.layout.partitions.length})`);
    return [p.offset, p.offset + p.size];
  }

  /** The whole disk, or one partition, as a Node Readable with backpressure. */
  createReadStream(opts: PieceOptions & { partition?: number } = {}): NodeReadableLike {
    const [s, e] = this.range(opts.partition);
    return toNodeReadable(this.bytes(s, e, opts));
  }

  /** The whole disk, or one partition, as a web ReadableStream. */
  stream(opts: PieceOptions & { partition?: number } = {}): ReadableStream<Uint8Array> {
    const [s, e] = this.range(opts.partition);
    return toWebStream(this.bytes(s, e, opts));
  }

  /** Type 2 (ignore) chunks are excluded from partition checksums. */
  static countsInChecksum(c: ChunkRef): boolean {
    return c.type !== CHUNK_IGNORE;
  }

  async close(): Promise<void> {
    this.cache.clear(); // the executor belongs to the caller that made it: it closes it
    if (this.ownsSource) await this.source.close?.();
  }
}

function* zeroPieces(offset: number, length: number, chunk?: ChunkRef): Generator<Piece> {
  if (length > 0) yield { offset, length, data: null, chunk };
}
