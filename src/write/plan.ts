/**
 * Lays out the block tables of an image the way hdiutil does, from what the input is:
 * - a UDIF image: its own tables and runs, kept (names, IDs, attributes, sector ranges, zero and free runs);
 * - a disk with a partition map: one table per map entry in disk order (protective MBR, GPT header and table,
 *   each partition, free space, backup table and header; DDM and partition map for APM; MBR and partitions),
 *   named `Name (Type : n)`, gaps and free entries as free space;
 * - anything else: one `whole disk` table.
 * Free space outside the file systems (gaps, Apple_Free) becomes ignore chunks only where the bytes really are
 * zeros (checked as they are read). Inside an HFS+/HFSX volume, the blocks its allocation file marks free are
 * free space too: ignore chunks where they hold zeros, stored where they hold bytes (deleted files' data), so the
 * image still decodes to the input disk; with `discardFreeSpace` they become ignore chunks without being read
 * (they read back as zeros). See docs/formats/writing.md for what hdiutil does.
 */
import { SliceSource, type ByteSource } from '../io/source.js';
import { openHfs } from '../hfs/volume.js';
import { readPartitionMap } from '../disk/partition-map.js';
import type { PartitionEntry, PartitionMap } from '../disk/types.js';
import { sniffFilesystem } from '../disk/filesystem.js';
import { CHUNK_IGNORE, CHUNK_ZERO } from '../udif/chunk-types.js';
import type { UdifImage } from '../udif/image.js';
import { SECTOR } from '../udif/layout.js';
import { type ImagePlan, type RunKind, type RunPlan, type TablePlan, checkPlan, HDIUTIL_ATTRIBUTES, WHOLE_DISK_DESCRIPTOR } from '../udif/write/plan.js';

/** Side resources that describe the old data fork and are not carried over to a new image. */
const STALE_RESOURCES = new Set(['blkx', 'cSum', 'nsiz', 'size']);

/**
 * The plan of a UDIF source kept as it is: same tables, same zero and ignore runs, data runs re-encoded. Null
 * when its tables do not tile the disk (gaps or overlaps): such an image is planned from its partition map.
 */
export function planFromUdif(img: UdifImage): ImagePlan | null {
  const tables: TablePlan[] = [];
  for (const p of img.partitions) {
    const runs: RunPlan[] = [];
    let at = 0;
    const push = (kind: RunPlan['kind'], start: number, count: number) => {
      if (start > at) runs.push({ kind: 'data', sectorStart: at, sectorCount: start - at });
      if (count > 0) runs.push({ kind, sectorStart: start, sectorCount: count });
      at = start + count;
    };
    for (let i = p.firstChunk; i < p.firstChunk + p.chunkCount; i++) {
      const c = img.chunks[i];
      const start = (c.outOffset - p.offset) / SECTOR;
      const count = c.outLength / SECTOR;
      if (start < at || start + count > p.sectorCount || !Number.isInteger(start) || !Number.isInteger(count)) return null;
      push(c.type === CHUNK_ZERO ? 'zero' : c.type === CHUNK_IGNORE ? 'ignore' : 'stored', start, count);
    }
    push('data', p.sectorCount, 0);
    tables.push({
      name: p.name,
      cfName: p.cfName ?? null,
      id: p.id,
      attributes: p.attributes,
      blocksDescriptor: p.blocksDescriptor,
      firstSector: p.firstSector,
      sectorCount: p.sectorCount,
      runs,
    });
  }
  tables.sort((a, b) => a.firstSector - b.firstSector);
  const plan: ImagePlan = {
    tables,
    variant: img.koly.imageVariant === 2 ? 2 : 1,
    resources: img.resourceTypes.filter((t) => !STALE_RESOURCES.has(t)).flatMap((t) => [...img.resources(t)]),
  };
  try {
    checkPlan(plan, img.size / SECTOR);
  } catch {
    return null;
  }
  return plan;
}

/** hdiutil's partition type names for GPT type GUIDs (others keep the GUID). */
const GPT_HDIUTIL_TYPES: Record<string, string> = {
  '48465300-0000-11AA-AA11-00306543ECAC': 'Apple_HFS',
  '48465800-0000-11AA-AA11-00306543ECAC': 'Apple_HFSX',
  '7C3457EF-0000-11AA-AA11-00306543ECAC': 'Apple_APFS',
  '426F6F74-0000-11AA-AA11-00306543ECAC': 'Apple_Boot',
  '55465300-0000-11AA-AA11-00306543ECAC': 'Apple_UFS',
  '53746F72-6167-11AA-AA11-00306543ECAC': 'Apple_CoreStorage',
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'EFI',
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': 'Microsoft Basic Data',
  'E3C9E316-0B5C-4DB8-817D-F92DF00215AE': 'Microsoft Reserved',
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'Linux',
};

