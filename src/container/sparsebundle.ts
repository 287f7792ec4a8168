import { constants, readdirSync } from 'node:fs';
import { lstat, open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePlistXml } from '../plist/xml.js';
import { DmgkitError, at } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { errorReason } from '../io/errno.js';
import { checkRange } from '../io/source.js';
import { detectEncryption, encryptedError } from './encrypted.js';

/**
 * Apple sparse bundle (`.sparsebundle` directory, hdiutil UDSB, Mac OS X 10.5+). Sources: libyal libmodi
 * "Mac OS disk image types" (sparse bundle section), keramics sparsebundle reader.
 *
 * ```
 * name.sparsebundle/
 *   Info.plist     XML plist: CFBundleInfoDictionaryVersion "6.0", band-size (bytes, usually 8 MiB),
 *                  bundle-backingstore-version 1 or 2, diskimage-bundle-type "com.apple.diskimage.sparsebundle",
 *                  size (virtual disk bytes)
 *   Info.bckup     copy of Info.plist
 *   token          empty, or the encryption header of an encrypted bundle
 *   bands/<n>      band n (lower-case hex, no leading zeros) = virtual bytes [n × band-size, (n+1) × band-size)
 * ```
 * A band file that is absent reads as zeros; a short band file reads as zeros past its end. An encrypted bundle
 * (encryption header in `token`) is refused with ENCRYPTED.
 */

export const SPARSEBUNDLE_TYPE = 'com.apple.diskimage.sparsebundle';
export const INFO_PLIST = 'Info.plist';
export const INFO_BACKUP = 'Info.bckup';
export const BANDS_DIR = 'bands';
/** Most entries of bands/ listed to find holes (more: every band is read, as without a listing). */
const MAX_LISTED_BANDS = 1 << 22;
export const TOKEN = 'token';
export const MAX_INFO_PLIST_BYTES = 1 << 20;
/** Largest band accepted (hdiutil uses 8 MiB; `-imagekey sparse-band-size` allows up to 1 GiB or so). */
export const MAX_BAND_SIZE = 1 << 30;
/**
 * Smallest band accepted, and band sizes must be a multiple of it (whole 4 KiB pages; hdiutil's smallest band is
 * 1 MiB). A band size of 1 would make reading the disk cost one band lookup per byte.
 */
export const MIN_BAND_SIZE = 4096;
/**
 * How Info.plist, Info.bckup, token and bands are opened: never through a symlink (O_NOFOLLOW), and without
 * blocking on a FIFO (O_NONBLOCK); the handle must then be a regular file (fstat), else the file is refused.
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** Opens a file of the bundle: a regular file, not a symlink, FIFO, device or directory; null when absent. */
async function openRegular(path: string, what: string): Promise<{ handle: FileHandle; size: number } | null> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return null;
    if (err.code === 'ELOOP' || err.code === 'EMLINK') {
      throw new DmgkitError('UNSAFE_PATH', `${what} ${path} is a symbolic link; the files of a sparse bundle must be regular files inside it`, { path }, { cause: e });
    }
    throw new DmgkitError('IO_ERROR', `cannot open ${what} ${path}: ${errorReason(err)}`, { path, errno: err.code }, { cause: e });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) {
      throw new DmgkitError('UNSAFE_PATH', `${what} ${path} is not a regular file (a device, FIFO, socket or directory); refused`, { path });
    }
    return { handle, size: st.size };
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}

export interface SparseBundleOptions {
  /**
   * Most band files kept open once reads settle (least recently used closed first); concurrent reads may hold
   * one more each until they finish. Default 16.
   */
  maxOpenBands?: number;
}

export interface SparseBundleInfo {
  bandSize: number;
  size: number;
  bundleType: string;
  backingStoreVersion?: number;
  /** Info.plist could not be read or parsed and Info.bckup was used. */
  usedBackup: boolean;
}

