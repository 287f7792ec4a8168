/**
 * Twin chunks (src/udif/twins.ts): a hostile table whose chunks repeat one chunk's stored bytes describes far more
 * than it stores (the fuzz campaign's case 4: 60,000 zlib chunks of 1 MiB on one stored range, a 60 GiB disk in a
 * 3 MB file, took minutes of CPU to verify). verify decodes each distinct chunk once and reuses its CRC for its
 * twins; the partition CRCs it computes are checked against node:zlib's crc32 over the whole decoded disk and
 * against 7-Zip, which decodes every chunk and checks the table's CRC.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { crc32 as zlibCrc32, deflateSync } from 'node:zlib';
import { buildDmg, type BuildChunk } from '../helpers/build-dmg.js';
import { sevenZip } from '../helpers/fixtures.js';
import { openUdif } from '../../src/udif/open-udif.js';
import { verifyImage } from '../../src/udif/verify.js';
import { planTwins, MIN_TWIN_RUN_BYTES } from '../../src/udif/twins.js';
import { InlinePool } from '../../src/pool/pool.js';
import { BATCH_FIELDS } from '../../src/udif/batch-task.js';
import type { ChunkRef } from '../../src/udif/layout.js';

const dir = mkdtempSync(join(tmpdir(), 'dmgkit-twins-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An inline pool that counts the decoded bytes of the chunks it is asked to decode. */
class CountingPool extends InlinePool {
  decoded = 0;
  override async run<R = unknown>(kind: string, args: unknown): Promise<R> {
    if (kind === 'udif.batch') {
      const c = (args as { chunks: Float64Array }).chunks;
      for (let b = 0; b < c.length; b += BATCH_FIELDS) this.decoded += c[b + 5] - c[b + 4];
    }
    return super.run<R>(kind, args);
  }
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = (x >>> 24) & 0x0f; // compressible, not constant
  }
  return b;
}

const MiB = 1 << 20;
const A = pattern(MiB, 1);
const B = pattern(8192, 2);
const zA = new Uint8Array(deflateSync(A));
/** A: zlib 1 MiB; B: raw 8 KiB; 3 twins of A (skipped), B's twin alone between zero chunks (decoded: under MIN_TWIN_RUN_BYTES), 2 twins of A, B stored again. */
function chunks(): BuildChunk[] {
  const a: BuildChunk = { type: 0x80000005, payload: zA, decoded: A };
  const b: BuildChunk = { type: 1, payload: B, decoded: B };
  const twinA: BuildChunk = { ...a, sharesWith: 0 };
  const zero: BuildChunk = { type: 0, payload: new Uint8Array(0), decoded: new Uint8Array(4096) };
  return [a, b, twinA, twinA, twinA, zero, { ...b, sharesWith: 1 }, zero, twinA, twinA, b];
}
function disk(cs: BuildChunk[]): Buffer {
  return Buffer.concat(cs.map((c) => c.decoded));
}

describe('twin chunks', () => {
  it('planTwins: null for increasing stored ranges; runs under 1 MiB are decoded, longer ones skipped', () => {
    const ref = (i: number, inOffset: number, outLength: number, type = 1): ChunkRef => ({ partition: 0, index: i, type, outOffset: 0, outLength, inOffset, inLength: 100 });
    const place = (cs: ChunkRef[]) => {
      let o = 0;
      for (const c of cs) {
        c.outOffset = o;
        o += c.outLength;
      }
      return { cs, size: o };
    };
    const plain = place([ref(0, 0, 512), ref(1, 100, 512), ref(2, 200, 512)]);
    expect(planTwins(plain.cs, plain.size)).toBeNull();
    // twins of chunk 0 in a run of 512 bytes only: not worth a step
    const small = place([ref(0, 0, 512), ref(1, 0, 512), ref(2, 100, 512)]);
    expect(planTwins(small.cs, small.size)).toBeNull();
    // two runs of 1 MiB twins around a distinct chunk
    const big = place([ref(0, 0, MiB), ref(1, 0, MiB), ref(2, 200, 512), ref(3, 0, MiB / 2), ref(4, 0, MiB / 2), ref(5, 0, MiB)]);
    const plan = planTwins(big.cs, big.size)!;
    // 3 is not 0's twin (another decoded length); 4 is 3's, and 4 and 5 make one run of 1.5 MiB
    expect(plan.steps).toEqual([
      { kind: 'decode', start: 0, end: MiB },
      { kind: 'twins', from: 1, to: 2 },
      { kind: 'decode', start: 2 * MiB, end: 2.5 * MiB + 512 },
      { kind: 'twins', from: 4, to: 6 },
    ]);
    expect([...plan.firsts].map((c) => c.index).sort()).toEqual([0, 3]);
    expect([...plan.firstOf]).toEqual([-1, 0, -1, -1, 3, 0]);
    expect(MIN_TWIN_RUN_BYTES).toBe(MiB);
  });

  it('verify decodes each distinct chunk once; its partition CRC is zlib’s over the whole disk and 7-Zip agrees', async () => {
    const cs = chunks();
    const want = zlibCrc32(disk(cs)) >>> 0;
    const good = join(dir, 'good.dmg');
    const bad = join(dir, 'bad.dmg');
    writeFileSync(good, buildDmg(cs, 'disk image (Apple_HFS : 1)', want));
    writeFileSync(bad, buildDmg(cs, 'disk image (Apple_HFS : 1)', (want ^ 1) >>> 0));
    for (const [file, ok] of [[good, true], [bad, false]] as const) {
      const img = await openUdif(file);
      expect(img.warnings.join('\n')).toMatch(/chunks share stored bytes with another chunk/);
      const pool = new CountingPool();
      const report = await verifyImage(img, { pool });
      const part = report.results.find((r) => r.partition === 0)!;
      expect(part.actual).toBe(want.toString(16).padStart(8, '0'));
      expect(part.status).toBe(ok ? 'ok' : 'mismatch');
      // A, B, B's twin (a run under 1 MiB is decoded) and B stored again: not the 5 MiB of A's twins
      expect(pool.decoded).toBe(MiB + 3 * 8192);
      await img.close();
      const seven = sevenZip();
      if (seven) {
        const r = spawnSync(seven, ['t', '-tdmg', file], { encoding: 'utf8' });
        expect(r.status === 0 && /Everything is Ok/.test(r.stdout), `${file}: ${r.stdout}${r.stderr}`).toBe(ok);
      }
    }
  });

  it('a twin of a chunk that cannot be decoded: the partition is unreadable, naming the first chunk', async () => {
    const broken = zA.slice();
    broken.fill(0xff, 10, 40);
    const cs: BuildChunk[] = [{ type: 0x80000005, payload: broken, decoded: A }, ...Array.from({ length: 3 }, () => ({ type: 0x80000005, payload: broken, decoded: A, sharesWith: 0 }))];
    const file = join(dir, 'broken.dmg');
    writeFileSync(file, buildDmg(cs, 'disk image (Apple_HFS : 1)', 0));
    const img = await openUdif(file);
    const pool = new CountingPool();
    const report = await verifyImage(img, { pool });
    await img.close();
    const part = report.results.find((r) => r.partition === 0)!;
    expect(part.status).toBe('unreadable');
    expect(part.error).toMatch(/chunk 0\b/);
    expect(pool.decoded).toBe(MiB);
  });
});
