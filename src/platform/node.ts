/**
 * What dmgkit needs from its host, Node's version. The core imports `#platform`, which package.json's `imports`
 * maps by export condition: `node` → this file, anything else (browsers, bundlers) → ./web.ts. No runtime
 * sniffing and no top-level await: a browser bundle never sees a `node:` module.
 */
import * as zlib from 'node:zlib';
import { Readable } from 'node:stream';
import { stat } from 'node:fs/promises';
import { readSync, writeSync } from 'node:fs';
import type { ByteSource } from '../io/source.js';
import type { NodeReadableLike } from '../io/stream-types.js';
import type { EncodeWork } from '../udif/write/encode-pool.js';
import type { TaskPool } from '../pool/pool.js';
import * as lanes from './zlib-lanes.js';

export const platform = 'node';

/** node:zlib (exact-size inflate, ~1.5× pako, and its own thread pool). */
export const zlibNode: typeof zlib | null = zlib;

/** node:zlib driven through reused stream handles into the caller's buffers (./zlib-lanes.ts). */
export const zlibLanes: typeof import('./zlib-lanes.js') | null = lanes;

/** No pako in Node (node:zlib does its work; loading it would only cost start-up). */
export const PakoInflate: typeof import('pako').Inflate | null = null;

/** CRC-32 in C (node:zlib's, Node >= 20.15; null before): `crc32Native(data, previous)`. */
export const crc32Native: ((data: Uint8Array, previous?: number) => number) | null = typeof zlib.crc32 === 'function' ? zlib.crc32 : null;

/** Positional synchronous reads and writes on file descriptors (the decode pipeline's worker tasks). */
export const fsSync: { readSync: typeof readSync; writeSync: typeof writeSync } | null = { readSync, writeSync };

/** A Node Readable with backpressure (pull-driven) over an async iterator of byte pieces. */
export function toNodeReadable(it: AsyncIterable<Uint8Array>): NodeReadableLike {
  return Readable.from(it, { objectMode: false, highWaterMark: 4 * 1024 * 1024 });
}

/** Opens a local file path. */
export async function openPath(path: string): Promise<ByteSource> {
  // Loaded on use (like the bundle reader below): worker threads import this module for zlib and fs only.
  const { FileSource } = await import('../io/file-source.js');
  return FileSource.open(path);
}

/** The path when `input` names a local directory (a sparse bundle), else null. */
export async function directoryPath(input: unknown): Promise<string | null> {
  if (typeof input !== 'string' || /^https?:\/\//i.test(input)) return null;
  try {
    return (await stat(input)).isDirectory() ? input : null;
  } catch {
    return null;
  }
}

/** Opens a sparse bundle directory. */
export async function openBundleDirectory(dir: string): Promise<ByteSource & { close(): Promise<void>; readonly warnings: readonly string[] }> {
  const { openSparseBundle } = await import('../container/sparsebundle.js');
  return openSparseBundle(dir);
}

/**
 * A pool of up to `threads` threads that encode cells for the image writer (src/udif/write/encode-pool.ts: fewer
 * when `work` is too little to pay for a worker); whoever asks closes it.
 */
export async function createEncodePool(threads: number, work?: EncodeWork): Promise<TaskPool | undefined> {
  const { encodePool } = await import('../udif/write/encode-pool.js');
  return encodePool(threads, work);
}

/** A pool of `threads` worker threads (src/pool/node.ts, loaded on first use); whoever asks closes it. */
export async function createThreadPool(threads: number): Promise<TaskPool | undefined> {
  const { createPool } = await import('../pool/node.js');
  return createPool(threads);
}
