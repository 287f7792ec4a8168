/**
 * The writer's pool (Node only), `threads` threads for the 'udif.encode' task (./encode-task.ts):
 * - zlib (UDZO) and raw cells run natively (./native-encode.ts): the calling thread finds each cell's CRC and zero
 *   runs, libuv's thread pool deflates, `threads` cells at a time; no worker starts.
 * - every other codec: the calling thread, which also reads, orders and writes, and threads - 1 workers
 *   (callerRuns). Measured on 64 MiB of the bench's mixed data, 2 threads: 1.33 s CPU at level 1 against 1.52 s
 *   with two workers and an idle calling thread (one worker's start-up saved; the calling thread's own work is a
 *   few % of a cell's encoding).
 *   A starting worker is given its first two cells at once (startWith): the calling thread, busy with a cell of
 *   its own, would only see the worker's "up" after it (64 MiB to ULFO, 2 threads: 1.39-1.48 s against 1.55-1.78 s).
 *   The calling thread takes such a cell back when it has nothing else to do and the worker has not begun it
 *   (src/pool/node.ts, claims).
 * Inline (no threads) for threads <= 1, and for work too small to pay for a worker (encodeThreadsFor).
 */
import { compiledUrl, createPool, NATIVE_MAX_THREADS } from '../../pool/node.js';
import { NativeFirstPool } from '../../pool/native.js';
import type { TaskPool } from '../../pool/pool.js';
import { CHUNK_ADC, CHUNK_BZIP2, CHUNK_LZFSE, CHUNK_LZMA } from '../chunk-types.js';
import './native-encode.js';

/** The module the pool's workers load for the 'udif.encode' task. */
export const ENCODE_TASK_MODULE = compiledUrl(import.meta.url, './encode-task.js');

export function encodePool(threads: number, work?: EncodeWork): TaskPool {
  if (work) threads = encodeThreadsFor(threads, work);
  const workers = () => createPool(threads, { modules: [ENCODE_TASK_MODULE], callerRuns: true, startWith: 2 });
  return threads > 1 && threads <= NATIVE_MAX_THREADS ? new NativeFirstPool(threads, workers) : workers();
}

/** What a pool is for: the chunk type and level, and the bytes to encode (unknown for a stream). */
export interface EncodeWork {
  chunkType: number;
  level: number;
  bytes?: number;
}

/**
 * Single-thread encoding speeds (bytes of input per second) of the codecs that run on worker threads, measured
 * on the bench's mixed data here (docs/benchmarks.md): LZFSE 70-108 MB/s, ADC ~37, bzip2 -9 ~14, XZ -1 ~10,
 * XZ -6 ~3. zlib and raw cells run natively (no worker to start) and are not listed.
 */
function encodeSpeed(chunkType: number, level: number): number | undefined {
  switch (chunkType) {
    case CHUNK_LZFSE:
      return 80e6;
    case CHUNK_ADC:
      return 37e6;
    case CHUNK_BZIP2:
      return 14e6;
    case CHUNK_LZMA:
      return level <= 3 ? 10e6 : 3e6;
    default:
      return undefined;
  }
}

/**
 * Estimated single-thread seconds of encoding below which no worker is started. A worker costs its start-up and
 * a cold JIT of its own (the LZFSE encoder's optimising compiles alone take ~0.5 s of CPU per thread here), on the
 * core the calling thread would otherwise have to itself. Measured end to end, 1 thread against 2 (medians of 5):
 * ULFO 4 MiB 0.35 / 0.46 s, 32 MiB 0.79 / 0.84 s, 64 MiB 1.29 / 1.01 s; UDBZ 4 MiB 0.67 / 0.72 s, 8 MiB 1.18 /
 * 1.12 s, 16 MiB 2.06 / 1.57 s: a worker pays from about 0.6 s of work.
 */
export const ENCODE_THREADS_MIN_SECONDS = 0.6;

/** Threads worth using for `work`, at most `max`: 1 when it is too little to pay for a worker, else `max`. */
export function encodeThreadsFor(max: number, work: EncodeWork): number {
  const speed = encodeSpeed(work.chunkType, work.level);
  if (max <= 1 || speed === undefined || work.bytes === undefined) return max;
  return work.bytes / speed < ENCODE_THREADS_MIN_SECONDS ? 1 : max;
}
