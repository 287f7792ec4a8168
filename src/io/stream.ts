import type { NodeReadableLike } from './stream-types.js';
import { toNodeReadable as platformReadable } from '#platform';

export type { NodeReadableLike } from './stream-types.js';

/** Turns an async iterator of byte pieces into a Node Readable with backpressure (pull-driven). Node only. */
export function toNodeReadable(it: AsyncIterable<Uint8Array>): NodeReadableLike {
  return platformReadable(it);
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
