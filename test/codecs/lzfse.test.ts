import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeLzfse, lzfseCodec, lzfseWarmUp } from '../../src/codecs/lzfse.js';
import { DmgkitError } from '../../src/errors.js';
import { buildDmg, SECTOR, sevenZipPartitions } from '../helpers/build-dmg.js';
import { expectedDisks, fixture, haveFixtures, listFixtures, run, sevenZip } from '../helpers/fixtures.js';
import { mixedData, repetitiveData, rng, textData } from './data.js';
import { applyTriplets, bvx2Block, EOS_BLOCK as BUILT_EOS, greedyParse, lzvnRunBlock, MAX_D, type Triplet } from './lzfse-build.js';
import { expectCorrupt } from '../helpers/errors.js';
import { openUdif } from '../../src/udif/open-udif.js';

/*
 * LZFSE streams built by hand from the format description (Apple lzfse: lzfse_internal.h, lzfse_decode_base.c,
 * lzfse_fse.h), the real ULFO images, and random streams checked against 7-Zip's independent decoder.
 */

const LZFSE = 0x80000007;
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const te = (s: string): Uint8Array => new TextEncoder().encode(s);

function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
}
function u16(v: number): number[] {
  return [v & 0xff, v >>> 8];
}
const MAGIC = { eos: te('bvx$'), raw: te('bvx-'), lzvn: te('bvxn'), v1: te('bvx1'), v2: te('bvx2') };
const concat = (...parts: ArrayLike<number>[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const rawBlock = (bytes: ArrayLike<number>): Uint8Array => concat(MAGIC.raw, u32(bytes.length), bytes);
const lzvnBlock = (nRaw: number, payload: ArrayLike<number>): Uint8Array =>
  concat(MAGIC.lzvn, u32(nRaw), u32(payload.length), payload);
const EOS_BLOCK = MAGIC.eos;
const LZVN_EOS = [0x06, 0, 0, 0, 0, 0, 0, 0];

function decode(input: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  decodeLzfse(input, out);
  return out;
}


// ---------------------------------------------------------------------------------------------------------------
// A hand-computed compressed block, as bvx1 (plain header) and bvx2 (packed header).
//
// Frequency tables (each sums to its state count):
//   literals: 'a' 512, 'b' 512 of 1024 states -> k = 1; 'a' owns states 0..511, 'b' 512..1023; state s reads one
//             bit and goes to 2 * (s mod 512) + bit. Initial states 300, 700, 10, 1000 (streams 0..3) give
//             literals 0..3 = a b a b; after reading 0-bits they are 600, 376, 20, 976 = b a a b (literals 4..7).
//             8 literals x 1 bit = 8 bits: one payload byte 0x00, literal_bits 0.
//   L: symbol 4 (value 4, no extra bits) freq 64 -> reads 0 bits: L = 4 every time.
//   M: symbol 16 (base 16, 3 extra bits) freq 64 -> reads 3 bits: M = 16 + bits.
//   D: symbol 4 (base 4, 1 extra bit) freq 256 -> reads 1 bit: D = 4 + bit.
//   Two triplets, bits read from the top: M1 = 101 (21), D1 = 0 (4), M2 = 010 (18), D2 = 1 (5) -> 0b10100101.
//   L/M/D payload: the 8 zero bytes every encoder writes first, then 0xA5; lmd_bits 0.
// Output: "abab", 21 bytes at distance 4, "baab", 18 bytes at distance 5 = 47 bytes.
const HAND_EXPECTED = 'abab' + 'ababababababababababa' + 'baab' + 'abaababaababaababa';
const HAND = {
  nRaw: 47,
  nLiterals: 8,
  nMatches: 2,
  literalPayload: [0x00],
  lmdPayload: [0, 0, 0, 0, 0, 0, 0, 0, 0xa5],
  literalBits: 0,
  lmdBits: 0,
  literalStates: [300, 700, 10, 1000],
  lState: 0,
  mState: 0,
  dState: 0,
  freq: (() => {
    const f = new Array<number>(20 + 20 + 64 + 256).fill(0);
    f[4] = 64; // L symbol 4
    f[20 + 16] = 64; // M symbol 16
    f[40 + 4] = 256; // D symbol 4
    f[104 + 0x61] = 512; // 'a'
    f[104 + 0x62] = 512; // 'b'
    return f;
  })(),
};
type BlockSpec = typeof HAND;

/** bvx1: the C struct lzfse_compressed_block_header_v1 (772 bytes), then the literal and L/M/D payloads. */
function v1Block(b: BlockSpec): Uint8Array {
  const h: number[] = [
    ...MAGIC.v1,
    ...u32(b.nRaw),
    ...u32(b.literalPayload.length + b.lmdPayload.length),
    ...u32(b.nLiterals),
    ...u32(b.nMatches),
    ...u32(b.literalPayload.length),
    ...u32(b.lmdPayload.length),
    ...u32(b.literalBits >>> 0),
    ...b.literalStates.flatMap(u16),
    ...u32(b.lmdBits >>> 0),
    ...u16(b.lState),
    ...u16(b.mState),
    ...u16(b.dState),
    ...b.freq.flatMap(u16),
    0,
    0, // struct padding to a multiple of 4
  ];
  expect(h.length).toBe(772);
  return concat(h, b.literalPayload, b.lmdPayload);
}

/** The v2 frequency code (LSB first): 0 '00', 1 '10', 2 '001', 3 '101', 4-7 'xx011', 8-23 'xxxx0111', else 14 bits. */
function freqCode(v: number): [bits: number, nbits: number] {
  if (v < 2) return [v << 1, 2];
  if (v < 4) return [((v - 2) << 2) | 1, 3];
  if (v < 8) return [((v - 4) << 3) | 3, 5];
  if (v < 24) return [((v - 8) << 4) | 7, 8];
  return [((v - 24) << 4) | 15, 14];
}

/** bvx2: magic, n_raw_bytes, three packed u64 (built with BigInt), the coded frequency tables, the payloads. */
function v2Block(b: BlockSpec): Uint8Array {
  const bits: number[] = [];
  for (const v of b.freq) {
    const [code, n] = freqCode(v);
    for (let i = 0; i < n; i++) bits.push((code >>> i) & 1);
  }
  const freqBytes = new Array<number>(Math.ceil(bits.length / 8)).fill(0);
  bits.forEach((bit, i) => (freqBytes[i >> 3]! |= bit << (i & 7)));
  const headerSize = 32 + freqBytes.length;
  const f = (v: number, at: number): bigint => BigInt(v) << BigInt(at);
  const p0 = f(b.nLiterals, 0) | f(b.literalPayload.length, 20) | f(b.nMatches, 40) | f(b.literalBits + 7, 60);
  const p1 =
    f(b.literalStates[0]!, 0) |
    f(b.literalStates[1]!, 10) |
    f(b.literalStates[2]!, 20) |
    f(b.literalStates[3]!, 30) |
    f(b.lmdPayload.length, 40) |
    f(b.lmdBits + 7, 60);
  const p2 = f(headerSize, 0) | f(b.lState, 32) | f(b.mState, 42) | f(b.dState, 52);
  const u64 = (v: bigint): number[] => [...u32(Number(v & 0xffffffffn)), ...u32(Number(v >> 32n))];
  return concat(MAGIC.v2, u32(b.nRaw), u64(p0), u64(p1), u64(p2), freqBytes, b.literalPayload, b.lmdPayload);
}

/** Wraps LZFSE streams as the chunks of a one-partition UDIF image and returns what 7-Zip decodes. */
function sevenZipDecode(bin: string, streams: { input: Uint8Array; size: number }[]): Buffer {
  // The partition CRC that 7-Zip verifies is computed over our output; the caller compares the bytes too.
  const chunks = streams.map((s) => ({ type: LZFSE, payload: s.input, decoded: decode(s.input, s.size) }));
  const parts = sevenZipPartitions(bin, buildDmg(chunks));
  expect(parts.size).toBe(1);
  return [...parts.values()][0]!;
}

describe('LZFSE blocks built by hand', () => {
  it('bvx$ alone is an empty stream; bytes after it are ignored', () => {
    expect(decode(EOS_BLOCK, 0).length).toBe(0);
    expect(decode(concat(EOS_BLOCK, [1, 2, 3]), 0).length).toBe(0);
    expectCorrupt(() => decode(EOS_BLOCK, 1), /decoded to 0 bytes, expected 1/);
  });

  it('bvx- copies n_raw_bytes', () => {
    expect(Buffer.from(decode(concat(rawBlock(te('hello world')), EOS_BLOCK), 11)).toString()).toBe('hello world');
    const big = textData(5000, 3);
    expect(decode(concat(rawBlock(big), EOS_BLOCK), 5000)).toEqual(big);
  });

  it('bvxn: an LZVN payload of n_payload_bytes producing n_raw_bytes', () => {
    // sml_l "abc", sml_d L=0 M=6 D=3 (00 011 000, 0x03), eos
    const input = concat(lzvnBlock(9, [0xe3, 0x61, 0x62, 0x63, 0x18, 0x03, ...LZVN_EOS]), EOS_BLOCK);
    expect(Buffer.from(decode(input, 9)).toString()).toBe('abcabcabc');
    // n_raw_bytes disagreeing with what the payload produces
    expectCorrupt(() => decode(concat(lzvnBlock(8, [0xe3, 0x61, 0x62, 0x63, 0x18, 0x03, ...LZVN_EOS]), EOS_BLOCK), 8));
    expectCorrupt(() => decode(concat(lzvnBlock(10, [0xe3, 0x61, 0x62, 0x63, 0x18, 0x03, ...LZVN_EOS]), EOS_BLOCK), 10));
    // n_payload_bytes must end exactly after the LZVN end-of-stream padding
    expectCorrupt(() => decode(concat(lzvnBlock(3, [0xe3, 0x61, 0x62, 0x63, ...LZVN_EOS, 0]), EOS_BLOCK), 3), /unused/);
  });

  it('several blocks; a later block matches into an earlier one', () => {
    // raw "hello ", then LZVN: sml_d L=0 M=5 D=6 (00 010 000, 0x06) reaching into the raw block, sml_l "!"
    const input = concat(rawBlock(te('hello ')), lzvnBlock(6, [0x10, 0x06, 0xe1, 0x21, ...LZVN_EOS]), v2Block(HAND), rawBlock(te('.')), EOS_BLOCK);
    expect(Buffer.from(decode(input, 12 + 47 + 1)).toString()).toBe('hello hello!' + HAND_EXPECTED + '.');
  });

  it('bvx1: hand-computed FSE block', () => {
    expect(Buffer.from(decode(concat(v1Block(HAND), EOS_BLOCK), 47)).toString()).toBe(HAND_EXPECTED);
  });

  it('bvx2: the same block with a packed header and coded frequency tables', () => {
    const block = v2Block(HAND);
    expect(Buffer.from(decode(concat(block, EOS_BLOCK), 47)).toString()).toBe(HAND_EXPECTED);
    // The frequency tables must end exactly at header_size.
    const p2 = 24;
    const bad = concat(block, EOS_BLOCK);
    bad[p2] = bad[p2]! + 1; // header_size one byte larger
    expectCorrupt(() => decode(bad, 47));
  });

  it('7-Zip decodes the hand-built bvx2 and bvxn streams to the same bytes', () => {
    // 7-Zip 26 rejects bvx1 (not implemented) and bvx- blocks (its raw-block loop never counts down), so those
    // two kinds are checked against the hand-derived bytes above only.
    const bin = sevenZip();
    if (!bin) return;
    const pad = (blocks: Uint8Array, n: number): { input: Uint8Array; size: number } => {
      const size = Math.ceil(n / SECTOR) * SECTOR;
      return { input: concat(blocks, lzvnRunBlock(size - n, 0x2e), EOS_BLOCK), size };
    };
    const streams = [
      pad(v2Block(HAND), 47),
      pad(concat(lzvnBlock(6, [0xe6, ...te('hello '), ...LZVN_EOS]), lzvnBlock(6, [0x10, 0x06, 0xe1, 0x21, ...LZVN_EOS]), v2Block(HAND)), 59),
    ];
    const ours = concat(...streams.map((s) => decode(s.input, s.size)));
    expect(Buffer.from(ours.subarray(0, 47)).toString()).toBe(HAND_EXPECTED);
    expect(Buffer.from(ours.subarray(512, 512 + 59)).toString()).toBe('hello hello!' + HAND_EXPECTED);
    expect(sevenZipDecode(bin, streams)).toEqual(Buffer.from(ours));
  });
});

describe('LZFSE malformed headers throw CORRUPT_CHUNK', () => {
  const good = concat(v2Block(HAND), EOS_BLOCK);
  it('bad magic, truncated header, missing bvx$', () => {
    expectCorrupt(() => decode(te('bvx3\0\0\0\0'), 0), /bad block magic/);
    expectCorrupt(() => decode(good.subarray(0, 20), 47), /truncated/);
    expectCorrupt(() => decode(good.subarray(0, good.length - 4), 47), /next block magic/);
    expectCorrupt(() => decode(concat(rawBlock([1, 2]), [0x62, 0x76]), 2), /end-of-stream/);
    expectCorrupt(() => decode(new Uint8Array(0), 0), /end-of-stream/);
  });
  it('a block larger than the output, or a stream ending short of it', () => {
    expectCorrupt(() => decode(good, 46), /runs past the end of the output/);
    expectCorrupt(() => decode(good, 48), /decoded to 47 bytes, expected 48/);
    expectCorrupt(() => decode(concat(rawBlock([1, 2, 3]), EOS_BLOCK), 2), /past the end/);
    expectCorrupt(() => decode(concat(MAGIC.raw, u32(10), [1, 2, 3]), 10), /truncated/);
  });
  it('FSE states out of range, bad frequency sums, bad bit counts', () => {
    const spec = (over: Partial<BlockSpec>): Uint8Array => concat(v2Block({ ...HAND, ...over }), EOS_BLOCK);
    expectCorrupt(() => decode(spec({ lState: 64 }), 47), /state out of range/);
    expectCorrupt(() => decode(spec({ dState: 300 }), 47), /state out of range/);
    const f = HAND.freq.slice();
    f[104 + 0x62] = 511;
    expectCorrupt(() => decode(spec({ freq: f }), 47), /does not sum/);
    const g = HAND.freq.slice();
    g[40 + 4] = 255;
    expectCorrupt(() => decode(spec({ freq: g }), 47), /does not sum/);
    expectCorrupt(() => decode(concat(v1Block({ ...HAND, literalBits: 3 }), EOS_BLOCK), 47), /bit count/);
    expectCorrupt(() => decode(concat(v1Block({ ...HAND, literalStates: [1024, 0, 0, 0] }), EOS_BLOCK), 47), /state/);
    expectCorrupt(() => decode(concat(v1Block({ ...HAND, nMatches: 10001 }), EOS_BLOCK), 47), /matches/);
    expectCorrupt(() => decode(concat(v1Block({ ...HAND, nLiterals: 40004 }), EOS_BLOCK), 47), /literals/);
  });
  it('bit streams: nonzero padding, too short, a match before the start, literals overrun', () => {
    // literal_bits -1 makes the payload's top bit padding; 0x80 sets it
    expectCorrupt(() => decode(concat(v2Block({ ...HAND, literalBits: -1, literalPayload: [0x80] }), EOS_BLOCK), 47), /padding/);
    // 8 literals need 8 bits; with literal_bits -1 only 7 remain
    expectCorrupt(() => decode(concat(v2Block({ ...HAND, literalBits: -1 }), EOS_BLOCK), 47), /literal stream truncated/);
    // 3 matches, only 2 triplets of bits
    expectCorrupt(() => decode(concat(v2Block({ ...HAND, nMatches: 3, lmdPayload: [0xa5] }), EOS_BLOCK), 47));
    // first match distance 5 with only 4 bytes written: D bit of triplet 1 set (0b10110101)
    expectCorrupt(() => decode(concat(v2Block({ ...HAND, lmdPayload: [0, 0, 0, 0, 0, 0, 0, 0xb5] }), EOS_BLOCK), 48), /distance/);
    // only 4 literals for two L = 4 runs
    expectCorrupt(() => decode(concat(v2Block({ ...HAND, nLiterals: 4 }), EOS_BLOCK), 47), /literals/);
    // n_raw_bytes disagreeing with the triplets
    expectCorrupt(() => decode(concat(v2Block({ ...HAND, nRaw: 46 }), EOS_BLOCK), 46), /past the block end/);
    expectCorrupt(() => decode(concat(v2Block({ ...HAND, nRaw: 48 }), EOS_BLOCK), 48), /header says 48/);
  });
  it('the codec object', () => {
    expect(lzfseCodec.name).toBe('lzfse');
    expect(lzfseCodec.decode).toBe(decodeLzfse);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Random and greedy-parsed bvx2 streams from the test builder, checked against the LZ77 meaning of their triplets
// and against 7-Zip.

interface BuiltStream {
  input: Uint8Array;
  expected: Uint8Array;
}

/** Random triplets: literal runs 0..315, matches 0..2359 at distances 1..min(pos, 262139), repeats, overlaps. */
function randomTriplets(r: () => number, n: number, startPos: number, maxOut: number): Triplet[] {
  const out: Triplet[] = [];
  let pos = startPos;
  let lits = 0;
  const alphabet = 1 + Math.floor(r() * 255);
  let prevD = 0;
  for (let i = 0; i < n && pos < maxOut; i++) {
    const longL = r() < 0.05;
    const L = Math.min(longL ? 316 - Math.ceil(r() * 20) : Math.floor(r() * r() * 40), 315, 39990 - lits);
    const lit = new Uint8Array(L);
    for (let k = 0; k < L; k++) lit[k] = Math.floor(r() * r() * alphabet);
    lits += L;
    const avail = pos + L;
    let m = 0;
    let d = prevD > 0 && prevD <= avail ? prevD : 1;
    if (avail > 0 && r() < 0.9) {
      const x = r();
      m = x < 0.05 ? 2359 - Math.floor(r() * 10) : x < 0.3 ? 3 + Math.floor(r() * 300) : 3 + Math.floor(r() * 20);
      if (r() < 0.7 || prevD === 0 || prevD > avail) {
        const y = r();
        d = y < 0.2 ? 1 + Math.floor(r() * Math.min(8, avail)) : 1 + Math.floor(r() * Math.min(avail, MAX_D));
      }
      prevD = d;
    } else if (avail === 0) {
      continue;
    }
    m = Math.min(m, maxOut - avail);
    if (m < 0) break;
    out.push({ lit, m, d });
    pos = avail + m;
  }
  return out;
}

function buildStream(blocks: Triplet[][], r: () => number): BuiltStream {
  const total = blocks.reduce((a, b) => a + b.reduce((x, t) => x + t.lit.length + t.m, 0), 0);
  const size = Math.max(SECTOR, Math.ceil(total / SECTOR) * SECTOR);
  const expected = new Uint8Array(size);
  let pos = 0;
  for (const b of blocks) pos = applyTriplets(expected, pos, b);
  expected.fill(0x5a, pos);
  const input = concat(...blocks.map((b) => bvx2Block(b, r)), lzvnRunBlock(size - pos, 0x5a), BUILT_EOS);
  return { input, expected };
}

const builtStreams: BuiltStream[] = (() => {
  const r = rng(0x1f5e);
  const streams: BuiltStream[] = [];
  for (let i = 0; i < 24; i++) {
    const nBlocks = 1 + Math.floor(r() * 3);
    const blocks: Triplet[][] = [];
    let pos = 0;
    for (let b = 0; b < nBlocks; b++) {
      const t = randomTriplets(r, 1 + Math.floor(r() * (i < 4 ? 9000 : 300)), pos, 900_000);
      blocks.push(t);
      pos += t.reduce((x, y) => x + y.lit.length + y.m, 0);
    }
    streams.push(buildStream(blocks, r));
  }
  for (const data of [textData(300_000, 7), mixedData(200_000, 8), repetitiveData(150_000, 9), new Uint8Array(70_000)]) {
    streams.push(buildStream(greedyParse(data), r));
  }
  return streams;
})();

describe('bvx2 streams from the test builder', () => {
  it('decode to the LZ77 meaning of their triplets', () => {
    for (const s of builtStreams) expect(same(decode(s.input, s.expected.length), s.expected)).toBe(true);
  });
  it('7-Zip decodes them to the same bytes', () => {
    const bin = sevenZip();
    if (!bin) return;
    const got = sevenZipDecode(bin, builtStreams.map((s) => ({ input: s.input, size: s.expected.length })));
    expect(got.equals(Buffer.from(concat(...builtStreams.map((s) => s.expected))))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The real ULFO images: chunk placement from the UDIF reader (src/udif), decoding by decodeLzfse alone.

interface FixtureChunk {
  type: number;
  outOffset: number;
  outLength: number;
  input: Uint8Array;
}
interface FixtureLayout {
  chunks: FixtureChunk[];
  partitions: { offset: number; length: number }[];
  size: number;
}

async function readUlfo(path: string): Promise<FixtureLayout> {
  const f = readFileSync(path);
  const img = await openUdif(path);
  try {
    return {
      // copies: Buffer#subarray would alias the file
      chunks: img.chunks.map((c) => ({ type: c.type, outOffset: c.outOffset, outLength: c.outLength, input: new Uint8Array(f.subarray(c.inOffset, c.inOffset + c.inLength)) })),
      partitions: img.partitions.map((p) => ({ offset: p.offset, length: p.size })),
      size: img.size,
    };
  } finally {
    await img.close();
  }
}

/** The block kinds of one LZFSE stream, walking the block headers (not the decoder). */
function blockKinds(input: Uint8Array): string[] {
  const kinds: string[] = [];
  const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  let p = 0;
  while (p + 4 <= input.length && kinds.length < 10000) {
    const tag = String.fromCharCode(...input.subarray(p, p + 4));
    kinds.push(tag);
    if (tag === 'bvx$') break;
    if (tag === 'bvx-') p += 8 + dv.getUint32(p + 4, true);
    else if (tag === 'bvxn') p += 12 + dv.getUint32(p + 8, true);
    else if (tag === 'bvx2') {
      const lo0 = dv.getUint32(p + 8, true);
      const hi0 = dv.getUint32(p + 12, true);
      const hi1 = dv.getUint32(p + 20, true);
      p += dv.getUint32(p + 24, true) + ((lo0 >>> 20) | ((hi0 & 0xff) << 12)) + ((hi1 >>> 8) & 0xfffff);
    } else break;
  }
  return kinds;
}

function decodeDisk(layout: FixtureLayout): Uint8Array {
  const disk = new Uint8Array(layout.size);
  for (const c of layout.chunks) {
    const out = disk.subarray(c.outOffset, c.outOffset + c.outLength);
    if (c.type === LZFSE) decodeLzfse(c.input, out);
    else if (c.type === 1) out.set(c.input);
    else expect([0, 2, 0x7ffffffe, 0xffffffff]).toContain(c.type); // zero fill, free, comment, terminator
  }
  return disk;
}

const ULFO = listFixtures((n) => n.startsWith('ulfo_'));

describe.runIf(haveFixtures())('real ULFO images', () => {
  it('there are three, and each has bvx2 and bvxn blocks', async () => {
    expect(ULFO.length).toBe(3);
    for (const name of ULFO) {
      const kinds = new Set((await readUlfo(fixture(name))).chunks.filter((c) => c.type === LZFSE).flatMap((c) => blockKinds(c.input)));
      expect([...kinds].sort(), name).toEqual(['bvx$', 'bvx2', 'bvxn']);
    }
  });

  for (const name of ULFO) {
    it(`${name}: partitions match EXPECTED.disk.jsonl (7-Zip's sha256)`, async () => {
      const layout = await readUlfo(fixture(name));
      const disk = decodeDisk(layout);
      const exp = expectedDisks().find((e) => e.file === name)!;
      expect(layout.partitions.length).toBe(exp.partitions!.length);
      layout.partitions.forEach((p, i) => {
        expect(p.length).toBe(exp.partitions![i]!.bytes);
        expect(sha256(disk.subarray(p.offset, p.offset + p.length)), exp.partitions![i]!.name).toBe(exp.partitions![i]!.sha256);
      });
      expect(sha256(disk)).toBe(exp.disk_sha256);
    });
  }

  it('partitions match what 7-Zip extracts live', async () => {
    const bin = sevenZip();
    if (!bin) return;
    for (const name of ULFO) {
      const layout = await readUlfo(fixture(name));
      const disk = decodeDisk(layout);
      const dir = mkdtempSync(join(tmpdir(), 'dmgkit-lzfse-'));
      try {
        run(bin, ['x', '-tdmg', '-y', `-o${dir}`, fixture(name)]);
        const files = readdirSync(dir).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
        expect(files.length).toBe(layout.partitions.length);
        files.forEach((file, i) => {
          const p = layout.partitions[i]!;
          expect(Buffer.from(disk.subarray(p.offset, p.offset + p.length)).equals(readFileSync(join(dir, file))), file).toBe(true);
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Robustness: damaged streams either decode or throw CORRUPT_CHUNK, never anything else, never hang.

const samples: { input: Uint8Array; size: number }[] = [
  { input: concat(v2Block(HAND), EOS_BLOCK), size: 47 },
  { input: concat(v1Block(HAND), EOS_BLOCK), size: 47 },
  { input: concat(rawBlock(te('hello ')), lzvnBlock(6, [0x10, 0x06, 0xe1, 0x21, ...LZVN_EOS]), EOS_BLOCK), size: 12 },
  ...builtStreams.slice(4, 10).map((s) => ({ input: s.input, size: s.expected.length })),
  ...(haveFixtures()
    ? (await Promise.all(ULFO.map((n) => readUlfo(fixture(n))))).flatMap((l) => l.chunks.filter((c) => c.type === LZFSE).map((c) => ({ input: c.input, size: c.outLength })))
    : []),
].filter((s) => s.size <= 1 << 20);

function tryDecode(input: Uint8Array, size: number): Uint8Array | DmgkitError {
  const out = new Uint8Array(size);
  try {
    decodeLzfse(input, out);
    return out;
  } catch (e) {
    if (e instanceof DmgkitError && e.code === 'CORRUPT_CHUNK') return e;
    throw e;
  }
}

describe('damaged LZFSE streams', () => {
  const good = samples.map((s) => decode(s.input, s.size));
  const sample = fc.integer({ min: 0, max: samples.length - 1 });

  it('truncated: CORRUPT_CHUNK (the bvx$ block is gone)', () => {
    fc.assert(
      fc.property(sample, fc.double({ min: 0, max: 1, noNaN: true }), (i, f) => {
        const s = samples[i]!;
        const cut = Math.floor(f * (s.input.length - 1));
        const r = tryDecode(s.input.subarray(0, cut), s.size);
        expect(r).toBeInstanceOf(DmgkitError);
      }),
      { numRuns: 300 },
    );
  });

  it('bit flips and byte overwrites: CORRUPT_CHUNK or a full-length output', () => {
    fc.assert(
      fc.property(
        sample,
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 }), fc.boolean()), { minLength: 1, maxLength: 4 }),
        (i, edits) => {
          const s = samples[i]!;
          const bad = s.input.slice();
          for (const [f, v, flip] of edits) {
            const at = Math.floor(f * bad.length);
            bad[at] = flip ? bad[at]! ^ (1 << (v & 7)) : v;
          }
          const r = tryDecode(bad, s.size);
          if (!(r instanceof DmgkitError)) expect(r.length).toBe(s.size);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('header fields: every byte of every block header set to extreme values', () => {
    for (const s of samples.slice(0, 3)) {
      const limit = Math.min(s.input.length, 64);
      for (let at = 0; at < limit; at++) {
        for (const v of [0, 0x01, 0x7f, 0x80, 0xff]) {
          const bad = s.input.slice();
          bad[at] = v;
          tryDecode(bad, s.size);
        }
      }
    }
  });

  it('wrong declared output size: CORRUPT_CHUNK', () => {
    samples.forEach((s, i) => {
      for (const size of [0, s.size - 1, s.size + 1, s.size * 2 + 4096]) {
        if (size < 0 || size === s.size) continue;
        expectCorrupt(() => decode(s.input, size));
      }
      expect(same(decode(s.input, s.size), good[i]!)).toBe(true);
    });
  });

  it('random bytes after a valid magic', () => {
    fc.assert(
      fc.property(fc.constantFrom('bvx2', 'bvx1', 'bvxn', 'bvx-'), fc.uint8Array({ minLength: 0, maxLength: 900 }), fc.integer({ min: 0, max: 70000 }), (m, tail, size) => {
        tryDecode(concat(te(m), tail), size);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('LZFSE warm-up (type feedback for every path before V8 optimizes)', () => {
  it('its constant bvx2 and bvxn streams decode', () => {
    expect(lzfseWarmUp()).toBe(true);
  });
});
