import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectedDisks, fixture, haveFixtures, sevenZip } from '../helpers/fixtures.js';
import { sevenZipPartitions } from '../helpers/seven-zip.js';
import { UdifImage } from '../../src/udif/image.js';
import { openUdif } from '../../src/udif/open-udif.js';
import { verifyImage } from '../../src/udif/verify.js';
import { main } from '../../src/cli/main.js';
import { collect, memoryIO } from '../helpers/cli.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const udifFixtures = expectedDisks().filter((e) => !e.error);
const seven = haveFixtures() ? sevenZip() : null;

async function readAll(img: UdifImage, index?: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of (index === undefined ? img.bytes() : img.bytes(img.partitions[index].offset, img.partitions[index].offset + img.partitions[index].size))) parts.push(Buffer.from(b));
  return Buffer.concat(parts);
}

describe.runIf(haveFixtures())('every UDIF fixture decodes as 7-Zip decodes it', () => {
  it('has UDIF fixtures to check', () => {
    expect(udifFixtures.length).toBeGreaterThanOrEqual(18);
  });

  for (const exp of udifFixtures) {
    it(`${exp.file}: partitions and whole disk match 7-Zip`, async () => {
      const img = await openUdif(fixture(exp.file));
      try {
        expect(img.partitions.length).toBe(exp.partitions!.length);
        const disk = await readAll(img);
        expect(disk.length).toBe(exp.disk_bytes);
        expect(sha(disk)).toBe(exp.disk_sha256);
        // live comparison with 7-Zip, partition by partition, in table order
        if (seven) {
          const theirs = sevenZipPartitions(seven, fixture(exp.file));
          expect(theirs.length).toBe(img.partitions.length);
          const ours = theirs.map((_, i) => disk.subarray(img.partitions[i].offset, img.partitions[i].offset + img.partitions[i].size));
          theirs.forEach((t, i) => expect(sha(ours[i]), `partition ${i} (${t.name})`).toBe(sha(t.data)));
        } else {
          exp.partitions!.forEach((p, i) => expect(sha(disk.subarray(img.partitions[i].offset, img.partitions[i].offset + img.partitions[i].size))).toBe(p.sha256));
        }
      } finally {
        await img.close();
      }
    });
  }
});

describe.runIf(haveFixtures())('verify', () => {
  for (const exp of udifFixtures) {
    it(`${exp.file}: every present checksum matches`, async () => {
      const img = await openUdif(fixture(exp.file));
      try {
        const report = await verifyImage(img);
        expect(report.results.filter((r) => r.status !== 'ok' && r.status !== 'absent')).toEqual([]);
        expect(report.ok).toBe(true);
        // at least the partition CRCs are there on every hdiutil image
        expect(report.results.some((r) => r.partition !== undefined && r.status === 'ok')).toBe(true);
      } finally {
        await img.close();
      }
    });
  }

  it('reports a damaged chunk as a partition mismatch and a data-fork mismatch, as 7-Zip does', async () => {
    const name = 'udro_mbr_fat16__node-udif_compression-raw.dmg';
    const img0 = await openUdif(fixture(name));
    const fat = img0.chunks.find((c) => c.type === 1 && img0.partitions[c.partition].name.includes('FAT'))!;
    await img0.close();
    const bytes = readFileSync(fixture(name));
    bytes[fat.inOffset + 600] ^= 0x55;
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-'));
    const path = join(dir, 'damaged.dmg');
    writeFileSync(path, bytes);
    try {
      const img = await openUdif(path);
      const report = await verifyImage(img);
      await img.close();
      expect(report.ok).toBe(false);
      const bad = report.results.filter((r) => r.status === 'mismatch').map((r) => r.what);
      expect(bad).toContain('data fork');
      expect(bad.some((w) => w.startsWith(`partition ${fat.partition}`))).toBe(true);
      if (seven) {
        const { spawnSync } = await import('node:child_process');
        const r = spawnSync(seven, ['t', '-tdmg', path], { encoding: 'utf8' });
        expect(r.status).not.toBe(0); // 7-Zip agrees the image is damaged
      }
      const io = memoryIO();
      expect(await main(['verify', path], io)).toBe(1);
      expect(collect(io.out)).toMatch(/MISMATCH.*data fork/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.runIf(haveFixtures())('synthetic images: decode and checksum verdicts agree with 7-Zip run live', () => {
  for (const name of ['features-apm-zlib.dmg', 'deep-hfsx-gpt-bzip2.dmg']) {
    it(name, async () => {
      const path = join(fixture('synthetic'), name);
      const img = await openUdif(path);
      try {
        const disk = await readAll(img);
        const report = await verifyImage(img);
        if (!seven) return;
        const theirs = sevenZipPartitions(seven, path);
        theirs.forEach((t, i) => expect(sha(disk.subarray(img.partitions[i].offset, img.partitions[i].offset + img.partitions[i].size)), t.name).toBe(sha(t.data)));
        const { spawnSync } = await import('node:child_process');
        const r = spawnSync(seven, ['t', '-tdmg', path], { encoding: 'utf8' });
        const sevenFailed = [...`${r.stdout}${r.stderr}`.matchAll(/CRC Failed : (\d+)\./g)].map((m) => Number(m[1]));
        const ourFailed = report.results.filter((x) => x.status === 'mismatch' && x.partition !== undefined).map((x) => x.partition);
        expect(ourFailed).toEqual(sevenFailed);
        // features-apm-zlib's writer counted its free-space sectors in the CRC: say so rather than blame the data
        for (const x of report.results.filter((x) => x.status === 'mismatch')) expect(x.note).toMatch(/free-space \(type 2\) sectors/);
      } finally {
        await img.close();
      }
    });
  }
});

describe.runIf(haveFixtures())('convert', () => {
  it('writes the raw disk byte-identical to 7-Zip, with zero runs as holes', async () => {
    const name = 'udzo_mbr_fat32__apple-dmg_example.dmg';
    const exp = udifFixtures.find((e) => e.file === name)!;
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-'));
    try {
      const out = join(dir, 'disk.img');
      const io = memoryIO();
      expect(await main(['convert', fixture(name), '-o', out, '--threads', '2'], io)).toBe(0);
      const data = readFileSync(out);
      expect(data.length).toBe(exp.disk_bytes);
      expect(sha(data)).toBe(exp.disk_sha256);
      const { statSync } = await import('node:fs');
      expect(statSync(out).blocks * 512).toBeLessThan(data.length); // sparse
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('decodes the TypeScript codecs on worker threads with --threads 2, output in order', async () => {
    for (const name of ['udbz_apm_hfsplus_sla__sparkle_SparkleTestCodeSignApp.dmg', 'ulmo_gpt_hfsplus__keramics_hfsplus_lzma.dmg', 'ulfo_gpt_hfsplus__keramics_hfsplus_lzfse.dmg']) {
      const exp = udifFixtures.find((e) => e.file === name)!;
      const io = memoryIO();
      expect(await main(['convert', fixture(name), '-o', '-', '--threads', '2'], io)).toBe(0);
      expect(sha(collect(io.out, true)), name).toBe(exp.disk_sha256);
    }
  });

  it('writes to standard output with -o -', async () => {
    const name = 'udzo_mbr_fat16__node-udif_compression-zlib.dmg';
    const exp = udifFixtures.find((e) => e.file === name)!;
    const io = memoryIO();
    expect(await main(['convert', fixture(name), '-o', '-'], io)).toBe(0);
    const data = collect(io.out, true) as Buffer;
    expect(sha(data)).toBe(exp.disk_sha256);
  });
});
