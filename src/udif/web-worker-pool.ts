import { DmgkitError, type ErrorCode } from '../errors.js';
import type { DecodeExecutor } from './decode.js';
import type { TaskPool } from '../pool/pool.js';
import { fromWireError, type WireError } from '../pool/registry.js';

interface Pending {
  resolve: (b: any) => void;
  reject: (e: unknown) => void;
  worker: number;
}

/**
 * Decodes chunks on a pool of web workers (browsers): the counterpart of the Node WorkerPoolExecutor. `workerUrl`
 * is the bundled src/udif/web-decode-worker.ts (an ES module worker). Pass it as `executor` with `threads` > 1
 * (reads and streams decode there); it is also a TaskPool (src/pool), so the decode pipeline (verifyImage's
 * `pool`, openImage's verify) runs its chunk batches on the same workers. Whoever creates the pool closes it.
 */
export class WebWorkerPoolExecutor implements DecodeExecutor, TaskPool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Chunks decoded by the workers so far. */
  decoded = 0;

  constructor(workerUrl: string | URL, readonly threads: number) {
    if (typeof Worker !== 'function') throw new DmgkitError('UNSUPPORTED', 'web workers are not available here');
    for (let i = 0; i < threads; i++) {
      const w = new Worker(workerUrl, { type: 'module', name: `dmgkit-decoder-${i}` });
      w.onmessage = (ev: MessageEvent<{ id: number; output?: Uint8Array; value?: unknown; chunks?: number; error?: { code: ErrorCode; message: string; details: Record<string, unknown> } }>) => {
        const m = ev.data;
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        this.load[p.worker]!--;
        if (m.error) p.reject(fromWireError(m.error as WireError));
        else {
          this.decoded += m.chunks ?? 1;
          p.resolve('value' in m ? m.value : m.output!);
        }
      };
      w.onerror = (ev) => {
        for (const [id, p] of this.pending) {
          if (p.worker === i) {
            this.pending.delete(id);
            p.reject(new DmgkitError('CORRUPT_CHUNK', `decoder worker failed: ${ev.message || 'error'}`));
          }
        }
      };
      this.workers.push(w);
      this.load.push(0);
    }
  }

  decode(type: number, input: Uint8Array, outLength: number): Promise<Uint8Array> {
    if (this.workers.length === 0) return Promise.reject(new DmgkitError('INVALID_ARGUMENT', 'the decoder pool is closed'));
    let wi = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.load[i]! < this.load[wi]!) wi = i;
    const id = this.nextId++;
    const owned = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength ? input : input.slice();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: wi });
      this.load[wi]!++;
      this.workers[wi]!.postMessage({ id, type, input: owned, outLength }, [owned.buffer as ArrayBuffer]);
    });
  }

  /** Runs a registered pool task (src/pool/registry.ts) on the least loaded worker (the TaskPool interface). */
  run<R = unknown>(kind: string, args: unknown, transfer: ArrayBuffer[] = []): Promise<R> {
    const wi = this.pick();
    if (wi < 0) return Promise.reject(new DmgkitError('IO_ERROR', `pool is closed (task '${kind}')`, { pool: 'closed' }));
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: wi });
      this.load[wi]!++;
      this.workers[wi]!.postMessage({ id, kind, args }, transfer);
    });
  }

  private pick(): number {
    if (this.workers.length === 0) return -1;
    let wi = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.load[i]! < this.load[wi]!) wi = i;
    return wi;
  }

  async close(): Promise<void> {
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
    for (const p of this.pending.values()) p.reject(new DmgkitError('INVALID_ARGUMENT', 'the decoder pool was closed'));
    this.pending.clear();
  }
}
