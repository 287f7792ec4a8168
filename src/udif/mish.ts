import { DmgkitError } from '../errors.js';
import { ascii, u32be, u64be, putU32be, putU64be } from '../util/bytes.js';
import { type UdifChecksum, parseChecksum, serializeChecksum } from './checksum.js';

/** The 'mish' block table (BLKXTable): a 204-byte header then 40-byte chunk entries, big-endian. */
export const MISH_MAGIC = 'mish';
export const MISH_HEADER_SIZE = 204;
export const MISH_CHUNK_SIZE = 40;
const OFF_VERSION = 4;
const OFF_FIRST_SECTOR = 8;
const OFF_SECTOR_COUNT = 16;
const OFF_DATA_START = 24;
const OFF_DECOMPRESS_BUFFER_REQUESTED = 32;
const OFF_BLOCKS_DESCRIPTOR = 36;
const OFF_RESERVED = 40;
const OFF_CHECKSUM = 64;
const OFF_CHUNK_COUNT = 200;
// chunk entry
const C_TYPE = 0;
const C_COMMENT = 4;
const C_SECTOR_START = 8;
const C_SECTOR_COUNT = 16;
const C_COMPRESSED_OFFSET = 24;
const C_COMPRESSED_LENGTH = 32;

export interface MishChunk {
  type: number;
  comment: number;
  /** Relative to the table's firstSector. */
  sectorStart: number;
  sectorCount: number;
  /** Relative to dataForkOffset + dataStart. */
  compressedOffset: number;
  compressedLength: number;
}

export interface MishTable {
  version: number;
  firstSector: number;
  sectorCount: number;
  dataStart: number;
  decompressBufferRequested: number;
  blocksDescriptor: number;
  checksum: UdifChecksum;
  chunks: MishChunk[];
}

/**
 * Parses a mish table. `where` names it in errors (e.g. "partition 2 (disk image)"); `maxChunks` bounds the
 * chunk count before anything is allocated.
 */
export function parseMish(b: Uint8Array, where = 'block table', maxChunks = Infinity): MishTable {
  if (b.length < MISH_HEADER_SIZE || ascii(b, 0, 4) !== MISH_MAGIC) {
    throw new DmgkitError('CORRUPT_TABLE', `${where}: no 'mish' signature (table of ${b.length} bytes)`);
  }
  const chunkCount = u32be(b, OFF_CHUNK_COUNT);
  if (chunkCount > maxChunks) {
    throw new DmgkitError('LIMIT_EXCEEDED', `${where}: ${chunkCount} chunks exceed the limit of ${maxChunks}`);
  }
  if (MISH_HEADER_SIZE + chunkCount * MISH_CHUNK_SIZE > b.length) {
    throw new DmgkitError(
      'CORRUPT_TABLE',
      `${where}: claims ${chunkCount} chunks but holds room for ${Math.floor((b.length - MISH_HEADER_SIZE) / MISH_CHUNK_SIZE)}`,
    );
  }
  const f = (off: number, name: string) => u64be(b, off, `${where} ${name}`);
  const chunks: MishChunk[] = new Array(chunkCount);
  for (let i = 0; i < chunkCount; i++) {
    const o = MISH_HEADER_SIZE + i * MISH_CHUNK_SIZE;
    chunks[i] = {
      type: u32be(b, o + C_TYPE),
      comment: u32be(b, o + C_COMMENT),
      sectorStart: f(o + C_SECTOR_START, `chunk ${i} sectorStart`),
      sectorCount: f(o + C_SECTOR_COUNT, `chunk ${i} sectorCount`),
      compressedOffset: f(o + C_COMPRESSED_OFFSET, `chunk ${i} compressedOffset`),
      compressedLength: f(o + C_COMPRESSED_LENGTH, `chunk ${i} compressedLength`),
    };
  }
  return {
    version: u32be(b, OFF_VERSION),
    firstSector: f(OFF_FIRST_SECTOR, 'firstSector'),
    sectorCount: f(OFF_SECTOR_COUNT, 'sectorCount'),
    dataStart: f(OFF_DATA_START, 'dataStart'),
    decompressBufferRequested: u32be(b, OFF_DECOMPRESS_BUFFER_REQUESTED),
    blocksDescriptor: u32be(b, OFF_BLOCKS_DESCRIPTOR),
    checksum: parseChecksum(b, OFF_CHECKSUM),
    chunks,
  };
}

export function serializeMish(t: MishTable): Uint8Array {
  const b = new Uint8Array(MISH_HEADER_SIZE + t.chunks.length * MISH_CHUNK_SIZE);
  for (let i = 0; i < 4; i++) b[i] = MISH_MAGIC.charCodeAt(i);
  putU32be(b, OFF_VERSION, t.version);
  putU64be(b, OFF_FIRST_SECTOR, t.firstSector);
  putU64be(b, OFF_SECTOR_COUNT, t.sectorCount);
  putU64be(b, OFF_DATA_START, t.dataStart);
  putU32be(b, OFF_DECOMPRESS_BUFFER_REQUESTED, t.decompressBufferRequested);
  putU32be(b, OFF_BLOCKS_DESCRIPTOR, t.blocksDescriptor);
  b.fill(0, OFF_RESERVED, OFF_CHECKSUM);
  serializeChecksum(t.checksum, b, OFF_CHECKSUM);
  putU32be(b, OFF_CHUNK_COUNT, t.chunks.length);
  t.chunks.forEach((c, i) => {
    const o = MISH_HEADER_SIZE + i * MISH_CHUNK_SIZE;
    putU32be(b, o + C_TYPE, c.type);
    putU32be(b, o + C_COMMENT, c.comment);
    putU64be(b, o + C_SECTOR_START, c.sectorStart);
    putU64be(b, o + C_SECTOR_COUNT, c.sectorCount);
    putU64be(b, o + C_COMPRESSED_OFFSET, c.compressedOffset);
    putU64be(b, o + C_COMPRESSED_LENGTH, c.compressedLength);
  });
  return b;
}
