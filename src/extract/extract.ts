import { DmgkitError } from '../errors.js';
import { CNID_ROOT } from '../hfs/catalog.js';
import { isSupportedDecmpfs } from '../hfs/decmpfs.js';
import { publicFinderInfo } from '../hfs/finder-info.js';
import { newWalkState, type HfsEntry, type HfsVolume } from '../hfs/volume.js';
import { buildAppleDouble } from './appledouble.js';
import { safeComponent, safeMode, splitVolumePath } from './sanitize.js';

/**
 * Extracts an HFS+ volume (or a subtree) to a local directory, Node only (node:fs is imported lazily so the
 * module can sit in a browser bundle without being used). DEST is the volume root.
 *
 * Safety rules: every path written is DEST + sanitized components; each parent was created by this run as a
 * real directory (mkdir, never recursive, re-checked with lstat); files are created with O_EXCL|O_NOFOLLOW so
 * an existing name (a symlink we made, a case-insensitive collision) is never written through; symlinks are
 * created as links with their stored target and never followed; device nodes, FIFOs and sockets are never
 * created; setuid/setgid/sticky are stripped unless keepSetuid.
 *
 * Speed: the destination is written with synchronous node:fs calls (open, write, fchmod, futimes, close on the
 * descriptor), which cost far less CPU than one thread-pool round trip and promise per call; each blocks the
 * event loop for one system call only, and the loop runs between files while content is read. The content of
 * the next small files of a directory is read ahead (at most PREFETCH_FILES files of up to PREFETCH_FILE_BYTES,
 * PREFETCH_TOTAL_BYTES in flight in all), so reading the volume overlaps with writing; files are still written
 * one at a time in catalog order (directories before their contents, a hard link after its first path).
 */
/** Files of a directory whose content is read ahead of the one being written. */
const PREFETCH_FILES = 16;
/** Larger files are streamed when written, never read ahead. */
const PREFETCH_FILE_BYTES = 256 * 1024;
/** Bytes read ahead at any time, over all directory levels. */
const PREFETCH_TOTAL_BYTES = 8 * 1024 * 1024;
export interface ExtractOptions {
  /** Subtree of the volume to extract (default: everything). Its ancestors are created as plain directories. */
  path?: string;
  /** Write resource forks, Finder info and xattrs into AppleDouble "._name" files (default true). */
  forks?: boolean;
  keepSetuid?: boolean;
  /** Called for every entry before it is written, with its destination path. */
  onEntry?: (entry: HfsEntry, dest: string) => void | Promise<void>;
}

export interface ExtractSkip {
  path: string;
  reason: string;
}
export interface ExtractResult {
  files: number;
  dirs: number;
  symlinks: number;
  hardLinks: number;
  appleDouble: number;
  bytes: number;
  skipped: ExtractSkip[];
}

type Fs = typeof import('node:fs');

/** What the writing of one entry has created so far (removed again when the entry is skipped). */
interface Created {
  file?: string;
  appleDouble?: string;
  /** The hard-link inode registered for `file`. */
  inode?: number;
}

function ioError(e: unknown, what: string): DmgkitError {
  if (e instanceof DmgkitError) return e;
  const err = e as NodeJS.ErrnoException;
  return new DmgkitError('IO_ERROR', `${what}: ${err?.message ?? String(e)}`, { errno: err?.code }, { cause: e });
}

export async function extractVolume(volume: HfsVolume, dest: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  try {
    return await extractImpl(volume, dest, opts);
  } catch (e) {
    throw ioError(e, `extracting to ${dest}`);
  }
}

