/**
 * fast-check: random disks (random MBR or APM layouts, free entries over zeros and over data, zero runs,
 * incompressible runs, sizes that are not a multiple of the chunk) written in every format on 1 and 2 threads:
 * the same bytes for both, dmgkit reads the disk back, and 7-Zip decodes the same disk with every CRC checked.
 */
import { describe, expect, it, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sevenZip } from '../helpers/fixtures.js';
import { sevenZipDisk } from '../helpers/oracles.js';
import { writeImage } from '../../src/write/image.js';
import { openDisk } from '../../src/open.js';
import { createPool } from '../../src/pool/node.js';
import { serializeMbr } from '../../src/disk/mbr.js';
import { serializeApmEntries, serializeDdm } from '../../src/disk/apm.js';

type Seg = { kind: 'zero' | 'random' | 'text' | 'byte'; sectors: number; seed: number };

function fill(segs: Seg[], extraBytes: number): Uint8Array {
  const total = segs.reduce((s, g) => s + g.sectors, 0) * 512 + extraBytes;
  const out = new Uint8Array(total);
  let o = 0;
  for (const g of segs) {
    const n = g.sectors * 512;
    let x = g.seed | 1;
    for (let i = 0; i < n; i++) {
      if (g.kind === 'random') {
        x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
        out[o + i] = x & 0xff;
      } else if (g.kind === 'text') out[o + i] = 0x61 + ((i * 7 + g.seed) % 13);
      else if (g.kind === 'byte') out[o + i] = (g.seed % 255) + 1;
    }
    o += n;
  }
  out.fill(0x5a, o); // a tail that is not a whole sector
  return out;
}

/** Puts a partition map at the front: MBR with up to 4 entries, or APM (DDM, map, entries incl. Apple_Free). */
function withMap(disk: Uint8Array, scheme: 'mbr' | 'apm' | 'none', cuts: number[]): Uint8Array {
  const sectors = Math.floor(disk.length / 512);
  const bounds = [...new Set(cuts.map((c) => 8 + (c % Math.max(1, sectors - 8))))].sort((a, b) => a - b);
  if (scheme === 'mbr') {
    const entries = [];
    for (let i = 0; i + 1 < bounds.length && entries.length < 4; i += 2) {
      entries.push({ type: i % 4 === 0 ? 0x0b : 0xaf, startLba: bounds[i], sectorCount: bounds[i + 1] - bounds[i] });
    }
    disk.set(serializeMbr(entries), 0);
  } else if (scheme === 'apm') {
    const parts = [];
    for (let i = 0; i + 1 < bounds.length && parts.length < 5; i += 2) {
      const free = i % 4 === 2; // Apple_Free over whatever the bytes are (zeros or data)
      parts.push({ name: free ? '' : `p${i}`, type: free ? 'Apple_Free' : 'Apple_HFS', startBlock: bounds[i], blockCount: bounds[i + 1] - bounds[i], status: free ? 0 : 0x40000033 });
    }
    const entries = serializeApmEntries([{ name: 'Apple', type: 'Apple_partition_map', startBlock: 1, blockCount: 7, status: 3 }, ...parts]);
    disk.set(serializeDdm(sectors), 0);
    disk.set(entries.subarray(0, Math.min(entries.length, 7 * 512)), 512);
  }
  return disk;
}

async function bytesOf(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

const dir = mkdtempSync(join(tmpdir(), 'dmgkit-prop-'));
const pool = createPool(2);
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

const seg = fc.record({
  kind: fc.constantFrom('zero', 'random', 'text', 'byte') as fc.Arbitrary<Seg['kind']>,
  sectors: fc.integer({ min: 1, max: 300 }),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
});

describe.runIf(sevenZip())('random disks round-trip through every format and thread count', () => {
  it('same bytes on 1 and 2 threads; dmgkit and 7-Zip decode the disk', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(seg, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 511 }),
        fc.constantFrom('mbr', 'apm', 'none') as fc.Arbitrary<'mbr' | 'apm' | 'none'>,
        fc.array(fc.nat(), { minLength: 2, maxLength: 10 }),
        fc.constantFrom('UDZO', 'UDCO', 'ULFO', 'UDRO', 'UDRW', 'UDSP'),
        fc.constantFrom(7, 64, 2048),
        async (segs, extra, scheme, cuts, format, chunkSectors) => {
          const disk = withMap(fill([{ kind: 'text', sectors: 16, seed: 3 }, ...segs], extra), scheme, cuts);
          const padded = new Uint8Array(Math.ceil(disk.length / 512) * 512);
          padded.set(disk);
          const opts = { format, chunkSectors, deterministic: true, level: format === 'UDZO' ? 1 + (disk.length % 9) : undefined };
          const one = await bytesOf(writeImage(disk, opts));
          const two = await bytesOf(writeImage(disk, { ...opts, pool }));
          expect(two.equals(one)).toBe(true);
          const file = join(dir, `p.${format}`);
          writeFileSync(file, one);
          const back = await openDisk(file);
          try {
            expect(Buffer.from(await back.disk.read(0, back.disk.size)).equals(Buffer.from(padded))).toBe(true);
          } finally {
            await back.close();
          }
          if (format !== 'UDSP') {
            const z = sevenZipDisk(file);
            expect(z.ok, z.report).toBe(true);
            expect(z.disk.equals(Buffer.from(padded))).toBe(true);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
