import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeBzip2, bzip2Codec } from '../../src/codecs/bzip2.js';
import { DmgkitError } from '../../src/errors.js';
import { run } from '../helpers/fixtures.js';
import { CHUNK_BZIP2 } from '../../src/udif/chunk-types.js';
import { shapedData } from './data.js';
import { expectCorrupt } from '../helpers/errors.js';
import { describeFixtureChunks } from '../helpers/codec-fixtures.js';

/** Independent oracle: the native bzip2 tool. */
const bzip2 = (data: Uint8Array, level = 9): Uint8Array => new Uint8Array(run('bzip2', ['-c', `-${level}`], data));

const makeData = (kind: number, size: number, seed: number): Uint8Array => shapedData(kind, size, seed, 300);

function decode(input: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  decodeBzip2(input, out);
  return out;
}


describe('bzip2 decoder against the native bzip2 tool', () => {
  it('decodes random and structured inputs at every block size (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 90_000, max: 260_000 })),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 0x7fffffff }),
        (kind, size, level, seed) => {
          const data = makeData(kind, size, seed);
          expect(decode(bzip2(data, level), size)).toEqual(data);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('decodes the empty stream and a single byte', () => {
    expect(decode(bzip2(new Uint8Array(0)), 0)).toEqual(new Uint8Array(0));
    expect(decode(bzip2(new Uint8Array([0x5a])), 1)).toEqual(new Uint8Array([0x5a]));
  });

  it('decodes several blocks at -1 and a full 900k block at -9', () => {
    const a = makeData(0, 350_000, 7);
    expect(decode(bzip2(a, 1), a.length)).toEqual(a);
    const b = makeData(0, 920_000, 11);
    expect(decode(bzip2(b, 9), b.length)).toEqual(b);
  });

  it('decodes long runs of every byte value', () => {
    const data = new Uint8Array(256 * 1000);
    for (let v = 0; v < 256; v++) data.fill(v, v * 1000, v * 1000 + 1000);
    expect(decode(bzip2(data, 2), data.length)).toEqual(data);
  });

  it('decodes two concatenated streams (multi-stream)', () => {
    const a = makeData(3, 5000, 3);
    const b = makeData(0, 7000, 4);
    const both = new Uint8Array([...bzip2(a, 1), ...bzip2(b, 9)]);
    const out = decode(both, a.length + b.length);
    expect(out.subarray(0, a.length)).toEqual(a);
    expect(out.subarray(a.length)).toEqual(b);
    // The native tool agrees on the concatenation.
    expect(new Uint8Array(run('bzip2', ['-dc'], both))).toEqual(out);
  });

  it('exposes the codec object', () => {
    expect(bzip2Codec.name).toBe('bzip2');
    expect(bzip2Codec.decode).toBe(decodeBzip2);
  });
});

describe('bzip2 decoder on hostile input', () => {
  const data = makeData(3, 30_000, 99);
  const packed = bzip2(data, 1);

  it('rejects a wrong declared output size', () => {
    expectCorrupt(() => decode(packed, data.length - 1));
    expectCorrupt(() => decode(packed, data.length + 1));
    expectCorrupt(() => decode(packed, 0));
  });

  it('never writes past the output view when the declared size is too small', () => {
    const big = new Uint8Array(data.length + 16).fill(0xee);
    expectCorrupt(() => decodeBzip2(packed, big.subarray(0, data.length - 100)));
    expect(Array.from(big.subarray(data.length - 100)).every((x) => x === 0xee)).toBe(true);
  });

  it('rejects bad magic, empty input and trailing garbage', () => {
    expectCorrupt(() => decode(new Uint8Array(0), 0));
    const bad = packed.slice();
    bad[0] = 0x43;
    expectCorrupt(() => decode(bad, data.length));
    const level0 = packed.slice();
    level0[3] = 0x30;
    expectCorrupt(() => decode(level0, data.length));
    expectCorrupt(() => decode(new Uint8Array([...packed, 0x41, 0x42]), data.length));
  });

  it('survives every truncation with CORRUPT_CHUNK', () => {
    for (let n = 0; n < packed.length; n += n < 64 ? 1 : 97) {
      expectCorrupt(() => decode(packed.subarray(0, n), data.length));
    }
  });

  it('survives bit flips: correct output or CORRUPT_CHUNK, nothing else', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: packed.length * 8 - 1 }), fc.integer({ min: 0, max: 2 }), (bit, extra) => {
        const bad = packed.slice();
        bad[bit >> 3] ^= 1 << (bit & 7);
        if (extra) bad[(bit * 7919) % bad.length] ^= 0xff;
        try {
          const out = decode(bad, data.length);
          expect(out).toEqual(data);
        } catch (e) {
          if (!(e instanceof DmgkitError)) throw e;
          expect(e.code).toBe('CORRUPT_CHUNK');
        }
      }),
      { numRuns: 400 },
    );
  });

  it('survives random garbage after a valid header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 2000 }), fc.integer({ min: 0, max: 100_000 }), (junk, size) => {
        const input = new Uint8Array([0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, ...junk]);
        try {
          decode(input, size);
        } catch (e) {
          if (!(e instanceof DmgkitError)) throw e;
          expect(e.code).toBe('CORRUPT_CHUNK');
          return;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describeFixtureChunks({
  title: 'bzip2 chunks of the real UDBZ fixtures, compared with 7-Zip',
  prefix: 'udbz_',
  minImages: 3,
  chunkType: CHUNK_BZIP2,
  decode: decodeBzip2,
});