export interface SparseBundle extends ByteSource {
  readonly dir: string;
  readonly info: SparseBundleInfo;
  readonly warnings: readonly string[];
  /** Band files currently open (for tests of the bound). */
  readonly openBandCount: number;
  /** Closes every open band file. */
  close(): Promise<void>;
}

/** The file name of band `index`: lower-case hexadecimal without leading zeros. */
export function bandFileName(index: number): string {
  return index.toString(16);
}

interface BandHandle {
  handle: FileHandle | null; // null: the band file does not exist
  size: number;
}

interface BandEntry {
  band: Promise<BandHandle>;
  /** Reads in progress on this band; counted synchronously so eviction never closes a handle in use. */
  users: number;
}

/** A plist value in a message: JSON where JSON can say it (an integer beyond 2^53 is a bigint, which it cannot). */
function shown(v: unknown): string {
  return typeof v === 'bigint' ? v.toString() : (JSON.stringify(v) ?? String(v));
}

function parseInfo(text: string, where: string): SparseBundleInfo {
  let doc;
  try {
    doc = parsePlistXml(new TextEncoder().encode(text), { what: where, maxValues: 4096, maxDepth: 16 });
  } catch (e) {
    const err = e as DmgkitError;
    throw new DmgkitError(err.code, err.message, { ...err.details, path: where }, { cause: e });
  }
  if (!(doc instanceof Map)) {
    throw new DmgkitError('CORRUPT_HEADER', `${where} does not hold a dictionary`, { path: where });
  }
  const bundleType = doc.get('diskimage-bundle-type');
  if (bundleType !== SPARSEBUNDLE_TYPE) {
    throw new DmgkitError(
      'NOT_AN_IMAGE',
      `${where}: diskimage-bundle-type is ${shown(bundleType)}, not ${SPARSEBUNDLE_TYPE}`,
      { path: where },
    );
  }
  const bandSize = doc.get('band-size');
  const size = doc.get('size');
  if (typeof bandSize !== 'number' || !Number.isSafeInteger(bandSize) || bandSize < MIN_BAND_SIZE || bandSize > MAX_BAND_SIZE || bandSize % MIN_BAND_SIZE !== 0) {
    throw new DmgkitError(
      'CORRUPT_HEADER',
      `${where}: band-size ${shown(bandSize)} is not a multiple of ${MIN_BAND_SIZE} in ${MIN_BAND_SIZE}..${MAX_BAND_SIZE}`,
      { path: where },
    );
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new DmgkitError('CORRUPT_HEADER', `${where}: size ${shown(size)} is not a non-negative integer`, { path: where });
  }
  const info: SparseBundleInfo = { bandSize, size, bundleType, usedBackup: false };
  const v = doc.get('bundle-backingstore-version');
  if (typeof v === 'number') info.backingStoreVersion = v;
  return info;
}

/** Reads Info.plist or Info.bckup: a regular file of at most MAX_INFO_PLIST_BYTES, read no further than that. */
async function readInfoFile(path: string): Promise<string> {
  const f = await openRegular(path, 'property list');
  if (!f) throw new DmgkitError('NOT_AN_IMAGE', `${path} is missing (a sparse bundle has an Info.plist or an Info.bckup)`, { path, errno: 'ENOENT' });
  try {
    if (f.size > MAX_INFO_PLIST_BYTES) {
      throw new DmgkitError('LIMIT_EXCEEDED', `${path} is ${f.size} bytes, more than ${MAX_INFO_PLIST_BYTES}`, { path });
    }
    // at most the limit + 1 bytes, whatever the file grows to meanwhile
    const buf = new Uint8Array(MAX_INFO_PLIST_BYTES + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await f.handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got > MAX_INFO_PLIST_BYTES) throw new DmgkitError('LIMIT_EXCEEDED', `${path} grew past ${MAX_INFO_PLIST_BYTES} bytes while being read`, { path });
    }
    return new TextDecoder().decode(buf.subarray(0, got));
  } catch (e) {
    if (e instanceof DmgkitError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new DmgkitError(err.code === 'ENOENT' ? 'NOT_AN_IMAGE' : 'IO_ERROR', `cannot read ${path}: ${errorReason(err)}`, { path, errno: err.code }, { cause: e });
  } finally {
    await f.handle.close().catch(() => undefined);
  }
}

