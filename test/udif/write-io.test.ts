/**
 * The writer's own I/O: it reads cells ahead of the one in turn (src/udif/write/udif.ts jobs()) and writePieces
 * (src/write/node.ts) keeps several positioned writes in flight on a seekable output, one at a time otherwise.
 * Sources and outputs here answer after random delays, so completions come out of order.
 */
import { describe, expect, it } from 'vitest';
import { DmgkitError } from '../../src/errors.js';
import type { ByteSource } from '../../src/io/source.js';
import { writeImage } from '../../src/write/image.js';
import { encodePool } from '../../src/udif/write/encode-pool.js';
import { mixedData } from '../codecs/data.js';
import { writePieces } from '../../src/write/node.js';

const MiB = 1 << 20;

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s;
  }
  return out;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A source over `data` whose reads end after 0-3 ms; counts reads in flight; fails reads at `failAt`. */
function slowSource(data: Uint8Array, failAt = -1) {
  const stats = { inFlight: 0, most: 0, cellReads: 0 };
  let seed = 7;
  const delay = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % 4;
  const src: ByteSource = {
    size: data.length,
    name: 'slow',
    async read(offset, length) {
      const into = new Uint8Array(length);
      await src.readInto!(offset, into);
      return into;
    },
    async readInto(offset, into) {
      if (into.length === MiB) stats.cellReads++; // (the planner's probes are smaller)
      stats.inFlight++;
      stats.most = Math.max(stats.most, stats.inFlight);
      try {
        await pause(delay());
        if (offset <= failAt && failAt < offset + into.length) throw new DmgkitError('IO_ERROR', `cannot read slow at ${offset}`, { offset });
        into.set(data.subarray(offset, offset + into.length));
      } finally {
        stats.inFlight--;
      }
    },
  };
  return { src, stats };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of it) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

describe('the writer reads ahead', () => {
  const data = randomBytes(12 * MiB, 99);
  const opts = { format: 'UDRO', segmentId: new Uint8Array(16).fill(5) } as const;

  it('has several reads in flight and writes the same bytes as from a source read at once', async () => {
    const plain: ByteSource = { size: data.length, read: async (o, n) => data.slice(o, o + n) };
    const expected = await collect(writeImage(plain, opts));
    const { src, stats } = slowSource(data);
    const got = await collect(writeImage(src, opts));
    expect(got.equals(expected)).toBe(true);
    expect(stats.cellReads).toBe(12);
    // Inline (one thread): two cells read ahead.
    expect(stats.most).toBe(2);
    // The raw chunks hold the input in order.
    expect(Buffer.from(data).equals(got.subarray(0, data.length))).toBe(true);
  });

  it('throws a failed read, having yielded only the output before it, with no read left running', async () => {
    const full = await collect(writeImage(slowSource(data).src, opts));
    const { src, stats } = slowSource(data, 5 * MiB + 100);
    const parts: Buffer[] = [];
    let caught: unknown;
    try {
      for await (const p of writeImage(src, opts)) parts.push(Buffer.from(p));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DmgkitError);
    expect((caught as DmgkitError).message).toBe(`cannot read slow at ${5 * MiB}`);
    // Cells after the failed one are never written; cells before it may be dropped too (the output is abandoned).
    const got = Buffer.concat(parts);
    expect(got.length).toBeLessThanOrEqual(5 * MiB);
    expect(got.equals(full.subarray(0, got.length))).toBe(true);
    expect(stats.inFlight).toBe(0);
  });
});

