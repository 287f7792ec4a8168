import type { DecodeExecutor } from './decode.js';
import { WorkerPool } from '../pool/node.js';
import type { DecodeResult } from '../pool/tasks.js';
import { toShared } from '../util/shared.js';

/**
 * A DecodeExecutor on the shared worker pool (src/pool), zlib included (inflateSync in a worker measured ~13%
 * faster than node:zlib's asynchronous inflate on the libuv pool for 1 MiB chunks: no stream set up per chunk).
 * The caller's decode-ahead window bounds how many chunks are in flight. close() terminates the workers.
 * Decoded chunks are views of SharedArrayBuffers.
 */
export class WorkerPoolExecutor implements DecodeExecutor {
  readonly pool: WorkerPool;
  constructor(readonly threads: number) {
    this.pool = new WorkerPool(threads);
  }

  async decode(type: number, input: Uint8Array, outLength: number): Promise<Uint8Array> {
    // Input and output in shared memory, nothing transferred: a transfer detaches the sender's buffer, and one
    // detached buffer slows every typed-array access of its thread from then on (docs/architecture.md), here the
    // decoders' in the workers and the file-system code on this thread. A chunk's input is copied once.
    const output = new Uint8Array(new SharedArrayBuffer(outLength));
    await this.pool.run<DecodeResult>('decode', { type, input: toShared(input), outLength, output });
    return output;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
