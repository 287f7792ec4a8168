/** The pool interface and the inline pool (browser-safe). */
import { DmgkitError } from '../errors.js';
import { runTaskHere } from './registry.js';
import './tasks.js';

export interface TaskPool {
  /** Threads the pool decodes on (1 = inline on the calling thread). */
  readonly threads: number;
  /**
   * Runs a registered task kind with `args` and resolves to its result. `transfer` lists buffers of `args` to move
   * to the worker (they are detached here afterwards); shared (SharedArrayBuffer) views need no listing.
   * Rejects with a DmgkitError (the task's own, or the task's fallback code for other failures).
   */
  run<R = unknown>(kind: string, args: unknown, transfer?: ArrayBuffer[]): Promise<R>;
  /** Terminates the workers; jobs not finished reject. Idempotent. Whoever creates the pool closes it. */
  close(): Promise<void>;
}

export interface PoolOptions {
  /**
   * Extra modules (URL strings of compiled JS) that register more task kinds; workers import them at start, the
   * inline pool imports them on first use. See compiledUrl() in node.ts to name a module next to the caller.
   */
  modules?: string[];
}

/** Runs every task on the calling thread, one at a time as they are submitted (no workers; works in browsers). */
export class InlinePool implements TaskPool {
  readonly threads = 1;
  private closed = false;
  private loaded: Promise<unknown> | null = null;
  constructor(private readonly opts: PoolOptions = {}) {}

  async run<R = unknown>(kind: string, args: unknown): Promise<R> {
    if (this.closed) throw new DmgkitError('IO_ERROR', `pool is closed (task '${kind}')`, { pool: 'closed' });
    if (this.opts.modules?.length) await (this.loaded ??= Promise.all(this.opts.modules.map((m) => import(m))));
    return (await runTaskHere(kind, args)).value as R;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
