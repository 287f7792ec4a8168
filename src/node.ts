/**
 * dmgkit's Node entry (`import … from 'dmgkit'` in Node, through package.json's `node` condition, or
 * `'dmgkit/node'` anywhere): the browser-safe API of ./index.ts, where paths and directories open too, plus the
 * pieces that need Node: local files, sparse bundle directories, extraction to disk and the worker-thread pool.
 */
export * from './index.js';

export { FileSource } from './io/file-source.js';
export { openSparseBundle } from './container/sparsebundle.js';
export type { SparseBundle, SparseBundleOptions, SparseBundleInfo } from './container/sparsebundle.js';
export { extractVolume } from './extract/extract.js';
export type { ExtractOptions, ExtractResult, ExtractSkip } from './extract/extract.js';
export { WorkerPoolExecutor } from './udif/worker-pool.js';

// blockdev + nbd: any image as a block device with a shadow, served over NBD (loaded on first use)
export type { BlockDevice, Extent as BlockExtent, WriteOptions as BlockWriteOptions } from './blockdev/types.js';
export type { OpenBlockDeviceOptions, ShadowDevice } from './blockdev/device.js';
export type { NbdServer, ServeNbdOptions } from './nbd/server.js';
/** Opens any image as a block device; with `{ shadow }` writes go to a crash-safe shadow file. */
export async function openBlockDevice(
  ...args: Parameters<typeof import('./blockdev/device.js').openBlockDevice>
): ReturnType<typeof import('./blockdev/device.js').openBlockDevice> {
  return (await import('./blockdev/device.js')).openBlockDevice(...args);
}
/** Serves a block device over NBD (loopback port 10809 unless told otherwise). */
export async function serveNbd(
  ...args: Parameters<typeof import('./nbd/server.js').serveNbd>
): ReturnType<typeof import('./nbd/server.js').serveNbd> {
  return (await import('./nbd/server.js')).serveNbd(...args);
}

// Decoding into files and streams on worker threads (see udif/to-file.ts)
export type { ToFileOptions } from './udif/to-file.js';
type ToFile = typeof import('./udif/to-file.js');
/** Decodes an image range into an open file / descriptor on as many threads as pay off (Node; see udif/to-file.ts). */
export const decodeToFile = async (...a: Parameters<ToFile['decodeToFile']>): Promise<void> => (await import('./udif/to-file.js')).decodeToFile(...a);
/** Decodes an image range in order to a writer (Node; see udif/to-file.ts). */
export const decodeToStream = async (...a: Parameters<ToFile['decodeToStream']>): Promise<void> => (await import('./udif/to-file.js')).decodeToStream(...a);
/** A worker pool for decodeRange / verifyImage: `threads` threads, the calling thread one of them (Node). */
export const decodePool = async (threads: number): Promise<import('./pool/pool.js').TaskPool> => (await import('./udif/to-file.js')).decodePool(threads);
/** Threads worth starting for a range of an image, at most `max` (1 when the work is small). */
export const threadsFor = async (...a: Parameters<ToFile['threadsFor']>): Promise<number> => (await import('./udif/to-file.js')).threadsFor(...a);

// write: an image to a path (safe output, temporary name, sparse bundle folders)
/** Writes an image to a path (safe output, temporary name, sparse bundle folders). */
export async function writeImageFile(
  ...args: Parameters<typeof import('./write/node.js').writeImageFile>
): ReturnType<typeof import('./write/node.js').writeImageFile> {
  return (await import('./write/node.js')).writeImageFile(...args);
}
