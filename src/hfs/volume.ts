import { DmgkitError, at } from '../errors.js';
import { SliceSource, type ByteSource } from '../io/source.js';
import { resolveLimits, type Limits } from '../limits.js';
import { u16be } from '../util/bytes.js';
import { attrCompare, encodeAttrName, readFileAttrs, type AttrKey, type AttrValue } from './attributes.js';
import { BTree, type BTreeHeader, type RecordRef } from './btree.js';
import {
  CNID_ATTRIBUTES,
  CNID_CATALOG,
  CNID_EXTENTS,
  CNID_ROOT,
  catalogCompare,
  isThreadRecord,
  keyName,
  keyParentID,
  parseCatalogRecord,
  type CatalogEntry,
  type CatalogKey,
  type FileRecord,
  type FolderRecord,
} from './catalog.js';
import { DECMPFS_XATTR, UF_COMPRESSED, decmpfsChunks, parseDecmpfs, type DecmpfsHeader } from './decmpfs.js';
import { extentCompare, lookupOverflow, type ExtentKey } from './extents-overflow.js';
import { FORK_TYPE_DATA, FORK_TYPE_RSRC, Fork, type OverflowLookup, type VolumeGeometry } from './fork.js';
import { CNID_ALLOCATION, freeRuns, type FreeRunOptions } from './allocation.js';
import { readJournalState } from './journal.js';
import { SequentialReadAhead } from './readahead.js';
import type { HfsEntryType, HfsStat, HfsVolumeInfo } from './types.js';
import { encodeCatalogName, hfsDecompose, looseNameKey } from './unicode.js';
import {
  SIG_HFS,
  SIG_HFSPLUS,
  SIG_HFSX,
  VOLUME_HEADER_OFFSET,
  VOLUME_HEADER_SIZE,
  VOL_JOURNALED,
  parseClassicMdb,
  parseVolumeHeader,
  type Extent,
  type VolumeHeader,
} from './volume-header.js';

export type { HfsStat, HfsVolumeInfo, HfsEntryType } from './types.js';

