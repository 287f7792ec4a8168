// Native jobs (src/pool/native.ts): zlib and raw work done on libuv's thread pool instead of a worker must give
// exactly what the task gives on a thread — bytes, CRCs and errors — and the pool that runs them must own its
// workers and its running jobs like any other pool.
import { describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { NativeFirstPool, registerNativeTask } from '../../src/pool/native.js';
import type { TaskPool } from '../../src/pool/pool.js';
import { BATCH_FIELDS, runBatch, type BatchArgs } from '../../src/udif/batch-task.js';
import { nativeBatchAccepts, runBatchNative } from '../../src/udif/native-batch.js';
import { encodeCell, type EncodeCellArgs } from '../../src/udif/write/encode-task.js';
import { encodeCellNative } from '../../src/udif/write/native-encode.js';
import { deflateZlib } from '../../src/codecs/deflate.js';
import { loadDecoders } from '../../src/udif/chunk-codecs.js';
import { CHUNK_ADC, CHUNK_RAW, CHUNK_ZLIB } from '../../src/udif/chunk-types.js';
import { crc32 } from '../../src/util/crc32.js';
import { mixedData } from '../codecs/data.js';

const MiB = 1 << 20;

/** A batch over `stored` (the concatenated stored bytes) with these chunks: [type, inOffset, inLength, outLength, from, to, dest]. */
function batch(rows: number[][], input: BatchArgs['input'], sink: BatchArgs['sink'], keepGoing = true): BatchArgs {
  const chunks = new Float64Array(rows.length * BATCH_FIELDS);
  rows.forEach((r, k) => chunks.set(r, k * BATCH_FIELDS));
  return { chunks, input, sink, crc: true, keepGoing };
}

describe('the native udif.batch', () => {
  const plain = mixedData(3 * MiB, 7);
  const good = deflateSync(plain.subarray(0, MiB), { level: 6 });
  const good2 = deflateSync(plain.subarray(MiB, 2 * MiB), { level: 1 });
  const corrupt = Uint8Array.from(good);
  corrupt[good.length >> 1] ^= 0xff;
  const truncated = good.subarray(0, good.length - 100);
  // declares fewer bytes than the stream holds (the decoder must not write past the declared size)
  const rawStart = good.length + good2.length + corrupt.length + truncated.length;
  const stored = new Uint8Array(rawStart + MiB);
  stored.set(good, 0);
  stored.set(good2, good.length);
  stored.set(corrupt, good.length + good2.length);
  stored.set(truncated, good.length + good2.length + corrupt.length);
  stored.set(plain.subarray(2 * MiB), rawStart);
  let o = 0;
  const at = (n: number) => ((o += n), o - n);
  const rows = [
    [CHUNK_ZLIB, at(good.length), good.length, MiB, 0, MiB, 0],
    [CHUNK_ZLIB, at(good2.length), good2.length, MiB, 100, MiB - 100, MiB], // a part of a chunk
    [CHUNK_ZLIB, at(corrupt.length), corrupt.length, MiB, 0, MiB, 2 * MiB],
    [CHUNK_ZLIB, at(truncated.length), truncated.length, MiB, 0, MiB, 3 * MiB],
    [CHUNK_ZLIB, 0, good.length, MiB - 1, 0, MiB - 1, 4 * MiB], // output longer than declared
    [CHUNK_RAW, rawStart, MiB, MiB, 512, MiB, 5 * MiB],
  ];

  it('takes runs of zlib and raw chunks only', () => {
    expect(nativeBatchAccepts(batch(rows, { bytes: [] }, null))).toBe(true);
    expect(nativeBatchAccepts(batch([...rows, [CHUNK_ADC, 0, 1, 1, 0, 1, 0]], { bytes: [] }, null))).toBe(false);
  });

  it('gives the bytes, CRCs and errors of the threaded task, from a descriptor into a file and from memory into a slot', async () => {
    await loadDecoders([CHUNK_ZLIB]);
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-native-'));
    try {
      const inPath = join(dir, 'in');
      writeFileSync(inPath, stored);
      const inFd = openSync(inPath, 'r');
      const outA = openSync(join(dir, 'a'), 'w+');
      const outB = openSync(join(dir, 'b'), 'w+');
      try {
        const threaded = runBatch(batch(rows, { fd: inFd }, { fd: outA }));
        const native = await runBatchNative(batch(rows, { fd: inFd }, { fd: outB }));
        // the same CRCs and error codes (messages may word a bad stream differently: zlib reports it at another step)
        const codes = (r: typeof native) => ({ crcs: r.crcs, errors: r.errors.map((e) => e?.code ?? null) });
        expect(codes(native)).toEqual(codes(threaded));
        // what is right is right independently of both: zlib's own inflate, and CRC-32 of the expected bytes
        expect(native.errors.map((e) => e?.code ?? null)).toEqual([null, null, 'CORRUPT_CHUNK', 'CORRUPT_CHUNK', 'CORRUPT_CHUNK', null]);
        expect(native.crcs[0]).toBe(crc32(inflateSync(good)));
        expect(native.crcs[1]).toBe(crc32(plain.subarray(MiB + 100, 2 * MiB - 100)));
        expect(native.crcs[5]).toBe(crc32(plain.subarray(2 * MiB + 512)));
        const b = readFileSync(join(dir, 'b'));
        expect(Buffer.compare(b, readFileSync(join(dir, 'a')))).toBe(0);
        expect(Buffer.compare(b.subarray(0, MiB), plain.subarray(0, MiB))).toBe(0);
        expect(Buffer.compare(b.subarray(MiB, 2 * MiB - 200), plain.subarray(MiB + 100, 2 * MiB - 100))).toBe(0);
        expect(Buffer.compare(b.subarray(5 * MiB), plain.subarray(2 * MiB + 512))).toBe(0);
      } finally {
        for (const fd of [inFd, outA, outB]) closeSync(fd);
      }
      // from memory (bytes per chunk, a raw chunk's only its range) into a slot; without keepGoing it stops at the first error
      const memRows = rows.slice(0, 3).map((r, k) => [...r.slice(0, 6), k * MiB]);
      const bytes = [good, good2, corrupt];
      const slotA = new Uint8Array(3 * MiB);
      const slotB = new Uint8Array(3 * MiB);
      const t = runBatch(batch(memRows, { bytes }, { slot: slotA }, false));
      const n = await runBatchNative(batch(memRows, { bytes }, { slot: slotB }, false));
      expect({ crcs: n.crcs, errors: n.errors.map((e) => e?.code ?? null) }).toEqual({ crcs: t.crcs, errors: t.errors.map((e) => e?.code ?? null) });
      expect(n.errors.length).toBe(3);
      // (a failed chunk's part of the slot is undefined: decodeRange writes zeros for it)
      expect(Buffer.compare(slotB.subarray(0, 2 * MiB), slotA.subarray(0, 2 * MiB))).toBe(0);
      expect(Buffer.compare(slotB.subarray(0, MiB), plain.subarray(0, MiB))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the native udif.encode', () => {
  it('gives encodeCell’s result for zlib and raw cells: all zeros, zero runs at the ends, incompressible, mixed', async () => {
    const cell = 2048 * 512;
    const mixed = mixedData(cell, 3);
    const random = Uint8Array.from({ length: cell }, (_, i) => (Math.imul(i + 1, 2654435761) >>> 13) & 255);
    const ends = new Uint8Array(cell);
    ends.set(mixed.subarray(0, cell - 64 * 512), 40 * 512);
    for (const input of [new Uint8Array(cell), ends, random, mixed]) {
      for (const [type, level] of [[CHUNK_ZLIB, 1], [CHUNK_ZLIB, 6], [CHUNK_ZLIB, 9], [CHUNK_RAW, 0]]) {
        const a: EncodeCellArgs = { type, level, input, split: true };
        const want = encodeCell(a, type === CHUNK_RAW ? null : deflateZlib);
        const got = await encodeCellNative(a);
        // (typed arrays compared as Buffers: vitest's element-wise equality is slow on 1 MiB)
        const shape = (r: typeof want) => ({ ...r, out: r.out && Buffer.from(r.out).toString('base64'), cellFree: r.cellFree });
        expect(shape(got)).toEqual(shape(want));
        if (got.out && got.type === CHUNK_ZLIB) expect(Buffer.compare(inflateSync(got.out), input.subarray(got.a * 512, got.b * 512))).toBe(0);
      }
    }
  });
});

describe('NativeFirstPool', () => {
  /** A stand-in for a worker pool that records what reaches it. */
  function fakeInner(log: string[]): () => TaskPool {
    return () => {
      log.push('created');
      return {
        threads: 2,
        run: async <R,>(kind: string) => (log.push(`run ${kind}`), 'inner' as R),
        close: async () => void log.push('closed'),
      };
    };
  }

  it('runs native jobs itself, at most `threads` at once, and other jobs on an inner pool made on first need', async () => {
    const log: string[] = [];
    const pool = new NativeFirstPool(2, fakeInner(log));
    const cell = new Uint8Array(2048 * 512).fill(7);
    const jobs = Array.from({ length: 6 }, () => pool.run('udif.encode', { type: CHUNK_ZLIB, level: 6, input: cell, split: true }));
    expect(log).toEqual([]); // zlib cells: native, nothing created
    const rs = await Promise.all(jobs);
    for (const r of rs) expect((r as { type: number }).type).toBe(CHUNK_ZLIB);
    expect(await pool.run('udif.encode', { type: CHUNK_ADC, level: 0, input: cell, split: true })).toBe('inner');
    expect(log).toEqual(['created', 'run udif.encode']);
    // at most `threads` native jobs run at once, started in submission order
    let now = 0;
    let peak = 0;
    const order: number[] = [];
    registerNativeTask<number, number>('test.native', {
      accepts: (n) => n >= 0,
      run: async (n) => {
        order.push(n);
        peak = Math.max(peak, ++now);
        await new Promise((r) => setTimeout(r, 5 + (n % 3) * 5));
        now--;
        return n * 2;
      },
    });
    expect(await Promise.all(Array.from({ length: 9 }, (_, i) => pool.run('test.native', i)))).toEqual(Array.from({ length: 9 }, (_, i) => i * 2));
    expect(peak).toBe(2);
    expect(order).toEqual(Array.from({ length: 9 }, (_, i) => i));
    expect(await pool.run('test.native', -1)).toBe('inner'); // not accepted: the inner pool's
    await pool.close();
    expect(log).toEqual(['created', 'run udif.encode', 'run test.native', 'closed']);
    await expect(pool.run('udif.encode', { type: CHUNK_ZLIB, level: 6, input: cell, split: true })).rejects.toMatchObject({ code: 'IO_ERROR' });
  });

  it('close() waits for running native jobs and rejects waiting ones', async () => {
    const log: string[] = [];
    const pool = new NativeFirstPool(1, fakeInner(log));
    const cell = mixedData(2048 * 512, 9);
    const running = pool.run('udif.encode', { type: CHUNK_ZLIB, level: 9, input: cell, split: true });
    const waiting = pool.run('udif.encode', { type: CHUNK_ZLIB, level: 9, input: cell, split: true });
    waiting.catch(() => undefined);
    let runningDone = false;
    void running.then(() => (runningDone = true));
    await pool.close();
    expect(runningDone).toBe(true);
    await expect(waiting).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(log).toEqual([]); // zlib cells only: no inner pool was made
  });
});
