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
 * Safety rules: every name written is a sanitized component created inside a directory handle: DEST and each
 * directory this run created (mkdir, never recursive) are opened with O_DIRECTORY|O_NOFOLLOW and checked with
 * fstat, and on Linux every later name is reached through that handle (`/proc/self/fd/N/name`), never by resolving
 * a path string again, so a directory swapped for a symlink by a concurrent process is never written through.
 * Files are created with O_EXCL|O_NOFOLLOW so an existing name (a symlink we made, a case-insensitive collision)
 * is never written through; symlinks are created as links with their stored target and never followed; device
 * nodes, FIFOs and sockets are never created; setuid/setgid/sticky are stripped unless keepSetuid.
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
/** Something the extraction did differently from a plain copy, without losing data (e.g. a renamed `._` file). */
export interface ExtractNote {
  path: string;
  note: string;
}
export interface ExtractResult {
  files: number;
  dirs: number;
  symlinks: number;
  hardLinks: number;
  appleDouble: number;
  bytes: number;
  skipped: ExtractSkip[];
  notes: ExtractNote[];
}

/**
 * AppleDouble files whose `._` + name is longer than a file name may be (NAME_MAX, 255 bytes) get a shortened
 * name, recorded in this file of the same directory: one JSON object per line, {"appleDouble": short, "name": name}.
 */
export const LONG_NAMES_MANIFEST = '.dmgkit-appledouble-names.jsonl';
/** Most bytes of a file name on the destination (Linux, macOS and Windows all use 255). */
const NAME_MAX = 255;

type Fs = typeof import('node:fs');

/** What the writing of one entry has created so far, by name in its directory (removed when the entry is skipped). */
interface Created {
  file?: string;
  appleDouble?: string;
  /** The hard-link inode registered for `file`. */
  inode?: number;
}

/**
 * A directory of the destination held open: names in it are created and opened relative to `fd` (on Linux through
 * `/proc/self/fd/<fd>/<name>`), so renaming or replacing it or its ancestors by a symlink never redirects a write.
 */
interface DirHandle {
  /** -1 where directories cannot be opened (Windows). */
  fd: number;
  /** Its destination path: for messages, and to reach it where there is no /proc/self/fd. */
  path: string;
  /** Its components below DEST, to open it again from DEST's handle (hard-link sources, deferred modes). */
  rel: readonly string[];
  dev: number;
  open: boolean;
  /** Shortened AppleDouble names made in this directory (written to LONG_NAMES_MANIFEST when it is finished). */
  longNames?: { appleDouble: string; name: string }[];
}

