import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openHfs, type HfsVolume } from '../../src/hfs/volume.js';
import { FileSource } from '../../src/io/file-source.js';
import { haveFixtures, synthetic } from '../helpers/fixtures.js';
import { openImageVolumes } from './open-image.js';

/**
 * Ground truth: the synthetic volumes' *.expected.tsv, written from the source trees the volumes were built from
 * (path, kind, size, mode, mtime, md5, sha256, symlink target, id). Our walk + readFile must reproduce every line.
 */
async function listing(vol: HfsVolume): Promise<string[]> {
  const lines: string[] = [];
  for await (const e of vol.walk()) {
    const kind = e.type === 'dir' ? 'd' : e.type === 'symlink' ? 'l' : 'f';
    let md5 = '';
    let sha = '';
    let size = '';
    if (kind === 'f') {
      const b = await vol.readFile(e);
      md5 = createHash('md5').update(b).digest('hex');
      sha = createHash('sha256').update(b).digest('hex');
      size = String(b.length);
      expect(e.size).toBe(b.length);
    } else if (kind === 'l') {
      size = String(Buffer.byteLength(e.linkTarget ?? '', 'utf8'));
    }
    const mtime = Math.floor(e.modifyTime.getTime() / 1000);
    lines.push([e.path, kind, size, e.mode.toString(8), mtime, md5, sha, e.linkTarget ?? '', ''].join('\t'));
  }
  return lines;
}

function expected(tsv: string): string[] {
  return readFileSync(synthetic(tsv), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
}

describe.runIf(haveFixtures())('synthetic HFS+/HFSX volumes vs ground-truth TSV', () => {
  const cases: [string, string][] = [
    ['features.hfs', 'small.expected.tsv'],
    ['lzfse.hfs', 'lzfse.expected.tsv'],
    ['deep-hfsx.hfs', 'deep.expected.tsv'],
  ];
  for (const [img, tsv] of cases) {
    it(`${img} walk + readFile equals ${tsv}`, async () => {
      const src = await FileSource.open(synthetic(img));
      try {
        const vol = await openHfs(src);
        const got = await listing(vol);
        expect([...got].sort()).toEqual([...expected(tsv)].sort());
      } finally {
        await src.close?.();
      }
    });
  }

  // The same trees inside partitioned containers (APM/GPT/MBR through src/disk, UDIF through src/udif).
  const containers: [string, string][] = [
    ['features-apm-zlib.dmg', 'small.expected.tsv'],
    ['xorriso-apm512.iso', 'small.expected.tsv'],
    ['xorriso-apm2048.iso', 'small.expected.tsv'],
    ['lzfse-mbr.img', 'lzfse.expected.tsv'],
    ['deep-hfsx-gpt-bzip2.dmg', 'deep.expected.tsv'],
  ];
  for (const [img, tsv] of containers) {
    it(`${img}: the HFS+ partition's walk + readFile equals ${tsv}`, async () => {
      const opened = await openImageVolumes(synthetic(img));
      try {
        expect(opened.volumes.length).toBe(1);
        const got = await listing(opened.volumes[0]);
        expect([...got].sort()).toEqual([...expected(tsv)].sort());
      } finally {
        await opened.close();
      }
    });
  }

  it('features.hfs: volume info, compressed types, hidden private folders and journal files', async () => {
    const src = await FileSource.open(synthetic('features.hfs'));
    const vol = await openHfs(src);
    expect(vol.info.signature).toBe('H+');
    expect(vol.info.volumeName).toBe('Features HFS+');
    expect(vol.info.journaled).toBe(true);
    expect(vol.info.journalEmpty).toBe(true);
    expect(vol.info.warnings).toEqual([]);
    const root = (await vol.readdir('')).map((e) => e.name);
    expect(root).not.toContain('.journal');
    expect(root).not.toContain('.journal_info_block');
    expect(root.some((n) => n.includes('HFS+ Private'))).toBe(false);
    const types = new Set<number>();
    for (const e of await vol.readdir('compress')) if (e.compressed) types.add(e.compressed.type);
    // zlib inline (3) and in the resource fork (4), LZVN inline (7) and in the resource fork (8)
    expect([...types].sort((a, b) => a - b)).toEqual([3, 4, 7, 8]);
    const h1 = await vol.stat('links/hard1');
    const h2 = await vol.stat('links/hard2');
    expect(h1.hardLink?.kind).toBe('file');
    expect(h1.cnid).toBe(h2.cnid);
    expect(h1.nlink).toBe(2);
    await src.close?.();
  });

  it('lzfse.hfs holds LZFSE-compressed files (types 11/12)', async () => {
    const src = await FileSource.open(synthetic('lzfse.hfs'));
    const vol = await openHfs(src);
    const types = new Set<number>();
    for await (const e of vol.walk()) if (e.compressed) types.add(e.compressed.type);
    expect(types.has(11) || types.has(12)).toBe(true);
    await src.close?.();
  });

  it('deep-hfsx.hfs is case-sensitive HFSX with 512-byte blocks', async () => {
    const src = await FileSource.open(synthetic('deep-hfsx.hfs'));
    const vol = await openHfs(src);
    expect(vol.info.signature).toBe('HX');
    expect(vol.info.caseSensitive).toBe(true);
    expect(vol.info.blockSize).toBe(512);
    await src.close?.();
  });
});
