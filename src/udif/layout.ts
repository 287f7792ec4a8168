import { DmgkitError, at } from '../errors.js';
import type { Limits } from '../limits.js';
import type { ByteSource } from '../io/source.js';
import type { Koly } from './koly.js';
import { KOLY_OFF_SECTOR_COUNT, KOLY_SIZE } from './koly.js';
import { type MishTable, parseMish } from './mish.js';
import { type Resource, type ResourceFork } from './resources.js';
import { looksLikeXml, parseXmlPlist } from './xml-plist.js';
import { parseResourceFork } from './rsrc-fork.js';
import { CHUNK_RAW, chunkTypeName, isMarker, isZeroFill } from './chunk-types.js';
import { isCompressedType } from './chunk-codecs.js';
import type { UdifChecksum } from './checksum.js';

export const SECTOR = 512;

/** One blkx table: a "partition" in UDIF terms (DDM, partition map, a file system, free space, …). */
export interface UdifPartition {
  /** Position in the blkx table. */
  index: number;
  name: string;
  cfName?: string;
  id: number;
  attributes: number;
  firstSector: number;
  sectorCount: number;
  /** Byte offset and length in the decoded disk. */
  offset: number;
  size: number;
  dataStart: number;
  blocksDescriptor: number;
  decompressBufferRequested: number;
  checksum: UdifChecksum;
  /** Chunk counts by type name (zero, raw, ignore, zlib, …; comment and terminator included). */
  chunks: Record<string, number>;
  /** Index range of this table's chunks in UdifLayout.chunks. */
  firstChunk: number;
  chunkCount: number;
}

/** A data-bearing chunk placed in the decoded disk and in the file. */
export interface ChunkRef {
  partition: number;
  /** Index of the chunk in its blkx table. */
  index: number;
  type: number;
  /** Byte offset and length in the decoded disk. */
  outOffset: number;
  outLength: number;
  /** Absolute byte offset and length of the stored bytes in the file. */
  inOffset: number;
  inLength: number;
  /** Set when the table places this chunk's bytes outside the file: reading it fails with this message. */
  damage?: string;
}

export interface UdifLayout {
  partitions: UdifPartition[];
  /** All non-marker chunks of all tables, sorted by outOffset. */
  chunks: ChunkRef[];
  /** Decoded disk size in bytes. */
  size: number;
  resources: ResourceFork;
  /** Where the block tables came from. */
  tableSource: 'xml' | 'rsrc' | 'none';
  warnings: string[];
}

function overlapsTrailer(inOffset: number, inLength: number, kolyOffset: number): boolean {
  return inOffset < kolyOffset + KOLY_SIZE && inOffset + inLength > kolyOffset;
}

async function readXml(src: ByteSource, koly: Koly, kolyOffset: number, limits: Limits, warnings: string[]): Promise<ResourceFork | null> {
  if (koly.xmlLength === 0) return null;
  if (koly.xmlLength > limits.maxPlistBytes) {
    throw new DmgkitError('LIMIT_EXCEEDED', `XML plist of ${koly.xmlLength} bytes exceeds the ${limits.maxPlistBytes}-byte limit, ${at(kolyOffset + 224)}`, {
      offset: kolyOffset + 224,
    });
  }
  if (koly.xmlOffset + koly.xmlLength <= src.size) {
    const bytes = await src.read(koly.xmlOffset, koly.xmlLength);
    if (looksLikeXml(bytes)) return parseXmlPlist(bytes, koly.xmlOffset);
  }
  // hdiutil tolerates a wrong xmlOffset: look for the plist just before the trailer.
  const end = kolyOffset > koly.xmlLength ? kolyOffset : src.size;
  const start = end - koly.xmlLength;
  if (start >= 0) {
    const bytes = await src.read(start, koly.xmlLength);
    if (looksLikeXml(bytes)) {
      warnings.push(`koly xmlOffset ${koly.xmlOffset} is wrong; the plist was found ${at(start)}`);
      return parseXmlPlist(bytes, start);
    }
  }
  throw new DmgkitError(
    'CORRUPT_HEADER',
    `the XML plist [${koly.xmlOffset}, +${koly.xmlLength}) named by the koly trailer is not there (file is ${src.size} bytes)`,
    { offset: koly.xmlOffset },
  );
}

