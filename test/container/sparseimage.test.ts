import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BufferSource } from '../../src/io/buffer-source.js';
import { openSparseImage, isSparseImage } from '../../src/container/sparseimage.js';
import { readPartitionMap, openPartition } from '../../src/disk/partition-map.js';
import { sniffFilesystem } from '../../src/disk/filesystem.js';
import { isDmgkitError } from '../../src/errors.js';
import { haveFixtures, synthetic } from '../helpers/fixtures.js';
import { buildSparseImage, expectedWithMissing } from './build.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
function shuffle<T>(a: T[], r: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function checkRandomReads(img: { size: number; read(o: number, l: number): Promise<Uint8Array> }, expected: Uint8Array, runs = 200): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: expected.length }).chain((off) =>
        fc.tuple(fc.constant(off), fc.integer({ min: 0, max: Math.min(expected.length - off, 3 * 4096 + 17) })),
      ),
      async ([off, len]) => {
        const got = await img.read(off, len);
        expect(got.length).toBe(len);
        expect(Buffer.from(got).equals(Buffer.from(expected.subarray(off, off + len)))).toBe(true);
      },
    ),
    { numRuns: runs },
  );
}

describe('sparse image', () => {
  it('recognises the signature', () => {
    expect(isSparseImage(new TextEncoder().encode('sprs\0\0\0\x03'))).toBe(true);
    expect(isSparseImage(new TextEncoder().encode('koly'))).toBe(false);
    expect(isSparseImage(new Uint8Array(2))).toBe(false);
  });

  it('reads a random disk stored with bands out of order and some missing, at random offsets', async () => {
    const disk = randomBytes(200 * 1024 + 512 * 3, 1); // not a whole number of bands
    const spb = 8; // 4 KiB bands
    const bandBytes = spb * 512;
    const nBands = Math.ceil(disk.length / bandBytes);
    const r = rng(2);
    const stored = shuffle([...Array(nBands).keys()], r).filter(() => r() < 0.75);
    const img = await openSparseImage(new BufferSource(buildSparseImage(disk, spb, stored)));
    expect(img.size).toBe(disk.length);
    expect(img.bandBytes).toBe(bandBytes);
    expect(img.storedBands).toBe(stored.length);
    expect(img.warnings).toEqual([]);
    const expected = expectedWithMissing(disk, bandBytes, stored);
    expect(sha(await img.read(0, img.size))).toBe(sha(expected));
    await checkRandomReads(img, expected);
  });

  it('follows index nodes past the 1008 header slots', async () => {
    const disk = randomBytes(2500 * 512, 3);
    const spb = 1; // 512-byte bands: 2500 bands, so two index nodes
    const stored = shuffle([...Array(2500).keys()], rng(4)).filter((b) => b % 7 !== 3);
    const img = await openSparseImage(new BufferSource(buildSparseImage(disk, spb, stored)));
    expect(img.storedBands).toBe(stored.length);
    const expected = expectedWithMissing(disk, 512, stored);
    expect(sha(await img.read(0, img.size))).toBe(sha(expected));
    await checkRandomReads(img, expected, 100);
  });

  it.runIf(haveFixtures())('a fixture disk in a sparse image keeps its partition map and file system', async () => {
    const raw = new Uint8Array(readFileSync(synthetic('lzfse-mbr.img')));
    const spb = 16;
    const n = Math.ceil(raw.length / (spb * 512));
    // Store every band that holds a non-zero byte, in reverse order; all-zero bands stay absent (as hdiutil does).
    const stored: number[] = [];
    for (let b = n - 1; b >= 0; b--) {
      const s = raw.subarray(b * spb * 512, (b + 1) * spb * 512);
      if (s.some((x) => x !== 0)) stored.push(b);
    }
    expect(stored.length).toBeLessThan(n); // some bands really are missing
    const img = await openSparseImage(new BufferSource(buildSparseImage(raw, spb, stored)));
    expect(sha(await img.read(0, img.size))).toBe(sha(raw));
    const map = await readPartitionMap(img);
    const rawMap = await readPartitionMap(new BufferSource(raw));
    expect(map.entries).toEqual(rawMap.entries);
    expect(map.scheme).toBe('mbr');
    expect((await sniffFilesystem(openPartition(img, map.entries[0]))).type).toBe('hfsplus');
  });

  it('rejects bad headers with typed errors', async () => {
    const disk = randomBytes(64 * 512, 5);
    const good = buildSparseImage(disk, 8, [0, 1, 2]);
    const bad = (patch: (b: Uint8Array) => void): Uint8Array => {
      const c = good.slice();
      patch(c);
      return c;
    };
    await expect(openSparseImage(new BufferSource(new Uint8Array(100)))).rejects.toMatchObject({ code: 'NOT_AN_IMAGE' });
    const enc = new Uint8Array(8192);
    enc.set(new TextEncoder().encode('encrcdsa'), 0);
    await expect(openSparseImage(new BufferSource(enc))).rejects.toMatchObject({ code: 'ENCRYPTED' });
    await expect(openSparseImage(new BufferSource(good.slice(0, 1000)))).rejects.toMatchObject({ code: 'TRUNCATED' });
    await expect(openSparseImage(new BufferSource(bad((b) => b.fill(0, 8, 12))))).rejects.toMatchObject({ code: 'CORRUPT_HEADER' });
    // Band numbers past the disk are ignored with a warning; a band stored twice keeps the first copy.
    const odd = bad((b) => {
      b[64 + 4 * 2 + 3] = 200; // slot 2 names band 200 of 8
    });
    const img = await openSparseImage(new BufferSource(odd));
    expect(img.warnings.join('\n')).toMatch(/band 200/);
    expect(img.storedBands).toBe(2);
  });

  it('mutated real headers: opens with warnings or fails with DmgkitError; reads stay in range', async () => {
    const disk = randomBytes(40 * 512, 9);
    const good = buildSparseImage(disk, 2, [3, 0, 7, 1, 19]);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 127 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 10 }),
        async (muts) => {
          const b = good.slice();
          for (const [o, v] of muts) b[o] = v;
          try {
            const img = await openSparseImage(new BufferSource(b));
            const n = Math.min(img.size, 64 * 1024);
            const got = await img.read(img.size - n, n);
            expect(got.length).toBe(n);
          } catch (e) {
            expect(isDmgkitError(e), String(e)).toBe(true);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('never throws anything but DmgkitError on arbitrary headers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 9000 }), fc.boolean(), async (bytes, sig) => {
        if (sig && bytes.length >= 4) bytes.set([0x73, 0x70, 0x72, 0x73], 0);
        try {
          const img = await openSparseImage(new BufferSource(bytes));
          if (img.size > 0) await img.read(0, Math.min(img.size, 4096));
        } catch (e) {
          expect(isDmgkitError(e)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
