import { DmgkitError } from '../errors.js';
import type { Codec } from '../codecs/types.js';
import { CHUNK_ZLIB, CHUNK_KENCODE, CHUNK_RLE, CHUNK_LZH, CHUNK_ADC, CHUNK_BZIP2, CHUNK_LZFSE, CHUNK_LZMA, chunkTypeName } from './chunk-types.js';

/** The registry of chunk decoders, keyed by UDIF chunk type. */
const registry = new Map<number, Codec>();

const OLD_TYPES: Record<number, string> = {
  [CHUNK_KENCODE]: 'KenCode (0x80000001)',
  [CHUNK_RLE]: 'RLE (0x80000002)',
  [CHUNK_LZH]: 'LZH (0x80000003)',
};

export function registerChunkCodec(type: number, codec: Codec): void {
  registry.set(type, codec);
}

export function codecFor(type: number): Codec | undefined {
  return registry.get(type);
}

export function isCompressedType(type: number): boolean {
  return (type & 0x80000000) !== 0 && type !== 0xffffffff;
}

/** The codec for a compressed chunk type, or an UNSUPPORTED_CODEC error naming it. */
export function requireCodec(type: number, where: string): Codec {
  const c = registry.get(type);
  if (c) return c;
  const old = OLD_TYPES[type];
  const what = old ? `the old ${old} compression` : `chunk type ${chunkTypeName(type)}`;
  throw new DmgkitError('UNSUPPORTED_CODEC', `${where}: ${what} is not supported`, { chunkType: type });
}

export const KNOWN_COMPRESSED = [CHUNK_ADC, CHUNK_ZLIB, CHUNK_BZIP2, CHUNK_LZFSE, CHUNK_LZMA];
