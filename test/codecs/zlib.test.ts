import { describe, expect, it } from 'vitest';
import { Inflate } from 'pako';
import fc from 'fast-check';
import { deflateSync } from 'node:zlib';
import { inflateAsync, inflateInto, inflateIntoAsync, inflateWithPako } from '../../src/codecs/zlib.js';
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
  it('decode what zlib compressed, exactly, on all four paths', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 20000 }), fc.integer({ min: 0, max: 9 }), async (data, level) => {
        const z = deflateSync(data, { level });
        const a = new Uint8Array(data.length);
        inflateInto(z, a);
        const b = new Uint8Array(data.length);
        inflateWithPako(z, b, Inflate);
        const c = await inflateAsync(z, data.length);
        const d = new Uint8Array(data.length);
        await inflateIntoAsync(z, d);
        for (const out of [a, b, c, d]) expect(Buffer.from(out).equals(Buffer.from(data))).toBe(true);
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
      if (n > 0) expect(await codes(() => inflateIntoAsync(z, new Uint8Array(n)))).toBe('CORRUPT_CHUNK');
    }
    await fc.assert(
      fc.asyncProperty(fc.nat(z.length - 1), fc.integer({ min: 1, max: 255 }), fc.boolean(), async (at, x, cut) => {
        const bad = cut ? z.subarray(0, at) : Uint8Array.from(z, (b, i) => (i === at ? b ^ x : b));
        const rs = [
          await codes(() => inflateInto(bad, new Uint8Array(data.length))),
          await codes(() => inflateAsync(bad, data.length)),
          await codes(() => inflateIntoAsync(bad, new Uint8Array(data.length))),
        ];
        for (const r of rs) expect(['ok', 'CORRUPT_CHUNK']).toContain(r);
        expect(rs[2]).toBe(rs[0]);
      }),
      { numRuns: 200 },
    );
  });

  it('inflateIntoAsync stops a stream that declares 1 MiB and holds 64 MiB at once, and runs many at a time', async () => {
    // (the stream handle goes on into one-byte buffers once the caller's is full: it must stop at the first)
    const bomb = deflateSync(new Uint8Array(64 << 20), { level: 1 });
    const t = Date.now();
    expect(await codes(() => inflateIntoAsync(bomb, new Uint8Array(1 << 20)))).toBe('CORRUPT_CHUNK');
    // not a timing assertion on speed: a byte-at-a-time crawl through 63 MiB would take hours, not minutes
    expect(Date.now() - t).toBeLessThan(60_000);
    const parts = Array.from({ length: 12 }, (_, k) => new Uint8Array(100_000 + k).map((_, i) => (i * (k + 3)) & 0xff));
    const outs = parts.map((p) => new Uint8Array(p.length));
    await Promise.all(parts.map((p, k) => inflateIntoAsync(deflateSync(p), outs[k])));
    outs.forEach((o, k) => expect(Buffer.compare(o, parts[k])).toBe(0));
    // trailing bytes after the stream's end are ignored, as inflateInto does
    const tail = new Uint8Array([...deflateSync(parts[0]), 1, 2, 3]);
    const o = new Uint8Array(parts[0].length);
    expect(await codes(() => inflateIntoAsync(tail, o))).toBe(await codes(() => inflateInto(tail, new Uint8Array(parts[0].length))));
  });
});
