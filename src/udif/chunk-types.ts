/** UDIF block-table chunk ("run") types. */
export const CHUNK_ZERO = 0x00000000;
export const CHUNK_RAW = 0x00000001;
export const CHUNK_IGNORE = 0x00000002;
export const CHUNK_KENCODE = 0x80000001;
export const CHUNK_RLE = 0x80000002;
export const CHUNK_LZH = 0x80000003;
export const CHUNK_ADC = 0x80000004;
export const CHUNK_ZLIB = 0x80000005;
export const CHUNK_BZIP2 = 0x80000006;
export const CHUNK_LZFSE = 0x80000007;
export const CHUNK_LZMA = 0x80000008;
export const CHUNK_COMMENT = 0x7ffffffe;
export const CHUNK_TERMINATOR = 0xffffffff;

export const CHUNK_TYPE_NAMES: Record<number, string> = {
  [CHUNK_ZERO]: 'zero',
  [CHUNK_RAW]: 'raw',
  [CHUNK_IGNORE]: 'ignore',
  [CHUNK_KENCODE]: 'kencode',
  [CHUNK_RLE]: 'rle',
  [CHUNK_LZH]: 'lzh',
  [CHUNK_ADC]: 'adc',
  [CHUNK_ZLIB]: 'zlib',
  [CHUNK_BZIP2]: 'bzip2',
  [CHUNK_LZFSE]: 'lzfse',
  [CHUNK_LZMA]: 'lzma',
  [CHUNK_COMMENT]: 'comment',
  [CHUNK_TERMINATOR]: 'terminator',
};

export function chunkTypeName(type: number): string {
  return CHUNK_TYPE_NAMES[type] ?? `0x${type.toString(16).padStart(8, '0')}`;
}

/** Chunk types that carry no data and occupy no sectors in the output. */
export function isMarker(type: number): boolean {
  return type === CHUNK_COMMENT || type === CHUNK_TERMINATOR;
}

/** Chunk types whose sectors read as zeros without input bytes. */
export function isZeroFill(type: number): boolean {
  return type === CHUNK_ZERO || type === CHUNK_IGNORE;
}
