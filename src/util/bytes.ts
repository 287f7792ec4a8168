import { DmgkitError, at } from '../errors.js';

/** Big-endian and little-endian field readers over a Uint8Array, with exact 64-bit handling. */

export function u16be(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
export function u32be(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
export function i16be(b: Uint8Array, o: number): number {
  return (u16be(b, o) << 16) >> 16;
}
export function u16le(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
export function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/** Reads a big-endian u64 as a BigInt (exact). */
export function u64beBig(b: Uint8Array, o: number): bigint {
  return (BigInt(u32be(b, o)) << 32n) | BigInt(u32be(b, o + 4));
}

/**
 * Reads a big-endian u64 as a number; refuses values above Number.MAX_SAFE_INTEGER with a CORRUPT_HEADER error
 * naming the field and its absolute file offset (`base + o`).
 */
export function u64be(b: Uint8Array, o: number, field = 'u64 field', base = 0): number {
  const hi = u32be(b, o);
  const lo = u32be(b, o + 4);
  if (hi > 0x1fffff) {
    throw new DmgkitError(
      'CORRUPT_HEADER',
      `${field} is 0x${u64beBig(b, o).toString(16)}, larger than 2^53-1, ${at(base + o)}`,
      { offset: base + o, field },
    );
  }
  return hi * 0x1_0000_0000 + lo;
}

export function u64le(b: Uint8Array, o: number, field = 'u64 field', base = 0): number {
  const lo = u32le(b, o);
  const hi = u32le(b, o + 4);
  if (hi > 0x1fffff) {
    throw new DmgkitError('CORRUPT_HEADER', `${field} is larger than 2^53-1, ${at(base + o)}`, {
      offset: base + o,
      field,
    });
  }
  return hi * 0x1_0000_0000 + lo;
}

export function putU16be(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}
export function putU32be(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}
export function putU64be(b: Uint8Array, o: number, v: number | bigint): void {
  const n = BigInt(v);
  if (n < 0n || n > 0xffff_ffff_ffff_ffffn) throw new RangeError(`u64 out of range: ${n}`);
  putU32be(b, o, Number(n >> 32n));
  putU32be(b, o + 4, Number(n & 0xffff_ffffn));
}
export function putU32le(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

export function ascii(b: Uint8Array, o: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(b[o + i]);
  return s;
}

/** ASCII up to the first NUL within n bytes. */
export function cString(b: Uint8Array, o: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = b[o + i];
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

export function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
