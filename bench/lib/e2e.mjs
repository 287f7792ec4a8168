// End-to-end images for the pipeline benchmark (issue 9): per codec (zlib, ADC, bzip2, XZ, LZFSE) a UDIF image of
// `units` 1 MiB chunks cycling through the chunks of the bench's mixed data (each chunk encoded once, by the same
// encoders as the codec benchmark: bzip2 -9 and xz -6 per chunk, the library's zlib/ADC/LZFSE), so a 1 GiB image
// costs seconds to build. Cached in the bench temp directory.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MiB } from '../../dist/cli/commands/bench.js';
import { cacheDir, writeImage } from './data.mjs';

/** Builds (or finds) the image of `units` MiB for one codec's encoded chunk set; returns its path. */
export async function buildCycledImage(codec, d, set, units) {
  const n = d.chunks.length;
  const path = join(cacheDir, `e2e-${codec.name}-${units}-${d.hash}.dmg`);
  if (existsSync(path) && statSync(path).size > 0) return path;
  let last = 0;
  const disk = {
    size: units * MiB,
    name: 'e2e bench disk',
    async read(offset, length) {
      if (length !== MiB || offset % MiB !== 0) throw new Error('e2e disk: unaligned read');
      last = (offset / MiB) % n;
      return d.chunks[last];
    },
  };
  const encoder = { type: codec.type, encode: () => set.chunks[last] };
  return writeImage(path, disk, encoder);
}

/** sha256 (first 16 hex digits, as data.mjs's sha) of the disk an image of `units` cycled chunks decodes to. */
export function cycledHash(d, units) {
  const h = createHash('sha256');
  for (let i = 0; i < units; i++) h.update(d.chunks[i % d.chunks.length]);
  return h.digest('hex').slice(0, 16);
}
