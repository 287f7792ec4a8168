/**
 * src/pool — an ordered job pool for chunk work (decode, encode, CRC), on worker threads or inline.
 *
 * API (this file is browser-safe; the Node worker pool is in ./node.ts, import it only from Node-only code):
 *
 *   const pool = createPool(threads, { modules });  // node.ts: WorkerPool for threads > 1, else InlinePool
 *   const r = await pool.run<DecodeResult>('decode', { type, input, outLength, output, crc: true });
 *   for await (const r of orderedMap(jobs, (j) => pool.run('encode', j), { maxInFlight: 2 * pool.threads }))
 *     ...                                           // results in input order, bounded in flight, back-pressure
 *   await pool.close();                             // whoever creates the pool closes it (terminates workers)
 *
 * - Task kinds live in a registry (registerTask). Built in (./tasks.ts): 'decode' (a UDIF chunk type into
 *   `output`, e.g. a reusable SharedArrayBuffer view, or into a new buffer, cloned back; optional CRC-32),
 *   'encode' (codec name + level), 'crc32'. More kinds: a module that calls registerTask, named in
 *   PoolOptions.modules (compiled JS URL; compiledUrl(import.meta.url, './x.js') maps src/*.ts to dist/*.js).
 * - Workers start on demand (a pool that runs nothing starts nothing), are unref'd while idle (an unclosed idle
 *   pool never keeps the process alive) and are terminated by close(); jobs unfinished at close reject.
 * - Every failure reaches the caller as a DmgkitError: the task's own, the task's fallback code (CORRUPT_CHUNK for
 *   decoders) for anything else thrown, IO_ERROR for errno failures, a dead worker or a closed pool.
 * - InlinePool (threads = 1) runs the same tasks on the calling thread: identical results, no thread start-up.
 */
export { type TaskPool, type PoolOptions, InlinePool } from './pool.js';
export { orderedMap, type OrderedOptions } from './ordered.js';
export { registerTask, hasTask, transfer, movable, Transfer, type TaskFn } from './registry.js';
export { type DecodeArgs, type DecodeResult, type EncodeArgs, type Crc32Args, decodeChunkHere, encodeChunkHere } from './tasks.js';
