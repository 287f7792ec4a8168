/**
 * Partition maps and file-system sniffing on every fixture's raw disk, checked against 7-Zip run live
 * (`7zz l -slt -tAPM|-tGPT|-tMBR`) and against the file systems MANIFEST.tsv names.
 */
import { copyFileSync, openSync, writeSync, closeSync, writeFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSource } from '../../src/io/file-source.js';
import { openPartition, readPartitionMap, type PartitionMap } from '../../src/disk/partition-map.js';
import { sniffFilesystem, type FilesystemType } from '../../src/disk/filesystem.js';
import { fixture, haveFixtures, sevenZip, synthetic } from '../helpers/fixtures.js';
import { cleanupTempDir, rawDiskPath, sevenZipList, tempDir, type SevenZipItem } from './raw-disks.js';

interface Case {
  path: string;
  scheme: PartitionMap['scheme'];
  /** File systems of the data partitions (APM: the Apple_HFS and Apple_HFSX entries; GPT/MBR: every entry), in order. */
  fs: FilesystemType[];
  /** File system of the whole disk when it matters (hybrid ISOs, unpartitioned volumes). */
  wholeDisk?: FilesystemType;
  /** 7-Zip refuses this APM (sbData != 0 in the DDM): compare with 7-Zip on a copy whose sbData is zeroed. */
  patchSbData?: boolean;
  /** Warnings expected (every warning must match one of these); none expected when absent. */
  warnings?: RegExp[];
}

