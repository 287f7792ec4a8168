import { u32be, putU32be, hex } from '../util/bytes.js';

/** UDIFChecksum: { type u32, bits u32, data[128] } = 136 bytes, big-endian. Used in koly and mish. */
export const CHECKSUM_SIZE = 136;
const OFF_TYPE = 0;
const OFF_BITS = 4;
const OFF_DATA = 8;
const DATA_SIZE = 128;

export const CHECKSUM_TYPE_NAMES: Record<number, string> = {
  0: 'none',
  1: 'CRC28',
  2: 'CRC32',
  3: 'DC42',
  4: 'MD5',
  5: 'SHA',
  6: 'SHA1',
  7: 'SHA256',
  8: 'SHA384',
  9: 'SHA512',
};
export const CHECKSUM_CRC32 = 2;

export interface UdifChecksum {
  type: number;
  bits: number;
  /** The meaningful bytes of the value (bits/8, at most 128). */
  data: Uint8Array;
}

export function checksumTypeName(type: number): string {
  return CHECKSUM_TYPE_NAMES[type] ?? `type ${type}`;
}

export function parseChecksum(b: Uint8Array, o: number): UdifChecksum {
  const type = u32be(b, o + OFF_TYPE);
  const bits = u32be(b, o + OFF_BITS);
  const n = Math.min(DATA_SIZE, Math.ceil(Math.min(bits, DATA_SIZE * 8) / 8));
  return { type, bits, data: b.slice(o + OFF_DATA, o + OFF_DATA + n) };
}

export function serializeChecksum(c: UdifChecksum, b: Uint8Array, o: number): void {
  putU32be(b, o + OFF_TYPE, c.type);
  putU32be(b, o + OFF_BITS, c.bits);
  b.fill(0, o + OFF_DATA, o + OFF_DATA + DATA_SIZE);
  b.set(c.data.subarray(0, DATA_SIZE), o + OFF_DATA);
}

export function crc32Checksum(value: number): UdifChecksum {
  const data = new Uint8Array(4);
  putU32be(data, 0, value);
  return { type: CHECKSUM_CRC32, bits: 32, data };
}

/** True when the checksum carries a value (type not 0 and bits not 0). */
export function isPresent(c: UdifChecksum): boolean {
  return c.type !== 0 && c.bits !== 0;
}

/** The CRC32 value as a number, or null when the checksum is not CRC32. */
export function crc32Value(c: UdifChecksum): number | null {
  if (c.type !== CHECKSUM_CRC32 || c.bits !== 32 || c.data.length < 4) return null;
  return u32be(c.data, 0);
}

export function checksumHex(c: UdifChecksum): string {
  return hex(c.data);
}