class SparseBundleSource implements SparseBundle {
  readonly size: number;
  readonly name: string;
  private readonly bands = new Map<number, BandEntry>();
  private closed = false;

  constructor(
    readonly dir: string,
    readonly info: SparseBundleInfo,
    readonly warnings: readonly string[],
    private readonly maxOpen: number,
  ) {
    this.size = info.size;
    this.name = dir;
  }

  get openBandCount(): number {
    return this.bands.size;
  }

  /** Band indices named in bands/ (sorted), listed once; null when it cannot be listed (reads then tell why). */
  private listed: number[] | null | undefined;

  /**
   * A band with no entry in bands/ reads as zeros: the bytes up to the next listed band are a hole, never opened
   * (a bundle declaring petabytes costs what it stores). Any entry, whatever its type, is "may hold data", so a
   * symlink or FIFO there is still refused by the read. A band created after the listing is read as usual.
   */
  nextData(offset: number): number {
    if (offset >= this.size) return this.size;
    if (this.listed === undefined) {
      try {
        const names = readdirSync(join(this.dir, BANDS_DIR));
        this.listed = names.length > MAX_LISTED_BANDS ? null : names.map((n) => (/^[0-9a-f]{1,13}$/.test(n) ? parseInt(n, 16) : -1)).filter((i) => i >= 0).sort((a, b) => a - b);
      } catch {
        this.listed = null;
      }
    }
    if (this.listed === null) return offset;
    const band = Math.floor(offset / this.info.bandSize);
    let lo = 0;
    let hi = this.listed.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.listed[mid] < band) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.listed.length) return this.size;
    return this.listed[lo] === band ? offset : Math.min(this.size, this.listed[lo] * this.info.bandSize);
  }

  private async openBand(index: number): Promise<BandHandle> {
    const f = await openRegular(join(this.dir, BANDS_DIR, bandFileName(index)), `band ${bandFileName(index)}`);
    return f ? { handle: f.handle, size: f.size } : { handle: null, size: 0 };
  }

  /** Returns the band entry (users already counted), opening the file lazily; evicts idle bands beyond the bound. */
  private async acquire(index: number): Promise<BandEntry> {
    let entry = this.bands.get(index);
    if (entry) {
      // Move to the most-recently-used end.
      this.bands.delete(index);
      this.bands.set(index, entry);
    } else {
      entry = { band: this.openBand(index), users: 0 };
      this.bands.set(index, entry);
      const e = entry;
      e.band.catch(() => {
        if (this.bands.get(index) === e) this.bands.delete(index);
      });
    }
    entry.users++;
    this.evict();
    return entry;
  }

  /** Closes least-recently-used bands that no read is using until at most maxOpen remain. */
  private evict(): void {
    if (this.bands.size <= this.maxOpen) return;
    for (const [k, e] of this.bands) {
      if (this.bands.size <= this.maxOpen) break;
      if (e.users > 0) continue;
      this.bands.delete(k);
      e.band.then((b) => b.handle?.close()).catch(() => undefined);
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (this.closed) throw new DmgkitError('IO_ERROR', `${this.dir} is closed`, {});
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    const bs = this.info.bandSize;
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const index = Math.floor(pos / bs);
      const inBand = pos - index * bs;
      const n = Math.min(length - done, bs - inBand);
      const entry = await this.acquire(index);
      try {
        const band = await entry.band;
        const avail = Math.min(n, band.size - inBand);
        if (band.handle && avail > 0) {
          let got = 0;
          while (got < avail) {
            const { bytesRead } = await band.handle.read(out, done + got, avail - got, inBand + got);
            if (bytesRead === 0) break; // the band file shrank: the rest stays zero
            got += bytesRead;
          }
        }
      } catch (e) {
        if (e instanceof DmgkitError) throw e;
        const err = e as NodeJS.ErrnoException;
        throw new DmgkitError('IO_ERROR', `reading band ${bandFileName(index)} of ${this.dir} ${at(inBand)}: ${err.code ?? err.message}`, { offset: pos }, { cause: e });
      } finally {
        entry.users--;
        this.evict();
      }
      done += n;
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.bands.values()];
    this.bands.clear();
    for (const e of all) {
      const b = await e.band.catch(() => null);
      if (b?.handle) await b.handle.close().catch(() => undefined);
    }
  }
}

