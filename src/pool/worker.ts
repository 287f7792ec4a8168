/** Worker-thread side of the Node pool: runs registered tasks for the pool that started it. */
import { parentPort, workerData } from 'node:worker_threads';
import { hasTask, runTaskHere, toWireError } from './registry.js';

interface Job {
  id: number;
  kind: string;
  args: unknown;
}

const port = parentPort!;
const modules: string[] = (workerData as { modules?: string[] } | undefined)?.modules ?? [];
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

port.on('message', async (job: Job) => {
  try {
    await ready;
    // The built-in tasks (all codecs and encoders) load only when asked for: a decode pipeline's workers need
    // only the module that registers its own task, and start faster without the encoders.
    if (!hasTask(job.kind)) await import('./tasks.js');
    const { value, buffers } = await runTaskHere(job.kind, job.args);
    port.postMessage({ id: job.id, ok: true, value }, buffers);
  } catch (e) {
    port.postMessage({ id: job.id, ok: false, error: toWireError(failedLoad ?? e, 'CORRUPT_CHUNK') });
  }
});
