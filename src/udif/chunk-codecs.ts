import { DmgkitError } from '../errors.js';
import type { Codec } from '../codecs/types.js';
import { codecEntry, loadDecoder, registerCodec } from '../codecs/table.js';
import { chunkTypeName } from './chunk-types.js';

/** Chunk decoders by UDIF chunk type: a view of the codec table (src/codecs/table.ts). */

/** Sets the decoder of a chunk type (an application-supplied codec); the rest of the table entry is kept. */
export function registerChunkCodec(type: number, codec: Codec): void {
  const old = codecEntry(type);
  registerCodec({
    minLevel: 0, maxLevel: 0, defaultLevel: 0, chunkSectors: 2048, bufferExtraSectors: 0,
    name: codec.name,
    title: codec.name,
    ...old,
    type,
    decoder: codec,
  });
}

export function codecFor(type: number): Codec | undefined {
  return codecEntry(type)?.decoder;
}

export function isCompressedType(type: number): boolean {
  return (type & 0x80000000) !== 0 && type !== 0xffffffff;
}

/** The codec for a compressed chunk type, or an UNSUPPORTED_CODEC error naming it. */
export function requireCodec(type: number, where: string): Codec {
  const e = codecEntry(type);
  if (e?.decoder) return e.decoder;
  const hex = `0x${type.toString(16).padStart(8, '0')}`;
  const what = e ? `the old ${e.title} (${hex}) compression` : `chunk type ${chunkTypeName(type)}`;
  throw new DmgkitError('UNSUPPORTED_CODEC', `${where}: ${what} is not supported`, { chunkType: type });
}

/**
 * The decoder of a chunk type, imported on first use (the table's lazy `loadDecoder`), or UNSUPPORTED_CODEC: so
 * that opening an image loads only the codecs its chunks use.
 */
export async function decoderFor(type: number, where: string): Promise<Codec> {
  const e = codecEntry(type);
  if (e && !e.decoder && e.loadDecoder) await loadDecoder(e);
  return requireCodec(type, where);
}

/**
 * Imports the decoders of these chunk types that are not registered yet (through each table entry's lazy
 * `loadDecoder`): for threads (pool workers) that decode without having opened the image themselves.
 */
export async function loadDecoders(types: Iterable<number>): Promise<void> {
  for (const t of types) {
    const e = codecEntry(t);
    if (e && !e.decoder && e.loadDecoder) await loadDecoder(e);
  }
}
