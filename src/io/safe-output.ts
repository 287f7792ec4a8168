/**
 * Opening an output file safely (Node only):
 *
 * - never onto an input: the target is refused when it is the same file as any input (device and inode, links
 *   followed, so a symbolic link, a hard link or a path through a linked folder is caught), or lies inside an
 *   input folder (a sparse bundle);
 * - never over an existing file unless `force`;
 * - written to a temporary name beside the target (`.<name>.dmgkit-<pid>-<random>.part`, created exclusively),
 *   which `commit()` renames onto the target and `abort()` removes; until then SIGINT/SIGTERM/SIGHUP remove it
 *   (src/io/cleanup.ts).
 *
 * Character devices, FIFOs and sockets (`/dev/null`, a named pipe) are written in place, in order: there is
 * nothing to rename. A block device is also written in place, and only with `force`.
 * Whoever opens a SafeOutput calls commit() or abort() exactly once, on every path.
 */
import type { Stats } from 'node:fs';
import { unlinkSync } from 'node:fs';
import { type FileHandle, link, lstat, open, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, isAbsolute, resolve } from 'node:path';
import { DmgkitError } from '../errors.js';
import { registerSignalCleanup } from './cleanup.js';
import { errnoWords } from './errno.js';

export interface SafeOutputOptions {
  /** Paths the output must not be (or lie inside, for folders): the command's inputs. */
  inputs?: readonly string[];
  /** Replace an existing target (hdiutil's -ov). */
  force?: boolean;
  /** How the caller spells `force`, named in the OUTPUT_EXISTS message (e.g. '--force'). */
  forceHint?: string;
  /** fsync the file before renaming it (default false: close and rename only). */
  durable?: boolean;
}

export interface SafeOutput {
  /** The path asked for. */
  readonly path: string;
  /** The temporary file written until commit(); undefined when the target is written in place. */
  readonly tempPath: string | undefined;
  readonly handle: FileHandle;
  /** True when positions can be skipped (a regular file or block device): holes, writes at any offset. */
  readonly seekable: boolean;
  /** True for a regular file: skipped ranges become holes, truncate() sets the size. */
  readonly regular: boolean;
  /** Writes all of `data` at `position` (ignored when not seekable: writes must then come in order). */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Sets the size of a regular file (after leaving holes); a no-op otherwise. */
  truncate(length: number): Promise<void>;
  /** Flushes, closes and renames the temporary file onto the target. */
  commit(): Promise<void>;
  /** Closes and removes the temporary file. Safe to call after commit() (then a no-op) and more than once. */
  abort(): Promise<void>;
}

function ioError(what: string, path: string, e: unknown): DmgkitError {
  const err = e as NodeJS.ErrnoException;
  return new DmgkitError('IO_ERROR', `${what} ${path}: ${err?.code ? errnoWords(err.code) : (err?.message ?? String(e))}`, { path, errno: err?.code }, { cause: e });
}

async function statOrNull(p: string, follow: boolean): Promise<Stats | null> {
  try {
    return follow ? await stat(p) : await lstat(p);
  } catch {
    return null;
  }
}

/** True when `child` is `parent` or lies below it (both already resolved through realpath). */
function inside(parent: string, child: string): boolean {
  const r = relative(parent, child);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}

/** Refuses a target that is one of the inputs, or lies inside an input folder. */
async function checkNotInput(target: string, targetStat: Stats | null, inputs: readonly string[]): Promise<void> {
  if (inputs.length === 0) return;
  // The real folder the target will be created in (links in the path resolved).
  let targetReal: string | null = null;
  try {
    targetReal = join(await realpath(dirname(resolve(target))), basename(target));
  } catch {
    targetReal = null;
  }
  for (const input of inputs) {
    const st = await statOrNull(input, true);
    if (!st) continue;
    if (targetStat && st.dev === targetStat.dev && st.ino === targetStat.ino) {
      throw new DmgkitError('SAME_FILE', `refusing to write ${target}: it is the input ${input}`, { path: target, input });
    }
    if (st.isDirectory() && targetReal) {
      const inputReal = await realpath(input).catch(() => null);
      if (inputReal && inside(inputReal, targetReal)) {
        throw new DmgkitError('SAME_FILE', `refusing to write ${target}: it is inside the input ${input}`, { path: target, input });
      }
    }
  }
}

function tempName(target: string): string {
  const rand = Math.floor(Math.random() * 0x100000000).toString(36);
  return join(dirname(target), `.${basename(target)}.dmgkit-${process.pid}-${rand}.part`);
}

