import { DmgkitError } from '../errors.js';
import { putU16be, putU32be, u16be, u32be } from '../util/bytes.js';

/**
 * AppleDouble header files ("._name") as macOS writes them on foreign file systems (AppleSingle/AppleDouble v2,
 * RFC 1740; xnu bsd/vfs/vfs_xattr.c layout): a 26-byte header (magic 0x00051607, version 0x00020000, filler
 * "Mac OS X        ", 2 entries), entry 9 (Finder info) at 50 and entry 2 (resource fork) after it. The Finder
 * info entry holds 32 bytes of Finder info, 2 pad bytes, then the extended attributes in an 'ATTR' block:
 * {magic 'ATTR', debug_tag, total_size, data_start, data_length, reserved[3], flags u16, num_attrs u16}
 * followed by 4-byte-aligned entries {offset u32, length u32, flags u16, namelen u8, name (UTF-8, NUL-ended)}
 * and the attribute data. All big-endian.
 */
export const APPLEDOUBLE_MAGIC = 0x00051607;
export const APPLEDOUBLE_VERSION = 0x00020000;
export const ENTRY_RESOURCE_FORK = 2;
export const ENTRY_FINDER_INFO = 9;
const FILLER = 'Mac OS X        ';

const HDR = { magic: 0, version: 4, filler: 8, numEntries: 24, entries: 26 } as const;
const ENTRY_BYTES = 12;
const FINDER_INFO_AT = HDR.entries + 2 * ENTRY_BYTES; // 50
const FINDER_INFO_BYTES = 32;
const ATTR_HEADER_AT = FINDER_INFO_AT + FINDER_INFO_BYTES + 2; // 84
const ATTR = { magic: 0, debugTag: 4, totalSize: 8, dataStart: 12, dataLength: 16, flags: 32, numAttrs: 34, size: 36 } as const;
export const ATTR_MAGIC = 0x41545452; // 'ATTR'
const ATTR_ENTRY_FIXED = 11;
/** xnu: attribute names are at most 127 UTF-8 bytes plus the NUL (namelen is one byte). */
const MAX_ATTR_NAME_BYTES = 127;

export interface AppleDoubleContent {
  finderInfo: Uint8Array;
  xattrs: { name: string; value: Uint8Array }[];
  rsrc: Uint8Array;
  /**
   * The resource fork's length when the caller appends its bytes itself after the returned ones (the fork is the
   * last entry: extract streams it instead of holding it in memory); `rsrc` is then empty.
   */
  rsrcLength?: number;
  /** Written into the ATTR header's debug_tag (xnu puts the file ID there). */
  debugTag?: number;
}

