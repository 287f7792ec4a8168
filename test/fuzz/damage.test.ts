/**
 * Partial damage is reported, not fatal: one corrupted chunk in a multi-partition image. `verify` names the damaged
 * partition (and only it); `convert --keep-going` writes every readable byte, zeros for the lost range, names that
 * range and exits 1. The readable bytes are compared with 7-Zip's extraction of the undamaged image.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Harness, writeCase } from './harness.js';
import { loadSeed } from './mutate.js';
import { fixture, haveFixtures, sevenZip } from '../helpers/fixtures.js';
import { sevenZipPartitions } from '../helpers/build-dmg.js';

const h = new Harness({ timeoutMs: 60_000, hardMs: 120_000, rssBytes: 1536 * 2 ** 20, outCap: 192 * 2 ** 20 });
afterAll(() => h.close());

const IMAGES = ['udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg', 'udbz_gpt_hfsplus__keramics_hfsplus_bzip2.dmg', 'ulfo_gpt_hfsplus__keramics_hfsplus_lzfse.dmg'];
const bin = haveFixtures() ? sevenZip() : null;

describe.runIf(haveFixtures() && bin)('one damaged chunk: verify names it, convert --keep-going writes the rest', () => {
  for (const name of IMAGES) {
    it(name, async () => {
      const path = fixture(name);
      if (!existsSync(path)) throw new Error(`missing fixture ${path}`);
      const seed = await loadSeed(path, { decode: false });
      // the largest compressed chunk: damage the middle of its stored bytes
      const c = [...seed.chunks].sort((a, b) => b.length - a.length)[0];
      const table = seed.mish[c.table].index;
      const bytes = seed.bytes.slice();
      for (let i = 0; i < 16; i++) bytes[c.offset + (c.length >> 1) + i] ^= 0xa5;
      const file = writeCase(h.root, bytes, '.dmg');

      const verify = await h.run('verify', ['verify', file], `damage ${name}`, true);
      expect(verify.problem).toBeUndefined();
      expect(verify.code).toBe(1);
      const bad = verify.stdout!.split('\n').filter((l) => /^(UNREADABLE|MISMATCH)/.test(l));
      expect(bad).toHaveLength(1);
      expect(bad[0]).toMatch(new RegExp(`partition ${table}\\b`));
      expect(verify.stdout).toMatch(/OK +CRC32 +partition/); // the other partitions are checked and fine

      const reference = sevenZipPartitions(bin!, seed.bytes); // 7-Zip on the undamaged image
      const refOf = (i: number) => [...reference].find(([n]) => n.startsWith(`${i}.`))?.[1];
      const out = join(h.root, `part-${name}.img`);
      const conv = await h.run('convert-blkx', ['convert', file, '-o', out, '--keep-going', '--blkx', String(table)], `damage ${name}`);
      expect(conv.problem).toBeUndefined();
      expect(conv.code).toBe(1);
      const m = /lost bytes \[(\d+), \+(\d+)\) written as zeros: .*chunk/.exec(conv.stderr);
      expect(m, conv.stderr).not.toBeNull();
      const got = readFileSync(out);
      const want = refOf(table)!;
      expect(got.length).toBe(want.length);
      // the partition's offset in the disk: the lost range is in disk coordinates
      const info = await h.run('info', ['info', file, '--json'], `damage ${name}`, true);
      const part = (JSON.parse(info.stdout!) as { partitions: { index: number; firstSector: number }[] }).partitions.find((p) => p.index === table)!;
      const lostFrom = Number(m![1]) - part.firstSector * 512;
      const lostTo = lostFrom + Number(m![2]);
      expect(lostFrom).toBeGreaterThanOrEqual(0);
      expect(lostTo).toBeGreaterThan(lostFrom);
      expect(lostTo).toBeLessThanOrEqual(got.length);
      expect(Buffer.compare(got.subarray(0, lostFrom), want.subarray(0, lostFrom))).toBe(0);
      expect(Buffer.compare(got.subarray(lostTo), want.subarray(lostTo))).toBe(0);
      expect(got.subarray(lostFrom, lostTo).every((b) => b === 0)).toBe(true);

      // without --keep-going the same convert fails, naming the chunk, and leaves no output file
      const strictOut = join(h.root, `strict-${name}.img`);
      const strict = await h.run('convert-blkx', ['convert', file, '-o', strictOut, '--blkx', String(table)], `damage ${name}`);
      expect(strict.code).toBe(1);
      expect(strict.stderr).toMatch(/chunk \d+ \((zlib|bzip2|lzfse)\) at offset \d+/);
      expect(existsSync(strictOut)).toBe(false);
    });
  }
});
