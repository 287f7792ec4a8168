import { DmgkitError } from '../errors.js';
import { i16be, u16be, u32be } from '../util/bytes.js';
import type { KeyCompare, RecordRef } from './btree.js';
import { binaryCompareBE, decodeCatalogName, fastUnicodeCompareBE } from './unicode.js';
import { parseForkDataUsed, type ForkData } from './volume-header.js';

/**
 * Catalog file keys and records (TN1150 "Catalog File"; hfs_format.h HFSPlusCatalogKey, HFSPlusCatalogFolder,
 * HFSPlusCatalogFile, HFSPlusCatalogThread).
 */

/** HFSPlusCatalogKey after its keyLength: parentID u32, nodeName {length u16, unicode[length]}. */
const KEY = { parentID: 0, nameLength: 4, name: 6 } as const;
export const MAX_NAME_UNITS = 255;

export const REC_FOLDER = 1;
export const REC_FILE = 2;
export const REC_FOLDER_THREAD = 3;
export const REC_FILE_THREAD = 4;

/** Reserved CNIDs. */
export const CNID_ROOT_PARENT = 1;
export const CNID_ROOT = 2;
export const CNID_EXTENTS = 3;
export const CNID_CATALOG = 4;
export const CNID_ATTRIBUTES = 8;

/** Common offsets of folder and file records. */
const REC = {
  type: 0,
  flags: 2,
  valenceOrReserved1: 4,
  id: 8,
  createDate: 12,
  contentModDate: 16,
  attributeModDate: 20,
  accessDate: 24,
  backupDate: 28,
  ownerID: 32,
  groupID: 36,
  adminFlags: 40,
  ownerFlags: 41,
  fileMode: 42,
  special: 44,
  userInfo: 48,
  finderInfo: 64,
  textEncoding: 80,
  folderCount: 84,
  dataFork: 88,
  resourceFork: 168,
} as const;
export const FOLDER_RECORD_SIZE = 88;
export const FILE_RECORD_SIZE = 248;
/** Thread: type s16, reserved s16, parentID u32, nodeName. */
const THREAD = { parentID: 4, nameLength: 8, name: 10 } as const;

/** Catalog record flags. */
export const CAT_HAS_THREAD = 0x2;
export const CAT_HAS_ATTRIBUTES = 0x4;
export const CAT_HAS_LINK_CHAIN = 0x20;

export interface CatalogKey {
  parentID: number;
  name: Uint16Array;
}

export function catalogCompare(caseFold: boolean): KeyCompare<CatalogKey> {
  const nameCmp = caseFold ? fastUnicodeCompareBE : binaryCompareBE;
  return (buf, off, len, key) => {
    if (len < 6) return -1;
    const pid = u32be(buf, off + KEY.parentID);
    if (pid !== key.parentID) return pid < key.parentID ? -1 : 1;
    const units = Math.min(u16be(buf, off + KEY.nameLength), (len - 6) >> 1);
    return nameCmp(buf, off + KEY.name, units, key.name);
  };
}

export interface BsdInfo {
  ownerID: number;
  groupID: number;
  adminFlags: number;
  ownerFlags: number;
  fileMode: number;
  special: number;
}

interface CommonRecord {
  /** Key of this record: parent folder and POSIX name. */
  parentID: number;
  name: string;
  flags: number;
  cnid: number;
  createDate: number;
  contentModDate: number;
  attributeModDate: number;
  accessDate: number;
  backupDate: number;
  bsd: BsdInfo;
}
export interface FolderRecord extends CommonRecord {
  kind: 'folder';
  valence: number;
  /** FndrDirInfo (16) + FndrOpaqueInfo (16). */
  finderInfo: Uint8Array;
}
export interface FileRecord extends CommonRecord {
  kind: 'file';
  fileType: string;
  creator: string;
  finderFlags: number;
  /** hl_firstLinkID on inodes. */
  reserved1: number;
  finderInfo: Uint8Array;
  dataFork: ForkData;
  rsrcFork: ForkData;
}
export type CatalogEntry = FolderRecord | FileRecord;
export interface ThreadRecord {
  kind: 'thread';
  threadOf: 'folder' | 'file';
  parentID: number;
  name: string;
}

function fourcc(b: Uint8Array, o: number): string {
  return String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
}

function fail(r: RecordRef, msg: string): DmgkitError {
  return new DmgkitError('CORRUPT_FS', `catalog B-tree node ${r.node.num} record ${r.index}: ${msg}`, {
    tree: 'catalog',
    node: r.node.num,
  });
}

/** The key of a leaf record: parentID and POSIX name. */
export function parseCatalogKey(r: RecordRef): { parentID: number; name: string } {
  return { parentID: keyParentID(r), name: keyName(r) };
}

