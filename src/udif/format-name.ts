import { CODECS } from '../codecs/table.js';
import { CHUNK_RAW } from './chunk-types.js';
import type { ChunkRef } from './layout.js';

/** The hdiutil format name implied by the chunk types: UDZO, UDBZ, ULFO, ULMO, UDCO, UDRO/UDRW, or mixed. */
export function formatName(chunks: readonly ChunkRef[]): string {
  const seen = new Set<number>();
  for (const c of chunks) seen.add(c.type);
  const compressed = CODECS.filter((c) => c.format && seen.has(c.type));
  if (compressed.length > 1) return `mixed (${compressed.map((c) => c.format).join('+')})`;
  if (compressed.length === 1) return compressed[0].format!;
  const other = [...seen].filter((t) => t & 0x80000000);
  if (other.length) return `unknown (0x${other[0].toString(16)})`;
  if (seen.has(CHUNK_RAW)) return 'UDRO/UDRW';
  return 'UDRW (empty)';
}
