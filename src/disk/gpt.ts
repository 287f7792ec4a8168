import { DmgkitError, at } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { ascii, u32le, u64le } from '../util/bytes.js';
import { crc32 } from '../util/crc32.js';
import { formatGuid, gptTypeName, isZeroGuid } from './guid.js';
import { MBR_PROTECTIVE_TYPE } from './mbr-types.js';
import { readIfInside } from './read.js';
import type { GptDetails, GptHeaderInfo, PartitionEntry, PartitionMap, ResolvedPartitionMapOptions } from './types.js';

/**
 * GUID Partition Table (UEFI specification 2.10, §5.3). All fields little-endian. The primary header is at LBA 1,
 * its entry array usually at LBA 2; the backup header is at the last LBA with its array just before it.
 */

export const GPT_SIGNATURE = 'EFI PART';
const HDR_OFF_SIGNATURE = 0;
const HDR_OFF_REVISION = 8;
const HDR_OFF_HEADER_SIZE = 12;
const HDR_OFF_HEADER_CRC = 16;
const HDR_OFF_MY_LBA = 24;
const HDR_OFF_ALTERNATE_LBA = 32;
const HDR_OFF_FIRST_USABLE = 40;
const HDR_OFF_LAST_USABLE = 48;
const HDR_OFF_DISK_GUID = 56;
const HDR_OFF_ENTRIES_LBA = 72;
const HDR_OFF_ENTRY_COUNT = 80;
const HDR_OFF_ENTRY_SIZE = 84;
const HDR_OFF_ENTRIES_CRC = 88;
const HDR_MIN_SIZE = 92;

const ENT_OFF_TYPE = 0;
const ENT_OFF_UNIQUE = 16;
const ENT_OFF_FIRST_LBA = 32;
const ENT_OFF_LAST_LBA = 40;
const ENT_OFF_ATTRIBUTES = 48;
const ENT_OFF_NAME = 56;
const ENT_NAME_BYTES = 72;
const ENT_MIN_SIZE = 128;

// Protective MBR.
const MBR_OFF_TABLE = 446;
const MBR_ENTRY_SIZE = 16;
const MBR_OFF_BOOT_SIG = 510;

export const GPT_SECTOR_SIZES = [512, 4096];

interface ParsedHeader {
  info: GptHeaderInfo;
  /** Structurally usable (signature, sizes and LBAs sane), whatever the CRCs say. */
  sane: boolean;
  problem?: string;
  table?: Uint8Array;
}

