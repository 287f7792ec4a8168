import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APPLEDOUBLE_MAGIC, ATTR_MAGIC, parseAppleDouble } from '../../src/extract/appledouble.js';
import { extractVolume } from '../../src/extract/extract.js';
import { openHfs } from '../../src/hfs/volume.js';
import { FileSource } from '../../src/io/file-source.js';
import { haveFixtures, sevenZip, synthetic } from '../helpers/fixtures.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const be32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const tmps: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  tmps.push(d);
  return d;
};
afterAll(() => {
  for (const d of tmps) rmSync(d, { recursive: true, force: true });
});

/** Everything under root except AppleDouble files: relative path → lstat. */
function tree(root: string): Map<string, ReturnType<typeof lstatSync>> {
  const out = new Map<string, ReturnType<typeof lstatSync>>();
  const rec = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('._')) continue;
      const full = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(full);
      out.set(r, st);
      if (st.isDirectory()) rec(full, r);
    }
  };
  rec(root, '');
  return out;
}

describe.runIf(haveFixtures())('extractVolume on real volumes', () => {
  for (const [img, tsv] of [
    ['features.hfs', 'small.expected.tsv'],
    ['deep-hfsx.hfs', 'deep.expected.tsv'],
  ] as const) {
    it(`${img}: the extracted tree equals ${tsv} (kind, size, mode, mtime, sha256, link target)`, async () => {
      const src = await FileSource.open(synthetic(img));
      const vol = await openHfs(src);
      const dest = tmp('dmgkit-x-');
      const res = await extractVolume(vol, dest);
      await src.close?.();
      expect(res.skipped).toEqual([]);
      const got = tree(dest);
      const lines = readFileSync(synthetic(tsv), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
      expect([...got.keys()].sort()).toEqual(lines.map((l) => l.split('\t')[0]).sort());
      for (const l of lines) {
        const [path, kind, size, mode, mtime, , sha256, target] = l.split('\t');
        const st = got.get(path)!;
        const full = join(dest, path);
        expect(st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : '?', path).toBe(kind);
        if (kind === 'f') {
          expect(String(st.size), path).toBe(size);
          expect(st.mode.toString(8), path).toBe(mode);
          expect(sha(readFileSync(full)), path).toBe(sha256);
        }
        if (kind === 'd') expect(st.mode.toString(8), path).toBe(mode);
        if (kind === 'l') expect(readlinkSync(full), path).toBe(target);
        expect(Math.floor(st.mtimeMs / 1000), path).toBe(Number(mtime));
      }
      // hard links stay hard links
      const h1 = statSync(join(dest, 'links/hard1'));
      const h2 = statSync(join(dest, 'links/hard2'));
      expect(h1.ino).toBe(h2.ino);
      expect(h1.nlink).toBe(2);
      expect(res.hardLinks).toBe(1);
    });
  }

  it('AppleDouble ._ files carry the resource fork and xattrs, matching 7-Zip streams', async () => {
    const src = await FileSource.open(synthetic('features.hfs'));
    const vol = await openHfs(src);
    const dest = tmp('dmgkit-ad-');
    await extractVolume(vol, dest);
    // layout checks against the published format: magic, version, 2 entries, Finder info at 50, ATTR at 84
    const ad = new Uint8Array(readFileSync(join(dest, 'links/._target.txt')));
    expect(be32(ad, 0)).toBe(APPLEDOUBLE_MAGIC);
    expect(be32(ad, 4)).toBe(0x00020000);
    expect(be32(ad, 26)).toBe(9);
    expect(be32(ad, 30)).toBe(50);
    expect(be32(ad, 38)).toBe(2);
    expect(be32(ad, 84)).toBe(ATTR_MAGIC);
    const parsed = parseAppleDouble(ad);
    const names = parsed.xattrs.map((x) => x.name).sort();
    expect(names).toEqual((await vol.listXattrs('links/target.txt')).sort());
    const rs = parseAppleDouble(new Uint8Array(readFileSync(join(dest, 'rsrc/._with-rsrc.txt'))));
    expect(sha(rs.rsrc)).toBe(sha(await vol.readFile('rsrc/with-rsrc.txt', { fork: 'rsrc' })));
    // Independent oracle: 7-Zip writes the same streams as name:stream files.
    const bin = sevenZip();
    if (bin) {
      const z = tmp('dmgkit-7z-');
      spawnSync(bin, ['x', '-y', `-o${z}`, synthetic('features.hfs')], { stdio: 'ignore' });
      const base = join(z, 'Features HFS+');
      for (const x of parsed.xattrs) {
        expect(sha(x.value), x.name).toBe(sha(readFileSync(join(base, `links/target.txt:${x.name}`))));
      }
      expect(sha(rs.rsrc)).toBe(sha(readFileSync(join(base, 'rsrc/with-rsrc.txt:rsrc'))));
    }
    // forks: false writes no ._ files
    const bare = tmp('dmgkit-bare-');
    const r2 = await extractVolume(vol, bare, { forks: false });
    expect(r2.appleDouble).toBe(0);
    expect(() => lstatSync(join(bare, 'rsrc/._with-rsrc.txt'))).toThrow();
    // a subtree only, with its ancestors
    const sub = tmp('dmgkit-sub-');
    await extractVolume(vol, sub, { path: 'NESTED/d1/d2', forks: false });
    expect([...tree(sub).keys()].sort()[0]).toBe('nested');
    expect(readFileSync(join(sub, 'nested/d1/d2/d3/d4/d5/d6/d7/d8/deep.txt')).length).toBe(10);
    expect(() => lstatSync(join(sub, 'nested/d1/mid.txt'))).toThrow();
    await src.close?.();
  });
});
