import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DmgkitError } from '../../src/errors.js';
import { extractVolume } from '../../src/extract/extract.js';
import { safeComponent, safeMode } from '../../src/extract/sanitize.js';
import type { HfsEntry, HfsEntryType, HfsVolume } from '../../src/hfs/volume.js';

/**
 * A hand-made volume (the subset of HfsVolume that extraction uses), with hostile names, link targets and modes.
 * `children` maps a directory path key to its entries.
 */
interface MockFile {
  name: string;
  type: HfsEntryType;
  mode?: number;
  data?: string;
  target?: string;
  children?: MockFile[];
  inode?: number;
}

let nextCnid = 100;
function mockVolume(rootChildren: MockFile[]): HfsVolume {
  const byEntry = new Map<HfsEntry, MockFile>();
  const entryOf = (f: MockFile, parentPath: string): HfsEntry => {
    const e: HfsEntry = {
      path: parentPath ? `${parentPath}/${f.name}` : f.name,
      name: f.name,
      type: f.type,
      size: f.data?.length ?? 0,
      rsrcSize: 0,
      mode: f.mode ?? (f.type === 'dir' ? 0o40755 : f.type === 'symlink' ? 0o120755 : 0o100644),
      uid: 0,
      gid: 0,
      flags: 0,
      nlink: 1,
      cnid: f.inode ?? nextCnid++,
      createTime: new Date(0),
      modifyTime: new Date(1_600_000_000_000),
      changeTime: new Date(0),
      accessTime: new Date(1_600_000_000_000),
      backupTime: new Date(0),
      fileType: '',
      creator: '',
      finderInfo: new Uint8Array(32),
      ...(f.target !== undefined ? { linkTarget: f.target } : {}),
      ...(f.inode ? { hardLink: { kind: 'file' as const, id: f.inode } } : {}),
    };
    byEntry.set(e, f);
    return e;
  };
  const vol = {
    async readdir(p: string | HfsEntry) {
      if (p === '') return rootChildren.map((c) => entryOf(c, ''));
      const e = p as HfsEntry;
      return (byEntry.get(e)!.children ?? []).map((c) => entryOf(c, e.path));
    },
    async *iterdir(p: string | HfsEntry) {
      yield* await vol.readdir(p);
    },
    async *iterateFile(e: HfsEntry) {
      yield new TextEncoder().encode(byEntry.get(e)!.data ?? '');
    },
    async readFile(e: HfsEntry) {
      return new TextEncoder().encode(byEntry.get(e)!.data ?? '');
    },
    async listXattrs() {
      return [];
    },
    async getXattr() {
      throw new DmgkitError('NOT_FOUND', 'none');
    },
    async readlink(e: HfsEntry) {
      return byEntry.get(e)!.target!;
    },
    async lstat(p: string) {
      if (p === '') return entryOf({ name: '', type: 'dir' }, '');
      throw new DmgkitError('NOT_FOUND', 'not used');
    },
    // no catalog behind these entries: only the loop check of HfsVolume.descent
    async descent(e: HfsEntry, _state: unknown, ancestors: ReadonlySet<number>) {
      return ancestors.has(e.cnid) ? 'directory hard link loop' : null;
    },
  };
  return vol as unknown as HfsVolume;
}

let base = '';
function setup(): { dest: string; outside: string } {
  base = mkdtempSync(join(tmpdir(), 'dmgkit-safety-'));
  const dest = join(base, 'dest');
  const outside = join(base, 'outside');
  mkdirSync(outside);
  return { dest, outside };
}
afterEach(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

/** Every path under base, to prove nothing was written outside dest. */
function allPaths(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const r = rel ? `${rel}/${n}` : n;
    out.push(r);
    const st = lstatSync(join(dir, n));
    if (st.isDirectory()) out.push(...allPaths(join(dir, n), r));
  }
  return out;
}

