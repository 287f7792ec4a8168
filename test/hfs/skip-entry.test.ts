/**
 * One damaged catalog record does not stop a listing or an extraction: a file whose data-fork logicalSize is 2^62
 * (past 2^53, so its record cannot be parsed) is reported by name and skipped by readdir/iterdir/walk (with
 * onEntryError), by `ls -R` (exit 1) and by `extract` (exit 1), and everything else is listed and written.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openHfs } from '../../src/hfs/volume.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import { repoRoot } from '../helpers/fixtures.js';
import { buildHfsx } from './builder.js';

const base = mkdtempSync(join(tmpdir(), 'dmgkit-skip-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const enc = new TextEncoder();

function hugeFileVolume(): Uint8Array {
  const img = buildHfsx([
    { kind: 'folder', parent: 2, name: 'd', cnid: 16 },
    { kind: 'file', parent: 16, name: 'a', cnid: 17, data: enc.encode('A') },
    { kind: 'file', parent: 16, name: 'huge', cnid: 18, data: enc.encode('H') },
    { kind: 'file', parent: 16, name: 'z', cnid: 19, data: enc.encode('Z') },
  ]);
  // the catalog key (16, "huge"): keyLength 14, parentID 16, 4 units; the file record follows it
  const key = [0, 14, 0, 0, 0, 16, 0, 4, 0, 0x68, 0, 0x75, 0, 0x67, 0, 0x65];
  let at = -1;
  for (let i = 0; i < img.length - key.length && at < 0; i++) if (key.every((b, k) => img[i + k] === b)) at = i;
  expect(at).toBeGreaterThan(0);
  const rec = at + key.length;
  expect((img[rec] << 8) | img[rec + 1]).toBe(2); // a file record
  img[rec + 88] = 0x40; // data fork logicalSize: 2^62 + 1
  return img;
}

describe('a file record that cannot be parsed is skipped, not fatal', () => {
  it('readdir, iterdir and walk report it by name and list the rest', async () => {
    const vol = await openHfs(new BufferSource(hugeFileVolume()));
    await expect(vol.readdir('d')).rejects.toMatchObject({ code: 'CORRUPT_HEADER' });
    const seen: string[] = [];
    const onEntryError = (p: string) => seen.push(p);
    expect((await vol.readdir('d', { onEntryError })).map((e) => e.name)).toEqual(['a', 'z']);
    const it: string[] = [];
    for await (const e of vol.iterdir('d', { onEntryError })) it.push(e.name);
    expect(it).toEqual(['a', 'z']);
    const walked: string[] = [];
    for await (const e of vol.walk('', { onEntryError })) walked.push(e.path);
    expect(walked).toEqual(['d', 'd/a', 'd/z']);
    expect(seen).toEqual(['d/huge', 'd/huge', 'd/huge']);
  });

  it('ls -R and extract (CLI, default options) name it, write the rest and exit 1', () => {
    const image = join(base, 'huge.hfs');
    writeFileSync(image, hugeFileVolume());
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'dist/cli/main.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
    const ls = cli('ls', '-R', image);
    expect(ls.stdout.split('\n').filter(Boolean)).toEqual(['d', 'd/a', 'd/z']);
    expect(ls.stderr).toMatch(/skipped \/d\/huge: .*2\^53/);
    expect(ls.status).toBe(1);
    const dest = join(base, 'x');
    const x = cli('extract', image, dest);
    expect(x.stderr).toMatch(/skipped \/d\/huge: /);
    expect(x.status).toBe(1);
    expect(readFileSync(join(dest, 'd/a'), 'utf8')).toBe('A');
    expect(readFileSync(join(dest, 'd/z'), 'utf8')).toBe('Z');
  });
});
