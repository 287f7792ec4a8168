/**
 * A byte stream (a Node Readable such as stdin, a web ReadableStream, any async iterable of bytes) as the
 * SequentialInput the UDIF writer reads in order: it hands out exactly the lengths asked for, holding at most one
 * request plus one incoming piece.
 */
import type { SequentialInput } from '../udif/write/udif.js';

export type ByteStream = AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

export function isByteStream(x: unknown): x is ByteStream {
  if (typeof x !== 'object' || x === null || x instanceof Uint8Array || ArrayBuffer.isView(x)) return false;
  if (typeof (x as { read?: unknown }).read === 'function' && typeof (x as { size?: unknown }).size === 'number') return false; // a ByteSource
  if (typeof Blob !== 'undefined' && x instanceof Blob) return false;
  return Symbol.asyncIterator in x || (typeof ReadableStream !== 'undefined' && x instanceof ReadableStream);
}

function iteratorOf(s: ByteStream): AsyncIterator<Uint8Array> {
  if (Symbol.asyncIterator in s) return (s as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  const reader = (s as ReadableStream<Uint8Array>).getReader();
  return {
    next: async () => {
      const r = await reader.read();
      return r.done ? { done: true, value: undefined } : { done: false, value: r.value };
    },
    return: async () => {
      await reader.cancel();
      return { done: true, value: undefined };
    },
  };
}

export function sequentialFrom(stream: ByteStream): SequentialInput & { close(): Promise<void> } {
  const it = iteratorOf(stream);
  let held: Uint8Array | null = null;
  let ended = false;
  return {
    async next(length: number): Promise<Uint8Array> {
      const out = new Uint8Array(length);
      let n = 0;
      while (n < length) {
        if (!held || held.length === 0) {
          if (ended) break;
          const r = await it.next();
          if (r.done) {
            ended = true;
            break;
          }
          held = r.value instanceof Uint8Array ? r.value : new Uint8Array(r.value as ArrayBuffer);
          continue;
        }
        const k = Math.min(length - n, held.length);
        out.set(held.subarray(0, k), n);
        held = held.subarray(k);
        n += k;
      }
      return n === length ? out : out.subarray(0, n);
    },
    async close() {
      if (!ended) await it.return?.();
    },
  };
}
