import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmgkitError } from '../../src/errors.js';
import { openHfs, type HfsVolume } from '../../src/hfs/volume.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import { expectedFiles, fixture, haveFixtures, synthetic } from '../helpers/fixtures.js';
import { openImageVolumes, type OpenedImage } from './open-image.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** sha256 of each regular file in a ground-truth TSV. */
function tsvSha(tsv: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of readFileSync(synthetic(tsv), 'utf8').split('\n')) {
    const f = l.split('\t');
    if (f[1] === 'f') m.set(f[0], f[6]);
  }
  return m;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(DmgkitError);
    return (e as DmgkitError).code;
  }
}

describe.runIf(haveFixtures())('path lookups', () => {
  let hfsplus: HfsVolume;
  let hfsx: HfsVolume;
  let small: Map<string, string>;
  let deep: Map<string, string>;
  beforeAll(async () => {
    hfsplus = await openHfs(new BufferSource(readFileSync(synthetic('features.hfs'))));
    hfsx = await openHfs(new BufferSource(readFileSync(synthetic('deep-hfsx.hfs'))));
    small = tsvSha('small.expected.tsv');
    deep = tsvSha('deep.expected.tsv');
  });

  it('HFS+ folds case (Apple FastUnicodeCompare): /BIG/BIG.BIN finds big/big.bin', async () => {
    expect(sha(await hfsplus.readFile('/BIG/BIG.BIN'))).toBe(small.get('big/big.bin'));
    expect(sha(await hfsplus.readFile('Links/Target.TXT'))).toBe(small.get('links/target.txt'));
    const st = await hfsplus.stat('/MODES/Exec.SH');
    expect(st.path).toBe('modes/exec.sh'); // the stored name is reported
  });

  it('HFSX with binary keys: case variants are distinct files, no folding', async () => {
    const a = await hfsx.readFile('case/README');
    const b = await hfsx.readFile('case/Readme');
    expect(sha(a)).toBe(deep.get('case/README'));
    expect(sha(b)).toBe(deep.get('case/Readme'));
    expect(sha(a)).not.toBe(sha(b));
    expect(await code(hfsx.stat('case/readme'))).toBe('NOT_FOUND');
    expect(await code(hfsx.stat('CASE/README'))).toBe('NOT_FOUND');
  });

  it('a name typed in NFC finds the NFD-stored name (and NFD typed finds it too)', async () => {
    for (const vol of [hfsplus, hfsx]) {
      const tsv = vol === hfsplus ? small : deep;
      for (const stored of ['unicode/café-nfc.txt', 'unicode/café-nfd.txt', 'unicode/Ångström.txt', 'unicode/한글.txt']) {
        const nfdKey = [...tsv.keys()].find((k) => k.normalize('NFC') === stored.normalize('NFC'))!;
        expect(nfdKey).toBeDefined();
        expect(sha(await vol.readFile(stored.normalize('NFC')))).toBe(tsv.get(nfdKey));
        expect(sha(await vol.readFile(stored.normalize('NFD')))).toBe(tsv.get(nfdKey));
      }
    }
    // HFS+ additionally folds case of the decomposed base letter
    expect(sha(await hfsplus.readFile('UNICODE/CAFÉ-NFC.TXT'))).toBe(small.get('unicode/café-nfc.txt'.normalize('NFD')));
  });

  it("':' in POSIX names is '/' in the catalog and back", async () => {
    expect(sha(await hfsplus.readFile('unicode/colon:name.txt'))).toBe(small.get('unicode/colon:name.txt'));
    const names = (await hfsplus.readdir('unicode')).map((e) => e.name);
    expect(names).toContain('colon:name.txt');
  });

  it('symlinks: relative targets followed inside the volume; dangling and absolute ones are not', async () => {
    expect(sha(await hfsplus.readFile('links/sym'))).toBe(small.get('links/target.txt'));
    expect(sha(await hfsplus.readFile('links/dirlink/d1/mid.txt'))).toBe(small.get('nested/d1/mid.txt'));
    expect(await hfsplus.readlink('links/dirlink')).toBe('../nested');
    expect((await hfsplus.lstat('links/dangling')).type).toBe('symlink');
    expect(await code(hfsplus.stat('links/dangling'))).toBe('NOT_FOUND');
    expect(await code(hfsplus.readlink('links/target.txt'))).toBe('INVALID_ARGUMENT');
    expect(await code(hfsplus.readFile('big'))).toBe('IS_A_DIRECTORY');
    expect(await code(hfsplus.readdir('big/big.bin'))).toBe('NOT_A_DIRECTORY');
    expect(await code(hfsplus.stat('big/big.bin/x'))).toBe('NOT_A_DIRECTORY');
    expect(await code(hfsplus.stat('../../etc/passwd'))).toBe('NOT_FOUND');
  });

  it('lookup by CNID through thread records', async () => {
    const st = await hfsplus.stat('nested/d1/mid.txt');
    const again = await hfsplus.statCnid(st.cnid);
    expect(again?.name).toBe('mid.txt');
    expect(await hfsplus.statCnid(0x7fffffff)).toBeNull();
  });

  it('iterateFile streams the same bytes as readFile, in bounded chunks', async () => {
    for (const p of ['big/big.bin', 'compress/large.txt', 'compress/large-lzvn.txt', 'frag/fragmented.bin']) {
      const h = createHash('sha256');
      let max = 0;
      for await (const c of hfsplus.iterateFile(p)) {
        h.update(c);
        max = Math.max(max, c.length);
      }
      expect(h.digest('hex')).toBe(small.get(p));
      expect(max).toBeLessThanOrEqual(1 << 20);
    }
  });

  it('createReadStream (web stream) yields the same bytes, for both forks', async () => {
    for (const [p, fork] of [['compress/large-lzvn.txt', 'data'], ['rsrc/with-rsrc.txt', 'rsrc']] as const) {
      const h = createHash('sha256');
      const reader = hfsplus.createReadStream(p, { fork }).getReader();
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        h.update(r.value);
      }
      expect(h.digest('hex')).toBe(sha(await hfsplus.readFile(p, { fork })));
    }
    expect(small.get('compress/large-lzvn.txt')).toBe(sha(await hfsplus.readFile('compress/large-lzvn.txt')));
  });

  it('xattrs and the resource fork of rsrc/with-rsrc.txt', async () => {
    const st = await hfsplus.stat('rsrc/with-rsrc.txt');
    expect(st.rsrcSize).toBeGreaterThan(0);
    expect((await hfsplus.readFile('rsrc/with-rsrc.txt', { fork: 'rsrc' })).length).toBe(st.rsrcSize);
    expect(await code(hfsplus.getXattr('rsrc/with-rsrc.txt', 'no.such.attr'))).toBe('NOT_FOUND');
    // compressed files hide com.apple.decmpfs, as macOS does
    expect(await hfsplus.listXattrs('compress/large.txt')).not.toContain('com.apple.decmpfs');
  });
});

