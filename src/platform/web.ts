/**
 * What dmgkit needs from its host, the browser's (and any non-Node bundler target's) version: see ./node.ts.
 * No `node:` module here; local paths and directories do not exist in a browser.
 */
import { DmgkitError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import type { NodeReadableLike } from '../io/stream-types.js';
import type { TaskPool } from '../pool/pool.js';

export const platform = 'web';

/** No node:zlib: src/codecs/zlib.ts uses DecompressionStream (async) and pako (sync). */
export const zlibNode = null;

/** No node:zlib stream handles to drive (see ./zlib-lanes.ts). */
export const zlibLanes = null;

/** pako's inflater, for synchronous zlib decoding where node:zlib is missing (Node never loads pako). */
export { Inflate as PakoInflate } from 'pako';

/** No native CRC-32 here: src/util/crc32.ts's table. */
export const crc32Native = null;

/** No file descriptors here: the decode pipeline hands bytes over and uses slots. */
export const fsSync = null;

export function toNodeReadable(_it: AsyncIterable<Uint8Array>): NodeReadableLike {
  throw new DmgkitError('UNSUPPORTED', 'Node streams are not available here; use the web stream (stream())');
}

export function openPath(path: string): Promise<ByteSource> {
  return Promise.reject(
    new DmgkitError('UNSUPPORTED', `cannot open the local path ${path} here: pass a File/Blob, bytes, an http(s) URL or a ByteSource`, { path }),
  );
}

export async function directoryPath(_input: unknown): Promise<string | null> {
  return null;
}

export function openBundleDirectory(dir: string): Promise<ByteSource & { close(): Promise<void>; readonly warnings: readonly string[] }> {
  return Promise.reject(new DmgkitError('UNSUPPORTED', `sparse bundle directories (${dir}) can only be opened in Node`, { path: dir }));
}

/** No worker threads here (a page can pass its own pool, e.g. WebWorkerPoolExecutor): callers fall back to inline. */
export async function createThreadPool(_threads: number): Promise<TaskPool | undefined> {
  return undefined;
}

/** No worker threads here: the writer encodes inline (or on a pool its caller passes). */
export async function createEncodePool(_threads: number, _work?: unknown): Promise<TaskPool | undefined> {
  return undefined;
}
