import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DmgkitError } from '../../src/errors.js';
import { openHfs } from '../../src/hfs/volume.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import { haveFixtures, synthetic } from '../helpers/fixtures.js';

/**
 * Hostile volumes: copies of features.hfs mutated in memory. Offsets are found here with a minimal, separate
 * reading of TN1150 structures (volume header fork data, B-tree header record), not with the code under test.
 */
const be32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const be16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const put32 = (b: Uint8Array, o: number, v: number) => {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
};
const put16 = (b: Uint8Array, o: number, v: number) => {
  b[o] = v >>> 8;
  b[o + 1] = v;
};

interface Tree {
  base: number;
  nodeSize: number;
  root: number;
  depth: number;
  firstLeaf: number;
  lastLeaf: number;
  totalNodes: number;
  /** byte range of the tree file's first extent */
  bytes: number;
}
function treeAt(img: Uint8Array, forkOff: number): Tree {
  const blockSize = be32(img, 1024 + 40);
  const start = be32(img, 1024 + forkOff + 16);
  const count = be32(img, 1024 + forkOff + 20);
  const base = start * blockSize;
  return {
    base,
    depth: be16(img, base + 14),
    root: be32(img, base + 16),
    firstLeaf: be32(img, base + 24),
    lastLeaf: be32(img, base + 28),
    nodeSize: be16(img, base + 32),
    totalNodes: be32(img, base + 36),
    bytes: count * blockSize,
  };
}
const CATALOG = 272;
const EXTENTS = 192;
const ATTRIBUTES = 352;

async function exercise(img: Uint8Array, maxFile = 8 << 20): Promise<void> {
  const vol = await openHfs(new BufferSource(img), { limits: { maxFileBytes: maxFile } });
  for await (const e of vol.walk()) {
    if (e.type === 'file' && e.size <= maxFile) await vol.readFile(e);
    await vol.listXattrs(e);
  }
}
async function failure(img: Uint8Array): Promise<DmgkitError> {
  try {
    await exercise(img);
  } catch (e) {
    if (e instanceof DmgkitError) return e;
    throw e;
  }
  throw new Error('expected a DmgkitError, got success');
}