// File systems as MANIFEST.tsv / fixtures/README.md describe each image.
const CASES: Case[] = haveFixtures()
  ? [
      { path: fixture('udbz_apm_hfsplus_sla__sparkle_SparkleTestCodeSignApp.dmg'), scheme: 'apm', fs: ['hfsplus'] },
      { path: synthetic('features-apm-zlib.dmg'), scheme: 'apm', fs: ['hfsplus'] },
      { path: synthetic('xorriso-apm512.iso'), scheme: 'apm', fs: ['hfsplus'], wholeDisk: 'iso9660' },
      { path: synthetic('xorriso-apm2048.iso'), scheme: 'apm', fs: ['hfsplus'], wholeDisk: 'iso9660' },
      {
        path: fixture('hybrid_apm_hfs_iso9660__isolyzer_iso9660_hfs_part.iso'),
        scheme: 'apm',
        fs: ['hfs'],
        wholeDisk: 'iso9660',
        patchSbData: true,
        warnings: [/DDM driver count 36962 .* drivers ignored/],
      },
      {
        path: fixture('odd_hybrid_apm_wrong_blksize__isolyzer_iso9660_hfs_part_wrongblksize.iso'),
        scheme: 'apm',
        fs: ['hfs'],
        wholeDisk: 'iso9660',
        patchSbData: true,
        warnings: [/DDM driver count 36962 .* drivers ignored/, /DDM block size is 2048 but .* 512-byte entries and units/],
      },
      { path: fixture('udbz_gpt_hfsplus__keramics_hfsplus_bzip2.dmg'), scheme: 'gpt', fs: ['hfsplus'] },
      { path: fixture('udco_gpt_hfsplus__keramics_hfsplus_adc.dmg'), scheme: 'gpt', fs: ['hfsplus'] },
      { path: fixture('udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg'), scheme: 'gpt', fs: ['hfsplus'] },
      { path: fixture('ulfo_gpt_hfsplus__keramics_hfsplus_lzfse.dmg'), scheme: 'gpt', fs: ['hfsplus'] },
      { path: fixture('ulmo_gpt_hfsplus__keramics_hfsplus_lzma.dmg'), scheme: 'gpt', fs: ['hfsplus'] },
      { path: fixture('udzo_gpt_hfsplus_nojournal__hdi-mac_test-disk-image-hfsp.dmg'), scheme: 'gpt', fs: ['hfsplus'] },
      { path: fixture('udzo_gpt_hfsx__hdi-mac_test-disk-image-hfsp-c.dmg'), scheme: 'gpt', fs: ['hfsx'] },
      { path: fixture('udzo_gpt_hfsxj__hdi-mac_test-disk-image-hfsp-j-c.dmg'), scheme: 'gpt', fs: ['hfsx'] },
      { path: fixture('udzo_gpt_apfs__hdi-mac_test-disk-image-apfs.dmg'), scheme: 'gpt', fs: ['apfs'] },
      { path: fixture('ulfo_gpt_apfs__dmgwiz_input_lzfse.dmg'), scheme: 'gpt', fs: ['apfs'] },
      { path: fixture('ulmo_gpt_apfs__dmgwiz_input_lzma.dmg'), scheme: 'gpt', fs: ['apfs'] },
      // "Microsoft reserved, FAT, NTFS partitions"; the FAT one is FAT32 (BPB FATSz16 = 0).
      {
        path: fixture('odd_libdmg_style_sectors0__etcher-sdk_gpt-in-dmg.dmg'),
        scheme: 'gpt',
        fs: ['unknown', 'fat32', 'ntfs'],
      },
      { path: synthetic('deep-hfsx-gpt-bzip2.dmg'), scheme: 'gpt', fs: ['hfsx'] },
      // MANIFEST's "fat16" is the partition type (Windows_FAT_16, 0x0E); the 1 MiB volumes inside are FAT12 by the
      // Microsoft cluster-count rule, their BPB type string says "FAT12" and 7-Zip's FAT handler agrees (checked live).
      { path: fixture('udbz_mbr_fat16__node-udif_compression-bz2.dmg'), scheme: 'mbr', fs: ['fat12', 'fat12'] },
      { path: fixture('udco_mbr_fat16__node-udif_compression-adc.dmg'), scheme: 'mbr', fs: ['fat12', 'fat12'] },
      { path: fixture('udro_mbr_fat16__node-udif_compression-raw.dmg'), scheme: 'mbr', fs: ['fat12', 'fat12'] },
      { path: fixture('udzo_mbr_fat16__node-udif_compression-zlib.dmg'), scheme: 'mbr', fs: ['fat12', 'fat12'] },
      { path: fixture('ulfo_mbr_fat16__node-udif_compression-lzfse.dmg'), scheme: 'mbr', fs: ['fat12', 'fat12'] },
      { path: fixture('udzo_mbr_fat32__apple-dmg_example.dmg'), scheme: 'mbr', fs: ['fat32'] },
      { path: synthetic('lzfse-mbr.img'), scheme: 'mbr', fs: ['hfsplus'] },
      { path: fixture('udro_nopartmap_hfsplusj__node-udif_raw.dmg'), scheme: 'none', fs: [], wholeDisk: 'hfsplus' },
      { path: fixture('udzo_nopartmap_hfsplusj__node-udif_zlib-compressed.dmg'), scheme: 'none', fs: [], wholeDisk: 'hfsplus' },
      { path: fixture('hfsplus_raw_noattrbtree__isolyzer_hfsplus.iso'), scheme: 'none', fs: [], wholeDisk: 'hfsplus' },
      { path: fixture('hfs_classic_raw_small__isolyzer_hfs.iso'), scheme: 'none', fs: [], wholeDisk: 'hfs' },
      { path: fixture('iso9660_joliet_no_hfs__hdi-mac_test-disk-image-hybrid.iso'), scheme: 'none', fs: [], wholeDisk: 'iso9660' },
    ]
  : [];

const APM_DATA = /^(Apple_HFS|Apple_HFSX)$/;

function patchedCopy(path: string): string {
  const out = join(tempDir(), `patched-${path.split('/').pop()}`);
  copyFileSync(path, out);
  const fd = openSync(out, 'r+');
  writeSync(fd, new Uint8Array(4), 0, 4, 12); // DDM sbData := 0, which 7-Zip requires
  closeSync(fd);
  return out;
}

const z = haveFixtures() ? sevenZip() : null;

