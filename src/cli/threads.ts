import { availableParallelism } from 'node:os';
import { intFlag, type ParsedArgs } from './args.js';
import { type DecodeExecutor, asyncExecutor } from '../udif/decode.js';

/** --threads N (default: the number of cores). */
export function threadsOption(args: ParsedArgs): number {
  return Math.max(1, intFlag(args, 'threads', availableParallelism()) ?? 1);
}

/** The executor for N threads: node:zlib's pool for zlib, a worker pool for the TypeScript codecs. */
export async function makeExecutor(threads: number): Promise<DecodeExecutor | undefined> {
  if (threads <= 1) return undefined;
  try {
    const { WorkerPoolExecutor } = await import('../udif/worker-pool.js');
    return new WorkerPoolExecutor(threads);
  } catch {
    return asyncExecutor;
  }
}