describe.runIf(haveFixtures())('corrupted B-trees and forks', () => {
  const pristine = haveFixtures() ? new Uint8Array(readFileSync(synthetic('features.hfs'))) : new Uint8Array(0);
  const copy = () => pristine.slice();

  it('the pristine volume passes the exercise', async () => {
    await exercise(copy());
  });

  it('a cycle in the leaf fLink chain → CORRUPT_FS naming the tree and node, no hang', async () => {
    const img = copy();
    const t = treeAt(img, CATALOG);
    expect(t.lastLeaf).not.toBe(t.firstLeaf);
    // every leaf after the first links back to the first: any scan crossing a leaf boundary meets the loop
    const chain: number[] = [];
    for (let n = be32(img, t.base + t.firstLeaf * t.nodeSize); n !== 0 && chain.length < t.totalNodes; ) {
      chain.push(n);
      n = be32(img, t.base + n * t.nodeSize);
    }
    expect(chain.length).toBeGreaterThan(2);
    for (const n of chain) put32(img, t.base + n * t.nodeSize, t.firstLeaf);
    const e = await failure(img);
    expect(e.code).toBe('CORRUPT_FS');
    expect(e.message).toMatch(/catalog B-tree node \d+/);
  });

  it('a leaf linking to itself → CORRUPT_FS', async () => {
    const img = copy();
    const t = treeAt(img, CATALOG);
    put32(img, t.base + t.firstLeaf * t.nodeSize, t.firstLeaf);
    expect((await failure(img)).code).toBe('CORRUPT_FS');
  });

  it('an index child pointer out of range → CORRUPT_FS', async () => {
    const img = copy();
    const t = treeAt(img, CATALOG);
    expect(t.depth).toBeGreaterThan(1);
    const node = t.base + t.root * t.nodeSize;
    expect(img[node + 8]).toBe(0); // index node
    const rec0 = be16(img, node + t.nodeSize - 2);
    const keyLen = be16(img, node + rec0);
    put32(img, node + rec0 + 2 + keyLen, 0x00ffffff);
    const e = await failure(img);
    expect(e.code).toBe('CORRUPT_FS');
    expect(e.message).toMatch(/catalog B-tree node 16777215: node number out of range/);
  });

  it('an index child pointing back at the root (cycle through the index) → CORRUPT_FS', async () => {
    const img = copy();
    const t = treeAt(img, CATALOG);
    const node = t.base + t.root * t.nodeSize;
    const n = be16(img, node + 10);
    for (let i = 0; i < n; i++) {
      const r = be16(img, node + t.nodeSize - 2 * (i + 1));
      put32(img, node + r + 2 + be16(img, node + r), t.root);
    }
    expect((await failure(img)).code).toBe('CORRUPT_FS');
  });

  it('record offsets out of order or overlapping the offset table → CORRUPT_FS', async () => {
    for (const mutate of [
      (img: Uint8Array, node: number, ns: number) => put16(img, node + ns - 4, 10), // offset[1] before offset[0]
      (img: Uint8Array, node: number, ns: number) => put16(img, node + ns - 2, ns - 2), // offset[0] in the table
      (img: Uint8Array, node: number) => put16(img, node + 10, 0xffff), // numRecords absurd
    ]) {
      const img = copy();
      const t = treeAt(img, CATALOG);
      mutate(img, t.base + t.firstLeaf * t.nodeSize, t.nodeSize);
      const e = await failure(img);
      expect(e.code).toBe('CORRUPT_FS');
      expect(e.message).toMatch(/catalog B-tree node \d+/);
    }
  });

  it('wrong node kinds → CORRUPT_FS', async () => {
    for (const kind of [1, 2, 0x7f]) {
      const img = copy();
      const t = treeAt(img, CATALOG);
      img[t.base + t.root * t.nodeSize + 8] = kind;
      expect((await failure(img)).code).toBe('CORRUPT_FS');
    }
    const img = copy();
    const t = treeAt(img, CATALOG);
    img[t.base + 8] = 0xff; // header node claims to be a leaf
    expect((await failure(img)).code).toBe('CORRUPT_FS');
  });

  it('absurd header node fields → CORRUPT_FS (or LIMIT_EXCEEDED for node sizes past the limit)', async () => {
    const cases: [string, (img: Uint8Array, t: Tree) => void, string][] = [
      ['nodeSize 3', (img, t) => put16(img, t.base + 32, 3), 'CORRUPT_FS'],
      ['nodeSize 65535', (img, t) => put16(img, t.base + 32, 65535), 'CORRUPT_FS'],
      ['nodeSize 0', (img, t) => put16(img, t.base + 32, 0), 'CORRUPT_FS'],
      ['totalNodes huge', (img, t) => put32(img, t.base + 36, 0x7fffffff), 'CORRUPT_FS'],
      ['root out of range', (img, t) => put32(img, t.base + 16, t.totalNodes + 5), 'CORRUPT_FS'],
      ['depth absurd', (img, t) => put16(img, t.base + 14, 300), 'CORRUPT_FS'],
    ];
    for (const [what, mutate, want] of cases) {
      const img = copy();
      mutate(img, treeAt(img, CATALOG));
      const e = await failure(img);
      expect(e.code, what).toBe(want);
    }
    const img = copy();
    put16(img, treeAt(img, CATALOG).base + 32, 32768);
    const e = await openHfs(new BufferSource(img), { limits: { maxNodeBytes: 8192 } }).catch((x) => x);
    expect(e.code).toBe('LIMIT_EXCEEDED');
  });

  it('a fork whose extents do not cover its logical size → CORRUPT_FS; missing overflow records too', async () => {
    // Extents tree: break the first overflow record's start block, so the chain cannot be followed.
    const img = copy();
    const t = treeAt(img, EXTENTS);
    const leaf = t.base + t.firstLeaf * t.nodeSize;
    const r0 = be16(img, leaf + t.nodeSize - 2);
    put32(img, leaf + r0 + 2 + 6, 0x12345); // startBlock of the key
    const e = await failure(img);
    expect(e.code).toBe('CORRUPT_FS');
    expect(e.message).toMatch(/no overflow record starts at block/);
  });

  it('classic HFS signature refused; garbage refused; truncated source refused', async () => {
    const img = copy();
    img[1024] = 0x42;
    img[1025] = 0x44;
    expect((await openHfs(new BufferSource(img)).catch((x) => x)).code).toBe('UNSUPPORTED');
    expect((await openHfs(new BufferSource(new Uint8Array(4096))).catch((x) => x)).code).toBe('NOT_AN_IMAGE');
    expect((await openHfs(new BufferSource(pristine.subarray(0, 100))).catch((x) => x)).code).toBe('NOT_AN_IMAGE');
    const e = await failure(pristine.slice(0, 300_000));
    expect(['TRUNCATED', 'CORRUPT_FS']).toContain(e.code);
  });

  it('a damaged primary header falls back to the alternate header at size − 1024', async () => {
    const img = copy();
    put16(img, 1024 + 2, 9); // version 9
    const vol = await openHfs(new BufferSource(img));
    expect(vol.info.usedAlternateHeader).toBe(true);
    expect(vol.info.warnings.join(' ')).toMatch(/alternate/);
    expect((await vol.readdir('')).length).toBeGreaterThan(5);
  });

  it('fast-check: bit flips in metadata (volume header, catalog, extents, attributes) throw only DmgkitError', async () => {
    const img = copy();
    const regions = [
      [1024, 512],
      ...[CATALOG, EXTENTS, ATTRIBUTES].map((f) => {
        const t = treeAt(img, f);
        return [t.base, Math.min(t.bytes, t.totalNodes * t.nodeSize)];
      }),
    ];
    const total = regions.reduce((a, [, n]) => a + n, 0);
    const locate = (k: number): number => {
      for (const [start, n] of regions) {
        if (k < n) return start + k;
        k -= n;
      }
      return 1024;
    };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(total - 1), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 6 }), async (flips) => {
        const work = img; // flip in place and restore: no 4 MB copy per run
        const touched = flips.map(([k, bit]) => [locate(k), bit] as const);
        for (const [o, bit] of touched) work[o] ^= 1 << bit;
        try {
          await exercise(work);
        } catch (e) {
          if (!(e instanceof DmgkitError)) throw e;
          // the public API converts stray exceptions to CORRUPT_FS "unexpected failure": none may occur
          if (e.message.includes('unexpected failure')) throw e;
        } finally {
          for (const [o, bit] of [...touched].reverse()) work[o] ^= 1 << bit;
        }
      }),
      { numRuns: Number(process.env.FUZZ_ITERATIONS ?? 150) },
    );
  });
});
