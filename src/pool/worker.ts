/** Worker-thread side of the Node pool: runs registered tasks for the pool that started it. */
import { parentPort, workerData } from 'node:worker_threads';
import { runTaskHere, toWireError } from './registry.js';
import './tasks.js';

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

port.on('message', async (job: Job) => {
  try {
    await ready;
    const { value, buffers } = await runTaskHere(job.kind, job.args);
    port.postMessage({ id: job.id, ok: true, value }, buffers);
  } catch (e) {
    port.postMessage({ id: job.id, ok: false, error: toWireError(failedLoad ?? e, 'CORRUPT_CHUNK') });
  }
});
