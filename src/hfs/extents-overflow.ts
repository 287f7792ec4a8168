import { DmgkitError } from '../errors.js';
import { u32be } from '../util/bytes.js';
import type { BTree, KeyCompare } from './btree.js';
import { parseExtents, type Extent } from './volume-header.js';

/**
 * Extents-overflow file keys and records (TN1150 "Extents Overflow File"; HFSPlusExtentKey): after keyLength,
 * forkType u8, pad u8, fileID u32, startBlock u32; data: 8 × HFSPlusExtentDescriptor. Ordered by fileID, then
 * forkType, then startBlock (the file-relative block where the record's first extent begins).
 */
const KEY = { forkType: 0, fileID: 2, startBlock: 6, size: 10 } as const;
export const EXTENT_RECORD_SIZE = 64;

export interface ExtentKey {
  fileID: number;
  forkType: number;
  startBlock: number;
}

export const extentCompare: KeyCompare<ExtentKey> = (buf, off, len, key) => {
  if (len < KEY.size) return -1;
  const fileID = u32be(buf, off + KEY.fileID);
  if (fileID !== key.fileID) return fileID < key.fileID ? -1 : 1;
  const ft = buf[off + KEY.forkType];
  if (ft !== key.forkType) return ft < key.forkType ? -1 : 1;
  const sb = u32be(buf, off + KEY.startBlock);
  return sb === key.startBlock ? 0 : sb < key.startBlock ? -1 : 1;
};

/** Looks up the overflow record that starts exactly at `startBlock` of the fork. */
export async function lookupOverflow(tree: BTree<ExtentKey>, fileID: number, forkType: number, startBlock: number): Promise<Extent[] | null> {
  const r = await tree.find({ fileID, forkType, startBlock });
  if (!r) return null;
  if (r.dataEnd - r.dataOff < EXTENT_RECORD_SIZE) {
    throw new DmgkitError('CORRUPT_FS', `extents B-tree node ${r.node.num} record ${r.index}: ${r.dataEnd - r.dataOff} bytes, expected 64`, {
      tree: 'extents',
      node: r.node.num,
    });
  }
  return parseExtents(r.node.data, r.dataOff);
}
