import type { Readable } from 'node:stream';
import { DmgkitError } from '../errors.js';

let NodeReadable: typeof Readable | null = null;
if (typeof process !== 'undefined' && process.versions?.node) {
  try {
    NodeReadable = (await import('node:stream')).Readable;
  } catch {
    NodeReadable = null;
  }
}

/** Turns an async iterator of byte pieces into a Node Readable with backpressure (pull-driven). Node only. */
export function toNodeReadable(it: AsyncIterable<Uint8Array>): Readable {
  if (!NodeReadable) throw new DmgkitError('UNSUPPORTED', 'Node streams are not available here; use the web stream');
  return NodeReadable.from(it, { objectMode: false, highWaterMark: 4 * 1024 * 1024 });
}

/** Turns an async iterator of byte pieces into a web ReadableStream (pull-driven). */
export function toWebStream(it: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iter = it[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await iter.next();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (e) {
        controller.error(e);
      }
    },
    async cancel() {
      await iter.return?.();
    },
  });
}
