import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DmgkitError } from '../../src/errors.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import type { ByteSource } from '../../src/io/source.js';
import { READAHEAD_WINDOW, SequentialReadAhead } from '../../src/hfs/readahead.js';
import { openHfs, type HfsEntry } from '../../src/hfs/volume.js';
import { FileSource } from '../../src/io/file-source.js';
import { haveFixtures, synthetic } from '../helpers/fixtures.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Pseudo-random bytes (xorshift), so every offset has distinct content. */
function bytes(n: number, seed = 0x1234567): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Counts reads and their sizes; optionally fails reads that touch a "damaged" range. */
class CountingSource implements ByteSource {
  readonly size: number;
  reads: { offset: number; length: number }[] = [];
  constructor(
    private readonly inner: ByteSource,
    private readonly damaged: [number, number] | null = null,
  ) {
    this.size = inner.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    this.reads.push({ offset, length });
    if (this.damaged && offset < this.damaged[1] && offset + length > this.damaged[0]) {
      throw new DmgkitError('CORRUPT_CHUNK', `damaged bytes [${this.damaged[0]}, ${this.damaged[1]})`);
    }
    return (await this.inner.read(offset, length)).slice();
  }
}

describe('SequentialReadAhead (file content read-ahead)', () => {
  const data = bytes(3 * READAHEAD_WINDOW + 12345);

  it('small sequential reads (files in a row, block gaps between them) return the source bytes with one read per window', async () => {
    const src = new CountingSource(new BufferSource(data));
    const ra = new SequentialReadAhead(src);
    let off = 0;
    let n = 0;
    while (off + 5000 < data.length) {
      const len = 1 + ((n * 7919) % 5000);
      expect(sha(await ra.read(off, len))).toBe(sha(data.subarray(off, off + len)));
      off += len + ((n * 31) % 2048); // the rest of an allocation block
      n++;
    }
    expect(n).toBeGreaterThan(500);
    expect(src.reads.length).toBeLessThan(n / 50);
  });

  it('concurrent reads of a window (a read-ahead of the next files) all get their bytes', async () => {
    const src = new CountingSource(new BufferSource(data));
    const ra = new SequentialReadAhead(src);
    const spans = Array.from({ length: 64 }, (_, i) => [i * 4096, 3000 + i] as const);
    const got = await Promise.all(spans.map(([o, l]) => ra.read(o, l)));
    got.forEach((g, i) => expect(g).toEqual(data.subarray(spans[i][0], spans[i][0] + spans[i][1])));
    expect(src.reads.length).toBeLessThanOrEqual(2);
  });

  it('any sequence of reads (random, large, past the end) behaves like the source itself', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: -10, max: data.length + 10 }), fc.integer({ min: 0, max: 400_000 })), { maxLength: 40 }),
        async (ops) => {
          const direct = new BufferSource(data);
          const ra = new SequentialReadAhead(new CountingSource(new BufferSource(data)));
          for (const [o, l] of ops) {
            // compared as hashes: deep equality of 400 KB arrays is slow
            const want = await direct.read(o, l).then(
              (b) => ({ ok: sha(b) }),
              (e: DmgkitError) => ({ err: e.code }),
            );
            const got = await ra.read(o, l).then(
              (b) => ({ ok: sha(b) }),
              (e: DmgkitError) => ({ err: e.code }),
            );
            expect(got).toEqual(want);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reads served from a window are views of it, and say so (isShared); direct reads are not', async () => {
    const ra = new SequentialReadAhead(new CountingSource(new BufferSource(data)));
    const first = await ra.read(0, 100); // not sequential yet: direct
    const second = await ra.read(100, 100); // opens a window
    expect(ra.isShared(first)).toBe(false);
    expect(ra.isShared(second)).toBe(true);
    expect(ra.isShared(await ra.read(0, READAHEAD_WINDOW))).toBe(false); // large: direct
  });

  it.runIf(haveFixtures())('HfsVolume hands out copies: changing what iterateFile/readFile returned does not change later reads', async () => {
    const src = await FileSource.open(synthetic('features.hfs'));
    const vol = await openHfs(src);
    const files: HfsEntry[] = [];
    for await (const e of vol.walk()) if (e.type === 'file' && e.size > 0 && !e.compressed) files.push(e);
    expect(files.length).toBeGreaterThan(10);
    const want = await Promise.all(files.map(async (f) => sha(await vol.readFile(f))));
    // in walk order, so that most reads come from read-ahead windows; each file is read again right after its
    // bytes were changed (while its window is still the current one)
    const afterIterate: string[] = [];
    const afterRead: string[] = [];
    for (const f of files) {
      for await (const c of vol.iterateFile(f)) c.fill(0x55);
      const r = await vol.readFile(f);
      afterIterate.push(sha(r));
      r.fill(0xaa);
      const h = createHash('sha256');
      for await (const c of vol.iterateFile(f)) h.update(c);
      afterRead.push(h.digest('hex'));
    }
    expect(afterIterate).toEqual(want);
    expect(afterRead).toEqual(want);
    // the shared (no-copy) read used by extraction returns the same bytes, in walk order (from windows) too
    const shared: string[] = [];
    for (const f of files) shared.push(sha(await vol.readFile(f, { shared: true })));
    expect(shared).toEqual(want);
    await src.close();
  });

  it('a window that cannot be read (damage elsewhere in it) does not fail reads of good bytes; reads of the damage do fail', async () => {
    const bad: [number, number] = [200_000, 210_000];
    const src = new CountingSource(new BufferSource(data), bad);
    const ra = new SequentialReadAhead(src);
    expect(await ra.read(0, 1000)).toEqual(data.subarray(0, 1000));
    expect(await ra.read(1000, 1000)).toEqual(data.subarray(1000, 2000)); // opens a window over the damage
    expect(await ra.read(2000, 1000)).toEqual(data.subarray(2000, 3000));
    const err = await ra.read(bad[0] + 10, 100).catch((e) => e);
    expect(err).toBeInstanceOf(DmgkitError);
    expect(err.code).toBe('CORRUPT_CHUNK');
    expect(await ra.read(bad[1], 500)).toEqual(data.subarray(bad[1], bad[1] + 500));
  });
});