/**
 * An encrypted bundle keeps its CDSA encryption header in `token` ('encrcdsa' at 0, or a 'cdsaencr' footer) and
 * encrypts every band (keramics sparsebundle/image.rs `read_token_file`). Refused with ENCRYPTED.
 */
async function refuseEncryptedToken(dir: string): Promise<void> {
  const f = await openRegular(join(dir, TOKEN), 'token file'); // null: not encrypted (older bundles may lack it)
  if (!f) return;
  try {
    const src = new FileHandleSource(f.handle, f.size, join(dir, TOKEN));
    const info = await detectEncryption(src);
    if (info) throw encryptedError(info, dir);
  } finally {
    await f.handle.close();
  }
}

/** Minimal ByteSource over an open FileHandle (used for the token file). */
class FileHandleSource implements ByteSource {
  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly name: string,
  ) {}
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    const { bytesRead } = await this.handle.read(out, 0, length, offset);
    if (bytesRead !== length) throw new DmgkitError('TRUNCATED', `${this.name} ended early ${at(offset + bytesRead)}`, { offset: offset + bytesRead });
    return out;
  }
}

/** Opens a sparse bundle directory. Info.bckup is used when Info.plist is missing or damaged (with a warning). */
export async function openSparseBundle(dir: string, opts: SparseBundleOptions = {}): Promise<SparseBundle> {
  let st;
  try {
    st = await lstat(dir);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new DmgkitError(err.code === 'ENOENT' ? 'NOT_FOUND' : 'IO_ERROR', `cannot open ${dir}: ${errorReason(err)}`, { path: dir }, { cause: e });
  }
  if (st.isSymbolicLink()) st = await stat(dir).catch(() => st!); // the bundle path itself is the caller's
  if (!st.isDirectory()) throw new DmgkitError('NOT_A_DIRECTORY', `${dir} is not a sparse bundle directory`, { path: dir });
  const warnings: string[] = [];
  let info: SparseBundleInfo;
  try {
    info = parseInfo(await readInfoFile(join(dir, INFO_PLIST)), join(dir, INFO_PLIST));
  } catch (first) {
    try {
      info = parseInfo(await readInfoFile(join(dir, INFO_BACKUP)), join(dir, INFO_BACKUP));
      info.usedBackup = true;
      warnings.push(`${INFO_PLIST} is unusable (${(first as Error).message}); the backup ${INFO_BACKUP} was used instead`);
    } catch (second) {
      const missing = (first as DmgkitError)?.details?.errno === 'ENOENT' && (second as DmgkitError)?.details?.errno === 'ENOENT';
      if (missing) {
        throw new DmgkitError('NOT_AN_IMAGE', `${dir} is a folder but not a sparse bundle (it has no ${INFO_PLIST} or ${INFO_BACKUP})`, { path: dir }, { cause: first });
      }
      throw first;
    }
  }
  await refuseEncryptedToken(dir);
  // bands/ must be a directory of the bundle, not a symlink to one elsewhere (absent: every band reads as zeros)
  const bandsSt = await lstat(join(dir, BANDS_DIR)).catch(() => null);
  if (bandsSt && !bandsSt.isDirectory()) {
    throw new DmgkitError('UNSAFE_PATH', `${join(dir, BANDS_DIR)} is not a directory of the bundle (a symlink or a file); refused`, { path: join(dir, BANDS_DIR) });
  }
  const maxOpen = Math.max(1, opts.maxOpenBands ?? 16);
  return new SparseBundleSource(dir, info, warnings, maxOpen);
}