const utf8Len = (s: string) => new TextEncoder().encode(s).length;
/** UTF-8 prefix of `name` of at most `max` bytes, never cutting a character. */
function utf8Prefix(name: string, max: number): string {
  let bytes = 0;
  let out = '';
  for (const ch of name) {
    const n = utf8Len(ch);
    if (bytes + n > max) break;
    bytes += n;
    out += ch;
  }
  return out;
}
/** FNV-1a of the UTF-8 bytes, 8 hex digits: tells apart shortened names with the same prefix. */
function nameHash(name: string): string {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(name)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
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
  const { resolve } = await import('node:path');
  const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
  const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW;
  const OPEN_DIR = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0) | NOFOLLOW;
  const dirFds = process.platform !== 'win32';
  const forks = opts.forks !== false;
  const keepSetuid = opts.keepSetuid === true;
  const result: ExtractResult = { files: 0, dirs: 0, symlinks: 0, hardLinks: 0, appleDouble: 0, bytes: 0, skipped: [], notes: [] };
  const root = resolve(dest);
  /** First destination written for each file inode (hard links): its directory and name. */
  const inodes = new Map<number, { dir: DirHandle; name: string }>();
  /** Directories whose mode leaves the owner without read and search permission: applied at the very end. */
  const deferredModes: { rel: readonly string[]; path: string; mode: number }[] = [];
  /** An entry of a directory that cannot be described (see readdir) is skipped, the rest of the directory extracted. */
  const listing = {
    onEntryError: (path: string, e: DmgkitError) => {
      result.skipped.push({ path, reason: e.message });
    },
  };
  /** Folders listed so far (each folder is followed from its own record, once, and again only by hard links). */
  const visits = newWalkState();
  const errno = (e: unknown) => (e as NodeJS.ErrnoException)?.code;

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
  let rootFd = -1;
  if (dirFds) {
    try {
      rootFd = fs.openSync(root, OPEN_DIR);
    } catch (e) {
      if (errno(e) === 'ELOOP' || errno(e) === 'ENOTDIR') throw new DmgkitError('UNSAFE_PATH', `destination ${root} is not a directory (or is a symlink)`);
      throw ioError(e, `opening ${root}`);
    }
    rootSt = fs.fstatSync(rootFd);
  }
  /** Names are reached through the directory's handle (Linux), not by resolving its path again. */
  const viaFd = dirFds && process.platform === 'linux' && fs.existsSync(`/proc/self/fd/${rootFd}/.`);
  const rootDir: DirHandle = { fd: rootFd, path: root, rel: [], dev: rootSt.dev, open: true };
  /** The name to hand to a system call for NAME inside DIR. */
  const at = (d: DirHandle, name: string) => (viaFd ? `/proc/self/fd/${d.fd}/${name}` : d.path === '/' ? `/${name}` : `${d.path}/${name}`);
  /** The destination path of NAME inside DIR, for messages and onEntry. */
  const shown = (d: DirHandle, name: string) => (d.path === '/' ? `/${name}` : `${d.path}/${name}`);

  /** Opens directory NAME of PARENT without following a symlink; it must still be a directory on the same device. */
  function openDirAt(parent: DirHandle, name: string): number {
    if (!dirFds) {
      const st = fs.lstatSync(at(parent, name));
      if (!st.isDirectory()) throw replaced(shown(parent, name));
      return -1;
    }
    let fd: number;
    try {
      fd = fs.openSync(at(parent, name), OPEN_DIR);
    } catch (e) {
      const c = errno(e);
      if (c === 'ELOOP' || c === 'ENOTDIR' || c === 'ENOENT' || c === 'EMLINK') throw replaced(shown(parent, name));
      throw ioError(e, `opening ${shown(parent, name)}`);
    }
    const st = fs.fstatSync(fd);
    if (!st.isDirectory() || st.dev !== parent.dev) {
      fs.closeSync(fd);
      throw replaced(shown(parent, name));
    }
    return fd;
  }
  const replaced = (p: string) =>
    new DmgkitError('UNSAFE_PATH', `${p} is no longer the directory this extraction created (moved, or replaced by a symlink or a file, while extracting); stopped`, { path: p });

  /** Opens a directory of ours again from DEST's handle, one component at a time (never through a symlink). */
  function openRel(rel: readonly string[]): DirHandle {
    let d = rootDir;
    for (const c of rel) {
      const fd = openDirAt(d, c);
      if (d !== rootDir && d.fd >= 0) fs.closeSync(d.fd);
      d = { fd, path: shown(d, c), rel: [], dev: d.dev, open: true };
    }
    return d;
  }
  function closeRel(d: DirHandle): void {
    if (d !== rootDir && d.fd >= 0) fs.closeSync(d.fd);
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

  const isExist = (e: unknown) => errno(e) === 'EEXIST';
  /** An HFS+ name is up to 255 UTF-16 units: up to 765 UTF-8 bytes, past NAME_MAX. */
  const isTooLong = (e: unknown) => errno(e) === 'ENAMETOOLONG';
  const tooLong = (volPath: string, what: string) => result.skipped.push({ path: volPath, reason: `${what} is longer than this file system allows` });

  /** Creates directory NAME in PARENT and opens it; null when the name collides or is too long (reported). */
  function makeDir(parent: DirHandle, name: string, volPath: string): DirHandle | null {
    try {
      fs.mkdirSync(at(parent, name), { mode: 0o700 });
    } catch (e) {
      if (isExist(e)) {
        result.skipped.push({ path: volPath, reason: `name collides with an existing entry at ${shown(parent, name)}` });
        return null;
      }
      if (isTooLong(e)) {
        tooLong(volPath, 'the name');
        return null;
      }
      throw ioError(e, `mkdir ${shown(parent, name)}`);
    }
    const fd = openDirAt(parent, name);
    return { fd, path: shown(parent, name), rel: [...parent.rel, name], dev: parent.dev, open: true };
  }

  /** Applies a directory's mode and times once its contents are written, and closes it. */
  function finishDir(d: DirHandle, mode: number, atime: Date, mtime: Date): void {
    if (d.longNames?.length) writeLongNames(d);
    const target = d.fd >= 0 ? d.fd : d.path;
    try {
      if (d.fd >= 0) fs.futimesSync(d.fd, atime, mtime);
      else fs.utimesSync(d.path, atime, mtime);
    } catch {
      // directory times are best effort
    }
    if ((mode & 0o500) === 0o500) {
      try {
        if (typeof target === 'number') fs.fchmodSync(target, mode);
        else fs.chmodSync(target, mode);
      } catch (e) {
        throw ioError(e, `chmod ${d.path}`);
      }
    } else deferredModes.push({ rel: d.rel, path: d.path, mode });
    if (d.fd >= 0) fs.closeSync(d.fd);
    d.open = false;
  }

  function writeLongNames(d: DirHandle): void {
    const text = d.longNames!.map((l) => JSON.stringify(l) + '\n').join('');
    try {
      const fd = fs.openSync(at(d, LONG_NAMES_MANIFEST), CREATE, 0o644);
      try {
        writeAll(fd, new TextEncoder().encode(text));
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      if (isExist(e)) {
        result.skipped.push({ path: d.rel.join('/'), reason: `${LONG_NAMES_MANIFEST} collides with an existing entry; the shortened AppleDouble names are not recorded` });
        return;
      }
      throw ioError(e, `writing ${shown(d, LONG_NAMES_MANIFEST)}`);
    }
  }

  /**
   * Writes the AppleDouble file of `entry` (named `name` in `dir`): `._name`, or `._.` for the volume's root folder
   * (as macOS names the root's own metadata on foreign volumes). A `._` name longer than NAME_MAX is shortened and
   * recorded in the directory's LONG_NAMES_MANIFEST (a note, not a skip).
   */
  async function writeAppleDouble(entry: HfsEntry, dir: DirHandle, name: string, created: Created): Promise<void> {
    if (!forks) return;
    const names = await volume.listXattrs(entry);
    const finderInfo = publicFinderInfo(entry.finderInfo, entry.type === 'symlink');
    const hasFinder = finderInfo !== null;
    const hasRsrc = entry.type === 'file' && entry.rsrcSize > 0;
    if (!names.some((n) => n !== 'com.apple.FinderInfo' && n !== 'com.apple.ResourceFork') && !hasFinder && !hasRsrc) return;
    const xattrs: { name: string; value: Uint8Array }[] = [];
    for (const n of names) {
      if (n === 'com.apple.FinderInfo' || n === 'com.apple.ResourceFork') continue;
      xattrs.push({ name: n, value: await volume.getXattr(entry, n) });
    }
    // The resource fork is the file's last entry: streamed after the rest, never held whole (a 512 MiB fork of
    // zero-fill chunks in a 1 MB image cost 1.1 GB when it was read whole).
    const rsrcLength = hasRsrc ? entry.rsrcSize : 0;
    const bytes = buildAppleDouble({ finderInfo: finderInfo ?? new Uint8Array(32), xattrs, rsrc: new Uint8Array(0), rsrcLength, debugTag: entry.cnid });
    const rsrc = hasRsrc ? volume.iterateFile(entry, { fork: 'rsrc' }) : null;
    // The first piece is read before the file is created, so a fork that cannot be read creates nothing.
    let piece = rsrc ? await rsrc.next() : null;
    let adName = `._${name}`;
    let shortened = false;
    if (utf8Len(adName) > NAME_MAX) {
      adName = `._${utf8Prefix(name, NAME_MAX - 2 - 9)}~${nameHash(name)}`;
      shortened = true;
    }
    try {
      const fd = fs.openSync(at(dir, adName), CREATE, 0o644);
      created.appleDouble = adName;
      let readError: unknown = null;
      try {
        writeAll(fd, bytes);
        let n = 0;
        while (rsrc && piece && !piece.done) {
          writeAll(fd, piece.value);
          n += piece.value.length;
          try {
            piece = await rsrc.next();
          } catch (e) {
            readError = e;
            break;
          }
        }
        if (!readError && n !== rsrcLength) {
          readError = new DmgkitError('CORRUPT_FS', `/${entry.path}: the resource fork gave ${n} bytes, not ${rsrcLength}`, { path: entry.path });
        }
      } finally {
        fs.closeSync(fd);
      }
      if (readError) {
        fs.unlinkSync(at(dir, adName));
        created.appleDouble = undefined;
        throw readError;
      }
      result.appleDouble++;
    } catch (e) {
      if (isExist(e)) {
        result.skipped.push({ path: entry.path, reason: `AppleDouble ${adName} collides with an existing entry` });
        return;
      }
      if (isTooLong(e)) {
        tooLong(entry.path, `the AppleDouble name ${adName}`);
        return;
      }
      throw ioError(e, `writing ${shown(dir, adName)}`);
    }
    if (shortened) {
      (dir.longNames ??= []).push({ appleDouble: adName, name });
      result.notes.push({ path: entry.path, note: `its AppleDouble file is ${adName} (._ + the name is too long), recorded in ${LONG_NAMES_MANIFEST}` });
    }
  }

  async function writeFile(entry: HfsEntry, dir: DirHandle, name: string, created: Created): Promise<void> {
    if (entry.compressed && !isSupportedDecmpfs(entry.compressed.type)) {
      result.skipped.push({ path: entry.path, reason: `decmpfs compression type ${entry.compressed.type} is not supported` });
      return;
    }
    const inode = entry.hardLink?.kind === 'file' ? entry.cnid : 0;
    const first = inode ? inodes.get(inode) : undefined;
    if (first) {
      const src = first.dir.open ? first.dir : openRel(first.dir.rel);
      try {
        fs.linkSync(at(src, first.name), at(dir, name));
        created.file = name;
        dropPrefetched(entry);
        result.hardLinks++;
        return;
      } catch (e) {
        if (isExist(e)) {
          dropPrefetched(entry);
          result.skipped.push({ path: entry.path, reason: `name collides with an existing entry at ${shown(dir, name)}` });
          return;
        }
        // EXDEV/EPERM (no hard links on this destination), or the first copy is gone: write a copy below.
      } finally {
        if (src !== first.dir) closeRel(src);
      }
    }
    let fd: number;
    try {
      fd = fs.openSync(at(dir, name), CREATE, 0o600);
      created.file = name;
    } catch (e) {
      dropPrefetched(entry);
      if (isExist(e)) {
        result.skipped.push({ path: entry.path, reason: `name collides with an existing entry at ${shown(dir, name)}` });
        return;
      }
      if (isTooLong(e)) {
        tooLong(entry.path, 'the name');
        return;
      }
      throw ioError(e, `creating ${shown(dir, name)}`);
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
      throw e instanceof DmgkitError ? e : ioError(e, `writing ${shown(dir, name)}`);
    } finally {
      fs.closeSync(fd);
    }
    result.files++;
    if (inode) inodes.set(inode, { dir, name });
    created.inode = inode;
  }

  async function writeSymlink(entry: HfsEntry, dir: DirHandle, name: string, created: Created): Promise<void> {
    const target = entry.linkTarget ?? (await volume.readlink(entry));
    if (target.includes('\0')) {
      result.skipped.push({ path: entry.path, reason: 'symlink target contains NUL' });
      return;
    }
    try {
      fs.symlinkSync(target, at(dir, name));
      created.file = name;
    } catch (e) {
      if (isExist(e)) {
        result.skipped.push({ path: entry.path, reason: `name collides with an existing entry at ${shown(dir, name)}` });
        return;
      }
      if (isTooLong(e)) {
        tooLong(entry.path, 'the name or the link target');
        return;
      }
      throw ioError(e, `symlink ${shown(dir, name)}`);
    }
    try {
      fs.lutimesSync(at(dir, name), entry.accessTime, entry.modifyTime);
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
  async function guardEntry(entry: HfsEntry, dir: DirHandle, kind: { dir?: boolean }, write: (c: Created) => Promise<void>): Promise<void> {
    const c: Created = {};
    const before = { files: result.files, hardLinks: result.hardLinks, symlinks: result.symlinks, appleDouble: result.appleDouble, bytes: result.bytes };
    const notes = result.notes.length;
    try {
      await write(c);
    } catch (e) {
      if (!(e instanceof DmgkitError) || e.code === 'IO_ERROR' || e.code === 'UNSAFE_PATH') throw e;
      dropPrefetched(entry);
      for (const n of [c.appleDouble, kind.dir ? undefined : c.file]) {
        if (n === undefined) continue;
        try {
          fs.unlinkSync(at(dir, n));
        } catch (u) {
          throw ioError(u, `removing the partial output ${shown(dir, n)}`);
        }
      }
      if (c.appleDouble !== undefined && dir.longNames?.at(-1)?.appleDouble === c.appleDouble) dir.longNames.pop();
      if (c.inode && inodes.get(c.inode)?.name === c.file && inodes.get(c.inode)?.dir === dir) inodes.delete(c.inode);
      Object.assign(result, before);
      result.notes.length = notes;
      result.skipped.push({ path: entry.path, reason: kind.dir ? `AppleDouble file not written: ${e.message}` : e.message });
    }
  }

  /** Extracts a directory's entries in order as they are listed, reading ahead the content of the next small files. */
  async function extractChildren(list: AsyncGenerator<HfsEntry>, dir: DirHandle, volDir: string, stack: Set<number>): Promise<void> {
    const window: HfsEntry[] = [];
    let done = false;
    try {
      for (;;) {
        while (!done && window.length < PREFETCH_FILES) {
          const r = await list.next();
          if (r.done) done = true;
          else {
            window.push(r.value);
            prefetch(r.value);
          }
        }
        const e = window.shift();
        if (!e) break;
        await extractEntry(e, dir, volDir, stack);
      }
    } finally {
      for (const e of window) dropPrefetched(e);
      await list.return(undefined);
    }
  }

  async function extractEntry(entry: HfsEntry, dir: DirHandle, volDir: string, stack: Set<number>): Promise<void> {
    let name: string;
    try {
      name = safeComponent(entry.name, volDir);
    } catch (e) {
      // '', '.' or '..' from the catalog: this entry is skipped, the rest extracted
      dropPrefetched(entry);
      result.skipped.push({ path: entry.path, reason: (e as Error).message });
      return;
    }
    if (opts.onEntry) await opts.onEntry(entry, shown(dir, name));
    switch (entry.type) {
      case 'dir': {
        // a loop back to an ancestor, or a folder named by another catalog record than its own: not followed
        const why = await volume.descent(entry, visits, stack);
        if (why !== null) {
          result.skipped.push({ path: entry.path, reason: why });
          return;
        }
        const sub = makeDir(dir, name, entry.path);
        if (!sub) return;
        result.dirs++;
        // damage in a directory's xattrs or Finder info loses its AppleDouble file, not its contents
        await guardEntry(entry, dir, { dir: true }, (c) => writeAppleDouble(entry, dir, name, c));
        stack.add(entry.cnid);
        try {
          await extractChildren(volume.iterdir(entry, listing), sub, entry.path, stack);
        } catch (e) {
          if (sub.fd >= 0 && sub.open) fs.closeSync(sub.fd);
          sub.open = false;
          throw e;
        }
        stack.delete(entry.cnid);
        finishDir(sub, safeMode(entry.mode, keepSetuid), entry.accessTime, entry.modifyTime);
        return;
      }
      case 'file':
        await guardEntry(entry, dir, {}, async (c) => {
          await writeFile(entry, dir, name, c);
          if (c.file !== undefined) await writeAppleDouble(entry, dir, name, c);
        });
        return;
      case 'symlink':
        await guardEntry(entry, dir, {}, async (c) => {
          await writeSymlink(entry, dir, name, c);
          if (c.file !== undefined) await writeAppleDouble(entry, dir, name, c);
        });
        return;
      default:
        result.skipped.push({ path: entry.path, reason: `${entry.type} entries are never created` });
    }
  }

  const ancestors: { d: DirHandle; mode: number; mtime: Date; atime: Date }[] = [];
  try {
    // Subtree: create its ancestors as plain directories, then extract it.
    let dir = rootDir;
    let volDir = '';
    const parts = opts.path ? splitVolumePath(opts.path) : [];
    if (parts.length) {
      const entry = await volume.lstat(parts.join('/'));
      const names = entry.path.split('/').slice(0, -1);
      // the stored names of the ancestors (lookups may have matched case-insensitively)
      for (const a of names) {
        const vp = volDir ? `${volDir}/${a}` : a;
        const st = await volume.lstat(vp);
        const sub = makeDir(dir, safeComponent(st.name, volDir), vp);
        if (!sub) throw new DmgkitError('UNSAFE_PATH', `cannot create ${shown(dir, st.name)}`);
        ancestors.push({ d: sub, mode: safeMode(st.mode, keepSetuid), mtime: st.modifyTime, atime: st.accessTime });
        dir = sub;
        volDir = vp;
      }
      await extractEntry(entry, dir, volDir, new Set());
    } else {
      visits.listed.add(CNID_ROOT);
      // the root folder's own xattrs and Finder info: DEST/._.
      const rootEntry = await volume.lstat('');
      await guardEntry(rootEntry, rootDir, { dir: true }, (c) => writeAppleDouble(rootEntry, rootDir, '.', c));
      await extractChildren(volume.iterdir('', listing), rootDir, '', new Set([CNID_ROOT]));
    }
    // Ancestors last, innermost first; DEST keeps its own mode and times.
    for (const a of ancestors.reverse()) finishDir(a.d, a.mode, a.atime, a.mtime);
    if (rootDir.longNames?.length) writeLongNames(rootDir);
    // Modes that would have locked this run out of a directory it still had to open (hard-link sources).
    for (const m of deferredModes) {
      const d = openRel(m.rel);
      try {
        if (d.fd >= 0) fs.fchmodSync(d.fd, m.mode);
        else fs.chmodSync(d.path, m.mode);
      } catch (e) {
        throw ioError(e, `chmod ${m.path}`);
      } finally {
        closeRel(d);
      }
    }
  } finally {
    for (const a of ancestors) if (a.d.open && a.d.fd >= 0) fs.closeSync(a.d.fd);
    if (rootFd >= 0) fs.closeSync(rootFd);
  }
  return result;
}
