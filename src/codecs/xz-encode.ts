import { crc32 } from '../util/crc32.js';
import { crc64 } from '../util/crc64.js';
import { lzmaPreset } from './lzma-encode.js';
import { encodeLzma2 } from './lzma2-encode.js';

/**
 * XZ container writer (.xz file format 1.1.0) around one LZMA2 block — what hdiutil stores in each ULMO
 * (0x80000008) chunk. Defaults match the chunks of real ULMO images: check type None, both sizes in the block
 * header, a single LZMA2 filter (lc 3, lp 0, pb 2). The LZMA2 dictionary size written is the preset's,
 * capped at the input size (rounded up to a size the header can state), so a decoder needs no more memory
 * than the chunk; hdiutil writes 8 MiB.
 *
 * Layout: stream header (magic FD 37 7A 58 5A 00, flags 00 <check>, CRC32 of the flags); block header
 * (size byte, flags 0xC0 | filters - 1, compressed size, uncompressed size, filter 0x21 with its 1-byte
 * properties, zero padding to a multiple of 4, CRC32); LZMA2 data; block padding to 4; the check; index
 * (0x00, record count, unpadded and uncompressed size per block, padding, CRC32); stream footer (CRC32,
 * backward size = index size / 4 - 1, flags, 'YZ'). An empty input has no block, as xz writes it.
 */

export type XzCheck = 'none' | 'crc32' | 'crc64';

export interface XzEncodeOptions {
  /** Block check; default 'none', as hdiutil. */
  check?: XzCheck;
  /** xz -e. */
  extreme?: boolean;
}

const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const CHECK_ID: Record<XzCheck, number> = { none: 0, crc32: 1, crc64: 4 };
const CHECK_SIZE: Record<XzCheck, number> = { none: 0, crc32: 4, crc64: 8 };
const FILTER_LZMA2 = 0x21;

/** Smallest LZMA2 dictionary-size code whose size is >= `size` (4 KiB minimum). */
export function lzma2DictCode(size: number): number {
  for (let d = 0; d < 40; d++) if ((2 | (d & 1)) * 2 ** ((d >>> 1) + 11) >= size) return d;
  return 40;
}

function varint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function pushU32(out: number[], v: number): void {
  out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
}

/** Encodes `input` as one XZ stream with xz preset 0-9 (default 6, like `xz`). Returns a new array. */
export function encodeXz(input: Uint8Array, preset = 6, options: XzEncodeOptions = {}): Uint8Array {
  const check = options.check ?? 'none';
  if (!(check in CHECK_ID)) throw new RangeError(`unsupported xz check ${String(check)}`);
  const lzma = lzmaPreset(preset, options.extreme ?? false);
  const flags = [0x00, CHECK_ID[check]];
  const checkSize = CHECK_SIZE[check];

  const head: number[] = [...MAGIC, ...flags];
  pushU32(head, crc32(new Uint8Array(flags)));

  const index: number[] = [0x00];
  let data: Uint8Array | null = null;
  let block: number[] = [];
  const tail: number[] = [];
  if (input.length === 0) {
    varint(index, 0);
  } else {
    data = encodeLzma2(input, lzma);
    const bh: number[] = [0, 0xc0];
    varint(bh, data.length);
    varint(bh, input.length);
    bh.push(FILTER_LZMA2, 1, lzma2DictCode(Math.min(lzma.dictSize, input.length)));
    while ((bh.length + 4) & 3) bh.push(0);
    bh[0] = (bh.length + 4) / 4 - 1;
    pushU32(bh, crc32(new Uint8Array(bh)));
    block = bh;
    const unpadded = bh.length + data.length + checkSize;
    for (let i = data.length; i & 3; i++) tail.push(0);
    if (check === 'crc32') pushU32(tail, crc32(input));
    else if (check === 'crc64') {
      const [hi, lo] = crc64(input);
      pushU32(tail, lo);
      pushU32(tail, hi);
    }
    varint(index, 1);
    varint(index, unpadded);
    varint(index, input.length);
  }
  while (index.length & 3) index.push(0);
  pushU32(index, crc32(new Uint8Array(index)));

  const foot: number[] = [];
  pushU32(foot, index.length / 4 - 1);
  foot.push(...flags);
  const footCrc: number[] = [];
  pushU32(footCrc, crc32(new Uint8Array(foot)));
  const footer = [...footCrc, ...foot, 0x59, 0x5a];

  const dataLen = data ? data.length : 0;
  const out = new Uint8Array(head.length + block.length + dataLen + tail.length + index.length + footer.length);
  let o = 0;
  out.set(head, o);
  o += head.length;
  out.set(block, o);
  o += block.length;
  if (data) out.set(data, o);
  o += dataLen;
  out.set(tail, o);
  o += tail.length;
  out.set(index, o);
  o += index.length;
  out.set(footer, o);
  return out;
}
