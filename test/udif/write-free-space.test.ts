/**
 * Free blocks inside an HFS+ volume (its allocation file's clear bits) as ignore chunks: with deleted files'
 * bytes left in free blocks, the default keeps them (7-Zip decodes the input disk exactly) and
 * `--discard-free-space` drops them (7-Zip decodes the used blocks exactly and zeros for every free block). The
 * expected disks come from the allocation bitmap parsed here, independently of src/hfs.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveFixtures, repoRoot, sevenZip, synthetic } from '../helpers/fixtures.js';
import { sevenZipDisk } from '../helpers/oracles.js';
import { openUdif } from '../../src/udif/open-udif.js';
import { CHUNK_IGNORE } from '../../src/udif/chunk-types.js';

const bin = join(repoRoot, 'dist', 'cli', 'main.js');
function cli(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'buffer', timeout: 120_000, maxBuffer: 1 << 28 });
}

/** The free blocks of an HFS+ volume image (TN1150: header at 1024; allocation file fork at 112; MSB first). */
function freeBlocks(vol: Buffer): { blockSize: number; free: boolean[] } {
  const h = 1024;
  const blockSize = vol.readUInt32BE(h + 40);
  const total = vol.readUInt32BE(h + 44);
  const bitmap = Buffer.alloc(Math.ceil(total / 8));
  let at = 0;
  for (let e = 0; e < 8 && at < bitmap.length; e++) {
    const start = vol.readUInt32BE(h + 112 + 16 + e * 8);
    const count = vol.readUInt32BE(h + 112 + 16 + e * 8 + 4);
    if (count === 0) break;
    at += vol.copy(bitmap, at, start * blockSize, Math.min((start + count) * blockSize, start * blockSize + bitmap.length - at));
  }
  expect(at).toBe(bitmap.length); // the bitmap fits its first eight extents here
  const free: boolean[] = [];
  for (let b = 0; b < total; b++) free.push((bitmap[b >> 3] & (0x80 >> (b & 7))) === 0);
  return { blockSize, free };
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmgkit-free-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(haveFixtures() && sevenZip())('free blocks of an HFS+ volume', () => {
  it('default keeps deleted bytes in free blocks; --discard-free-space turns every free block into zeros', () => {
    const vol = readFileSync(synthetic('features.hfs'));
    const { blockSize, free } = freeBlocks(vol);
    const freeCount = free.filter(Boolean).length;
    expect(freeCount).toBeGreaterThan(64);
    // "Deleted files": junk in every third free block of the volume's first half (the others stay zeros).
    const dirty = Buffer.from(vol);
    let junk = 0;
    free.forEach((f, b) => {
      if (f && b % 3 === 0 && b < free.length / 2) {
        for (let i = 0; i < blockSize; i++) dirty[b * blockSize + i] = (b * 31 + i * 7) & 0xff || 1;
        junk++;
      }
    });
    expect(junk).toBeGreaterThan(10);
    const input = join(dir, 'dirty.hfs');
    writeFileSync(input, dirty);
    const expectedDiscard = Buffer.from(dirty);
    free.forEach((f, b) => f && expectedDiscard.fill(0, b * blockSize, (b + 1) * blockSize));

    const keep = join(dir, 'keep.dmg');
    const discard = join(dir, 'discard.dmg');
    for (const [out, extra] of [[keep, []], [discard, ['--discard-free-space']]] as const) {
      const r = cli(['convert', input, '-o', out, '--format', 'UDZO', '--deterministic', ...extra]);
      expect(r.status, r.stderr.toString()).toBe(0);
    }
    const k = sevenZipDisk(keep);
    expect(k.ok, k.report).toBe(true);
    expect(k.disk.equals(dirty)).toBe(true);
    const d = sevenZipDisk(discard);
    expect(d.ok, d.report).toBe(true);
    expect(d.disk.length).toBe(dirty.length);
    expect(d.disk.equals(expectedDiscard)).toBe(true);
    expect(d.disk.equals(dirty)).toBe(false);
    // Both left free space out as ignore chunks: the zero free blocks (default) or all of them (discard).
    const ignored = async (path: string) => {
      const img = await openUdif(path);
      try {
        return img.chunks.filter((c) => c.type === CHUNK_IGNORE).reduce((n, c) => n + c.outLength, 0);
      } finally {
        await img.close();
      }
    };
    return Promise.all([ignored(keep), ignored(discard)]).then(([ik, id]) => {
      expect(ik).toBeGreaterThan(0);
      expect(id).toBeGreaterThan(ik);
      expect(id).toBeLessThanOrEqual(freeCount * blockSize);
    });
  });
});