describe.runIf(haveFixtures())("keramics HFS+ image: names with '/', NFKD, case folding of µ", () => {
  let img: OpenedImage;
  let vol: HfsVolume;
  beforeAll(async () => {
    img = await openImageVolumes(fixture('udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg'));
    vol = img.volumes[0];
  });
  afterAll(async () => img.close());

  it("7-Zip's 'forward_slash' is our 'forward:slash' (catalog '/')", async () => {
    const sevenZipNames = expectedFiles()
      .find((x) => x.file === 'udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg')!
      .entries.map((e) => e.path);
    expect(sevenZipNames).toContain('hfsplus_test/forward_slash');
    const names = (await vol.readdir('')).map((e) => e.name);
    expect(names).toContain('forward:slash');
    expect((await vol.stat('forward:slash')).type).toBe('file');
  });

  it('case-insensitive lookup of every root name with ASCII letters upper-cased', async () => {
    for (const e of await vol.readdir('')) {
      if (e.type !== 'file') continue;
      const st = await vol.stat(e.name.normalize('NFC').replace(/[a-z]/g, (c) => c.toUpperCase()));
      expect(st.cnid).toBe(e.cnid);
    }
    // TN1150's table leaves U+00B5 MICRO SIGN alone (U+039C folds to U+03BC, not to U+00B5), like macOS.
    expect((await vol.stat('CASE_FOLDING_µ')).name).toBe('case_folding_µ');
    expect(await vol.stat('CASE_FOLDING_\u039c').catch((x) => x.code)).toBe('NOT_FOUND');
  });
});
