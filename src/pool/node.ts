/**
 * The Node pool: worker_threads running registered tasks (Node-only: import this file only from Node-only code;
 * browser-safe code takes a TaskPool from its caller).
 */
import { Worker } from 'node:worker_threads';
import { DmgkitError } from '../errors.js';
import { fromWireError, runTaskHere, type WireError } from './registry.js';
import { InlinePool, type PoolOptions, type TaskPool } from './pool.js';

/**
 * The URL of compiled module `relative` next to the module at `metaUrl` (pass import.meta.url). When running from
 * the TypeScript sources (tests), that is the same path under dist/ with .js: workers always run compiled JS.
 */
export function compiledUrl(metaUrl: string, relative: string): string {
  const u = new URL(relative, metaUrl);
  if (!/\/src\/.*\.ts$/.test(new URL(metaUrl).pathname)) return u.href;
  return u.href.replace(/\/src\/((?:[^/]+\/)*[^/]+)\.(?:ts|js)$/, '/dist/$1.js');
}

interface Job {
  id: number;
  kind: string;
  args: unknown;
  transfer?: ArrayBuffer[];
  resolve: (v: any) => void;
  reject: (e: unknown) => void;
  /** Sent to a worker still starting: its slot in the pool's claims (the calling thread may take the job back). */
  claim?: number;
}

/**
 * Claim slots (job id modulo this): far more than the jobs ever sent to starting workers and not yet run, so a slot
 * is reused only for a job long settled.
 */
const CLAIM_SLOTS = 1024;

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
  dead: boolean;
  /** The worker has loaded its modules (it said so): until then it is sent at most PoolOptions.startWith jobs. */
  ready: boolean;
}

/**
 * Node flags a worker takes: the process's, except those that only make sense for the main script (node -e
 * --input-type=module) and those a worker refuses (V8's and process-wide ones such as --max-old-space-size or
 * --expose-gc: ERR_WORKER_INVALID_EXEC_ARGV; they apply to the whole process anyway). Learned at the first refusal.
 */
let workerExecArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));

function newWorker(url: URL, workerData: unknown): Worker {
  try {
    return new Worker(url, { workerData, execArgv: workerExecArgv });
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || workerExecArgv.length === 0) throw e;
    // "Initiated Worker with invalid execArgv flags: --a, --b": drop those; if that cannot be read, drop them all.
    const bad = new Set(/flags: (.*)$/.exec((e as Error).message)?.[1].split(/,\s*/) ?? []);
    const kept = workerExecArgv.filter((a) => !bad.has(a));
    workerExecArgv = bad.size && kept.length < workerExecArgv.length ? kept : [];
    return newWorker(url, workerData);
  }
}

/** Jobs sent ahead to a worker, so it starts the next one without waiting for the main thread. */
const PER_WORKER = 2;

/**
 * A pool of `threads` worker threads, started as jobs arrive (a pool that never runs a job starts no thread).
 * Idle workers never keep the process alive; a worker with jobs does, until they finish or close() is called.
 * A worker that dies fails its jobs with a DmgkitError and is replaced on demand.
 */
