import { DmgkitError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { crc32 } from '../util/crc32.js';
import { crc32Checksum, type UdifChecksum } from './checksum.js';
import { CHUNK_IGNORE, CHUNK_RAW, CHUNK_TERMINATOR, CHUNK_ZERO } from './chunk-types.js';
import { flattenedKoly } from './koly.js';
import { type MishChunk, serializeMish } from './mish.js';
import type { Resource, ResourceFork } from './resources.js';
import { buildXmlPlist } from './xml-plist.js';
import { SECTOR } from './layout.js';

/** One chunk encoder: the chunk type it writes and a function from decoded to stored bytes. */
export interface ChunkEncoder {
  type: number;
  encode(data: Uint8Array): Uint8Array;
}

export const rawEncoder: ChunkEncoder = { type: CHUNK_RAW, encode: (d) => d };

export interface WritePartition {
  /** Byte offset and size in the disk (multiples of 512). */
  offset: number;
  size: number;
  /** blkx Name, e.g. "disk image (Apple_HFS : 1)". */
  name: string;
  /** Write the range as one ignore (free space) chunk. */
  free?: boolean;
}

export interface WriteOptions {
  encoder?: ChunkEncoder;
  /** Sectors per chunk (hdiutil: 2048 = 1 MiB for UDZO/ULFO, 512 for UDBZ/ADC). */
  chunkSectors?: number;
  /** Block tables; default: one table for the whole disk. */
  partitions?: WritePartition[];
  /** The 16-byte segment ID (a UUID); random by default. */
  segmentId?: Uint8Array;
  /** Extra side resources (plst, …). */
  resources?: ResourceFork;
}

/**
 * Writes a UDIF image of a disk as a stream of file pieces: the data fork (chunk by chunk), the XML plist, and
 * the koly trailer. All-zero chunks become zero-fill chunks. Checksums: per-table CRC32 of the decoded sectors,
 * data-fork CRC32 and the master CRC32, the way hdiutil writes them. Memory holds one chunk and the tables.
 */
export async function* writeUdif(disk: ByteSource, opts: WriteOptions = {}): AsyncGenerator<Uint8Array> {
  if (disk.size % SECTOR !== 0) throw new DmgkitError('INVALID_ARGUMENT', `disk size ${disk.size} is not a multiple of 512`);
  const enc = opts.encoder ?? rawEncoder;
  const chunkSectors = opts.chunkSectors ?? 2048;
  const parts = opts.partitions ?? [{ offset: 0, size: disk.size, name: 'whole disk (Apple_HFS : 0)' }];
  const fork: ResourceFork = new Map(opts.resources ?? []);
  const blkx: Resource[] = [];
  let pos = 0;
  let dataCrc = 0;
  const partChecksums: UdifChecksum[] = [];
  for (let pi = 0; pi < parts.length; pi++) {
    const p = parts[pi];
    const chunks: MishChunk[] = [];
    let crc = 0;
    const sectors = p.size / SECTOR;
    if (p.free) {
      chunks.push({ type: CHUNK_IGNORE, comment: 0, sectorStart: 0, sectorCount: sectors, compressedOffset: pos, compressedLength: 0 });
    } else {
      for (let s = 0; s < sectors; s += chunkSectors) {
        const n = Math.min(chunkSectors, sectors - s);
        const data = await disk.read(p.offset + s * SECTOR, n * SECTOR);
        crc = crc32(data, crc);
        if (data.every((b) => b === 0)) {
          chunks.push({ type: CHUNK_ZERO, comment: 0, sectorStart: s, sectorCount: n, compressedOffset: pos, compressedLength: 0 });
          continue;
        }
        let stored = enc.encode(data);
        let type = enc.type;
        if (type !== CHUNK_RAW && stored.length >= data.length) {
          stored = data;
          type = CHUNK_RAW;
        }
        chunks.push({ type, comment: 0, sectorStart: s, sectorCount: n, compressedOffset: pos, compressedLength: stored.length });
        dataCrc = crc32(stored, dataCrc);
        pos += stored.length;
        yield stored;
      }
    }
    chunks.push({ type: CHUNK_TERMINATOR, comment: 0, sectorStart: sectors, sectorCount: 0, compressedOffset: pos, compressedLength: 0 });
    const checksum = crc32Checksum(p.free ? 0 : crc);
    partChecksums.push(checksum);
    const mish = serializeMish({
      version: 1,
      firstSector: p.offset / SECTOR,
      sectorCount: sectors,
      dataStart: 0,
      decompressBufferRequested: chunkSectors + 8,
      blocksDescriptor: pi,
      checksum,
      chunks,
    });
    blkx.push({ type: 'blkx', id: pi - 1, name: p.name, cfName: p.name, attributes: 0x50, data: mish });
  }
  fork.set('blkx', blkx);
  const xml = buildXmlPlist(fork);
  yield xml;
  let master = 0;
  for (const c of partChecksums) master = crc32(c.data, master);
  yield flattenedKoly({
    dataForkLength: pos,
    xmlLength: xml.length,
    segmentId: opts.segmentId ?? crypto.getRandomValues(new Uint8Array(16)),
    dataChecksum: crc32Checksum(dataCrc),
    masterChecksum: crc32Checksum(master),
    imageVariant: 1,
    sectorCount: disk.size / SECTOR,
  });
}
