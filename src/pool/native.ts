/**
 * Jobs the host runs natively, without a worker thread (Node-only callers register them; this file itself is
 * browser-safe). Some tasks are, in Node, nothing but calls into C: a zlib chunk is read (node:fs), inflated or
 * deflated (node:zlib) and written (node:fs), and each of those has an asynchronous form that runs on libuv's
 * thread pool. Such a job needs no worker: N of them in flight keep N cores busy while the calling thread only
 * coordinates, and nothing has to start first (a worker thread costs ~0.1 s of CPU before its first chunk here:
 * its own Node environment, module loading, a cold JIT; a large share of a 64 MiB image's work).
 *
 * A native variant is registered beside its task (registerNativeTask) with a test of the arguments it takes;
 * NativeFirstPool runs a job that passes the test as a native job (at most `threads` at once, in submission
 * order), and hands any other job to the worker pool it wraps, created on its first such job.
 */
import { DmgkitError } from '../errors.js';
import type { TaskPool } from './pool.js';

export interface NativeTask<A = any, R = any> {
  /** Whether these arguments can run natively (e.g. every chunk is zlib or raw, and the input is a descriptor). */
  accepts(args: A): boolean;
  /** Runs the job; rejects with a DmgkitError as the task itself would. */
  run(args: A): Promise<R>;
}

const nativeTasks = new Map<string, NativeTask>();

/** Registers the native variant of a task kind (Node-only modules call it at top level). */
export function registerNativeTask<A, R>(kind: string, task: NativeTask<A, R>): void {
  nativeTasks.set(kind, task);
}

interface Waiting {
  task: NativeTask;
  args: unknown;
  resolve: (v: any) => void;
  reject: (e: unknown) => void;
}

/**
 * A pool that runs native jobs itself, `threads` at a time, and every other job on a pool made by `inner` when
 * the first such job comes. Closing it closes the inner pool.
 */
export class NativeFirstPool implements TaskPool {
  private innerPool: TaskPool | null = null;
  private running = 0;
  /** Resolves when no native job runs (close() waits for it: a running job still uses the caller's descriptors). */
  private idle: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  private readonly waiting: Waiting[] = [];
  private closed = false;

  constructor(
    readonly threads: number,
    private readonly inner: () => TaskPool,
  ) {}

  run<R = unknown>(kind: string, args: unknown, transfer?: ArrayBuffer[]): Promise<R> {
    if (this.closed) return Promise.reject(new DmgkitError('IO_ERROR', `pool is closed (task '${kind}')`, { pool: 'closed' }));
    const task = nativeTasks.get(kind);
    if (!task || !task.accepts(args)) return (this.innerPool ??= this.inner()).run<R>(kind, args, transfer);
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ task, args, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    while (this.running < this.threads && this.waiting.length && !this.closed) {
      const w = this.waiting.shift()!;
      if (this.running++ === 0) this.idle = new Promise((r) => (this.wake = r));
      const done = () => {
        if (--this.running === 0) this.wake?.();
        this.next();
      };
      w.task.run(w.args).then(
        (v) => {
          w.resolve(v);
          done();
        },
        (e) => {
          w.reject(e);
          done();
        },
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new DmgkitError('IO_ERROR', 'pool closed before the task finished', { pool: 'closed' }));
    const p = this.innerPool;
    this.innerPool = null;
    await Promise.all([p?.close(), this.idle]);
  }
}