export class WorkerPool implements TaskPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private readonly url: string;
  /**
   * Jobs sent to a starting worker (startWith) may be taken back by the calling thread when it has nothing else to
   * do: whichever side sets the job's claim first (Atomics, 0 → 1 in the worker, 0 → 2 here) runs it, the other
   * skips it. So a small job never waits for a worker's start-up (the calling thread does every cell of a 2 MiB
   * image while the worker starts), and the calling thread does not sit idle behind the cells given to a worker
   * still starting.
   */
  private readonly claims: Int32Array | null;

  constructor(
    readonly threads: number,
    private readonly opts: PoolOptions = {},
  ) {
    this.url = compiledUrl(import.meta.url, './worker.js');
    this.claims = opts.callerRuns && opts.startWith && typeof SharedArrayBuffer !== 'undefined' ? new Int32Array(new SharedArrayBuffer(4 * CLAIM_SLOTS)) : null;
    if (opts.prestart) while (this.slots.length < this.workerCount) this.spawn();
  }

  /** Worker threads this pool runs (with callerRuns the calling thread is the last of `threads`). */
  private get workerCount(): number {
    return this.opts.callerRuns ? this.threads - 1 : this.threads;
  }

  run<R = unknown>(kind: string, args: unknown, transfer?: ArrayBuffer[]): Promise<R> {
    if (this.closed) return Promise.reject(new DmgkitError('IO_ERROR', `pool is closed (task '${kind}')`, { pool: 'closed' }));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, kind, args, transfer, resolve, reject });
      this.dispatch();
    });
  }

  private spawn(): Slot {
    const worker = newWorker(new URL(this.url), { modules: this.opts.modules ?? [], claims: this.claims?.buffer });
    // Referenced while it starts (jobs may be waiting for it), then only while it has jobs.
    const slot: Slot = { worker, jobs: new Map(), dead: false, ready: false };
    worker.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: WireError; ready?: true }) => {
      if (m.ready) {
        slot.ready = true;
        this.dispatch();
        if (slot.jobs.size === 0) worker.unref();
        return;
      }
      const job = slot.jobs.get(m.id);
      if (!job) return;
      slot.jobs.delete(m.id);
      if (slot.jobs.size === 0) worker.unref();
      if (m.ok) job.resolve(m.value);
      else job.reject(fromWireError(m.error!));
      this.dispatch();
    });
    const fail = (why: string) => {
      if (slot.dead) return;
      slot.dead = true;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      for (const job of slot.jobs.values()) job.reject(new DmgkitError('IO_ERROR', `pool worker ${why} during task '${job.kind}'`, { pool: 'worker' }));
      slot.jobs.clear();
      if (!this.closed) this.dispatch();
    };
    worker.on('error', (e) => fail(`failed: ${e?.message ?? e}`));
    worker.on('exit', (code) => fail(`exited (code ${code})`));
    worker.on('messageerror', (e) => fail(`could not read a message: ${e?.message ?? e}`));
    this.slots.push(slot);
    return slot;
  }

  private callerBusy = false;
  private loadedHere: Promise<unknown> | null = null;

  /** Runs a job on the calling thread (callerRuns), synchronously when its modules are loaded here. */
  private runHere(job: Job): void {
    this.callerBusy = true;
    // The next job is chosen after the event loop has had a turn: a job on the calling thread runs synchronously,
    // and back-to-back jobs chained through promises would starve the workers' messages (ready, results), so the
    // workers would sit idle while the calling thread did everything.
    const done = () =>
      setImmediate(() => {
        this.callerBusy = false;
        this.dispatch();
      });
    const go = () =>
      runTaskHere(job.kind, job.args).then(
        (r) => (done(), job.resolve(r.value)),
        (e) => (done(), job.reject(e)),
      );
    if (this.opts.modules?.length && !this.loadedHere) this.loadedHere = Promise.all(this.opts.modules.map((m) => import(m)));
    if (this.loadedHere) void this.loadedHere.then(go, (e) => (done(), job.reject(e)));
    else void go();
  }

  private dispatch(): void {
    const workers = this.workerCount;
    // A worker takes jobs once it is up (it says so when its modules are loaded): until then the calling thread
    // (callerRuns) does the work, or the jobs wait in the queue, rather than waiting behind a thread's start-up
    // (except the startWith jobs a starting worker is given).
    const room = (s: Slot) => (s.ready ? PER_WORKER : Math.min(PER_WORKER, this.opts.startWith ?? 0)) - s.jobs.size;
    while (this.queue.length > 0 && !this.closed) {
      let best: Slot | undefined;
      let starting = 0;
      let idle = false;
      for (const s of this.slots) {
        if (!s.ready) starting++;
        else if (s.jobs.size === 0) idle = true;
        if (room(s) > 0 && (!best || room(s) > room(best))) best = s;
      }
      if (!idle && this.slots.length < workers && this.queue.length > starting) {
        this.spawn();
        continue;
      }
      // A free calling thread takes a job before a worker still starting does (it may take that job back later).
      if (!best || (!best.ready && this.opts.callerRuns && !this.callerBusy)) {
        if (!this.opts.callerRuns || this.callerBusy) return;
        this.runHere(this.queue.shift()!);
        continue;
      }
      const job = this.queue.shift()!;
      if (best.jobs.size === 0) best.worker.ref();
      best.jobs.set(job.id, job);
      if (!best.ready && this.claims) {
        job.claim = job.id % CLAIM_SLOTS;
        Atomics.store(this.claims, job.claim, 0);
      }
      try {
        best.worker.postMessage({ id: job.id, kind: job.kind, args: job.args, claim: job.claim }, job.transfer ?? []);
      } catch (e) {
        best.jobs.delete(job.id);
        if (best.jobs.size === 0) best.worker.unref();
        job.reject(new DmgkitError('INVALID_ARGUMENT', `cannot send task '${job.kind}' to a worker: ${(e as Error)?.message ?? e}`));
      }
    }
    if (this.queue.length === 0 && this.opts.callerRuns && !this.callerBusy && !this.closed) this.takeBack();
  }

  /** The calling thread, idle, takes back the oldest job sent to a starting worker that has not begun it yet. */
  private takeBack(): void {
    const claims = this.claims;
    if (!claims) return;
    let from: Slot | undefined;
    let oldest: Job | undefined;
    for (const s of this.slots) {
      for (const j of s.jobs.values()) {
        if (j.claim !== undefined && (!oldest || j.id < oldest.id)) {
          oldest = j;
          from = s;
        }
      }
    }
    if (!oldest || !from) return;
    const job = oldest;
    const slot = job.claim!;
    job.claim = undefined; // (tried once: if the worker has it, it runs it)
    if (Atomics.compareExchange(claims, slot, 0, 2) !== 0) return; // the worker began it
    from.jobs.delete(job.id);
    if (from.jobs.size === 0) from.worker.unref();
    this.runHere(job);
  }

  /** Threads started so far. */
  get started(): number {
    return this.slots.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = () => new DmgkitError('IO_ERROR', 'pool closed before the task finished', { pool: 'closed' });
    for (const job of this.queue.splice(0)) job.reject(err());
    const slots = this.slots.splice(0);
    for (const s of slots) {
      s.dead = true;
      for (const job of s.jobs.values()) job.reject(err());
      s.jobs.clear();
    }
    // A worker still starting up has nothing of ours (no job, no descriptor in use) but can take tens of ms to
    // reach a point where it stops: it is told to stop and no longer keeps the process alive, without waiting.
    const stopping: Promise<unknown>[] = [];
    for (const s of slots) {
      const t = s.worker.terminate().catch(() => undefined);
      if (s.ready) stopping.push(t);
      else s.worker.unref();
    }
    await Promise.all(stopping);
  }
}

/**
 * Most threads a NativeFirstPool (./native.ts) is used for: native jobs share libuv's thread pool with file reads
 * and writes, and its size is fixed when Node starts (UV_THREADPOOL_SIZE, default 4; measured: setting it from a
 * running ES module does not change it), so one of its threads is left for I/O. More threads: worker pools.
 */
export const NATIVE_MAX_THREADS = Math.max(1, (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 1);

/** A pool of `threads` workers, or the inline pool for threads <= 1. */
export function createPool(threads: number, opts: PoolOptions = {}): TaskPool {
  return threads > 1 ? new WorkerPool(Math.floor(threads), opts) : new InlinePool(opts);
}
