import { DmgkitError } from '../errors.js';
import { u16be, u32be } from '../util/bytes.js';
import type { BTree, KeyCompare, RecordRef } from './btree.js';
import { decodeUtf16be } from './unicode.js';
import { parseExtents, parseForkData, type Extent, type ForkData } from './volume-header.js';

/**
 * Attributes file keys and records (TN1150 "Attributes File"; hfs_format.h HFSPlusAttrKey, HFSPlusAttrRecord).
 * Key after keyLength: pad u16, fileID u32, startBlock u32, nameLen u16, name UTF-16BE (≤ 127 units).
 * Ordered by fileID, then name (binary, shorter prefix first), then startBlock.
 */
const KEY = { fileID: 2, startBlock: 6, nameLength: 10, name: 12 } as const;
export const MAX_ATTR_NAME_UNITS = 127;

export const ATTR_INLINE = 0x10;
export const ATTR_FORK = 0x20;
export const ATTR_EXTENTS = 0x30;
/** Inline record: type u32, reserved[2] u32, attrSize u32, data. */
const INLINE = { size: 12, data: 16 } as const;
/** Fork record: type u32, reserved u32, HFSPlusForkData. */
const FORK = { fork: 8 } as const;
/** Extents record: type u32, reserved u32, 8 extents. */
const EXTENTS = { extents: 8 } as const;

export interface AttrKey {
  fileID: number;
  name: Uint16Array;
  startBlock: number;
}

export const attrCompare: KeyCompare<AttrKey> = (buf, off, len, key) => {
  if (len < KEY.name) return -1;
  const fileID = u32be(buf, off + KEY.fileID);
  if (fileID !== key.fileID) return fileID < key.fileID ? -1 : 1;
  const units = Math.min(u16be(buf, off + KEY.nameLength), (len - KEY.name) >> 1);
  const n = Math.min(units, key.name.length);
  for (let i = 0; i < n; i++) {
    const c = u16be(buf, off + KEY.name + 2 * i);
    if (c !== key.name[i]) return c < key.name[i] ? -1 : 1;
  }
  if (units !== key.name.length) return units < key.name.length ? -1 : 1;
  const sb = u32be(buf, off + KEY.startBlock);
  return sb === key.startBlock ? 0 : sb < key.startBlock ? -1 : 1;
};

export function encodeAttrName(name: string): Uint16Array {
  const u = new Uint16Array(name.length);
  for (let i = 0; i < name.length; i++) u[i] = name.charCodeAt(i);
  return u;
}

export type AttrValue =
  | { kind: 'inline'; data: Uint8Array }
  | { kind: 'fork'; fork: ForkData; moreExtents: Extent[] };

export interface AttrEntry {
  fileID: number;
  name: string;
  startBlock: number;
  type: number;
  ref: RecordRef;
}

function fail(r: RecordRef, msg: string): DmgkitError {
  return new DmgkitError('CORRUPT_FS', `attributes B-tree node ${r.node.num} record ${r.index}: ${msg}`, {
    tree: 'attributes',
    node: r.node.num,
  });
}

export function parseAttrKey(r: RecordRef): AttrEntry {
  const b = r.node.data;
  if (r.keyLen < KEY.name) throw fail(r, `key length ${r.keyLen} is shorter than ${KEY.name}`);
  const units = u16be(b, r.keyOff + KEY.nameLength);
  if (units > MAX_ATTR_NAME_UNITS || KEY.name + 2 * units > r.keyLen) throw fail(r, `name length ${units} overruns the key`);
  if (r.dataEnd - r.dataOff < 4) throw fail(r, 'record too short for its type');
  return {
    fileID: u32be(b, r.keyOff + KEY.fileID),
    startBlock: u32be(b, r.keyOff + KEY.startBlock),
    name: decodeUtf16be(b, r.keyOff + KEY.name, units),
    type: u32be(b, r.dataOff),
    ref: r,
  };
}

/** The attributes of one file, in key order: name → value. Extent records are attached to their fork record. */
export async function readFileAttrs(tree: BTree<AttrKey>, fileID: number, maxInline: number): Promise<Map<string, AttrValue>> {
  const out = new Map<string, AttrValue>();
  for await (const r of tree.from({ fileID, name: new Uint16Array(0), startBlock: 0 })) {
    const e = parseAttrKey(r);
    if (e.fileID !== fileID) break;
    const b = r.node.data;
    const len = r.dataEnd - r.dataOff;
    if (e.type === ATTR_INLINE) {
      if (len < INLINE.data) throw fail(r, 'inline attribute record too short');
      const size = u32be(b, r.dataOff + INLINE.size);
      if (size > len - INLINE.data) throw fail(r, `inline attribute size ${size} overruns the ${len}-byte record`);
      if (size > maxInline) {
        throw new DmgkitError('LIMIT_EXCEEDED', `attribute ${e.name} of file ${fileID}: ${size} bytes exceed the limit`, { fileID });
      }
      out.set(e.name, { kind: 'inline', data: b.slice(r.dataOff + INLINE.data, r.dataOff + INLINE.data + size) });
    } else if (e.type === ATTR_FORK) {
      if (len < FORK.fork + 80) throw fail(r, 'fork attribute record too short');
      out.set(e.name, { kind: 'fork', fork: parseForkData(b, r.dataOff + FORK.fork, `attribute ${e.name}`), moreExtents: [] });
    } else if (e.type === ATTR_EXTENTS) {
      if (len < EXTENTS.extents + 64) throw fail(r, 'extents attribute record too short');
      const prev = out.get(e.name);
      if (!prev || prev.kind !== 'fork') throw fail(r, `extents record for attribute ${e.name} without a fork record`);
      prev.moreExtents.push(...parseExtents(b, r.dataOff + EXTENTS.extents));
    } else {
      throw fail(r, `unknown attribute record type 0x${e.type.toString(16)}`);
    }
  }
  return out;
}
