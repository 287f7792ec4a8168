import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DmgkitError } from '../../src/errors.js';
import { openHfs, type HfsEntry, type HfsVolume } from '../../src/hfs/volume.js';
import { FileSource } from '../../src/io/file-source.js';
import { expectedFiles, fixture, haveFixtures, sevenZip, synthetic } from '../helpers/fixtures.js';
import { openImageVolumes } from './open-image.js';
import { openPartition, readPartitionMap } from '../../src/disk/partition-map.js';
import { sniffFilesystem } from '../../src/disk/filesystem.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const nfc = (s: string) => s.normalize('NFC');

interface Got {
  files: Map<string, string>;
  streams: Map<string, string>;
}

/** Our view in 7-Zip's naming: catalog '/' (our ':') shown as '_', streams as name:xattr / name:rsrc. */
async function collect(vol: HfsVolume): Promise<Got> {
  const files = new Map<string, string>();
  const streams = new Map<string, string>();
  for await (const e of vol.walk()) {
    const p = nfc(e.path.replace(/:/g, '_'));
    if (e.type === 'file') files.set(p, sha(await vol.readFile(e)));
    if (e.type !== 'dir' && e.rsrcSize > 0) streams.set(`${p}:rsrc`, sha(await vol.readFile(e, { fork: 'rsrc' })));
    for (const x of await vol.listXattrs(e)) streams.set(`${p}:${nfc(x)}`, sha(await vol.getXattr(e, x)));
  }
  return { files, streams };
}

/**
 * Compares our volume with 7-Zip's listing of it (entries under "<volume name>/"): same regular files and
 * contents; hard links carry their iNode's content (7-Zip shows them empty); every stream 7-Zip lists
 * ("name:xattr", "name:rsrc") has the same bytes as our getXattr / resource fork.
 */
async function compareWith7zip(vol: HfsVolume, entries: { path: string; sha256: string }[]): Promise<void> {
  const prefix = `${vol.info.volumeName}/`;
  const got = await collect(vol);
  const ours = new Map<string, HfsEntry>();
  for await (const e of vol.walk()) ours.set(nfc(e.path.replace(/:/g, '_')), e);
  const inodes = new Map<string, string>();
  const wantFiles = new Map<string, string>();
  const wantStreams = new Map<string, string>();
  for (const e of entries) {
    expect(e.path.startsWith(prefix)).toBe(true);
    const rel = nfc(e.path.slice(prefix.length));
    const m = /^\[HFS\+ Private Data\]\/iNode(\d+)$/.exec(rel);
    if (m) {
      inodes.set(m[1], e.sha256);
      continue;
    }
    if (rel.startsWith('[HFS+ Private Data]/')) continue;
    if (rel === '.journal' || rel === '.journal_info_block') continue; // hidden, as macOS does
    if (ours.get(rel)?.type === 'symlink') continue; // 7-Zip may write a refused link as an empty file
    if (/:[^/]+$/.test(rel)) wantStreams.set(rel, e.sha256);
    else wantFiles.set(rel, e.sha256);
  }
  // Hard links: 7-Zip shows them empty; ours carry the iNode's content.
  for (const [p, e] of ours) {
    if (e.hardLink?.kind === 'file') {
      expect(wantFiles.get(p)).toBe(sha(new Uint8Array(0)));
      expect(inodes.has(String(e.hardLink.id))).toBe(true);
      wantFiles.set(p, inodes.get(String(e.hardLink.id))!);
    }
  }
  expect(Object.fromEntries([...got.files].sort())).toEqual(Object.fromEntries([...wantFiles].sort()));
  for (const [k, v] of wantStreams) expect(got.streams.get(k), k).toBe(v);
}

/** Files under a directory 7-Zip extracted into: relative path → sha256 (regular files only). */
function listTree(root: string): { path: string; sha256: string }[] {
  const out: { path: string; sha256: string }[] = [];
  const rec = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(full);
      if (st.isDirectory()) rec(full, r);
      else if (st.isFile()) out.push({ path: r, sha256: sha(readFileSync(full)) });
    }
  };
  rec(root, '');
  return out;
}

describe.runIf(haveFixtures())('real images vs 7-Zip (EXPECTED.files.jsonl)', () => {
  const cases = expectedFiles().filter((x) => /hfs/.test(x.file) && /\.dmg$/.test(x.file));
  for (const c of cases) {
    it(`${c.file}: same regular files, streams; hard links with content`, async () => {
      const img = await openImageVolumes(fixture(c.file));
      expect(img.volumes.length).toBe(1);
      await compareWith7zip(img.volumes[0], c.entries);
      await img.close();
    });
  }

  it('features.hfs against a live `7zz x` run (decmpfs zlib/LZVN, overflow extents, xattr streams)', async () => {
    const bin = sevenZip();
    if (!bin) return; // sevenZip() throws under CI when 7-Zip is missing
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-7z-'));
    try {
      spawnSync(bin, ['x', '-y', `-o${dir}`, synthetic('features.hfs')], { stdio: 'ignore' });
      const entries = listTree(dir);
      expect(entries.length).toBeGreaterThan(300);
      const src = await FileSource.open(synthetic('features.hfs'));
      await compareWith7zip(await openHfs(src), entries);
      await src.close?.();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hfsplus_raw_noattrbtree: an empty HFS+ volume without an attributes tree opens and lists nothing', async () => {
    const src = await FileSource.open(fixture('hfsplus_raw_noattrbtree__isolyzer_hfsplus.iso'));
    const vol = await openHfs(src);
    expect(vol.info.hasAttributesTree).toBe(false);
    expect(vol.info.blockSize).toBe(2048);
    expect(await vol.readdir('')).toEqual([]);
    expect(await vol.listXattrs('')).toEqual([]);
    await src.close?.();
  });

  it('classic HFS is refused with UNSUPPORTED naming it', async () => {
    const src = await FileSource.open(fixture('hfs_classic_raw_small__isolyzer_hfs.iso'));
    const err = await openHfs(src).catch((e) => e);
    expect(err).toBeInstanceOf(DmgkitError);
    expect(err.code).toBe('UNSUPPORTED');
    expect(err.message).toMatch(/classic HFS/);
    await src.close?.();
  });

  for (const iso of ['hybrid_apm_hfs_iso9660__isolyzer_iso9660_hfs_part.iso', 'odd_hybrid_apm_wrong_blksize__isolyzer_iso9660_hfs_part_wrongblksize.iso']) {
    it(`${iso}: the APM partition holds classic HFS, refused with UNSUPPORTED`, async () => {
      const img = await openImageVolumes(fixture(iso));
      expect(img.fsTypes).toContain('hfs');
      expect(img.volumes).toEqual([]);
      await img.close();
      const src = await FileSource.open(fixture(iso));
      const map = await readPartitionMap(src);
      const hfs = [];
      for (const e of map.entries) {
        const part = openPartition(src, e);
        if ((await sniffFilesystem(part)).type === 'hfs') hfs.push(await openHfs(part).catch((x) => x));
      }
      expect(hfs.length).toBe(1);
      expect(hfs[0]).toBeInstanceOf(DmgkitError);
      expect(hfs[0].code).toBe('UNSUPPORTED');
      await src.close?.();
    });
  }
});
