import type { OpenedDisk } from '../open.js';
import { readPartitionMap, openPartition, type PartitionMap, type PartitionEntry } from '../disk/partition-map.js';
import { sniffFilesystem, type FilesystemInfo } from '../disk/filesystem.js';
import { DmgkitError } from '../errors.js';

export interface DescribedEntry extends PartitionEntry {
  filesystem: FilesystemInfo | { type: 'unreadable'; name: string; error: string };
  /** The UDIF block table holding exactly this range, when there is one. */
  blkx?: number;
}

export interface DiskDescription {
  partitionMap: Omit<PartitionMap, 'entries'> & { entries: DescribedEntry[] };
  /** For scheme 'none': the file system of the whole disk. */
  filesystem?: DescribedEntry['filesystem'];
  error?: string;
}

async function sniff(src: Parameters<typeof sniffFilesystem>[0]): Promise<DescribedEntry['filesystem']> {
  try {
    return await sniffFilesystem(src);
  } catch (e) {
    if (!(e instanceof DmgkitError)) throw e;
    return { type: 'unreadable', name: 'unreadable', error: e.message };
  }
}

/** The partition map of a disk with the file system found in each entry. */
export async function describeDisk(opened: OpenedDisk): Promise<DiskDescription> {
  let map: PartitionMap;
  try {
    map = await readPartitionMap(opened.disk);
  } catch (e) {
    if (!(e instanceof DmgkitError)) throw e;
    return { partitionMap: { scheme: 'none', blockSize: 512, entries: [], warnings: [e.message] }, error: e.message };
  }
  const entries: DescribedEntry[] = [];
  for (const e of map.entries) {
    const filesystem = e.size > 0 && e.offset < opened.disk.size ? await sniff(openPartition(opened.disk, e)) : { type: 'unknown' as const, name: 'unknown' };
    const blkx = opened.udif?.partitions.find((p) => p.offset === e.offset && p.size === e.size)?.index;
    entries.push({ ...e, filesystem, ...(blkx !== undefined ? { blkx } : {}) });
  }
  const out: DiskDescription = { partitionMap: { ...map, entries } };
  if (map.scheme === 'none' || entries.length === 0) out.filesystem = await sniff(opened.disk);
  return out;
}
