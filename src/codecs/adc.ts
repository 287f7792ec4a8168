import { corrupt } from './errors.js';
import type { Codec } from './types.js';

/**
 * Apple Data Compression (ADC), UDIF chunk type 0x80000004 (UDCO images). A byte-oriented LZ77 with three
 * opcode forms, selected by the top bits of the first byte (see docs/formats/adc.md for sources):
 *
 *   1LLLLLLL                      literal run of (b & 0x7F) + 1 bytes (1..128) following the opcode
 *   01LLLLLL OOOOOOOO OOOOOOOO    match, length (b & 0x3F) + 4 (4..67), distance u16be + 1 (1..65536)
 *   00LLLLOO OOOOOOOO             match, length ((b >> 2) & 0x0F) + 3 (3..18), distance ((b & 3) << 8 | o) + 1 (1..1024)
 *
 * Matches copy byte by byte, so a distance shorter than the length repeats a pattern (distance 1 = run).
 */

/**
 * Opcode fields. A const enum so the compiler writes the numbers into the decoder as literals: module-level
 * consts are read from the module context at run time, which measured ~2-3% slower in the hot loop.
 */
const enum Op {
  /** Literal opcode flag, and the mask of its length field (length = field + 1). */
  LiteralFlag = 0x80,
  LiteralMask = 0x7f,
  /** Three-byte match flag (with the literal flag clear), and its length field mask (length = field + 4). */
  LongMatchFlag = 0x40,
  LongMatchMask = 0x3f,
  LongMatchBias = 4,
  /** Two-byte match: length = ((b >> 2) & 0x0F) + 3; distance high bits in b & 3. */
  ShortMatchBias = 3,
  /**
   * Over-copy slack: the fast paths copy in fixed blocks (4 bytes for literals, 8 for matches) and may write up
   * to this many bytes past the element's end (and read as far past a literal's end), which is only allowed
   * while that stays inside the output (and the input). Those extra bytes are overwritten by the following
   * elements; near the ends of the buffers the exact byte loops run instead.
   */
  Overcopy = 8,
  /**
   * Literal runs at least this long are copied with `set`, and three-byte matches at least this long with
   * `copyWithin` (source and destination apart) or `fill` (distance 1): measured ~1.6x faster on random data
   * (128-byte literal runs) and ~4.8x on zero runs (67-byte distance-1 matches) than the byte blocks.
   */
  LiteralSetMin = 64,
  BulkMatchMin = 32,
}

export const ADC_LITERAL_FLAG: number = Op.LiteralFlag;
export const ADC_LITERAL_MASK: number = Op.LiteralMask;
export const ADC_LONG_MATCH_FLAG: number = Op.LongMatchFlag;
export const ADC_LONG_MATCH_MASK: number = Op.LongMatchMask;
export const ADC_LONG_MATCH_BIAS: number = Op.LongMatchBias;
export const ADC_SHORT_MATCH_BIAS: number = Op.ShortMatchBias;

/** Longest literal run, and longest / farthest match each form can express. */
export const ADC_MAX_LITERAL = 128;
export const ADC_SHORT_MAX_LENGTH = 18;
export const ADC_SHORT_MAX_DISTANCE = 1024;
export const ADC_LONG_MAX_LENGTH = 67;
export const ADC_LONG_MAX_DISTANCE = 65536;

/**
 * Decode one ADC chunk into `output`, which must be filled exactly. Every failure (truncated opcode, match
 * before the start of the output, overrun, underrun) is a CORRUPT_CHUNK DmgkitError naming the input position.
 *
 * Two loops. The fast loop runs while an element and its over-copy slack (Op.Overcopy) fit well inside both
 * buffers: one branch per opcode form, one bounds test per element against precomputed limits, and bytes copied
 * by unrolled fixed-size blocks rather than a loop with a data-dependent exit per byte, so most elements (a
 * two-byte match is one 8-byte block, a literal run of 1..4 one 4-byte block) cost no mispredicted loop exit.
 * Blocks copy forward byte by byte, so an overlapping match (distance < length, distance 1 = run) still repeats
 * its pattern; the bytes over-copied past an element are overwritten by the next ones. The fast loop never
 * throws: at anything it does not handle (the buffer ends, a distance reaching before the output) it stops, and
 * the exact loop takes over at the same element, copying byte by byte and raising every error.
 * Long literal runs and long three-byte matches go to `set` / `copyWithin` / `fill` (Op.LiteralSetMin, Op.BulkMatchMin).
 */
