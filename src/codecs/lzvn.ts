import { DmgkitError } from '../errors.js';
import { corrupt } from './errors.js';

/**
 * LZVN decoder (Apple's byte-oriented LZ77 variant, used standalone by HFS+ decmpfs types 7/8 and inside LZFSE
 * streams as `bvxn` blocks). Format facts: Apple's open-source lzfse, lzvn_decode_base.c; see docs/formats/lzfse.md.
 *
 * The stream is a sequence of opcodes. Each opcode may carry a literal (L bytes copied from the input right after
 * the opcode) and/or a match (M bytes copied from D bytes back in the output; D is kept between opcodes, several
 * opcodes reuse the previous one). The stream ends with the end-of-stream opcode 0x06 followed by 7 padding bytes.
 */

// Opcode kinds (values of OPCODE_KIND).
const UDEF = 0; // undefined opcode: corrupt
const SML_D = 1; // LLMMMDDD DDDDDDDD: L 0-3, M 3-10, D < 2048
const MED_D = 2; // 101LLMMM DDDDDDMM DDDDDDDD: L 0-3, M 3-34, D < 16384
const LRG_D = 3; // LLMMM111 DDDDDDDD DDDDDDDD: L 0-3, M 3-10, D < 65536 (little-endian)
const PRE_D = 4; // LLMMM110: L 0-3, M 3-10, previous D
const SML_L = 5; // 1110LLLL: literal only, L 1-15
const LRG_L = 6; // 11100000 LLLLLLLL: literal only, L 16-271
const SML_M = 7; // 1111MMMM: match only, previous D, M 1-15
const LRG_M = 8; // 11110000 MMMMMMMM: match only, previous D, M 16-271
const NOP = 9; // 0x0E, 0x16
const EOS = 10; // 0x06, then 7 padding bytes

/** Number of bytes the end-of-stream opcode occupies, padding included. */
export const LZVN_EOS_BYTES = 8;

const OPCODE_KIND: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let op = 0; op < 256; op++) {
    const low3 = op & 7;
    let kind: number;
    if (op >= 0xf0) kind = op === 0xf0 ? LRG_M : SML_M;
    else if (op >= 0xe0) kind = op === 0xe0 ? LRG_L : SML_L;
    else if (op >= 0xd0) kind = UDEF;
    else if (op >= 0xa0 && op < 0xc0) kind = MED_D;
    else if (op >= 0x70 && op < 0x80) kind = UDEF;
    else if (low3 === 7) kind = LRG_D;
    else if (low3 === 6) {
      // 0x06 EOS, 0x0E/0x16 NOP, 0x1E..0x3E undefined, the rest "previous distance"
      if (op === 0x06) kind = EOS;
      else if (op === 0x0e || op === 0x16) kind = NOP;
      else if (op < 0x40) kind = UDEF;
      else kind = PRE_D;
    } else kind = SML_D;
    t[op] = kind;
  }
  return t;
})();

/**
 * Copies an LZ match of `length` bytes from `distance` bytes back, inside `buf`, to `buf[pos..pos+length)`.
 * Overlapping matches (distance < length) repeat the last `distance` bytes, as a byte-by-byte forward copy would.
 * The caller has checked 1 <= distance <= pos and pos + length <= buf.length.
 */
export function copyMatch(buf: Uint8Array, pos: number, distance: number, length: number): void {
  const from = pos - distance;
  if (length <= 32) {
    // Short matches: a byte loop beats the call overhead of copyWithin and handles overlap.
    for (let i = 0; i < length; i++) buf[pos + i] = buf[from + i];
  } else if (distance >= length) {
    buf.copyWithin(pos, from, from + length);
  } else if (distance === 1) {
    buf.fill(buf[from], pos, pos + length);
  } else {
    // Overlapping long match: the source [from, pos) repeats with period `distance`; copy it in chunks that double
    // each time (every chunk starts at a multiple of the period, so its phase matches).
    let done = 0;
    while (done < length) {
      const avail = pos + done - from;
      const n = avail < length - done ? avail : length - done;
      buf.copyWithin(pos + done, from, from + n);
      done += n;
    }
  }
}

/**
 * Decodes one LZVN stream from `src[srcStart..srcEnd)` into `dst[dstStart..dstEnd)` and returns the number of
 * bytes written (decoding stops at the end-of-stream opcode; the caller checks the count it expects).
 *
 * - Matches may reach back to `dst[0]` (inside an LZFSE stream, earlier blocks are history for later ones), never
 *   before it.
 * - `exactEnd` true (LZFSE `bvxn` blocks): the end-of-stream opcode and its 7 padding bytes must end exactly at
 *   `srcEnd`. False (standalone streams, decmpfs chunks): the padding may be missing or followed by more bytes.
 * - Throws CORRUPT_CHUNK (codec 'lzvn', with the input position) on an undefined opcode, a zero distance or one
 *   before `dst[0]`, output past `dstEnd`, or input ending before the end-of-stream opcode.
 */
