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

/** Literal opcode flag, and the mask of its length field (length = field + 1). */
export const ADC_LITERAL_FLAG = 0x80;
export const ADC_LITERAL_MASK = 0x7f;
/** Three-byte match flag (with the literal flag clear), and its length field mask (length = field + 4). */
export const ADC_LONG_MATCH_FLAG = 0x40;
export const ADC_LONG_MATCH_MASK = 0x3f;
export const ADC_LONG_MATCH_BIAS = 4;
/** Two-byte match: length = ((b >> 2) & 0x0F) + 3; distance high bits in b & 3. */
export const ADC_SHORT_MATCH_BIAS = 3;

/** Longest literal run, and longest / farthest match each form can express. */
export const ADC_MAX_LITERAL = 128;
export const ADC_SHORT_MAX_LENGTH = 18;
export const ADC_SHORT_MAX_DISTANCE = 1024;
export const ADC_LONG_MAX_LENGTH = 67;
export const ADC_LONG_MAX_DISTANCE = 65536;

/** Matches at least this long are copied with copyWithin (not overlapping) or fill (distance 1). */
const BULK_COPY_MIN = 32;
/** Literal runs up to this long are copied byte by byte (cheaper than subarray + set). */
const LITERAL_LOOP_MAX = 32;

/**
 * Decode one ADC chunk into `output`, which must be filled exactly. Every failure (truncated opcode, match
 * before the start of the output, overrun, underrun) is a CORRUPT_CHUNK DmgkitError naming the input position.
 */
export function decodeAdc(input: Uint8Array, output: Uint8Array): void {
  const inEnd = input.length;
  const outEnd = output.length;
  let ip = 0;
  let op = 0;
  while (ip < inEnd) {
    const at = ip;
    const b = input[ip]!;
    if (b & ADC_LITERAL_FLAG) {
      const len = (b & ADC_LITERAL_MASK) + 1;
      if (ip + 1 + len > inEnd) throw corrupt('adc', `literal run of ${len} bytes truncated`, ip);
      if (op + len > outEnd) throw corrupt('adc', `literal run of ${len} bytes overruns the ${outEnd}-byte output`, ip);
      if (len <= LITERAL_LOOP_MAX) {
        let s = ip + 1;
        const e = s + len;
        while (s < e) output[op++] = input[s++]!;
      } else {
        output.set(input.subarray(ip + 1, ip + 1 + len), op);
        op += len;
      }
      ip += 1 + len;
      continue;
    }
    let len: number;
    let dist: number;
    if (b & ADC_LONG_MATCH_FLAG) {
      if (ip + 3 > inEnd) throw corrupt('adc', 'three-byte match opcode truncated', ip);
      len = (b & ADC_LONG_MATCH_MASK) + ADC_LONG_MATCH_BIAS;
      dist = ((input[ip + 1]! << 8) | input[ip + 2]!) + 1;
      ip += 3;
    } else {
      if (ip + 2 > inEnd) throw corrupt('adc', 'two-byte match opcode truncated', ip);
      len = ((b >> 2) & 0x0f) + ADC_SHORT_MATCH_BIAS;
      dist = (((b & 3) << 8) | input[ip + 1]!) + 1;
      ip += 2;
    }
    if (dist > op) throw corrupt('adc', `match distance ${dist} reaches before the start of the output (at ${op})`, at);
    if (op + len > outEnd) throw corrupt('adc', `match of ${len} bytes overruns the ${outEnd}-byte output`, at);
    let src = op - dist;
    if (dist >= len && len >= BULK_COPY_MIN) {
      output.copyWithin(op, src, src + len);
      op += len;
    } else if (dist === 1 && len >= BULK_COPY_MIN) {
      output.fill(output[src]!, op, op + len);
      op += len;
    } else {
      const end = op + len;
      while (op < end) output[op++] = output[src++]!;
    }
  }
  if (op !== outEnd) throw corrupt('adc', `stream ended after ${op} of ${outEnd} output bytes`, ip);
}

export const adcCodec: Codec = { name: 'adc', decode: decodeAdc };
