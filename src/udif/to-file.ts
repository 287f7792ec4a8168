/**
 * Decoding a UDIF image (or a range of it) into a file, a device or a stream, on as many threads as pay off
 * (Node-only: file descriptors and worker threads; browsers use decodeRange with an InlinePool).
 *
 * To a regular file or a block device the worker threads write the decoded bytes at their offsets themselves;
 * zero runs stay holes in a regular file (written as zeros on a device). To anything else (a pipe, stdout, a
 * character device) the bytes are written in order from the calling thread, out of shared slots.
 */
import { fstatSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { DmgkitError } from '../errors.js';
import { createPool, compiledUrl, NATIVE_MAX_THREADS } from '../pool/node.js';
import { NativeFirstPool } from '../pool/native.js';
import type { TaskPool } from '../pool/pool.js';
import './native-batch.js'; // zlib and raw batches run natively (no worker): see pool/native.ts
import { CHUNK_ADC, CHUNK_BZIP2, CHUNK_LZFSE, CHUNK_LZMA, CHUNK_RAW, CHUNK_ZLIB, isZeroFill } from './chunk-types.js';
import { decodeRange, type RangePiece, type RangeSink } from './decode-range.js';
import type { UdifImage } from './image.js';

export interface ToFileOptions {
  start?: number;
  end?: number;
  /** Most threads to use (default 1). Fewer start when the work is too small to pay for them (see threadsFor). */
  threads?: number;
  /** A pool to run on instead of one made here (it is not closed here; it must load the 'udif.batch' task). */
  pool?: TaskPool;
  keepGoing?: boolean;
  onLost?: (range: { offset: number; length: number; error: DmgkitError }) => void;
  /** Bytes of the range done so far, in order. */
  onProgress?: (done: number) => void;
  onPiece?: (piece: RangePiece) => void;
  crc?: boolean;
  signal?: AbortSignal;
}

/**
 * Single-thread decoding speed per chunk type (bytes/s, measured on the bench's mixed data on a 2-core x86 VM,
 * rounded down) — only used to estimate whether threads pay off.
 */
const SPEED: Record<number, number> = {
  [CHUNK_ZLIB]: 300e6,
  [CHUNK_ADC]: 400e6,
  [CHUNK_LZFSE]: 300e6,
  [CHUNK_BZIP2]: 25e6,
  [CHUNK_LZMA]: 50e6,
  [CHUNK_RAW]: 2e9,
};
/**
 * Estimated single-thread seconds of worker-thread work below which no worker is started. A worker costs ~120 ms
 * of CPU to start here (a bare Node worker thread, measured with perf stat; the codec modules add 10-40 ms) and
 * then runs its decoder cold (the JIT warms up again in every thread), while the calling thread decodes from the
 * start (callerRuns). Measured end to end on 64 MiB of LZFSE chunks (≈ 0.2 s of work on one thread): 0.49 s on 2
 * threads against 0.39 s on 1, so a worker costs ≈ 0.2 s of the work it was to share, and pays from ≈ 0.4 s of
 * work on. See docs/benchmarks.md.
 */
export const THREADS_MIN_SECONDS = 0.4;

/** Chunk types a 2-3 thread decode pool runs natively (./native-batch.ts): no worker to start for them. */
const NATIVE = new Set([CHUNK_ZLIB, CHUNK_RAW]);

/** Estimated seconds to decode [start, end) on one thread: all of it, and the part a worker would do. */
export function estimateSeconds(img: UdifImage, start = 0, end = img.size): number {
  return estimate(img, start, end).all;
}

function estimate(img: UdifImage, start: number, end: number): { all: number; workers: number } {
  let all = 0;
  let workers = 0;
  const chunks = img.chunks;
  for (let i = img.chunkIndexAt(start); i < chunks.length && chunks[i].outOffset < end; i++) {
    const c = chunks[i];
    if (isZeroFill(c.type)) continue;
    const s = (Math.min(end, c.outOffset + c.outLength) - Math.max(start, c.outOffset)) / (SPEED[c.type] ?? 50e6);
    all += s;
    if (!NATIVE.has(c.type)) workers += s;
  }
  return { all, workers };
}

/**
 * Threads worth using for [start, end), at most `max`: all of them when the work runs natively (zlib, raw: nothing
 * to start) or is large enough to pay for workers, else 1.
 */
export function threadsFor(img: UdifImage, max: number, start = 0, end = img.size): number {
  if (max <= 1) return 1;
  const est = estimate(img, start, end);
  const native = max <= NATIVE_MAX_THREADS;
  if (native && est.workers === 0) return max;
  return (native ? est.workers : est.all) < THREADS_MIN_SECONDS ? 1 : max;
}

/** The module the pool's workers load for the 'udif.batch' task. */
export const BATCH_TASK_MODULE = compiledUrl(import.meta.url, './batch-task.js');

/**
 * A pool for decoding an image range on `threads` threads (from threadsFor; inline for 1). Batches of zlib and raw
 * chunks run natively, `threads` at a time on libuv's thread pool (./native-batch.ts); any other batch runs on
 * the calling thread and threads - 1 workers that know 'udif.batch', started on the first such batch.
 */
export function decodePool(threads: number): TaskPool {
  const workers = () => createPool(threads, { modules: [BATCH_TASK_MODULE], callerRuns: true });
  return threads > 1 && threads <= NATIVE_MAX_THREADS ? new NativeFirstPool(threads, workers) : workers();
}

async function withPool<T>(img: UdifImage, o: ToFileOptions, start: number, end: number, fn: (pool: TaskPool) => Promise<T>): Promise<T> {
  if (o.pool) return fn(o.pool);
  const pool = decodePool(threadsFor(img, o.threads ?? 1, start, end));
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}

function run(img: UdifImage, sink: RangeSink, o: ToFileOptions, start: number, end: number): Promise<void> {
  return withPool(img, o, start, end, (pool) =>
    decodeRange(img, start, end, {
      pool,
      sink,
      crc: o.crc,
      keepGoing: o.keepGoing,
      onLost: o.onLost,
      signal: o.signal,
      onPiece: (p) => {
        o.onPiece?.(p);
        o.onProgress?.(p.offset + p.length - start);
      },
    }),
  );
}

/**
 * Decodes [start, end) (default: the whole disk) into an open file: a regular file is truncated and becomes
 * exactly end - start bytes with holes for zero runs; a block device gets every byte at its offset; anything else
 * (pipe, character device) is written in order. The caller owns (opens and closes) the handle.
 */
export async function decodeToFile(img: UdifImage, out: FileHandle | number, opts: ToFileOptions = {}): Promise<void> {
  const start = opts.start ?? 0;
  const end = opts.end ?? img.size;
  const fd = typeof out === 'number' ? out : out.fd;
  const st = fstatSync(fd);
  if (st.isFile()) {
    if (typeof out === 'number') (await import('node:fs')).ftruncateSync(fd, 0);
    else await out.truncate(0);
    await run(img, { kind: 'fd', fd, zeros: 'hole' }, opts, start, end);
    if (typeof out === 'number') (await import('node:fs')).ftruncateSync(fd, end - start);
    else await out.truncate(end - start);
    return;
  }
  if (st.isBlockDevice()) {
    await run(img, { kind: 'fd', fd, zeros: 'write' }, opts, start, end);
    return;
  }
  await run(img, { kind: 'stream', write: fdWriter(fd) }, opts, start, end);
}

/** A decodeToStream writer that writes in order to a descriptor (e.g. stdout's, whatever it is: never truncated). */
export function fdWriter(fd: number): (bytes: Uint8Array) => Promise<void> {
  return async (b) => writeAllSync(fd, b);
}

function writeAllSync(fd: number, b: Uint8Array): void {
  let done = 0;
  while (done < b.length) {
    try {
      done += writeSync(fd, b, done, b.length - done);
    } catch (e) {
      // A non-blocking pipe (stdout to another process) that is full: wait for it rather than spin hard.
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/**
 * Decodes [start, end) in order to `write`, which must be done with the bytes when its promise resolves (they
 * are reused), e.g. a Node stream write that waits for its callback.
 */
export async function decodeToStream(img: UdifImage, write: (bytes: Uint8Array) => Promise<void>, opts: ToFileOptions = {}): Promise<void> {
  const start = opts.start ?? 0;
  const end = opts.end ?? img.size;
  await run(img, { kind: 'stream', write }, opts, start, end);
}
