/** The pool interface and the inline pool (browser-safe). */
import { DmgkitError } from '../errors.js';
import { runTaskHere } from './registry.js';

export interface TaskPool {
  /** Threads the pool decodes on (1 = inline on the calling thread). */
  readonly threads: number;
  /**
   * Runs a registered task kind with `args` and resolves to its result. `transfer` lists buffers of `args` to move
   * to the worker (they are detached here afterwards); shared (SharedArrayBuffer) views need no listing. dmgkit's
   * own callers list none: the first detached buffer of a thread slows all its typed-array code (util/shared.ts).
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
  /**
   * The calling thread is one of the pool's threads: threads - 1 workers start, and a job runs on the calling
   * thread (synchronously, inside run()) when every worker already has its jobs queued. Saves one worker's start-up
   * (tens of ms of CPU, measured) and puts the caller's core to work; for callers that only coordinate (CLI).
   */
  callerRuns?: boolean;
  /**
   * Start the workers now rather than on the first job: they load while the caller does its own start-up (opening
   * an image), and join the work when they are up (a job never waits for a worker still starting; with callerRuns
   * the calling thread goes on alone, so a small job costs nothing but the workers' start-up on idle cores).
   */
  prestart?: boolean;
  /**
   * Jobs a worker is sent while it is still starting (default 0: none, a job never waits for a worker's start-up).
   * For long jobs on a callerRuns pool: the calling thread runs its jobs synchronously and reads a worker's "up"
   * only between two of them, so a worker that has its first job already starts on it as soon as its modules are
   * loaded (measured, 64 MiB to ULFO on 2 threads: 1.39-1.48 s against 1.55-1.78 s).
   */
  startWith?: number;
}

/** Runs every task on the calling thread, one at a time as they are submitted (no workers; works in browsers). */
export class InlinePool implements TaskPool {
  readonly threads = 1;
  private closed = false;
  private loaded: Promise<unknown> | null = null;
  /** The built-in tasks (encoders included) load on first use, so an unused inline pool costs no start-up. */
  private static builtins: Promise<unknown> | null = null;
  constructor(private readonly opts: PoolOptions = {}) {}

  async run<R = unknown>(kind: string, args: unknown): Promise<R> {
    if (this.closed) throw new DmgkitError('IO_ERROR', `pool is closed (task '${kind}')`, { pool: 'closed' });
    await (InlinePool.builtins ??= import('./tasks.js'));
    if (this.opts.modules?.length) await (this.loaded ??= Promise.all(this.opts.modules.map((m) => import(m))));
    return (await runTaskHere(kind, args)).value as R;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
