/**
 * The writer's hdiutil shape: converting an hdiutil-made image to its own format keeps the table layout; koly
 * fields; licence resources kept; the same bytes for every thread count; 64-bit offsets beyond 4 GiB (qemu-io).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, haveFixtures, sevenZip } from '../helpers/fixtures.js';
import { haveTool, sevenZipDisk } from '../helpers/oracles.js';
import type { UdifImage } from '../../src/udif/image.js';
import { openUdif } from '../../src/udif/open-udif.js';
import { parseKoly } from '../../src/udif/koly.js';
import { CHUNK_IGNORE, CHUNK_ZERO } from '../../src/udif/chunk-types.js';
import { writeImage } from '../../src/write/image.js';
import { writeImageFile } from '../../src/write/node.js';
import { mixedData } from '../../src/cli/commands/bench.js';
import type { ByteSource } from '../../src/io/source.js';
import { createPool } from '../../src/pool/node.js';

async function bytesOf(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

/** Each table's identity and its runs as (zero | ignore | data) classes with sector ranges. */
function shape(img: UdifImage) {
  return img.partitions.map((p) => ({
    name: p.name, cfName: p.cfName, id: p.id, attributes: p.attributes, firstSector: p.firstSector, sectorCount: p.sectorCount,
    runs: img.chunks.filter((c) => c.partition === p.index).map((c) => {
      const kind = c.type === CHUNK_ZERO ? 'zero' : c.type === CHUNK_IGNORE ? 'ignore' : 'data';
      return `${kind}:${(c.outOffset - p.offset) / 512}+${c.outLength / 512}`;
    }),
  }));
}

const HDIUTIL_MADE: [string, string][] = [
  ['udzo_gpt_hfsplus_nojournal__hdi-mac_test-disk-image-hfsp.dmg', 'UDZO'],
  ['udzo_gpt_hfsx__hdi-mac_test-disk-image-hfsp-c.dmg', 'UDZO'],
  ['udzo_gpt_hfsxj__hdi-mac_test-disk-image-hfsp-j-c.dmg', 'UDZO'],
  ['udzo_gpt_apfs__hdi-mac_test-disk-image-apfs.dmg', 'UDZO'],
  ['udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg', 'UDZO'],
  ['udco_gpt_hfsplus__keramics_hfsplus_adc.dmg', 'UDCO'],
  ['ulfo_gpt_hfsplus__keramics_hfsplus_lzfse.dmg', 'ULFO'],
  ['ulfo_gpt_apfs__dmgwiz_input_lzfse.dmg', 'ULFO'],
  ['udzo_mbr_fat16__node-udif_compression-zlib.dmg', 'UDZO'],
  ['udco_mbr_fat16__node-udif_compression-adc.dmg', 'UDCO'],
  ['ulfo_mbr_fat16__node-udif_compression-lzfse.dmg', 'ULFO'],
  ['udro_mbr_fat16__node-udif_compression-raw.dmg', 'UDRO'],
  ['udzo_nopartmap_hfsplusj__node-udif_zlib-compressed.dmg', 'UDZO'],
  ['udro_nopartmap_hfsplusj__node-udif_raw.dmg', 'UDRO'],
  ['udzo_mbr_fat32__apple-dmg_example.dmg', 'UDZO'],
];