describe('extraction safety', () => {
  it("names '..', '.' and '' are skipped and reported naming their folder; the rest is extracted, nothing escapes", async () => {
    for (const bad of ['..', '.', '']) {
      const { dest, outside } = setup();
      const vol = mockVolume([
        { name: 'ok', type: 'dir', children: [{ name: bad, type: 'file', data: 'pwned' }, { name: 'after', type: 'file', data: 'kept' }] },
        { name: bad, type: 'dir', children: [{ name: 'x', type: 'file', data: 'pwned' }] },
      ]);
      const res = await extractVolume(vol, dest);
      expect(res.skipped).toEqual([
        { path: `ok/${bad}`, reason: `refusing entry name ${JSON.stringify(bad)} in /ok` },
        { path: bad, reason: `refusing entry name ${JSON.stringify(bad)} in /` },
      ]);
      expect(readFileSync(join(dest, 'ok/after'), 'utf8')).toBe('kept');
      expect(readdirSync(outside)).toEqual([]);
      expect(allPaths(base).sort()).toEqual(['dest', 'dest/ok', 'dest/ok/after', 'outside']);
      rmSync(base, { recursive: true, force: true });
    }
  });

  it("'/' and NUL inside names are sanitized into one component", async () => {
    const { dest } = setup();
    const vol = mockVolume([
      { name: '../../outside/x', type: 'file', data: 'a' },
      { name: 'nul\0name', type: 'file', data: 'b' },
    ]);
    await extractVolume(vol, dest);
    expect(readdirSync(dest).sort()).toEqual(['.._.._outside_x', 'nul_name']);
    expect(readdirSync(join(base, 'outside'))).toEqual([]);
  });

  it('symlinks stay links (absolute targets too) and are never written through or followed', async () => {
    const { dest, outside } = setup();
    const vol = mockVolume([
      { name: 'Applications', type: 'symlink', target: '/Applications' },
      { name: 'esc', type: 'symlink', target: outside },
      { name: 'esc', type: 'file', data: 'through the link?' }, // same name: must not write through the link
      { name: 'esc', type: 'dir', children: [{ name: 'f', type: 'file', data: 'inside the link?' }] },
      { name: 'rel', type: 'symlink', target: '../outside' },
    ]);
    const res = await extractVolume(vol, dest);
    expect(readlinkSync(join(dest, 'Applications'))).toBe('/Applications');
    expect(lstatSync(join(dest, 'Applications')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(dest, 'esc')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dest, 'rel'))).toBe('../outside');
    expect(readdirSync(outside)).toEqual([]);
    expect(res.skipped.map((s) => s.path)).toEqual(['esc', 'esc']);
    expect(res.symlinks).toBe(3);
  });

  it('a destination that is itself a symlink is refused', async () => {
    const { dest, outside } = setup();
    const { symlinkSync } = await import('node:fs');
    symlinkSync(outside, dest);
    const err = await extractVolume(mockVolume([{ name: 'f', type: 'file', data: 'x' }]), dest).catch((e) => e);
    expect(err.code).toBe('UNSAFE_PATH');
    expect(readdirSync(outside)).toEqual([]);
  });

  it('setuid/setgid/sticky stripped unless keepSetuid; device nodes and FIFOs never created', async () => {
    const files: MockFile[] = [
      { name: 'suid', type: 'file', mode: 0o104755, data: '#!' },
      { name: 'sgid', type: 'file', mode: 0o102755, data: '#!' },
      { name: 'stickydir', type: 'dir', mode: 0o41777, children: [] },
      { name: 'fifo', type: 'fifo', mode: 0o10644 },
      { name: 'dev', type: 'block', mode: 0o60644 },
      { name: 'chr', type: 'char', mode: 0o20644 },
      { name: 'sock', type: 'socket', mode: 0o140644 },
    ];
    const { dest } = setup();
    const res = await extractVolume(mockVolume(files), dest);
    expect(statSync(join(dest, 'suid')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(dest, 'sgid')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(dest, 'stickydir')).mode & 0o7777).toBe(0o777);
    for (const n of ['fifo', 'dev', 'chr', 'sock']) expect(existsSync(join(dest, n))).toBe(false);
    expect(res.skipped.map((s) => s.path).sort()).toEqual(['chr', 'dev', 'fifo', 'sock']);
    rmSync(base, { recursive: true, force: true });
    const again = setup();
    await extractVolume(mockVolume(files), again.dest, { keepSetuid: true });
    expect(statSync(join(again.dest, 'suid')).mode & 0o7777).toBe(0o4755);
  });

  it('hard links: first occurrence written, later ones linked', async () => {
    const { dest } = setup();
    await extractVolume(
      mockVolume([
        { name: 'a', type: 'file', data: 'same', inode: 900 },
        { name: 'd', type: 'dir', children: [{ name: 'b', type: 'file', data: 'same', inode: 900 }] },
      ]),
      dest,
    );
    expect(statSync(join(dest, 'a')).ino).toBe(statSync(join(dest, 'd/b')).ino);
    expect(readFileSync(join(dest, 'd/b'), 'utf8')).toBe('same');
  });

  it('sanitize helpers', () => {
    expect(safeComponent('a:b', '')).toBe('a:b');
    expect(safeComponent('a/b', '')).toBe('a_b');
    expect(() => safeComponent('..', 'x')).toThrow(DmgkitError);
    expect(safeMode(0o106755, false)).toBe(0o755);
    expect(safeMode(0o106755, true)).toBe(0o6755);
  });
});

