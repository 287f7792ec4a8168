import { DmgkitError, at } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { cString, u16be, u32be } from '../util/bytes.js';
import { readIfInside } from './read.js';
import type { ApmDetails, ApmDriverDescriptor, PartitionEntry, PartitionMap, ResolvedPartitionMapOptions } from './types.js';

/**
 * Apple Partition Map. Block 0 is the Driver Descriptor Map ('ER'); partition map entries ('PM') follow from
 * block 1, one per block. Sources: Inside Macintosh: Devices ch. 3 (Block0 / Partition records), 7-Zip
 * ApmHandler.cpp (entry step rule), /work/shared/reference/hfs-apm-format.md §7.
 */

export const APM_SECTOR = 512;

// Driver Descriptor Map (block 0), big-endian.
export const DDM_SIG = 0x4552; // 'ER'
const DDM_OFF_SIG = 0;
const DDM_OFF_BLK_SIZE = 2;
const DDM_OFF_BLK_COUNT = 4;
const DDM_OFF_DEV_TYPE = 8;
const DDM_OFF_DEV_ID = 10;
const DDM_OFF_DRVR_COUNT = 16;
const DDM_OFF_DRIVERS = 18;
const DDM_DRIVER_SIZE = 8;
const DDM_MAX_DRIVERS = Math.floor((APM_SECTOR - DDM_OFF_DRIVERS) / DDM_DRIVER_SIZE); // 61

// Partition map entry, big-endian.
export const PM_SIG = 0x504d; // 'PM'
export const PM_SIG_OLD = 0x5453; // 'TS' (old-style map)
const PM_OFF_SIG = 0x00;
const PM_OFF_MAP_BLK_CNT = 0x04;
const PM_OFF_PY_PART_START = 0x08;
const PM_OFF_PART_BLK_CNT = 0x0c;
const PM_OFF_NAME = 0x10;
const PM_OFF_TYPE = 0x30;
const PM_STR_LEN = 32;
const PM_OFF_LG_DATA_START = 0x50;
const PM_OFF_DATA_CNT = 0x54;
const PM_OFF_STATUS = 0x58;
const PM_OFF_LG_BOOT_START = 0x5c;
const PM_OFF_BOOT_SIZE = 0x60;
const PM_OFF_BOOT_ADDR = 0x64;
const PM_OFF_BOOT_ENTRY = 0x6c;
const PM_OFF_BOOT_CKSUM = 0x74;
const PM_OFF_PROCESSOR = 0x78;
const PM_PROCESSOR_LEN = 16;

/** Block sizes an APM DDM may declare (7-Zip accepts the same four). */
const VALID_BLOCK_SIZES = [512, 1024, 2048, 4096];

/** Human names for common APM types; unknown types are shown as stored. */
const APM_TYPE_NAMES: Readonly<Record<string, string>> = {
  Apple_partition_map: 'Apple_partition_map',
  Apple_HFS: 'Apple_HFS',
  Apple_HFSX: 'Apple_HFSX',
  Apple_Free: 'Apple_Free (free space)',
  Apple_Void: 'Apple_Void (empty)',
  Apple_Scratch: 'Apple_Scratch (empty)',
  Apple_Driver: 'Apple_Driver',
  Apple_Driver43: 'Apple_Driver43 (SCSI driver)',
  Apple_Driver43_CD: 'Apple_Driver43_CD (CD driver)',
  Apple_Driver_ATA: 'Apple_Driver_ATA',
  Apple_Driver_ATAPI: 'Apple_Driver_ATAPI',
  Apple_Driver_IOKit: 'Apple_Driver_IOKit',
  Apple_Patches: 'Apple_Patches',
  Apple_Boot: 'Apple_Boot',
  Apple_Bootstrap: 'Apple_Bootstrap',
  Apple_UFS: 'Apple_UFS',
  Apple_PRODOS: 'Apple_PRODOS',
  Apple_APFS: 'Apple_APFS',
  Apple_MFS: 'Apple_MFS',
  ISO9660_data: 'ISO9660_data',
  DOS_FAT_12: 'DOS_FAT_12',
  DOS_FAT_16: 'DOS_FAT_16',
  DOS_FAT_32: 'DOS_FAT_32',
  Linux: 'Linux',
  Linux_swap: 'Linux swap',
};

export function apmTypeName(type: string): string {
  return APM_TYPE_NAMES[type] ?? type;
}

/** True when block 0 carries the DDM signature. */
export function hasApmSignature(block0: Uint8Array): boolean {
  return block0.length >= 2 && u16be(block0, DDM_OFF_SIG) === DDM_SIG;
}

