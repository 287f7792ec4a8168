import { availableParallelism } from 'node:os';
import { intFlag, type ParsedArgs } from './args.js';
import type { DecodeExecutor } from '../udif/decode.js';

/** --threads N (default: the number of cores). */
export function threadsOption(args: ParsedArgs): number {
  return Math.max(1, intFlag(args, 'threads', availableParallelism()) ?? 1);
}

/**
 * The CLI's decode executor for N threads: a pool of worker threads, started on the first chunk decoded in
 * parallel (a sparse image, a raw disk or a command that fails early never starts one). Its owner (the command
 * runner) closes it when the command ends, whatever the outcome.
 */
export class LazyExecutor implements DecodeExecutor {
  private pool: Promise<DecodeExecutor> | undefined;
  private closed = false;
  constructor(readonly threads: number) {}

  /** True once the worker pool was asked for (tests: a raw image never starts it). */
  get started(): boolean {
    return this.pool !== undefined;
  }

  private start(): Promise<DecodeExecutor> {
    if (this.closed) return Promise.reject(new Error('decode executor used after close'));
    return (this.pool ??= (async () => {
      try {
        const { WorkerPoolExecutor } = await import('../udif/worker-pool.js');
        return new WorkerPoolExecutor(this.threads);
      } catch {
        const { asyncExecutor } = await import('../udif/decode.js');
        return asyncExecutor;
      }
    })());
  }

  async decode(type: number, input: Uint8Array, outLength: number): Promise<Uint8Array> {
    return (await this.start()).decode(type, input, outLength);
  }

  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await (await pool).close?.();
  }
}

/** The executor for N threads, or none for one thread (decoding on the calling thread). */
export function makeExecutor(threads: number): LazyExecutor | undefined {
  return threads > 1 ? new LazyExecutor(threads) : undefined;
}