async function readRsrc(src: ByteSource, koly: Koly, limits: Limits): Promise<ResourceFork | null> {
  if (koly.rsrcForkLength === 0) return null;
  if (koly.rsrcForkLength > limits.maxPlistBytes) {
    throw new DmgkitError('LIMIT_EXCEEDED', `resource fork of ${koly.rsrcForkLength} bytes exceeds the ${limits.maxPlistBytes}-byte limit`, {
      offset: koly.rsrcForkOffset,
    });
  }
  if (koly.rsrcForkOffset + koly.rsrcForkLength > src.size) {
    throw new DmgkitError('TRUNCATED', `resource fork [${koly.rsrcForkOffset}, +${koly.rsrcForkLength}) lies past the end of the file`, {
      offset: koly.rsrcForkOffset,
    });
  }
  const bytes = await src.read(koly.rsrcForkOffset, koly.rsrcForkLength);
  return parseResourceFork(bytes, koly.rsrcForkOffset);
}

function describe(r: Resource, i: number): string {
  return `partition ${i}${r.name ? ` (${r.name})` : ''}`;
}

export interface LayoutOptions {
  /** Overlapping stored ranges are CORRUPT_TABLE instead of a warning. */
  rejectOverlappingChunks?: boolean;
}

/**
 * Chunks whose stored bytes overlap another chunk's (hdiutil writes each chunk's bytes once, in order): one warning
 * naming the first pair, the number of such chunks and the decoded bytes they describe, or CORRUPT_TABLE when
 * `reject`. A file whose 60,000 chunks all point at the same stored bytes describes a disk 60,000 times its size.
 * One pass when the stored ranges already increase with the disk offset (every hdiutil image); otherwise a sort.
 */
export function checkOverlaps(chunks: readonly ChunkRef[], partitions: readonly UdifPartition[], reject: boolean, warnings: string[]): void {
  let prevEnd = -1;
  let ordered = true;
  for (const c of chunks) {
    if (c.inLength === 0 || c.damage) continue;
    if (c.inOffset < prevEnd) {
      ordered = false;
      break;
    }
    prevEnd = c.inOffset + c.inLength;
  }
  if (ordered) return;
  const stored = chunks.filter((c) => c.inLength > 0 && !c.damage).sort((a, b) => a.inOffset - b.inOffset || a.outOffset - b.outOffset);
  let overlapping = 0;
  let decoded = 0;
  let first: [ChunkRef, ChunkRef] | null = null;
  let reach: ChunkRef | null = null;
  for (const c of stored) {
    if (reach && c.inOffset < reach.inOffset + reach.inLength) {
      overlapping++;
      decoded += c.outLength;
      first ??= [reach, c];
    }
    if (!reach || c.inOffset + c.inLength > reach.inOffset + reach.inLength) reach = c;
  }
  if (!first) return;
  const name = (c: ChunkRef) => `partition ${c.partition} (${partitions[c.partition]?.name ?? '?'}) chunk ${c.index} [${c.inOffset}, +${c.inLength})`;
  const msg =
    `${overlapping} chunks share stored bytes with another chunk (first: ${name(first[1])} overlaps ${name(first[0])}); ` +
    `they describe ${decoded} decoded bytes from bytes already used. hdiutil never writes overlapping chunks: the image may describe far more than it stores`;
  if (reject) throw new DmgkitError('CORRUPT_TABLE', `${msg} (refused: rejectOverlappingChunks)`, { partition: first[1].partition, chunk: first[1].index, offset: first[1].inOffset });
  warnings.push(msg);
}