describe('writePieces', () => {
  const pieces = Array.from({ length: 40 }, (_, i) => randomBytes(1000 + ((i * 7919) % 5000), i + 1));
  const total = pieces.reduce((a, p) => a + p.length, 0);
  async function* gen() {
    for (const p of pieces) yield p;
  }

  /** An output whose writes end after 0-3 ms, in any order; records what lands where. */
  function output(seekable: boolean, failAt = -1) {
    const file = new Uint8Array(total);
    const stats = { inFlight: 0, most: 0, order: [] as number[], appended: 0 };
    let seed = 3;
    const out = {
      seekable,
      async write(piece: Uint8Array, position: number) {
        stats.inFlight++;
        stats.most = Math.max(stats.most, stats.inFlight);
        try {
          await pause(((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % 4);
          if (position === failAt) throw new DmgkitError('IO_ERROR', 'cannot write out: no space left on device (ENOSPC)');
          // A non-seekable output appends where it is, whatever the position.
          const at = seekable ? position : stats.appended;
          file.set(piece, at);
          stats.appended += piece.length;
          stats.order.push(position);
        } finally {
          stats.inFlight--;
        }
      },
    };
    return { out, file, stats };
  }
  const expected = Buffer.concat(pieces);

  it('a seekable output: up to 4 writes at once, each at its offset', async () => {
    const { out, file, stats } = output(true);
    expect(await writePieces(gen(), out)).toBe(total);
    expect(Buffer.from(file).equals(expected)).toBe(true);
    expect(stats.most).toBe(4);
    expect(stats.inFlight).toBe(0);
  });

  it('a pipe or device: one write at a time, in order, the next pieces taken meanwhile', async () => {
    const { out, file, stats } = output(false);
    let taken = 0;
    let ahead = 0;
    async function* counted() {
      for (const p of pieces) {
        taken++;
        ahead = Math.max(ahead, taken - stats.order.length); // taken and not yet written, this one included
        yield p;
      }
    }
    expect(await writePieces(counted(), out)).toBe(total);
    expect(Buffer.from(file).equals(expected)).toBe(true);
    expect(stats.most).toBe(1);
    expect(ahead).toBe(4);
  });

  it('a failed write is thrown once no write is running, and no piece after the window is taken', async () => {
    const failAt = pieces.slice(0, 10).reduce((a, p) => a + p.length, 0);
    const { out, stats } = output(true, failAt);
    let taken = 0;
    async function* counted() {
      for (const p of pieces) {
        taken++;
        yield p;
      }
    }
    await expect(writePieces(counted(), out)).rejects.toThrow('cannot write out: no space left on device (ENOSPC)');
    expect(stats.inFlight).toBe(0);
    expect(taken).toBeLessThanOrEqual(10 + 1 + 4);
  });
});

describe('cells that hold their own encoding', () => {
  it("only the writer's own cells: a source's shared memory read without a copy (one thread) is left as it was", async () => {
    // A source answering with views of shared memory it keeps (as a decoder's chunk cache does), without readInto:
    // on one thread the writer encodes those views as they are, and must not put the encoding into them.
    const data = mixedData(3 * MiB, 33);
    const kept = new Uint8Array(new SharedArrayBuffer(data.length));
    kept.set(data);
    const src: ByteSource = { size: kept.length, read: async (o, n) => kept.subarray(o, o + n) };
    const out = await collect(writeImage(src, { format: 'ULFO', deterministic: true }));
    expect(Buffer.from(kept).equals(Buffer.from(data))).toBe(true);
    const plain: ByteSource = { size: data.length, read: async (o, n) => data.slice(o, o + n) };
    expect(out.equals(await collect(writeImage(plain, { format: 'ULFO', deterministic: true })))).toBe(true);
  });

  it('serve again only once their piece is written: the same image as when every piece is kept (2 threads, a slow output)', async () => {
    const disk = mixedData(40 * MiB + 3 * 512, 21); // (more cells than the window and the reads ahead)
    const kept = await collect(writeImage(disk, { format: 'ULFO', threads: 1, deterministic: true }));
    const pool = encodePool(2);
    try {
      const file = new Uint8Array(kept.length + MiB);
      let seed = 9;
      const out = {
        seekable: true,
        async write(piece: Uint8Array, position: number) {
          await pause(((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % 5);
          file.set(piece, position);
        },
      };
      const n = await writePieces(writeImage(disk, { format: 'ULFO', pool, deterministic: true, reusePieces: true }), out);
      expect(n).toBe(kept.length);
      expect(Buffer.from(file.subarray(0, n)).equals(kept)).toBe(true);
    } finally {
      await pool.close();
    }
  });
});
