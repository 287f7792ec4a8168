import { decodeLzfse } from '../codecs/lzfse.js';
import { decodeLzvn } from '../codecs/lzvn.js';
import { corrupt } from '../codecs/errors.js';
import { inflateInto } from '../codecs/zlib.js';
import { DmgkitError } from '../errors.js';
import type { Limits } from '../limits.js';
import { u32be, u32le, u64le } from '../util/bytes.js';
import type { Fork } from './fork.js';

/**
 * decmpfs transparent compression (hfs-apm-format.md §5; Apple's decmpfs.h; libfshfs "Compression method").
 * A file with UF_COMPRESSED in ownerFlags and the xattr com.apple.decmpfs: a 16-byte little-endian header
 * {magic 'cmpf', type u32, uncompressedSize u64}, then (odd types) the compressed data inline, or (even types) the
 * data in the resource fork as 64 KiB chunks.
 */
export const DECMPFS_XATTR = 'com.apple.decmpfs';
export const UF_COMPRESSED = 0x20;
const HDR = { magic: 0, type: 4, size: 8, data: 16 } as const;
const CMPF_MAGIC = 0x636d7066; // 'cmpf' read little-endian
export const DECMPFS_CHUNK = 65536;

/** Type 4 resource file: header {dataOffset, mapOffset, dataLength, mapLength} (big-endian). */
const RSRC = { dataOffset: 0, mapOffset: 4, dataLength: 8, mapLength: 12, headerSize: 16 } as const;

export const DECMPFS_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'raw-attr',
  3: 'zlib-attr',
  4: 'zlib-rsrc',
  5: 'sparse',
  7: 'lzvn-attr',
  8: 'lzvn-rsrc',
  9: 'raw-attr',
  10: 'raw-rsrc',
  11: 'lzfse-attr',
  12: 'lzfse-rsrc',
  13: 'lzbitmap-attr',
  14: 'lzbitmap-rsrc',
};

export interface DecmpfsHeader {
  type: number;
  size: number;
  /** Bytes after the 16-byte header (inline data for attr types). */
  inline: Uint8Array;
}

export function parseDecmpfs(x: Uint8Array, what: string): DecmpfsHeader {
  if (x.length < HDR.data) throw new DmgkitError('CORRUPT_FS', `${what}: com.apple.decmpfs is ${x.length} bytes, shorter than its 16-byte header`);
  if (u32le(x, HDR.magic) !== CMPF_MAGIC) {
    throw new DmgkitError('CORRUPT_FS', `${what}: com.apple.decmpfs magic is 0x${u32le(x, 0).toString(16)}, not 'cmpf'`);
  }
  return { type: u32le(x, HDR.type), size: u64le(x, HDR.size, 'decmpfs uncompressedSize'), inline: x.subarray(HDR.data) };
}

type Family = 'raw' | 'zlib' | 'lzvn' | 'lzfse';
function familyOf(type: number): { family: Family; inRsrc: boolean } | null {
  switch (type) {
    case 1:
      return { family: 'raw', inRsrc: false };
    case 3:
      return { family: 'zlib', inRsrc: false };
    case 4:
      return { family: 'zlib', inRsrc: true };
    case 7:
      return { family: 'lzvn', inRsrc: false };
    case 8:
      return { family: 'lzvn', inRsrc: true };
    case 9:
      return { family: 'raw', inRsrc: false };
    case 10:
      return { family: 'raw', inRsrc: true };
    case 11:
      return { family: 'lzfse', inRsrc: false };
    case 12:
      return { family: 'lzfse', inRsrc: true };
    default:
      return null;
  }
}

export function isSupportedDecmpfs(type: number): boolean {
  return familyOf(type) !== null;
}

function copyRaw(src: Uint8Array, from: number, out: Uint8Array, codec: string): void {
  if (src.length - from !== out.length) {
    throw corrupt(codec, `stored chunk holds ${src.length - from} bytes where ${out.length} were declared`);
  }
  out.set(src.subarray(from));
}

/** Decodes one chunk (or the whole inline payload) into `out`, exactly. */
function decodeChunk(family: Family, type: number, src: Uint8Array, out: Uint8Array): void {
  if (out.length === 0) {
    return;
  }
  if (src.length === 0) throw corrupt(`decmpfs type ${type}`, `empty chunk where ${out.length} bytes were declared`);
  const b0 = src[0];
  switch (family) {
    case 'raw':
      if (type === 1) copyRaw(src, 0, out, 'decmpfs raw');
      else if (b0 === 0xcc && src.length === out.length + 1) copyRaw(src, 1, out, 'decmpfs raw');
      else copyRaw(src, 0, out, 'decmpfs raw');
      return;
    case 'zlib':
      if ((b0 & 0x0f) === 0x0f) copyRaw(src, 1, out, 'zlib');
      else inflateInto(src, out);
      return;
    case 'lzvn':
      if (b0 === 0x06) copyRaw(src, 1, out, 'lzvn');
      else decodeLzvn(src, out);
      return;
    case 'lzfse':
      // 'bvx' starts every LZFSE block; anything else with one marker byte is a stored chunk.
      if (b0 === 0x62 && src[1] === 0x76 && src[2] === 0x78) decodeLzfse(src, out);
      else if (src.length === out.length + 1) copyRaw(src, 1, out, 'lzfse');
      else decodeLzfse(src, out);
      return;
  }
}

function fsFail(what: string, msg: string): DmgkitError {
  return new DmgkitError('CORRUPT_FS', `${what}: ${msg}`);
}

