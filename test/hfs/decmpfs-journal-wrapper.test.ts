import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DmgkitError } from '../../src/errors.js';
import { openHfs } from '../../src/hfs/volume.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import { haveFixtures, synthetic } from '../helpers/fixtures.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const be32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

/** Offsets of every com.apple.decmpfs header ('fpmc' on disk) of a given type in the image. */
function decmpfsHeaders(img: Uint8Array, type: number): number[] {
  const out: number[] = [];
  for (let i = 0; i + 16 <= img.length; i++) {
    if (img[i] === 0x66 && img[i + 1] === 0x70 && img[i + 2] === 0x6d && img[i + 3] === 0x63 && img[i + 4] === type && img[i + 5] === 0 && img[i + 6] === 0 && img[i + 7] === 0) out.push(i);
  }
  return out;
}
function tsv(name: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of readFileSync(synthetic(name), 'utf8').split('\n')) {
    const f = l.split('\t');
    if (f[1] === 'f') m.set(f[0], f[6]);
  }
  return m;
}

describe.runIf(haveFixtures())('decmpfs edge cases, journal state, HFS wrapper', () => {
  const pristine = haveFixtures() ? new Uint8Array(readFileSync(synthetic('features.hfs'))) : new Uint8Array(0);

  it('an unknown decmpfs type is listed by number and reads fail with UNSUPPORTED_CODEC', async () => {
    const img = pristine.slice();
    const hits = decmpfsHeaders(img, 3);
    expect(hits.length).toBeGreaterThan(0);
    for (const o of hits) img[o + 4] = 13; // LZBITMAP-attr
    const vol = await openHfs(new BufferSource(img));
    const compressed = (await vol.readdir('compress')).filter((e) => e.compressed?.type === 13);
    expect(compressed.length).toBe(hits.length);
    const err = await vol.readFile(compressed[0]).catch((e) => e);
    expect(err).toBeInstanceOf(DmgkitError);
    expect(err.code).toBe('UNSUPPORTED_CODEC');
    expect(err.message).toMatch(/type 13 \(lzbitmap-attr\)/);
  });

  it('a file may not decompress beyond (or short of) its declared size', async () => {
    for (const type of [3, 4, 7, 8]) {
      for (const delta of [-1, 1]) {
        const img = pristine.slice();
        const hits = decmpfsHeaders(img, type);
        expect(hits.length, `type ${type}`).toBeGreaterThan(0);
        const o = hits[0];
        const size = img[o + 8] | (img[o + 9] << 8) | (img[o + 10] << 16) | (img[o + 11] << 24);
        const n = size + delta;
        img[o + 8] = n & 0xff;
        img[o + 9] = (n >> 8) & 0xff;
        img[o + 10] = (n >> 16) & 0xff;
        img[o + 11] = (n >> 24) & 0xff;
        const vol = await openHfs(new BufferSource(img));
        const victim = (await vol.readdir('compress')).find((e) => e.compressed?.type === type && e.size === n);
        expect(victim, `type ${type}`).toBeDefined();
        const err = await vol.readFile(victim!).catch((e) => e);
        expect(err, `type ${type} delta ${delta}`).toBeInstanceOf(DmgkitError);
        expect(['CORRUPT_CHUNK', 'CORRUPT_FS']).toContain(err.code);
      }
    }
  });

  it('a journal that is not empty (start != end) puts a warning on the volume', async () => {
    const img = pristine.slice();
    const blockSize = be32(img, 1024 + 40);
    const jib = be32(img, 1024 + 12) * blockSize;
    const off = be32(img, jib + 36) * 0x1_0000_0000 + be32(img, jib + 40);
    const le = img[off + 4] === 0x78; // endian field 0x12345678 written little-endian
    const endAt = off + 16 + (le ? 0 : 7); // least significant byte of 'end'
    img[endAt] ^= 0x02;
    const vol = await openHfs(new BufferSource(img));
    expect(vol.info.journaled).toBe(true);
    expect(vol.info.journalEmpty).toBe(false);
    expect(vol.info.warnings.join(' ')).toMatch(/journal is not empty/);
  });

  it('an HFS+ volume embedded in a classic HFS wrapper is found and opened', async () => {
    const EMBED_AT = 16 * 512;
    const blocks = pristine.length / 4096;
    const img = new Uint8Array(EMBED_AT + pristine.length + 1024);
    img.set(pristine, EMBED_AT);
    const mdb = 1024;
    img[mdb] = 0x42; // 'BD'
    img[mdb + 1] = 0x44;
    img.set([0, 0, 0x10, 0], mdb + 20); // drAlBlkSiz 4096
    img.set([0, 16], mdb + 28); // drAlBlSt: 16 × 512
    img[mdb + 124] = 0x48; // drEmbedSigWord 'H+'
    img[mdb + 125] = 0x2b;
    img.set([0, 0, blocks >> 8, blocks & 0xff], mdb + 126); // drEmbedExtent {0, blocks}
    const vol = await openHfs(new BufferSource(img));
    expect(vol.info.embeddedOffset).toBe(EMBED_AT);
    expect(sha(await vol.readFile('big/big.bin'))).toBe(tsv('small.expected.tsv').get('big/big.bin'));
  });
});

describe.runIf(haveFixtures())('decmpfs resource forks under bit flips', () => {
  it('fast-check: flips inside compressed files’ resource forks give only DmgkitError (CORRUPT_CHUNK/FS) or data', async () => {
    const fc = (await import('fast-check')).default;
    const img = new Uint8Array(readFileSync(synthetic('features.hfs')));
    const vol0 = await openHfs(new BufferSource(img));
    // Where the compressed files' resource forks live (through the reader's own fork mapping).
    const ranges: [number, number][] = [];
    for await (const e of vol0.walk('compress')) {
      if (!e.compressed || e.compressed.type % 2 === 1) continue;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const v = vol0 as any;
      const node = await v.nodeOf(e, false);
      for (const x of await v.fork(node.target, 'rsrc').extents()) ranges.push([x.startBlock * vol0.info.blockSize, x.blockCount * vol0.info.blockSize]);
    }
    expect(ranges.length).toBeGreaterThan(0);
    const total = ranges.reduce((a, [, n]) => a + n, 0);
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(total - 1), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }), async (flips) => {
        const at = flips.map(([k, bit]) => {
          for (const [s, n] of ranges) {
            if (k < n) return [s + k, bit] as const;
            k -= n;
          }
          return [0, bit] as const;
        });
        for (const [o, bit] of at) img[o] ^= 1 << bit;
        try {
          const vol = await openHfs(new BufferSource(img));
          for await (const e of vol.walk('compress')) if (e.type === 'file') await vol.readFile(e);
          seen.add('ok');
        } catch (e) {
          if (!(e instanceof DmgkitError) || e.message.includes('unexpected failure')) throw e;
          seen.add(e.code);
        } finally {
          for (const [o, bit] of [...at].reverse()) img[o] ^= 1 << bit;
        }
      }),
      { numRuns: Number(process.env.FUZZ_ITERATIONS ?? 120) },
    );
    expect([...seen].every((c) => ['ok', 'CORRUPT_CHUNK', 'CORRUPT_FS'].includes(c))).toBe(true);
  });
});
