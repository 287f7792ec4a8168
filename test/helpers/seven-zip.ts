import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

/** Runs `7zz x -tdmg` on an image and returns the partitions it writes, in table order (names start with the index). */
export function sevenZipPartitions(bin: string, image: string): { name: string; data: Buffer }[] {
  const dir = mkdtempSync(join(tmpdir(), 'dmgkit-7z-'));
  try {
    const r = spawnSync(bin, ['x', '-tdmg', '-y', `-o${dir}`, image], { encoding: 'utf8' });
    // exit 2 with CRC errors still writes the partitions; no output at all is a failure
    const names = readdirSync(dir);
    if (names.length === 0) throw new Error(`7zz extracted nothing from ${image} (exit ${r.status}): ${r.stdout}${r.stderr}`);
    return names
      .map((name) => ({ name, idx: parseInt(name, 10) }))
      .sort((a, b) => a.idx - b.idx)
      .map(({ name }) => ({ name, data: readFileSync(join(dir, name)) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
