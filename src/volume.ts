import { DmgkitError } from './errors.js';
import type { Limits } from './limits.js';
import type { ByteSource } from './io/source.js';
import { type OpenedDisk, type OpenOptions, openDisk } from './open.js';
import type { SourceInput } from './io/open-source.js';
import { readPartitionMap, openPartition, type PartitionEntry } from './disk/partition-map.js';
import { sniffFilesystem } from './disk/filesystem.js';
import { openHfs, type HfsVolume } from './hfs/volume.js';

const HFS_TYPES = new Set(['hfsplus', 'hfsx', 'hfs-wrapper']);

export interface OpenVolumeOptions extends OpenOptions {
  /** Partition-map entry index; default: the first HFS+/HFSX volume. */
  partition?: number;
  limits?: Partial<Limits>;
}

export interface OpenedVolume {
  volume: HfsVolume;
  disk: OpenedDisk;
  /** The partition-map entry holding the volume (absent when the disk has no map). */
  entry?: PartitionEntry;
  close(): Promise<void>;
}

/** Finds and opens the HFS+/HFSX volume of an opened disk: the given partition, else the first HFS+ one. */
export async function openVolumeOf(opened: OpenedDisk, opts: OpenVolumeOptions = {}): Promise<Omit<OpenedVolume, 'disk' | 'close'>> {
  const map = await readPartitionMap(opened.disk);
  const candidates: { src: ByteSource; entry?: PartitionEntry }[] =
    map.entries.length > 0 ? map.entries.filter((e) => e.size > 0 && e.offset < opened.disk.size).map((e) => ({ src: openPartition(opened.disk, e), entry: e })) : [{ src: opened.disk }];
  if (opts.partition !== undefined) {
    const c = candidates.find((x) => x.entry?.index === opts.partition);
    if (!c) throw new DmgkitError('OUT_OF_RANGE', `no partition ${opts.partition} in the ${map.scheme} partition map`);
    return { volume: await openHfs(c.src, { limits: opts.limits }), entry: c.entry };
  }
  const found: string[] = [];
  for (const c of candidates) {
    const fs = await sniffFilesystem(c.src);
    if (HFS_TYPES.has(fs.type)) return { volume: await openHfs(c.src, { limits: opts.limits }), entry: c.entry };
    if (fs.type !== 'unknown') found.push(fs.name);
  }
  // classic HFS and others: let the HFS reader say what it is
  const hfs = candidates.find(() => found.some((n) => n.startsWith('HFS')));
  if (hfs) return { volume: await openHfs(hfs.src, { limits: opts.limits }), entry: hfs.entry };
  throw new DmgkitError(
    'NOT_FOUND',
    `no HFS+ or HFSX volume in this disk (${map.scheme === 'none' ? 'no partition map' : `${map.scheme} map`}${found.length ? `; found ${[...new Set(found)].join(', ')}` : ''})`,
  );
}

/** Opens an image (any container) and its HFS+/HFSX volume. */
export async function openVolume(input: SourceInput, opts: OpenVolumeOptions = {}): Promise<OpenedVolume> {
  const disk = await openDisk(input, opts);
  try {
    const v = await openVolumeOf(disk, opts);
    return { ...v, disk, close: () => disk.close() };
  } catch (e) {
    await disk.close();
    throw e;
  }
}