/** The byte ranges (within the resource fork) of the compressed chunks. */
async function chunkTable(type: number, rsrc: Fork, size: number, what: string): Promise<{ off: number; len: number }[]> {
  const n = Math.ceil(size / DECMPFS_CHUNK);
  const out: { off: number; len: number }[] = [];
  if (type === 4) {
    if (rsrc.size < RSRC.headerSize) throw fsFail(what, `resource fork is ${rsrc.size} bytes, too short for a resource file header`);
    const h = await rsrc.read(0, RSRC.headerSize);
    const dataOffset = u32be(h, RSRC.dataOffset);
    const dataLength = u32be(h, RSRC.dataLength);
    if (dataOffset + dataLength > rsrc.size || dataLength < 8) {
      throw fsFail(what, `resource data [${dataOffset}, +${dataLength}) lies outside the ${rsrc.size}-byte resource fork`);
    }
    const pre = await rsrc.read(dataOffset, 8);
    const resLen = u32be(pre, 0);
    const count = u32le(pre, 4);
    if (resLen + 4 > dataLength) throw fsFail(what, `cmpf resource length ${resLen} overruns the resource data (${dataLength})`);
    if (count !== n) throw fsFail(what, `chunk table has ${count} entries, ${n} expected for ${size} bytes`);
    if (4 + 8 * count > resLen) throw fsFail(what, `chunk table of ${count} entries overruns the ${resLen}-byte resource`);
    const base = dataOffset + 4;
    const t = await rsrc.read(base + 4, 8 * count);
    for (let i = 0; i < count; i++) {
      const off = u32le(t, 8 * i);
      const len = u32le(t, 8 * i + 4);
      if (off + len > resLen) throw fsFail(what, `chunk ${i} [${off}, +${len}) overruns the ${resLen}-byte resource`);
      out.push({ off: base + off, len });
    }
    return out;
  }
  const tableBytes = 4 * (n + 1);
  if (tableBytes > rsrc.size) throw fsFail(what, `chunk table of ${n + 1} offsets does not fit the ${rsrc.size}-byte resource fork`);
  const t = await rsrc.read(0, tableBytes);
  const first = u32le(t, 0);
  if (first !== tableBytes) throw fsFail(what, `chunk table starts with offset ${first}, expected ${tableBytes} for ${n} chunks`);
  for (let i = 0; i < n; i++) {
    const a = u32le(t, 4 * i);
    const b = u32le(t, 4 * (i + 1));
    if (b < a || b > rsrc.size) throw fsFail(what, `chunk ${i} [${a}, ${b}) is not inside the ${rsrc.size}-byte resource fork`);
    out.push({ off: a, len: b - a });
  }
  return out;
}

/** Largest compressed chunk accepted (a 64 KiB chunk plus generous framing). */
const MAX_COMPRESSED_CHUNK = DECMPFS_CHUNK * 2 + 1024;

/**
 * Streams the decompressed content in pieces (one 64 KiB chunk at a time for resource-fork types; the whole
 * payload for inline types). The total is exactly `hdr.size` or an error is thrown.
 */
export async function* decmpfsChunks(hdr: DecmpfsHeader, rsrc: Fork | null, limits: Limits, what: string): AsyncGenerator<Uint8Array> {
  const fam = familyOf(hdr.type);
  if (!fam) {
    const name = DECMPFS_TYPE_NAMES[hdr.type];
    throw new DmgkitError('UNSUPPORTED_CODEC', `${what}: decmpfs compression type ${hdr.type}${name ? ` (${name})` : ''} is not supported`, {
      decmpfsType: hdr.type,
    });
  }
  if (hdr.size === 0) return;
  if (!fam.inRsrc) {
    if (hdr.size > limits.maxFileBytes) {
      throw new DmgkitError('LIMIT_EXCEEDED', `${what}: decmpfs size ${hdr.size} exceeds the limit of ${limits.maxFileBytes}`);
    }
    if (hdr.inline.length * limits.maxCompressionRatio < hdr.size) {
      throw new DmgkitError('LIMIT_EXCEEDED', `${what}: ${hdr.inline.length} compressed bytes cannot decode to ${hdr.size}`);
    }
    const out = new Uint8Array(hdr.size);
    try {
      decodeChunk(fam.family, hdr.type, hdr.inline, out);
    } catch (e) {
      if (e instanceof DmgkitError) throw new DmgkitError(e.code, `${what}: ${e.message}`, e.details, { cause: e });
      throw new DmgkitError('CORRUPT_CHUNK', `${what}: ${(e as Error).message}`, {}, { cause: e });
    }
    yield out;
    return;
  }
  if (!rsrc) throw fsFail(what, `decmpfs type ${hdr.type} needs a resource fork and the file has none`);
  const table = await chunkTable(hdr.type, rsrc, hdr.size, what);
  const buf = new Uint8Array(Math.min(DECMPFS_CHUNK, hdr.size));
  for (let i = 0; i < table.length; i++) {
    const want = Math.min(DECMPFS_CHUNK, hdr.size - i * DECMPFS_CHUNK);
    const { off, len } = table[i];
    if (len > MAX_COMPRESSED_CHUNK) throw fsFail(what, `chunk ${i} is ${len} bytes, larger than any 64 KiB chunk encodes to`);
    const src = await rsrc.read(off, len);
    const out = want === buf.length ? buf : buf.subarray(0, want);
    try {
      decodeChunk(fam.family, hdr.type, src, out);
    } catch (e) {
      if (e instanceof DmgkitError) {
        throw new DmgkitError(e.code, `${what}: decmpfs chunk ${i}: ${e.message}`, { ...e.details, chunk: i }, { cause: e });
      }
      throw new DmgkitError('CORRUPT_CHUNK', `${what}: decmpfs chunk ${i}: ${(e as Error).message}`, { chunk: i }, { cause: e });
    }
    yield out.slice();
  }
}
