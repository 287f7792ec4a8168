import { describe, expect, it } from 'vitest';
import { Inflate } from 'pako';
import { deflateSync } from 'node:zlib';
import { inflateWithStream, inflateWithPako } from '../../src/codecs/zlib.js';
import { DmgkitError } from '../../src/errors.js';

/** The browsers' zlib path (DecompressionStream), checked against node:zlib's deflate output. */
describe('zlib through DecompressionStream', () => {
  const data = new Uint8Array(300_000).map((_, i) => (i % 251 < 120 ? i & 7 : (i * 2654435761) >>> 24));
  const z = new Uint8Array(deflateSync(data));

  it('inflates what node:zlib deflated, exactly (as pako does)', async () => {
    expect(await inflateWithStream(z, data.length)).toEqual(data);
    const viaPako = new Uint8Array(data.length);
    inflateWithPako(z, viaPako, Inflate);
    expect(viaPako).toEqual(data);
  });

  it('a wrong declared size, a truncated or a corrupt stream is CORRUPT_CHUNK', async () => {
    for (const [input, len] of [
      [z, data.length - 1],
      [z, data.length + 1],
      [z.subarray(0, z.length >> 1), data.length],
      [z.map((b, i) => (i === 40 ? b ^ 0xff : b)), data.length],
      [new Uint8Array([1, 2, 3, 4]), 10],
    ] as const) {
      const e = await inflateWithStream(input, len).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(DmgkitError);
      expect((e as DmgkitError).code).toBe('CORRUPT_CHUNK');
    }
  });
});
