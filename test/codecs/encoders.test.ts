import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeLzfse } from '../../src/codecs/lzfse.js';
import { encodeLzfse, encodeLzfseInto, LZFSE_MAX_D_VALUE, type LzfseBlockKind } from '../../src/codecs/lzfse-encode.js';
import { decodeLzvn } from '../../src/codecs/lzvn.js';
import { encodeLzvn } from '../../src/codecs/lzvn-encode.js';
import { buildDmg, type BuildChunk, sevenZipPartitions } from '../helpers/build-dmg.js';
import { sevenZip } from '../helpers/fixtures.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import { writeUdifImage } from '../../src/udif/write/udif.js';
import { wholeDiskPlan } from '../../src/udif/write/plan.js';
import { encodeAdc } from '../../src/codecs/adc-encode.js';
import { normalizeFreq } from '../../src/codecs/fse-encode.js';
import { mixedData, padToSector, repetitiveData, rng, textData } from './data.js';

const LZFSE_CHUNK = 0x80000007;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const sz = sevenZip();

function randomData(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** Data built to exercise every bvx2 feature: long literal runs (L > 315), long matches (M > 2359),
 * distances at the limit (262139) and just beyond it, repeated distances, more than 10000 matches (several
 * blocks) and more than 40000 literals per stretch. */
function featureData(): Uint8Array {
  const parts: Uint8Array[] = [];
  const head = randomData(2000, 11); // literal run > 315
  parts.push(head);
  parts.push(new Uint8Array(50_000)); // zero run: M > 2359, repeated distance 1
  parts.push(randomData(LZFSE_MAX_D_VALUE - 52_000, 12)); // filler (also > 40000 literals)
  parts.push(head.subarray(0, 1000)); // copy of `head` at distance exactly 262139
  // Many short matches: a text stretch (> 10000 matches, so several blocks).
  parts.push(textData(200_000, 13));
  // A copy of the filler start at distance 262140 (one beyond the limit): must not be a match at that distance.
  const at = parts.reduce((a, p) => a + p.length, 0);
  const all = new Uint8Array(at + 4000);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  all.copyWithin(at, at - 262_140, at - 262_140 + 4000);
  return all;
}

interface BlockInfo {
  magic: string;
  raw: number;
  nLiterals?: number;
  nMatches?: number;
}
/** Walk an LZFSE stream's block headers (format: reference lzfse_internal.h). */
function blocks(s: Uint8Array): BlockInfo[] {
  const dv = new DataView(s.buffer, s.byteOffset, s.byteLength);
  const out: BlockInfo[] = [];
  let p = 0;
  for (;;) {
    const magic = Buffer.from(s.subarray(p, p + 4)).toString('latin1');
    if (magic === 'bvx$') return out;
    const raw = dv.getUint32(p + 4, true);
    if (magic === 'bvx-') {
      out.push({ magic, raw });
      p += 8 + raw;
    } else if (magic === 'bvxn') {
      out.push({ magic, raw });
      p += 12 + dv.getUint32(p + 8, true);
    } else if (magic === 'bvx2') {
      const f0 = dv.getBigUint64(p + 8, true);
      const f1 = dv.getBigUint64(p + 16, true);
      const headerSize = dv.getUint32(p + 24, true);
      const nLiterals = Number(f0 & 0xfffffn);
      const litBytes = Number((f0 >> 20n) & 0xfffffn);
      const nMatches = Number((f0 >> 40n) & 0xfffffn);
      const lmdBytes = Number((f1 >> 40n) & 0xfffffn);
      out.push({ magic, raw, nLiterals, nMatches });
      p += headerSize + litBytes + lmdBytes;
    } else throw new Error(`unexpected block magic ${JSON.stringify(magic)} at ${p}`);
  }
}

function ourLzfse(enc: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  decodeLzfse(enc, out);
  return out;
}

/** Build one image from chunks of ≤ 1 MiB and check 7-Zip's decoded partition against the original. */
function sevenZipAgrees(chunks: BuildChunk[]): void {
  const parts = sevenZipPartitions(sz!, buildDmg(chunks));
  expect(parts.size).toBe(1);
  const whole = Buffer.concat(chunks.map((c) => c.decoded));
  const got = [...parts.values()][0]!;
  expect(got.length).toBe(whole.length);
  expect(sha256(got)).toBe(sha256(whole));
}

const samples: [string, Uint8Array][] = [
  ['random', randomData(200_000, 1)],
  ['text', textData(400_000, 2)],
  ['repetitive', repetitiveData(300_000, 3)],
  ['mixed 1 MiB', mixedData(1 << 20, 4)],
  ['zeros', new Uint8Array(1 << 20)],
  ['one sector', textData(512, 5)],
];

describe('encodeLzfse', () => {
  it('empty input is just the end-of-stream block', () => {
    expect(Buffer.from(encodeLzfse(new Uint8Array(0))).toString('latin1')).toBe('bvx$');
  });

  for (const kind of ['bvx2', 'bvxn', 'bvx-', 'auto'] as LzfseBlockKind[]) {
    it(`${kind}: our decoder restores every sample, with the requested block kind`, () => {
      for (const [label, data] of samples) {
        const enc = encodeLzfse(data, { blockKind: kind });
        const bl = blocks(enc);
        expect(bl.reduce((a, b) => a + b.raw, 0), label).toBe(data.length);
        // auto: bvx2, or for inputs under 4 KiB one bvxn block when that is smaller (as Apple's encoder).
        const want = kind !== 'auto' ? kind : data.length < 4096 ? bl[0]!.magic : 'bvx2';
        expect(['bvx2', 'bvxn', 'bvx-']).toContain(want);
        expect(new Set(bl.map((b) => b.magic)), label).toEqual(new Set([want]));
        if (kind === 'auto' && want === 'bvxn') {
          expect(enc.length, label).toBeLessThan(encodeLzfse(data, { blockKind: 'bvx2' }).length);
        }
        expect(Buffer.compare(ourLzfse(enc, data.length), data), label).toBe(0);
      }
    });
  }

  it('bvx2 compresses text and runs well, and random data only slightly grows', () => {
    const text = samples[1]![1];
    expect(encodeLzfse(text).length).toBeLessThan(text.length * 0.45);
    expect(encodeLzfse(new Uint8Array(1 << 20)).length).toBeLessThan(2000);
    const rnd = samples[0]![1];
    expect(encodeLzfse(rnd).length).toBeLessThan(rnd.length * 1.05);
  });

  it('the same input encodes to the same bytes whatever was encoded before (reused workspace, warm-up sample)', () => {
    const text = samples[1]![1];
    const first = encodeLzfse(text);
    encodeLzfse(samples[3]![1]);
    encodeLzfse(samples[0]![1]);
    expect(Buffer.compare(encodeLzfse(text), first)).toBe(0);
  });

  it('encodeLzfseInto writes the same stream into a caller buffer, or returns -1 and leaves a too small one as it was', () => {
    for (const [label, data] of samples) {
      const want = encodeLzfse(data);
      const out = new Uint8Array(want.length + 16).fill(0xaa);
      expect(encodeLzfseInto(data, out), label).toBe(want.length);
      expect(Buffer.compare(out.subarray(0, want.length), want), label).toBe(0);
      expect(out.subarray(want.length).every((b) => b === 0xaa), label).toBe(true);
      const small = new Uint8Array(want.length - 1).fill(0x55);
      expect(encodeLzfseInto(data, small), label).toBe(-1);
      expect(small.every((b) => b === 0x55), label).toBe(true);
    }
  });

  it('a match running to the last byte of the input decodes exactly', () => {
    // A 64-byte pattern repeated to the very end: the last match must stop within the input.
    const data = new Uint8Array(100_003);
    const pat = randomData(64, 31);
    for (let i = 0; i < data.length; i++) data[i] = pat[i % 64]!;
    const enc = encodeLzfse(data);
    expect(enc.length).toBeLessThan(1000);
    expect(Buffer.compare(ourLzfse(enc, data.length), data)).toBe(0);
  });

  it('feature data spans several bvx2 blocks within the decoder limits', () => {
    const data = featureData();
    const bl = blocks(encodeLzfse(data, { blockKind: 'bvx2' }));
    expect(bl.length).toBeGreaterThan(1);
    for (const b of bl) {
      expect(b.nMatches!).toBeLessThanOrEqual(10_000);
      expect(b.nLiterals!).toBeLessThanOrEqual(40_000);
      expect(b.nLiterals! % 4).toBe(0);
    }
    expect(Math.max(...bl.map((b) => b.nMatches!))).toBeGreaterThan(9000);
  });

  it('feature data: the copy at distance exactly 262139 is matched (output shrinks by ~its length)', () => {
    const data = featureData();
    const at = 2000 + 50_000 + (LZFSE_MAX_D_VALUE - 52_000);
    expect(Buffer.compare(data.subarray(at, at + 1000), data.subarray(0, 1000))).toBe(0);
    const spoiled = Uint8Array.from(data);
    spoiled.set(randomData(1000, 99), at);
    expect(encodeLzfse(spoiled).length - encodeLzfse(data).length).toBeGreaterThan(900);
  });

  it('history positions are kept modulo 2^18: copies at distances that alias to 0 and 100 still decode exactly', () => {
    // The same block at 0, 100 (partly), 2^18 (the entries of the first copy alias to distance 0 and 100 there,
    // both with matching tags) and 30100 after that (a real match): every candidate must be checked against the
    // input. Our decoder and, inside a DMG, 7-Zip.
    const block = randomData(8192, 21);
    const data = randomData(616 * 512, 22);
    data.set(block, 0);
    data.set(block, 262_144);
    data.set(block, 262_144 + 30_100);
    data.set(block.subarray(0, 512), 100);
    const enc = encodeLzfse(data, { blockKind: 'bvx2' });
    const out = new Uint8Array(data.length);
    decodeLzfse(enc, out);
    expect(Buffer.compare(out, data)).toBe(0);
    const spoiled = Uint8Array.from(data);
    spoiled.set(randomData(8192, 23), 262_144 + 30_100);
    expect(encodeLzfse(spoiled, { blockKind: 'bvx2' }).length - enc.length).toBeGreaterThan(7000); // found
    if (sz) sevenZipAgrees([{ type: LZFSE_CHUNK, payload: enc, decoded: data }]);
  });

  it.runIf(sz)('7-Zip decodes bvx2 and bvxn chunks of every sample inside a ULFO image', () => {
    for (const kind of ['bvx2', 'bvxn'] as LzfseBlockKind[]) {
      sevenZipAgrees(
        samples.map(([, d]) => {
          const decoded = padToSector(d);
          return { type: LZFSE_CHUNK, payload: encodeLzfse(decoded, { blockKind: kind }), decoded };
        }),
      );
    }
  });

  it.runIf(sz)('7-Zip decodes feature data (limits of L, M, D, blocks) split into 1 MiB chunks', () => {
    const data = padToSector(featureData());
    const chunks: BuildChunk[] = [];
    // One chunk with everything (≤ 1 MiB = 2048 sectors) so the far distances stay inside a chunk.
    expect(data.length).toBeLessThanOrEqual(1 << 20);
    chunks.push({ type: LZFSE_CHUNK, payload: encodeLzfse(data), decoded: data });
    sevenZipAgrees(chunks);
    expect(Buffer.compare(ourLzfse(chunks[0]!.payload, data.length), data)).toBe(0);
  });

  it.runIf(sz)('property: arbitrary data and sizes, 7-Zip and our decoder agree with the input', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1 << 30 }),
        fc.integer({ min: 1, max: 300_000 }),
        fc.nat(3),
        fc.constantFrom<LzfseBlockKind>('bvx2', 'bvxn'),
        (seed, n, which, kind) => {
          const gen = [mixedData, textData, repetitiveData, randomData][which]!;
          const decoded = padToSector(gen(n, seed));
          const payload = encodeLzfse(decoded, { blockKind: kind });
          expect(Buffer.compare(ourLzfse(payload, decoded.length), decoded)).toBe(0);
          sevenZipAgrees([{ type: LZFSE_CHUNK, payload, decoded }]);
        },
      ),
      { numRuns: 10 },
    );
  });

  it.runIf(sz)('a damaged bvx2 chunk makes 7-Zip fail (the oracle check can fail)', () => {
    const decoded = padToSector(textData(50_000, 21));
    const payload = encodeLzfse(decoded);
    payload[payload.length - 100]! ^= 0x10;
    expect(() => sevenZipAgrees([{ type: LZFSE_CHUNK, payload, decoded }])).toThrow();
  });
});

