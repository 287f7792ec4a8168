import { DmgkitError, at, isDmgkitError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { SliceSource } from '../io/source.js';
import { hasApmSignature, parseApm } from './apm.js';
import { findGptSectorSize, parseGpt } from './gpt.js';
import { hasBootSignature, isPlausibleTable, looksLikeVolumeBootRecord, parseMbr, readMbrEntries } from './mbr.js';
import { MBR_PROTECTIVE_TYPE, mbrTypeHex } from './mbr-types.js';
import { readIfInside } from './read.js';
import type { PartitionEntry, PartitionMap, PartitionMapOptions } from './types.js';
import { resolvePartitionMapOptions } from './types.js';

export type {
  ApmDetails,
  ApmEntryFields,
  GptDetails,
  GptEntryFields,
  GptHeaderInfo,
  MbrDetails,
  MbrEntryFields,
  PartitionEntry,
  PartitionMap,
  PartitionMapOptions,
  PartitionScheme,
} from './types.js';

const PROTECTIVE_HEX = mbrTypeHex(MBR_PROTECTIVE_TYPE);

const PARSERS = { apm: parseApm, gpt: parseGpt, mbr: parseMbr } as const;

/** Cheap signature checks for the maps not chosen (no full parse). */
async function otherSchemes(disk: ByteSource, map: PartitionMap): Promise<Exclude<PartitionMap['scheme'], 'none'>[]> {
  const out: Exclude<PartitionMap['scheme'], 'none'>[] = [];
  if (map.scheme !== 'apm') {
    const b0 = await readIfInside(disk, 0, 2);
    const pm = await readIfInside(disk, 512, 2);
    const pm2k = await readIfInside(disk, 2048, 2);
    if (b0 && hasApmSignature(b0) && ((pm && pm[0] === 0x50 && pm[1] === 0x4d) || (pm2k && pm2k[0] === 0x50 && pm2k[1] === 0x4d))) out.push('apm');
  }
  if (map.scheme !== 'gpt' && (await findGptSectorSize(disk)) !== null) out.push('gpt');
  if (map.scheme === 'apm') {
    // A real MBR table beside an APM (not the GPT's protective one, reported with the GPT).
    const s0 = await readIfInside(disk, 0, 512);
    if (s0 && !out.includes('gpt') && hasBootSignature(s0) && !looksLikeVolumeBootRecord(s0) && isPlausibleTable(readMbrEntries(s0))) out.push('mbr');
  }
  return out;
}

/** Entry types that describe map bookkeeping or free space, which may overlap or be empty without comment. */
const NON_DATA_APM_TYPES = new Set(['Apple_Free', 'Apple_Void', 'Apple_Scratch', 'Apple_Extra']);

/**
 * Detects and parses the disk's partition map: APM ('ER' + 'PM'), then GPT ('EFI PART' at LBA 1 for 512- or
 * 4096-byte sectors, or a backup at the last LBA), then MBR (0x55AA and a plausible table, not a FAT/NTFS boot
 * sector). Returns scheme 'none' with no entries when none is found: the whole disk is then one volume.
 *
 * Damage is reported in `warnings` (entries past the disk, overlaps, bad CRCs with a usable backup); a
 * CORRUPT_PARTITION_MAP DmgkitError is thrown only when a map is clearly present but nothing in it is usable.
 */
export async function readPartitionMap(disk: ByteSource, opts?: PartitionMapOptions): Promise<PartitionMap> {
  const o = resolvePartitionMapOptions(opts);
  try {
    let map: PartitionMap | null;
    if (o.scheme) {
      map = await PARSERS[o.scheme](disk, o);
      if (!map) {
        throw new DmgkitError('CORRUPT_PARTITION_MAP', `no ${o.scheme.toUpperCase()} partition map found on ${disk.name ?? 'the disk'}`, {});
      }
    } else {
      map = (await parseApm(disk, o)) ?? (await parseGpt(disk, o)) ?? (await parseMbr(disk, o));
      if (!map) return { scheme: 'none', blockSize: 512, entries: [], warnings: [] };
    }
    checkEntries(disk, map);
    const others = await otherSchemes(disk, map);
    if (map.scheme === 'mbr' && !others.includes('gpt') && map.entries.some((e) => e.type === PROTECTIVE_HEX)) {
      map.warnings.push('MBR: a GPT protective entry (0xEE) is present but no valid GPT header was found at LBA 1 or at the end of the disk');
    }
    if (others.length) {
      map.otherSchemes = others;
      map.warnings.push(`hybrid disk: ${others.map((s) => s.toUpperCase()).join(' and ')} also present; ${map.scheme.toUpperCase()} used`);
    }
    return map;
  } catch (e) {
    if (isDmgkitError(e)) throw e;
    throw new DmgkitError('CORRUPT_PARTITION_MAP', `partition map could not be parsed: ${(e as Error).message}`, {}, { cause: e });
  }
}

function isData(map: PartitionMap, e: PartitionEntry): boolean {
  if (e.size === 0) return false;
  if (map.scheme === 'apm') return !NON_DATA_APM_TYPES.has(e.type) && e.type !== 'Apple_partition_map';
  return true;
}

/** Adds warnings for entries past the disk (APM; GPT and MBR check their own) and for overlapping entries. */
function checkEntries(disk: ByteSource, map: PartitionMap): void {
  if (map.scheme === 'apm') {
    for (const e of map.entries) {
      if (e.offset >= disk.size && e.size > 0) {
        map.warnings.push(`APM: entry ${e.index} (${e.type}) starts ${at(e.offset)}, past the end of the disk (${disk.size} bytes)`);
      } else if (e.offset + e.size > disk.size) {
        map.warnings.push(`APM: entry ${e.index} (${e.type}) ${at(e.offset)} runs ${e.offset + e.size - disk.size} bytes past the end of the disk`);
      }
    }
  }
  const data = map.entries.filter((e) => isData(map, e)).sort((a, b) => a.offset - b.offset);
  let overlaps = 0;
  for (let i = 1; i < data.length && overlaps < 16; i++) {
    const prev = data[i - 1];
    const cur = data[i];
    if (cur.offset < prev.offset + prev.size) {
      overlaps++;
      map.warnings.push(
        `${map.scheme.toUpperCase()}: entries ${prev.index} and ${cur.index} overlap (${prev.offset}+${prev.size} and ${cur.offset}+${cur.size})`,
      );
    }
  }
}

/**
 * A byte source over one partition. An entry that runs past the disk is clamped to the disk's end (the map's
 * warnings say so); an entry that starts at or past the end is refused with CORRUPT_PARTITION_MAP.
 */
export function openPartition(disk: ByteSource, e: PartitionEntry): ByteSource {
  if (!Number.isSafeInteger(e.offset) || !Number.isSafeInteger(e.size) || e.offset < 0 || e.size < 0) {
    throw new DmgkitError('CORRUPT_PARTITION_MAP', `partition ${e.index} has an invalid range (${e.offset}, ${e.size})`, {
      offset: e.offset,
    });
  }
  if (e.offset > disk.size || (e.offset === disk.size && e.size > 0)) {
    throw new DmgkitError(
      'CORRUPT_PARTITION_MAP',
      `partition ${e.index} (${e.name || e.typeName}) starts ${at(e.offset)}, past the end of the disk (${disk.size} bytes)`,
      { offset: e.offset },
    );
  }
  const size = Math.min(e.size, disk.size - e.offset);
  const label = `${disk.name ?? 'disk'} partition ${e.index}${e.name ? ` "${e.name}"` : ''}`;
  return new SliceSource(disk, e.offset, Math.max(0, size), label);
}
