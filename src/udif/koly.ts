import { DmgkitError, at } from '../errors.js';
import { ascii, u32be, u64be, putU32be, putU64be } from '../util/bytes.js';
import { type UdifChecksum, parseChecksum, serializeChecksum } from './checksum.js';

/** The 512-byte UDIF trailer ("koly" block), big-endian. Offsets from Apple's UDIFFileHeader, checked on hdiutil images. */
export const KOLY_SIZE = 512;
export const KOLY_MAGIC = 'koly';
const OFF_MAGIC = 0;
const OFF_VERSION = 4;
const OFF_HEADER_SIZE = 8;
const OFF_FLAGS = 12;
const OFF_RUNNING_DATA_FORK_OFFSET = 16;
const OFF_DATA_FORK_OFFSET = 24;
const OFF_DATA_FORK_LENGTH = 32;
const OFF_RSRC_FORK_OFFSET = 40;
const OFF_RSRC_FORK_LENGTH = 48;
const OFF_SEGMENT_NUMBER = 56;
const OFF_SEGMENT_COUNT = 60;
const OFF_SEGMENT_ID = 64;
const OFF_DATA_CHECKSUM = 80;
const OFF_XML_OFFSET = 216;
const OFF_XML_LENGTH = 224;
const OFF_CODE_SIGNATURE_OFFSET = 296;
const OFF_CODE_SIGNATURE_LENGTH = 304;
const OFF_MASTER_CHECKSUM = 352;
const OFF_IMAGE_VARIANT = 488;
const OFF_SECTOR_COUNT = 492;

/** Offset of the sector count in the trailer (named in messages about it). */
export const KOLY_OFF_SECTOR_COUNT = OFF_SECTOR_COUNT;

export const KOLY_FLAG_FLATTENED = 1;
export const KOLY_FLAG_INTERNET_ENABLED = 4;

export interface Koly {
  version: number;
  headerSize: number;
  flags: number;
  runningDataForkOffset: number;
  dataForkOffset: number;
  dataForkLength: number;
  rsrcForkOffset: number;
  rsrcForkLength: number;
  segmentNumber: number;
  segmentCount: number;
  /** 16 bytes (a UUID). */
  segmentId: Uint8Array;
  dataChecksum: UdifChecksum;
  xmlOffset: number;
  xmlLength: number;
  codeSignatureOffset: number;
  codeSignatureLength: number;
  masterChecksum: UdifChecksum;
  /** 1 = device image, 2 = partition image. */
  imageVariant: number;
  sectorCount: number;
}

export function isKoly(b: Uint8Array, o = 0): boolean {
  return b.length - o >= 4 && ascii(b, o, 4) === KOLY_MAGIC;
}

/** Parses a koly block found at absolute file offset `fileOffset` (used in error messages). */
export function parseKoly(b: Uint8Array, fileOffset = 0): Koly {
  if (b.length < KOLY_SIZE || !isKoly(b)) {
    throw new DmgkitError('NOT_AN_IMAGE', `no 'koly' signature ${at(fileOffset)}`, { offset: fileOffset });
  }
  const version = u32be(b, OFF_VERSION);
  const headerSize = u32be(b, OFF_HEADER_SIZE);
  if (headerSize !== KOLY_SIZE) {
    throw new DmgkitError('CORRUPT_HEADER', `koly header size is ${headerSize}, expected 512, ${at(fileOffset + OFF_HEADER_SIZE)}`, {
      offset: fileOffset + OFF_HEADER_SIZE,
    });
  }
  const f = (off: number, name: string) => u64be(b, off, `koly ${name}`, fileOffset);
  return {
    version,
    headerSize,
    flags: u32be(b, OFF_FLAGS),
    runningDataForkOffset: f(OFF_RUNNING_DATA_FORK_OFFSET, 'runningDataForkOffset'),
    dataForkOffset: f(OFF_DATA_FORK_OFFSET, 'dataForkOffset'),
    dataForkLength: f(OFF_DATA_FORK_LENGTH, 'dataForkLength'),
    rsrcForkOffset: f(OFF_RSRC_FORK_OFFSET, 'rsrcForkOffset'),
    rsrcForkLength: f(OFF_RSRC_FORK_LENGTH, 'rsrcForkLength'),
    segmentNumber: u32be(b, OFF_SEGMENT_NUMBER),
    segmentCount: u32be(b, OFF_SEGMENT_COUNT),
    segmentId: b.slice(OFF_SEGMENT_ID, OFF_SEGMENT_ID + 16),
    dataChecksum: parseChecksum(b, OFF_DATA_CHECKSUM),
    xmlOffset: f(OFF_XML_OFFSET, 'xmlOffset'),
    xmlLength: f(OFF_XML_LENGTH, 'xmlLength'),
    codeSignatureOffset: f(OFF_CODE_SIGNATURE_OFFSET, 'codeSignatureOffset'),
    codeSignatureLength: f(OFF_CODE_SIGNATURE_LENGTH, 'codeSignatureLength'),
    masterChecksum: parseChecksum(b, OFF_MASTER_CHECKSUM),
    imageVariant: u32be(b, OFF_IMAGE_VARIANT),
    sectorCount: f(OFF_SECTOR_COUNT, 'sectorCount'),
  };
}

