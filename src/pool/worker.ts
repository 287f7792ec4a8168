/** Worker-thread side of the Node pool: runs registered tasks for the pool that started it. */
import { parentPort, workerData } from 'node:worker_threads';
import { hasTask, runTaskHere, toWireError } from './registry.js';

interface Job {
  id: number;
  kind: string;
  args: unknown;
  /** Its slot in `claims` (set for a job sent while this thread was starting). */
  claim?: number;
}

const port = parentPort!;
const data = workerData as { modules?: string[]; claims?: SharedArrayBuffer } | undefined;
const modules: string[] = data?.modules ?? [];
/** The pool's claims: a job sent while this thread was starting runs here only if the pool has not taken it back. */
const claims = data?.claims ? new Int32Array(data.claims) : null;
const ready = Promise.all(modules.map((m) => import(m)));
let failedLoad: unknown = null;
ready.catch((e) => {
  failedLoad = e;
});
// Tell the pool when this thread can take jobs without delay: until then it sends its jobs elsewhere (the calling
// thread with callerRuns), so a worker's start-up never holds up the jobs queued behind it.
void ready.then(
  () => port.postMessage({ ready: true }),
  () => port.postMessage({ ready: true }),
);

/** The last job received has ended (a claimed job waits for the ones before it: see below). */
let previous: Promise<void> = Promise.resolve();

async function handle(job: Job, after: Promise<void> | null): Promise<void> {
  try {
    await ready;
    // The built-in tasks (all codecs and encoders) load only when asked for: a decode pipeline's workers need
    // only the module that registers its own task, and start faster without the encoders.
    if (!hasTask(job.kind)) await import('./tasks.js');
    if (job.claim !== undefined && claims) {
      // Sent while this thread was starting: it is claimed only when this thread is about to run it (after the
      // jobs before it), and skipped if the pool's calling thread took it back first (it expects no answer then).
      await after;
      if (Atomics.compareExchange(claims, job.claim, 0, 1) !== 0) return;
    }
    const { value, buffers } = await runTaskHere(job.kind, job.args);
    port.postMessage({ id: job.id, ok: true, value }, buffers);
  } catch (e) {
    port.postMessage({ id: job.id, ok: false, error: toWireError(failedLoad ?? e, 'CORRUPT_CHUNK') });
  }
}

port.on('message', (job: Job) => {
  previous = handle(job, job.claim !== undefined ? previous : null);
});