export function decodeAdc(input: Uint8Array, output: Uint8Array): void {
  const inEnd = input.length;
  const outEnd = output.length;
  const inSafe = inEnd - Op.Overcopy;
  const outSafe = outEnd - Op.Overcopy;
  let ip = 0;
  let op = 0;
  // Fast loop: ip < inSafe, so every opcode's bytes are in the input.
  while (ip < inSafe) {
    const b = input[ip]!;
    if (b >= Op.LiteralFlag) {
      const len = b - Op.LiteralFlag + 1;
      let s = ip + 1;
      const e = s + len;
      const oe = op + len;
      if (e > inSafe || oe > outSafe) break;
      if (len >= Op.LiteralSetMin) {
        output.set(input.subarray(s, e), op);
        op = oe;
        ip = e;
        continue;
      }
      let o = op;
      do {
        output[o] = input[s]!;
        output[o + 1] = input[s + 1]!;
        output[o + 2] = input[s + 2]!;
        output[o + 3] = input[s + 3]!;
        o += 4;
        s += 4;
      } while (o < oe);
      op = oe;
      ip = e;
      continue;
    }
    if (b < Op.LongMatchFlag) {
      // Two-byte match, 3..18 bytes (b < 0x40: the length field is all of b >> 2).
      const len = (b >> 2) + Op.ShortMatchBias;
      let s = op - ((((b & 3) << 8) | input[ip + 1]!) + 1);
      const oe = op + len;
      if (s < 0 || oe > outSafe) break;
      output[op] = output[s]!;
      output[op + 1] = output[s + 1]!;
      output[op + 2] = output[s + 2]!;
      output[op + 3] = output[s + 3]!;
      output[op + 4] = output[s + 4]!;
      output[op + 5] = output[s + 5]!;
      output[op + 6] = output[s + 6]!;
      output[op + 7] = output[s + 7]!;
      if (len > 8) {
        let o = op + 8;
        s += 8;
        do {
          output[o] = output[s]!;
          output[o + 1] = output[s + 1]!;
          output[o + 2] = output[s + 2]!;
          output[o + 3] = output[s + 3]!;
          output[o + 4] = output[s + 4]!;
          output[o + 5] = output[s + 5]!;
          output[o + 6] = output[s + 6]!;
          output[o + 7] = output[s + 7]!;
          o += 8;
          s += 8;
        } while (o < oe);
      }
      op = oe;
      ip += 2;
      continue;
    }
    // Three-byte match, 4..67 bytes (0x40 <= b < 0x80).
    const len = b - Op.LongMatchFlag + Op.LongMatchBias;
    let s = op - (((input[ip + 1]! << 8) | input[ip + 2]!) + 1);
    const oe = op + len;
    if (s < 0 || oe > outSafe) break;
    if (len >= Op.BulkMatchMin) {
      if (s + len <= op) {
        output.copyWithin(op, s, s + len);
        op = oe;
        ip += 3;
        continue;
      }
      if (s === op - 1) {
        output.fill(output[s]!, op, oe);
        op = oe;
        ip += 3;
        continue;
      }
    }
    let o = op;
    do {
      output[o] = output[s]!;
      output[o + 1] = output[s + 1]!;
      output[o + 2] = output[s + 2]!;
      output[o + 3] = output[s + 3]!;
      output[o + 4] = output[s + 4]!;
      output[o + 5] = output[s + 5]!;
      output[o + 6] = output[s + 6]!;
      output[o + 7] = output[s + 7]!;
      o += 8;
      s += 8;
    } while (o < oe);
    op = oe;
    ip += 3;
  }
  decodeAdcExact(input, output, ip, op);
}

