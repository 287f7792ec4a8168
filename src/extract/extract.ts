import { DmgkitError } from '../errors.js';
import { isSupportedDecmpfs } from '../hfs/decmpfs.js';
import { publicFinderInfo } from '../hfs/finder-info.js';
import type { HfsEntry, HfsVolume } from '../hfs/volume.js';
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
 */
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

type Fs = typeof import('node:fs/promises');
type FsConst = typeof import('node:fs').constants;

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
  const fs: Fs = await import('node:fs/promises');
  const { constants } = (await import('node:fs')) as { constants: FsConst };
  const { join, resolve } = await import('node:path');
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

  try {
    await fs.mkdir(root, { recursive: true });
  } catch (e) {
    throw ioError(e, `creating ${root}`);
  }
  const rootSt = await fs.lstat(root).catch((e) => {
    throw ioError(e, `lstat ${root}`);
  });
  if (!rootSt.isDirectory()) throw new DmgkitError('UNSAFE_PATH', `destination ${root} is not a directory (or is a symlink)`);
  ours.add(root);

  /** Checks that `dir` is one of ours and still a real directory. */
  async function checkParent(dir: string): Promise<void> {
    if (!ours.has(dir)) throw new DmgkitError('UNSAFE_PATH', `refusing to write into ${dir}: not a directory created by this extraction`);
    const st = await fs.lstat(dir);
    if (!st.isDirectory()) throw new DmgkitError('UNSAFE_PATH', `refusing to write into ${dir}: it is no longer a directory`);
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

  async function makeDir(path: string, volPath: string): Promise<boolean> {
    try {
      await fs.mkdir(path, { mode: 0o700 });
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
    const st = await fs.lstat(path);
    if (!st.isDirectory()) throw new DmgkitError('UNSAFE_PATH', `${path} is not the directory just created`);
    ours.add(path);
    return true;
  }

  async function writeAppleDouble(entry: HfsEntry, dir: string, name: string): Promise<void> {
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
    const adPath = inside(join(dir, `._${name}`));
    try {
      const fh = await fs.open(adPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
      try {
        await fh.writeFile(bytes);
      } finally {
        await fh.close();
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

  async function writeFile(entry: HfsEntry, path: string): Promise<void> {
    if (entry.compressed && !isSupportedDecmpfs(entry.compressed.type)) {
      result.skipped.push({ path: entry.path, reason: `decmpfs compression type ${entry.compressed.type} is not supported` });
      return;
    }
    const inode = entry.hardLink?.kind === 'file' ? entry.cnid : 0;
    if (inode && inodes.has(inode)) {
      try {
        await fs.link(inodes.get(inode)!, path);
        result.hardLinks++;
        return;
      } catch (e) {
        if (isExist(e)) {
          result.skipped.push({ path: entry.path, reason: `name collides with an existing entry at ${path}` });
          return;
        }
        // EXDEV/EPERM (no hard links on this destination): write a copy below.
      }
    }
    let fh;
    try {
      fh = await fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch (e) {
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
      for await (const chunk of volume.iterateFile(entry)) {
        await fh.write(chunk);
        result.bytes += chunk.length;
      }
      await fh.chmod(safeMode(entry.mode, keepSetuid));
      await fh.utimes(entry.accessTime, entry.modifyTime);
    } catch (e) {
      throw e instanceof DmgkitError ? e : ioError(e, `writing ${path}`);
    } finally {
      await fh.close();
    }
    result.files++;
    if (inode) inodes.set(inode, path);
  }

  async function writeSymlink(entry: HfsEntry, path: string): Promise<void> {
    const target = entry.linkTarget ?? (await volume.readlink(entry));
    if (target.includes('\0')) {
      result.skipped.push({ path: entry.path, reason: 'symlink target contains NUL' });
      return;
    }
    try {
      await fs.symlink(target, path);
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
    await fs.lutimes(path, entry.accessTime, entry.modifyTime).catch(() => undefined);
    result.symlinks++;
  }

  async function extractEntry(entry: HfsEntry, dir: string, stack: Set<number>): Promise<void> {
    const name = safeComponent(entry.name, entry.path);
    const path = inside(join(dir, name));
    await opts.onEntry?.(entry, path);
    await checkParent(dir);
    switch (entry.type) {
      case 'dir': {
        if (stack.has(entry.cnid)) {
          result.skipped.push({ path: entry.path, reason: 'directory hard link loop' });
          return;
        }
        if (!(await makeDir(path, entry.path))) return;
        result.dirs++;
        await writeAppleDouble(entry, dir, name);
        stack.add(entry.cnid);
        for (const child of await volume.readdir(entry)) await extractEntry(child, path, stack);
        stack.delete(entry.cnid);
        finishDirs.push({ path, mode: safeMode(entry.mode, keepSetuid), mtime: entry.modifyTime, atime: entry.accessTime });
        return;
      }
      case 'file':
        await writeFile(entry, path);
        await writeAppleDouble(entry, dir, name);
        return;
      case 'symlink':
        await writeSymlink(entry, path);
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
      await checkParent(dir);
      if (!ours.has(p) && !(await makeDir(p, vp))) throw new DmgkitError('UNSAFE_PATH', `cannot create ${p}`);
      ancestorDirs.push({ path: p, mode: safeMode(st.mode, keepSetuid), mtime: st.modifyTime, atime: st.accessTime });
      dir = p;
    }
  }
  if (entry) await extractEntry(entry, dir, new Set());
  else for (const child of await volume.readdir('')) await extractEntry(child, root, new Set());

  // Directory modes and times after their contents: post-order (children before parents), ancestors last.
  for (const d of [...finishDirs, ...ancestorDirs.reverse()]) {
    const st = await fs.lstat(d.path);
    if (!st.isDirectory()) continue;
    await fs.chmod(d.path, d.mode).catch((e) => {
      throw ioError(e, `chmod ${d.path}`);
    });
    await fs.utimes(d.path, d.atime, d.mtime).catch(() => undefined);
  }
  return result;
}
