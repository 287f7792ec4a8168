import { DmgkitError, at } from '../errors.js';
import { u16be, u32be, u64be } from '../util/bytes.js';

/**
 * HFSPlusVolumeHeader (TN1150 "Volume Header"; hfs_format.h): 512 bytes at volume offset 1024, a copy at
 * size − 1024. Big-endian. Also the classic HFS Master Directory Block signature, for the wrapper case.
 */

export const VOLUME_HEADER_OFFSET = 1024;
export const VOLUME_HEADER_SIZE = 512;

export const SIG_HFSPLUS = 0x482b; // 'H+'
export const SIG_HFSX = 0x4858; // 'HX'
export const SIG_HFS = 0x4244; // 'BD' (classic HFS MDB)

const VH = {
  signature: 0,
  version: 2,
  attributes: 4,
  lastMountedVersion: 8,
  journalInfoBlock: 12,
  createDate: 16,
  modifyDate: 20,
  backupDate: 24,
  checkedDate: 28,
  fileCount: 32,
  folderCount: 36,
  blockSize: 40,
  totalBlocks: 44,
  freeBlocks: 48,
  nextCatalogID: 64,
  writeCount: 68,
  finderInfo: 80,
  allocationFile: 112,
  extentsFile: 192,
  catalogFile: 272,
  attributesFile: 352,
  startupFile: 432,
} as const;

/** Volume attribute bits. */
export const VOL_UNMOUNTED = 0x100;
export const VOL_JOURNALED = 0x2000;
export const VOL_SOFTWARE_LOCK = 0x8000;

/** HFSPlusForkData (80 bytes). */
export const FORK_DATA_SIZE = 80;
export interface Extent {
  startBlock: number;
  blockCount: number;
}
export interface ForkData {
  logicalSize: number;
  clumpSize: number;
  totalBlocks: number;
  extents: Extent[];
}

export function parseExtents(b: Uint8Array, o: number): Extent[] {
  const out: Extent[] = [];
  for (let i = 0; i < 8; i++) {
    out.push({ startBlock: u32be(b, o + 8 * i), blockCount: u32be(b, o + 8 * i + 4) });
  }
  return out;
}

const NO_EXTENTS: Extent[] = [];

/**
 * Like parseForkData, but keeps only the extents in use: those before the first empty one, up to the fork's
 * totalBlocks. Fork reading stops at the first empty extent anyway; a listing then allocates nothing for the
 * unused slots (most catalog records have an empty resource fork and a one-extent data fork).
 */
export function parseForkDataUsed(b: Uint8Array, o: number, what: string): ForkData {
  const totalBlocks = u32be(b, o + 12);
  let extents = NO_EXTENTS;
  if (totalBlocks !== 0) {
    extents = [];
    let sum = 0;
    for (let i = 0; i < 8 && sum < totalBlocks; i++) {
      const e = o + 16 + 8 * i;
      const blockCount = u32be(b, e + 4);
      if (blockCount === 0) break;
      extents.push({ startBlock: u32be(b, e), blockCount });
      sum += blockCount;
    }
  }
  const hi = u32be(b, o);
  // the error message is only built for an out-of-range size
  const logicalSize = hi <= 0x1fffff ? hi * 0x100000000 + u32be(b, o + 4) : u64be(b, o, `${what} logicalSize`, 0);
  return { logicalSize, clumpSize: u32be(b, o + 8), totalBlocks, extents };
}

export function parseForkData(b: Uint8Array, o: number, what: string, base = 0): ForkData {
  return {
    logicalSize: u64be(b, o, `${what} logicalSize`, base),
    clumpSize: u32be(b, o + 8),
    totalBlocks: u32be(b, o + 12),
    extents: parseExtents(b, o + 16),
  };
}

export interface VolumeHeader {
  signature: 'H+' | 'HX';
  version: number;
  attributes: number;
  lastMountedVersion: string;
  journalInfoBlock: number;
  /** Raw 1904-epoch seconds. createDate is local time, the others UTC. */
  createDate: number;
  modifyDate: number;
  backupDate: number;
  checkedDate: number;
  fileCount: number;
  folderCount: number;
  blockSize: number;
  totalBlocks: number;
  freeBlocks: number;
  nextCatalogID: number;
  writeCount: number;
  finderInfo: number[];
  allocationFile: ForkData;
  extentsFile: ForkData;
  catalogFile: ForkData;
  attributesFile: ForkData;
  startupFile: ForkData;
}

