/**
 * Shared shapes of the partition-map layer. `partition-map.ts` re-exports them; the scheme parsers (apm.ts,
 * gpt.ts, mbr.ts) fill them in.
 */

export type PartitionScheme = 'apm' | 'gpt' | 'mbr' | 'none';

/** Apple Partition Map fields of one entry (Inside Macintosh: Devices, "Partition Map Entry"). */
export interface ApmEntryFields {
  /** pmMapBlkCnt: entries in the map, as this entry states it. */
  mapEntries: number;
  /** pmPyPartStart / pmPartBlkCnt in map units (see PartitionMap.blockSize). */
  startBlock: number;
  blockCount: number;
  /** pmLgDataStart / pmDataCnt: the file system's data area inside the partition, in map units. */
  dataStart: number;
  dataCount: number;
  /** pmPartStatus bits: 0 valid, 1 allocated, 2 in use, 3 bootable, 4 readable, 5 writable, 30/31 startup. */
  status: number;
  bootStart: number;
  bootSize: number;
  bootAddr: number;
  bootEntry: number;
  bootChecksum: number;
  /** pmProcessor, e.g. "powerpc" or "68000"; empty when unset. */
  processor: string;
  /** Byte offset of this entry in the disk. */
  entryOffset: number;
}

export interface GptEntryFields {
  /** Unique partition GUID, canonical upper-case text. */
  uniqueGuid: string;
  firstLba: number;
  /** Inclusive. */
  lastLba: number;
  /** The 64-bit attribute field as 16 hex digits (bit 0 required, 1 no block-IO, 2 legacy BIOS bootable). */
  attributes: string;
}

export interface MbrEntryFields {
  /** Status byte: 0x80 = bootable (active). */
  status: number;
  bootable: boolean;
  /** True for partitions found through an extended partition's EBR chain. */
  logical: boolean;
  /** Absolute first sector and sector count. */
  startLba: number;
  sectorCount: number;
  /** Raw CHS triples as "cyl-head-sector" (informational). */
  beginChs: string;
  endChs: string;
}

export interface PartitionEntry {
  /** Position in the table: APM map entry number (0 = the entry at block 1), GPT slot, MBR slot (logical: 4+). */
  index: number;
  name: string;
  /** APM type string, GPT type GUID (upper-case canonical), MBR type byte as "0x.." hex. */
  type: string;
  /** Human name of the type: 'Apple_HFS', 'Apple HFS+', 'EFI System', 'FAT32 (LBA)', ... */
  typeName: string;
  /** Bytes from the disk start. */
  offset: number;
  /** Bytes, as the map states it (may run past the disk: see warnings; openPartition clamps). */
  size: number;
  apm?: ApmEntryFields;
  gpt?: GptEntryFields;
  mbr?: MbrEntryFields;
}

export interface ApmDriverDescriptor {
  block: number;
  size: number;
  type: number;
}

export interface ApmDetails {
  /** sbBlkSize from the DDM (block 0), as stored. */
  ddmBlockSize: number;
  /** sbBlkCount from the DDM; unreliable (xorriso stores x86 code there), informational only. */
  ddmBlockCount: number;
  devType: number;
  devId: number;
  drivers: ApmDriverDescriptor[];
  /** Distance between map entries in bytes (512 when the 7-Zip rule selects 512-byte mode). */
  entryStep: number;
}

export interface GptHeaderInfo {
  which: 'primary' | 'backup';
  /** Byte offset of the header. */
  offset: number;
  revision: number;
  headerSize: number;
  headerCrcOk: boolean;
  tableCrcOk: boolean;
  myLba: number;
  alternateLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  entriesLba: number;
  entryCount: number;
  entrySize: number;
}

export interface GptDetails {
  sectorSize: number;
  diskGuid: string;
  /** The header whose table was used. */
  used: 'primary' | 'backup';
  primary?: GptHeaderInfo;
  backup?: GptHeaderInfo;
  /** Protective MBR state: 'protective' (one 0xEE entry), 'hybrid' (0xEE plus others), 'missing'. */
  protectiveMbr: 'protective' | 'hybrid' | 'missing';
}

export interface MbrDetails {
  /** Disk signature at 0x1B8. */
  diskSignature: number;
  sectorSize: number;
  /** Extended partitions (containers of the EBR chain); not listed as entries, like 7-Zip. */
  extended: { slot: number; type: string; offset: number; size: number }[];
}

export interface PartitionMap {
  scheme: PartitionScheme;
  /** Unit of the map: APM entry unit, GPT/MBR logical sector size; 512 for 'none'. */
  blockSize: number;
  entries: PartitionEntry[];
  warnings: string[];
  apm?: ApmDetails;
  gpt?: GptDetails;
  mbr?: MbrDetails;
  /**
   * Other maps present on the same disk (hybrid ISOs carry APM + GPT + MBR): readable with `opts.scheme`.
   * A GPT's own protective/hybrid MBR is not listed here (see gpt.protectiveMbr).
   */
  otherSchemes?: Exclude<PartitionScheme, 'none'>[];
}

/** Bounds on what a partition map may make us read or loop over. */
export interface PartitionMapOptions {
  /** Most entries accepted from one map (APM map count, GPT entry count, MBR logical partitions). Default 4096. */
  maxEntries?: number;
  /** Largest GPT entry array read, in bytes (entry count × entry size). Default 1 MiB. */
  maxGptTableBytes?: number;
  /** Most EBR hops followed in an MBR extended chain. Default 256. */
  maxExtendedHops?: number;
  /** Force a logical sector size for GPT/MBR (512 or 4096); by default GPT tries 512 then 4096. */
  sectorSize?: number;
  /** Read this scheme only (for hybrid disks); by default APM, then GPT, then MBR. */
  scheme?: Exclude<PartitionScheme, 'none'>;
}

export interface ResolvedPartitionMapOptions {
  maxEntries: number;
  maxGptTableBytes: number;
  maxExtendedHops: number;
  sectorSize?: number;
  scheme?: Exclude<PartitionScheme, 'none'>;
}

export const DEFAULT_PARTITION_MAP_OPTIONS: Readonly<ResolvedPartitionMapOptions> = Object.freeze({
  maxEntries: 4096,
  maxGptTableBytes: 1024 * 1024,
  maxExtendedHops: 256,
});

export function resolvePartitionMapOptions(o?: PartitionMapOptions): ResolvedPartitionMapOptions {
  return { ...DEFAULT_PARTITION_MAP_OPTIONS, ...(o ?? {}) };
}
