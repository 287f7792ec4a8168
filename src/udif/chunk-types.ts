/** UDIF block-table chunk ("run") types. The compressed ones (and their names) come from the codec table. */
import { CODECS, codecEntry } from '../codecs/table.js';

export { CHUNK_KENCODE, CHUNK_RLE, CHUNK_LZH, CHUNK_ADC, CHUNK_ZLIB, CHUNK_BZIP2, CHUNK_LZFSE, CHUNK_LZMA } from '../codecs/table.js';
export const CHUNK_ZERO = 0x00000000;
export const CHUNK_RAW = 0x00000001;
export const CHUNK_IGNORE = 0x00000002;
export const CHUNK_COMMENT = 0x7ffffffe;
export const CHUNK_TERMINATOR = 0xffffffff;

const STRUCTURAL: Record<number, string> = {
  [CHUNK_ZERO]: 'zero',
  [CHUNK_RAW]: 'raw',
  [CHUNK_IGNORE]: 'ignore',
  [CHUNK_COMMENT]: 'comment',
  [CHUNK_TERMINATOR]: 'terminator',
};

/** Names of every known chunk type (structural ones and those of the codec table). */
export const CHUNK_TYPE_NAMES: Record<number, string> = {
  ...STRUCTURAL,
  ...Object.fromEntries(CODECS.map((c) => [c.type, c.name])),
};

export function chunkTypeName(type: number): string {
  return STRUCTURAL[type] ?? codecEntry(type)?.name ?? `0x${type.toString(16).padStart(8, '0')}`;
}

/** Chunk types that carry no data and occupy no sectors in the output. */
export function isMarker(type: number): boolean {
  return type === CHUNK_COMMENT || type === CHUNK_TERMINATOR;
}

/** Chunk types whose sectors read as zeros without input bytes. */
export function isZeroFill(type: number): boolean {
  return type === CHUNK_ZERO || type === CHUNK_IGNORE;
}
