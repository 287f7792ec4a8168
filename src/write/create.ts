/**
 * `create`: a partitioned disk around a raw file-system image (an HFS+ volume, a FAT image, an ISO), laid out the
 * way hdiutil lays one out, so that macOS, 7-Zip and other tools see a normal disk image:
 * - GPT: protective MBR, header and 128-entry table, the volume at sector 40, backup table and header at the end;
 * - APM: driver descriptor map, a 63-block partition map ("Apple", Apple_partition_map), the volume at block 64;
 * - MBR: the MBR, the volume from sector 1 (as hdiutil's FAT images);
 * - none: the volume alone (a "whole disk" image).
 * The disk is assembled virtually (a ByteSource over the volume and the generated sectors): nothing is copied.
 * GUIDs are derived from the volume's first MiB, its size and the name, so the same input gives the same image.
 */
import { DmgkitError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { checkRange } from '../io/source.js';
import { sha256 } from '../util/sha256.js';
import { sniffFilesystem, type FilesystemType } from '../disk/filesystem.js';
import { parseGuid } from '../disk/guid.js';
import { serializeGpt } from '../disk/gpt.js';
import { serializeApmEntries, serializeDdm } from '../disk/apm.js';
import { serializeMbr } from '../disk/mbr.js';

export type CreateScheme = 'apm' | 'gpt' | 'mbr' | 'none';

export interface CreateDiskOptions {
  scheme: CreateScheme;
  /** Partition name (GPT/APM); hdiutil's default is "disk image". The file system's own label is not changed. */
  name?: string;
}

const SECTOR = 512;
/** Where hdiutil puts the volume: GPT sector 40, APM block 64, MBR sector 1. */
export const GPT_VOLUME_START = 40;
export const APM_VOLUME_START = 64;
export const MBR_VOLUME_START = 1;
const APM_MAP_BLOCKS = 63;

const GPT_TYPES: Partial<Record<FilesystemType, string>> = {
  hfsplus: '48465300-0000-11AA-AA11-00306543ECAC',
  hfsx: '48465300-0000-11AA-AA11-00306543ECAC',
  hfs: '48465300-0000-11AA-AA11-00306543ECAC',
  'hfs-wrapper': '48465300-0000-11AA-AA11-00306543ECAC',
  apfs: '7C3457EF-0000-11AA-AA11-00306543ECAC',
};
const BASIC_DATA = 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7';
const APM_TYPES: Partial<Record<FilesystemType, string>> = {
  hfsplus: 'Apple_HFS', hfsx: 'Apple_HFSX', hfs: 'Apple_HFS', 'hfs-wrapper': 'Apple_HFS', apfs: 'Apple_APFS',
  fat12: 'DOS_FAT_12', fat16: 'DOS_FAT_16', fat32: 'DOS_FAT_32', exfat: 'Windows_NTFS', ntfs: 'Windows_NTFS',
};
const MBR_TYPES: Partial<Record<FilesystemType, number>> = {
  hfsplus: 0xaf, hfsx: 0xaf, hfs: 0xaf, 'hfs-wrapper': 0xaf, fat12: 0x01, fat16: 0x06, fat32: 0x0b, exfat: 0x07, ntfs: 0x07,
};

interface Piece {
  start: number;
  bytes?: Uint8Array;
  /** A window of the volume. */
  volume?: { offset: number; length: number };
  length: number;
}

/** A disk assembled from generated sectors, the volume and zeros. */
class ComposedDisk implements ByteSource {
  constructor(
    readonly size: number,
    private readonly pieces: Piece[],
    private readonly volume: ByteSource,
    readonly name: string,
  ) {}
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    const end = offset + length;
    for (const p of this.pieces) {
      const a = Math.max(offset, p.start);
      const b = Math.min(end, p.start + p.length);
      if (a >= b) continue;
      if (p.bytes) out.set(p.bytes.subarray(a - p.start, b - p.start), a - offset);
      else if (p.volume) {
        const va = p.volume.offset + (a - p.start);
        const vb = Math.min(p.volume.offset + p.volume.length, va + (b - a));
        if (vb > va) out.set(await this.volume.read(va, vb - va), a - offset);
      }
    }
    return out;
  }
}