describe.runIf(haveFixtures() && z)('partition maps of the fixtures vs 7-Zip', () => {
  afterAll(() => cleanupTempDir());

  for (const c of CASES) {
    const label = c.path.split('/').slice(-2).join('/');
    it(`${label}: ${c.scheme}`, async () => {
      const raw = rawDiskPath(z!, c.path);
      const disk = await FileSource.open(raw);
      try {
        const map = await readPartitionMap(disk);
        expect(map.scheme).toBe(c.scheme);

        if (c.scheme === 'none') {
          expect(map.entries).toEqual([]);
          // 7-Zip finds no partition map of any kind either.
          for (const t of ['APM', 'GPT', 'MBR'] as const) expect(sevenZipList(z!, raw, t)).toBeNull();
        } else {
          const type = c.scheme.toUpperCase() as 'APM' | 'GPT' | 'MBR';
          let items: SevenZipItem[] | null;
          if (c.patchSbData) {
            expect(sevenZipList(z!, raw, 'APM')).toBeNull(); // the reason for the patch
            items = sevenZipList(z!, patchedCopy(raw), 'APM');
          } else {
            items = sevenZipList(z!, raw, type);
          }
          expect(items, '7-Zip lists the map').not.toBeNull();
          let oracle = items!;
          // MBR: 7-Zip adds unallocated gaps as items with no file system; they are not table entries.
          if (c.scheme === 'mbr') oracle = oracle.filter((i) => i.fileSystem);
          // APM: 7-Zip lists every map entry, Apple_Free and Apple_partition_map included: a 1:1 mapping.
          // GPT: 7-Zip lists the used slots (non-zero type GUID): a 1:1 mapping.
          expect(map.entries.map((e) => [e.offset, e.size])).toEqual(oracle.map((i) => [i.offset, i.size]));
          if (c.scheme === 'gpt') {
            expect(map.entries.map((e) => e.gpt!.uniqueGuid)).toEqual(oracle.map((i) => i.id));
            const g = map.gpt!;
            expect(g.used).toBe('primary');
            for (const h of [g.primary!, g.backup!]) {
              expect(h.headerCrcOk, `${h.which} header CRC`).toBe(true);
              expect(h.tableCrcOk, `${h.which} table CRC`).toBe(true);
            }
            expect(g.protectiveMbr).toBe('protective');
          }
          if (c.scheme === 'mbr') {
            for (const [k, e] of map.entries.entries()) {
              const fsName = oracle[k].fileSystem!;
              // 7-Zip prints unknown types as a decimal number.
              if (/^\d+$/.test(fsName)) expect(parseInt(e.type, 16)).toBe(Number(fsName));
            }
          }
          if (c.scheme === 'apm') {
            // 7-Zip's path is "<name>.<type or fs extension>"; the name part must match.
            for (const [k, e] of map.entries.entries()) {
              if (e.name) expect(oracle[k].path.startsWith(`${e.name}.`)).toBe(true);
            }
          }
        }

        const data = map.entries.filter((e) => (c.scheme === 'apm' ? APM_DATA.test(e.type) : true));
        const found: FilesystemType[] = [];
        for (const e of data) {
          const part = openPartition(disk, e);
          const fs = await sniffFilesystem(part);
          found.push(fs.type);
          if (fs.type.startsWith('fat') || fs.type === 'ntfs') {
            // 7-Zip's FAT / NTFS handler on the partition's bytes names the same file system.
            const file = join(tempDir(), `part-${e.index}.img`);
            writeFileSync(file, await part.read(0, part.size));
            const kind = fs.type === 'ntfs' ? 'NTFS' : 'FAT';
            const out = spawnSync(z!, ['l', '-slt', `-t${kind}`, file]).stdout.toString('utf8');
            const header = out.split(/^----------$/m)[0];
            // 7-Zip prints e.g. "FAT12", "FAT32" or "NTFS 3.1".
            expect(/^File System = (\S+)/m.exec(header)?.[1]).toBe(fs.type.toUpperCase());
            rmSync(file);
          }
        }
        expect(found).toEqual(c.fs);
        if (c.wholeDisk) expect((await sniffFilesystem(disk)).type).toBe(c.wholeDisk);
        expect(map.warnings.length).toBe(c.warnings?.length ?? 0);
        for (const [k, re] of (c.warnings ?? []).entries()) expect(map.warnings[k]).toMatch(re);
      } finally {
        await disk.close();
      }
    });
  }
});
