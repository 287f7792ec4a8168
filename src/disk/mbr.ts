import { at } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { u16le, u32le } from '../util/bytes.js';
import { MBR_EXTENDED_TYPES, mbrTypeHex, mbrTypeName } from './mbr-types.js';
import { readIfInside } from './read.js';
import type { MbrDetails, PartitionEntry, PartitionMap, ResolvedPartitionMapOptions } from './types.js';

/**
 * Master Boot Record: four 16-byte entries at 0x1BE, signature 0x55 0xAA at 0x1FE, little-endian. Extended
 * partitions (0x05, 0x0F, 0x85) hold a chain of EBRs: in each, entry 0 is a logical partition relative to that
 * EBR, entry 1 points to the next EBR relative to the start of the outermost extended partition.
 */

export const MBR_SECTOR = 512;
const MBR_OFF_DISK_SIGNATURE = 0x1b8;
export const MBR_OFF_TABLE = 0x1be;
export const MBR_ENTRY_SIZE = 16;
export const MBR_OFF_BOOT_SIG = 0x1fe;
const ENT_OFF_STATUS = 0;
const ENT_OFF_CHS_BEGIN = 1;
const ENT_OFF_TYPE = 4;
const ENT_OFF_CHS_END = 5;
const ENT_OFF_LBA = 8;
const ENT_OFF_COUNT = 12;
/** Logical partitions are numbered after the four primary slots. */
const FIRST_LOGICAL_INDEX = 4;

export interface RawMbrEntry {
  slot: number;
  status: number;
  type: number;
  lba: number;
  count: number;
  beginChs: string;
  endChs: string;
}

function chs(b: Uint8Array, o: number): string {
  const head = b[o];
  const sector = b[o + 1] & 0x3f;
  const cyl = ((b[o + 1] & 0xc0) << 2) | b[o + 2];
  return `${cyl}-${head}-${sector}`;
}

export function hasBootSignature(s: Uint8Array): boolean {
  return s.length >= MBR_SECTOR && s[MBR_OFF_BOOT_SIG] === 0x55 && s[MBR_OFF_BOOT_SIG + 1] === 0xaa;
}

export function readMbrEntries(s: Uint8Array): RawMbrEntry[] {
  const out: RawMbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const o = MBR_OFF_TABLE + i * MBR_ENTRY_SIZE;
    out.push({
      slot: i,
      status: s[o + ENT_OFF_STATUS],
      type: s[o + ENT_OFF_TYPE],
      lba: u32le(s, o + ENT_OFF_LBA),
      count: u32le(s, o + ENT_OFF_COUNT),
      beginChs: chs(s, o + ENT_OFF_CHS_BEGIN),
      endChs: chs(s, o + ENT_OFF_CHS_END),
    });
  }
  return out;
}

/**
 * A partition table is plausible when every used entry has status 0x00 or 0x80, a non-zero start and length, and
 * at least one entry is used (the 7-Zip MbrHandler rules, minus CHS checks).
 */
export function isPlausibleTable(entries: RawMbrEntry[]): boolean {
  let used = 0;
  for (const e of entries) {
    if (e.type === 0) continue;
    if (e.status !== 0 && e.status !== 0x80) return false;
    if (e.count === 0 || e.lba === 0) return false;
    used++;
  }
  return used > 0;
}

/**
 * A volume boot record (FAT/NTFS/exFAT boot sector at the start of an unpartitioned volume) also ends in 0x55AA.
 * It is recognised by its jump instruction, OEM/file-system strings and a sane BIOS Parameter Block.
 */
export function looksLikeVolumeBootRecord(s: Uint8Array): boolean {
  if (s.length < MBR_SECTOR) return false;
  const jump = (s[0] === 0xeb && s[2] === 0x90) || s[0] === 0xe9;
  if (!jump) return false;
  const oem = String.fromCharCode(...s.subarray(3, 11));
  if (oem === 'NTFS    ' || oem === 'EXFAT   ') return true;
  const bps = u16le(s, 11);
  const spc = s[13];
  const reserved = u16le(s, 14);
  const fats = s[16];
  const bpbOk =
    (bps === 512 || bps === 1024 || bps === 2048 || bps === 4096) &&
    spc !== 0 && (spc & (spc - 1)) === 0 &&
    reserved >= 1 && fats >= 1 && fats <= 4;
  if (!bpbOk) return false;
  const fsType16 = String.fromCharCode(...s.subarray(0x36, 0x39));
  const fsType32 = String.fromCharCode(...s.subarray(0x52, 0x57));
  if (fsType16 === 'FAT' || fsType32 === 'FAT32') return true;
  // A sane BPB and an implausible table: a boot sector, not an MBR.
  return !isPlausibleTable(readMbrEntries(s));
}

function makeEntry(
  index: number,
  e: RawMbrEntry,
  startLba: number,
  ss: number,
  logical: boolean,
): PartitionEntry {
  return {
    index,
    name: '',
    type: mbrTypeHex(e.type),
    typeName: mbrTypeName(e.type),
    offset: startLba * ss,
    size: e.count * ss,
    mbr: {
      status: e.status,
      bootable: e.status === 0x80,
      logical,
      startLba,
      sectorCount: e.count,
      beginChs: e.beginChs,
      endChs: e.endChs,
    },
  };
}

/**
 * Parses an MBR. Returns null when sector 0 has no 0x55AA signature, no plausible table, or is a volume boot
 * record. Extended containers are followed (bounded by maxExtendedHops and a visited set) and their logical
 * partitions listed; the containers themselves go to `mbr.extended`, not to entries (as 7-Zip lists them).
 */
