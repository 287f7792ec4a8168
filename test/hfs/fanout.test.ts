import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractVolume } from '../../src/extract/extract.js';
import { openHfs } from '../../src/hfs/volume.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import { findHfs } from '../fuzz/mutate.js';
import { buildHfsx, type BItem } from './builder.js';
import { haveFixtures, synthetic } from '../helpers/fixtures.js';

/**
 * One folder named by many catalog records (fuzzer finding): deep-hfsx.hfs, read in place and patched in memory,
 * with the first 200 file records of /many turned into folder records carrying /nested's folder ID. Each used to be
 * listed in full (extract wrote 1,821 directories); now a folder is listed only below its own record (the one its
 * thread record names). Expected counts come from deep.expected.tsv (ground truth made independently of dmgkit).
 */
const tmps: string[] = [];
afterAll(() => {
  for (const d of tmps) rmSync(d, { recursive: true, force: true });
});

const truth = readFileSync(synthetic('deep.expected.tsv'), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => l.split('\t'));

async function manyNamesOneFolder(): Promise<{ bytes: Uint8Array; renamed: Set<string> }> {
  const b = new Uint8Array(readFileSync(synthetic('deep-hfsx.hfs')));
  const vol = await openHfs(new BufferSource(b));
  const many = (await vol.stat('many')).cnid;
  const nested = (await vol.stat('nested')).cnid;
  const names = new Map((await vol.readdir('many')).map((e) => [e.cnid, e.path]));
  const dv = new DataView(b.buffer);
  const renamed = new Set<string>();
  for (const n of findHfs(b)[0].nodes.filter((x) => x.tree === 'catalog' && b[x.offset + 8] === 0xff)) {
    for (let i = 0; i < dv.getUint16(n.offset + 10) && renamed.size < 200; i++) {
      const r = n.offset + dv.getUint16(n.offset + n.size - 2 * (i + 1));
      const d = r + 2 + dv.getUint16(r);
      if (dv.getUint32(r + 2) !== many || dv.getUint16(d) !== 2) continue;
      renamed.add(names.get(dv.getUint32(d + 8))!);
      dv.setUint16(d, 1); // folder record
      dv.setUint32(d + 8, nested); // folderID
    }
  }
  expect(renamed.size).toBe(200);
  return { bytes: b, renamed };
}

describe.runIf(haveFixtures())('a folder named by several catalog records is listed once', () => {
  it('walk lists every entry once: the 200 extra names are folders that are not followed, reported once', async () => {
    const { bytes, renamed } = await manyNamesOneFolder();
    const vol = await openHfs(new BufferSource(bytes));
    const got: string[] = [];
    for await (const e of vol.walk()) {
      got.push(e.path);
      if (renamed.has(e.path)) expect(e.type, e.path).toBe('dir');
    }
    expect(got.sort()).toEqual(truth.map((t) => t[0]).sort());
    const warn = vol.info.warnings.filter((w) => /belongs to the record/.test(w));
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatch(/^\/many\/.*folder CNID \d+, which belongs to the record \(2, "nested"\): not listed here$/);
  });

  it('extract writes each directory once and names the 200 entries it skipped', async () => {
    const { bytes, renamed } = await manyNamesOneFolder();
    const vol = await openHfs(new BufferSource(bytes));
    const dest = mkdtempSync(join(tmpdir(), 'dmgkit-fanout-'));
    tmps.push(dest);
    const res = await extractVolume(vol, dest, { forks: false });
    expect(res.skipped.map((s) => s.path).sort()).toEqual([...renamed].sort());
    for (const s of res.skipped) expect(s.reason).toMatch(/belongs to the record \(2, "nested"\)/);
    expect(res.dirs).toBe(truth.filter((t) => t[1] === 'd').length);
    expect(res.files + res.hardLinks).toBe(truth.filter((t) => t[1] === 'f').length - 200);
  });

  it('the unpatched volume walks and extracts exactly as its ground truth, nothing skipped', async () => {
    const vol = await openHfs(new BufferSource(new Uint8Array(readFileSync(synthetic('deep-hfsx.hfs')))));
    let n = 0;
    for await (const _ of vol.walk()) n++;
    expect(n).toBe(truth.length);
    expect(vol.info.warnings.filter((w) => /not listed/.test(w))).toEqual([]);
  });
});

describe('directory hard links nested many levels deep', () => {
  /**
   * Hand-made: dir_40 .. dir_48 in the private directory folder, each dir_N holding two directory hard links ("x",
   * "y") to dir_N+1, and /top a link to dir_40: 2^10 paths from 28 catalog records (the builder writes one leaf node). Directory hard links are
   * still followed again (as the two-link case in crafted.test.ts checks), but at most as many folders are listed
   * again as the catalog has leaf records; the rest is reported, not listed.
   */
  it('walk and extract are bounded by the catalog size and say so', async () => {
    const LEVELS = 9;
    const items: BItem[] = [
      { kind: 'folder', parent: 2, name: '\0\0\0\0HFS+ Private Data', cnid: 16 },
      { kind: 'folder', parent: 2, name: '.HFS+ Private Directory Data\r', cnid: 17 },
      { kind: 'file', parent: 2, name: 'top', cnid: 18, type: 'fdrp', creator: 'MACS', special: 40 },
    ];
    let cnid = 100;
    for (let i = 0; i < LEVELS; i++) {
      items.push({ kind: 'folder', parent: 17, name: `dir_${40 + i}`, cnid: 40 + i });
      if (i + 1 < LEVELS) {
        for (const n of ['x', 'y']) items.push({ kind: 'file', parent: 40 + i, name: n, cnid: cnid++, type: 'fdrp', creator: 'MACS', special: 41 + i });
      }
    }
    const vol = await openHfs(new BufferSource(buildHfsx(items)));
    // 1 + 2 + 4 + ... + 2^9 entries without a bound
    let n = 0;
    for await (const e of vol.walk()) {
      void e;
      n++;
    }
    const leaf = items.length * 2 + 2; // each record and its thread, the root's two
    expect(n).toBeLessThan(4 * leaf);
    expect(n).toBeGreaterThan(LEVELS);
    expect(vol.info.warnings.some((w) => /folders listed again \(directory hard links\) exceed the catalog's \d+ leaf records/.test(w))).toBe(true);
    const dest = mkdtempSync(join(tmpdir(), 'dmgkit-fanout-'));
    tmps.push(dest);
    const res = await extractVolume(vol, dest);
    expect(res.dirs).toBeLessThan(4 * leaf);
    expect(res.skipped.some((s) => /exceed the catalog's/.test(s.reason))).toBe(true);
  });
});
