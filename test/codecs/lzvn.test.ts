import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeLzvn, lzvnDecodeBlock } from '../../src/codecs/lzvn.js';
import { DmgkitError } from '../../src/errors.js';
import { buildDmg, SECTOR, sevenZipPartitions } from '../helpers/build-dmg.js';
import { sevenZip } from '../helpers/fixtures.js';
import { mixedData, repetitiveData, rng, textData } from './data.js';
import { applyTriplets, bvxnBlock, EOS_BLOCK, greedyParse, lzvnEncode, lzvnRunBlock, LZVN_MAX_D, type Triplet } from './lzfse-build.js';
import { expectCorrupt } from '../helpers/errors.js';

/*
 * LZVN opcodes assembled by hand from the format description (Apple lzfse, lzvn_decode_base.c):
 *   sml_d LLMMMDDD DDDDDDDD        L 0-3, M = MMM + 3, D 11 bits
 *   med_d 101LLMMM DDDDDDMM DDDDDDDD  L 0-3, M = (MMM << 2 | MM) + 3, D 14 bits
 *   lrg_d LLMMM111 D16 (LE)        L 0-3, M = MMM + 3
 *   pre_d LLMMM110                 previous D
 *   sml_l 1110LLLL / lrg_l 0xE0 L-16 ; sml_m 1111MMMM / lrg_m 0xF0 M-16 (previous D)
 *   nop 0x0E 0x16 ; eos 0x06 + 7 padding bytes ; undefined: 0x1E..0x3E step 8, 0x70-0x7F, 0xD0-0xDF
 * The expected output is built by applying each step's meaning (literal bytes, then copy M bytes from D back,
 * byte by byte) — a model of the semantics, independent of the opcode parsing under test.
 */

const EOS = [0x06, 0, 0, 0, 0, 0, 0, 0];
const te = (s: string): number[] => Array.from(new TextEncoder().encode(s));

type Step = { lit?: number[]; d?: number; m?: number };
function model(steps: Step[]): Uint8Array {
  const out: number[] = [];
  let D = 0;
  for (const s of steps) {
    if (s.lit) out.push(...s.lit);
    if (s.d !== undefined) D = s.d;
    for (let i = 0; i < (s.m ?? 0); i++) out.push(out[out.length - D]!);
  }
  return Uint8Array.from(out);
}

