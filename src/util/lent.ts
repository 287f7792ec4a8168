/**
 * Buffers lent out with a way back: a producer that hands out a view of a buffer it would like to reuse (a
 * compressor's output buffer) registers it with `lend`; the consumer, once done with the bytes (written them),
 * calls `giveBack`, which returns the buffer to its producer. Views of anything else are ignored, and a buffer
 * never given back is simply collected. Browser-safe, no dependencies.
 */
const owners = new WeakMap<ArrayBufferLike, (whole: Uint8Array) => void>();

/** Registers `view`'s buffer as lent; `back` gets the whole buffer when it is given back. Returns `view`. */
export function lend(view: Uint8Array, back: (whole: Uint8Array) => void): Uint8Array {
  owners.set(view.buffer, back);
  return view;
}

/** Gives the buffer under `view` back to the producer that lent it (no-op for any other array). */
export function giveBack(view: Uint8Array): void {
  const back = owners.get(view.buffer);
  if (!back) return;
  owners.delete(view.buffer);
  back(new Uint8Array(view.buffer));
}