async function extractImpl(volume: HfsVolume, dest: string, opts: ExtractOptions): Promise<ExtractResult> {
  const fs: Fs = await import('node:fs');
  const { constants } = fs;
  const { join, resolve } = await import('node:path');
  const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const forks = opts.forks !== false;
  const keepSetuid = opts.keepSetuid === true;
  const result: ExtractResult = { files: 0, dirs: 0, symlinks: 0, hardLinks: 0, appleDouble: 0, bytes: 0, skipped: [] };
  const root = resolve(dest);
  /** Directories this run created (or DEST itself), by destination path. */
  const ours = new Set<string>();
  /** First destination path written for each file inode (hard links). */
  const inodes = new Map<number, string>();
  /** Directories whose mode and times are applied after their contents. */
  const finishDirs: { path: string; mode: number; mtime: Date; atime: Date }[] = [];
  const ancestorDirs: { path: string; mode: number; mtime: Date; atime: Date }[] = [];
  /** An entry of a directory that cannot be described (see readdir) is skipped, the rest of the directory extracted. */
  const listing = {
    onEntryError: (path: string, e: DmgkitError) => {
      result.skipped.push({ path, reason: e.message });
    },
  };
  /** Folders listed so far (each folder is followed from its own record, once, and again only by hard links). */
  const visits = newWalkState();

  try {
    fs.mkdirSync(root, { recursive: true });
  } catch (e) {
    throw ioError(e, `creating ${root}`);
  }
  let rootSt: import('node:fs').Stats;
  try {
    rootSt = fs.lstatSync(root);
  } catch (e) {
    throw ioError(e, `lstat ${root}`);
  }
  if (!rootSt.isDirectory()) throw new DmgkitError('UNSAFE_PATH', `destination ${root} is not a directory (or is a symlink)`);
  ours.add(root);

  /**
   * Checks that `dir` is one of ours: DEST (lstat-checked above) or a directory this run created and lstat-checked
   * right after mkdir. Nothing in a run removes or replaces an entry, so it is not lstat-ed again for every file.
   */
  function checkParent(dir: string): void {
    if (!ours.has(dir)) throw new DmgkitError('UNSAFE_PATH', `refusing to write into ${dir}: not a directory created by this extraction`);
  }

  /** Writes all of `data` to `fd` (write may be partial). */
  function writeAll(fd: number, data: Uint8Array): void {
    for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off, data.length - off);
  }

  /** Read-ahead content of small files: entry → pending read, and the bytes in flight. */
  const prefetched = new Map<HfsEntry, Promise<Uint8Array>>();
  let prefetchBytes = 0;
  function prefetch(entry: HfsEntry): void {
    if (entry.type !== 'file' || entry.size > PREFETCH_FILE_BYTES || prefetchBytes + entry.size > PREFETCH_TOTAL_BYTES) return;
    if (entry.compressed && !isSupportedDecmpfs(entry.compressed.type)) return;
    if (entry.hardLink?.kind === 'file' && inodes.has(entry.cnid)) return;
    const p = volume.readFile(entry, { shared: true }); // only written out, never modified
    p.catch(() => undefined); // a failure is reported when the file is written
    prefetched.set(entry, p);
    prefetchBytes += entry.size;
  }
  /** Takes the read-ahead content of `entry` (null when it was not read ahead). */
  async function takePrefetched(entry: HfsEntry): Promise<Uint8Array | null> {
    const p = prefetched.get(entry);
    if (!p) return null;
    prefetched.delete(entry);
    try {
      return await p;
    } finally {
      prefetchBytes -= entry.size;
    }
  }
  /** Drops a read-ahead that will not be written (a collision, a hard link). */
  function dropPrefetched(entry: HfsEntry): void {
    if (prefetched.delete(entry)) prefetchBytes -= entry.size;
  }

  const rootPrefix = root.endsWith('/') ? root : root + '/';
  /**
   * DIR/NAME for a directory of ours (absolute and normalized: DEST resolved, or built here) and one safe
   * component: the same as inside(join(dir, name)) without normalizing the whole path again for every file.
   */
  function childPath(dir: string, name: string): string {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
      throw new DmgkitError('UNSAFE_PATH', `refusing path component ${JSON.stringify(name)} in ${dir}`);
    }
    const p = dir.endsWith('/') ? dir + name : `${dir}/${name}`;
    if (!p.startsWith(rootPrefix)) throw new DmgkitError('UNSAFE_PATH', `path ${p} would leave the destination ${root}`);
    return p;
  }

  function inside(p: string): string {
    const r = resolve(p);
    if (r !== root && !r.startsWith(root.endsWith('/') ? root : root + '/')) {
      throw new DmgkitError('UNSAFE_PATH', `path ${p} would leave the destination ${root}`);
    }
    return r;
  }

  const isExist = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'EEXIST';
  /** An HFS+ name is up to 255 UTF-16 units: up to 765 UTF-8 bytes, and "._" + 254 more, past NAME_MAX. */
  const isTooLong = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'ENAMETOOLONG';
  const tooLong = (volPath: string, what: string) => result.skipped.push({ path: volPath, reason: `${what} is longer than this file system allows` });

  function makeDir(path: string, volPath: string): boolean {
    try {
      fs.mkdirSync(path, { mode: 0o700 });
    } catch (e) {
      if (isExist(e)) {
        result.skipped.push({ path: volPath, reason: `name collides with an existing entry at ${path}` });
        return false;
      }
      if (isTooLong(e)) {
        tooLong(volPath, 'the name');
        return false;
      }
      throw ioError(e, `mkdir ${path}`);
    }
    const st = fs.lstatSync(path);
    if (!st.isDirectory()) throw new DmgkitError('UNSAFE_PATH', `${path} is not the directory just created`);
    ours.add(path);
    return true;
  }

  async function writeAppleDouble(entry: HfsEntry, dir: string, name: string, created: Created): Promise<void> {
    if (!forks || entry.type === 'symlink') return;
    const names = await volume.listXattrs(entry);
    const finderInfo = publicFinderInfo(entry.finderInfo, false);
    const hasFinder = finderInfo !== null;
    const hasRsrc = entry.type === 'file' && entry.rsrcSize > 0;
    if (!names.length && !hasFinder && !hasRsrc) return;
    const xattrs: { name: string; value: Uint8Array }[] = [];
    for (const n of names) {
      if (n === 'com.apple.FinderInfo' || n === 'com.apple.ResourceFork') continue;
      xattrs.push({ name: n, value: await volume.getXattr(entry, n) });
    }
    const rsrc = hasRsrc ? await volume.readFile(entry, { fork: 'rsrc' }) : new Uint8Array(0);
    const bytes = buildAppleDouble({ finderInfo: finderInfo ?? new Uint8Array(32), xattrs, rsrc, debugTag: entry.cnid });
    const adPath = childPath(dir, `._${name}`);
    try {
      const fd = fs.openSync(adPath, CREATE, 0o644);
      created.appleDouble = adPath;
      try {
        writeAll(fd, bytes);
      } finally {
        fs.closeSync(fd);
      }
      result.appleDouble++;
    } catch (e) {
      if (isExist(e)) {
        result.skipped.push({ path: entry.path, reason: `AppleDouble ._${name} collides with an existing entry` });
        return;
      }
      if (isTooLong(e)) {
        tooLong(entry.path, `the AppleDouble name ._${name}`);
        return;
      }
      throw ioError(e, `writing ${adPath}`);
    }
  }

  async function writeFile(entry: HfsEntry, path: string, created: Created): Promise<void> {
    if (entry.compressed && !isSupportedDecmpfs(entry.compressed.type)) {
      result.skipped.push({ path: entry.path, reason: `decmpfs compression type ${entry.compressed.type} is not supported` });
      return;
    }
    const inode = entry.hardLink?.kind === 'file' ? entry.cnid : 0;
    if (inode && inodes.has(inode)) {
      try {
        fs.linkSync(inodes.get(inode)!, path);
        created.file = path;
        dropPrefetched(entry);
        result.hardLinks++;
        return;
      } catch (e) {
        if (isExist(e)) {
          dropPrefetched(entry);
          result.skipped.push({ path: entry.path, reason: `name collides with an existing entry at ${path}` });
          return;
        }
        // EXDEV/EPERM (no hard links on this destination): write a copy below.
      }
    }
    let fd: number;
    try {
      fd = fs.openSync(path, CREATE, 0o600);
      created.file = path;
    } catch (e) {
      dropPrefetched(entry);
      if (isExist(e)) {
        result.skipped.push({ path: entry.path, reason: `name collides with an existing entry at ${path}` });
        return;
      }
      if (isTooLong(e)) {
        tooLong(entry.path, 'the name');
        return;
      }
      throw ioError(e, `creating ${path}`);
    }
    try {
      const data = await takePrefetched(entry);
      if (data) {
        writeAll(fd, data);
        result.bytes += data.length;
      } else {
        // streamed: the next chunk is read while this one is written
        const it = volume.iterateFile(entry);
        try {
          let next = it.next();
          for (;;) {
            const r = await next;
            if (r.done) break;
            next = it.next();
            next.catch(() => undefined);
            writeAll(fd, r.value);
            result.bytes += r.value.length;
          }
        } finally {
          await it.return(undefined);
        }
      }
      fs.fchmodSync(fd, safeMode(entry.mode, keepSetuid));
      fs.futimesSync(fd, entry.accessTime, entry.modifyTime);
    } catch (e) {
      throw e instanceof DmgkitError ? e : ioError(e, `writing ${path}`);
    } finally {
      fs.closeSync(fd);
    }
    result.files++;
    if (inode) inodes.set(inode, path);
    created.inode = inode;
  }

  async function writeSymlink(entry: HfsEntry, path: string, created: Created): Promise<void> {
    const target = entry.linkTarget ?? (await volume.readlink(entry));
    if (target.includes('\0')) {
      result.skipped.push({ path: entry.path, reason: 'symlink target contains NUL' });
      return;
    }
    try {
      fs.symlinkSync(target, path);
      created.file = path;
    } catch (e) {
      if (isExist(e)) {
        result.skipped.push({ path: entry.path, reason: `name collides with an existing entry at ${path}` });
        return;
      }
      if (isTooLong(e)) {
        tooLong(entry.path, 'the name or the link target');
        return;
      }
      throw ioError(e, `symlink ${path}`);
    }
    try {
      fs.lutimesSync(path, entry.accessTime, entry.modifyTime);
    } catch {
      // times of a symlink are best effort
    }
    result.symlinks++;
  }

  /**
   * Runs the writing of one entry. A failure that belongs to that entry alone (its content, forks, xattrs or
   * link target unreadable: any DmgkitError but IO_ERROR and UNSAFE_PATH, which are about the destination) skips
   * it: what it created is removed, the counters are restored, and the reason is recorded in result.skipped.
   * Everything else (the destination failing, onEntry throwing, a directory that cannot be listed) still aborts.
   */
  async function guardEntry(entry: HfsEntry, kind: { dir?: boolean }, write: (c: Created) => Promise<void>): Promise<void> {
    const c: Created = {};
    const before = { files: result.files, hardLinks: result.hardLinks, symlinks: result.symlinks, appleDouble: result.appleDouble, bytes: result.bytes };
    try {
      await write(c);
    } catch (e) {
      if (!(e instanceof DmgkitError) || e.code === 'IO_ERROR' || e.code === 'UNSAFE_PATH') throw e;
      dropPrefetched(entry);
      for (const p of [c.appleDouble, kind.dir ? undefined : c.file]) {
        if (p === undefined) continue;
        try {
          fs.unlinkSync(p);
        } catch (u) {
          throw ioError(u, `removing the partial output ${p}`);
        }
      }
      if (c.inode && inodes.get(c.inode) === c.file) inodes.delete(c.inode);
      Object.assign(result, before);
      result.skipped.push({ path: entry.path, reason: kind.dir ? `AppleDouble file not written: ${e.message}` : e.message });
    }
  }

  /** Extracts a directory's entries in order, reading ahead the content of the next small files. */
  async function extractChildren(children: HfsEntry[], dir: string, stack: Set<number>): Promise<void> {
    let ahead = 0;
    for (let i = 0; i < children.length; i++) {
      for (; ahead < children.length && ahead < i + PREFETCH_FILES; ahead++) prefetch(children[ahead]);
      await extractEntry(children[i], dir, stack);
    }
  }

  async function extractEntry(entry: HfsEntry, dir: string, stack: Set<number>): Promise<void> {
    const name = safeComponent(entry.name, entry.path);
    const path = childPath(dir, name);
    if (opts.onEntry) await opts.onEntry(entry, path);
    checkParent(dir);
    switch (entry.type) {
      case 'dir': {
        // a loop back to an ancestor, or a folder named by another catalog record than its own: not followed
        const why = await volume.descent(entry, visits, stack);
        if (why !== null) {
          result.skipped.push({ path: entry.path, reason: why });
          return;
        }
        if (!makeDir(path, entry.path)) return;
        result.dirs++;
        // damage in a directory's xattrs or Finder info loses its AppleDouble file, not its contents
        await guardEntry(entry, { dir: true }, (c) => writeAppleDouble(entry, dir, name, c));
        stack.add(entry.cnid);
        await extractChildren(await volume.readdir(entry, listing), path, stack);
        stack.delete(entry.cnid);
        finishDirs.push({ path, mode: safeMode(entry.mode, keepSetuid), mtime: entry.modifyTime, atime: entry.accessTime });
        return;
      }
      case 'file':
        await guardEntry(entry, {}, async (c) => {
          await writeFile(entry, path, c);
          await writeAppleDouble(entry, dir, name, c);
        });
        return;
      case 'symlink':
        await guardEntry(entry, {}, (c) => writeSymlink(entry, path, c));
        return;
      default:
        result.skipped.push({ path: entry.path, reason: `${entry.type} entries are never created` });
    }
  }

  // Subtree: create its ancestors as plain directories, then extract it.
  let dir = root;
  const parts = opts.path ? splitVolumePath(opts.path) : [];
  let entry: HfsEntry | null = null;
  if (parts.length) {
    entry = await volume.lstat(parts.join('/'));
    const ancestors = entry.path.split('/').slice(0, -1);
    // the stored names of the ancestors (lookups may have matched case-insensitively)
    let vp = '';
    for (const a of ancestors) {
      vp = vp ? `${vp}/${a}` : a;
      const st = await volume.lstat(vp);
      const p = inside(join(dir, safeComponent(st.name, vp)));
      checkParent(dir);
      if (!ours.has(p) && !makeDir(p, vp)) throw new DmgkitError('UNSAFE_PATH', `cannot create ${p}`);
      ancestorDirs.push({ path: p, mode: safeMode(st.mode, keepSetuid), mtime: st.modifyTime, atime: st.accessTime });
      dir = p;
    }
  }
  if (entry) await extractEntry(entry, dir, new Set());
  else {
    visits.listed.add(CNID_ROOT);
    await extractChildren(await volume.readdir('', listing), root, new Set([CNID_ROOT]));
  }

  // Directory modes and times after their contents: post-order (children before parents), ancestors last.
  for (const d of [...finishDirs, ...ancestorDirs.reverse()]) {
    const st = fs.lstatSync(d.path);
    if (!st.isDirectory()) continue;
    try {
      fs.chmodSync(d.path, d.mode);
    } catch (e) {
      throw ioError(e, `chmod ${d.path}`);
    }
    try {
      fs.utimesSync(d.path, d.atime, d.mtime);
    } catch {
      // directory times are best effort
    }
  }
  return result;
}