describe('extraction safety on a real volume with hostile catalog bytes', () => {
  it("a folder renamed '..' in the catalog is skipped and reported; an absolute symlink stays a link and is not followed", async () => {
    const { haveFixtures, synthetic } = await import('../helpers/fixtures.js');
    if (!haveFixtures()) return;
    const { openHfs } = await import('../../src/hfs/volume.js');
    const { BufferSource } = await import('../../src/io/buffer-source.js');
    const img = new Uint8Array(readFileSync(synthetic('features.hfs')));
    // symlink links/sym: its data fork "target.txt" (ASCII) becomes "/etc/hosts" (same length)
    const needle = new TextEncoder().encode('target.txt');
    let at = -1;
    for (let i = 0; i + needle.length <= img.length && at < 0; i += 512) {
      if (needle.every((c, k) => img[i + k] === c)) at = i;
    }
    expect(at).toBeGreaterThan(0);
    img.set(new TextEncoder().encode('/etc/hosts'), at);
    const vol = await openHfs(new BufferSource(img));
    expect(await vol.readlink('links/sym')).toBe('/etc/hosts');
    expect(await vol.readFile('links/sym').catch((e) => e.code)).toBe('NOT_FOUND');
    const { dest, outside } = setup();
    const res = await extractVolume(vol, dest, { forks: false });
    expect(readlinkSync(join(dest, 'links/sym'))).toBe('/etc/hosts');
    expect(res.skipped).toEqual([]);
    expect(readdirSync(outside)).toEqual([]);

    // catalog key (parent, "d1") → (parent, "..")
    let renamed = 0;
    for (let i = 0; i + 12 <= img.length; i++) {
      if (img[i] === 0 && img[i + 1] === 10 && img[i + 6] === 0 && img[i + 7] === 2 && img[i + 8] === 0 && img[i + 9] === 0x64 && img[i + 10] === 0 && img[i + 11] === 0x31) {
        img[i + 9] = 0x2e;
        img[i + 11] = 0x2e;
        renamed++;
      }
    }
    expect(renamed).toBe(1);
    const vol2 = await openHfs(new BufferSource(img));
    const dest2 = join(base, 'dest2');
    const res2 = await extractVolume(vol2, dest2, { forks: false });
    expect(res2.skipped.map((s) => s.reason)).toEqual(['refusing entry name ".." in /nested']);
    expect(res2.files).toBeLessThan(res.files); // what nested/d1 held
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(base, 'd2'))).toBe(false);
  });
});

describe('extraction of bit-flipped volumes', () => {
  it('fast-check: flips in the catalog and attributes trees: only DmgkitError, nothing outside DEST', async () => {
    const { haveFixtures, synthetic } = await import('../helpers/fixtures.js');
    if (!haveFixtures()) return;
    const fc = (await import('fast-check')).default;
    const { openHfs } = await import('../../src/hfs/volume.js');
    const { BufferSource } = await import('../../src/io/buffer-source.js');
    const img = new Uint8Array(readFileSync(synthetic('lzfse.hfs')));
    const be32 = (o: number) => ((img[o] << 24) | (img[o + 1] << 16) | (img[o + 2] << 8) | img[o + 3]) >>> 0;
    const bs = be32(1024 + 40);
    const regions = [272, 352].map((f) => [be32(1024 + f + 16) * bs, be32(1024 + f + 20) * bs] as const);
    const total = regions.reduce((a, [, n]) => a + n, 0);
    const { dest, outside } = setup();
    // DEST exists before the first run: a first run whose flips make openHfs fail (so nothing creates DEST) must still
    // see exactly DEST and `outside` in base. (This test was flaky: it created DEST only through the first successful
    // extraction, so it failed whenever fast-check's first, small-biased example broke the catalog's header node —
    // e.g. [[14, 6]], the B-tree depth — and passed for any other first example. Not load, not a shared folder.)
    mkdirSync(dest);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(total - 1), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }), async (flips) => {
        const at = flips.map(([k, bit]) => {
          for (const [start, n] of regions) {
            if (k < n) return [start + k, bit] as const;
            k -= n;
          }
          return [1024, bit] as const;
        });
        for (const [o, bit] of at) img[o] ^= 1 << bit;
        const d = join(dest, String(run++));
        try {
          const vol = await openHfs(new BufferSource(img));
          await extractVolume(vol, d);
        } catch (e) {
          if (!(e instanceof DmgkitError)) throw e;
          if (e.message.includes('unexpected failure')) throw e;
        } finally {
          for (const [o, bit] of [...at].reverse()) img[o] ^= 1 << bit;
        }
        expect(readdirSync(outside)).toEqual([]);
        expect(readdirSync(base).sort()).toEqual(['dest', 'outside']);
      }),
      // the flaky run's counterexample first: the catalog header's treeDepth high byte, bit 6 (openHfs refuses it)
      { numRuns: Number(process.env.FUZZ_ITERATIONS ?? 60), examples: [[[[14, 6]]]] },
    );
  });
});