describe.runIf(haveFixtures())('hdiutil-made images converted to their own format', () => {
  it.each(HDIUTIL_MADE)('%s (%s): same tables, names, IDs, attributes, sector ranges and zero/ignore/data runs', async (name, format) => {
    const src = await openUdif(fixture(name));
    try {
      const out = await bytesOf(writeImage(src, { format, deterministic: true }));
      const back = await openUdif(new Uint8Array(out));
      expect(shape(back)).toEqual(shape(src));
      expect(back.format.startsWith(format === 'UDRO' ? 'UDRO' : format)).toBe(true);
      expect(back.koly.imageVariant).toBe(src.koly.imageVariant);
      expect(back.koly.sectorCount).toBe(src.size / 512);
      await back.close();
    } finally {
      await src.close();
    }
  });

  it('keeps the licence resources (LPic, TEXT, STR#, styl) and plst byte for byte; 7-Zip checks the result', async () => {
    const path = fixture('udbz_apm_hfsplus_sla__sparkle_SparkleTestCodeSignApp.dmg');
    const src = await openUdif(path);
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-lic-'));
    try {
      const out = join(dir, 'lic.dmg');
      await writeImageFile(src, out, { format: 'UDZO', deterministic: true });
      const back = await openUdif(out);
      for (const t of ['LPic', 'TEXT', 'STR#', 'styl', 'plst']) {
        expect(back.resources(t).length, t).toBe(src.resources(t).length);
        expect(back.resources(t).map((r) => [r.id, r.name, Buffer.from(r.data).toString('hex')])).toEqual(
          src.resources(t).map((r) => [r.id, r.name, Buffer.from(r.data).toString('hex')]),
        );
      }
      await back.close();
      if (sevenZip()) expect(sevenZipDisk(out).ok).toBe(true);
    } finally {
      await src.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('koly and tables as hdiutil writes them', () => {
  const { data } = mixedData(3 * 1024 * 1024 + 7 * 512);

  it('koly: version 4, header 512, flattened, one segment, offsets and lengths, CRC32 checksums, sector count', async () => {
    const out = await bytesOf(writeImage(data, { format: 'UDZO', deterministic: true }));
    const k = parseKoly(out.subarray(out.length - 512), out.length - 512);
    expect([k.version, k.headerSize, k.flags, k.segmentNumber, k.segmentCount]).toEqual([4, 512, 1, 1, 1]);
    expect(k.dataForkOffset).toBe(0);
    expect(k.xmlOffset).toBe(k.dataForkLength);
    expect(k.xmlOffset + k.xmlLength).toBe(out.length - 512);
    expect(k.sectorCount).toBe(data.length / 512);
    expect(k.imageVariant).toBe(2);
    expect([k.dataChecksum.type, k.masterChecksum.type]).toEqual([2, 2]);
    // Deterministic: the segment ID comes from the content, as a version-8 UUID.
    expect(k.segmentId[6] >> 4).toBe(8);
    const again = await bytesOf(writeImage(data, { format: 'UDZO', deterministic: true }));
    expect(again.equals(out)).toBe(true);
  });

  it('gives the same bytes on 1, 2 and 3 threads for every format', async () => {
    for (const format of ['UDZO', 'UDCO', 'ULFO', 'UDRO', 'UDRW', 'UDSP']) {
      const ref = await bytesOf(writeImage(data, { format, deterministic: true, chunkSectors: 256 }));
      for (const threads of [2, 3]) {
        const pool = createPool(threads);
        try {
          const out = await bytesOf(writeImage(data, { format, deterministic: true, chunkSectors: 256, pool }));
          expect(out.equals(ref), `${format} on ${threads} threads`).toBe(true);
        } finally {
          await pool.close();
        }
      }
    }
  });

  it('honours an explicit segment ID and a random one otherwise', async () => {
    const id = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    const a = await bytesOf(writeImage(data, { format: 'UDRO', segmentId: id }));
    expect(Buffer.from(parseKoly(a.subarray(a.length - 512)).segmentId)).toEqual(Buffer.from(id));
    const b = await bytesOf(writeImage(data, { format: 'UDRO' }));
    const c = await bytesOf(writeImage(data, { format: 'UDRO' }));
    expect(Buffer.from(parseKoly(b.subarray(b.length - 512)).segmentId).equals(Buffer.from(parseKoly(c.subarray(c.length - 512)).segmentId))).toBe(false);
  });

  it('refuses levels out of range and formats without an encoder by name', async () => {
    await expect(bytesOf(writeImage(data, { format: 'UDZO', level: 10 }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(bytesOf(writeImage(data, { format: 'UDXX' }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('stops with the signal\'s reason when aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop here'));
    await expect(bytesOf(writeImage(data, { format: 'UDZO', signal: ac.signal }))).rejects.toThrow('stop here');
  });
});

/** A 5 GiB disk of zeros with marked sectors below and above 4 GiB, generated on demand. */
class BigDisk implements ByteSource {
  readonly size = 5 * 1024 ** 3;
  static readonly marks = [0, 4 * 1024 ** 3 + 1024 * 512, 5 * 1024 ** 3 - 512];
  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    for (const m of BigDisk.marks) {
      if (m >= offset && m < offset + length) out.fill(0xa5 ^ (m % 251), m - offset, Math.min(length, m - offset + 512));
    }
    return out;
  }
}

describe.runIf(haveTool('qemu-io'))('images beyond 4 GiB', () => {
  it('a 5 GiB disk: 64-bit sector counts and offsets, read back by qemu-io at the marks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-big-'));
    try {
      const out = join(dir, 'big.dmg');
      await writeImageFile(new BigDisk(), out, { format: 'UDZO', deterministic: true });
      const k = parseKoly(readFileSync(out).subarray(-512));
      expect(k.sectorCount).toBe((5 * 1024 ** 3) / 512);
      for (const m of BigDisk.marks) {
        const r = spawnSync('qemu-io', ['-f', 'dmg', '-r', '-c', `read -P ${0xa5 ^ (m % 251)} ${m} 512`, '-c', `read -P 0 ${m + 512 < 5 * 1024 ** 3 ? m + 512 : m - 512} 512`, out], { encoding: 'utf8' });
        expect(r.stdout + r.stderr).not.toMatch(/fail|error|mismatch/i);
        expect(r.stdout).toMatch(/read 512\/512 bytes/);
      }
      const img = await openUdif(out);
      expect(img.size).toBe(5 * 1024 ** 3);
      expect((await img.read(BigDisk.marks[1], 512))[0]).toBe(0xa5 ^ (BigDisk.marks[1] % 251));
      await img.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
