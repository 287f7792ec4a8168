import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeBzip2 } from '../../src/codecs/bzip2.js';
import { bzip2BlockLimit, encodeBzip2 } from '../../src/codecs/bzip2-encode.js';
import { DmgkitError } from '../../src/errors.js';
import { run } from '../helpers/fixtures.js';
import { mixedData, shapedData, textData } from './data.js';

/** Independent oracles: the native bzip2 tool, decoding (-d) and encoding (for sizes). */
const nativeDecode = (enc: Uint8Array): Uint8Array => new Uint8Array(run('bzip2', ['-d', '-c'], enc));
const nativeEncode = (data: Uint8Array, level: number): Uint8Array => new Uint8Array(run('bzip2', ['-c', `-${level}`], data));

function ourDecode(enc: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  decodeBzip2(enc, out);
  return out;
}

/** Encode, then decode with the native tool and with our decoder; both must give back `data`. */
function roundTrip(data: Uint8Array, level: number, label = ''): Uint8Array {
  const enc = encodeBzip2(data, level);
  expect(Buffer.from(enc.subarray(0, 4)).toString('latin1'), label).toBe(`BZh${level}`);
  expect(Buffer.compare(nativeDecode(enc), data), `${label}: bzip2 -d`).toBe(0);
  expect(Buffer.compare(ourDecode(enc, data.length), data), `${label}: decodeBzip2`).toBe(0);
  return enc;
}

/** Number of blocks in a stream: occurrences of the 48-bit block magic at any bit offset (an upper bound on
 * false hits is irrelevant for the small counts compared here). */
function countBlockMagics(enc: Uint8Array): number {
  let n = 0;
  let acc = 0n;
  const mask = (1n << 48n) - 1n;
  for (let i = 0; i < enc.length; i++) {
    for (let b = 7; b >= 0; b--) {
      acc = ((acc << 1n) | BigInt((enc[i]! >> b) & 1)) & mask;
      if (acc === 0x314159265359n) n++;
    }
  }
  return n;
}

/** Runs of every length 1..300 of varying byte values: the RLE1 stage's 4-byte threshold and 255 cap. */
function runData(seed: number): Uint8Array {
  const parts: number[] = [];
  let x = seed | 1;
  for (let len = 1; len <= 300; len++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const v = len % 7 === 0 ? parts[parts.length - 1] ?? 0 : x >>> 24; // some runs continue the previous one
    for (let k = 0; k < len; k++) parts.push(v);
  }
  return Uint8Array.from(parts);
}