/** Seconds between 1904-01-01 and 1970-01-01. */
const HFS_EPOCH_OFFSET = 2082844800;
export function hfsDate(s: number): Date {
  return new Date((s - HFS_EPOCH_OFFSET) * 1000);
}
/** The volume header's createDate is local time (TN1150). */
function hfsLocalDate(s: number): Date {
  return new Date(1904, 0, 1, 0, 0, s);
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFSOCK = 0o140000;

/** Private folders and journal files hidden from listings, as macOS does. */
export const PRIVATE_DATA_NAME = '\0\0\0\0HFS+ Private Data';
export const PRIVATE_DIR_DATA_NAME = '.HFS+ Private Directory Data\r';
const JOURNAL_FILE_NAMES = new Set(['.journal', '.journal_info_block']);
const MAX_SYMLINK_BYTES = 4096;
/** The smallest catalog leaf record with its offset: a 6-byte key + length, a 2-byte record type, a 2-byte offset. */
const MIN_LEAF_RECORD_BYTES = 12;
/** Warnings a walk may add to info.warnings (one per folder not followed). */
const MAX_LATE_WARNINGS = 1000;
/** Chunk size of streamed uncompressed forks. */
const STREAM_CHUNK = 1 << 20;

const NODE = Symbol('hfsNode');

/** An entry from readdir/walk; can be passed back to readFile/iterateFile/listXattrs/getXattr. */
export interface HfsEntry extends HfsStat {
  readonly [NODE]?: ResolvedNode;
}

interface ResolvedNode {
  /** The record found in the directory (the link record for hard links). */
  rec: CatalogEntry;
  /** The record holding content and metadata (the iNode / dir_N for hard links). */
  target: CatalogEntry;
  path: string;
  /** The entry's own POSIX name (it may contain '/' when the catalog name has ':'). */
  name: string;
  type: HfsEntryType;
  hardLink?: { kind: 'file' | 'dir'; id: number };
}

/**
 * Folders already listed by one walk (or extraction): see HfsVolume.descent. A folder is listed below the entry
 * that names it when that entry is its own catalog record (the one its thread record names) or a directory hard
 * link; another folder record carrying the same folder ID (a damaged catalog) is not followed. Listing a folder a
 * second time (directory hard links, or the folders inside them) is bounded by the catalog's leaf record count.
 */
export interface WalkState {
  /** Folder CNIDs listed so far. */
  listed: Set<number>;
  /** Listings of an already listed folder. */
  relisted: number;
}
export function newWalkState(): WalkState {
  return { listed: new Set(), relisted: 0 };
}

export interface ReaddirOptions {
  /**
   * Called for an entry that cannot be described (a hard link to a missing inode, an unreadable symlink target or
   * decmpfs header), which is then left out of the listing; without it such an entry fails the whole readdir.
   * A failure to read the directory's records themselves still fails it.
   */
  onEntryError?: (path: string, error: DmgkitError) => void;
}

export interface OpenHfsOptions {
  limits?: Partial<Limits>;
}
export interface ReadOptions {
  fork?: 'data' | 'rsrc';
  /**
   * readFile only: the result may share memory with the volume's read buffers (no copy for a plain fork read in
   * one piece). The caller must not modify it. For callers that only write the bytes somewhere (extraction).
   */
  shared?: boolean;
}

export class HfsVolume {
  readonly info: HfsVolumeInfo;
  private privateDataID = 0;
  private privateDirID = 0;
  private rootRec!: FolderRecord;
  private readonly attrCache = new Map<number, Map<string, AttrValue>>();
  /** Warnings added to info.warnings after opening (each once). */
  private readonly warned = new Set<string>();
  /** Geometry for file content: reads go through a sequential read-ahead (many small files in a row). */
  private readonly contentGeo: VolumeGeometry;
  private readonly readAhead: SequentialReadAhead;

  private constructor(
    readonly source: ByteSource,
    private readonly vh: VolumeHeader,
    private readonly geo: VolumeGeometry,
    private readonly catalog: BTree<CatalogKey>,
    private readonly extents: BTree<ExtentKey> | null,
    private readonly attributes: BTree<AttrKey> | null,
    readonly limits: Limits,
    info: HfsVolumeInfo,
  ) {
    this.info = info;
    this.readAhead = new SequentialReadAhead(geo.source);
    this.contentGeo = { ...geo, source: this.readAhead };
  }

  /** @internal */
  static async create(source: ByteSource, opts: OpenHfsOptions = {}, embeddedOffset?: number, depth = 0): Promise<HfsVolume> {
    const limits = resolveLimits(opts.limits);
    const warnings: string[] = [];
    if (source.size < VOLUME_HEADER_OFFSET + VOLUME_HEADER_SIZE) {
      throw new DmgkitError('NOT_AN_IMAGE', `${source.size} bytes is too small for an HFS+ volume`, { size: source.size });
    }
    const primary = await source.read(VOLUME_HEADER_OFFSET, VOLUME_HEADER_SIZE);
    const sig = u16be(primary, 0);
    if (sig === SIG_HFS) {
      const mdb = parseClassicMdb(primary);
      if (mdb.embedSignature === SIG_HFSPLUS && depth === 0) {
        const off = mdb.allocBlockStart * 512 + mdb.embedStartBlock * mdb.allocBlockSize;
        const size = mdb.embedBlockCount * mdb.allocBlockSize;
        if (mdb.allocBlockSize === 0 || off + size > source.size || size < 2048) {
          throw new DmgkitError('CORRUPT_FS', `HFS wrapper: embedded HFS+ volume [${off}, +${size}) lies outside the ${source.size}-byte source`, {
            offset: VOLUME_HEADER_OFFSET,
          });
        }
        return HfsVolume.create(new SliceSource(source, off, size, source.name), opts, off, depth + 1);
      }
      throw new DmgkitError(
        'UNSUPPORTED',
        `classic HFS (Mac OS Standard, 'BD') volume${mdb.volumeName ? ` "${mdb.volumeName}"` : ''} ${at(VOLUME_HEADER_OFFSET)}: only HFS+ and HFSX are supported`,
        { offset: VOLUME_HEADER_OFFSET, filesystem: 'hfs' },
      );
    }
    let vh: VolumeHeader;
    let usedAlternate = false;
    try {
      vh = parseVolumeHeader(primary, VOLUME_HEADER_OFFSET);
    } catch (e) {
      const altOff = source.size - 1024;
      const alt = altOff >= 2048 ? await source.read(altOff, VOLUME_HEADER_SIZE) : null;
      const altSig = alt ? u16be(alt, 0) : 0;
      if (!alt || (altSig !== SIG_HFSPLUS && altSig !== SIG_HFSX)) {
        if (sig === SIG_HFSPLUS || sig === SIG_HFSX) throw e;
        throw new DmgkitError('NOT_AN_IMAGE', `no HFS+ volume header ${at(VOLUME_HEADER_OFFSET)} (signature 0x${sig.toString(16)}) nor at the end`, {
          offset: VOLUME_HEADER_OFFSET,
        });
      }
      vh = parseVolumeHeader(alt, altOff);
      usedAlternate = true;
      warnings.push(`primary volume header unusable (${(e as Error).message}); using the alternate header ${at(altOff)}`);
    }
    const volBytes = vh.totalBlocks * vh.blockSize;
    if (volBytes > source.size) {
      warnings.push(`volume declares ${vh.totalBlocks} blocks of ${vh.blockSize} (${volBytes} bytes) but the source holds ${source.size}`);
    }
    const geo: VolumeGeometry = { source, blockSize: vh.blockSize, totalBlocks: vh.totalBlocks, limits };
    let extents: BTree<ExtentKey> | null = null;
    if (vh.extentsFile.logicalSize > 0) {
      const f = new Fork(geo, CNID_EXTENTS, FORK_TYPE_DATA, vh.extentsFile, 'extents overflow file', null);
      extents = await BTree.open<ExtentKey>('extents', f, extentCompare, limits);
    }
    const overflow = extents
      ? (fileID: number, forkType: number, startBlock: number) => lookupOverflow(extents!, fileID, forkType, startBlock)
      : null;
    const catFork = new Fork(geo, CNID_CATALOG, FORK_TYPE_DATA, vh.catalogFile, 'catalog file', overflow);
    const caseFoldFor = (h: BTreeHeader) => (vh.signature === 'H+' ? true : h.keyCompareType === 0xcf);
    let caseFold = true;
    const catalog = await BTree.open<CatalogKey>(
      'catalog',
      catFork,
      (h: BTreeHeader) => {
        caseFold = caseFoldFor(h);
        return catalogCompare(caseFold);
      },
      limits,
      true,
    );
    let attributes: BTree<AttrKey> | null = null;
    if (vh.attributesFile.logicalSize > 0) {
      const f = new Fork(geo, CNID_ATTRIBUTES, FORK_TYPE_DATA, vh.attributesFile, 'attributes file', overflow);
      attributes = await BTree.open<AttrKey>('attributes', f, attrCompare, limits);
    }
    const journaled = (vh.attributes & VOL_JOURNALED) !== 0;
    let journalEmpty: boolean | undefined;
    if (journaled) {
      const st = await readJournalState(source, vh.journalInfoBlock, vh.blockSize);
      if (st.problem) warnings.push(`journal: ${st.problem}`);
      journalEmpty = st.empty;
      if (st.empty === false) {
        warnings.push('the journal is not empty (start != end): metadata on disk may be stale until the journal is replayed');
      }
    }
    const info: HfsVolumeInfo = {
      signature: vh.signature,
      version: vh.version,
      volumeName: '',
      caseSensitive: !caseFold,
      blockSize: vh.blockSize,
      totalBlocks: vh.totalBlocks,
      freeBlocks: vh.freeBlocks,
      fileCount: vh.fileCount,
      folderCount: vh.folderCount,
      createDate: hfsLocalDate(vh.createDate),
      modifyDate: hfsDate(vh.modifyDate),
      backupDate: hfsDate(vh.backupDate),
      checkedDate: hfsDate(vh.checkedDate),
      attributes: vh.attributes,
      lastMountedVersion: vh.lastMountedVersion,
      journaled,
      journalEmpty,
      embeddedOffset,
      usedAlternateHeader: usedAlternate,
      hasAttributesTree: attributes !== null,
      warnings,
    };
    const vol = new HfsVolume(source, vh, geo, catalog, extents, attributes, limits, info);
    await vol.init();
    return vol;
  }

  private warnOnce(msg: string): void {
    if (this.warned.has(msg) || this.warned.size >= MAX_LATE_WARNINGS) return;
    this.warned.add(msg);
    this.info.warnings.push(msg);
  }

  private caseFold(): boolean {
    return !this.info.caseSensitive;
  }

  private async init(): Promise<void> {
    const thread = await this.catalog.find({ parentID: CNID_ROOT, name: new Uint16Array(0) });
    if (!thread) throw new DmgkitError('CORRUPT_FS', 'catalog: the root folder (CNID 2) has no thread record', { tree: 'catalog' });
    const t = parseCatalogRecord(thread);
    if (t.kind !== 'thread' || t.threadOf !== 'folder') {
      throw new DmgkitError('CORRUPT_FS', `catalog: the record keyed (2, "") is not a folder thread`, { tree: 'catalog', node: thread.node.num });
    }
    const root = await this.lookupExact(t.parentID, encodeCatalogName(t.name));
    if (!root || root.kind !== 'folder' || root.cnid !== CNID_ROOT) {
      throw new DmgkitError('CORRUPT_FS', `catalog: the root folder record (${t.parentID}, "${t.name}") is missing or not CNID 2`, {
        tree: 'catalog',
      });
    }
    this.rootRec = root;
    this.info.volumeName = t.name;
    const pd = await this.lookupExact(CNID_ROOT, encodeCatalogName(PRIVATE_DATA_NAME));
    if (pd && pd.kind === 'folder') this.privateDataID = pd.cnid;
    const pdd = await this.lookupExact(CNID_ROOT, encodeCatalogName(PRIVATE_DIR_DATA_NAME));
    if (pdd && pdd.kind === 'folder') this.privateDirID = pdd.cnid;
  }

  // ---------------------------------------------------------------- catalog access

  private async lookupExact(parentID: number, name: Uint16Array): Promise<CatalogEntry | null> {
    const r = await this.catalog.find({ parentID, name });
    if (!r) return null;
    const rec = parseCatalogRecord(r);
    return rec.kind === 'thread' ? null : rec;
  }

  /** The private folders and the journal files (fdType 'jrnl', creator 'hfs+'), hidden as macOS does. */
  private hiddenInRoot(c: CatalogEntry): boolean {
    if (c.kind === 'folder') return (c.cnid === this.privateDataID || c.cnid === this.privateDirID) && c.cnid !== 0;
    return JOURNAL_FILE_NAMES.has(c.name) && c.fileType === 'jrnl' && c.creator === 'hfs+';
  }

  /** Children of a folder, in catalog order (thread records skipped). */
  async *children(parentID: number): AsyncGenerator<CatalogEntry> {
    // A folder's records are contiguous (keys sort by parentID, then name): one pass along the leaf chain.
    for await (const r of this.catalog.from({ parentID, name: new Uint16Array(0) })) {
      if (keyParentID(r) !== parentID) break;
      if (isThreadRecord(r)) continue;
      yield parseCatalogRecord(r) as CatalogEntry;
    }
  }

  /**
   * Children of a folder, in catalog order (thread records skipped), read in one scan of the leaf chain. A record
   * that does not parse (a fork size past 2^53, a bad type) fails the listing, or, with `bad`, is handed to it
   * (with its name when the key is readable) and left out.
   */
  private async childList(parentID: number, bad?: (name: string, e: DmgkitError) => void): Promise<CatalogEntry[]> {
    const out: CatalogEntry[] = [];
    await this.catalog.scan({ parentID, name: new Uint16Array(0) }, (r) => {
      if (keyParentID(r) !== parentID) return false;
      if (isThreadRecord(r)) return true;
      if (!bad) out.push(parseCatalogRecord(r) as CatalogEntry);
      else {
        const c = parseChild(r, bad);
        if (c) out.push(c);
      }
      return true;
    });
    return out;
  }

  /** Finds a child by POSIX name: the B-tree key (HFS+ decomposition, case folding per volume), then a loose scan. */
  private async lookupChild(parentID: number, name: string): Promise<CatalogEntry | null> {
    const units = encodeCatalogName(hfsDecompose(name));
    if (units.length <= 255) {
      const hit = await this.lookupExact(parentID, units);
      if (hit) return hit;
    }
    const want = looseNameKey(name, this.caseFold());
    for await (const c of this.children(parentID)) {
      if (looseNameKey(c.name, this.caseFold()) === want) return c;
    }
    return null;
  }

  /** Looks up a record by CNID through its thread record. */
  async recordByCnid(cnid: number): Promise<CatalogEntry | null> {
    const r = await this.catalog.find({ parentID: cnid, name: new Uint16Array(0) });
    if (!r) return null;
    const t = parseCatalogRecord(r);
    if (t.kind !== 'thread') return null;
    return this.lookupExact(t.parentID, encodeCatalogName(t.name));
  }

  // ---------------------------------------------------------------- node resolution

  private async resolveRecord(rec: CatalogEntry, path: string): Promise<ResolvedNode> {
    const name = rec.name;
    if (rec.kind === 'folder') return { rec, target: rec, path, name, type: 'dir' };
    if (rec.fileType === 'hlnk' && rec.creator === 'hfs+') {
      const id = rec.bsd.special;
      const inode = this.privateDataID ? await this.lookupExact(this.privateDataID, encodeCatalogName(`iNode${id}`)) : null;
      if (!inode || inode.kind !== 'file') {
        throw new DmgkitError('CORRUPT_FS', `hard link /${path} points to iNode${id}, which is missing from the private data folder`, {
          cnid: rec.cnid,
        });
      }
      return { rec, target: inode, path, name, type: typeOfFile(inode), hardLink: { kind: 'file', id } };
    }
    if (rec.fileType === 'fdrp' && rec.creator === 'MACS') {
      const id = rec.bsd.special;
      const dir = this.privateDirID ? await this.lookupExact(this.privateDirID, encodeCatalogName(`dir_${id}`)) : null;
      if (!dir || dir.kind !== 'folder') {
        throw new DmgkitError('CORRUPT_FS', `directory hard link /${path} points to dir_${id}, which is missing`, { cnid: rec.cnid });
      }
      return { rec, target: dir, path, name, type: 'dir', hardLink: { kind: 'dir', id } };
    }
    return { rec, target: rec, path, name, type: typeOfFile(rec) };
  }

  private rootNode(): ResolvedNode {
    return { rec: this.rootRec, target: this.rootRec, path: '', name: '', type: 'dir' };
  }

  /** Resolves a POSIX path; symlinks in the middle are followed (inside the volume), the last one if `follow`. */
  private async resolve(path: string, follow: boolean): Promise<ResolvedNode> {
    if (typeof path !== 'string') throw new DmgkitError('INVALID_ARGUMENT', 'path must be a string');
    let hops = 0;
    let pending = splitPath(path);
    let stack: ResolvedNode[] = [this.rootNode()];
    while (pending.length) {
      const comp = pending.shift()!;
      if (comp === '..') {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const cur = stack[stack.length - 1];
      if (cur.type !== 'dir') throw new DmgkitError('NOT_A_DIRECTORY', `/${cur.path} is not a directory`, { path: cur.path });
      const child = await this.lookupChild(cur.target.cnid, comp);
      const childPath = cur.path ? `${cur.path}/${comp}` : comp;
      if (!child) throw new DmgkitError('NOT_FOUND', `no such file or directory: /${childPath}`, { path: childPath });
      const node = await this.resolveRecord(child, cur.path ? `${cur.path}/${child.name}` : child.name);
      if (node.type === 'symlink' && (pending.length > 0 || follow)) {
        if (++hops > this.limits.maxSymlinkHops) {
          throw new DmgkitError('LIMIT_EXCEEDED', `more than ${this.limits.maxSymlinkHops} symlinks followed resolving /${path}`, { path });
        }
        const target = await this.readLinkNode(node);
        if (target.startsWith('/')) {
          throw new DmgkitError('NOT_FOUND', `symlink /${node.path} points to the absolute path ${target}, outside the volume`, { path: node.path });
        }
        const parts = splitPath(target);
        let depth = stack.length - 1;
        for (const p of parts) {
          depth += p === '..' ? -1 : 1;
          if (depth < 0) {
            throw new DmgkitError('NOT_FOUND', `symlink /${node.path} -> ${target} leads outside the volume`, { path: node.path });
          }
        }
        pending = [...parts, ...pending];
        continue;
      }
      stack.push(node);
    }
    return stack[stack.length - 1];
  }

  private nodeOf(p: string | HfsEntry, follow: boolean): Promise<ResolvedNode> {
    if (typeof p === 'object' && p !== null && p[NODE]) {
      const n = p[NODE]!;
      if (follow && n.type === 'symlink') return this.resolve(n.path, true);
      return Promise.resolve(n);
    }
    return this.resolve(p as string, follow);
  }

  // ---------------------------------------------------------------- attributes and content

  private async attrsOf(cnid: number): Promise<Map<string, AttrValue>> {
    if (!this.attributes) return new Map();
    const hit = this.attrCache.get(cnid);
    if (hit) return hit;
    const m = await readFileAttrs(this.attributes, cnid, this.limits.maxAttributeBytes);
    if (this.attrCache.size >= 1024) this.attrCache.delete(this.attrCache.keys().next().value as number);
    this.attrCache.set(cnid, m);
    return m;
  }

  private async attrValue(cnid: number, v: AttrValue, name: string): Promise<Uint8Array> {
    if (v.kind === 'inline') return v.data;
    const f = new Fork(this.geo, cnid, FORK_TYPE_DATA, v.fork, `attribute ${name} of CNID ${cnid}`, null, v.moreExtents);
    return (await f.readAll(this.limits.maxAttributeBytes)).slice();
  }

  private async decmpfsOf(rec: CatalogEntry): Promise<DecmpfsHeader | null> {
    if (rec.kind !== 'file' || (rec.bsd.ownerFlags & UF_COMPRESSED) === 0) return null;
    const attrs = await this.attrsOf(rec.cnid);
    const v = attrs.get(DECMPFS_XATTR);
    if (!v) return null;
    return parseDecmpfs(await this.attrValue(rec.cnid, v, DECMPFS_XATTR), `file CNID ${rec.cnid}`);
  }

  private fork(rec: FileRecord, which: 'data' | 'rsrc'): Fork {
    return new Fork(
      this.contentGeo,
      rec.cnid,
      which === 'data' ? FORK_TYPE_DATA : FORK_TYPE_RSRC,
      which === 'data' ? rec.dataFork : rec.rsrcFork,
      `${which} fork of CNID ${rec.cnid}`,
      this.extents ? (id, ft, sb) => lookupOverflow(this.extents!, id, ft, sb) : null,
    );
  }

  private async *contentChunks(node: ResolvedNode, which: 'data' | 'rsrc'): AsyncGenerator<Uint8Array> {
    if (node.type === 'dir') throw new DmgkitError('IS_A_DIRECTORY', `/${node.path} is a directory`, { path: node.path });
    const rec = node.target as FileRecord;
    const dc = await this.decmpfsOf(rec);
    if (which === 'rsrc') {
      if (dc && isRsrcType(dc.type)) return;
      yield* this.fork(rec, 'rsrc').chunks(STREAM_CHUNK);
      return;
    }
    if (dc) {
      let total = 0;
      for await (const c of decmpfsChunks(dc, rec.rsrcFork.logicalSize > 0 ? this.fork(rec, 'rsrc') : null, this.limits, `/${node.path}`)) {
        total += c.length;
        yield c;
      }
      if (total !== dc.size) {
        throw new DmgkitError('CORRUPT_FS', `/${node.path}: decompressed ${total} bytes, ${dc.size} declared`, { path: node.path });
      }
      return;
    }
    yield* this.fork(rec, 'data').chunks(STREAM_CHUNK);
  }

  private async readLinkNode(node: ResolvedNode): Promise<string> {
    const parts: Uint8Array[] = [];
    let n = 0;
    for await (const c of this.contentChunks(node, 'data')) {
      n += c.length;
      if (n > MAX_SYMLINK_BYTES) {
        throw new DmgkitError('CORRUPT_FS', `symlink /${node.path}: target longer than ${MAX_SYMLINK_BYTES} bytes`, { path: node.path });
      }
      parts.push(c);
    }
    const all = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    return new TextDecoder('utf-8').decode(all);
  }

  /** True when stat needs I/O: a compressed file (decmpfs header) or a symlink (its target). */
  private statNeedsIo(node: ResolvedNode): boolean {
    const t = node.target;
    return node.type === 'symlink' || (t.kind === 'file' && (t.bsd.ownerFlags & UF_COMPRESSED) !== 0 && this.attributes !== null);
  }

  private async statNode(node: ResolvedNode): Promise<HfsEntry> {
    if (!this.statNeedsIo(node)) return this.entryOf(node, null, undefined);
    const t = node.target;
    const dc = t.kind === 'file' ? await this.decmpfsOf(t) : null;
    const linkTarget = node.type === 'symlink' ? await this.readLinkNode(node) : undefined;
    return this.entryOf(node, dc, linkTarget);
  }

  private entryOf(node: ResolvedNode, dc: DecmpfsHeader | null, linkTarget: string | undefined): HfsEntry {
    const t = node.target;
    let size = 0;
    let rsrcSize = 0;
    let fileType = '';
    let creator = '';
    if (t.kind === 'file') {
      fileType = t.fileType;
      creator = t.creator;
      if (dc) {
        size = dc.size;
        rsrcSize = isRsrcType(dc.type) ? 0 : t.rsrcFork.logicalSize;
      } else {
        size = t.dataFork.logicalSize;
        rsrcSize = t.rsrcFork.logicalSize;
      }
    }
    let mode = t.bsd.fileMode;
    if ((mode & S_IFMT) === 0) {
      mode = node.type === 'dir' ? S_IFDIR | 0o755 : node.type === 'symlink' ? S_IFLNK | 0o755 : S_IFREG | 0o644;
    }
    let nlink = 1;
    if (t.kind === 'folder') nlink = 2 + (t.valence >>> 0);
    else if (node.hardLink?.kind === 'file') nlink = Math.max(1, t.bsd.special);
    const entry: HfsEntry = {
      path: node.path,
      name: node.name,
      type: node.type,
      size,
      rsrcSize,
      mode,
      uid: t.bsd.ownerID,
      gid: t.bsd.groupID,
      flags: (t.bsd.adminFlags << 16) | t.bsd.ownerFlags,
      nlink,
      cnid: t.cnid,
      createTime: hfsDate(t.createDate),
      modifyTime: hfsDate(t.contentModDate),
      changeTime: hfsDate(t.attributeModDate),
      accessTime: hfsDate(t.accessDate),
      backupTime: hfsDate(t.backupDate),
      fileType,
      creator,
      finderInfo: t.finderInfo,
    };
    // optional fields only when present (absent, not undefined)
    if (dc) entry.compressed = { type: dc.type, size: dc.size };
    if (linkTarget !== undefined) entry.linkTarget = linkTarget;
    if (node.hardLink) entry.hardLink = node.hardLink;
    Object.defineProperty(entry, NODE, { value: node, enumerable: false });
    return entry;
  }

  // ---------------------------------------------------------------- public API

  /** stat: follows a final symlink (inside the volume only). */
  async stat(path: string | HfsEntry): Promise<HfsEntry> {
    return guard(async () => this.statNode(await this.nodeOf(path, true)));
  }
  /** lstat: describes a final symlink itself. */
  async lstat(path: string | HfsEntry): Promise<HfsEntry> {
    return guard(async () => this.statNode(await this.nodeOf(path, false)));
  }
  async readlink(path: string | HfsEntry): Promise<string> {
    return guard(() => this.readlinkImpl(path));
  }
  private async readlinkImpl(path: string | HfsEntry): Promise<string> {
    const node = await this.nodeOf(path, false);
    if (node.type !== 'symlink') throw new DmgkitError('INVALID_ARGUMENT', `/${node.path} is not a symbolic link`, { path: node.path });
    return this.readLinkNode(node);
  }

  /** The entries of a directory, in catalog order, private folders and journal files hidden in the root. */
  async readdir(path: string | HfsEntry = '', opts: ReaddirOptions = {}): Promise<HfsEntry[]> {
    return guard(() => this.readdirImpl(path, opts.onEntryError));
  }
  private async readdirImpl(path: string | HfsEntry, onEntryError?: ReaddirOptions['onEntryError']): Promise<HfsEntry[]> {
    const dir = await this.nodeOf(path, true);
    if (dir.type !== 'dir') throw new DmgkitError('NOT_A_DIRECTORY', `/${dir.path} is not a directory`, { path: dir.path });
    const out: HfsEntry[] = [];
    const prefix = dir.path ? `${dir.path}/` : '';
    const bad = onEntryError ? (name: string, e: DmgkitError) => onEntryError(prefix + name, e) : undefined;
    for (const c of await this.childList(dir.target.cnid, bad)) {
      const e = await this.childEntry(dir, c, prefix, onEntryError);
      if (e) out.push(e);
    }
    return out;
  }

  /** The HfsEntry of child record `c` of `dir`, or null when it is hidden or (with onEntryError) reported. */
  private async childEntry(dir: ResolvedNode, c: CatalogEntry, prefix: string, onEntryError?: ReaddirOptions['onEntryError']): Promise<HfsEntry | null> {
    if (dir.target.cnid === CNID_ROOT && this.hiddenInRoot(c)) return null;
    if (!onEntryError) {
      const node = isLinkRecord(c) ? await this.resolveRecord(c, prefix + c.name) : plainNode(c, prefix + c.name);
      return this.statNeedsIo(node) ? await this.statNode(node) : this.entryOf(node, null, undefined);
    }
    try {
      const node = isLinkRecord(c) ? await this.resolveRecord(c, prefix + c.name) : plainNode(c, prefix + c.name);
      return this.statNeedsIo(node) ? await this.statNode(node) : this.entryOf(node, null, undefined);
    } catch (e) {
      const err = asDmgkitError(e);
      if (err.code === 'IO_ERROR') throw err;
      onEntryError(prefix + c.name, err);
      return null;
    }
  }

  /**
   * The entries of a directory one at a time, in catalog order, as `readdir` lists them, reading the catalog's
   * leaf nodes as it goes: memory does not grow with the size of the folder (a folder of a million files is listed
   * in the memory of one B-tree node and one entry).
   */
  iterdir(path: string | HfsEntry = '', opts: ReaddirOptions = {}): AsyncGenerator<HfsEntry> {
    return guardGen(this.iterdirImpl(path, opts.onEntryError));
  }
  private async *iterdirImpl(path: string | HfsEntry, onEntryError?: ReaddirOptions['onEntryError']): AsyncGenerator<HfsEntry> {
    const dir = await this.nodeOf(path, true);
    if (dir.type !== 'dir') throw new DmgkitError('NOT_A_DIRECTORY', `/${dir.path} is not a directory`, { path: dir.path });
    yield* this.listNode(dir, onEntryError);
  }
  private async *listNode(dir: ResolvedNode, onEntryError?: ReaddirOptions['onEntryError']): AsyncGenerator<HfsEntry> {
    const parentID = dir.target.cnid;
    const prefix = dir.path ? `${dir.path}/` : '';
    const bad = onEntryError ? (name: string, e: DmgkitError) => onEntryError(prefix + name, e) : undefined;
    for await (const r of this.catalog.from({ parentID, name: new Uint16Array(0) })) {
      if (keyParentID(r) !== parentID) break;
      if (isThreadRecord(r)) continue;
      const c = bad ? parseChild(r, bad) : (parseCatalogRecord(r) as CatalogEntry);
      if (!c) continue;
      const e = await this.childEntry(dir, c, prefix, onEntryError);
      if (e) yield e;
    }
  }

  /**
   * Whether a walk (or an extraction) lists the folder `entry` — reached through a directory listing — below it:
   * null when it does (and it is recorded in `state`), else the reason it does not. `ancestors` are the folder
   * CNIDs being listed around it (a loop back to one of them is never followed).
   */
  async descent(entry: HfsEntry, state: WalkState, ancestors: ReadonlySet<number>): Promise<string | null> {
    return guard(() => this.descentImpl(entry, state, ancestors));
  }
  private async descentImpl(entry: HfsEntry, state: WalkState, ancestors: ReadonlySet<number>): Promise<string | null> {
    const node = entry[NODE];
    if (!node || node.type !== 'dir') return null;
    const cnid = node.target.cnid;
    if (ancestors.has(cnid)) return 'directory hard link loop';
    const seen = state.listed.has(cnid);
    if (!node.hardLink && node.rec.kind === 'folder') {
      // a plain folder record: is it the one the folder's thread record names?
      const r = await this.catalog.find({ parentID: cnid, name: new Uint16Array(0) });
      const t = r ? parseCatalogRecord(r) : null;
      if (t && t.kind === 'thread' && t.threadOf === 'folder') {
        if (t.parentID !== node.rec.parentID || t.name !== node.rec.name) {
          return `folder record names folder CNID ${cnid}, which belongs to the record (${t.parentID}, "${t.name}"): not listed here`;
        }
      } else if (seen) {
        return `folder CNID ${cnid} (no thread record) is named by several folder records: listed once`;
      }
    }
    if (seen) {
      // leafRecords is a header field: at most one record per MIN_LEAF_RECORD_BYTES of the catalog file
      const budget = Math.max(1, Math.min(this.catalog.header.leafRecords, Math.floor(this.vh.catalogFile.logicalSize / MIN_LEAF_RECORD_BYTES)));
      if (++state.relisted > budget) {
        return `folders listed again (directory hard links) exceed the catalog's ${budget} leaf records: not listed`;
      }
    }
    state.listed.add(cnid);
    return null;
  }

  /**
   * Depth-first walk below `path` (default: the root), yielding each entry before its children. With
   * `onEntryError`, an entry that cannot be described is reported and left out, as in `readdir`.
   */
  walk(path: string | HfsEntry = '', opts: ReaddirOptions = {}): AsyncGenerator<HfsEntry> {
    return this.walkImpl(path, opts.onEntryError);
  }
  /** One generator layer per yielded entry: errors are mapped to DmgkitError here rather than by guardGen. */
  private async *walkImpl(path: string | HfsEntry, onEntryError?: ReaddirOptions['onEntryError']): AsyncGenerator<HfsEntry> {
    try {
      const start = await this.nodeOf(path, true);
      if (start.type !== 'dir') {
        yield await this.statNode(start);
        return;
      }
      // Iterative depth-first walk (one generator, whatever the depth): a stack of directory listings, each read
      // from the catalog as it goes (memory bounded by the depth, not by the size of a folder).
      const onStack = new Set<number>();
      const state = newWalkState();
      const notFollowed = new Set<number>();
      const stack: { cnid: number; it: AsyncGenerator<HfsEntry> }[] = [];
      const enter = (dir: ResolvedNode): void => {
        const cnid = dir.target.cnid;
        onStack.add(cnid);
        state.listed.add(cnid);
        stack.push({ cnid, it: this.listNode(dir, onEntryError) });
      };
      enter(start);
      try {
        while (stack.length) {
          const top = stack[stack.length - 1];
          const r = await top.it.next();
          if (r.done) {
            onStack.delete(top.cnid);
            stack.pop();
            continue;
          }
          const e = r.value;
          yield e;
          if (e.type !== 'dir') continue;
          const why = await this.descentImpl(e, state, onStack);
          if (why === null) enter(e[NODE]!);
          else if (why !== 'directory hard link loop' && !notFollowed.has(e.cnid)) {
            notFollowed.add(e.cnid); // reported once per folder
            this.warnOnce(`/${e.path}: ${why}`);
          }
        }
      } finally {
        for (const f of stack) await f.it.return(undefined).catch(() => undefined);
      }
    } catch (e) {
      throw asDmgkitError(e);
    }
  }

  /** Streams a fork's content in chunks (constant memory for resource-fork-compressed and plain files). */
  iterateFile(path: string | HfsEntry, opts: ReadOptions = {}): AsyncGenerator<Uint8Array> {
    const self = this;
    return guardGen(
      (async function* () {
        const node = await self.nodeOf(path, true);
        // chunks that are views of a read-ahead window are copied: the caller owns what it gets
        for await (const c of self.contentChunks(node, opts.fork ?? 'data')) yield self.readAhead.isShared(c) ? c.slice() : c;
      })(),
    );
  }

  /** A web ReadableStream over iterateFile. */
  createReadStream(path: string | HfsEntry, opts: ReadOptions = {}): ReadableStream<Uint8Array> {
    const it = this.iterateFile(path, opts);
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const r = await it.next();
          if (r.done) controller.close();
          else controller.enqueue(r.value);
        } catch (e) {
          controller.error(e);
        }
      },
      async cancel() {
        await it.return(undefined);
      },
    });
  }

  /** Reads a whole fork, bounded by Limits.maxFileBytes. */
  async readFile(path: string | HfsEntry, opts: ReadOptions = {}): Promise<Uint8Array> {
    return guard(() => this.readFileImpl(path, opts));
  }
  private async readFileImpl(path: string | HfsEntry, opts: ReadOptions): Promise<Uint8Array> {
    const node = await this.nodeOf(path, true);
    const which = opts.fork ?? 'data';
    let expect: number;
    const t = node.target;
    if (t.kind === 'file' && !this.statNeedsIo(node)) {
      // a plain file: the sizes are the forks' (what statNode would report), without building an entry
      expect = which === 'data' ? t.dataFork.logicalSize : t.rsrcFork.logicalSize;
    } else {
      const st = await this.statNode(node);
      expect = which === 'data' ? st.size : st.rsrcSize;
    }
    if (expect > this.limits.maxFileBytes) {
      throw new DmgkitError('LIMIT_EXCEEDED', `/${node.path}: ${expect} bytes exceed maxFileBytes (${this.limits.maxFileBytes})`, {
        path: node.path,
      });
    }
    if (t.kind === 'file' && !this.statNeedsIo(node) && expect <= STREAM_CHUNK && node.type !== 'dir') {
      // a plain fork read in one piece (what contentChunks would yield as its single chunk)
      if (expect === 0) return new Uint8Array(0);
      const bytes = await this.fork(t, which).read(0, expect);
      if (opts.shared) return bytes;
      const out = new Uint8Array(expect);
      out.set(bytes);
      return out;
    }
    await this.checkDeclaredSize(node, which, expect);
    const out = new Uint8Array(expect);
    let o = 0;
    for await (const c of this.contentChunks(node, which)) {
      if (o + c.length > expect) {
        throw new DmgkitError('CORRUPT_FS', `/${node.path}: content longer than the declared ${expect} bytes`, { path: node.path });
      }
      out.set(c, o);
      o += c.length;
    }
    if (o !== expect) throw new DmgkitError('CORRUPT_FS', `/${node.path}: read ${o} bytes, ${expect} declared`, { path: node.path });
    return out;
  }

  /**
   * Checks, before readFile allocates `expect` bytes, that the content can be that large: a plain fork's extents
   * (with the overflow records) cover its logical size; a decmpfs file's declared size is at most
   * maxCompressionRatio × its compressed bytes (inline payload or resource fork), whose extents are checked too.
   */
  private async checkDeclaredSize(node: ResolvedNode, which: 'data' | 'rsrc', expect: number): Promise<void> {
    const t = node.target;
    if (expect === 0 || t.kind !== 'file' || node.type === 'dir') return;
    const where = `/${node.path} (CNID ${t.cnid})`;
    const extentsCover = async (f: 'data' | 'rsrc') => {
      try {
        await this.fork(t, f).extents();
      } catch (e) {
        if (e instanceof DmgkitError && e.code === 'CORRUPT_FS') throw new DmgkitError('CORRUPT_FS', `${where}: ${e.message}`, { path: node.path, cnid: t.cnid });
        throw e;
      }
    };
    const dc = await this.decmpfsOf(t);
    if (!dc || which === 'rsrc') {
      await extentsCover(which);
      return;
    }
    const compressed = isRsrcType(dc.type) ? t.rsrcFork.logicalSize : dc.inline.length;
    if (compressed * this.limits.maxCompressionRatio < dc.size) {
      throw new DmgkitError(
        'CORRUPT_FS',
        `${where}: decmpfs declares ${dc.size} bytes from ${compressed} compressed bytes (more than maxCompressionRatio ${this.limits.maxCompressionRatio})`,
        { path: node.path, cnid: t.cnid },
      );
    }
    if (isRsrcType(dc.type)) await extentsCover('rsrc');
  }

  /** Extended attribute names (com.apple.decmpfs of compressed files and internal hard-link bookkeeping hidden). */
  async listXattrs(path: string | HfsEntry): Promise<string[]> {
    return guard(() => this.listXattrsImpl(path));
  }
  private async listXattrsImpl(path: string | HfsEntry): Promise<string[]> {
    const node = await this.nodeOf(path, false);
    const attrs = await this.attrsOf(node.target.cnid);
    const compressed = (await this.decmpfsOf(node.target)) !== null;
    return [...attrs.keys()].filter((n) => !(compressed && n === DECMPFS_XATTR) && n !== 'com.apple.system.hfs.firstlink');
  }

  async getXattr(path: string | HfsEntry, name: string): Promise<Uint8Array> {
    return guard(() => this.getXattrImpl(path, name));
  }
  private async getXattrImpl(path: string | HfsEntry, name: string): Promise<Uint8Array> {
    const node = await this.nodeOf(path, false);
    const attrs = await this.attrsOf(node.target.cnid);
    const v = attrs.get(name);
    if (!v) throw new DmgkitError('NOT_FOUND', `/${node.path} has no extended attribute ${name}`, { path: node.path, name });
    const data = await this.attrValue(node.target.cnid, v, name);
    return v.kind === 'inline' ? data.slice() : data;
  }

  /** Raw catalog access for tools: the record of a CNID. */
  async statCnid(cnid: number): Promise<HfsEntry | null> {
    return guard(async () => {
      const rec = await this.recordByCnid(cnid);
      if (!rec) return null;
      return this.statNode(await this.resolveRecord(rec, rec.name));
    });
  }

  /**
   * The volume's free allocation blocks (allocation-file bits clear), as runs of blocks in order; runs shorter
   * than `minBlocks` are left out and the scan stops after `maxRuns` (see src/hfs/allocation.ts).
   */
  async freeBlockRuns(opts: FreeRunOptions = {}): Promise<Extent[]> {
    const f = new Fork(this.geo, CNID_ALLOCATION, FORK_TYPE_DATA, this.vh.allocationFile, 'allocation file', this.overflowLookup());
    return freeRuns(f, this.vh.totalBlocks, opts);
  }

  private overflowLookup(): OverflowLookup | null {
    const tree = this.extents;
    return tree ? (fileID, forkType, startBlock) => lookupOverflow(tree, fileID, forkType, startBlock) : null;
  }

  async close(): Promise<void> {
    await this.source.close?.();
  }
}