function guidFrom(seed: Uint8Array, tag: number): Uint8Array {
  const b = new Uint8Array(seed.length + 1);
  b.set(seed);
  b[seed.length] = tag;
  const g = sha256(b).slice(0, 16);
  // Stored GUIDs are mixed-endian: the version nibble is in byte 7 (field 3, little-endian), the variant in byte 8.
  g[7] = (g[7] & 0x0f) | 0x40;
  g[8] = (g[8] & 0x3f) | 0x80;
  return g;
}

/** The partitioned disk around `volume`; the volume's size is rounded up to whole sectors with zeros. */
export async function createDisk(volume: ByteSource, opts: CreateDiskOptions): Promise<ByteSource> {
  const volSectors = Math.ceil(volume.size / SECTOR);
  if (volSectors === 0) throw new DmgkitError('INVALID_ARGUMENT', `${volume.name ?? 'the volume'} is empty`);
  let fs: FilesystemType = 'unknown';
  try {
    fs = (await sniffFilesystem(volume)).type;
  } catch {
    fs = 'unknown';
  }
  const name = opts.name ?? 'disk image';
  const label = `${volume.name ?? 'volume'} with ${opts.scheme.toUpperCase()}`;
  const vol = (start: number): Piece => ({ start: start * SECTOR, length: volSectors * SECTOR, volume: { offset: 0, length: volume.size } });
  const head = await volume.read(0, Math.min(volume.size, 1 << 20));
  const seed = new Uint8Array(head.length + 48);
  seed.set(head);
  new DataView(seed.buffer).setFloat64(head.length, volume.size);
  seed.set(new TextEncoder().encode(`${opts.scheme}:${name}`).subarray(0, 40), head.length + 8);

  switch (opts.scheme) {
    case 'none':
      return new ComposedDisk(volSectors * SECTOR, [vol(0)], volume, label);
    case 'mbr': {
      const total = MBR_VOLUME_START + volSectors;
      const mbr = serializeMbr([{ type: MBR_TYPES[fs] ?? 0x83, startLba: MBR_VOLUME_START, sectorCount: volSectors }], new DataView(guidFrom(seed, 3).buffer).getUint32(0));
      return new ComposedDisk(total * SECTOR, [{ start: 0, bytes: mbr, length: SECTOR }, vol(MBR_VOLUME_START)], volume, label);
    }
    case 'apm': {
      const total = APM_VOLUME_START + volSectors;
      const entries = serializeApmEntries([
        { name: 'Apple', type: 'Apple_partition_map', startBlock: 1, blockCount: APM_MAP_BLOCKS, status: 0x3 },
        { name, type: APM_TYPES[fs] ?? 'Apple_HFS', startBlock: APM_VOLUME_START, blockCount: volSectors, status: 0x40000033 },
      ]);
      return new ComposedDisk(total * SECTOR, [
        { start: 0, bytes: serializeDdm(total), length: SECTOR },
        { start: SECTOR, bytes: entries, length: entries.length },
        vol(APM_VOLUME_START),
      ], volume, label);
    }
    case 'gpt': {
      const tableSectors = 32;
      const total = GPT_VOLUME_START + volSectors + tableSectors + 1;
      const gpt = serializeGpt([{
        typeGuid: parseGuid(GPT_TYPES[fs] ?? BASIC_DATA),
        uniqueGuid: guidFrom(seed, 2),
        firstLba: GPT_VOLUME_START,
        lastLba: GPT_VOLUME_START + volSectors - 1,
        name,
      }], guidFrom(seed, 1), total);
      const backupTable = total - 1 - tableSectors;
      return new ComposedDisk(total * SECTOR, [
        { start: 0, bytes: gpt.protectiveMbr, length: SECTOR },
        { start: SECTOR, bytes: gpt.primaryHeader, length: SECTOR },
        { start: 2 * SECTOR, bytes: gpt.table, length: gpt.table.length },
        vol(GPT_VOLUME_START),
        { start: backupTable * SECTOR, bytes: gpt.table, length: gpt.table.length },
        { start: (total - 1) * SECTOR, bytes: gpt.backupHeader, length: SECTOR },
      ], volume, label);
    }
    default:
      throw new DmgkitError('INVALID_ARGUMENT', `unknown partition scheme '${String(opts.scheme)}' (apm, gpt, mbr or none)`);
  }
}