/** hdiutil's partition type names for MBR type bytes (read off real images; others as hex). */
const MBR_HDIUTIL_TYPES: Record<number, string> = {
  0x01: 'DOS_FAT_12',
  0x04: 'DOS_FAT_16',
  0x06: 'Windows_FAT_16',
  0x0e: 'Windows_FAT_16',
  0x0b: 'DOS_FAT_32',
  0x0c: 'DOS_FAT_32',
  0x07: 'Windows_NTFS',
  0x83: 'Linux',
  0xaf: 'Apple_HFS',
  0xab: 'Apple_Boot',
  0xee: 'EFI',
  0xef: 'EFI',
};

interface Segment {
  start: number;
  count: number;
  label: string;
  type: string;
  free: boolean;
}

function entryType(map: PartitionMap, e: PartitionEntry): string {
  if (map.scheme === 'gpt') return GPT_HDIUTIL_TYPES[e.type] ?? e.type;
  if (map.scheme === 'mbr') {
    const b = parseInt(e.type, 16);
    return MBR_HDIUTIL_TYPES[b] ?? `0x${b.toString(16).padStart(2, '0').toUpperCase()}`;
  }
  return e.type;
}

/** The map's own structures (MBR, GPT headers and tables, DDM) as segments. */
function structureSegments(map: PartitionMap, diskSectors: number): Segment[] {
  const segs: Segment[] = [];
  if (map.scheme === 'gpt') {
    const g = map.gpt!;
    const unit = g.sectorSize / SECTOR;
    segs.push({ start: 0, count: unit, label: 'Protective Master Boot Record', type: 'MBR', free: false });
    for (const h of [g.primary, g.backup]) {
      if (!h) continue;
      const primary = h.which === 'primary';
      const tableSectors = Math.ceil((h.entryCount * h.entrySize) / g.sectorSize) * unit;
      segs.push({ start: h.myLba * unit, count: unit, label: 'GPT Header', type: primary ? 'Primary GPT Header' : 'Backup GPT Header', free: false });
      segs.push({ start: h.entriesLba * unit, count: tableSectors, label: 'GPT Partition Data', type: primary ? 'Primary GPT Table' : 'Backup GPT Table', free: false });
    }
  } else if (map.scheme === 'mbr') {
    segs.push({ start: 0, count: 1, label: 'Master Boot Record', type: 'MBR', free: false });
  } else if (map.scheme === 'apm') {
    segs.push({ start: 0, count: map.blockSize / SECTOR, label: 'Driver Descriptor Map', type: 'DDM', free: false });
  }
  return segs.filter((s) => s.start < diskSectors && s.count > 0);
}

export interface PlanOptions {
  /** Leave out the bytes of free blocks inside HFS+ volumes (they read back as zeros); default: kept. */
  discardFreeSpace?: boolean;
}

/** hdiutil's type names of the tables that hold an HFS+/HFSX volume. */
const HFS_TYPES = new Set(['Apple_HFS', 'Apple_HFSX']);
/** Free runs shorter than this (sectors) stay data when their bytes are kept: not worth a chunk of their own. */
const MIN_FREE_SECTORS = 32;
/** Sectors at a volume's start (boot blocks, volume header) and end (alternate header) never made free. */
const HFS_HEAD_SECTORS = 3;
const HFS_TAIL_SECTORS = 2;

/**
 * The runs of a table holding an HFS+/HFSX volume at sectors [first, first + count) of `disk`: data, and the
 * free blocks of its allocation file as `free` runs (`ignore` with discardFreeSpace). Null when no HFS+ volume opens
 * there (another file system, a wrapper, damage): the table is then planned as plain data.
 */
export async function hfsRuns(disk: ByteSource, first: number, count: number, opts: PlanOptions = {}): Promise<RunPlan[] | null> {
  let free: { startBlock: number; blockCount: number }[];
  let blockSize: number;
  try {
    const vol = await openHfs(new SliceSource(disk, first * SECTOR, count * SECTOR));
    try {
      if (vol.info.embeddedOffset !== undefined || vol.info.blockSize % SECTOR !== 0) return null;
      blockSize = vol.info.blockSize;
      // Discarding: every free run (up to freeBlockRuns' cap; runs beyond it keep their bytes).
      const minSectors = opts.discardFreeSpace ? 1 : MIN_FREE_SECTORS;
      free = await vol.freeBlockRuns({ minBlocks: Math.ceil((minSectors * SECTOR) / blockSize) });
    } finally {
      await vol.close();
    }
  } catch {
    return null;
  }
  const kind: RunKind = opts.discardFreeSpace ? 'ignore' : 'free';
  const per = blockSize / SECTOR;
  const runs: RunPlan[] = [];
  let at = 0;
  for (const f of free) {
    const a = Math.max(HFS_HEAD_SECTORS, f.startBlock * per);
    const b = Math.min(count - HFS_TAIL_SECTORS, (f.startBlock + f.blockCount) * per);
    if (b <= a || (!opts.discardFreeSpace && b - a < MIN_FREE_SECTORS)) continue;
    if (a > at) runs.push({ kind: 'data', sectorStart: at, sectorCount: a - at });
    runs.push({ kind, sectorStart: a, sectorCount: b - a });
    at = b;
  }
  if (runs.length === 0) return null;
  if (at < count) runs.push({ kind: 'data', sectorStart: at, sectorCount: count - at });
  return runs;
}

