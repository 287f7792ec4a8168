import { DmgkitError } from '../errors.js';
import { crc32 } from '../util/crc32.js';
import { crc64 } from '../util/crc64.js';
import { sha256 } from '../util/sha256.js';
import { corrupt } from './errors.js';
import { decodeLzma2, decodeLzmaAlone } from './lzma.js';
import { deltaDecode, x86Decode } from './xz-filters.js';
import type { Codec } from './types.js';

/**
 * XZ container decoder (UDIF chunk type 0x80000008, "ULMO"), pure TypeScript, decoding into the caller's
 * output buffer. Handles one or more concatenated streams with stream padding, block headers (sizes, filter
 * chains: LZMA2 plus the delta and x86 BCJ filters; other BCJ filters are reported as UNSUPPORTED_CODEC), block
 * padding, the check
 * (none, CRC32, CRC64, SHA-256, each verified), the index (records compared with the blocks decoded) and the
 * stream footer. Input that does not start with the XZ magic is decoded as a raw LZMA1 ".lzma" stream.
 *
 * Layout (xz-file-format-1.1.0.txt): stream header = magic FD 37 7A 58 5A 00, flags (2), CRC32 of flags (4);
 * blocks; index; stream footer = CRC32 (4) of backward size + flags, backward size (4, (index size / 4) - 1),
 * flags (2), magic 59 5A.
 */

const CODEC = 'xz';

const HEADER_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const FOOTER_MAGIC_0 = 0x59;
const FOOTER_MAGIC_1 = 0x5a;
const STREAM_HEADER_SIZE = 12;
const STREAM_FOOTER_SIZE = 12;
/** Offsets inside the stream header. */
const SH_FLAGS = 6;
const SH_CRC = 8;
/** Offsets inside the stream footer. */
const SF_CRC = 0;
const SF_BACKWARD = 4;
const SF_FLAGS = 8;
const SF_MAGIC = 10;

/** Block flags. */
const BF_FILTER_COUNT_MASK = 0x03;
const BF_RESERVED = 0x3c;
const BF_HAS_COMPRESSED = 0x40;
const BF_HAS_UNCOMPRESSED = 0x80;

/** Filter ids. */
const FILTER_LZMA2 = 0x21;
const FILTER_DELTA = 0x03;
const FILTER_X86 = 0x04;
const FILTER_NAMES: Record<number, string> = {
  0x05: 'BCJ PowerPC',
  0x06: 'BCJ IA-64',
  0x07: 'BCJ ARM',
  0x08: 'BCJ ARM-Thumb',
  0x09: 'BCJ SPARC',
  0x0a: 'BCJ ARM64',
  0x0b: 'BCJ RISC-V',
};

/** Check types and their sizes. */
const CHECK_NONE = 0;
const CHECK_CRC32 = 1;
const CHECK_CRC64 = 4;
const CHECK_SHA256 = 10;
const CHECK_SIZES = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];

const MAX_LZMA2_DICT_CODE = 40;

function isXzMagic(b: Uint8Array, o: number): boolean {
  if (b.length - o < 6) return false;
  for (let i = 0; i < 6; i++) if (b[o + i] !== HEADER_MAGIC[i]) return false;
  return true;
}

function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/** Multibyte integer (7 bits per byte, little-endian, at most 9 bytes), limited to 2^53-1. */
class Cursor {
  constructor(
    readonly b: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}
  varint(what: string): number {
    let v = 0;
    let mul = 1;
    const start = this.pos;
    for (let i = 0; i < 9; i++) {
      if (this.pos >= this.end) throw corrupt(CODEC, `truncated ${what}`, start);
      const byte = this.b[this.pos++];
      v += (byte & 0x7f) * mul;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw corrupt(CODEC, `non-minimal encoding of ${what}`, start);
        if (v > Number.MAX_SAFE_INTEGER) throw corrupt(CODEC, `${what} too large`, start);
        return v;
      }
      mul *= 128;
    }
    throw corrupt(CODEC, `${what} longer than 9 bytes`, start);
  }
}

function checkName(t: number): string {
  return t === CHECK_NONE ? 'none' : t === CHECK_CRC32 ? 'CRC32' : t === CHECK_CRC64 ? 'CRC64' : t === CHECK_SHA256 ? 'SHA-256' : `type ${t}`;
}

