import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { deflateZlibAsync } from '../../src/codecs/deflate.js';
import { giveBack } from '../../src/util/lent.js';

/** 1 MiB that deflates to about a third: text-like runs with some noise. */
function sample(seed: number): Uint8Array {
  const d = new Uint8Array(1 << 20);
  let x = seed;
  for (let i = 0; i < d.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    d[i] = (x >>> 28) < 5 ? 97 + ((x >>> 16) % 26) : 32 + ((i >> 6) % 16);
  }
  return d;
}

describe('deflateZlibAsync (libuv lanes): copies out, or lends its buffer', () => {
  it('lends a view of its own buffer, serves the next call from it once given back, and never while lent', async () => {
    const a = sample(1);
    const b = sample(2);
    const ra = (await deflateZlibAsync(a, 6, true))!;
    expect(Buffer.compare(inflateSync(ra), a)).toBe(0);
    // The result is a view of a chunk-sized buffer, not a copy at its size.
    expect(ra.buffer.byteLength).toBeGreaterThanOrEqual(a.length - 1);
    const saved = Uint8Array.from(ra);
    // Not given back yet: other calls must not write into it.
    const others = await Promise.all([deflateZlibAsync(b, 6, true), deflateZlibAsync(b, 1, true), deflateZlibAsync(b, 6)]);
    expect(others.every((o) => o !== null && o.buffer !== ra.buffer)).toBe(true);
    expect(Buffer.compare(ra, saved)).toBe(0);
    for (const o of others) giveBack(o!);
    giveBack(ra);
    // Given back: the buffer serves again (the pool is last in, first out).
    const rb = (await deflateZlibAsync(b, 6, true))!;
    expect(rb.buffer).toBe(ra.buffer);
    expect(Buffer.compare(inflateSync(rb), b)).toBe(0);
    giveBack(rb);
  });

  it('without lend, results are copies at their own size that later calls leave alone', async () => {
    const a = sample(3);
    const r1 = (await deflateZlibAsync(a, 6))!;
    expect(r1.buffer.byteLength).toBe(r1.length);
    const saved = Uint8Array.from(r1);
    giveBack(r1); // ignored: not lent
    await Promise.all([deflateZlibAsync(sample(4), 6, true), deflateZlibAsync(sample(5), 6)]);
    expect(Buffer.compare(r1, saved)).toBe(0);
    expect(Buffer.compare(inflateSync(r1), a)).toBe(0);
  });

  it('incompressible input is null (stored raw) and lends nothing', async () => {
    const r = new Uint8Array(randomBytes(1 << 20));
    expect(await deflateZlibAsync(r, 6, true)).toBeNull();
  });
});
