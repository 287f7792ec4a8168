/**
 * The one table of UDIF chunk codecs. Everything that needs a fact about a codec — the reader (decoder by chunk
 * type), the writer (encoder, default level and chunk size), `info` (format names), the bench — reads it here.
 *
 * Adding a codec is one entry: its chunk type, its short name, the hdiutil format that uses it, its decoder and
 * (if dmgkit can write it) its encoder. Nothing else in the code base lists codecs' facts.
 *
 * Bundle size (issue 14): this module imports no codec code, so a reader bundle holds only the decoders it asks
 * for. Each entry reaches its code through two lazy imports, `loadDecoder` and `loadEncoder`, which bundlers
 * split off. The reader gets decoders synchronously: `registerChunkCodec` (src/udif/all-codecs.ts registers every
 * decoder; `dmgkit/core` users pass theirs in `UdifImage.open`'s `codecs`) fills an entry's `decoder`. The writer
 * and the pool resolve an encoder once (`loadEncoder(entry)`) before encoding, which fills `encode`.
 *
 * Encoder contract (`ChunkEncode`): a pure, synchronous function from the decoded bytes of one chunk to a complete
 * stream of the codec (what hdiutil stores in the chunk), at a level in [minLevel, maxLevel]. It must not keep a
 * reference to `input` after it returns, must not modify it, and must be deterministic (same input and level →
 * same bytes, on every thread), because the writer encodes chunks on several threads and promises identical
 * output whatever the thread count. It may return a buffer larger than the input; the writer then stores the
 * chunk raw.
 */
import type { Codec } from './types.js';

/** Encodes one chunk's decoded bytes into one complete codec stream (see the module comment). */
export type ChunkEncode = (input: Uint8Array, level: number) => Uint8Array;

export interface CodecEntry {
  /** UDIF chunk type (block-table run type). */
  readonly type: number;
  /** Short name used in messages, `info` and the bench: 'zlib', 'bzip2', 'adc', 'lzfse', 'lzma'. */
  readonly name: string;
  /** How reports and the bench title it: 'zlib', 'ADC', 'bzip2', 'LZFSE', 'XZ'. */
  readonly title: string;
  /** The hdiutil format whose chunks use this codec (UDZO, …); absent for types no format uses any more. */
  readonly format?: string;
  /** Absent for the old types hdiutil no longer writes (KenCode, RLE, LZH): recognised, reported as unsupported. */
  /** The decoder, once registered (src/udif/all-codecs.ts, `codecs` of UdifImage.open, registerChunkCodec). */
  readonly decoder?: Codec;
  /** The encoder, once resolved by `loadEncoder(entry)` (the writer and the pool do that before encoding). */
  readonly encode?: ChunkEncode;
  /** Imports this codec's decoder (a lazy import: bundlers leave it out of bundles that never call it). */
  readonly loadDecoder?: () => Promise<Codec>;
  /** Imports this codec's encoder (a lazy import: reader bundles leave the encoders out). */
  readonly loadEncoder?: () => Promise<ChunkEncode>;
  /** Levels the encoder accepts (inclusive) and the one used by default; 0/0/0 when it has no levels. */
  readonly minLevel: number;
  readonly maxLevel: number;
  readonly defaultLevel: number;
  /** Sectors per chunk hdiutil uses for this format (modern hdiutil: 2048 = 1 MiB for all of them). */
  readonly chunkSectors: number;
  /**
   * Sectors hdiutil adds to the chunk size in each table's `decompressBufferRequested` (2056 for zlib = 2048 + 8,
   * 2049 ADC, 2051 bzip2 and LZMA, 2053 LZFSE), read off real images.
   */
  readonly bufferExtraSectors: number;
}

export const CHUNK_KENCODE = 0x80000001;
export const CHUNK_RLE = 0x80000002;
export const CHUNK_LZH = 0x80000003;
export const CHUNK_ADC = 0x80000004;
export const CHUNK_ZLIB = 0x80000005;
export const CHUNK_BZIP2 = 0x80000006;
export const CHUNK_LZFSE = 0x80000007;
export const CHUNK_LZMA = 0x80000008;

const OLD = { minLevel: 0, maxLevel: 0, defaultLevel: 0, chunkSectors: 0, bufferExtraSectors: 0 } as const;

