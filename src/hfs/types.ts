/** Public types of the HFS+ reader. */

export type HfsEntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block' | 'socket';

export interface HfsStat {
  /** POSIX path relative to the volume root, without a leading slash ('' for the root). */
  path: string;
  /** POSIX name (catalog '/' shown as ':'), as stored (NFD). */
  name: string;
  type: HfsEntryType;
  /** Logical size of the data (decompressed size for decmpfs files; target length for symlinks; 0 for dirs). */
  size: number;
  /** Resource fork size (0 when absent, and for decmpfs files whose resource fork holds the compressed data). */
  rsrcSize: number;
  mode: number;
  uid: number;
  gid: number;
  /** BSD flags: adminFlags << 16 | ownerFlags. */
  flags: number;
  nlink: number;
  /** Catalog node ID (the inode's for file hard links). */
  cnid: number;
  createTime: Date;
  modifyTime: Date;
  changeTime: Date;
  accessTime: Date;
  backupTime: Date;
  fileType: string;
  creator: string;
  /** 32 bytes of Finder info (FndrFileInfo/FndrDirInfo + the opaque extended info). */
  finderInfo: Uint8Array;
  compressed?: { type: number; size: number };
  linkTarget?: string;
  /** Set for file hard links (the iNode number) and directory hard links (the dir_ number). */
  hardLink?: { kind: 'file' | 'dir'; id: number };
}

export interface HfsVolumeInfo {
  signature: 'H+' | 'HX';
  version: number;
  volumeName: string;
  caseSensitive: boolean;
  blockSize: number;
  totalBlocks: number;
  freeBlocks: number;
  fileCount: number;
  folderCount: number;
  /** Volume creation date: stored as LOCAL time, interpreted here in the reader's time zone. */
  createDate: Date;
  modifyDate: Date;
  backupDate: Date;
  checkedDate: Date;
  attributes: number;
  lastMountedVersion: string;
  journaled: boolean;
  /** Undefined when not journaled or the journal header could not be read. */
  journalEmpty?: boolean;
  /** Byte offset of the embedded HFS+ volume inside an HFS wrapper. */
  embeddedOffset?: number;
  /** True when the primary header was unusable and the alternate (size − 1024) was used. */
  usedAlternateHeader: boolean;
  hasAttributesTree: boolean;
  warnings: string[];
}
