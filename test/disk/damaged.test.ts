/**
 * Hand-built and damaged partition maps: 7-Zip (live) checks the well-formed ones; the damaged ones must give
 * warnings or a CORRUPT_PARTITION_MAP error, never a crash or a hang.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferSource } from '../../src/io/buffer-source.js';
import { openPartition, readPartitionMap } from '../../src/disk/partition-map.js';
import { sniffFilesystem } from '../../src/disk/filesystem.js';
import { isDmgkitError } from '../../src/errors.js';
import { sevenZip } from '../helpers/fixtures.js';
import { cleanupTempDir, sevenZipList, tempDir } from './raw-disks.js';
import { fixGptHeaderCrc, fixGptTableCrc, writeApm, writeGpt, writeMbrTable, type GptPart } from './build.js';

afterAll(() => cleanupTempDir());
const z = sevenZip();

const HFS = '48465300-0000-11AA-AA11-00306543ECAC';
const EFI = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const BASIC = 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7';
const PARTS: GptPart[] = [
  { type: EFI, unique: 'A0000000-0000-4000-8000-000000000001', first: 40, last: 239, name: 'EFI System Partition' },
  { type: HFS, unique: 'A0000000-0000-4000-8000-000000000002', first: 240, last: 1239, name: 'Macintosh HD ✓' },
  { type: BASIC, unique: 'A0000000-0000-4000-8000-000000000003', first: 1240, last: 1899, name: 'DATA', attributes: 1n << 63n },
];

function gptDisk(ss = 512, parts = PARTS): Uint8Array {
  const disk = new Uint8Array(2048 * ss);
  writeGpt(disk, ss, parts);
  return disk;
}

function withFile(bytes: Uint8Array, name: string): string {
  const p = join(tempDir(), name);
  writeFileSync(p, bytes);
  return p;
}

async function mapOf(bytes: Uint8Array) {
  return readPartitionMap(new BufferSource(bytes));
}

describe('GPT, hand-built', () => {
  for (const ss of [512, 4096]) {
    it(`${ss}-byte sectors: entries, names, GUIDs and attributes match the writer and 7-Zip`, async () => {
      const disk = gptDisk(ss);
      const map = await mapOf(disk);
      expect(map.scheme).toBe('gpt');
      expect(map.blockSize).toBe(ss);
      expect(map.warnings).toEqual([]);
      expect(map.gpt!.diskGuid).toBe('11111111-2222-3333-4444-555555555555');
      expect(map.entries.map((e) => [e.index, e.name, e.type, e.typeName, e.gpt!.uniqueGuid])).toEqual([
        [0, 'EFI System Partition', EFI, 'EFI System', PARTS[0].unique],
        [1, 'Macintosh HD ✓', HFS, 'Apple HFS+', PARTS[1].unique],
        [2, 'DATA', BASIC, 'Microsoft basic data', PARTS[2].unique],
      ]);
      expect(map.entries[2].gpt!.attributes).toBe('8000000000000000');
      expect(map.entries.map((e) => [e.offset, e.size])).toEqual(PARTS.map((p) => [p.first * ss, (p.last - p.first + 1) * ss]));
      if (z) {
        const items = sevenZipList(z, withFile(disk, `gpt${ss}.img`), 'GPT');
        expect(items).not.toBeNull();
        expect(items!.map((i) => [i.offset, i.size, i.id])).toEqual(map.entries.map((e) => [e.offset, e.size, e.gpt!.uniqueGuid]));
      }
    });
  }

  it('bad primary header CRC: the backup is used, with a warning', async () => {
    const disk = gptDisk();
    disk[512 + 60] ^= 0xff; // disk GUID byte, header CRC now wrong
    const map = await mapOf(disk);
    expect(map.gpt!.used).toBe('backup');
    expect(map.gpt!.primary!.headerCrcOk).toBe(false);
    expect(map.warnings.join('\n')).toMatch(/primary header .*damaged.*header CRC32 mismatch.*using the backup/);
    expect(map.entries.map((e) => e.offset)).toEqual(PARTS.map((p) => p.first * 512));
  });

  it('bad primary table CRC: the backup is used, with a warning', async () => {
    const disk = gptDisk();
    disk[2 * 512 + 56] ^= 0x20; // first entry's name
    const map = await mapOf(disk);
    expect(map.gpt!.used).toBe('backup');
    expect(map.gpt!.primary!.tableCrcOk).toBe(false);
    expect(map.warnings.join('\n')).toMatch(/entry array CRC32 mismatch/);
    expect(map.entries[0].name).toBe('EFI System Partition');
  });

  it('both copies damaged: a sane copy is used with warnings; nothing sane: CORRUPT_PARTITION_MAP', async () => {
    const disk = gptDisk();
    disk[512 + 60] ^= 0xff;
    disk[2047 * 512 + 60] ^= 0xff;
    const map = await mapOf(disk);
    expect(map.scheme).toBe('gpt');
    expect(map.entries).toHaveLength(3);
    expect(map.warnings.join('\n')).toMatch(/no copy has valid CRCs/);

    // Entry count 0xFFFFFFFF in both headers (CRCs recomputed): nothing usable within the limits.
    const huge = gptDisk();
    for (const at of [512, 2047 * 512]) {
      new DataView(huge.buffer).setUint32(at + 80, 0xffffffff, true);
      fixGptHeaderCrc(huge, at);
    }
    await expect(mapOf(huge)).rejects.toMatchObject({ code: 'CORRUPT_PARTITION_MAP' });
    // Only the primary's count is huge: the backup is used.
    const one = gptDisk();
    new DataView(one.buffer).setUint32(512 + 80, 0xffffffff, true);
    fixGptHeaderCrc(one, 512);
    const m1 = await mapOf(one);
    expect(m1.gpt!.used).toBe('backup');
    expect(m1.warnings.join('\n')).toMatch(/exceeds the limit/);
  });

  it('entries past the disk and overlapping entries give warnings; openPartition clamps or refuses', async () => {
    const parts: GptPart[] = [
      ...PARTS.slice(0, 2),
      { type: BASIC, unique: 'B0000000-0000-4000-8000-000000000004', first: 1000, last: 1100, name: 'overlap' },
      { type: BASIC, unique: 'B0000000-0000-4000-8000-000000000005', first: 2000, last: 5000, name: 'runs past' },
      { type: BASIC, unique: 'B0000000-0000-4000-8000-000000000006', first: 9000, last: 9100, name: 'starts past' },
    ];
    const disk = gptDisk(512, parts);
    const src = new BufferSource(disk);
    const map = await readPartitionMap(src);
    const w = map.warnings.join('\n');
    expect(w).toMatch(/entries 1 and 2 overlap/);
    expect(w).toMatch(/entry 3 ends at LBA 5000, past the end of the disk/);
    expect(w).toMatch(/entry 4 ends at LBA 9100, past the end/);
    expect(openPartition(src, map.entries[3]).size).toBe(disk.length - 2000 * 512);
    expect(() => openPartition(src, map.entries[4])).toThrow(expect.objectContaining({ code: 'CORRUPT_PARTITION_MAP' }));
  });

  it('a protective MBR without any GPT header is reported as MBR with a warning', async () => {
    const disk = gptDisk();
    disk.fill(0, 512, 1024);
    disk.fill(0, 2047 * 512);
    const map = await mapOf(disk);
    expect(map.scheme).toBe('mbr');
    expect(map.entries[0].type).toBe('0xEE');
    expect(map.warnings.join('\n')).toMatch(/protective entry .* no valid GPT header/);
  });
});

describe('MBR, hand-built', () => {
  /** Primary FAT32 + extended (0x0F) holding three logical partitions in a chained EBR list. */
  function extendedDisk(): Uint8Array {
    const disk = new Uint8Array(4096 * 512);
    writeMbrTable(disk, 0, [
      { type: 0x0c, lba: 63, count: 937, status: 0x80 },
      { type: 0x0f, lba: 1000, count: 3000 },
    ]);
    // EBR chain: logical LBA relative to its EBR, next-EBR LBA relative to the extended partition's start.
    writeMbrTable(disk, 1000 * 512, [{ type: 0x83, lba: 63, count: 500 }, { type: 0x05, lba: 600, count: 800 }]);
    writeMbrTable(disk, 1600 * 512, [{ type: 0x07, lba: 63, count: 700 }, { type: 0x05, lba: 1500, count: 1400 }]);
    writeMbrTable(disk, 2500 * 512, [{ type: 0x82, lba: 63, count: 1000 }]);
    return disk;
  }

  it('lists primary and logical partitions like 7-Zip, bootable flag and type names included', async () => {
    const disk = extendedDisk();
    const map = await mapOf(disk);
    expect(map.scheme).toBe('mbr');
    expect(map.warnings).toEqual([]);
    expect(map.entries.map((e) => [e.index, e.type, e.typeName, e.mbr!.bootable, e.mbr!.logical])).toEqual([
      [0, '0x0C', 'FAT32 (LBA)', true, false],
      [4, '0x83', 'Linux', false, true],
      [5, '0x07', 'NTFS/exFAT/HPFS', false, true],
      [6, '0x82', 'Linux swap / Solaris', false, true],
    ]);
    expect(map.mbr!.extended).toEqual([{ slot: 1, type: '0x0F', offset: 1000 * 512, size: 3000 * 512 }]);
    if (z) {
      const items = sevenZipList(z, withFile(disk, 'ext.img'), 'MBR');
      expect(items).not.toBeNull();
      const real = items!.filter((i) => i.fileSystem);
      expect(real.map((i) => [i.offset, i.size])).toEqual(map.entries.map((e) => [e.offset, e.size]));
    }
  });

  it('an EBR chain that loops stops with a warning', async () => {
    const disk = extendedDisk();
    // The last EBR points back to the first (relative LBA 0).
    writeMbrTable(disk, 2500 * 512, [{ type: 0x82, lba: 63, count: 1000 }, { type: 0x05, lba: 0, count: 3000 }]);
    const map = await mapOf(disk);
    expect(map.entries).toHaveLength(4);
    expect(map.warnings.join('\n')).toMatch(/loops back/);
  });

  it('an EBR chain longer than the hop limit stops with a warning', async () => {
    const disk = new Uint8Array(2000 * 512);
    writeMbrTable(disk, 0, [{ type: 0x05, lba: 10, count: 1900 }]);
    for (let k = 0; k < 300; k++) {
      writeMbrTable(disk, (10 + 5 * k) * 512, [{ type: 0x83, lba: 1, count: 4 }, { type: 0x05, lba: 5 * (k + 1), count: 5 }]);
    }
    const map = await readPartitionMap(new BufferSource(disk), { maxExtendedHops: 100 });
    expect(map.entries).toHaveLength(100);
    expect(map.warnings.join('\n')).toMatch(/more than 100 EBRs/);
  });

  it('an entry past the disk is a warning; a FAT boot sector is not an MBR', async () => {
    const disk = new Uint8Array(1000 * 512);
    writeMbrTable(disk, 0, [{ type: 0x83, lba: 100, count: 2000 }]);
    const map = await mapOf(disk);
    expect(map.warnings.join('\n')).toMatch(/runs past the end of the disk/);

    // FAT16 boot sector (mkfs.fat-style BPB) at the start of an unpartitioned volume.
    const vol = new Uint8Array(4096 * 512);
    vol.set([0xeb, 0x3c, 0x90], 0);
    vol.set(new TextEncoder().encode('mkfs.fat'), 3);
    const dv = new DataView(vol.buffer);
    dv.setUint16(11, 512, true);
    vol[13] = 4;
    dv.setUint16(14, 4, true);
    vol[16] = 2;
    dv.setUint16(17, 512, true);
    dv.setUint16(19, 4096, true);
    vol[21] = 0xf8;
    dv.setUint16(22, 4, true);
    vol[38] = 0x29;
    vol.set(new TextEncoder().encode('MYVOLUME   FAT12   '), 43);
    vol[510] = 0x55;
    vol[511] = 0xaa;
    // Boot code bytes where a partition table would be: status 0x80 with plausible-looking numbers.
    vol.set([0x80, 1, 1, 0, 0x06, 1, 1, 0, 1, 0, 0, 0, 10, 0, 0, 0], 446);
    expect((await mapOf(vol)).scheme).toBe('none');
    expect(await sniffFilesystem(new BufferSource(vol))).toEqual({ type: 'fat12', name: 'FAT12', label: 'MYVOLUME' });
  });
});

