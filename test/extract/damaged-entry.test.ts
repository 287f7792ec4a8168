import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DmgkitError } from '../../src/errors.js';
import { extractVolume } from '../../src/extract/extract.js';
import { openHfs } from '../../src/hfs/volume.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import { haveFixtures, synthetic } from '../helpers/fixtures.js';

/**
 * One damaged file does not stop an extraction (fuzzer finding): it is skipped, whatever it created is removed,
 * the reason is recorded, and everything else is extracted exactly as the ground truth (small.expected.tsv) says.
 * features.hfs is read in place and patched in memory; each patch checks the original bytes first.
 */
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const tmps: string[] = [];
afterAll(() => {
  for (const d of tmps) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'dmgkit-dmg-'));
  tmps.push(d);
  return d;
};

interface Patch {
  at: number;
  was: number[];
  now: number[];
}
function patched(patches: Patch[]): Uint8Array {
  const b = new Uint8Array(readFileSync(synthetic('features.hfs')));
  for (const p of patches) {
    expect([...b.subarray(p.at, p.at + p.was.length)], `bytes at ${p.at}`).toEqual(p.was);
    b.set(p.now, p.at);
  }
  return b;
}

/** Resource fork logicalSize (u64 at +168 of the HFSPlusCatalogFile) of CNID 303, /many/f00255.txt: 0 → 2^31. */
const RSRC_SIZE_2_31: Patch = { at: 3777382 + 168, was: [0, 0, 0, 0, 0, 0, 0, 0], now: [0, 0, 0, 0, 0x80, 0, 0, 0] };
/**
 * /compress/large.txt (decmpfs type 4, 4 zlib chunks in its resource fork at byte 2560000): the third chunk
 * (table at 2560000 + 256 + 4, chunk at +5988) gets a deflate block of the reserved type 3 after its zlib header.
 */
const LARGE_TXT_CHUNK2: Patch = { at: 2560260 + 5988, was: [0x78], now: [0x78, 0xda, 0xff] };

/** Everything under root: relative path → lstat. */
function tree(root: string): Map<string, ReturnType<typeof lstatSync>> {
  const out = new Map<string, ReturnType<typeof lstatSync>>();
  const rec = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
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

describe.runIf(haveFixtures())('extractVolume: a damaged entry is skipped, the rest extracted', () => {
  it('a resource fork beyond its blocks and a decmpfs chunk that does not decode: both skipped, removed, named', async () => {
    const vol = await openHfs(new BufferSource(patched([RSRC_SIZE_2_31, LARGE_TXT_CHUNK2])));
    const dest = tmp();
    const res = await extractVolume(vol, dest);
    expect(res.skipped.map((s) => s.path).sort()).toEqual(['compress/large.txt', 'many/f00255.txt']);
    const bad = new Map(res.skipped.map((s) => [s.path, s.reason]));
    expect(bad.get('many/f00255.txt')).toMatch(/CNID 303.*logical size 2147483648 exceeds the 0 allocated blocks/);
    expect(bad.get('compress/large.txt')).toMatch(/^\/compress\/large\.txt: decmpfs chunk 2: zlib/);
    // neither the data file nor its AppleDouble file is left behind
    for (const p of ['many/f00255.txt', 'many/._f00255.txt', 'compress/large.txt', 'compress/._large.txt']) {
      expect(existsSync(join(dest, p)), p).toBe(false);
    }
    // everything else (including the files after them in catalog order) is there, as the ground truth says
    const got = tree(dest);
    const lines = readFileSync(synthetic('small.expected.tsv'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .filter((l) => !bad.has(l.split('\t')[0]));
    const plain = [...got.keys()].filter((p) => !p.split('/').pop()!.startsWith('._'));
    expect(plain.sort()).toEqual(lines.map((l) => l.split('\t')[0]).sort());
    for (const l of lines) {
      const [path, kind, size, , , , sha256] = l.split('\t');
      if (kind !== 'f') continue;
      expect(String(got.get(path)!.size), path).toBe(size);
      expect(sha(readFileSync(join(dest, path))), path).toBe(sha256);
    }
    expect(res.files).toBe(lines.filter((l) => l.split('\t')[1] === 'f').length - 1); // hard2 is a link, not a file
    expect(got.has('many/f00256.txt')).toBe(true);
  });

  it('a compressed file whose decmpfs header is unreadable (found while listing its folder): skipped, its folder extracted', async () => {
    // the 'fpmc' magic of /compress/small.txt's com.apple.decmpfs value
    const vol = await openHfs(new BufferSource(patched([{ at: 3894270, was: [0x66, 0x70, 0x6d, 0x63], now: [0x78, 0x78, 0x78, 0x78] }])));
    // readdir without a callback still fails as a whole; with one, it leaves that entry out
    const e = await vol.readdir('compress').then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(DmgkitError);
    const dest = tmp();
    const res = await extractVolume(vol, dest);
    expect(res.skipped).toEqual([{ path: 'compress/small.txt', reason: (e as DmgkitError).message }]);
    expect(existsSync(join(dest, 'compress/small.txt'))).toBe(false);
    const lines = readFileSync(synthetic('small.expected.tsv'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('compress/') && l.split('\t')[1] === 'f' && !l.startsWith('compress/small.txt\t'));
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines) {
      const [path, , , , , , sha256] = l.split('\t');
      expect(sha(readFileSync(join(dest, path))), path).toBe(sha256);
    }
  });

  it('the destination failing still aborts (IO_ERROR), a damaged entry does not turn it into a skip', async () => {
    const vol = await openHfs(new BufferSource(patched([RSRC_SIZE_2_31])));
    const dest = join(tmp(), 'file');
    // DEST is a regular file: not a directory we may write into
    const { writeFileSync } = await import('node:fs');
    writeFileSync(dest, 'x');
    const e = await extractVolume(vol, dest).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(DmgkitError);
    expect((e as DmgkitError).code).toMatch(/IO_ERROR|UNSAFE_PATH/);
  });
});

describe.runIf(haveFixtures())('ls -R with a damaged entry (CLI)', () => {
  it('lists everything else, names the entry it could not describe, exits 1', async () => {
    const { main } = await import('../../src/cli/main.js');
    const { collect, memoryIO } = await import('../helpers/cli.js');
    const { writeFileSync } = await import('node:fs');
    const dir = tmp();
    writeFileSync(join(dir, 'damaged.hfs'), patched([{ at: 3894270, was: [0x66, 0x70, 0x6d, 0x63], now: [0x78, 0x78, 0x78, 0x78] }]));
    const io = memoryIO();
    expect(await main(['ls', join(dir, 'damaged.hfs'), '-R'], io)).toBe(1);
    expect(collect(io.err)).toMatch(/^dmgkit: skipped \/compress\/small\.txt: /);
    const listed = new Set(collect(io.out).split('\n').filter(Boolean));
    const truth = readFileSync(synthetic('small.expected.tsv'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split('\t')[0]);
    expect(truth.filter((p) => !listed.has(p))).toEqual(['compress/small.txt']);
  });
});
