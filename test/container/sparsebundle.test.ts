import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { openSparseBundle, bandFileName } from '../../src/container/sparsebundle.js';
import { readPartitionMap, openPartition } from '../../src/disk/partition-map.js';
import { sniffFilesystem } from '../../src/disk/filesystem.js';
import { haveFixtures, synthetic } from '../helpers/fixtures.js';
import { writeSparseBundle } from './build.js';

const root = mkdtempSync(join(tmpdir(), 'dmgkit-bundle-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = (): string => join(root, `b${n++}.sparsebundle`);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('sparse bundle', () => {
  it('names bands in lower-case hex without leading zeros', () => {
    expect([0, 9, 10, 255, 4096].map(bandFileName)).toEqual(['0', '9', 'a', 'ff', '1000']);
  });

  it('reads absent and short bands as zeros, across band boundaries, with a bounded set of open files', async () => {
    const r = rng(7);
    const bandSize = 8192;
    const disk = new Uint8Array(40 * bandSize + 1234 * 0 + 512 * 5);
    for (let i = 0; i < disk.length; i++) disk[i] = (r() * 256) | 0;
    const nb = Math.ceil(disk.length / bandSize);
    const bands = new Map<number, number>();
    const expected = new Uint8Array(disk.length);
    for (let b = 0; b < nb; b++) {
      const x = r();
      if (x < 0.2) continue; // absent
      const full = Math.min(bandSize, disk.length - b * bandSize);
      const len = x < 0.4 ? Math.floor(r() * full) : full; // short band
      bands.set(b, len);
      expected.set(disk.subarray(b * bandSize, b * bandSize + len), b * bandSize);
    }
    const dir = newDir();
    writeSparseBundle(dir, disk, bandSize, bands);
    const img = await openSparseBundle(dir, { maxOpenBands: 3 });
    try {
      expect(img.size).toBe(disk.length);
      expect(img.info.bandSize).toBe(bandSize);
      expect(sha(await img.read(0, img.size))).toBe(sha(expected));
      expect(img.openBandCount).toBeLessThanOrEqual(3);
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: disk.length }).chain((o) =>
            fc.tuple(fc.constant(o), fc.integer({ min: 0, max: Math.min(disk.length - o, 3 * bandSize + 497) })),
          ),
          async ([o, l]) => {
            expect(Buffer.from(await img.read(o, l)).equals(Buffer.from(expected.subarray(o, o + l)))).toBe(true);
          },
        ),
        { numRuns: 150 },
      );
      // Concurrent reads over many bands while eviction runs.
      const offs = Array.from({ length: 24 }, (_, i) => (i * 7919 * 13) % (disk.length - 20000));
      const got = await Promise.all(offs.map((o) => img.read(o, 20000)));
      got.forEach((g, i) => expect(Buffer.from(g).equals(Buffer.from(expected.subarray(offs[i], offs[i] + 20000)))).toBe(true));
      expect(img.openBandCount).toBeLessThanOrEqual(3);
      await expect(img.read(disk.length - 10, 11)).rejects.toMatchObject({ code: 'TRUNCATED' });
    } finally {
      await img.close();
    }
  });

  it.runIf(haveFixtures())('a fixture disk in a bundle keeps its partition map and file system', async () => {
    const raw = new Uint8Array(readFileSync(synthetic('lzfse-mbr.img')));
    const bandSize = 65536;
    const bands = new Map<number, number>();
    for (let b = 0; b * bandSize < raw.length; b++) {
      const s = raw.subarray(b * bandSize, (b + 1) * bandSize);
      let last = s.length;
      while (last > 0 && s[last - 1] === 0) last--;
      if (last > 0) bands.set(b, last); // trailing zeros trimmed; all-zero bands absent
    }
    const dir = newDir();
    writeSparseBundle(dir, raw, bandSize, bands);
    const img = await openSparseBundle(dir);
    try {
      expect(sha(await img.read(0, img.size))).toBe(sha(raw));
      const map = await readPartitionMap(img);
      expect(map.scheme).toBe('mbr');
      expect((await sniffFilesystem(openPartition(img, map.entries[0]))).type).toBe('hfsplus');
    } finally {
      await img.close();
    }
  });

  it('reports bad bundles with typed errors, falling back to Info.bckup', async () => {
    await expect(openSparseBundle(join(root, 'nope'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const file = join(root, 'plainfile');
    writeFileSync(file, 'x');
    await expect(openSparseBundle(file)).rejects.toMatchObject({ code: 'NOT_A_DIRECTORY' });
    const empty = newDir();
    mkdirSync(empty);
    await expect(openSparseBundle(empty)).rejects.toMatchObject({ code: 'NOT_AN_IMAGE' });

    const disk = new Uint8Array(16384).fill(7);
    const dir = newDir();
    writeSparseBundle(dir, disk, 4096, new Map([[1, 4096]]));
    writeFileSync(join(dir, 'Info.plist'), '<plist><dict><key>size</key>'); // damaged
    const img = await openSparseBundle(dir);
    expect(img.info.usedBackup).toBe(true);
    expect(img.warnings.length).toBe(1);
    expect(Array.from(await img.read(4092, 8))).toEqual([0, 0, 0, 0, 7, 7, 7, 7]);
    await img.close();

    // Encrypted bundle: the CDSA header sits in `token`.
    const enc = newDir();
    writeSparseBundle(enc, disk, 4096, new Map([[0, 4096]]));
    const token = new Uint8Array(4096);
    token.set(new TextEncoder().encode('encrcdsa'), 0);
    token.set([0, 0, 0, 2], 8);
    writeFileSync(join(enc, 'token'), token);
    await expect(openSparseBundle(enc)).rejects.toMatchObject({ code: 'ENCRYPTED' });

    const bad = (body: string): string => {
      const d = newDir();
      mkdirSync(d);
      writeFileSync(join(d, 'Info.plist'), `<?xml version="1.0"?><plist version="1.0"><dict>${body}</dict></plist>`);
      return d;
    };
    const T = '<key>diskimage-bundle-type</key><string>com.apple.diskimage.sparsebundle</string>';
    await expect(openSparseBundle(bad(`${T}<key>size</key><integer>10</integer>`))).rejects.toMatchObject({ code: 'CORRUPT_HEADER' });
    await expect(openSparseBundle(bad(`${T}<key>band-size</key><integer>0</integer><key>size</key><integer>10</integer>`))).rejects.toMatchObject({ code: 'CORRUPT_HEADER' });
    await expect(openSparseBundle(bad(`<key>diskimage-bundle-type</key><string>x</string>`))).rejects.toMatchObject({ code: 'NOT_AN_IMAGE' });
  });
});