describe('APM, hand-built', () => {
  it('lists every entry like 7-Zip', async () => {
    const disk = new Uint8Array(4000 * 512);
    writeApm(disk, [
      { name: 'Untitled', type: 'Apple_HFS', start: 64, count: 3000 },
      { name: '', type: 'Apple_Free', start: 3064, count: 936, status: 0 },
    ]);
    const map = await mapOf(disk);
    expect(map.scheme).toBe('apm');
    expect(map.warnings).toEqual([]);
    expect(map.entries.map((e) => [e.name, e.type, e.offset, e.size])).toEqual([
      ['Apple', 'Apple_partition_map', 512, 63 * 512],
      ['Untitled', 'Apple_HFS', 64 * 512, 3000 * 512],
      ['', 'Apple_Free', 3064 * 512, 936 * 512],
    ]);
    if (z) {
      const items = sevenZipList(z, withFile(disk, 'apm.img'), 'APM');
      expect(items!.map((i) => [i.offset, i.size])).toEqual(map.entries.map((e) => [e.offset, e.size]));
    }
  });

  it('an absurd map count, entries past the disk and overlaps give warnings, not crashes', async () => {
    const disk = new Uint8Array(400 * 512);
    writeApm(
      disk,
      [
        { name: 'a', type: 'Apple_HFS', start: 64, count: 200 },
        { name: 'b', type: 'Apple_HFS', start: 200, count: 100 },
        { name: 'c', type: 'Apple_HFS', start: 350, count: 1000 },
        { name: 'd', type: 'Apple_HFS', start: 5000, count: 10 },
      ],
      0xffffffff,
    );
    const src = new BufferSource(disk);
    const map = await readPartitionMap(src);
    expect(map.entries).toHaveLength(5);
    const w = map.warnings.join('\n');
    expect(w).toMatch(/claims 4294967295 entries/);
    expect(w).toMatch(/found no 'PM' signature/);
    expect(w).toMatch(/entries 1 and 2 overlap/);
    expect(w).toMatch(/entry 3 .* runs .* past the end/);
    expect(w).toMatch(/entry 4 .* starts .* past the end/);
    expect(openPartition(src, map.entries[3]).size).toBe(50 * 512);
    expect(() => openPartition(src, map.entries[4])).toThrow(expect.objectContaining({ code: 'CORRUPT_PARTITION_MAP' }));
  });
});

