import { DmgkitError, type ErrorCode } from '../errors.js';
import type { DecodeExecutor } from './decode.js';

interface Pending {
  resolve: (b: Uint8Array) => void;
  reject: (e: unknown) => void;
  worker: number;
}

/**
 * Decodes chunks on a pool of web workers (browsers): the counterpart of the Node WorkerPoolExecutor. `workerUrl`
 * is the bundled src/udif/web-decode-worker.ts (an ES module worker). Pass it as `executor` with `threads` > 1;
 * whoever creates the pool closes it (`close()` terminates the workers; UdifImage.close() closes the executor it
 * was given).
 */
export class WebWorkerPoolExecutor implements DecodeExecutor {
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
      w.onmessage = (ev: MessageEvent<{ id: number; output?: Uint8Array; error?: { code: ErrorCode; message: string; details: Record<string, unknown> } }>) => {
        const m = ev.data;
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        this.load[p.worker]!--;
        if (m.error) p.reject(new DmgkitError(m.error.code, m.error.message, m.error.details));
        else {
          this.decoded++;
          p.resolve(m.output!);
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

  async close(): Promise<void> {
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
    for (const p of this.pending.values()) p.reject(new DmgkitError('INVALID_ARGUMENT', 'the decoder pool was closed'));
    this.pending.clear();
  }
}