function isRsrcType(t: number): boolean {
  return t === 4 || t === 8 || t === 10 || t === 12 || t === 14;
}

function typeOfFile(rec: CatalogEntry): HfsEntryType {
  if (rec.kind === 'folder') return 'dir';
  switch (rec.bsd.fileMode & S_IFMT) {
    case S_IFLNK:
      return 'symlink';
    case S_IFIFO:
      return 'fifo';
    case S_IFCHR:
      return 'char';
    case S_IFBLK:
      return 'block';
    case S_IFSOCK:
      return 'socket';
    case S_IFDIR:
    case S_IFREG:
      return 'file';
    default:
      return rec.fileType === 'slnk' && rec.creator === 'rhap' ? 'symlink' : 'file';
  }
}

/** Hard-link records (file 'hlnk'/'hfs+', directory 'fdrp'/'MACS') need a lookup to resolve. */
function isLinkRecord(rec: CatalogEntry): boolean {
  return rec.kind === 'file' && ((rec.fileType === 'hlnk' && rec.creator === 'hfs+') || (rec.fileType === 'fdrp' && rec.creator === 'MACS'));
}

function plainNode(rec: CatalogEntry, path: string): ResolvedNode {
  return { rec, target: rec, path, name: rec.name, type: rec.kind === 'folder' ? 'dir' : typeOfFile(rec) };
}

