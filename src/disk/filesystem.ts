import { DmgkitError, isDmgkitError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { ascii, u16be, u16le, u32be, u32le } from '../util/bytes.js';
import { readIfInside } from './read.js';

/**
 * File-system sniffing by signature. Sources: Apple TN1150 (HFS+ volume header at 1024, 'H+'/4, 'HX'/5), Inside
 * Macintosh: Files (classic HFS MDB 'BD', drEmbedSigWord/drEmbedExtent for HFS wrappers), Apple File System
 * Reference (NX superblock magic 'NXSB' at byte 32 of block 0), Microsoft FAT specification (BPB fields, cluster
 * count rule), exFAT and NTFS boot sectors (OEM name at 3), ECMA-119 (ISO 9660 'CD001' at 32769).
 */

export type FilesystemType =
  | 'hfsplus'
  | 'hfsx'
  | 'hfs'
  | 'hfs-wrapper'
  | 'apfs'
  | 'fat12'
  | 'fat16'
  | 'fat32'
  | 'exfat'
  | 'ntfs'
  | 'iso9660'
  | 'unknown';

export interface FilesystemInfo {
  type: FilesystemType;
  name: string;
  label?: string;
  /** hfs-wrapper only: byte offset of the embedded HFS+ volume inside this partition. */
  embeddedOffset?: number;
}

export const FILESYSTEM_NAMES: Readonly<Record<FilesystemType, string>> = Object.freeze({
  hfsplus: 'HFS+',
  hfsx: 'HFSX (case-sensitive HFS+)',
  hfs: 'HFS (classic Mac OS Standard)',
  'hfs-wrapper': 'HFS+ inside an HFS wrapper',
  apfs: 'APFS',
  fat12: 'FAT12',
  fat16: 'FAT16',
  fat32: 'FAT32',
  exfat: 'exFAT',
  ntfs: 'NTFS',
  iso9660: 'ISO 9660',
  unknown: 'unknown',
});

// HFS / HFS+ (big-endian), offsets relative to the header at byte 1024.
export const HFS_HEADER_OFFSET = 1024;
const HFSPLUS_SIG = 0x482b; // 'H+'
const HFSX_SIG = 0x4858; // 'HX'
const HFSPLUS_VERSION = 4;
const HFSX_VERSION = 5;
const HFS_SIG = 0x4244; // 'BD'
const MDB_OFF_AL_BLK_SIZ = 0x14;
const MDB_OFF_AL_BL_ST = 0x1c;
const MDB_OFF_VN = 0x24; // Str27: length byte + 27 chars
const MDB_VN_MAX = 27;
const MDB_OFF_EMBED_SIG = 0x7c;
const MDB_OFF_EMBED_START = 0x7e;
const MDB_OFF_EMBED_COUNT = 0x80;
const HFS_SECTOR = 512;

// APFS container superblock.
const APFS_MAGIC_OFFSET = 32;
const APFS_MAGIC = 'NXSB';

// FAT / exFAT / NTFS boot sector (little-endian).
const BS_OFF_OEM = 3;
const BPB_OFF_BYTES_PER_SECTOR = 11;
const BPB_OFF_SECTORS_PER_CLUSTER = 13;
const BPB_OFF_RESERVED = 14;
const BPB_OFF_NUM_FATS = 16;
const BPB_OFF_ROOT_ENTRIES = 17;
const BPB_OFF_TOTAL16 = 19;
const BPB_OFF_MEDIA = 21;
const BPB_OFF_FAT_SIZE16 = 22;
const BPB_OFF_TOTAL32 = 32;
const BPB_OFF_FAT_SIZE32 = 36;
const BS16_OFF_BOOT_SIG = 38;
const BS16_OFF_LABEL = 43;
const BS32_OFF_BOOT_SIG = 66;
const BS32_OFF_LABEL = 71;
const EXT_BOOT_SIG = 0x29;
const LABEL_LEN = 11;
const FAT12_MAX_CLUSTERS = 4085;
const FAT16_MAX_CLUSTERS = 65525;

// ISO 9660 primary volume descriptor at sector 16.
const ISO_PVD_OFFSET = 32768;
const ISO_OFF_ID = 1;
const ISO_OFF_VOLUME_ID = 40;
const ISO_VOLUME_ID_LEN = 32;

const SNIFF_BYTES = 4096;

function info(type: FilesystemType, label?: string, embeddedOffset?: number): FilesystemInfo {
  const r: FilesystemInfo = { type, name: FILESYSTEM_NAMES[type] };
  if (label) r.label = label;
  if (embeddedOffset !== undefined) r.embeddedOffset = embeddedOffset;
  return r;
}

function macRomanPascal(b: Uint8Array, o: number, max: number): string {
  const n = Math.min(b[o], max);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(b[o + 1 + i]);
  return s;
}

function trimLabel(s: string): string | undefined {
  const t = s.replace(/[\0 ]+$/, '');
  return t && t !== 'NO NAME' ? t : undefined;
}

function sniffHfs(b: Uint8Array, partSize: number): FilesystemInfo | null {
  if (b.length < HFS_HEADER_OFFSET + 512) return null;
  const h = HFS_HEADER_OFFSET;
  const sig = u16be(b, h);
  const version = u16be(b, h + 2);
  if (sig === HFSPLUS_SIG && version === HFSPLUS_VERSION) return info('hfsplus');
  if (sig === HFSX_SIG && version === HFSX_VERSION) return info('hfsx');
  if (sig !== HFS_SIG) return null;
  const alBlkSiz = u32be(b, h + MDB_OFF_AL_BLK_SIZ);
  if (alBlkSiz === 0 || alBlkSiz % HFS_SECTOR !== 0) return null;
  const label = macRomanPascal(b, h + MDB_OFF_VN, MDB_VN_MAX) || undefined;
  if (u16be(b, h + MDB_OFF_EMBED_SIG) === HFSPLUS_SIG) {
    const alBlSt = u16be(b, h + MDB_OFF_AL_BL_ST);
    const start = u16be(b, h + MDB_OFF_EMBED_START);
    const count = u16be(b, h + MDB_OFF_EMBED_COUNT);
    const embeddedOffset = alBlSt * HFS_SECTOR + start * alBlkSiz;
    if (count > 0 && embeddedOffset + HFS_HEADER_OFFSET + 512 <= partSize) return info('hfs-wrapper', label, embeddedOffset);
  }
  return info('hfs', label);
}

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function sniffBootSector(b: Uint8Array): FilesystemInfo | null {
  if (b.length < 512) return null;
  const oem = ascii(b, BS_OFF_OEM, 8);
  const sig55aa = b[510] === 0x55 && b[511] === 0xaa;
  if (oem === 'NTFS    ' && sig55aa) return info('ntfs');
  if (oem === 'EXFAT   ' && sig55aa) return info('exfat');
  const jump = (b[0] === 0xeb && b[2] === 0x90) || b[0] === 0xe9;
  if (!jump && !sig55aa) return null;
  const bps = u16le(b, BPB_OFF_BYTES_PER_SECTOR);
  const spc = b[BPB_OFF_SECTORS_PER_CLUSTER];
  const reserved = u16le(b, BPB_OFF_RESERVED);
  const fats = b[BPB_OFF_NUM_FATS];
  const media = b[BPB_OFF_MEDIA];
  if (!isPow2(bps) || bps < 512 || bps > 4096 || !isPow2(spc) || reserved === 0 || fats < 1 || fats > 4) return null;
  if (media !== 0xf0 && media < 0xf8) return null;
  const rootEntries = u16le(b, BPB_OFF_ROOT_ENTRIES);
  const total = u16le(b, BPB_OFF_TOTAL16) || u32le(b, BPB_OFF_TOTAL32);
  const fatSize16 = u16le(b, BPB_OFF_FAT_SIZE16);
  const fatSize = fatSize16 || u32le(b, BPB_OFF_FAT_SIZE32);
  if (total === 0 || fatSize === 0) return null;
  const rootSectors = Math.ceil((rootEntries * 32) / bps);
  const meta = reserved + fats * fatSize + rootSectors;
  if (meta >= total) return null;
  const clusters = Math.floor((total - meta) / spc);
  if (fatSize16 === 0) {
    // FAT32 BPB: root entries must be 0.
    if (rootEntries !== 0) return null;
    const label = b[BS32_OFF_BOOT_SIG] === EXT_BOOT_SIG ? trimLabel(ascii(b, BS32_OFF_LABEL, LABEL_LEN)) : undefined;
    return info('fat32', label);
  }
  const label = b[BS16_OFF_BOOT_SIG] === EXT_BOOT_SIG ? trimLabel(ascii(b, BS16_OFF_LABEL, LABEL_LEN)) : undefined;
  if (clusters < FAT12_MAX_CLUSTERS) return info('fat12', label);
  if (clusters < FAT16_MAX_CLUSTERS) return info('fat16', label);
  return info('fat32', label);
}

async function sniffIso(part: ByteSource): Promise<FilesystemInfo | null> {
  const pvd = await readIfInside(part, ISO_PVD_OFFSET, 2048);
  if (!pvd || ascii(pvd, ISO_OFF_ID, 5) !== 'CD001') return null;
  const label = pvd[0] === 1 ? trimLabel(ascii(pvd, ISO_OFF_VOLUME_ID, ISO_VOLUME_ID_LEN)) : undefined;
  return info('iso9660', label);
}

/**
 * Identifies the file system at the start of a partition (or of a whole unpartitioned disk). Never throws for
 * unrecognised or short input ('unknown'); errors of the source itself (I/O, corrupt chunk) propagate.
 */
export async function sniffFilesystem(part: ByteSource): Promise<FilesystemInfo> {
  try {
    const n = Math.min(part.size, SNIFF_BYTES);
    const head = n > 0 ? await part.read(0, n) : new Uint8Array(0);
    const hfs = sniffHfs(head, part.size);
    if (hfs) return hfs;
    if (head.length >= APFS_MAGIC_OFFSET + 4 && ascii(head, APFS_MAGIC_OFFSET, 4) === APFS_MAGIC) return info('apfs');
    const boot = sniffBootSector(head);
    if (boot) return boot;
    const iso = await sniffIso(part);
    if (iso) return iso;
    return info('unknown');
  } catch (e) {
    if (isDmgkitError(e)) throw e;
    throw new DmgkitError('CORRUPT_FS', `file-system probe failed: ${(e as Error).message}`, {}, { cause: e });
  }
}
