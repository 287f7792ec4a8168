/**
 * Writing a sparse bundle (hdiutil UDSB), Node only: a folder with `Info.plist` (and its copy `Info.bckup`), an
 * empty `token` and `bands/<hex>` files for the bands that are not all zeros (absent bands read as zeros, see
 * sparsebundle.ts). The folder is built under a temporary name beside the target and renamed when complete; an
 * existing target is replaced only with `force` and only when it is itself a sparse bundle.
 */
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { rmSync } from 'node:fs';
import { DmgkitError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { registerSignalCleanup } from '../io/cleanup.js';
import { BANDS_DIR, INFO_BACKUP, INFO_PLIST, MAX_BAND_SIZE, SPARSEBUNDLE_TYPE, TOKEN, bandFileName } from './sparsebundle.js';

export interface SparseBundleWriteOptions {
  /** Band size in bytes; default 8 MiB (hdiutil's default). */
  bandSize?: number;
  force?: boolean;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** hdiutil's default band size. */
export const DEFAULT_BUNDLE_BAND_SIZE = 8 * 1024 * 1024;

/** The Info.plist of a bundle of `size` bytes in bands of `bandSize` bytes (the keys hdiutil writes). */
export function bundleInfoPlist(size: number, bandSize: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>CFBundleInfoDictionaryVersion</key>
	<string>6.0</string>
	<key>band-size</key>
	<integer>${bandSize}</integer>
	<key>bundle-backingstore-version</key>
	<integer>1</integer>
	<key>diskimage-bundle-type</key>
	<string>${SPARSEBUNDLE_TYPE}</string>
	<key>size</key>
	<integer>${size}</integer>
</dict>
</plist>
`;
}

function allZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

async function exists(p: string): Promise<import('node:fs').Stats | null> {
  try {
    return await stat(p);
  } catch {
    return null;
  }
}

/** Writes `disk` as a sparse bundle folder at `dir`. */
export async function writeSparseBundle(disk: ByteSource, dir: string, opts: SparseBundleWriteOptions = {}): Promise<void> {
  const bandSize = opts.bandSize ?? DEFAULT_BUNDLE_BAND_SIZE;
  if (!Number.isInteger(bandSize) || bandSize < 512 || bandSize % 512 !== 0 || bandSize > MAX_BAND_SIZE) {
    throw new DmgkitError('INVALID_ARGUMENT', `sparse bundle band size ${bandSize} is not a multiple of 512 in 512..${MAX_BAND_SIZE}`);
  }
  const old = await exists(dir);
  if (old) {
    if (!opts.force) throw new DmgkitError('OUTPUT_EXISTS', `${dir} already exists (--force replaces it)`, { path: dir });
    if (!old.isDirectory() || !(await exists(join(dir, INFO_PLIST)))) {
      throw new DmgkitError('OUTPUT_EXISTS', `refusing to replace ${dir}: it is not a sparse bundle`, { path: dir });
    }
  }
  const temp = join(dirname(dir), `.${basename(dir)}.dmgkit-${process.pid}-${Math.floor(Math.random() * 0x1000000).toString(36)}.part`);
  const unregister = registerSignalCleanup(() => {
    rmSync(temp, { recursive: true, force: true });
    return temp;
  });
  try {
    await mkdir(join(temp, BANDS_DIR), { recursive: true });
    const bandCount = Math.ceil(disk.size / bandSize);
    for (let b = 0; b < bandCount; b++) {
      opts.signal?.throwIfAborted();
      const len = Math.min(bandSize, disk.size - b * bandSize);
      const data = await disk.read(b * bandSize, len);
      if (!allZero(data)) await writeFile(join(temp, BANDS_DIR, bandFileName(b)), data);
      opts.onProgress?.(b * bandSize + len, disk.size);
    }
    const info = bundleInfoPlist(disk.size, bandSize);
    await writeFile(join(temp, INFO_PLIST), info);
    await writeFile(join(temp, INFO_BACKUP), info);
    await writeFile(join(temp, TOKEN), new Uint8Array(0));
    if (old) await rm(dir, { recursive: true, force: true });
    await rename(temp, dir);
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    throw e;
  } finally {
    unregister();
  }
}