/** The parentID of a leaf record's key, without decoding its name. */
export function keyParentID(r: RecordRef): number {
  if (r.keyLen < 6) throw fail(r, `key length ${r.keyLen} is shorter than 6`);
  return u32be(r.node.data, r.keyOff + KEY.parentID);
}

/** The POSIX name of a leaf record's key. */
export function keyName(r: RecordRef): string {
  const b = r.node.data;
  if (r.keyLen < 6) throw fail(r, `key length ${r.keyLen} is shorter than 6`);
  const units = u16be(b, r.keyOff + KEY.nameLength);
  if (units > MAX_NAME_UNITS || 6 + 2 * units > r.keyLen) throw fail(r, `name length ${units} does not fit the ${r.keyLen}-byte key`);
  return decodeCatalogName(b, r.keyOff + KEY.name, units);
}

/** True for folder- and file-thread records (checked before parsing, so a listing skips them cheaply). */
export function isThreadRecord(r: RecordRef): boolean {
  const t = recordType(r);
  return t === REC_FOLDER_THREAD || t === REC_FILE_THREAD;
}

export function recordType(r: RecordRef): number {
  if (r.dataEnd - r.dataOff < 2) throw fail(r, 'record too short for its type');
  return i16be(r.node.data, r.dataOff);
}

/** Parses a leaf record into a folder, file or thread record. */
export function parseCatalogRecord(r: RecordRef): CatalogEntry | ThreadRecord {
  const b = r.node.data;
  const o = r.dataOff;
  const len = r.dataEnd - r.dataOff;
  const type = recordType(r);
  if (type === REC_FOLDER_THREAD || type === REC_FILE_THREAD) {
    if (len < 10) throw fail(r, 'thread record too short');
    const units = u16be(b, o + THREAD.nameLength);
    if (units > MAX_NAME_UNITS || 10 + 2 * units > len) throw fail(r, `thread name length ${units} overruns the record`);
    return {
      kind: 'thread',
      threadOf: type === REC_FOLDER_THREAD ? 'folder' : 'file',
      parentID: u32be(b, o + THREAD.parentID),
      name: decodeCatalogName(b, o + THREAD.name, units),
    };
  }
  if (type !== REC_FOLDER && type !== REC_FILE) {
    if (type >= 0x100 && type <= 0x400) {
      throw new DmgkitError('UNSUPPORTED', `catalog record type 0x${type.toString(16)} is a classic HFS record`, { node: r.node.num });
    }
    throw fail(r, `unknown record type ${type}`);
  }
  const need = type === REC_FOLDER ? FOLDER_RECORD_SIZE : FILE_RECORD_SIZE;
  if (len < need) throw fail(r, `${type === REC_FOLDER ? 'folder' : 'file'} record is ${len} bytes, expected ${need}`);
  const parentID = keyParentID(r);
  const name = keyName(r);
  const bsd: BsdInfo = {
    ownerID: u32be(b, o + REC.ownerID),
    groupID: u32be(b, o + REC.groupID),
    adminFlags: b[o + REC.adminFlags],
    ownerFlags: b[o + REC.ownerFlags],
    fileMode: u16be(b, o + REC.fileMode),
    special: u32be(b, o + REC.special),
  };
  // Object literals built in one go (no spread): one hidden class per record kind, cheap to create in a walk.
  if (type === REC_FOLDER) {
    return {
      kind: 'folder',
      parentID,
      name,
      flags: u16be(b, o + REC.flags),
      cnid: u32be(b, o + REC.id),
      createDate: u32be(b, o + REC.createDate),
      contentModDate: u32be(b, o + REC.contentModDate),
      attributeModDate: u32be(b, o + REC.attributeModDate),
      accessDate: u32be(b, o + REC.accessDate),
      backupDate: u32be(b, o + REC.backupDate),
      bsd,
      valence: u32be(b, o + REC.valenceOrReserved1),
      finderInfo: b.slice(o + REC.userInfo, o + REC.userInfo + 32),
    };
  }
  return {
    kind: 'file',
    parentID,
    name,
    flags: u16be(b, o + REC.flags),
    cnid: u32be(b, o + REC.id),
    createDate: u32be(b, o + REC.createDate),
    contentModDate: u32be(b, o + REC.contentModDate),
    attributeModDate: u32be(b, o + REC.attributeModDate),
    accessDate: u32be(b, o + REC.accessDate),
    backupDate: u32be(b, o + REC.backupDate),
    bsd,
    reserved1: u32be(b, o + REC.valenceOrReserved1),
    fileType: fourcc(b, o + REC.userInfo),
    creator: fourcc(b, o + REC.userInfo + 4),
    finderFlags: u16be(b, o + REC.userInfo + 8),
    finderInfo: b.slice(o + REC.userInfo, o + REC.userInfo + 32),
    dataFork: parseForkDataUsed(b, o + REC.dataFork, 'data fork'),
    rsrcFork: parseForkDataUsed(b, o + REC.resourceFork, 'resource fork'),
  };
}