function decode(input: number[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  decodeLzvn(Uint8Array.from(input), out);
  return out;
}


describe('LZVN opcodes assembled by hand', () => {
  it('every opcode kind, in one stream', () => {
    const steps: Step[] = [];
    const enc: number[] = [];
    // sml_l: 1110LLLL, 3 literal bytes
    enc.push(0xe3, ...te('abc'));
    steps.push({ lit: te('abc') });
    // sml_d: L=1, M=4, D=3 -> 01 001 000, 0x03, 'd'
    enc.push(0x48, 0x03, ...te('d'));
    steps.push({ lit: te('d'), d: 3, m: 4 });
    // med_d: L=2, M=12 (field 9 = 010|01), D=7 -> 101 10 010, then u16le(D << 2 | 01), 'ef'
    enc.push(0xb2, 0x1d, 0x00, ...te('ef'));
    steps.push({ lit: te('ef'), d: 7, m: 12 });
    // lrg_d: L=0, M=5, D=20 -> 00 010 111, u16le 20
    enc.push(0x17, 0x14, 0x00);
    steps.push({ d: 20, m: 5 });
    // pre_d: L=1, M=3, previous D -> 01 000 110, 'g'
    enc.push(0x46, ...te('g'));
    steps.push({ lit: te('g'), m: 3 });
    // nop
    enc.push(0x0e);
    // sml_m: M=2, previous D
    enc.push(0xf2);
    steps.push({ m: 2 });
    // lrg_m: M = 16 + 0, previous D (20 >= 16: no overlap)
    enc.push(0xf0, 0x00);
    steps.push({ m: 16 });
    // lrg_l: L = 16 + 1
    enc.push(0xe0, 0x01, ...te('0123456789ABCDEFG'));
    steps.push({ lit: te('0123456789ABCDEFG') });
    // nop
    enc.push(0x16);
    // sml_d overlapping run: L=0, M=10, D=1 -> 00 111 000, 0x01
    enc.push(0x38, 0x01);
    steps.push({ d: 1, m: 10 });
    // lrg_m long overlapping run, D=1 (fill path): M = 16 + 200
    enc.push(0xf0, 200);
    steps.push({ m: 216 });
    // lrg_d with D=3 then lrg_m M=271: overlapping, period 3 (chunked copy path)
    enc.push(0x07, 0x03, 0x00, 0xf0, 255);
    steps.push({ d: 3, m: 3 }, { m: 271 });
    // med_d with a far distance: L=0, M=34 (field 31 = 111|11), D=300
    enc.push(0xa7, ((300 << 2) | 3) & 0xff, (300 << 2) >>> 8);
    steps.push({ d: 300, m: 34 });
    enc.push(...EOS);
    const expected = model(steps);
    expect(expected.length).toBe(3 + 5 + 14 + 5 + 4 + 2 + 16 + 17 + 10 + 216 + 3 + 271 + 34);
    expect(decode(enc, expected.length)).toEqual(expected);
  });

  it('the end-of-stream padding may be missing in a standalone stream', () => {
    expect(decode([0xe2, 0x41, 0x42, 0x06], 2)).toEqual(Uint8Array.from([0x41, 0x42]));
    expect(decode([0xe2, 0x41, 0x42, ...EOS, 0xaa, 0xbb], 2)).toEqual(Uint8Array.from([0x41, 0x42]));
    expect(decode([0x06], 0).length).toBe(0);
  });

  it('lzvnDecodeBlock: exactEnd demands the 8-byte end-of-stream at the range end; history reaches dst[0]', () => {
    const src = Uint8Array.from([0x99, 0x99, 0xe1, 0x5a, 0x10, 0x06, ...EOS, 0x77]);
    const dst = new Uint8Array(16);
    dst.set([1, 2, 3, 4, 5, 6], 0);
    // literal 'Z' at dst[6], then sml_d L=0 M=5 D=6 copies dst[1..6)
    expect(lzvnDecodeBlock(src, 2, 14, dst, 6, 16, true)).toBe(6);
    expect(Array.from(dst.subarray(0, 12))).toEqual([1, 2, 3, 4, 5, 6, 0x5a, 2, 3, 4, 5, 6]);
    expectCorrupt(() => lzvnDecodeBlock(src, 2, 15, dst, 6, 16, true), /1 unused bytes/);
    expectCorrupt(() => lzvnDecodeBlock(src, 2, 13, dst, 6, 16, true), /padding/);
    expect(lzvnDecodeBlock(src, 2, 15, dst, 6, 16, false)).toBe(6);
    // the output range ends before the match does
    expectCorrupt(() => lzvnDecodeBlock(src, 2, 14, dst, 6, 10, true), /past the end/);
  });
});

describe('LZVN malformed input throws CORRUPT_CHUNK', () => {
  it('undefined opcodes', () => {
    for (const op of [0x1e, 0x26, 0x2e, 0x36, 0x3e, 0x70, 0x7f, 0xd0, 0xdf]) {
      expectCorrupt(() => decode([op, 0, 0, 0, ...EOS], 8), /undefined opcode/);
    }
  });
  it('distance zero, or before the start of the output', () => {
    expectCorrupt(() => decode([0xf3, ...EOS], 3), /distance 0/); // sml_m before any distance
    expectCorrupt(() => decode([0xe1, 0x41, 0x08, 0x02, ...EOS], 5), /distance 2/); // D=2 after 1 byte
    expectCorrupt(() => decode([0x00, 0x00, ...EOS], 3), /distance 0/); // sml_d with D=0
  });
  it('output overrun and underrun', () => {
    expectCorrupt(() => decode([0xe3, 1, 2, 3, ...EOS], 2), /past the end/);
    expectCorrupt(() => decode([0xe1, 1, 0x08, 0x01, ...EOS], 3), /past the end/);
    expectCorrupt(() => decode([0xe3, 1, 2, 3, ...EOS], 4), /decoded to 3 bytes, expected 4/);
  });
  it('truncated input and a missing end-of-stream', () => {
    expectCorrupt(() => decode([0xe3, 1, 2], 3), /truncated/);
    expectCorrupt(() => decode([0xe3, 1, 2, 3], 3), /truncated/); // no byte left for the next opcode
    expectCorrupt(() => decode([0xe3, 1, 2, 3, 0x0e], 3), /truncated/);
    expectCorrupt(() => decode([0xe0], 16), /truncated/);
    expectCorrupt(() => decode([0xa0, 0x04], 3), /truncated/);
    expectCorrupt(() => decode([], 0), /before the end-of-stream/);
  });
  it('random bytes never escape as anything but CORRUPT_CHUNK', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 600 }), (bytes, size) => {
        try {
          decodeLzvn(bytes, new Uint8Array(size));
        } catch (e) {
          if (!(e instanceof DmgkitError) || e.code !== 'CORRUPT_CHUNK') throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
  it('bad ranges are INVALID_ARGUMENT', () => {
    expect(() => lzvnDecodeBlock(new Uint8Array(4), 0, 5, new Uint8Array(4), 0, 4)).toThrow(/bad ranges/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Random and greedy-parsed LZVN streams from the test encoder (test/codecs/lzfse-build.ts), checked against the
// LZ77 meaning of their triplets and against 7-Zip (as `bvxn` blocks of LZFSE chunks in a UDIF image).

function randomLzvnTriplets(r: () => number, n: number): Triplet[] {
  const out: Triplet[] = [];
  let pos = 0;
  let prevD = 0;
  for (let i = 0; i < n; i++) {
    const L = r() < 0.05 ? Math.floor(r() * 600) : Math.floor(r() * r() * 12);
    const lit = new Uint8Array(L);
    for (let k = 0; k < L; k++) lit[k] = Math.floor(r() * r() * 256);
    const avail = pos + L;
    if (avail === 0) continue;
    let m = 0;
    let d = 1;
    const x = r();
    if (x < 0.1 && prevD > 0) {
      m = 1 + Math.floor(r() * 2); // 1-2 bytes: only with the previous distance
      d = prevD;
    } else if (x < 0.9) {
      m = r() < 0.05 ? 200 + Math.floor(r() * 2000) : 3 + Math.floor(r() * r() * 40);
      const y = r();
      d = y < 0.2 && prevD > 0 && prevD <= avail ? prevD : y < 0.4 ? 1 + Math.floor(r() * Math.min(8, avail)) : 1 + Math.floor(r() * Math.min(avail, LZVN_MAX_D));
    }
    if (d > avail) d = avail;
    if (m > 0) prevD = d;
    out.push({ lit, m, d });
    pos = avail + m;
  }
  return out;
}

function lzvnCase(triplets: Triplet[]): { payload: Uint8Array; expected: Uint8Array } {
  const n = triplets.reduce((a, t) => a + t.lit.length + t.m, 0);
  const expected = new Uint8Array(n);
  applyTriplets(expected, 0, triplets);
  return { payload: lzvnEncode(triplets), expected };
}

const lzvnCases = (() => {
  const r = rng(0x17a);
  const cases = [];
  for (let i = 0; i < 30; i++) cases.push(lzvnCase(randomLzvnTriplets(r, 1 + Math.floor(r() * (i < 5 ? 3000 : 200)))));
  for (const data of [textData(65536, 3), mixedData(65536, 4), repetitiveData(40000, 5)]) {
    cases.push(lzvnCase(greedyParse(data, LZVN_MAX_D).flat()));
  }
  return cases;
})();

describe('LZVN streams from the test encoder', () => {
  it('decode to the LZ77 meaning of their triplets', () => {
    for (const c of lzvnCases) {
      const out = new Uint8Array(c.expected.length);
      decodeLzvn(c.payload, out);
      expect(Buffer.from(out).equals(c.expected)).toBe(true);
    }
  });
  it('7-Zip decodes them (as bvxn blocks) to the same bytes', () => {
    const bin = sevenZip();
    if (!bin) return;
    const chunks = lzvnCases.map((c) => {
      const size = Math.max(SECTOR, Math.ceil(c.expected.length / SECTOR) * SECTOR);
      const decoded = new Uint8Array(size).fill(0x5a);
      decoded.set(c.expected);
      const payload = Uint8Array.from([
        ...bvxnBlock(c.expected.length, c.payload),
        ...lzvnRunBlock(size - c.expected.length, 0x5a),
        ...EOS_BLOCK,
      ]);
      return { type: 0x80000007, payload, decoded };
    });
    const parts = sevenZipPartitions(bin, buildDmg(chunks));
    const all = Buffer.concat(chunks.map((c) => c.decoded));
    expect([...parts.values()][0]!.equals(all)).toBe(true);
  });
  it('truncations and bit flips: CORRUPT_CHUNK or a full-length output', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: lzvnCases.length - 1 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 7 }), fc.boolean(), (i, f, bit, truncate) => {
        const c = lzvnCases[i]!;
        const at = Math.floor(f * (c.payload.length - 8));
        const bad = truncate ? c.payload.subarray(0, at) : c.payload.slice();
        if (!truncate) bad[at] = bad[at]! ^ (1 << bit);
        const out = new Uint8Array(c.expected.length);
        try {
          decodeLzvn(bad, out);
          if (truncate) throw new Error('a truncated stream decoded');
        } catch (e) {
          if (!(e instanceof DmgkitError) || e.code !== 'CORRUPT_CHUNK') throw e;
        }
      }),
      { numRuns: 800 },
    );
  });
});