/** Verifies the block check stored at input[pos] over output[start, end). */
function verifyCheck(checkType: number, input: Uint8Array, pos: number, output: Uint8Array, start: number, end: number): void {
  let ok = true;
  if (checkType === CHECK_CRC32) {
    ok = crc32(output, 0, start, end) === u32le(input, pos);
  } else if (checkType === CHECK_CRC64) {
    const [hi, lo] = crc64(output, [0, 0], start, end);
    ok = lo === u32le(input, pos) && hi === u32le(input, pos + 4);
  } else if (checkType === CHECK_SHA256) {
    const d = sha256(output, start, end);
    for (let i = 0; i < 32; i++) if (d[i] !== input[pos + i]) ok = false;
  }
  if (!ok) throw corrupt(CODEC, `block ${checkName(checkType)} check mismatch`, pos);
}

/** Non-last filters of the current block (at most 3 by the 2-bit filter count). */
const preIds = new Int32Array(4);
const preArgs = new Float64Array(4);

/** Decodes one XZ stream starting at input[pos]; returns [input position after the footer, output position]. */
function decodeStream(input: Uint8Array, pos: number, output: Uint8Array, outPos: number): [number, number] {
  const streamStart = pos;
  if (input.length - pos < STREAM_HEADER_SIZE + STREAM_FOOTER_SIZE) throw corrupt(CODEC, 'truncated stream', pos);
  if (!isXzMagic(input, pos)) throw corrupt(CODEC, 'bad stream header magic', pos);
  const flags0 = input[pos + SH_FLAGS];
  const flags1 = input[pos + SH_FLAGS + 1];
  if (crc32(input, 0, pos + SH_FLAGS, pos + SH_FLAGS + 2) !== u32le(input, pos + SH_CRC)) {
    throw corrupt(CODEC, 'stream header CRC32 mismatch', pos + SH_CRC);
  }
  if (flags0 !== 0 || (flags1 & 0xf0) !== 0) throw corrupt(CODEC, 'reserved stream flags set', pos + SH_FLAGS);
  const checkType = flags1 & 0x0f;
  if (checkType !== CHECK_NONE && checkType !== CHECK_CRC32 && checkType !== CHECK_CRC64 && checkType !== CHECK_SHA256) {
    throw new DmgkitError('UNSUPPORTED_CODEC', `xz: unsupported check type ${checkType} at input byte ${pos + SH_FLAGS + 1}`, {
      codec: CODEC,
      inputPos: pos + SH_FLAGS + 1,
    });
  }
  const checkSize = CHECK_SIZES[checkType];
  pos += STREAM_HEADER_SIZE;

  // Block records for the index comparison: bounded by input.length / 12 (the smallest possible block).
  const unpaddedSizes: number[] = [];
  const uncompressedSizes: number[] = [];

  for (;;) {
    if (pos >= input.length) throw corrupt(CODEC, 'truncated stream (no index)', pos);
    const hdrByte = input[pos];
    if (hdrByte === 0) break; // index indicator
    // ---- block header ----
    const blockStart = pos;
    const hdrSize = (hdrByte + 1) * 4;
    if (input.length - pos < hdrSize) throw corrupt(CODEC, 'truncated block header', pos);
    if (crc32(input, 0, pos, pos + hdrSize - 4) !== u32le(input, pos + hdrSize - 4)) {
      throw corrupt(CODEC, 'block header CRC32 mismatch', pos + hdrSize - 4);
    }
    const bflags = input[pos + 1];
    if (bflags & BF_RESERVED) throw corrupt(CODEC, 'reserved block flags set', pos + 1);
    const c = new Cursor(input, pos + 2, pos + hdrSize - 4);
    const declaredCompressed = bflags & BF_HAS_COMPRESSED ? c.varint('block compressed size') : -1;
    const declaredUncompressed = bflags & BF_HAS_UNCOMPRESSED ? c.varint('block uncompressed size') : -1;
    if (declaredCompressed === 0) throw corrupt(CODEC, 'block compressed size is 0', pos + 2);
    const nFilters = (bflags & BF_FILTER_COUNT_MASK) + 1;
    let dictSize = 0;
    let nPre = 0; // filters before LZMA2, in chain order (undone in reverse)
    for (let f = 0; f < nFilters; f++) {
      const fPos = c.pos;
      const id = c.varint('filter id');
      const propSize = c.varint('filter properties size');
      if (propSize > c.end - c.pos) throw corrupt(CODEC, 'filter properties run past the block header', fPos);
      const last = f === nFilters - 1;
      if (id === FILTER_LZMA2) {
        if (!last) throw corrupt(CODEC, 'LZMA2 filter is not the last filter', fPos);
        if (propSize !== 1) throw corrupt(CODEC, `LZMA2 filter properties size ${propSize} (expected 1)`, fPos);
        const d = input[c.pos];
        if (d > MAX_LZMA2_DICT_CODE) throw corrupt(CODEC, `LZMA2 dictionary size code ${d} out of range`, c.pos);
        dictSize = d === MAX_LZMA2_DICT_CODE ? 0xffffffff : (2 | (d & 1)) * 2 ** ((d >>> 1) + 11);
      } else if (last && (id === FILTER_DELTA || id === FILTER_X86)) {
        throw corrupt(CODEC, `filter 0x${id.toString(16)} cannot be the last filter`, fPos);
      } else if (id === FILTER_DELTA) {
        if (propSize !== 1) throw corrupt(CODEC, `delta filter properties size ${propSize} (expected 1)`, fPos);
        preIds[nPre] = id;
        preArgs[nPre++] = input[c.pos] + 1;
      } else if (id === FILTER_X86) {
        if (propSize !== 0 && propSize !== 4) throw corrupt(CODEC, `x86 filter properties size ${propSize} (expected 0 or 4)`, fPos);
        preIds[nPre] = id;
        preArgs[nPre++] = propSize === 4 ? u32le(input, c.pos) : 0;
      } else {
        const name = FILTER_NAMES[id];
        throw new DmgkitError(
          'UNSUPPORTED_CODEC',
          `xz: filter 0x${id.toString(16)}${name ? ` (${name})` : ''} is not supported at input byte ${fPos}`,
          { codec: CODEC, inputPos: fPos, filterId: id },
        );
      }
      c.pos += propSize;
    }
    for (let i = c.pos; i < c.end; i++) if (input[i] !== 0) throw corrupt(CODEC, 'non-zero block header padding', i);
    pos += hdrSize;

    // ---- compressed data ----
    const dataStart = pos;
    const outStart = outPos;
    let outEnd: number;
    if (declaredUncompressed >= 0) {
      if (declaredUncompressed > output.length - outPos) {
        throw corrupt(CODEC, `block uncompressed size ${declaredUncompressed} exceeds the ${output.length - outPos} bytes left in the output`, blockStart);
      }
      outEnd = outPos + declaredUncompressed;
    } else {
      outEnd = output.length;
    }
    let dataEnd = input.length;
    if (declaredCompressed >= 0) {
      if (declaredCompressed > input.length - dataStart) throw corrupt(CODEC, 'truncated block data', dataStart);
      dataEnd = dataStart + declaredCompressed;
    }
    // Without a declared uncompressed size the block may stop anywhere before the output end: decodeLzma2
    // requires an exact fill, so decode into the rest of the output and find the real end by the 0x00 byte.
    const after = declaredUncompressed >= 0
      ? decodeLzma2(input, dataStart, dataEnd, output, outPos, outEnd, dictSize, CODEC)
      : decodeLzma2Open(input, dataStart, dataEnd, output, outPos, dictSize);
    outPos = declaredUncompressed >= 0 ? outEnd : lastOpenEnd;
    if (declaredCompressed >= 0 && after !== dataEnd) {
      throw corrupt(CODEC, `block compressed size ${declaredCompressed} declared, ${after - dataStart} used`, after);
    }
    pos = after;
    for (let f = nPre - 1; f >= 0; f--) {
      if (preIds[f] === FILTER_DELTA) deltaDecode(output, outStart, outPos, preArgs[f]);
      else x86Decode(output, outStart, outPos, preArgs[f]);
    }

    // ---- padding + check ----
    const unpadded = pos - blockStart + checkSize;
    while ((pos - blockStart) & 3) {
      if (pos >= input.length) throw corrupt(CODEC, 'truncated block padding', pos);
      if (input[pos] !== 0) throw corrupt(CODEC, 'non-zero block padding', pos);
      pos++;
    }
    if (input.length - pos < checkSize) throw corrupt(CODEC, 'truncated block check', pos);
    verifyCheck(checkType, input, pos, output, outStart, outPos);
    pos += checkSize;
    unpaddedSizes.push(unpadded);
    uncompressedSizes.push(outPos - outStart);
  }

  // ---- index ----
  const indexStart = pos;
  const ic = new Cursor(input, pos + 1, input.length);
  const count = ic.varint('index record count');
  if (count !== unpaddedSizes.length) {
    throw corrupt(CODEC, `index lists ${count} blocks, the stream has ${unpaddedSizes.length}`, indexStart);
  }
  for (let i = 0; i < count; i++) {
    const rPos = ic.pos;
    const unp = ic.varint('index unpadded size');
    const unc = ic.varint('index uncompressed size');
    if (unp !== unpaddedSizes[i] || unc !== uncompressedSizes[i]) {
      throw corrupt(CODEC, `index record ${i} (${unp}, ${unc}) does not match block (${unpaddedSizes[i]}, ${uncompressedSizes[i]})`, rPos);
    }
  }
  pos = ic.pos;
  while ((pos - indexStart) & 3) {
    if (pos >= input.length) throw corrupt(CODEC, 'truncated index padding', pos);
    if (input[pos] !== 0) throw corrupt(CODEC, 'non-zero index padding', pos);
    pos++;
  }
  if (input.length - pos < 4 + STREAM_FOOTER_SIZE) throw corrupt(CODEC, 'truncated index CRC32 or stream footer', pos);
  if (crc32(input, 0, indexStart, pos) !== u32le(input, pos)) throw corrupt(CODEC, 'index CRC32 mismatch', pos);
  pos += 4;
  const indexSize = pos - indexStart;

  // ---- footer ----
  const f = pos;
  if (input[f + SF_MAGIC] !== FOOTER_MAGIC_0 || input[f + SF_MAGIC + 1] !== FOOTER_MAGIC_1) {
    throw corrupt(CODEC, 'bad stream footer magic', f + SF_MAGIC);
  }
  if (crc32(input, 0, f + SF_BACKWARD, f + SF_MAGIC) !== u32le(input, f + SF_CRC)) {
    throw corrupt(CODEC, 'stream footer CRC32 mismatch', f);
  }
  if ((u32le(input, f + SF_BACKWARD) + 1) * 4 !== indexSize) {
    throw corrupt(CODEC, 'stream footer backward size does not match the index', f + SF_BACKWARD);
  }
  if (input[f + SF_FLAGS] !== flags0 || input[f + SF_FLAGS + 1] !== flags1) {
    throw corrupt(CODEC, 'stream footer flags differ from the header', f + SF_FLAGS);
  }
  void streamStart;
  return [f + STREAM_FOOTER_SIZE, outPos];
}