describe('encodeBzip2 (decoded by the native bzip2 tool and by our decoder)', () => {
  it('round-trips random and shaped inputs at every level (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 90_000, max: 210_000 })),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 0x7fffffff }),
        (kind, size, level, seed) => {
          roundTrip(shapedData(kind, size, seed, 300), level, `kind ${kind} size ${size} level ${level}`);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('writes the empty stream and single bytes', () => {
    const empty = roundTrip(new Uint8Array(0), 9);
    expect(countBlockMagics(empty)).toBe(0);
    for (const v of [0, 0x5a, 0xff]) roundTrip(new Uint8Array([v]), 9, `byte ${v}`);
    roundTrip(new Uint8Array([1, 2]), 1);
  });

  it('handles runs of 1..300 bytes around the RLE1 thresholds (4 and 255), alone and repeated', () => {
    const d = runData(7);
    roundTrip(d, 9);
    const many = new Uint8Array(d.length * 20);
    for (let i = 0; i < 20; i++) many.set(d, i * d.length);
    roundTrip(many, 1);
    for (const len of [3, 4, 5, 255, 256, 259, 260, 1000]) roundTrip(new Uint8Array(len).fill(0x41), 9, `run ${len}`);
    // Runs of exactly 4 grow by a quarter in RLE1 (4 bytes + a zero count): the block outgrows the input.
    const fours = new Uint8Array(4000);
    for (let i = 0; i < fours.length; i++) fours[i] = 0x41 + ((i >> 2) % 3);
    roundTrip(fours, 9, 'runs of four');
    roundTrip(fours.subarray(0, 8), 1, 'two runs of four');
  });

  it('splits blocks at the level’s limit: sizes around it at levels 1 and 9', () => {
    for (const level of [1, 9]) {
      const limit = bzip2BlockLimit(level);
      // Random bytes have no runs of 4, so RLE1 output length = input length.
      const data = shapedData(0, limit + 2, 1234 + level);
      for (const size of level === 1 ? [limit - 1, limit, limit + 1, limit + 2] : [limit, limit + 1]) {
        const enc = roundTrip(data.subarray(0, size), level, `level ${level} size ${size}`);
        expect(countBlockMagics(enc), `level ${level} size ${size}`).toBe(size <= limit ? 1 : 2);
      }
    }
  });

  it('periodic and highly repetitive blocks (the rank shortcut and the linear-time sort path)', () => {
    roundTrip(new Uint8Array(1 << 20), 9, 'zeros');
    roundTrip(shapedData(4, 300_000, 5), 9, 'three letters');
    const ab = new Uint8Array(200_000);
    for (let i = 0; i < ab.length; i++) ab[i] = i % 2 ? 0x61 : 0x62;
    roundTrip(ab, 9, 'abab');
    // Two copies of 300 kB of random bytes: half the rotations share a 300 kB prefix.
    const half = shapedData(0, 300_000, 9);
    const twice = new Uint8Array(600_000);
    twice.set(half);
    twice.set(half, 300_000);
    roundTrip(twice, 9, 'twice');
    // A period that does not divide the block: ab…ab a.
    roundTrip(ab.subarray(0, 199_999), 9, 'abab…a');
    // Eight copies of 100 kB of random bytes, each with other bytes changed every ~1000: long near-repeats, which
    // the quicksort finishes through the rank shortcut rather than the fallback.
    const near = new Uint8Array(800_000);
    const base = shapedData(0, 100_000, 11);
    for (let k = 0; k < 8; k++) {
      near.set(base, k * 100_000);
      for (let i = 997 * (k + 1); i < 100_000; i += 1009) near[k * 100_000 + i] ^= 1 + k;
    }
    roundTrip(near, 9, 'near-repeats');
  });

  it('byte pairs that mostly run one way round a cycle (the big-bucket order search has no consistent order)', () => {
    // next = byte + 1 (mod m) most of the time: [a, a + 1] is large and [a + 1, a] small for every a, so the
    // search that picks which of each pair is sorted by comparison and which by the copy step must break the cycle
    // somewhere; a wrong or incomplete order leaves rows unsorted and the stream does not decode.
    for (const m of [16, 256]) {
      const d = new Uint8Array(300_000);
      let x = 0x1234567 + m;
      let c = 0;
      for (let i = 0; i < d.length; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const r = x >>> 24;
        c = r < 180 ? (c + 1) % m : r < 200 ? (c + m - 1) % m : r % m;
        d[i] = m === 16 ? 0x61 + c : c;
      }
      roundTrip(d, 9, `cycle of ${m}`);
    }
  });

  it('output is within 1 % of bzip2 -9 on text and mixed data', () => {
    for (const [label, data] of [
      ['text', textData(600_000, 3)],
      ['mixed', mixedData(1 << 20, 4)],
    ] as const) {
      const ours = roundTrip(data, 9, label).length;
      const theirs = nativeEncode(data, 9).length;
      expect(ours, label).toBeLessThanOrEqual(Math.ceil(theirs * 1.01));
    }
  });

  it('is deterministic', () => {
    const d = mixedData(300_000, 8);
    expect(Buffer.compare(encodeBzip2(d, 5), encodeBzip2(d, 5))).toBe(0);
  });

  it('rejects levels outside 1..9', () => {
    for (const level of [0, 10, 2.5]) {
      expect(() => encodeBzip2(new Uint8Array(1), level)).toThrow(DmgkitError);
    }
  });
});