export async function parseMbr(disk: ByteSource, opts: ResolvedPartitionMapOptions): Promise<PartitionMap | null> {
  const s0 = await readIfInside(disk, 0, MBR_SECTOR);
  if (!s0 || !hasBootSignature(s0)) return null;
  if (looksLikeVolumeBootRecord(s0)) return null;
  const primaries = readMbrEntries(s0);
  if (!isPlausibleTable(primaries)) return null;

  const ss = opts.sectorSize ?? MBR_SECTOR;
  const warnings: string[] = [];
  const entries: PartitionEntry[] = [];
  const details: MbrDetails = { diskSignature: u32le(s0, MBR_OFF_DISK_SIGNATURE), sectorSize: ss, extended: [] };
  const diskSectors = Math.floor(disk.size / ss);
  let logicalIndex = FIRST_LOGICAL_INDEX;
  let hops = 0;

  const check = (e: PartitionEntry, what: string): void => {
    if (e.offset >= disk.size) warnings.push(`MBR: ${what} starts ${at(e.offset)}, past the end of the disk (${disk.size} bytes)`);
    else if (e.offset + e.size > disk.size) warnings.push(`MBR: ${what} ${at(e.offset)} (${e.size} bytes) runs past the end of the disk`);
  };

  for (const p of primaries) {
    if (p.type === 0) continue;
    if (MBR_EXTENDED_TYPES.has(p.type)) {
      details.extended.push({ slot: p.slot, type: mbrTypeHex(p.type), offset: p.lba * ss, size: p.count * ss });
      if (details.extended.length > 1) warnings.push(`MBR: more than one extended partition (slot ${p.slot})`);
      // Walk the EBR chain.
      const extStart = p.lba;
      const extEnd = p.lba + p.count;
      const visited = new Set<number>();
      let ebrLba = extStart;
      for (;;) {
        if (visited.has(ebrLba)) {
          warnings.push(`MBR: the extended partition chain loops back to LBA ${ebrLba}; stopped`);
          break;
        }
        if (++hops > opts.maxExtendedHops) {
          warnings.push(`MBR: more than ${opts.maxExtendedHops} EBRs in the extended chain; stopped`);
          break;
        }
        visited.add(ebrLba);
        if (ebrLba >= diskSectors) {
          warnings.push(`MBR: EBR at LBA ${ebrLba} lies past the end of the disk; chain stopped`);
          break;
        }
        const ebr = await disk.read(ebrLba * ss, MBR_SECTOR);
        if (!hasBootSignature(ebr)) {
          warnings.push(`MBR: EBR ${at(ebrLba * ss)} has no 0x55AA signature; chain stopped`);
          break;
        }
        const [logical, next] = readMbrEntries(ebr);
        if (logical.type !== 0 && logical.count > 0) {
          if (entries.length >= opts.maxEntries) {
            warnings.push(`MBR: more than ${opts.maxEntries} partitions; stopped`);
            break;
          }
          const start = ebrLba + logical.lba;
          const e = makeEntry(logicalIndex++, logical, start, ss, true);
          if (start + logical.count > extEnd) warnings.push(`MBR: logical partition ${e.index} runs past its extended partition`);
          check(e, `logical partition ${e.index}`);
          entries.push(e);
        }
        if (next.type === 0 || !MBR_EXTENDED_TYPES.has(next.type) || next.count === 0) break;
        ebrLba = extStart + next.lba;
      }
      continue;
    }
    const e = makeEntry(p.slot, p, p.lba, ss, false);
    check(e, `partition ${p.slot}`);
    entries.push(e);
  }

  entries.sort((a, b) => a.index - b.index);
  if (entries.length === 0 && details.extended.length === 0) return null;
  return { scheme: 'mbr', blockSize: ss, entries, warnings, mbr: details };
}

/** One primary entry to write (LBA units of 512 bytes; CHS fields are written as "beyond CHS", 0xFE 0xFF 0xFF). */
export interface MbrEntrySpec {
  type: number;
  startLba: number;
  sectorCount: number;
  bootable?: boolean;
}

/** Serializes an MBR sector with up to four primary entries (the inverse of readMbrEntries). */
export function serializeMbr(entries: readonly MbrEntrySpec[], diskSignature = 0): Uint8Array {
  if (entries.length > 4) throw new RangeError('an MBR holds four primary entries');
  const s = new Uint8Array(MBR_SECTOR);
  const dv = new DataView(s.buffer);
  dv.setUint32(MBR_OFF_DISK_SIGNATURE, diskSignature >>> 0, true);
  entries.forEach((e, i) => {
    const o = MBR_OFF_TABLE + i * MBR_ENTRY_SIZE;
    s[o + ENT_OFF_STATUS] = e.bootable ? 0x80 : 0;
    s.set([0xfe, 0xff, 0xff], o + ENT_OFF_CHS_BEGIN);
    s[o + ENT_OFF_TYPE] = e.type;
    s.set([0xfe, 0xff, 0xff], o + ENT_OFF_CHS_END);
    dv.setUint32(o + ENT_OFF_LBA, Math.min(e.startLba, 0xffffffff), true);
    dv.setUint32(o + ENT_OFF_COUNT, Math.min(e.sectorCount, 0xffffffff), true);
  });
  s[MBR_OFF_BOOT_SIG] = 0x55;
  s[MBR_OFF_BOOT_SIG + 1] = 0xaa;
  return s;
}