export function lzvnDecodeBlock(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
  exactEnd = false,
): number {
  if (
    !(srcStart >= 0 && srcStart <= srcEnd && srcEnd <= src.length && dstStart >= 0 && dstStart <= dstEnd) ||
    dstEnd > dst.length
  ) {
    throw new DmgkitError(
      'INVALID_ARGUMENT',
      `lzvn: bad ranges src [${srcStart}, ${srcEnd}) of ${src.length}, dst [${dstStart}, ${dstEnd}) of ${dst.length}`,
    );
  }
  const kinds = OPCODE_KIND;
  const srcLen = src.length;
  const sv = new DataView(src.buffer, src.byteOffset, src.length);
  const ov = new DataView(dst.buffer, dst.byteOffset, dst.length);
  let s = srcStart;
  let d = dstStart;
  let D = 0; // previous match distance; 0 = none yet
  for (;;) {
    if (s >= srcEnd) throw corrupt('lzvn', 'input ends before the end-of-stream opcode', s);
    const op = src[s];
    let L: number;
    let M: number;
    let opLen: number;
    // Every opcode must leave at least one byte for the next one (a valid stream ends with end-of-stream).
    switch (kinds[op]) {
      case SML_D:
        L = op >>> 6;
        M = ((op >>> 3) & 7) + 3;
        opLen = 2;
        if (s + opLen + L >= srcEnd) throw truncated(s);
        D = ((op & 7) << 8) | src[s + 1];
        break;
      case MED_D: {
        L = (op >>> 3) & 3;
        opLen = 3;
        if (s + opLen + L >= srcEnd) throw truncated(s);
        const w = src[s + 1] | (src[s + 2] << 8);
        M = (((op & 7) << 2) | (w & 3)) + 3;
        D = w >>> 2;
        break;
      }
      case LRG_D:
        L = op >>> 6;
        M = ((op >>> 3) & 7) + 3;
        opLen = 3;
        if (s + opLen + L >= srcEnd) throw truncated(s);
        D = src[s + 1] | (src[s + 2] << 8);
        break;
      case PRE_D:
        L = op >>> 6;
        M = ((op >>> 3) & 7) + 3;
        opLen = 1;
        if (s + opLen + L >= srcEnd) throw truncated(s);
        break;
      case SML_L:
        L = op & 15;
        M = 0;
        opLen = 1;
        if (s + opLen + L >= srcEnd) throw truncated(s);
        break;
      case LRG_L:
        opLen = 2;
        if (s + opLen >= srcEnd) throw truncated(s);
        L = src[s + 1] + 16;
        M = 0;
        if (s + opLen + L >= srcEnd) throw truncated(s);
        break;
      case SML_M:
        L = 0;
        M = op & 15;
        opLen = 1;
        if (s + opLen >= srcEnd) throw truncated(s);
        break;
      case LRG_M:
        L = 0;
        opLen = 2;
        if (s + opLen >= srcEnd) throw truncated(s);
        M = src[s + 1] + 16;
        break;
      case NOP:
        if (s + 1 >= srcEnd) throw truncated(s);
        s++;
        continue;
      case EOS:
        if (exactEnd && s + LZVN_EOS_BYTES !== srcEnd) {
          throw corrupt(
            'lzvn',
            s + LZVN_EOS_BYTES > srcEnd
              ? 'end-of-stream opcode is missing its padding bytes'
              : `${srcEnd - s - LZVN_EOS_BYTES} unused bytes after the end-of-stream opcode`,
            s,
          );
        }
        return d - dstStart;
      default:
        throw corrupt('lzvn', `undefined opcode 0x${op.toString(16).padStart(2, '0')}`, s);
    }
    s += opLen;
    if (d + L + M + 16 <= dstEnd && s + L + 8 <= srcLen) {
      // Room on both sides: 8-byte copies; the last one may write up to 7 bytes past the literal or match, into
      // [d, dstEnd) output that later opcodes overwrite.
      for (let i = 0; i < L; i += 8) {
        ov.setUint32(d + i, sv.getUint32(s + i, true), true);
        ov.setUint32(d + i + 4, sv.getUint32(s + i + 4, true), true);
      }
      d += L;
      s += L;
      if (M !== 0) {
        if (D === 0 || D > d) throw badDistance(D, d, s);
        const from = d - D;
        if (D >= 8) {
          for (let i = 0; i < M; i += 8) {
            ov.setUint32(d + i, ov.getUint32(from + i, true), true);
            ov.setUint32(d + i + 4, ov.getUint32(from + i + 4, true), true);
          }
        } else {
          copyMatch(dst, d, D, M);
        }
        d += M;
      }
      continue;
    }
    if (L !== 0) {
      if (L > dstEnd - d) throw corrupt('lzvn', `literal of ${L} bytes runs past the end of the output`, s);
      for (let i = 0; i < L; i++) dst[d + i] = src[s + i];
      d += L;
      s += L;
    }
    if (M !== 0) {
      if (D === 0 || D > d) throw badDistance(D, d, s);
      if (M > dstEnd - d) throw corrupt('lzvn', `match of ${M} bytes runs past the end of the output`, s);
      copyMatch(dst, d, D, M);
      d += M;
    }
  }
}

function badDistance(D: number, d: number, s: number): DmgkitError {
  return corrupt('lzvn', `match distance ${D} points before the start of the output (${d} bytes written)`, s);
}

function truncated(pos: number): DmgkitError {
  return corrupt('lzvn', 'input truncated inside an opcode or its literal', pos);
}

/**
 * Decodes one standalone LZVN stream (decmpfs types 7/8 chunks) and fills `output` exactly: fewer bytes than
 * `output.length` before the end-of-stream opcode, or more, throw CORRUPT_CHUNK. The 7 padding bytes after the
 * end-of-stream opcode may be absent. (A decmpfs chunk whose first byte is 0x06 is stored uncompressed; that test
 * belongs to the caller.)
 */
export function decodeLzvn(input: Uint8Array, output: Uint8Array): void {
  const n = lzvnDecodeBlock(input, 0, input.length, output, 0, output.length, false);
  if (n !== output.length) {
    throw corrupt('lzvn', `stream decoded to ${n} bytes, expected ${output.length}`, input.length);
  }
}