function isPmEntry(b: Uint8Array | null): b is Uint8Array {
  if (!b || b.length < APM_SECTOR) return false;
  const sig = u16be(b, PM_OFF_SIG);
  return sig === PM_SIG;
}

function parseDdm(b0: Uint8Array, warnings: string[]): ApmDetails {
  const drvrCount = u16be(b0, DDM_OFF_DRVR_COUNT);
  const drivers: ApmDriverDescriptor[] = [];
  // mkisofs hybrids keep x86 boot code in the DDM; a count that cannot fit the block is not a driver list.
  let n = drvrCount;
  if (drvrCount > DDM_MAX_DRIVERS) {
    warnings.push(`APM: DDM driver count ${drvrCount} ${at(DDM_OFF_DRVR_COUNT)} cannot fit in block 0; drivers ignored`);
    n = 0;
  }
  for (let i = 0; i < n; i++) {
    const o = DDM_OFF_DRIVERS + i * DDM_DRIVER_SIZE;
    drivers.push({ block: u32be(b0, o), size: u16be(b0, o + 4), type: u16be(b0, o + 6) });
  }
  return {
    ddmBlockSize: u16be(b0, DDM_OFF_BLK_SIZE),
    ddmBlockCount: u32be(b0, DDM_OFF_BLK_COUNT),
    devType: u16be(b0, DDM_OFF_DEV_TYPE),
    devId: u16be(b0, DDM_OFF_DEV_ID),
    drivers,
    entryStep: APM_SECTOR,
  };
}

/**
 * Picks the entry step and unit. 7-Zip's rule: if a 'PM' entry at byte 512 says pmPyPartStart == 1 (the map
 * starts at block 1 in 512-byte units), use 512 for both; otherwise use the DDM block size for both. When the DDM
 * block size is invalid, or no entry is found at the chosen step, the other candidates are tried with a warning.
 */
async function chooseStep(disk: ByteSource, ddmBlockSize: number, warnings: string[]): Promise<number | null> {
  const at512 = await readIfInside(disk, APM_SECTOR, APM_SECTOR);
  if (isPmEntry(at512) && u32be(at512, PM_OFF_PY_PART_START) === 1) {
    if (ddmBlockSize !== APM_SECTOR) {
      warnings.push(
        `APM: DDM block size is ${ddmBlockSize} but the map at byte 512 starts at block 1: using 512-byte entries and units (7-Zip rule)`,
      );
    }
    return APM_SECTOR;
  }
  const candidates: number[] = [];
  if (VALID_BLOCK_SIZES.includes(ddmBlockSize)) candidates.push(ddmBlockSize);
  else warnings.push(`APM: DDM block size ${ddmBlockSize} is not 512, 1024, 2048 or 4096`);
  for (const s of VALID_BLOCK_SIZES) if (!candidates.includes(s)) candidates.push(s);
  for (const step of candidates) {
    const e = await readIfInside(disk, step, APM_SECTOR);
    if (isPmEntry(e)) {
      if (step !== candidates[0] || step !== ddmBlockSize) {
        warnings.push(`APM: no map entry at the DDM block size; found the map with ${step}-byte blocks`);
      }
      return step;
    }
  }
  return null;
}

/**
 * Parses an APM when block 0 has the 'ER' signature and a 'PM' entry is found. Returns null when the disk holds
 * no APM. Lists every map entry, including Apple_Free and Apple_partition_map (as 7-Zip does).
 */
