/**
 * What the UDIF writer is told to write: the block tables ("partitions" in UDIF terms) of the image, each with
 * its hdiutil identity (Name, CFName, ID, Attributes, blocksDescriptor) and its sector range, and optionally how
 * the range divides into runs of data, zeros and free space. The planner that derives tables from a partition
 * map lives above the disk layer (src/write/plan.ts); this module only describes and checks plans.
 */
import { DmgkitError } from '../../errors.js';
import type { Resource } from '../resources.js';

/**
 * - `data`: stored; chunks that are all zeros become zero-fill chunks (hdiutil's type 0), leading and trailing
 *   zero runs of a chunk are split off the same way.
 * - `stored`: stored as is, never turned into zero-fill (keeps a source image's layout exactly).
 * - `zero`: zero-fill chunks (the source says so; the bytes are not read).
 * - `free`: free space: one ignore (type 2) chunk per run if the bytes are all zeros, else stored like `data`.
 * - `ignore`: ignore chunk without reading (the source says the range is free and reads as zeros).
 */
export type RunKind = 'data' | 'stored' | 'zero' | 'free' | 'ignore';

export interface RunPlan {
  kind: RunKind;
  /** Relative to the table's first sector. */
  sectorStart: number;
  sectorCount: number;
}

export interface TablePlan {
  /** blkx Name, e.g. "disk image (Apple_HFS : 4)". */
  name: string;
  /** CFName; hdiutil writes it equal to Name. `null` leaves it out. Default: Name. */
  cfName?: string | null;
  /** blkx ID: hdiutil counts from -1 (the MBR or DDM); 0 for a whole-disk table. */
  id: number;
  /** blkx Attributes (hdiutil: 0x0050). */
  attributes?: number;
  /** mish blocksDescriptor (hdiutil: the table index; APM: the ID; whole disk: 0xFFFFFFFE). */
  blocksDescriptor: number;
  firstSector: number;
  sectorCount: number;
  /** Runs covering [0, sectorCount) in order; default: one `data` run. */
  runs?: RunPlan[];
}

export interface ImagePlan {
  tables: TablePlan[];
  /** koly imageVariant: 1 device image (partition map), 2 partition image (no map). */
  variant: number;
  /** Side resources to keep (plst, licence resources LPic/TEXT/STR#/styl, …); blkx is always written anew. */
  resources?: Resource[];
}

export const HDIUTIL_ATTRIBUTES = 0x0050;
export const WHOLE_DISK_DESCRIPTOR = 0xfffffffe;

function bad(msg: string): DmgkitError {
  return new DmgkitError('INVALID_ARGUMENT', `image plan: ${msg}`);
}

/** Checks that the tables tile [0, diskSectors) in order without gaps or overlaps and that runs tile each table. */
export function checkPlan(plan: ImagePlan, diskSectors: number): void {
  let next = 0;
  plan.tables.forEach((t, i) => {
    if (t.firstSector !== next) throw bad(`table ${i} (${t.name}) starts at sector ${t.firstSector}, expected ${next}`);
    if (!Number.isSafeInteger(t.sectorCount) || t.sectorCount < 0) throw bad(`table ${i} has ${t.sectorCount} sectors`);
    next += t.sectorCount;
    let r = 0;
    for (const run of t.runs ?? []) {
      if (run.sectorStart !== r || run.sectorCount <= 0) throw bad(`table ${i} (${t.name}): run at sector ${run.sectorStart} does not follow ${r}`);
      r += run.sectorCount;
    }
    if (t.runs && r !== t.sectorCount) throw bad(`table ${i} (${t.name}): runs cover ${r} of ${t.sectorCount} sectors`);
  });
  if (next !== diskSectors) throw bad(`tables cover ${next} of ${diskSectors} sectors`);
}

/** One table covering the whole disk, the way hdiutil writes a disk without a partition map. */
export function wholeDiskPlan(diskSectors: number, typeName = 'Apple_HFS'): ImagePlan {
  const name = `whole disk (${typeName} : 0)`;
  return { variant: 2, tables: [{ name, id: 0, blocksDescriptor: WHOLE_DISK_DESCRIPTOR, firstSector: 0, sectorCount: diskSectors }] };
}

/** Bytes of the disk the writer reads and encodes under `plan` (data, stored and free runs; zero and ignore runs are not read). */
export function planReadBytes(plan: ImagePlan): number {
  let n = 0;
  for (const t of plan.tables) {
    if (!t.runs) n += t.sectorCount;
    else for (const r of t.runs) if (r.kind !== 'zero' && r.kind !== 'ignore') n += r.sectorCount;
  }
  return n * 512;
}