describe('normalizeFreq (7-Zip accepts only tables summing exactly to the state count)', () => {
  it('property: sums to nstates, every used symbol ≥ 1, unused symbols 0', () => {
    fc.assert(
      fc.property(
        fc.constantFrom([20, 64], [64, 256], [256, 1024]),
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 1_000_000 })), { minLength: 256, maxLength: 256 }),
        ([nsym, nstates], raw) => {
          const counts = Uint32Array.from(raw.slice(0, nsym!));
          if (counts.every((c) => c === 0)) counts[0] = 1;
          const freq = new Uint16Array(nsym!);
          normalizeFreq(counts, nstates!, freq);
          expect(freq.reduce((a, f) => a + f, 0)).toBe(nstates);
          counts.forEach((c, i) => (c === 0 ? expect(freq[i]).toBe(0) : expect(freq[i]).toBeGreaterThanOrEqual(1)));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('encodeLzvn', () => {
  it('ends with the end-of-stream opcode and seven zero bytes', () => {
    const enc = encodeLzvn(textData(1000, 1));
    expect(Array.from(enc.subarray(enc.length - 8))).toEqual([6, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(encodeLzvn(new Uint8Array(0)))).toEqual([6, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('our LZVN decoder restores every sample and tiny inputs', () => {
    const all: [string, Uint8Array][] = [...samples];
    for (let n = 1; n < 40; n++) all.push([`tiny ${n}`, repetitiveData(n, n)]);
    for (const [label, data] of all) {
      const out = new Uint8Array(data.length);
      decodeLzvn(encodeLzvn(data), out);
      expect(Buffer.compare(out, data), label).toBe(0);
    }
  });

  it('property: random short inputs with many literal/match combinations decode exactly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.nat(5), (noise, period) => {
        // Mix noise with periodic copies so matches of all lengths and distances follow 0..3 literals.
        const data = new Uint8Array(noise.length * 2);
        for (let i = 0; i < data.length; i++) data[i] = i % (period + 2) === 0 ? noise[i >> 1]! : i >= 7 ? data[i - 7]! : i;
        const out = new Uint8Array(data.length);
        decodeLzvn(encodeLzvn(data), out);
        expect(Buffer.compare(out, data)).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it.runIf(sz)('7-Zip decodes standalone LZVN streams wrapped as bvxn blocks', () => {
    const chunks = samples.map(([, d]) => {
      const decoded = padToSector(d);
      const lzvn = encodeLzvn(decoded);
      const head = new Uint8Array(12);
      const hv = new DataView(head.buffer);
      head.set(Buffer.from('bvxn', 'latin1'));
      hv.setUint32(4, decoded.length, true);
      hv.setUint32(8, lzvn.length, true);
      const payload = Buffer.concat([head, lzvn, Buffer.from('bvx$', 'latin1')]);
      return { type: LZFSE_CHUNK, payload, decoded };
    });
    sevenZipAgrees(chunks);
  });
});

describe.runIf(sz)('with the UDIF writer (src/udif/write/udif.ts)', () => {
  for (const [label, type, encode] of [
    ['ULFO (LZFSE)', LZFSE_CHUNK, (d: Uint8Array) => encodeLzfse(d)],
    ['UDCO (ADC)', 0x80000004, encodeAdc],
  ] as const) {
    it(`${label}: a 3 MiB mixed disk written by writeUdifImage is decoded by 7-Zip`, async () => {
      const disk = padToSector(mixedData(3 * (1 << 20) + 5000, 31));
      const pieces: Uint8Array[] = [];
      const opts = { chunkType: type, encoder: (d: Uint8Array) => encode(d), chunkSectors: 2048 };
      for await (const p of writeUdifImage(new BufferSource(disk), wholeDiskPlan(disk.length / 512), opts)) pieces.push(p);
      const image = Buffer.concat(pieces);
      expect(image.length).toBeLessThan(disk.length * 0.7); // the chunks really are encoded, not stored raw
      const parts = sevenZipPartitions(sz!, image);
      const got = Buffer.concat([...parts.values()]);
      expect(sha256(got)).toBe(sha256(disk));
    });
  }
});

describe('random seeds are not a hidden dependency', () => {
  it('randomBytes data also round-trips (non-deterministic input)', () => {
    const data = new Uint8Array(randomBytes(50_000));
    const out = new Uint8Array(data.length);
    decodeLzfse(encodeLzfse(data), out);
    expect(Buffer.compare(out, data)).toBe(0);
  });
});