/** Parses and validates a volume header at `base` (absolute offset, for messages). */
export function parseVolumeHeader(b: Uint8Array, base: number): VolumeHeader {
  const sig = u16be(b, VH.signature);
  const version = u16be(b, VH.version);
  if (!((sig === SIG_HFSPLUS && version === 4) || (sig === SIG_HFSX && version === 5))) {
    throw new DmgkitError(
      'CORRUPT_FS',
      `HFS+ volume header ${at(base)}: signature 0x${sig.toString(16)} version ${version} is not H+/4 or HX/5`,
      { offset: base },
    );
  }
  const blockSize = u32be(b, VH.blockSize);
  if (blockSize < 512 || blockSize > 0x10000000 || (blockSize & (blockSize - 1)) !== 0) {
    throw new DmgkitError('CORRUPT_FS', `HFS+ volume header ${at(base)}: block size ${blockSize} is not a power of two ≥ 512`, {
      offset: base + VH.blockSize,
    });
  }
  let lmv = '';
  for (let i = 0; i < 4; i++) lmv += String.fromCharCode(b[VH.lastMountedVersion + i]);
  const finderInfo: number[] = [];
  for (let i = 0; i < 8; i++) finderInfo.push(u32be(b, VH.finderInfo + 4 * i));
  const fork = (o: number, what: string) => parseForkData(b, o, what, base);
  return {
    signature: sig === SIG_HFSPLUS ? 'H+' : 'HX',
    version,
    attributes: u32be(b, VH.attributes),
    lastMountedVersion: lmv,
    journalInfoBlock: u32be(b, VH.journalInfoBlock),
    createDate: u32be(b, VH.createDate),
    modifyDate: u32be(b, VH.modifyDate),
    backupDate: u32be(b, VH.backupDate),
    checkedDate: u32be(b, VH.checkedDate),
    fileCount: u32be(b, VH.fileCount),
    folderCount: u32be(b, VH.folderCount),
    blockSize,
    totalBlocks: u32be(b, VH.totalBlocks),
    freeBlocks: u32be(b, VH.freeBlocks),
    nextCatalogID: u32be(b, VH.nextCatalogID),
    writeCount: u32be(b, VH.writeCount),
    finderInfo,
    allocationFile: fork(VH.allocationFile, 'allocation file'),
    extentsFile: fork(VH.extentsFile, 'extents file'),
    catalogFile: fork(VH.catalogFile, 'catalog file'),
    attributesFile: fork(VH.attributesFile, 'attributes file'),
    startupFile: fork(VH.startupFile, 'startup file'),
  };
}

/**
 * Classic HFS Master Directory Block fields needed to find an embedded HFS+ volume (Inside Macintosh: Files;
 * TN1150 "HFS Wrapper"): drAlBlkSiz u32 @20, drAlBlSt u16 @28, drEmbedSigWord u16 @124, drEmbedExtent
 * {startBlock u16, blockCount u16} @126.
 */
const MDB = { drNmAlBlks: 18, drAlBlkSiz: 20, drAlBlSt: 28, drVN: 36, drEmbedSigWord: 124, drEmbedExtent: 126 } as const;

export interface ClassicMdb {
  allocBlockSize: number;
  allocBlockStart: number;
  volumeName: string;
  embedSignature: number;
  embedStartBlock: number;
  embedBlockCount: number;
}

export function parseClassicMdb(b: Uint8Array): ClassicMdb {
  const nameLen = Math.min(27, b[MDB.drVN]);
  let name = '';
  for (let i = 0; i < nameLen; i++) name += String.fromCharCode(b[MDB.drVN + 1 + i]);
  return {
    allocBlockSize: u32be(b, MDB.drAlBlkSiz),
    allocBlockStart: u16be(b, MDB.drAlBlSt),
    volumeName: name,
    embedSignature: u16be(b, MDB.drEmbedSigWord),
    embedStartBlock: u16be(b, MDB.drEmbedExtent),
    embedBlockCount: u16be(b, MDB.drEmbedExtent + 2),
  };
}