function utf16leZ(b: Uint8Array, o: number, n: number): string {
  let s = '';
  for (let i = 0; i + 1 < n; i += 2) {
    const c = b[o + i] | (b[o + i + 1] << 8);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  // Lone surrogates are kept as-is; toWellFormed replaces them so names stay printable.
  return typeof (s as { toWellFormed?: () => string }).toWellFormed === 'function'
    ? (s as unknown as { toWellFormed: () => string }).toWellFormed()
    : s;
}

/** Reads a u64le that must be a safe integer; out-of-range values become -1 (reported by the caller). */
function lba64(b: Uint8Array, o: number): number {
  const hi = u32le(b, o + 4);
  if (hi > 0x1fffff) return -1;
  return u64le(b, o);
}

async function readHeader(
  disk: ByteSource,
  which: 'primary' | 'backup',
  lba: number,
  ss: number,
  opts: ResolvedPartitionMapOptions,
): Promise<ParsedHeader | null> {
  const offset = lba * ss;
  const b = await readIfInside(disk, offset, ss);
  if (!b || ascii(b, HDR_OFF_SIGNATURE, 8) !== GPT_SIGNATURE) return null;
  const headerSize = u32le(b, HDR_OFF_HEADER_SIZE);
  const info: GptHeaderInfo = {
    which,
    offset,
    revision: u32le(b, HDR_OFF_REVISION),
    headerSize,
    headerCrcOk: false,
    tableCrcOk: false,
    myLba: lba64(b, HDR_OFF_MY_LBA),
    alternateLba: lba64(b, HDR_OFF_ALTERNATE_LBA),
    firstUsableLba: lba64(b, HDR_OFF_FIRST_USABLE),
    lastUsableLba: lba64(b, HDR_OFF_LAST_USABLE),
    diskGuid: formatGuid(b, HDR_OFF_DISK_GUID),
    entriesLba: lba64(b, HDR_OFF_ENTRIES_LBA),
    entryCount: u32le(b, HDR_OFF_ENTRY_COUNT),
    entrySize: u32le(b, HDR_OFF_ENTRY_SIZE),
  };
  const result: ParsedHeader = { info, sane: false };
  if (headerSize < HDR_MIN_SIZE || headerSize > ss) {
    result.problem = `header size ${headerSize} is outside [${HDR_MIN_SIZE}, ${ss}]`;
    return result;
  }
  const copy = b.slice(0, headerSize);
  copy.fill(0, HDR_OFF_HEADER_CRC, HDR_OFF_HEADER_CRC + 4);
  info.headerCrcOk = crc32(copy) === u32le(b, HDR_OFF_HEADER_CRC);

  const { entryCount, entrySize, entriesLba } = info;
  if (entrySize < ENT_MIN_SIZE || entrySize % 8 !== 0) {
    result.problem = `entry size ${entrySize} is not a multiple of 8 ≥ ${ENT_MIN_SIZE}`;
    return result;
  }
  if (entriesLba < 0 || info.myLba < 0) {
    result.problem = 'an LBA field is larger than 2^53-1';
    return result;
  }
  const tableBytes = entryCount * entrySize;
  if (tableBytes > opts.maxGptTableBytes || entryCount > opts.maxEntries) {
    result.problem = `entry array of ${entryCount} × ${entrySize} bytes exceeds the limit (${opts.maxEntries} entries, ${opts.maxGptTableBytes} bytes)`;
    return result;
  }
  const table = await readIfInside(disk, entriesLba * ss, tableBytes);
  if (!table) {
    result.problem = `entry array ${at(entriesLba * ss)} (${tableBytes} bytes) lies past the end of the disk`;
    return result;
  }
  info.tableCrcOk = crc32(table) === u32le(b, HDR_OFF_ENTRIES_CRC);
  result.table = table;
  result.sane = true;
  return result;
}

function describe(h: ParsedHeader): string {
  if (!h.sane) return h.problem ?? 'unusable';
  const bad: string[] = [];
  if (!h.info.headerCrcOk) bad.push('header CRC32 mismatch');
  if (!h.info.tableCrcOk) bad.push('entry array CRC32 mismatch');
  return bad.length ? bad.join(', ') : 'ok';
}

function protectiveState(mbr: Uint8Array | null): GptDetails['protectiveMbr'] {
  if (!mbr || mbr[MBR_OFF_BOOT_SIG] !== 0x55 || mbr[MBR_OFF_BOOT_SIG + 1] !== 0xaa) return 'missing';
  let protective = false;
  let others = false;
  for (let i = 0; i < 4; i++) {
    const t = mbr[MBR_OFF_TABLE + i * MBR_ENTRY_SIZE + 4];
    if (t === MBR_PROTECTIVE_TYPE) protective = true;
    else if (t !== 0) others = true;
  }
  if (!protective) return 'missing';
  return others ? 'hybrid' : 'protective';
}

/** True when `EFI PART` sits at LBA 1 for one of the usual sector sizes. */
export async function findGptSectorSize(disk: ByteSource, forced?: number): Promise<number | null> {
  for (const ss of forced ? [forced] : GPT_SECTOR_SIZES) {
    const b = await readIfInside(disk, ss, 8);
    if (b && ascii(b, 0, 8) === GPT_SIGNATURE) return ss;
  }
  return null;
}

/**
 * Parses a GPT. Returns null when no 'EFI PART' header is at LBA 1 (512- or 4096-byte sectors) nor at the last
 * LBA. Uses the primary header and array when both CRCs check, else the backup (with a warning), else the
 * best structurally sane copy (with a warning); throws CORRUPT_PARTITION_MAP when no copy is usable.
 */
export async function parseGpt(disk: ByteSource, opts: ResolvedPartitionMapOptions): Promise<PartitionMap | null> {
  const warnings: string[] = [];
  let ss = await findGptSectorSize(disk, opts.sectorSize);
  let primary: ParsedHeader | null = null;
  if (ss !== null) primary = await readHeader(disk, 'primary', 1, ss, opts);

  // Backup: where the primary says, else at the last LBA.
  let backup: ParsedHeader | null = null;
  const sizes = ss !== null ? [ss] : opts.sectorSize ? [opts.sectorSize] : GPT_SECTOR_SIZES;
  for (const s of sizes) {
    const lastLba = Math.floor(disk.size / s) - 1;
    const tried = new Set<number>();
    const alt = primary?.info.alternateLba;
    for (const lba of [alt, lastLba]) {
      if (lba === undefined || lba < 2 || lba > lastLba || tried.has(lba)) continue;
      tried.add(lba);
      backup = await readHeader(disk, 'backup', lba, s, opts);
      if (backup) break;
    }
    if (backup) {
      ss = s;
      break;
    }
  }
  if (!primary && !backup) return null;
  const sectorSize = ss!;

  const good = (h: ParsedHeader | null): boolean => !!h && h.sane && h.info.headerCrcOk && h.info.tableCrcOk;
  let chosen: ParsedHeader;
  if (good(primary)) {
    chosen = primary!;
    if (!backup) warnings.push('GPT: no backup header found at the end of the disk');
    else if (!good(backup)) warnings.push(`GPT: backup header ${at(backup.info.offset)} is damaged (${describe(backup)})`);
  } else if (good(backup)) {
    chosen = backup!;
    warnings.push(
      primary
        ? `GPT: primary header ${at(primary.info.offset)} is damaged (${describe(primary)}); using the backup header ${at(backup!.info.offset)}`
        : `GPT: no primary header at LBA 1; using the backup header ${at(backup!.info.offset)}`,
    );
  } else {
    const sane = [primary, backup].filter((h): h is ParsedHeader => !!h && h.sane);
    if (sane.length === 0) {
      const why = [primary, backup]
        .filter((h): h is ParsedHeader => !!h)
        .map((h) => `${h.info.which} ${at(h.info.offset)}: ${describe(h)}`)
        .join('; ');
      throw new DmgkitError('CORRUPT_PARTITION_MAP', `GPT: no usable header (${why})`, {
        offset: (primary ?? backup)!.info.offset,
      });
    }
    // Prefer a header whose own CRC checks, then the primary.
    sane.sort((a, b) => Number(b.info.headerCrcOk) - Number(a.info.headerCrcOk));
    chosen = sane[0];
    for (const h of [primary, backup]) {
      if (h) warnings.push(`GPT: ${h.info.which} header ${at(h.info.offset)}: ${describe(h)}`);
    }
    warnings.push(`GPT: no copy has valid CRCs; using the ${chosen.info.which} table anyway`);
  }

  const mbr = await readIfInside(disk, 0, 512);
  const protectiveMbr = protectiveState(mbr);
  if (protectiveMbr === 'missing') warnings.push('GPT: no protective MBR (0xEE entry) in sector 0');

  const { info, table } = chosen;
  const lastLbaOfDisk = Math.floor(disk.size / sectorSize) - 1;
  const entries: PartitionEntry[] = [];
  for (let i = 0; i < info.entryCount; i++) {
    const o = i * info.entrySize;
    if (isZeroGuid(table!, o + ENT_OFF_TYPE)) continue;
    const type = formatGuid(table!, o + ENT_OFF_TYPE);
    const firstLba = lba64(table!, o + ENT_OFF_FIRST_LBA);
    const lastLba = lba64(table!, o + ENT_OFF_LAST_LBA);
    const name = utf16leZ(table!, o + ENT_OFF_NAME, ENT_NAME_BYTES);
    const attrLo = u32le(table!, o + ENT_OFF_ATTRIBUTES);
    const attrHi = u32le(table!, o + ENT_OFF_ATTRIBUTES + 4);
    const attributes = attrHi.toString(16).padStart(8, '0') + attrLo.toString(16).padStart(8, '0');
    if (firstLba < 0 || lastLba < 0 || lastLba < firstLba) {
      warnings.push(`GPT: entry ${i} has an invalid LBA range (${firstLba}..${lastLba}); skipped`);
      continue;
    }
    const offset = firstLba * sectorSize;
    const size = (lastLba - firstLba + 1) * sectorSize;
    if (!Number.isSafeInteger(offset + size)) {
      warnings.push(`GPT: entry ${i} LBA range is too large; skipped`);
      continue;
    }
    if (firstLba < info.firstUsableLba || lastLba > info.lastUsableLba) {
      warnings.push(`GPT: entry ${i} (${firstLba}..${lastLba}) lies outside the usable LBAs ${info.firstUsableLba}..${info.lastUsableLba}`);
    }
    if (lastLba > lastLbaOfDisk) {
      warnings.push(`GPT: entry ${i} ends at LBA ${lastLba}, past the end of the disk (last LBA ${lastLbaOfDisk})`);
    }
    entries.push({
      index: i,
      name,
      type,
      typeName: gptTypeName(type),
      offset,
      size,
      gpt: { uniqueGuid: formatGuid(table!, o + ENT_OFF_UNIQUE), firstLba, lastLba, attributes },
    });
  }

  const details: GptDetails = {
    sectorSize,
    diskGuid: info.diskGuid,
    used: info.which,
    protectiveMbr,
  };
  if (primary) details.primary = primary.info;
  if (backup) details.backup = backup.info;
  return { scheme: 'gpt', blockSize: sectorSize, entries, warnings, gpt: details };
}

/** One GPT entry to write. */
export interface GptEntrySpec {
  typeGuid: Uint8Array;
  uniqueGuid: Uint8Array;
  firstLba: number;
  /** Inclusive. */
  lastLba: number;
  name: string;
}

/**
 * A GPT of 128 entries of 128 bytes on 512-byte sectors, the inverse of parseGpt: the protective MBR (sector 0),
 * the primary header (1) and table (2..33), and the backup table and header at the end of a disk of
 * `diskSectors`. CRCs as the UEFI specification computes them.
 */
export function serializeGpt(entries: readonly GptEntrySpec[], diskGuid: Uint8Array, diskSectors: number): {
  protectiveMbr: Uint8Array; primaryHeader: Uint8Array; table: Uint8Array; backupHeader: Uint8Array;
} {
  const count = 128;
  const size = 128;
  const tableSectors = (count * size) / 512;
  const last = diskSectors - 1;
  const table = new Uint8Array(count * size);
  const tv = new DataView(table.buffer);
  entries.forEach((e, i) => {
    const o = i * size;
    table.set(e.typeGuid, o + ENT_OFF_TYPE);
    table.set(e.uniqueGuid, o + ENT_OFF_UNIQUE);
    tv.setBigUint64(o + ENT_OFF_FIRST_LBA, BigInt(e.firstLba), true);
    tv.setBigUint64(o + ENT_OFF_LAST_LBA, BigInt(e.lastLba), true);
    tv.setBigUint64(o + ENT_OFF_ATTRIBUTES, 0n, true);
    for (let k = 0; k < Math.min(e.name.length, ENT_NAME_BYTES / 2); k++) tv.setUint16(o + ENT_OFF_NAME + 2 * k, e.name.charCodeAt(k), true);
  });
  const tableCrc = crc32(table);
  const header = (my: number, alt: number, entriesLba: number): Uint8Array => {
    const h = new Uint8Array(512);
    const dv = new DataView(h.buffer);
    for (let i = 0; i < 8; i++) h[HDR_OFF_SIGNATURE + i] = GPT_SIGNATURE.charCodeAt(i);
    dv.setUint32(HDR_OFF_REVISION, 0x00010000, true);
    dv.setUint32(HDR_OFF_HEADER_SIZE, HDR_MIN_SIZE, true);
    dv.setBigUint64(HDR_OFF_MY_LBA, BigInt(my), true);
    dv.setBigUint64(HDR_OFF_ALTERNATE_LBA, BigInt(alt), true);
    dv.setBigUint64(HDR_OFF_FIRST_USABLE, BigInt(2 + tableSectors), true);
    dv.setBigUint64(HDR_OFF_LAST_USABLE, BigInt(last - 1 - tableSectors), true);
    h.set(diskGuid, HDR_OFF_DISK_GUID);
    dv.setBigUint64(HDR_OFF_ENTRIES_LBA, BigInt(entriesLba), true);
    dv.setUint32(HDR_OFF_ENTRY_COUNT, count, true);
    dv.setUint32(HDR_OFF_ENTRY_SIZE, size, true);
    dv.setUint32(HDR_OFF_ENTRIES_CRC, tableCrc, true);
    dv.setUint32(HDR_OFF_HEADER_CRC, crc32(h.subarray(0, HDR_MIN_SIZE)), true);
    return h;
  };
  const mbr = new Uint8Array(512);
  const mv = new DataView(mbr.buffer);
  const o = MBR_OFF_TABLE;
  mbr.set([0x00, 0xfe, 0xff, 0xff, MBR_PROTECTIVE_TYPE, 0xfe, 0xff, 0xff], o); // CHS "beyond", as hdiutil
  mv.setUint32(o + 8, 1, true);
  mv.setUint32(o + 12, Math.min(last, 0xffffffff), true);
  mbr[MBR_OFF_BOOT_SIG] = 0x55;
  mbr[MBR_OFF_BOOT_SIG + 1] = 0xaa;
  return {
    protectiveMbr: mbr,
    primaryHeader: header(1, last, 2),
    table,
    backupHeader: header(last, 1, last - tableSectors),
  };
}
