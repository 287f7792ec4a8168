/**
 * The registry of task kinds a pool can run (browser-safe: no Node imports). A task is a function of one
 * structured-cloneable argument; it runs inside a worker thread (or inline on the calling thread for a pool of
 * one) and returns a structured-cloneable result, optionally with buffers to transfer instead of copy.
 */
import { DmgkitError, type ErrorCode } from '../errors.js';

export type TaskFn<A = any, R = any> = (args: A) => R | Transfer<R> | Promise<R | Transfer<R>>;

interface TaskEntry {
  fn: TaskFn;
  /** Code for a failure that is not already a DmgkitError (e.g. a RangeError inside a decoder on hostile bytes). */
  fallbackCode: ErrorCode;
}

const tasks = new Map<string, TaskEntry>();

/** Registers a task kind (call at module top level in a module the workers load, see PoolOptions.modules). */
export function registerTask<A, R>(kind: string, fn: TaskFn<A, R>, opts: { fallbackCode?: ErrorCode } = {}): void {
  tasks.set(kind, { fn, fallbackCode: opts.fallbackCode ?? 'CORRUPT_CHUNK' });
}

export function hasTask(kind: string): boolean {
  return tasks.has(kind);
}

/** A task result whose listed buffers are moved to the caller instead of copied. */
export class Transfer<R> {
  constructor(
    readonly value: R,
    readonly buffers: ArrayBuffer[],
  ) {}
}

/**
 * A view the caller may transfer: node:Buffer's small allocations share one 8 KiB slab that must never be moved,
 * so views on small buffers are copied into their own (cheap); larger buffers are always their own allocation.
 */
export function movable(u8: Uint8Array): Uint8Array {
  return u8.buffer.byteLength <= 8192 && u8.byteLength !== u8.buffer.byteLength ? u8.slice() : u8;
}

/** Wraps a result so `buffers` are transferred (not copied) back to the caller. Shared buffers are never listed. */
export function transfer<R>(value: R, buffers: (ArrayBufferLike | undefined)[]): Transfer<R> {
  const list: ArrayBuffer[] = [];
  for (const b of buffers) {
    if (b && !(typeof SharedArrayBuffer !== 'undefined' && b instanceof SharedArrayBuffer) && !list.includes(b as ArrayBuffer)) {
      list.push(b as ArrayBuffer);
    }
  }
  return new Transfer(value, list);
}

/** A failure as it crosses the thread boundary. */
export interface WireError {
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
}

export function toWireError(e: unknown, fallback: ErrorCode): WireError {
  if (e instanceof DmgkitError) return { code: e.code, message: e.message, details: { ...e.details } };
  const err = e as NodeJS.ErrnoException | undefined;
  const errno = typeof err?.code === 'string' && /^E[A-Z]+$/.test(err.code) ? err.code : undefined;
  return {
    code: errno ? 'IO_ERROR' : fallback,
    message: err?.message ?? String(e),
    details: errno ? { errno } : {},
  };
}

export function fromWireError(w: WireError): DmgkitError {
  return new DmgkitError(w.code, w.message, w.details);
}

/** Runs a registered task on the calling thread. Resolves to the result and the buffers it asks to transfer. */
export async function runTaskHere(kind: string, args: unknown): Promise<{ value: unknown; buffers: ArrayBuffer[] }> {
  const t = tasks.get(kind);
  if (!t) throw new DmgkitError('UNSUPPORTED', `no pool task '${kind}' is registered (load its module with PoolOptions.modules)`);
  let r: unknown;
  try {
    r = await t.fn(args);
  } catch (e) {
    throw fromWireError(toWireError(e, t.fallbackCode));
  }
  return r instanceof Transfer ? { value: r.value, buffers: r.buffers } : { value: r, buffers: [] };
}
