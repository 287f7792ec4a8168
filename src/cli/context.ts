import type { Writable } from 'node:stream';
import { DmgkitError } from '../errors.js';
import { errnoWords } from '../io/errno.js';

export interface CliIO {
  out: Writable & { isTTY?: boolean };
  err: Writable & { isTTY?: boolean };
}

const names = new WeakMap<object, string>();

/** Names a stream in write errors ("cannot write standard output: ..."). */
export function nameStream(stream: object, name: string): void {
  names.set(stream, name);
}

function writeError(stream: Writable, e: unknown): DmgkitError {
  const err = e as NodeJS.ErrnoException;
  const code = err?.code === 'ERR_STREAM_DESTROYED' || err?.code === 'ERR_STREAM_WRITE_AFTER_END' ? 'EPIPE' : err?.code;
  return new DmgkitError('IO_ERROR', `cannot write ${names.get(stream) ?? 'the output'}: ${code ? errnoWords(code) : (err?.message ?? String(e))}`, { errno: code }, { cause: e });
}

/**
 * Writes to a stream, waiting for drain when it asks for backpressure. Rejects with an IO_ERROR naming the stream
 * when the write fails or the stream closes first (a reader gone away: EPIPE), so a short output is never a success.
 */
export function write(stream: Writable, chunk: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed || stream.writableEnded) {
      const e = Object.assign(new Error('stream closed'), { code: (stream.errored as NodeJS.ErrnoException | null)?.code ?? 'EPIPE' });
      reject(writeError(stream, e));
      return;
    }
    let settled = false;
    const done = (e?: unknown) => {
      if (settled) return;
      settled = true;
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (e) reject(writeError(stream, e));
      else resolve();
    };
    const onDrain = () => done();
    const onError = (e: unknown) => done(e ?? new Error('write failed'));
    const onClose = () => done(Object.assign(new Error('stream closed'), { code: 'EPIPE' }));
    const ok = stream.write(chunk, (e) => {
      if (e) done(e);
    });
    if (ok) done();
    else if (!settled) {
      stream.on('drain', onDrain);
      stream.on('error', onError);
      stream.on('close', onClose);
    }
  });
}

/**
 * Ordered writes of many small pieces to a stream, gathered into blocks of `blockBytes`: one fresh block (handed
 * over, never reused: the stream may keep it) per `blockBytes` instead of a copy, a promise and the stream's
 * bookkeeping per piece (a table of 300,000 one-sector chunks wrote 300,000 copies). `flush` writes the rest.
 */
export function gatheringWriter(stream: Writable, blockBytes = 1 << 20): { write: (b: Uint8Array) => Promise<void>; flush: () => Promise<void> } {
  let block: Uint8Array | null = null;
  let used = 0;
  const flush = async () => {
    if (!block || !used) return;
    const full = used === block.length ? block : block.subarray(0, used);
    block = null;
    used = 0;
    await write(stream, full);
  };
  return {
    flush,
    async write(b) {
      if (b.length >= blockBytes) {
        await flush();
        await write(stream, b.slice());
        return;
      }
      if (block && used + b.length > block.length) await flush();
      block ??= new Uint8Array(blockBytes);
      block.set(b, used);
      used += b.length;
    },
  };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** Renders rows as an aligned text table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd())
    .join('\n');
}