/** Opens `target` for writing under the rules above; see SafeOutput. */
export async function openSafeOutput(target: string, opts: SafeOutputOptions = {}): Promise<SafeOutput> {
  if (!target) throw new DmgkitError('INVALID_ARGUMENT', 'an output path is needed');
  const existing = await statOrNull(target, true); // what the path leads to (links followed)
  const entry = existing ?? (await statOrNull(target, false)); // or a dangling symbolic link itself
  await checkNotInput(target, existing, opts.inputs ?? []);
  if (existing?.isDirectory()) throw new DmgkitError('IS_A_DIRECTORY', `cannot write ${target}: it is a directory`, { path: target });

  const inPlace = existing !== null && !existing.isFile();
  if (inPlace) {
    if (existing.isBlockDevice() && !opts.force) {
      throw new DmgkitError('OUTPUT_EXISTS', `refusing to write the block device ${target}${opts.forceHint ? ` without ${opts.forceHint}` : ''}`, { path: target });
    }
    let handle: FileHandle;
    try {
      handle = await open(target, existing.isBlockDevice() ? 'r+' : 'w');
    } catch (e) {
      throw ioError('cannot open', target, e);
    }
    return new Output(target, undefined, handle, existing.isBlockDevice(), false, true, undefined);
  }

  if (entry && !opts.force) {
    throw new DmgkitError('OUTPUT_EXISTS', `${target} already exists${opts.forceHint ? ` (${opts.forceHint} replaces it)` : ''}`, { path: target });
  }
  let handle: FileHandle | undefined;
  let temp = '';
  // Registered before the file is created: a signal that arrives between the creation and the continuation of
  // `open` must still find the cleanup (else Node's default action kills the process and leaves the file).
  let pending = '';
  const unregister = registerSignalCleanup(() => {
    if (!pending) return undefined;
    try {
      unlinkSync(pending);
    } catch {
      return undefined;
    }
    return `the partial ${target}`;
  });
  for (let attempt = 0; !handle; attempt++) {
    temp = tempName(target);
    pending = temp;
    try {
      handle = await open(temp, 'wx');
    } catch (e) {
      pending = '';
      if ((e as NodeJS.ErrnoException)?.code === 'EEXIST' && attempt < 8) continue;
      unregister();
      throw ioError('cannot create', target, e);
    }
  }
  const tempPath = temp;
  return new Output(target, tempPath, handle, true, true, opts.force ?? false, unregister, opts.durable ?? false, opts.forceHint);
}

class Output implements SafeOutput {
  private done = false;
  constructor(
    readonly path: string,
    readonly tempPath: string | undefined,
    readonly handle: FileHandle,
    readonly seekable: boolean,
    readonly regular: boolean,
    private readonly force: boolean,
    private readonly unregister: (() => void) | undefined,
    private readonly durable = false,
    private readonly forceHint?: string,
  ) {}

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      let n: number;
      try {
        ({ bytesWritten: n } = await this.handle.write(data, done, data.length - done, this.seekable ? position + done : null));
      } catch (e) {
        throw ioError('cannot write', this.path, e);
      }
      if (n <= 0) throw ioError('cannot write', this.path, Object.assign(new Error('short write'), { code: 'EIO' }));
      done += n;
    }
  }

  async truncate(length: number): Promise<void> {
    if (!this.regular) return;
    try {
      await this.handle.truncate(length);
    } catch (e) {
      throw ioError('cannot write', this.path, e);
    }
  }

  async commit(): Promise<void> {
    if (this.done) throw new DmgkitError('INVALID_ARGUMENT', `${this.path}: output already committed or aborted`);
    try {
      if (this.durable && this.regular) await this.handle.sync();
    } catch (e) {
      await this.abort();
      throw ioError('cannot write', this.path, e);
    }
    try {
      await this.handle.close();
    } catch (e) {
      this.done = true;
      await this.removeTemp();
      throw ioError('cannot write', this.path, e);
    }
    this.done = true;
    const temp = this.tempPath;
    if (temp === undefined) return;
    try {
      if (this.force) await rename(temp, this.path);
      else await this.linkNoReplace(temp);
    } catch (e) {
      await this.removeTemp();
      if (e instanceof DmgkitError) throw e;
      throw ioError('cannot create', this.path, e);
    }
    this.unregister?.();
  }

  /** Puts the file in place without replacing one that appeared meanwhile (hard link, or rename when the file system has no links). */
  private async linkNoReplace(temp: string): Promise<void> {
    try {
      await link(temp, this.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException)?.code;
      if (code === 'EEXIST') {
        throw new DmgkitError('OUTPUT_EXISTS', `${this.path} appeared while it was being written; left as it is${this.forceHint ? ` (${this.forceHint} replaces it)` : ''}`, { path: this.path });
      }
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV' && code !== 'EMLINK' && code !== 'ENOSYS') throw e;
      if (await statOrNull(this.path, false)) {
        throw new DmgkitError('OUTPUT_EXISTS', `${this.path} appeared while it was being written; left as it is`, { path: this.path });
      }
      await rename(temp, this.path);
      return;
    }
    await unlink(temp);
  }

  private async removeTemp(): Promise<void> {
    if (this.tempPath !== undefined) await unlink(this.tempPath).catch(() => undefined);
    this.unregister?.();
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.handle.close().catch(() => undefined);
    await this.removeTemp();
  }
}
