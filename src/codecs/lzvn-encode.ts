import { lzParse } from './lz-match.js';

/**
 * LZVN encoder (the byte-oriented codec of HFS+ decmpfs types 7/8 and LZFSE `bvxn` blocks). Opcodes, from
 * Apple's reference lzvn_decode_base.c (see docs/formats/adc.md § LZVN):
 *
 *   sml_d  LLMMMDDD DDDDDDDD            L 0..3, M 3..10, D 11 bits (DDD high bits 0..5, so D ≤ 1535)
 *   med_d  101LLMMM DDDDDDMM DDDDDDDD   L 0..3, M 3..34, D 14 bits
 *   lrg_d  LLMMM111 DDDDDDDD DDDDDDDD   L 0..3, M 3..10, D u16le
 *   pre_d  LLMMM110                     L 1..3, M 3..10, previous distance
 *   sml_m  1111MMMM (M 1..15) · lrg_m 11110000 MMMMMMMM (M 16..271), previous distance
 *   sml_l  1110LLLL (L 1..15) · lrg_l 11100000 LLLLLLLL (L 16..271)
 *   eos    00000110 + 7 zero bytes
 *
 * In the LLMMMxxx forms, L=1 allows M ≤ 8 (0x70-0x7F are undefined), L=2 M ≤ 6 (0xA0-0xBF is med_d),
 * L=3 M ≤ 4 (0xD0-0xDF undefined, 0xE0-0xFF other opcodes). Greedy hash-chain parse; correctness over ratio.
 */

export const LZVN_MAX_DISTANCE = 0xffff;
const SML_D_MAX_DISTANCE = 0x5ff;
const MED_D_MAX_DISTANCE = 0x3fff;
const MED_D_MAX_MATCH = 34;
const SHORT_MAX_MATCH = 10;
const MAX_ATTACHED_LITERALS = 3;
const SML_L_MAX = 15;
const LRG_L_MAX = 271;
const SML_M_MAX = 15;
const LRG_M_MAX = 271;
const OP_SML_L = 0xe0;
const OP_LRG_L = 0xe0;
const OP_SML_M = 0xf0;
const OP_LRG_M = 0xf0;
const OP_MED_D = 0xa0;
const OP_LRG_D_LOW = 7;
const OP_PRE_D_LOW = 6;
const OP_EOS = 0x06;
export const LZVN_EOS_SIZE = 8;

/**
 * Longest match an LLMMMxxx opcode (sml_d, lrg_d, pre_d) can carry with `lit` literals attached: larger M
 * would collide with undefined opcodes (0x70-0x7F, 0xD0-0xDF) or with med_d (0xA0-0xBF) and the
 * literal/match-only opcodes (0xE0-0xFF).
 */
const SHORT_MATCH_CAP = [SHORT_MAX_MATCH, 8, 6, 4];
function shortMatchCap(lit: number): number {
  return SHORT_MATCH_CAP[lit]!;
}

/** Encode `input` as a complete LZVN stream, ending with the end-of-stream opcode. */
export function encodeLzvn(input: Uint8Array): Uint8Array {
  const parse = lzParse(input, { maxDistance: LZVN_MAX_DISTANCE, minLength: 3, maxLength: 1 << 16 });
  // Generous bound: no instruction costs more than twice the bytes it produces (plus eos).
  const out = new Uint8Array(input.length * 2 + 64);
  let op = 0;
  let ip = 0;
  let dPrev = 0;

  const emitLiterals = (count: number): void => {
    while (count > 0) {
      const n = Math.min(count, LRG_L_MAX);
      if (n <= SML_L_MAX) out[op++] = OP_SML_L | n;
      else {
        out[op++] = OP_LRG_L;
        out[op++] = n - 16;
      }
      out.set(input.subarray(ip, ip + n), op);
      op += n;
      ip += n;
      count -= n;
    }
  };
  const emitPreviousDistanceMatch = (count: number): void => {
    while (count > 0) {
      const n = Math.min(count, LRG_M_MAX);
      if (n <= SML_M_MAX) out[op++] = OP_SML_M | n;
      else {
        out[op++] = OP_LRG_M;
        out[op++] = n - 16;
      }
      count -= n;
    }
  };

  for (let s = 0; s < parse.count; s++) {
    let lit = parse.litLen[s]!;
    let m = parse.matchLen[s]!;
    const d = parse.dist[s]!;
    if (m === 0 || lit > MAX_ATTACHED_LITERALS) {
      emitLiterals(lit);
      lit = 0;
    }
    if (m === 0) continue;
    if (lit === 0 && d === dPrev) {
      emitPreviousDistanceMatch(m);
      ip += m;
      continue;
    }
    // First piece: a distance opcode carrying `lit` literals.
    let piece: number;
    if (d === dPrev) {
      piece = Math.min(m, shortMatchCap(lit));
      out[op++] = (lit << 6) | ((piece - 3) << 3) | OP_PRE_D_LOW;
    } else if (d <= SML_D_MAX_DISTANCE) {
      piece = Math.min(m, shortMatchCap(lit));
      out[op++] = (lit << 6) | ((piece - 3) << 3) | (d >> 8);
      out[op++] = d & 0xff;
    } else if (d <= MED_D_MAX_DISTANCE) {
      piece = Math.min(m, MED_D_MAX_MATCH);
      const mf = piece - 3;
      out[op++] = OP_MED_D | (lit << 3) | (mf >> 2);
      out[op++] = ((d & 0x3f) << 2) | (mf & 3);
      out[op++] = d >> 6;
    } else {
      piece = Math.min(m, shortMatchCap(lit));
      out[op++] = (lit << 6) | ((piece - 3) << 3) | OP_LRG_D_LOW;
      out[op++] = d & 0xff;
      out[op++] = d >> 8;
    }
    for (let i = 0; i < lit; i++) out[op++] = input[ip++]!;
    dPrev = d;
    ip += piece;
    m -= piece;
    emitPreviousDistanceMatch(m);
    ip += m;
  }
  out[op++] = OP_EOS;
  op += LZVN_EOS_SIZE - 1; // seven zero bytes (the buffer is zero-filled)
  return out.slice(0, op);
}