/** Reads the resource fork(s) and block tables and places every chunk. */
export async function readLayout(src: ByteSource, koly: Koly, kolyOffset: number, limits: Limits, opts: LayoutOptions = {}): Promise<UdifLayout> {
  const warnings: string[] = [];
  const xml = await readXml(src, koly, kolyOffset, limits, warnings);
  let rsrc: ResourceFork | null = null;
  try {
    rsrc = await readRsrc(src, koly, limits);
  } catch (e) {
    if (!xml) throw e;
    warnings.push(`binary resource fork ignored: ${(e as Error).message}`);
  }
  const resources: ResourceFork = new Map(rsrc ?? []);
  for (const [type, list] of xml ?? []) resources.set(type, list);
  let blkx = xml?.get('blkx');
  let tableSource: UdifLayout['tableSource'] = 'xml';
  if (!blkx?.length) {
    blkx = rsrc?.get('blkx');
    tableSource = 'rsrc';
  }
  const partitions: UdifPartition[] = [];
  const chunks: ChunkRef[] = [];
  if (!blkx?.length) {
    if (!xml && !rsrc && koly.dataForkLength > 0) {
      // A stub UDIF: the data fork is the raw disk.
      const sectors = Math.ceil(koly.dataForkLength / SECTOR);
      partitions.push({
        index: 0, name: 'data fork', id: 0, attributes: 0, firstSector: 0, sectorCount: sectors,
        offset: 0, size: sectors * SECTOR, dataStart: 0, blocksDescriptor: 0, decompressBufferRequested: 0,
        checksum: koly.dataChecksum, chunks: { raw: 1 }, firstChunk: 0, chunkCount: 1,
      });
      if (koly.dataForkLength % SECTOR !== 0) warnings.push(`data fork length ${koly.dataForkLength} is not a whole number of sectors`);
      chunks.push({ partition: 0, index: 0, type: CHUNK_RAW, outOffset: 0, outLength: koly.dataForkLength, inOffset: koly.dataForkOffset, inLength: koly.dataForkLength });
      return { partitions, chunks, size: koly.dataForkLength, resources, tableSource: 'none', warnings };
    }
    throw new DmgkitError('CORRUPT_HEADER', `no blkx block tables in the image's resource fork`, { offset: koly.xmlOffset || koly.rsrcForkOffset });
  }

  let totalChunks = 0;
  const dataEnd = src.size;
  blkx.forEach((res, pi) => {
    const where = describe(res, pi);
    const t: MishTable = parseMish(res.data, where, limits.maxChunks - totalChunks);
    totalChunks += t.chunks.length;
    if (t.version !== 1) warnings.push(`${where}: mish version ${t.version} (expected 1)`);
    if (!Number.isSafeInteger((t.firstSector + t.sectorCount) * SECTOR)) {
      throw new DmgkitError('CORRUPT_TABLE', `${where}: sectors ${t.firstSector} + ${t.sectorCount} reach beyond 2^53 bytes`, { partition: pi });
    }
    const counts: Record<string, number> = {};
    let running = 0;
    t.chunks.forEach((c, ci) => {
      const name = chunkTypeName(c.type);
      counts[name] = (counts[name] ?? 0) + 1;
      if (isMarker(c.type)) return;
      const cw = `${where}, chunk ${ci} (${name})`;
      if (c.sectorStart < running) {
        throw new DmgkitError('CORRUPT_TABLE', `${cw}: starts at sector ${c.sectorStart}, inside the previous chunk (which ends at ${running})`, {
          partition: pi, chunk: ci,
        });
      }
      if (c.sectorStart > running) warnings.push(`${cw}: gap of ${c.sectorStart - running} sectors before it (read as zeros)`);
      const end = c.sectorStart + c.sectorCount;
      if (end > t.sectorCount) {
        throw new DmgkitError('CORRUPT_TABLE', `${cw}: ends at sector ${end}, past the table's ${t.sectorCount} sectors`, { partition: pi, chunk: ci });
      }
      running = end;
      if (c.sectorCount === 0) return;
      const outOffset = (t.firstSector + c.sectorStart) * SECTOR;
      const outLength = c.sectorCount * SECTOR;
      if (!Number.isSafeInteger(outOffset + outLength)) {
        throw new DmgkitError('CORRUPT_TABLE', `${cw}: sector range beyond 2^53 bytes`, { partition: pi, chunk: ci });
      }
      let inOffset = 0;
      let inLength = 0;
      let damage: string | undefined;
      if (!isZeroFill(c.type)) {
        inOffset = koly.dataForkOffset + t.dataStart + c.compressedOffset;
        inLength = c.compressedLength;
        if (outLength > limits.maxChunkBytes || inLength > limits.maxChunkBytes) {
          throw new DmgkitError('LIMIT_EXCEEDED', `${cw}: ${Math.max(outLength, inLength)} bytes exceed the ${limits.maxChunkBytes}-byte chunk limit`, {
            partition: pi, chunk: ci, offset: inOffset,
          });
        }
        // A chunk whose bytes are not in the file is damage local to that chunk: the rest of the image stays
        // readable (convert --keep-going, verify), and reading this chunk fails with this error.
        if (!Number.isSafeInteger(inOffset + inLength) || inOffset + inLength > dataEnd) {
          damage = `${cw}: stored bytes [${inOffset}, +${inLength}) lie past the end of the file (${dataEnd} bytes)`;
        } else if (overlapsTrailer(inOffset, inLength, kolyOffset)) {
          damage = `${cw}: stored bytes [${inOffset}, +${inLength}) overlap the koly trailer ${at(kolyOffset)}`;
        }
        if (damage) warnings.push(damage);
        if (c.type === CHUNK_RAW && inLength < outLength) {
          throw new DmgkitError('CORRUPT_TABLE', `${cw}: raw chunk stores ${inLength} bytes for ${outLength} bytes of sectors`, {
            partition: pi, chunk: ci, offset: inOffset,
          });
        }
        if (isCompressedType(c.type) && (inLength === 0 || outLength / inLength > limits.maxCompressionRatio)) {
          throw new DmgkitError('LIMIT_EXCEEDED', `${cw}: ${inLength} stored bytes for ${outLength} decoded bytes exceeds the compression-ratio limit ${limits.maxCompressionRatio}`, {
            partition: pi, chunk: ci, offset: inOffset,
          });
        }
      }
      const ref: ChunkRef = { partition: pi, index: ci, type: c.type, outOffset, outLength, inOffset, inLength };
      if (damage) ref.damage = damage;
      chunks.push(ref);
    });
    if (running < t.sectorCount) warnings.push(`${where}: chunks cover ${running} of ${t.sectorCount} sectors (the rest reads as zeros)`);
    partitions.push({
      index: pi,
      name: res.name,
      cfName: res.cfName,
      id: res.id,
      attributes: res.attributes,
      firstSector: t.firstSector,
      sectorCount: t.sectorCount,
      offset: t.firstSector * SECTOR,
      size: t.sectorCount * SECTOR,
      dataStart: t.dataStart,
      blocksDescriptor: t.blocksDescriptor,
      decompressBufferRequested: t.decompressBufferRequested,
      checksum: t.checksum,
      chunks: counts,
      firstChunk: 0,
      chunkCount: 0,
    });
  });

  // The disk: partitions must not overlap; gaps read as zeros.
  const sorted = [...partitions].sort((a, b) => a.firstSector - b.firstSector);
  let diskEnd = 0;
  for (const p of sorted) {
    if (p.sectorCount === 0) continue;
    if (p.firstSector * SECTOR < diskEnd) {
      throw new DmgkitError('CORRUPT_TABLE', `partition ${p.index} (${p.name}) starts at sector ${p.firstSector}, inside the previous partition`, {
        partition: p.index,
      });
    }
    if (p.firstSector * SECTOR > diskEnd) warnings.push(`sectors ${diskEnd / SECTOR}..${p.firstSector - 1} belong to no partition (read as zeros)`);
    diskEnd = (p.firstSector + p.sectorCount) * SECTOR;
  }
  let kolyBytes = koly.sectorCount * SECTOR;
  if (!Number.isSafeInteger(kolyBytes)) {
    // No disk holds 2^53 bytes: the field is damaged. The block tables say how big the disk is.
    warnings.push(`koly sector count ${koly.sectorCount} ${at(kolyOffset + KOLY_OFF_SECTOR_COUNT)} is beyond 2^53 bytes; ignored`);
    kolyBytes = 0;
  } else if (koly.sectorCount !== 0 && kolyBytes !== diskEnd) {
    warnings.push(`koly sector count ${koly.sectorCount} differs from the ${diskEnd / SECTOR} sectors the block tables cover`);
  } else if (koly.sectorCount === 0 && diskEnd > 0) {
    // hdiutil always fills it in; libdmg-hfsplus-style writers leave it 0 (7-Zip flags such images too)
    warnings.push(`koly sector count is 0 ${at(kolyOffset + KOLY_OFF_SECTOR_COUNT)}; the ${diskEnd / SECTOR} sectors of the block tables are used (not written by hdiutil)`);
  }
  const size = Math.max(diskEnd, kolyBytes);
  chunks.sort((a, b) => a.outOffset - b.outOffset);
  checkOverlaps(chunks, partitions, opts.rejectOverlappingChunks === true, warnings);
  for (const p of partitions) p.chunkCount = 0;
  chunks.forEach((c, i) => {
    const p = partitions[c.partition];
    if (p.chunkCount === 0) p.firstChunk = i;
    p.chunkCount++;
  });
  return { partitions, chunks, size, resources, tableSource, warnings };
}
