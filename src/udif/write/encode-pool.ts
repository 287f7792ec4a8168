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
 * Inline (no threads) for threads <= 1.
 */
import { compiledUrl, createPool, NATIVE_MAX_THREADS } from '../../pool/node.js';
import { NativeFirstPool } from '../../pool/native.js';
import type { TaskPool } from '../../pool/pool.js';
import './native-encode.js';

/** The module the pool's workers load for the 'udif.encode' task. */
export const ENCODE_TASK_MODULE = compiledUrl(import.meta.url, './encode-task.js');

export function encodePool(threads: number): TaskPool {
  const workers = () => createPool(threads, { modules: [ENCODE_TASK_MODULE], callerRuns: true, startWith: 2 });
  return threads > 1 && threads <= NATIVE_MAX_THREADS ? new NativeFirstPool(threads, workers) : workers();
}
