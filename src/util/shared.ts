/**
 * Bytes for another thread without a transfer. A transfer (postMessage with a transfer list) detaches the sender's
 * ArrayBuffer, and the first detach in a thread invalidates V8's array-buffer-detaching protector: from then on
 * every typed-array access of that thread's optimised code checks for a detached buffer (measured: LZFSE encoder
 * +20-25 % CPU, bzip2 +13-15 %, XZ decoder +24 % instructions; docs/architecture.md). Shared memory crosses
 * threads without a copy; a plain buffer is cloned.
 */

/** Whether `u` is a view of shared memory. */
export function isShared(u: Uint8Array): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && u.buffer instanceof SharedArrayBuffer;
}

/**
 * `u` as a structured clone should get it: a view is cloned with all of its buffer, so a view of part of a plain
 * buffer is copied into one of its own size first; shared memory and whole buffers go as they are.
 */
export function forClone(u: Uint8Array): Uint8Array {
  return isShared(u) || (u.byteOffset === 0 && u.byteLength === u.buffer.byteLength) ? u : u.slice();
}

/**
 * `u` itself when it is shared, else a copy in shared memory (where there is none, in a plain buffer of its own
 * size: a view is cloned with all of its buffer).
 */
export function toShared(u: Uint8Array): Uint8Array {
  if (isShared(u)) return u;
  if (typeof SharedArrayBuffer === 'undefined') return forClone(u);
  const s = new Uint8Array(new SharedArrayBuffer(u.length));
  s.set(u);
  return s;
}
