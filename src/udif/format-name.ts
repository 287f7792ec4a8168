import { CHUNK_ADC, CHUNK_BZIP2, CHUNK_LZFSE, CHUNK_LZMA, CHUNK_RAW, CHUNK_ZLIB } from './chunk-types.js';
import type { ChunkRef } from './layout.js';

const NAMES: [number, string][] = [
  [CHUNK_ZLIB, 'UDZO'],
  [CHUNK_BZIP2, 'UDBZ'],
  [CHUNK_LZFSE, 'ULFO'],
  [CHUNK_LZMA, 'ULMO'],
  [CHUNK_ADC, 'UDCO'],
];

/** The hdiutil format name implied by the chunk types: UDZO, UDBZ, ULFO, ULMO, UDCO, UDRO/UDRW, or mixed. */
export function formatName(chunks: readonly ChunkRef[]): string {
  const seen = new Set<number>();
  for (const c of chunks) seen.add(c.type);
  const compressed = NAMES.filter(([t]) => seen.has(t));
  if (compressed.length > 1) return `mixed (${compressed.map(([, n]) => n).join('+')})`;
  if (compressed.length === 1) return compressed[0][1];
  const other = [...seen].filter((t) => t & 0x80000000);
  if (other.length) return `unknown (0x${other[0].toString(16)})`;
  if (seen.has(CHUNK_RAW)) return 'UDRO/UDRW';
  return 'UDRW (empty)';
}
