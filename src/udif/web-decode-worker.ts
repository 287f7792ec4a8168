/**
 * Web-worker side of WebWorkerPoolExecutor (browsers): decodes chunks with every codec. Bundle it as its own
 * entry (web/build.mjs does: web/dist/decode-worker.js) and give its URL to the pool.
 */
import { DmgkitError } from '../errors.js';
import { decodeSync } from './decode.js';
import { registerChunkCodec } from './chunk-codecs.js';
import { ALL_CHUNK_CODECS } from './all-codecs.js';
import { runTaskHere, toWireError } from '../pool/registry.js';
import '../pool/tasks.js'; // the built-in pool tasks
import './batch-task.js'; // the decode pipeline's 'udif.batch' (verifyImage, decodeRange)

/** A chunk to decode (DecodeExecutor), or a pool task (TaskPool.run). */
type Job = { id: number; type: number; input: Uint8Array; outLength: number } | { id: number; kind: string; args: unknown };

for (const [type, codec] of ALL_CHUNK_CODECS) registerChunkCodec(type, codec);

const scope = globalThis as unknown as { onmessage: ((ev: MessageEvent<Job>) => void) | null; postMessage(m: unknown, transfer?: Transferable[]): void };
scope.onmessage = (ev) => {
  const job = ev.data;
  if ('kind' in job) {
    runTaskHere(job.kind, job.args).then(
      ({ value, buffers }) => {
        const chunks = job.kind === 'udif.batch' ? ((value as { crcs?: unknown[] })?.crcs?.length ?? 1) : 1;
        scope.postMessage({ id: job.id, value, chunks }, buffers);
      },
      (e) => scope.postMessage({ id: job.id, error: toWireError(e, 'CORRUPT_CHUNK') }),
    );
    return;
  }
  try {
    let out = decodeSync(job.type, job.input, job.outLength);
    if (out.byteOffset !== 0 || out.byteLength !== out.buffer.byteLength) out = out.slice();
    scope.postMessage({ id: job.id, output: out }, [out.buffer as ArrayBuffer]);
  } catch (e) {
    const err = e instanceof DmgkitError ? e : null;
    scope.postMessage({ id: job.id, error: { code: err?.code ?? 'CORRUPT_CHUNK', message: (e as Error)?.message ?? String(e), details: err?.details ?? {} } });
  }
};