export async function parseApm(disk: ByteSource, opts: ResolvedPartitionMapOptions): Promise<PartitionMap | null> {
  const b0 = await readIfInside(disk, 0, APM_SECTOR);
  if (!b0 || !hasApmSignature(b0)) return null;
  const warnings: string[] = [];
  const details = parseDdm(b0, warnings);
  const step = await chooseStep(disk, details.ddmBlockSize, warnings);
  if (step === null) return null;
  details.entryStep = step;
  const unit = step;

  const first = (await disk.read(step, APM_SECTOR));
  let count = u32be(first, PM_OFF_MAP_BLK_CNT);
  const maxByDisk = Math.floor(disk.size / step) - 1;
  const limit = Math.max(1, Math.min(opts.maxEntries, maxByDisk));
  if (count === 0) {
    warnings.push(`APM: the first entry ${at(step)} says the map has 0 entries; reading entries while signatures match`);
    count = limit;
  } else if (count > limit) {
    warnings.push(
      `APM: the map claims ${count} entries ${at(step + PM_OFF_MAP_BLK_CNT)}; only ${limit} fit the limit or the disk`,
    );
    count = limit;
  }

  const entries: PartitionEntry[] = [];
  for (let i = 0; i < count; i++) {
    const entryOffset = step * (i + 1);
    const b = i === 0 ? first : await readIfInside(disk, entryOffset, APM_SECTOR);
    if (!isPmEntry(b)) {
      // A short map is normal when count came from a bogus field; otherwise it is worth a warning.
      warnings.push(`APM: expected entry ${i + 1} of ${count} ${at(entryOffset)}, found no 'PM' signature; map ends there`);
      break;
    }
    const mapEntries = u32be(b, PM_OFF_MAP_BLK_CNT);
    if (i > 0 && mapEntries !== u32be(first, PM_OFF_MAP_BLK_CNT)) {
      warnings.push(`APM: entry ${i} ${at(entryOffset)} says the map has ${mapEntries} entries, the first entry says ${u32be(first, PM_OFF_MAP_BLK_CNT)}`);
    }
    const startBlock = u32be(b, PM_OFF_PY_PART_START);
    const blockCount = u32be(b, PM_OFF_PART_BLK_CNT);
    const type = cString(b, PM_OFF_TYPE, PM_STR_LEN);
    const name = cString(b, PM_OFF_NAME, PM_STR_LEN);
    const offset = startBlock * unit;
    const size = blockCount * unit;
    entries.push({
      index: i,
      name,
      type,
      typeName: apmTypeName(type),
      offset,
      size,
      apm: {
        mapEntries,
        startBlock,
        blockCount,
        dataStart: u32be(b, PM_OFF_LG_DATA_START),
        dataCount: u32be(b, PM_OFF_DATA_CNT),
        status: u32be(b, PM_OFF_STATUS),
        bootStart: u32be(b, PM_OFF_LG_BOOT_START),
        bootSize: u32be(b, PM_OFF_BOOT_SIZE),
        bootAddr: u32be(b, PM_OFF_BOOT_ADDR),
        bootEntry: u32be(b, PM_OFF_BOOT_ENTRY),
        bootChecksum: u32be(b, PM_OFF_BOOT_CKSUM),
        processor: cString(b, PM_OFF_PROCESSOR, PM_PROCESSOR_LEN),
        entryOffset,
      },
    });
  }
  if (entries.length === 0) {
    throw new DmgkitError('CORRUPT_PARTITION_MAP', `APM: no usable partition map entry ${at(step)}`, { offset: step });
  }
  return { scheme: 'apm', blockSize: unit, entries, warnings, apm: details };
}

/** One APM entry to write, in 512-byte blocks. */
export interface ApmEntrySpec {
  name: string;
  type: string;
  startBlock: number;
  blockCount: number;
  /** pmPartStatus (hdiutil: 0x3 for the map, 0x40000033 for a volume). */
  status: number;
}

function putString(b: Uint8Array, o: number, s: string, max: number): void {
  for (let i = 0; i < Math.min(s.length, max - 1); i++) b[o + i] = s.charCodeAt(i) & 0x7f;
}

/** Block 0: a driver descriptor map with no drivers, as hdiutil writes it. */
export function serializeDdm(blockCount: number): Uint8Array {
  const b = new Uint8Array(APM_SECTOR);
  const dv = new DataView(b.buffer);
  dv.setUint16(DDM_OFF_SIG, DDM_SIG);
  dv.setUint16(DDM_OFF_BLK_SIZE, APM_SECTOR);
  dv.setUint32(DDM_OFF_BLK_COUNT, Math.min(blockCount, 0xffffffff));
  return b;
}

/** The partition map entries (one 512-byte block each, from block 1), the inverse of parseApm for 512-byte maps. */
export function serializeApmEntries(entries: readonly ApmEntrySpec[]): Uint8Array {
  const out = new Uint8Array(entries.length * APM_SECTOR);
  const dv = new DataView(out.buffer);
  entries.forEach((e, i) => {
    const o = i * APM_SECTOR;
    dv.setUint16(o + PM_OFF_SIG, PM_SIG);
    dv.setUint32(o + PM_OFF_MAP_BLK_CNT, entries.length);
    dv.setUint32(o + PM_OFF_PY_PART_START, e.startBlock);
    dv.setUint32(o + PM_OFF_PART_BLK_CNT, e.blockCount);
    putString(out, o + PM_OFF_NAME, e.name, PM_STR_LEN);
    putString(out, o + PM_OFF_TYPE, e.type, PM_STR_LEN);
    dv.setUint32(o + PM_OFF_LG_DATA_START, 0);
    dv.setUint32(o + PM_OFF_DATA_CNT, e.blockCount);
    dv.setUint32(o + PM_OFF_STATUS, e.status >>> 0);
  });
  return out;
}