describe('arbitrary bytes', () => {
  const onlyDmgkitErrors = async (bytes: Uint8Array): Promise<void> => {
    const src = new BufferSource(bytes);
    try {
      const map = await readPartitionMap(src, { maxEntries: 64 });
      for (const e of map.entries.slice(0, 8)) {
        try {
          await sniffFilesystem(openPartition(src, e));
        } catch (err) {
          expect(isDmgkitError(err), String(err)).toBe(true);
        }
      }
    } catch (err) {
      expect(isDmgkitError(err), String(err)).toBe(true);
    }
    try {
      await sniffFilesystem(src);
    } catch (err) {
      expect(isDmgkitError(err), String(err)).toBe(true);
    }
  };

  it('random bytes: readPartitionMap and sniffFilesystem throw only DmgkitError', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), onlyDmgkitErrors), { numRuns: 300 });
  });

  it('mutated real maps (APM, GPT 512/4096, MBR with EBRs): only warnings or DmgkitError', async () => {
    const apm = new Uint8Array(600 * 512);
    writeApm(apm, [{ name: 'x', type: 'Apple_HFS', start: 64, count: 500 }]);
    const mbr = new Uint8Array(600 * 512);
    writeMbrTable(mbr, 0, [{ type: 0x05, lba: 10, count: 500 }]);
    writeMbrTable(mbr, 10 * 512, [{ type: 0x0b, lba: 1, count: 50 }, { type: 0x05, lba: 100, count: 50 }]);
    writeMbrTable(mbr, 110 * 512, [{ type: 0x0b, lba: 1, count: 40 }]);
    const seeds = [apm, gptDisk(512), gptDisk(4096), mbr];
    const hot = [0, 512, 4096, 1024, 8192, 5120]; // where headers, tables and EBRs live
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: hot.length - 1 }), fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.boolean(),
        async (si, muts, fixCrcs) => {
          const d = seeds[si].slice();
          for (const [h, off, v] of muts) {
            const p = hot[h] + off;
            if (p < d.length) d[p] = v;
          }
          if (fixCrcs && si >= 1 && si <= 2) {
            const ss = si === 1 ? 512 : 4096;
            try {
              fixGptTableCrc(d, ss, ss);
            } catch {
              /* mutated sizes may make the fix itself impossible */
            }
          }
          await onlyDmgkitErrors(d);
        },
      ),
      { numRuns: 400 },
    );
  });
});
