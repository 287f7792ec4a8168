/**
 * How many threads the writer encodes on (src/udif/write/encode-pool.ts encodeThreadsFor): a worker costs its
 * start-up and a cold JIT, so work too small to pay for one runs on the calling thread alone; zlib and raw cells
 * run natively (no worker) and always take every thread; an input of unknown size (a stream) too.
 */
import { describe, expect, it } from 'vitest';
import { encodeThreadsFor } from '../../src/udif/write/encode-pool.js';
import { planReadBytes, wholeDiskPlan, type ImagePlan } from '../../src/udif/write/plan.js';
import { CHUNK_BZIP2, CHUNK_LZFSE, CHUNK_LZMA, CHUNK_RAW, CHUNK_ZLIB } from '../../src/udif/chunk-types.js';

const MiB = 1 << 20;

describe('encodeThreadsFor', () => {
  it('keeps a small image on one thread and a large one on all, per codec', () => {
    expect(encodeThreadsFor(2, { chunkType: CHUNK_LZFSE, level: 0, bytes: 4 * MiB })).toBe(1);
    expect(encodeThreadsFor(2, { chunkType: CHUNK_LZFSE, level: 0, bytes: 256 * MiB })).toBe(2);
    expect(encodeThreadsFor(4, { chunkType: CHUNK_BZIP2, level: 9, bytes: 2 * MiB })).toBe(1);
    expect(encodeThreadsFor(4, { chunkType: CHUNK_BZIP2, level: 9, bytes: 64 * MiB })).toBe(4);
    // bzip2 is slower than LZFSE: the same 16 MiB pays for a worker with bzip2, not with LZFSE.
    expect(encodeThreadsFor(2, { chunkType: CHUNK_BZIP2, level: 9, bytes: 16 * MiB })).toBe(2);
    expect(encodeThreadsFor(2, { chunkType: CHUNK_LZFSE, level: 0, bytes: 16 * MiB })).toBe(1);
    // XZ's fast presets are faster: 4 MiB is worth a worker at preset 6, not at preset 1.
    expect(encodeThreadsFor(2, { chunkType: CHUNK_LZMA, level: 6, bytes: 4 * MiB })).toBe(2);
    expect(encodeThreadsFor(2, { chunkType: CHUNK_LZMA, level: 1, bytes: 4 * MiB })).toBe(1);
  });

  it('native codecs, unknown sizes and one thread are left as they are', () => {
    expect(encodeThreadsFor(2, { chunkType: CHUNK_ZLIB, level: 6, bytes: 512 })).toBe(2);
    expect(encodeThreadsFor(3, { chunkType: CHUNK_RAW, level: 0, bytes: 512 })).toBe(3);
    expect(encodeThreadsFor(2, { chunkType: CHUNK_LZFSE, level: 0 })).toBe(2);
    expect(encodeThreadsFor(1, { chunkType: CHUNK_BZIP2, level: 9, bytes: 1 << 30 })).toBe(1);
  });
});

describe('planReadBytes', () => {
  it('counts data, stored and free runs, not zero and ignore runs', () => {
    expect(planReadBytes(wholeDiskPlan(2048))).toBe(MiB);
    const plan: ImagePlan = {
      variant: 1,
      tables: [
        { name: 'a', id: -1, blocksDescriptor: 0, firstSector: 0, sectorCount: 1 },
        {
          name: 'b', id: 0, blocksDescriptor: 1, firstSector: 1, sectorCount: 100,
          runs: [
            { kind: 'data', sectorStart: 0, sectorCount: 10 },
            { kind: 'zero', sectorStart: 10, sectorCount: 20 },
            { kind: 'free', sectorStart: 30, sectorCount: 30 },
            { kind: 'ignore', sectorStart: 60, sectorCount: 35 },
            { kind: 'stored', sectorStart: 95, sectorCount: 5 },
          ],
        },
      ],
    };
    expect(planReadBytes(plan)).toBe((1 + 10 + 30 + 5) * 512);
  });
});
