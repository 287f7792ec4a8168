/**
 * Writing images: any disk dmgkit reads (a UDIF image of any format, a sparse image or bundle, a raw disk or ISO,
 * bytes in memory) to a new image of one of hdiutil's formats, as a stream of bytes (browser-safe) — or, with
 * src/write/node.ts, to a file.
 *
 * Formats: the compressed UDIF formats of the codec table (UDZO, UDCO, ULFO, … — every entry with an encoder),
 * UDRO/UDRW (raw chunks), UDSP (sparse image), UDSB (sparse bundle: a folder, Node only) and `raw` (the plain
 * disk). Block tables follow hdiutil's layout (src/write/plan.ts); chunks are encoded on a pool of threads and
 * written in order, so the output is the same for every thread count.
 */
import { DmgkitError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import type { SourceInput } from '../io/open-source.js';
import { toWebStream } from '../io/stream.js';
import { giveBack } from '../util/lent.js';
import { createEncodePool } from '#platform';
import { CODECS, canEncode, codecEntry } from '../codecs/table.js';
import { openDisk, type OpenedDisk } from '../open.js';
import { CHUNK_RAW } from '../udif/chunk-types.js';
import { UdifImage } from '../udif/image.js';
import { SECTOR } from '../udif/layout.js';
import { type ImagePlan, planReadBytes, wholeDiskPlan } from '../udif/write/plan.js';
import { type UdifWriteOptions, writeUdifImage } from '../udif/write/udif.js';
import { writeSparseImage } from '../container/sparseimage-write.js';
import type { TaskPool } from '../pool/index.js';
import { planDisk, planFromUdif, type PlanOptions } from './plan.js';
import { isByteStream, sequentialFrom, type ByteStream } from './stream-input.js';

/** Formats that are not a codec of the table. */
const PLAIN_FORMATS: Record<string, string> = {
  UDRO: 'read-only UDIF, raw chunks (zero runs and free space still left out)',
  UDRW: 'read/write UDIF, raw chunks',
  UDSP: 'sparse image (.sparseimage): writable, grows as bands are written',
  UDSB: 'sparse bundle (a folder of band files): writable, backs up well',
  raw: 'the plain disk, byte for byte (like dmg2img)',
};

export interface FormatInfo {
  name: string;
  description: string;
  /** Chunk type for UDIF formats. */
  chunkType?: number;
  /** False for a table codec without an encoder yet. */
  writable: boolean;
}

/** Every format name `writeImage` knows, compressed UDIF formats from the codec table. */
export function writeFormats(): FormatInfo[] {
  const udif = CODECS.filter((c) => c.format).map((c) => ({
    name: c.format!, description: `UDIF, ${c.title} chunks`, chunkType: c.type, writable: canEncode(c),
  }));
  const plain = Object.entries(PLAIN_FORMATS).map(([name, description]) => ({
    name, description, chunkType: name === 'UDRO' || name === 'UDRW' ? CHUNK_RAW : undefined, writable: true,
  }));
  return [...udif, ...plain];
}

/** The format of a name (case-insensitive), or INVALID_ARGUMENT / UNSUPPORTED_CODEC naming what exists. */
export function resolveFormat(name: string): FormatInfo {
  const f = writeFormats().find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (!f) {
    throw new DmgkitError('INVALID_ARGUMENT', `unknown format '${name}' (one of ${writeFormats().filter((x) => x.writable).map((x) => x.name).join(', ')})`);
  }
  if (!f.writable) throw new DmgkitError('UNSUPPORTED_CODEC', `dmgkit cannot write ${f.name} (${f.description}) yet`, { format: f.name });
  return f;
}

export interface WriteImageOptions {
  /** UDZO, UDCO, ULFO, UDRO, UDRW, UDSP, raw, … (UDSB: use writeImageFile). */
  format: string;
  /** Codec level (UDZO: 1..9, default 6). */
  level?: number;
  /** Sectors per chunk (UDIF) or per band (UDSP); default hdiutil's (2048). */
  chunkSectors?: number;
  /** Threads to encode on (Node: worker threads; default 1). Ignored when `pool` is given. */
  threads?: number;
  /** A pool (src/pool) to encode on; the caller owns and closes it. */
  pool?: TaskPool;
  /** 16-byte segment ID of the UDIF trailer. */
  segmentId?: Uint8Array;
  /** Derive the segment ID from the content (tables and checksums), so the output is byte-for-byte reproducible. */
  deterministic?: boolean;
  /**
   * UDIF input: 'keep' its block tables and runs (default), or 'map' to lay the tables out afresh from the
   * partition map of the decoded disk.
   */
  layout?: 'keep' | 'map';
  /**
   * Leave out the bytes of the free blocks of HFS+ volumes (found from the volume's allocation file): ignore
   * chunks, read back as zeros, so deleted files' leftovers are dropped. By default free blocks become ignore
   * chunks only where they hold zeros, and the image decodes to the input disk byte for byte.
   */
  discardFreeSpace?: boolean;
  /** Block tables to write, instead of planning them (advanced; see src/udif/write/plan.ts). */
  plan?: ImagePlan;
  /**
   * The consumer hands each piece back with `releasePiece` once it has written it (and no longer reads it), so the
   * writer may reuse its buffer for a later piece instead of allocating one per chunk. Leave it unset when pieces
   * are kept (collected, enqueued in a stream that buffers them).
   */
  reusePieces?: boolean;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * What can be written: anything `openDisk` opens, an opened disk, a disk as a ByteSource, or a byte stream (stdin,
 * a web ReadableStream, an async iterable) read once in order — a stream is written as one whole-disk UDIF table
 * (or passed through for `raw`), since its size and partition map are not known before its end.
 */
export type ImageInput = SourceInput | OpenedDisk | ByteStream;

function isOpenedDisk(x: unknown): x is OpenedDisk {
  return typeof x === 'object' && x !== null && 'disk' in x && 'kind' in x && typeof (x as OpenedDisk).close === 'function';
}

/** A disk whose size is not a multiple of 512 (a raw byte payload), padded with zeros to the next sector. */
class PaddedSource implements ByteSource {
  readonly size: number;
  readonly name?: string;
  constructor(private readonly inner: ByteSource) {
    this.size = Math.ceil(inner.size / SECTOR) * SECTOR;
    this.name = inner.name;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(offset + length, this.inner.size);
    if (end >= offset + length) return this.inner.read(offset, length);
    const out = new Uint8Array(length);
    if (end > offset) out.set(await this.inner.read(offset, end - offset));
    return out;
  }
}

/** A byte stream: one pass, one whole-disk table (or the bytes as they are for `raw`). */
async function* writeStream(stream: ByteStream, format: FormatInfo, opts: WriteImageOptions): AsyncGenerator<Uint8Array> {
  const seq = sequentialFrom(stream);
  let pool: TaskPool | undefined;
  try {
    if (format.name === 'raw') {
      let done = 0;
      for (;;) {
        opts.signal?.throwIfAborted();
        const piece = await seq.next(4 << 20);
        if (piece.length === 0) return;
        done += piece.length;
        yield piece;
        opts.onProgress?.(done, 0);
      }
    }
    if (format.chunkType === undefined) {
      throw new DmgkitError('INVALID_ARGUMENT', `${format.name} needs the disk's size before its data: write it from a file, not a stream`);
    }
    pool = opts.pool ?? (await makePool(opts.threads ?? 1, format.chunkType, opts));
    yield* writeUdifImage(seq, opts.plan ?? wholeDiskPlan(0, 'unknown partition'), udifOptions(format.chunkType, opts, pool));
  } finally {
    if (pool && !opts.pool) await pool.close();
    await seq.close();
  }
}

async function openInput(input: SourceInput | OpenedDisk): Promise<{ opened: OpenedDisk; owned: boolean }> {
  if (isOpenedDisk(input)) return { opened: input, owned: false };
  if (input instanceof UdifImage) {
    return { opened: { kind: 'udif', disk: input, udif: input, warnings: input.warnings, close: async () => undefined }, owned: false };
  }
  return { opened: await openDisk(input, { raw: 'always' }), owned: true };
}

/** Gives a piece of writeImage({ reusePieces: true }) back once written: its buffer may then serve a later piece. */
export function releasePiece(piece: Uint8Array): void {
  giveBack(piece);
}

/** The UDIF writer's options for a chunk type, from the caller's options and the pool in use. */
function udifOptions(chunkType: number, opts: WriteImageOptions, pool: TaskPool | undefined): UdifWriteOptions {
  return {
    chunkType,
    level: opts.level,
    chunkSectors: opts.chunkSectors,
    pool,
    segmentId: opts.segmentId ?? (opts.deterministic ? 'content' : undefined),
    reusePieces: opts.reusePieces,
    onProgress: opts.onProgress,
    signal: opts.signal,
  };
}

/** A pool of up to `threads` threads for encoding `bytes` (unknown for a stream) as `chunkType` at `opts.level`. */
async function makePool(threads: number, chunkType: number, opts: WriteImageOptions, bytes?: number): Promise<TaskPool | undefined> {
  if (threads <= 1) return undefined;
  const level = opts.level ?? codecEntry(chunkType)?.defaultLevel ?? 0;
  return createEncodePool(threads, { chunkType, level, bytes }); // worker threads in Node (#platform); none elsewhere
}

/** The plan for a disk: a UDIF input's own tables (layout 'keep'), else hdiutil's layout from its map. */
export async function planImage(opened: OpenedDisk, disk: ByteSource, layout: 'keep' | 'map' = 'keep', opts: PlanOptions = {}): Promise<ImagePlan> {
  if (layout === 'keep' && opened.udif && disk === opened.disk) {
    const kept = planFromUdif(opened.udif);
    if (kept) return kept;
  }
  return planDisk(disk, opts);
}

/**
 * The image of `input` in `opts.format`, as an async iterable of byte pieces (concatenated, they are the file).
 * Streams in bounded memory: the UDIF metadata follows the data, a sparse image is written node by node.
 */
export async function* writeImage(input: ImageInput, opts: WriteImageOptions): AsyncGenerator<Uint8Array> {
  const format = resolveFormat(opts.format);
  if (format.name === 'UDSB') {
    throw new DmgkitError('INVALID_ARGUMENT', 'a sparse bundle (UDSB) is a folder: write it with writeImageFile (Node)');
  }
  if (isByteStream(input)) {
    yield* writeStream(input, format, opts);
    return;
  }
  const { opened, owned } = await openInput(input);
  let pool: TaskPool | undefined;
  try {
    const disk = opened.disk.size % SECTOR === 0 ? opened.disk : new PaddedSource(opened.disk);
    if (format.name === 'raw') {
      const piece = 4 << 20;
      for (let o = 0; o < opened.disk.size; o += piece) {
        opts.signal?.throwIfAborted();
        const n = Math.min(piece, opened.disk.size - o);
        yield await opened.disk.read(o, n);
        opts.onProgress?.(o + n, opened.disk.size);
      }
      return;
    }
    if (format.name === 'UDSP') {
      yield* writeSparseImage(disk, { sectorsPerBand: opts.chunkSectors, onProgress: opts.onProgress, signal: opts.signal });
      return;
    }
    const plan = opts.plan ?? (await planImage(opened, disk, opts.layout, { discardFreeSpace: opts.discardFreeSpace }));
    pool = opts.pool ?? (await makePool(opts.threads ?? 1, format.chunkType!, opts, planReadBytes(plan)));
    yield* writeUdifImage(disk, plan, udifOptions(format.chunkType!, opts, pool));
  } finally {
    if (pool && !opts.pool) await pool.close();
    if (owned) await opened.close();
  }
}

/** `writeImage` as a web ReadableStream (pull-driven: nothing is read or encoded ahead of the consumer's pace). */
export function writeImageStream(input: ImageInput, opts: WriteImageOptions): ReadableStream<Uint8Array> {
  return toWebStream(writeImage(input, opts));
}