let lastOpenEnd = 0;

/**
 * LZMA2 block without a declared uncompressed size: decode into output[outPos, output.length) and accept an
 * earlier end. Sets lastOpenEnd to the output position reached.
 */
function decodeLzma2Open(input: Uint8Array, inPos: number, inEnd: number, output: Uint8Array, outPos: number, dictSize: number): number {
  // Walk the chunk headers first to learn the decoded size (headers are cheap), then decode exactly.
  let p = inPos;
  let total = 0;
  for (;;) {
    if (p >= inEnd) throw corrupt(CODEC, 'truncated LZMA2 data (no end-of-stream byte)', p);
    const ctrl = input[p];
    if (ctrl === 0) break;
    if (ctrl < 0x80) {
      if (ctrl > 2) throw corrupt(CODEC, `invalid LZMA2 control byte 0x${ctrl.toString(16)}`, p);
      if (inEnd - p < 3) throw corrupt(CODEC, 'truncated LZMA2 chunk header', p);
      const size = ((input[p + 1] << 8) | input[p + 2]) + 1;
      total += size;
      p += 3 + size;
    } else {
      if (inEnd - p < 5) throw corrupt(CODEC, 'truncated LZMA2 chunk header', p);
      total += (ctrl & 0x1f) * 0x10000 + ((input[p + 1] << 8) | input[p + 2]) + 1;
      p += 5 + ((input[p + 3] << 8) | input[p + 4]) + 1 + (ctrl >= 0xc0 ? 1 : 0);
    }
    if (total > output.length - outPos) throw corrupt(CODEC, `LZMA2 data larger than the declared ${output.length} bytes`, p);
  }
  lastOpenEnd = outPos + total;
  return decodeLzma2(input, inPos, inEnd, output, outPos, outPos + total, dictSize, CODEC);
}

/**
 * Decodes an XZ container (one or more streams, with stream padding) — or, when the input does not start with
 * the XZ magic, a raw LZMA1 ".lzma" stream — filling `output` exactly.
 */
export function decodeXz(input: Uint8Array, output: Uint8Array): void {
  if (!isXzMagic(input, 0)) {
    decodeLzmaAlone(input, output);
    return;
  }
  let pos = 0;
  let outPos = 0;
  for (;;) {
    [pos, outPos] = decodeStream(input, pos, output, outPos);
    // stream padding: multiples of 4 zero bytes
    const padStart = pos;
    while (pos < input.length && input[pos] === 0) pos++;
    if ((pos - padStart) & 3) throw corrupt(CODEC, 'stream padding is not a multiple of 4 bytes', padStart);
    if (pos >= input.length) break;
    if (!isXzMagic(input, pos)) throw corrupt(CODEC, 'garbage after a stream', pos);
  }
  if (outPos !== output.length) throw corrupt(CODEC, `decoded ${outPos} bytes where ${output.length} were declared`, input.length);
}

export const xzCodec: Codec = { name: 'xz', decode: decodeXz };