export function serializeKoly(k: Koly): Uint8Array {
  const b = new Uint8Array(KOLY_SIZE);
  for (let i = 0; i < 4; i++) b[OFF_MAGIC + i] = KOLY_MAGIC.charCodeAt(i);
  putU32be(b, OFF_VERSION, k.version);
  putU32be(b, OFF_HEADER_SIZE, KOLY_SIZE);
  putU32be(b, OFF_FLAGS, k.flags);
  putU64be(b, OFF_RUNNING_DATA_FORK_OFFSET, k.runningDataForkOffset);
  putU64be(b, OFF_DATA_FORK_OFFSET, k.dataForkOffset);
  putU64be(b, OFF_DATA_FORK_LENGTH, k.dataForkLength);
  putU64be(b, OFF_RSRC_FORK_OFFSET, k.rsrcForkOffset);
  putU64be(b, OFF_RSRC_FORK_LENGTH, k.rsrcForkLength);
  putU32be(b, OFF_SEGMENT_NUMBER, k.segmentNumber);
  putU32be(b, OFF_SEGMENT_COUNT, k.segmentCount);
  b.set(k.segmentId.subarray(0, 16), OFF_SEGMENT_ID);
  serializeChecksum(k.dataChecksum, b, OFF_DATA_CHECKSUM);
  putU64be(b, OFF_XML_OFFSET, k.xmlOffset);
  putU64be(b, OFF_XML_LENGTH, k.xmlLength);
  putU64be(b, OFF_CODE_SIGNATURE_OFFSET, k.codeSignatureOffset);
  putU64be(b, OFF_CODE_SIGNATURE_LENGTH, k.codeSignatureLength);
  serializeChecksum(k.masterChecksum, b, OFF_MASTER_CHECKSUM);
  putU32be(b, OFF_IMAGE_VARIANT, k.imageVariant);
  putU64be(b, OFF_SECTOR_COUNT, k.sectorCount);
  return b;
}

/** What differs between the trailers of two flattened, one-segment images (what dmgkit's writers produce). */
export interface FlattenedKolyFields {
  /** Bytes of chunk data from offset 0; the XML plist follows them directly. */
  dataForkLength: number;
  xmlLength: number;
  segmentId: Uint8Array;
  dataChecksum: Koly['dataChecksum'];
  masterChecksum: Koly['masterChecksum'];
  imageVariant: number;
  sectorCount: number;
}

/** The koly trailer of a flattened, one-segment image: data fork at 0, the XML plist right after it, no rsrc fork. */
export function flattenedKoly(f: FlattenedKolyFields): Uint8Array {
  return serializeKoly({
    version: 4,
    headerSize: KOLY_SIZE,
    flags: KOLY_FLAG_FLATTENED,
    runningDataForkOffset: 0,
    dataForkOffset: 0,
    dataForkLength: f.dataForkLength,
    rsrcForkOffset: 0,
    rsrcForkLength: 0,
    segmentNumber: 1,
    segmentCount: 1,
    segmentId: f.segmentId,
    dataChecksum: f.dataChecksum,
    xmlOffset: f.dataForkLength,
    xmlLength: f.xmlLength,
    codeSignatureOffset: 0,
    codeSignatureLength: 0,
    masterChecksum: f.masterChecksum,
    imageVariant: f.imageVariant,
    sectorCount: f.sectorCount,
  });
}
