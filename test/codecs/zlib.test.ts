import { describe, expect, it } from 'vitest';
import { Inflate } from 'pako';
import fc from 'fast-check';
import { deflateSync } from 'node:zlib';
import { inflateAsync, inflateInto, inflateWithPako } from '../../src/codecs/zlib.js';
import { DmgkitError } from '../../src/errors.js';

const codes = async (f: () => unknown) => {
  try {
    await f();
    return 'ok';
  } catch (e) {
    return e instanceof DmgkitError ? e.code : `not a DmgkitError: ${String(e)}`;
  }
};

describe('zlib chunks (node:zlib, its thread-pool variant, and pako)', () => {
  it('decode what zlib compressed, exactly, on all three paths', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 20000 }), fc.integer({ min: 0, max: 9 }), async (data, level) => {
        const z = deflateSync(data, { level });
        const a = new Uint8Array(data.length);
        inflateInto(z, a);
        const b = new Uint8Array(data.length);
        inflateWithPako(z, b, Inflate);
        const c = await inflateAsync(z, data.length);
        for (const out of [a, b, c]) expect(Buffer.from(out).equals(Buffer.from(data))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('wrong declared sizes and damaged streams are CORRUPT_CHUNK on every path', async () => {
    const data = new Uint8Array(5000).map((_, i) => (i * 13) % 251);
    const z = deflateSync(data);
    for (const n of [0, data.length - 1, data.length + 1]) {
      expect(await codes(() => inflateInto(z, new Uint8Array(n)))).toBe('CORRUPT_CHUNK');
      expect(await codes(() => inflateWithPako(z, new Uint8Array(n), Inflate))).toBe('CORRUPT_CHUNK');
      expect(await codes(() => inflateAsync(z, n))).toBe('CORRUPT_CHUNK');
    }
    await fc.assert(
      fc.asyncProperty(fc.nat(z.length - 1), fc.integer({ min: 1, max: 255 }), fc.boolean(), async (at, x, cut) => {
        const bad = cut ? z.subarray(0, at) : Uint8Array.from(z, (b, i) => (i === at ? b ^ x : b));
        for (const r of [await codes(() => inflateInto(bad, new Uint8Array(data.length))), await codes(() => inflateAsync(bad, data.length))]) {
          expect(['ok', 'CORRUPT_CHUNK']).toContain(r);
        }
      }),
      { numRuns: 200 },
    );
  });
});