/** Parses a child record; one that does not parse is handed to `bad` (named by its key when readable) and skipped. */
function parseChild(r: RecordRef, bad: (name: string, e: DmgkitError) => void): CatalogEntry | null {
  try {
    return parseCatalogRecord(r) as CatalogEntry;
  } catch (e) {
    const err = asDmgkitError(e);
    if (err.code === 'IO_ERROR') throw err;
    let name: string;
    try {
      name = keyName(r);
    } catch {
      name = `(record ${r.index} of catalog node ${r.node.num})`;
    }
    bad(name, err);
    return null;
  }
}

function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

function hfsEntryFor(n: ResolvedNode): HfsEntry {
  const e = { path: n.path } as HfsEntry;
  Object.defineProperty(e, NODE, { value: n, enumerable: false });
  return e;
}

/**
 * Opens an HFS+ or HFSX volume (raw volume bytes, a partition slice, or a decoded disk partition). An HFS
 * wrapper's embedded HFS+ volume is opened; classic HFS is refused with UNSUPPORTED.
 */
export async function openHfs(source: ByteSource, opts: OpenHfsOptions = {}): Promise<HfsVolume> {
  try {
    return await HfsVolume.create(source, opts);
  } catch (e) {
    throw asDmgkitError(e);
  }
}

async function guard<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw asDmgkitError(e);
  }
}

async function* guardGen<T>(g: AsyncGenerator<T>): AsyncGenerator<T> {
  try {
    yield* g;
  } catch (e) {
    throw asDmgkitError(e);
  }
}

/** Any non-DmgkitError escaping the parser is a bug on hostile input: report it as CORRUPT_FS. */
export function asDmgkitError(e: unknown): DmgkitError {
  if (e instanceof DmgkitError) return e;
  return new DmgkitError('CORRUPT_FS', `HFS+: unexpected failure: ${(e as Error)?.message ?? String(e)}`, {}, { cause: e });
}
