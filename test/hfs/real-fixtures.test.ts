import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DmgkitError } from '../../src/errors.js';
import { openHfs, type HfsVolume } from '../../src/hfs/volume.js';
import { FileSource } from '../../src/io/file-source.js';
import { expectedFiles, fixture, haveFixtures } from '../helpers/fixtures.js';
import { openImageVolumes } from './open-image.js';

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

describe.runIf(haveFixtures())('real images vs 7-Zip (EXPECTED.files.jsonl)', () => {
  const cases = expectedFiles().filter((x) => /hfs/.test(x.file) && /\.dmg$/.test(x.file));
  for (const c of cases) {
    it(`${c.file}: same regular files, streams; hard links with content`, async () => {
      const img = await openImageVolumes(fixture(c.file));
      const { volumes } = img;
      expect(volumes.length).toBe(1);
      const vol = volumes[0];
      const prefix = `${vol.info.volumeName}/`;
      const got = await collect(vol);
      const inodes = new Map<string, string>();
      const wantFiles = new Map<string, string>();
      const wantStreams = new Map<string, string>();
      for (const e of c.entries) {
        expect(e.path.startsWith(prefix)).toBe(true);
        const rel = nfc(e.path.slice(prefix.length));
        const m = /^\[HFS\+ Private Data\]\/iNode(\d+)$/.exec(rel);
        if (m) {
          inodes.set(m[1], e.sha256);
          continue;
        }
        if (rel === '.journal' || rel === '.journal_info_block') continue; // hidden, as macOS does
        if (/:[^/]+$/.test(rel)) wantStreams.set(rel, e.sha256);
        else wantFiles.set(rel, e.sha256);
      }
      // Hard links: 7-Zip shows them empty; ours carry the iNode's content.
      for await (const e of vol.walk()) {
        if (e.hardLink?.kind === 'file') {
          const p = nfc(e.path.replace(/:/g, '_'));
          expect(wantFiles.get(p)).toBe(sha(new Uint8Array(0)));
          expect(inodes.has(String(e.hardLink.id))).toBe(true);
          wantFiles.set(p, inodes.get(String(e.hardLink.id))!);
        }
      }
      expect(Object.fromEntries([...got.files].sort())).toEqual(Object.fromEntries([...wantFiles].sort()));
      // Every stream 7-Zip lists has the same content in ours (7-Zip lists streams of regular files only).
      for (const [k, v] of wantStreams) expect(got.streams.get(k), k).toBe(v);
      await img.close();
    });
  }

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

  it('hybrid ISO with APM + classic HFS partition: the partition is classic HFS, refused clearly', async () => {
    const img = await openImageVolumes(fixture('hybrid_apm_hfs_iso9660__isolyzer_iso9660_hfs_part.iso'));
    expect(img.fsTypes).toContain('hfs');
    expect(img.volumes).toEqual([]);
    await img.close();
  });
});
