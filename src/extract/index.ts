/** Extraction of HFS+ volumes to a local directory (Node only: node:fs is loaded lazily inside extractVolume). */
export { extractVolume } from './extract.js';
export type { ExtractOptions, ExtractResult, ExtractSkip } from './extract.js';
export { buildAppleDouble, parseAppleDouble } from './appledouble.js';
export type { AppleDoubleContent } from './appledouble.js';
