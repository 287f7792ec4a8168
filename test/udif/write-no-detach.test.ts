// The writer's cells and results cross threads without detaching an ArrayBuffer: the first detach in a thread
// invalidates V8's array-buffer-detaching protector, and every typed-array access of that thread's optimised code
// checks for detachment from then on (measured: the LZFSE encoder +20-25 % CPU, bzip2 +13-15 %). A transfer list
// is what detaches, so this test records every postMessage the pool makes, on this thread (cells to the worker)
// and in the task a worker runs (its result), and wants none with a buffer to move.
import { afterAll, describe, expect, it } from 'vitest';
import { recordTransferLists } from '../helpers/transfers.js';
import { writeImage } from '../../src/write/image.js';
import { createPool } from '../../src/pool/node.js';
import { runTaskHere } from '../../src/pool/registry.js';
import { ENCODE_TASK, type EncodeCellArgs } from '../../src/udif/write/encode-task.js';
import { CHUNK_BZIP2, CHUNK_LZFSE, CHUNK_ZLIB } from '../../src/udif/chunk-types.js';
import { mixedData } from '../codecs/data.js';

const pool = createPool(2, { callerRuns: false });
afterAll(() => pool.close());

describe('the writer on two threads', () => {
  it('sends no transfer list to a worker (cells shared or cloned) and its task answers without one', async () => {
    const { lists: sent, restore } = recordTransferLists();
    try {
      const disk = mixedData(3 * 1024 * 1024 + 7 * 512, 11);
      const parts: Uint8Array[] = [];
      for await (const p of writeImage(disk, { format: 'ULFO', pool, deterministic: true })) parts.push(p);
      expect(parts.reduce((a, p) => a + p.length, 0)).toBeGreaterThan(0);
    } finally {
      restore();
    }
    expect(sent.length).toBeGreaterThanOrEqual(4); // (every cell went through a worker: callerRuns is off)
    expect(sent.filter((n) => n > 0)).toEqual([]);

    // What a worker does with a cell: the task's answer lists no buffer to transfer. A shared cell takes its own
    // encoding (the answer crosses back without a copy); a plain one is answered with a buffer of the encoding's
    // own size (a view would be cloned with all of its buffer).
    await import('../../src/udif/write/encode-task.js');
    for (const shared of [true, false]) {
      for (const type of [CHUNK_LZFSE, CHUNK_BZIP2, CHUNK_ZLIB]) {
        const input = new Uint8Array(shared ? new SharedArrayBuffer(64 * 1024) : new ArrayBuffer(64 * 1024));
        input.set(mixedData(input.length, 5));
        const r = await runTaskHere(ENCODE_TASK, { type, level: type === CHUNK_BZIP2 ? 9 : 6, input, split: true, intoCell: true } satisfies EncodeCellArgs);
        expect(r.buffers).toEqual([]);
        const { out, cellFree } = r.value as { out: Uint8Array; cellFree: boolean };
        expect(out.length).toBeLessThan(input.length);
        if (shared) {
          expect(out.buffer).toBe(input.buffer);
          expect(out.byteOffset).toBe(input.byteOffset);
          expect(cellFree).toBe(false); // (the cell holds the result until it is written)
        } else {
          expect(out.byteLength).toBe(out.buffer.byteLength);
          expect(out.buffer).not.toBe(input.buffer);
        }
      }
    }
  });
});