/** Every chunk codec dmgkit knows, in the order `info` and the bench list them. */
export const CODECS: readonly CodecEntry[] = [
  {
    type: CHUNK_ZLIB, name: 'zlib', title: 'zlib', format: 'UDZO',
    loadDecoder: () => import('./zlib.js').then((m) => m.zlibCodec), loadEncoder: () => import('./deflate.js').then((m) => m.deflateZlib),
    minLevel: 1, maxLevel: 9, defaultLevel: 6, chunkSectors: 2048, bufferExtraSectors: 8,
  },
  {
    type: CHUNK_BZIP2, name: 'bzip2', title: 'bzip2', format: 'UDBZ',
    loadDecoder: () => import('./bzip2.js').then((m) => m.bzip2Codec), loadEncoder: () => import('./bzip2-encode.js').then((m) => m.encodeBzip2),
    minLevel: 1, maxLevel: 9, defaultLevel: 9, chunkSectors: 2048, bufferExtraSectors: 3,
  },
  {
    type: CHUNK_ADC, name: 'adc', title: 'ADC', format: 'UDCO',
    loadDecoder: () => import('./adc.js').then((m) => m.adcCodec), loadEncoder: () => import('./adc-encode.js').then((m) => (input) => m.encodeAdc(input)),
    minLevel: 0, maxLevel: 0, defaultLevel: 0, chunkSectors: 2048, bufferExtraSectors: 1,
  },
  {
    type: CHUNK_LZFSE, name: 'lzfse', title: 'LZFSE', format: 'ULFO',
    loadDecoder: () => import('./lzfse.js').then((m) => m.lzfseCodec), loadEncoder: () => import('./lzfse-encode.js').then((m) => (input) => m.encodeLzfse(input)),
    minLevel: 0, maxLevel: 0, defaultLevel: 0, chunkSectors: 2048, bufferExtraSectors: 5,
  },
  {
    type: CHUNK_LZMA, name: 'lzma', title: 'XZ', format: 'ULMO',
    loadDecoder: () => import('./xz.js').then((m) => m.xzCodec), loadEncoder: () => import('./xz-encode.js').then((m) => (input, level) => m.encodeXz(input, level)),
    minLevel: 0, maxLevel: 9, defaultLevel: 6, chunkSectors: 2048, bufferExtraSectors: 3,
  },
  { type: CHUNK_KENCODE, name: 'kencode', title: 'KenCode', ...OLD },
  { type: CHUNK_RLE, name: 'rle', title: 'RLE', ...OLD },
  { type: CHUNK_LZH, name: 'lzh', title: 'LZH', ...OLD },
];

const byType = new Map<number, CodecEntry>(CODECS.map((c) => [c.type, c]));
const byFormat = new Map<string, CodecEntry>(CODECS.filter((c) => c.format).map((c) => [c.format!.toUpperCase(), c]));

export function codecEntry(type: number): CodecEntry | undefined {
  return byType.get(type);
}

/** The entry of an hdiutil format name (case-insensitive): 'UDZO' → zlib. */
export function codecForFormat(format: string): CodecEntry | undefined {
  return byFormat.get(format.toUpperCase());
}

/** Replaces or adds an entry at run time (for a decoder supplied by the application). */
export function registerCodec(entry: CodecEntry): void {
  byType.set(entry.type, entry);
  if (entry.format) byFormat.set(entry.format.toUpperCase(), entry);
}

/** The entry's encoder, imported on first use and kept in the table (then `codecEntry(type).encode` is set). */
export async function loadEncoder(entry: CodecEntry): Promise<ChunkEncode | undefined> {
  const now = byType.get(entry.type) ?? entry;
  if (now.encode) return now.encode;
  if (!now.loadEncoder) return undefined;
  const encode = await now.loadEncoder();
  registerCodec({ ...(byType.get(entry.type) ?? now), encode });
  return encode;
}

/** The entry's decoder, imported on first use and kept in the table (for callers that can wait). */
export async function loadDecoder(entry: CodecEntry): Promise<Codec | undefined> {
  const now = byType.get(entry.type) ?? entry;
  if (now.decoder) return now.decoder;
  if (!now.loadDecoder) return undefined;
  const decoder = await now.loadDecoder();
  registerCodec({ ...(byType.get(entry.type) ?? now), decoder });
  return decoder;
}

/** Whether dmgkit can write this codec (it has an encoder, loaded or not). */
export function canEncode(entry: CodecEntry): boolean {
  return !!(entry.encode || entry.loadEncoder);
}
