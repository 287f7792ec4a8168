import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32, crc32Combine, crc32Zeros } from '../../src/util/crc32.js';

describe('CRC-32', () => {
  it('matches node:zlib on arbitrary bytes and split points', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(3000), (data, cut) => {
        const c = Math.min(cut, data.length);
        expect(crc32(data)).toBe(zlibCrc32(data) >>> 0);
        expect(crc32(data.subarray(c), crc32(data.subarray(0, c)))).toBe(zlibCrc32(data) >>> 0);
      }),
    );
  });

  it('combines the CRCs of two parts into the CRC of the whole', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ maxLength: 2000 }), (a, b) => {
        expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(zlibCrc32(Buffer.concat([a, b])) >>> 0);
      }),
    );
  });

  it('extends over zero runs exactly like hashing the zeros', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(200_000), (prefix, n) => {
        const whole = new Uint8Array(prefix.length + n);
        whole.set(prefix);
        expect(crc32Zeros(n, crc32(prefix))).toBe(zlibCrc32(whole) >>> 0);
      }),
      { numRuns: 50 },
    );
    // beyond 2^32 bytes the operator must keep working (images larger than 4 GiB)
    const big = 5 * 2 ** 30 + 512;
    const split = crc32Zeros(big - 2 ** 32, crc32Zeros(2 ** 32));
    expect(crc32Zeros(big)).toBe(split);
  });
});
