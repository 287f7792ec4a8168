// A large UDZO image for the end-to-end conversion benchmark (issue: "raw-disk conversion throughput of a large
// UDZO image for dmgkit vs 7zz and dmg2img, in bounded memory"). The disk is virtual: 1 MiB units cycling through
// the mixed-data chunks, every fourth unit zero (hdiutil stores those as zero-fill chunks); the 32 distinct
// chunks are deflated once, so building a GiB image costs seconds. Cached in the bench temp directory.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MiB } from '../../dist/cli/commands/bench.js';
import { deflateZlib } from '../../dist/codecs/deflate.js';
import { CHUNK_ZLIB } from '../../dist/udif/chunk-types.js';
import { cacheDir, repoRoot, unitPlan, writeImage } from './data.mjs';

const ZERO = new Uint8Array(MiB);

export async function buildLargeUdzo(d, units) {
  const path = join(cacheDir, `large-udzo-${units}-${d.hash}.dmg`);
  if (existsSync(path) && statSync(path).size > 0) return path;
  const unit = (i) => (i % 4 === 3 ? ZERO : d.chunks[i % d.chunks.length]);
  const disk = {
    size: units * MiB,
    name: 'large bench disk',
    async read(offset, length) {
      if (length !== MiB || offset % MiB !== 0) throw new Error('large disk: unaligned read');
      return unit(offset / MiB);
    },
  };
  const cache = new Map();
  const encoder = (data, sector) => {
    const i = ((sector * 512) / MiB) % d.chunks.length;
    if (!cache.has(i)) cache.set(i, deflateZlib(data, 6));
    return cache.get(i);
  };
  return writeImage(path, disk, unitPlan(units, (i) => i % 4 === 3), { chunkType: CHUNK_ZLIB, encoder, chunkSectors: MiB / 512 });
}

/** The bytes the image must decode to, hashed unit by unit (sha256 of the whole disk, streamed). */
export async function largeDiskHash(d, units) {
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256');
  for (let i = 0; i < units; i++) h.update(i % 4 === 3 ? ZERO : d.chunks[i % d.chunks.length]);
  return h.digest('hex');
}

/** sha256 of what a command writes to stdout, streamed (no buffering of a GiB). */
export function streamHash(cmd, args) {
  const r = spawnSync('bash', ['-c', '"$@" | sha256sum', 'hash', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status} ${r.stderr}`);
  return r.stdout.split(' ')[0];
}

/** Peak resident memory (KiB) of a command, from GNU time, or null. */
export function peakRssKiB(cmd, args) {
  if (!existsSync('/usr/bin/time')) return null;
  const out = join(cacheDir, 'rss.txt');
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', out, cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) return null;
  const kib = Number(readFileSync(out, 'utf8').trim().split('\n').pop());
  rmSync(out, { force: true });
  return Number.isFinite(kib) ? kib : null;
}

/** The CLI users run: package.json's `bin` (the bundled dist/bin/dmgkit.js; `npm run build` makes it). */
export const dmgkitCli = join(repoRoot, JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).bin.dmgkit);