/** Serializes an AppleDouble header file. */
export function buildAppleDouble(c: AppleDoubleContent): Uint8Array {
  const enc = new TextEncoder();
  const names = c.xattrs.map((x) => enc.encode(x.name));
  for (let i = 0; i < names.length; i++) {
    if (names[i].length > MAX_ATTR_NAME_BYTES || names[i].includes(0)) {
      throw new DmgkitError('INVALID_ARGUMENT', `extended attribute name ${JSON.stringify(c.xattrs[i].name)} cannot be stored in AppleDouble`);
    }
  }
  let finderLen = FINDER_INFO_BYTES;
  let entriesEnd = 0;
  let dataLen = 0;
  if (c.xattrs.length) {
    entriesEnd = ATTR_HEADER_AT + ATTR.size;
    for (const n of names) entriesEnd += (ATTR_ENTRY_FIXED + n.length + 1 + 3) & ~3;
    for (const x of c.xattrs) dataLen += x.value.length;
    finderLen = entriesEnd + dataLen - FINDER_INFO_AT;
  }
  const rsrcAt = FINDER_INFO_AT + finderLen;
  const rsrcLength = c.rsrcLength ?? c.rsrc.length;
  const out = new Uint8Array(rsrcAt + c.rsrc.length);
  putU32be(out, HDR.magic, APPLEDOUBLE_MAGIC);
  putU32be(out, HDR.version, APPLEDOUBLE_VERSION);
  for (let i = 0; i < 16; i++) out[HDR.filler + i] = FILLER.charCodeAt(i);
  putU16be(out, HDR.numEntries, 2);
  putU32be(out, HDR.entries, ENTRY_FINDER_INFO);
  putU32be(out, HDR.entries + 4, FINDER_INFO_AT);
  putU32be(out, HDR.entries + 8, finderLen);
  putU32be(out, HDR.entries + ENTRY_BYTES, ENTRY_RESOURCE_FORK);
  putU32be(out, HDR.entries + ENTRY_BYTES + 4, rsrcAt);
  putU32be(out, HDR.entries + ENTRY_BYTES + 8, rsrcLength);
  out.set(c.finderInfo.subarray(0, FINDER_INFO_BYTES), FINDER_INFO_AT);
  if (c.xattrs.length) {
    const a = ATTR_HEADER_AT;
    putU32be(out, a + ATTR.magic, ATTR_MAGIC);
    putU32be(out, a + ATTR.debugTag, c.debugTag ?? 0);
    putU32be(out, a + ATTR.totalSize, entriesEnd + dataLen);
    putU32be(out, a + ATTR.dataStart, entriesEnd);
    putU32be(out, a + ATTR.dataLength, dataLen);
    putU16be(out, a + ATTR.flags, 0);
    putU16be(out, a + ATTR.numAttrs, c.xattrs.length);
    let e = a + ATTR.size;
    let d = entriesEnd;
    for (let i = 0; i < c.xattrs.length; i++) {
      const v = c.xattrs[i].value;
      putU32be(out, e, d);
      putU32be(out, e + 4, v.length);
      putU16be(out, e + 8, 0);
      out[e + 10] = names[i].length + 1;
      out.set(names[i], e + ATTR_ENTRY_FIXED);
      e += (ATTR_ENTRY_FIXED + names[i].length + 1 + 3) & ~3;
      out.set(v, d);
      d += v.length;
    }
  }
  out.set(c.rsrc, rsrcAt);
  return out;
}

/** Parses an AppleDouble header file (the inverse of buildAppleDouble; tolerant of entry order). */
export function parseAppleDouble(b: Uint8Array): AppleDoubleContent {
  const bad = (m: string) => new DmgkitError('CORRUPT_HEADER', `AppleDouble: ${m}`);
  if (b.length < HDR.entries || u32be(b, HDR.magic) !== APPLEDOUBLE_MAGIC) throw bad('bad magic');
  const n = u16be(b, HDR.numEntries);
  if (HDR.entries + n * ENTRY_BYTES > b.length) throw bad('entry table truncated');
  let finderInfo = new Uint8Array(32);
  let rsrc = new Uint8Array(0);
  const xattrs: { name: string; value: Uint8Array }[] = [];
  let debugTag = 0;
  for (let i = 0; i < n; i++) {
    const o = HDR.entries + i * ENTRY_BYTES;
    const id = u32be(b, o);
    const off = u32be(b, o + 4);
    const len = u32be(b, o + 8);
    if (off + len > b.length) throw bad(`entry ${id} runs past the end`);
    if (id === ENTRY_RESOURCE_FORK) rsrc = b.slice(off, off + len);
    if (id === ENTRY_FINDER_INFO) {
      finderInfo = b.slice(off, off + Math.min(32, len));
      const a = off + FINDER_INFO_BYTES + 2;
      if (len > FINDER_INFO_BYTES + 2 + ATTR.size && u32be(b, a) === ATTR_MAGIC) {
        debugTag = u32be(b, a + ATTR.debugTag);
        const count = u16be(b, a + ATTR.numAttrs);
        let e = a + ATTR.size;
        const dec = new TextDecoder();
        for (let k = 0; k < count; k++) {
          if (e + ATTR_ENTRY_FIXED > b.length) throw bad('attribute entries truncated');
          const voff = u32be(b, e);
          const vlen = u32be(b, e + 4);
          const nl = b[e + 10];
          if (nl === 0 || e + ATTR_ENTRY_FIXED + nl > b.length || voff + vlen > b.length) throw bad(`attribute ${k} out of range`);
          xattrs.push({ name: dec.decode(b.subarray(e + ATTR_ENTRY_FIXED, e + ATTR_ENTRY_FIXED + nl - 1)), value: b.slice(voff, voff + vlen) });
          e += (ATTR_ENTRY_FIXED + nl + 3) & ~3;
        }
      }
    }
  }
  return { finderInfo, xattrs, rsrc, debugTag };
}
