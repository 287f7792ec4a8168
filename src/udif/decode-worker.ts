/** Worker-thread side of the decode pool: decodes chunks with the same registry as the main thread. */
import { parentPort } from 'node:worker_threads';
import { DmgkitError } from '../errors.js';
import { decodeSync } from './decode.js';

interface Job {
  id: number;
  type: number;
  input: Uint8Array;
  outLength: number;
}

parentPort!.on('message', (job: Job) => {
  try {
    const out = decodeSync(job.type, job.input, job.outLength);
    parentPort!.postMessage({ id: job.id, output: out }, [out.buffer as ArrayBuffer]);
  } catch (e) {
    const err = e instanceof DmgkitError ? e : null;
    parentPort!.postMessage({
      id: job.id,
      error: { code: err?.code ?? 'CORRUPT_CHUNK', message: (e as Error)?.message ?? String(e), details: err?.details ?? {} },
    });
  }
});
