// HFS+ benchmark volume: tens of thousands of files made with `xorriso -as mkisofs -hfsplus`, the HFS+ volume
// carved out of the hybrid image (from its Apple_HFS partition to the end, where xorriso puts the file data),
// so dmgkit and `7zz -thfs` read the same bytes.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MiB, prng } from '../../dist/cli/commands/bench.js';
import { FileSource } from '../../dist/io/file-source.js';
import { readPartitionMap } from '../../dist/disk/partition-map.js';
import { cacheDir } from './data.mjs';

/** Shape of the generated tree. */
export function hfsShape(quick) {
  return quick
    ? { dirs: 50, filesPerDir: 100, bigFiles: 4, bigSize: 4 * MiB }
    : { dirs: 200, filesPerDir: 100, bigFiles: 8, bigSize: 8 * MiB };
}

/**
 * Builds (or reuses) the volume. Files: `dirs` directories of `filesPerDir` files of 0–16 KiB (log-uniform)
 * cut from the mixed data, in two directory levels, plus `bigFiles` files of `bigSize` bytes.
 */
export function buildHfsVolume(shape, data) {
  const key = `hfs-${shape.dirs}x${shape.filesPerDir}-${shape.bigFiles}x${shape.bigSize}`;
  const out = join(cacheDir, `${key}.hfs`);
  if (existsSync(out) && statSync(out).size > 0) return out;
  const src = join(cacheDir, `${key}-src`);
  rmSync(src, { recursive: true, force: true });
  const rnd = prng(0x4846532b);
  let pos = 0;
  const take = (n) => {
    if (pos + n > data.length) pos = 0;
    const b = data.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  for (let d = 0; d < shape.dirs; d++) {
    const dir = join(src, `group${String(d % 10).padStart(2, '0')}`, `dir${String(d).padStart(4, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < shape.filesPerDir; f++) {
      const n = Math.floor(Math.pow(16385, rnd())) - 1;
      writeFileSync(join(dir, `file${String(f).padStart(4, '0')}.dat`), take(n));
    }
  }
  mkdirSync(join(src, 'big'), { recursive: true });
  for (let i = 0; i < shape.bigFiles; i++) writeFileSync(join(src, 'big', `big${i}.bin`), take(shape.bigSize));
  const iso = join(cacheDir, `${key}.iso`);
  const r = spawnSync('xorriso', ['-as', 'mkisofs', '-quiet', '-hfsplus', '-V', 'BENCH', '-o', iso, src], { encoding: 'utf8' });
  rmSync(src, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`xorriso failed: ${r.stderr}`);
  return iso;
}

/** Copies the HFS+ volume out of the hybrid image: from the Apple_HFS partition start to the end of the image. */
export async function carveHfs(iso) {
  const out = iso.replace(/\.iso$/, '.hfs');
  if (existsSync(out) && statSync(out).size > 0) return out;
  const src = await FileSource.open(iso);
  const map = await readPartitionMap(src);
  await src.close?.();
  const e = map.entries.find((x) => x.type === 'Apple_HFS');
  if (!e) throw new Error(`no Apple_HFS partition in ${iso} (${map.scheme})`);
  const size = statSync(iso).size;
  const fin = openSync(iso, 'r');
  const fout = openSync(out + '.tmp', 'w');
  const buf = Buffer.alloc(4 * MiB);
  for (let o = e.offset; o < size; ) {
    const n = readSync(fin, buf, 0, Math.min(buf.length, size - o), o);
    writeSync(fout, buf, 0, n);
    o += n;
  }
  closeSync(fin);
  closeSync(fout);
  renameSync(out + '.tmp', out);
  rmSync(iso, { force: true });
  return out;
}
