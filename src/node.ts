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