/**
 * The exact loop of decodeAdc, from input[ip] / output[op] to the end, raising every error. A function of its own
 * so that decodeAdc's optimized loop has nothing after it that ran too rarely to have type feedback (measured: the
 * loop's optimized code otherwise deoptimized at this loop's first test in nearly every call).
 */
function decodeAdcExact(input: Uint8Array, output: Uint8Array, ip: number, op: number): void {
  const inEnd = input.length;
  const outEnd = output.length;
  while (ip < inEnd) {
    const at = ip;
    const b = input[ip]!;
    if (b & Op.LiteralFlag) {
      const len = (b & Op.LiteralMask) + 1;
      if (ip + 1 + len > inEnd) throw corrupt('adc', `literal run of ${len} bytes truncated`, ip);
      if (op + len > outEnd) throw corrupt('adc', `literal run of ${len} bytes overruns the ${outEnd}-byte output`, ip);
      let s = ip + 1;
      const e = s + len;
      while (s < e) output[op++] = input[s++]!;
      ip = e;
      continue;
    }
    let len: number;
    let dist: number;
    if (b & Op.LongMatchFlag) {
      if (ip + 3 > inEnd) throw corrupt('adc', 'three-byte match opcode truncated', ip);
      len = (b & Op.LongMatchMask) + Op.LongMatchBias;
      dist = ((input[ip + 1]! << 8) | input[ip + 2]!) + 1;
      ip += 3;
    } else {
      if (ip + 2 > inEnd) throw corrupt('adc', 'two-byte match opcode truncated', ip);
      len = ((b >> 2) & 0x0f) + Op.ShortMatchBias;
      dist = (((b & 3) << 8) | input[ip + 1]!) + 1;
      ip += 2;
    }
    if (dist > op) throw corrupt('adc', `match distance ${dist} reaches before the start of the output (at ${op})`, at);
    if (op + len > outEnd) throw corrupt('adc', `match of ${len} bytes overruns the ${outEnd}-byte output`, at);
    let s = op - dist;
    const end = op + len;
    while (op < end) output[op++] = output[s++]!;
  }
  if (op !== outEnd) throw corrupt('adc', `stream ended after ${op} of ${outEnd} output bytes`, ip);
}

export const adcCodec: Codec = { name: 'adc', decode: decodeAdc };

/**
 * Warm-up: V8 optimizes decodeAdc's loop during the first chunk, before the exact loop at the chunk's end has type
 * feedback, and then deoptimizes at that loop in every later call (42 deoptimizations in 48 calls measured).
 * Decoding one small stream when the module loads runs every path once in the interpreter first. The stream
 * (503 bytes of text, zeros, short-period runs and random bytes) is our encoder's output; a failure here would be
 * a bug, and is ignored.
 */
const WARM_ADC = [
  'sHdhcm0tdXAgc2FtcGxlOiB0aGUgZGVjb2RlciBzZWVzIGV2ZXJ5IHBhdGggb25jZS5dACGCISAAfwAAfwAAfQAAgnh5ejwCgmFi',
  'Y38AAlAAAsXTp1B/VlaW8eiyZ8n+CfNz2s1k8PGIncPsKxKSRywrqUvDA3sqfv9bHRuRoquCFS5jXFPXi2r5OtxbvAMIC/S6dELc',
  '7GrRXwHBgmVuZA==',
].join('');
const WARM_SIZE = 503;
/** V8 allocates a function's feedback vector only after several calls: the first runs collect no feedback. */
const WARM_RUNS = 10;

/** Runs the warm-up; returns whether its streams decoded (they must: checked by the tests). */
export function adcWarmUp(): boolean {
  try {
    const b = atob(WARM_ADC);
    const input = new Uint8Array(b.length);
    for (let i = 0; i < b.length; i++) input[i] = b.charCodeAt(i);
    const out = new Uint8Array(WARM_SIZE);
    for (let i = 0; i < WARM_RUNS; i++) decodeAdc(input, out);
  } catch {
    // a bug in the constants above; decoding works without the warm-up
    return false;
  }
  return true;
}
adcWarmUp();