/** Tables for a disk with a partition map; null when the map gives nothing usable. */
export function planFromMap(map: PartitionMap, diskSectors: number): ImagePlan | null {
  if (map.scheme === 'none' || map.entries.length === 0) return null;
  const segs = structureSegments(map, diskSectors);
  for (const e of map.entries) {
    if (e.size <= 0 || e.offset % SECTOR !== 0) continue;
    const start = e.offset / SECTOR;
    const count = Math.ceil(e.size / SECTOR);
    const type = entryType(map, e);
    segs.push({ start, count, label: e.name, type, free: type === 'Apple_Free' });
  }
  segs.sort((a, b) => a.start - b.start || b.count - a.count);
  // Clip overlaps (a later segment starts where the earlier one ends) and the disk end; fill gaps with free space.
  const tiled: Segment[] = [];
  let at = 0;
  for (const s of segs) {
    const start = Math.max(s.start, at);
    const end = Math.min(s.start + s.count, diskSectors);
    if (end <= start) continue;
    if (start > at) tiled.push({ start: at, count: start - at, label: '', type: 'Apple_Free', free: true });
    tiled.push({ ...s, start, count: end - start });
    at = end;
  }
  if (at < diskSectors) tiled.push({ start: at, count: diskSectors - at, label: '', type: 'Apple_Free', free: true });
  const tables: TablePlan[] = tiled.map((s, i) => {
    const name = `${s.label} (${s.type} : ${i})`;
    const id = i - 1;
    return {
      name,
      id,
      attributes: HDIUTIL_ATTRIBUTES,
      // hdiutil: APM tables carry their ID, the others their index.
      blocksDescriptor: map.scheme === 'apm' ? id >>> 0 : i,
      firstSector: s.start,
      sectorCount: s.count,
      runs: [{ kind: s.free ? 'free' : 'data', sectorStart: 0, sectorCount: s.count }],
    };
  });
  return { tables, variant: 1 };
}

const WHOLE_DISK_TYPES: Partial<Record<string, string>> = { hfsplus: 'Apple_HFS', hfsx: 'Apple_HFSX', hfs: 'Apple_HFS', 'hfs-wrapper': 'Apple_HFS' };

/** Splits the tables that hold an HFS+ volume into data and free runs (see hfsRuns). */
async function withHfsFreeSpace(disk: ByteSource, plan: ImagePlan, opts: PlanOptions): Promise<ImagePlan> {
  for (const t of plan.tables) {
    const type = /\(([^()]*) : \d+\)$/.exec(t.name)?.[1] ?? '';
    if (!HFS_TYPES.has(type) || (t.runs && (t.runs.length !== 1 || t.runs[0].kind !== 'data'))) continue;
    const runs = await hfsRuns(disk, t.firstSector, t.sectorCount, opts);
    if (runs) t.runs = runs;
  }
  return plan;
}

/** One `whole disk` table (no partition map), typed after the file system found, as hdiutil does. */
export async function planWholeDisk(disk: ByteSource): Promise<ImagePlan> {
  let type = 'unknown partition';
  try {
    type = WHOLE_DISK_TYPES[(await sniffFilesystem(disk)).type] ?? type;
  } catch {
    // unreadable file system: keep the neutral name
  }
  const sectors = disk.size / SECTOR;
  return {
    variant: 2,
    tables: [{
      name: `whole disk (${type} : 0)`, id: 0, attributes: HDIUTIL_ATTRIBUTES, blocksDescriptor: WHOLE_DISK_DESCRIPTOR,
      firstSector: 0, sectorCount: sectors,
    }],
  };
}

/**
 * The plan for any decoded disk (not a UDIF image kept as it is): by its partition map, else whole disk; free
 * blocks of HFS+ volumes as ignore runs (see PlanOptions).
 */
export async function planDisk(disk: ByteSource, opts: PlanOptions = {}): Promise<ImagePlan> {
  let map: PartitionMap | null = null;
  try {
    map = await readPartitionMap(disk);
  } catch {
    map = null;
  }
  const plan = (map && planFromMap(map, disk.size / SECTOR)) ?? (await planWholeDisk(disk));
  return withHfsFreeSpace(disk, plan, opts);
}
