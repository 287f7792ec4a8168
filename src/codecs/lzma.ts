import { corrupt } from './errors.js';

/**
 * LZMA core (LZMA1 "alone" streams and LZMA2 chunk streams), pure TypeScript, decoding straight into the
 * caller's output buffer: the output buffer is the dictionary, since every chunk's decoded size is known.
 *
 * Structure (as the LZMA SDK's LzmaDec.c): one hot function (`lzmaRun`) decodes symbols while at least
 * RUN_MARGIN input bytes are left, so its reads never run past the input and need no check; the last bytes of
 * a chunk are copied into a zero-padded scratch buffer and decoded by the same function (`decodeLzmaChunk`).
 * Bytes past the end of the input thus read as 0 and are reported as truncation when the chunk ends. The end
 * marker of .lzma streams, which can only follow the last byte, is decoded by a slow path (`decodeEndMarker`).
 *
 * Written for V8's optimizing compiler (measured, docs/formats/bzip2-xz.md): the range decoder lives in
 * locals, `range` and `code` are int32 bit patterns of the unsigned registers compared as `x >>> 0`
 * (Uint32 compares), every value in the loop is int32 (`| 0` where a result could leave int32), the layout
 * constants are function-local (a module-level `const` costs a TDZ check per use in optimized code), and the
 * loop calls nothing (no `fill`/`copyWithin`: a call costs the hoisted typed-array checks). Each bit decode is
 * written out (JavaScript has no macros and V8 does not inline a helper that updates four locals); every copy
 * is the same range-decoder step:
 *
 *   p = probs[i]; normalise (range < 2^24: shift in one input byte); bound = (range >>> 11) * p;
 *   code < bound ? (range = bound, p += (2048 - p) >> 5, bit 0) : (range -= bound, code -= bound, p -= p >> 5, bit 1)
 *
 * Every match distance is checked against the bytes decoded since the last dictionary reset and against the
 * dictionary size, every length against the space left in the chunk; every loop is bounded by output bytes.
 * Outputs up to 2^31 - 1 bytes (positions are int32 in the hot loop; UDIF chunks are far smaller).
 *
 * Sources: the LZMA specification in the LZMA SDK (lzma-specification.txt), the .xz file format spec 1.1.0
 * (LZMA2 chunk headers are documented in xz-embedded's xz_dec_lzma2.c comments). See docs/formats/bzip2-xz.md.
 */

// ---- probability array layout (lzmaRun repeats these numbers as local constants) ----
const NUM_STATES = 12;
const POS_STATES_MAX = 16;
const IS_MATCH = 0; // [state << 4 | posState]
const IS_REP = IS_MATCH + NUM_STATES * POS_STATES_MAX; // 192
const IS_REP_G0 = IS_REP + NUM_STATES; // 204
const IS_REP_G1 = IS_REP_G0 + NUM_STATES; // 216
const IS_REP_G2 = IS_REP_G1 + NUM_STATES; // 228
const IS_REP0_LONG = IS_REP_G2 + NUM_STATES; // 240, [state << 4 | posState]
const POS_SLOT = IS_REP0_LONG + NUM_STATES * POS_STATES_MAX; // 432, [lenState * 64 + tree index]
const SPEC_POS = POS_SLOT + 4 * 64; // 688: 114 probs for distance slots 4..13
const ALIGN = SPEC_POS + 114; // 802: 16
const LEN_CODER = ALIGN + 16; // 818
const REP_LEN_CODER = LEN_CODER + 514; // 1332
const LITERAL = REP_LEN_CODER + 514; // 1846: 0x300 per literal coder
/** Inside a length coder. */
const LEN_CHOICE = 0;
const LEN_CHOICE2 = 1;
const LEN_LOW = 2; // [posState * 8 + tree]
const LEN_MID = 130;
const LEN_HIGH = 258; // 256-entry tree

const PROB_INIT = 1024;
/** lc <= 8, lp <= 4 for LZMA1; LZMA2 requires lc + lp <= 4. */
const MAX_LCLP = 12;
/**
 * lzmaRun decodes a symbol only while this many input bytes are left: one symbol reads at most 51 bytes (a match
 * with every rep bit, a high length, a 6-bit slot, 26 direct and 4 align bits, one byte per bit decode).
 */
const RUN_MARGIN = 64;
/** The tail of a chunk (< RUN_MARGIN + 51 bytes... at most RUN_MARGIN after the run), zero-padded. */
const scratch = new Uint8Array(4 * RUN_MARGIN);
/** Output bytes per lzmaRun call (see decodeLzmaChunk). */
const RUN_SLICE = 4096;
/** Positions stay int32 in the hot loop (a margin for the bytes read past a limit). */
const MAX_POS = 0x7fffffff - 4 * RUN_MARGIN;

/** End-marker handling for one call of decodeLzmaChunk. */
export const EndMarker = {
  /** LZMA2 chunks: an end marker is corrupt. */
  Forbid: 0,
  /** .lzma with a known size: an end marker may follow the last byte. */
  Allow: 1,
  /** .lzma with unknown size: the stream must end with the marker. */
  Require: 2,
} as const;
export type EndMarker = (typeof EndMarker)[keyof typeof EndMarker];

let sharedProbs: Uint16Array | null = null;
/**
 * The shared probability array, grown to fit lc + lp (at most 12, i.e. 6 MiB for LZMA1 lc=8 lp=4; LZMA2 needs
 * at most 28 KiB). Its size depends only on the props byte's format-bounded fields.
 */
function probsFor(lclp: number): Uint16Array {
  const n = LITERAL + (0x300 << Math.max(lclp, 4));
  if (sharedProbs === null || sharedProbs.length < n) sharedProbs = new Uint16Array(n);
  return sharedProbs;
}

/** Decoder state that persists across LZMA2 chunks, and the range decoder's registers between functions. */
export class LzmaState {
  lc = 0;
  lp = 0;
  pb = 0;
  state = 0;
  rep0 = 0;
  rep1 = 0;
  rep2 = 0;
  rep3 = 0;
  /** Range decoder registers (int32 bit patterns) and positions, handed between lzmaRun and its callers. */
  range = 0;
  code = 0;
  outPos = 0;
  probs: Uint16Array;
  /** Set by decodeLzmaChunk: input position after the chunk, and whether an end marker ended it. */
  inPos = 0;
  sawEndMarker = false;
  hasProps = false;

  constructor() {
    this.probs = probsFor(0);
  }

  /** Sets lc/lp/pb from the props byte ((pb * 5 + lp) * 9 + lc); returns false when out of range. */
  setPropsByte(b: number, maxLcLp: number): boolean {
    if (b >= 9 * 5 * 5) return false;
    const lc = b % 9;
    const rest = (b / 9) | 0;
    const lp = rest % 5;
    const pb = (rest / 5) | 0;
    if (lc + lp > maxLcLp) return false;
    this.lc = lc;
    this.lp = lp;
    this.pb = pb;
    this.hasProps = true;
    return true;
  }

  /** Resets probabilities, state and reps (LZMA "state reset"). */
  reset(): void {
    const n = LITERAL + (0x300 << (this.lc + this.lp));
    if (this.probs.length < n) this.probs = probsFor(this.lc + this.lp);
    this.probs.fill(PROB_INIT, 0, n);
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
  }
}

/**
 * The hot loop: decodes symbols from input[inPos, ...) into output[outPos, outEnd) while outPos < stop and
 * inPos < inLimit (the caller guarantees inLimit + 51 <= input.length, so no read leaves the input). Reads and
 * writes the range decoder, state, reps and positions in `s`. Any end marker here is corrupt: it comes before
 * the declared end.
 */
function lzmaRun(
  s: LzmaState,
  input: Uint8Array,
  inLimit: number,
  output: Uint8Array,
  stop: number,
  outEnd: number,
  dictStart: number,
  dictSize: number,
  marker: EndMarker,
  codec: string,
  posBase: number,
): void {
  const kIsRep = 192;
  const kIsRepG0 = 204;
  const kIsRepG1 = 216;
  const kIsRepG2 = 228;
  const kIsRep0Long = 240;
  const kPosSlot = 432;
  const kSpecPos = 688;
  const kAlign = 802;
  const kLenCoder = 818;
  const kRepLenCoder = 1332;
  const kLiteral = 1846;

  const probs = s.probs;
  const lc = s.lc;
  /** ((rel << 8) + prev) & lpMask, shifted by lc, is the literal coder's index times 0x100 (as LzmaDec.c). */
  const lpMask = ((0x100 << s.lp) - (0x100 >>> lc)) | 0;
  const pbMask = ((1 << s.pb) - 1) | 0;
  let range = s.range | 0;
  let code = s.code | 0;
  let state = s.state | 0;
  let rep0 = s.rep0 | 0;
  let rep1 = s.rep1 | 0;
  let rep2 = s.rep2 | 0;
  let rep3 = s.rep3 | 0;
  let inPos = s.inPos;
  let outPos = s.outPos;
  /** The byte before outPos (0 at the dictionary start): selects the literal coder. */
  let prev = outPos > dictStart ? output[outPos - 1] : 0;
  const COPY_CALL_MIN = 12;
  let i = 0;
  let p = 0;
  let bound = 0;
  let sym = 0;
  // Unconditional accesses before the loop: V8 then knows the three arrays' maps inside it and drops the
  // per-access map checks (it does not hoist checks out of loops by itself).
  if (input.length < inLimit || output.length < outEnd || probs.length < kLiteral) throw new RangeError('lzmaRun: bad bounds');

  while (outPos < stop && inPos < inLimit) {
    const rel = (outPos - dictStart) | 0;
    const posState = rel & pbMask;
    // isMatch
    i = ((state << 4) + posState) | 0;
    p = probs[i];
    if (range >>> 24 === 0) {
      range <<= 8;
      code = (code << 8) | input[inPos];
      inPos = (inPos + 1) | 0;
    }
    bound = Math.imul(range >>> 11, p);
    if (code >>> 0 < bound >>> 0) {
      range = bound;
      probs[i] = p + ((2048 - p) >> 5);
      // ---- literal ----
      const base = (kLiteral + 3 * ((((rel << 8) + prev) & lpMask) << lc)) | 0;
      sym = 1;
      if (state < 7) {
        do {
          i = (base + sym) | 0;
          p = probs[i];
          if (range >>> 24 === 0) {
            range <<= 8;
            code = (code << 8) | input[inPos];
            inPos = (inPos + 1) | 0;
          }
          bound = Math.imul(range >>> 11, p);
          if (code >>> 0 < bound >>> 0) {
            range = bound;
            probs[i] = p + ((2048 - p) >> 5);
            sym <<= 1;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            probs[i] = p - (p >> 5);
            sym = (sym << 1) | 1;
          }
        } while (sym < 0x100);
        state = state < 4 ? 0 : state - 3;
      } else {
        // Matched literal: the byte at rep0 steers the probabilities until the first mismatch.
        if (rep0 >>> 0 >= rel) throw corrupt(codec, 'match distance beyond the start of the dictionary', posBase + inPos);
        let matchByte = output[(outPos - rep0 - 1) | 0];
        let offs = 0x100;
        do {
          matchByte <<= 1;
          const bit = offs;
          offs &= matchByte;
          i = (base + offs + bit + sym) | 0;
          p = probs[i];
          if (range >>> 24 === 0) {
            range <<= 8;
            code = (code << 8) | input[inPos];
            inPos = (inPos + 1) | 0;
          }
          bound = Math.imul(range >>> 11, p);
          if (code >>> 0 < bound >>> 0) {
            range = bound;
            probs[i] = p + ((2048 - p) >> 5);
            sym <<= 1;
            offs ^= bit;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            probs[i] = p - (p >> 5);
            sym = (sym << 1) | 1;
          }
        } while (sym < 0x100);
        state = state < 10 ? state - 3 : state - 6;
      }
      prev = sym & 0xff;
      output[outPos] = prev;
      outPos = (outPos + 1) | 0;
      continue;
    }
    range = (range - bound) | 0;
    code = (code - bound) | 0;
    probs[i] = p - (p >> 5);

    // isRep
    i = (kIsRep + state) | 0;
    p = probs[i];
    if (range >>> 24 === 0) {
      range <<= 8;
      code = (code << 8) | input[inPos];
      inPos = (inPos + 1) | 0;
    }
    bound = Math.imul(range >>> 11, p);
    let lenBase = kLenCoder;
    if (code >>> 0 < bound >>> 0) {
      range = bound;
      probs[i] = p + ((2048 - p) >> 5);
      // simple match: the distance follows the length
      state = state < 7 ? 7 : 10;
      rep3 = rep2;
      rep2 = rep1;
      rep1 = rep0;
    } else {
      range = (range - bound) | 0;
      code = (code - bound) | 0;
      probs[i] = p - (p >> 5);
      if (rel === 0) throw corrupt(codec, 'repeated match before any data', posBase + inPos);
      lenBase = kRepLenCoder;
      // isRepG0
      i = (kIsRepG0 + state) | 0;
      p = probs[i];
      if (range >>> 24 === 0) {
        range <<= 8;
        code = (code << 8) | input[inPos];
        inPos = (inPos + 1) | 0;
      }
      bound = Math.imul(range >>> 11, p);
      if (code >>> 0 < bound >>> 0) {
        range = bound;
        probs[i] = p + ((2048 - p) >> 5);
        // isRep0Long
        i = (kIsRep0Long + (state << 4) + posState) | 0;
        p = probs[i];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos];
          inPos = (inPos + 1) | 0;
        }
        bound = Math.imul(range >>> 11, p);
        if (code >>> 0 < bound >>> 0) {
          range = bound;
          probs[i] = p + ((2048 - p) >> 5);
          // short rep: one byte at rep0
          if (rep0 >>> 0 >= rel || rep0 >>> 0 >= dictSize) throw corrupt(codec, 'match distance beyond the start of the dictionary', posBase + inPos);
          state = state < 7 ? 9 : 11;
          prev = output[(outPos - rep0 - 1) | 0];
          output[outPos] = prev;
          outPos = (outPos + 1) | 0;
          continue;
        }
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[i] = p - (p >> 5);
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[i] = p - (p >> 5);
        // isRepG1
        i = (kIsRepG1 + state) | 0;
        p = probs[i];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos];
          inPos = (inPos + 1) | 0;
        }
        bound = Math.imul(range >>> 11, p);
        let dist = 0;
        if (code >>> 0 < bound >>> 0) {
          range = bound;
          probs[i] = p + ((2048 - p) >> 5);
          dist = rep1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[i] = p - (p >> 5);
          // isRepG2
          i = (kIsRepG2 + state) | 0;
          p = probs[i];
          if (range >>> 24 === 0) {
            range <<= 8;
            code = (code << 8) | input[inPos];
            inPos = (inPos + 1) | 0;
          }
          bound = Math.imul(range >>> 11, p);
          if (code >>> 0 < bound >>> 0) {
            range = bound;
            probs[i] = p + ((2048 - p) >> 5);
            dist = rep2;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            probs[i] = p - (p >> 5);
            dist = rep3;
            rep3 = rep2;
          }
          rep2 = rep1;
        }
        rep1 = rep0;
        rep0 = dist;
      }
      state = state < 7 ? 8 : 11;
    }

    // ---- length: choice bits, then a 3-bit (low, mid) or 8-bit (high) tree ----
    let len = 0;
    i = lenBase;
    p = probs[i];
    if (range >>> 24 === 0) {
      range <<= 8;
      code = (code << 8) | input[inPos];
      inPos = (inPos + 1) | 0;
    }
    bound = Math.imul(range >>> 11, p);
    if (code >>> 0 < bound >>> 0) {
      range = bound;
      probs[i] = p + ((2048 - p) >> 5);
      i = (lenBase + 2 + (posState << 3)) | 0; // low
    } else {
      range = (range - bound) | 0;
      code = (code - bound) | 0;
      probs[i] = p - (p >> 5);
      i = (lenBase + 1) | 0;
      p = probs[i];
      if (range >>> 24 === 0) {
        range <<= 8;
        code = (code << 8) | input[inPos];
        inPos = (inPos + 1) | 0;
      }
      bound = Math.imul(range >>> 11, p);
      if (code >>> 0 < bound >>> 0) {
        range = bound;
        probs[i] = p + ((2048 - p) >> 5);
        i = (lenBase + 130 + (posState << 3)) | 0; // mid
        len = 8;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[i] = p - (p >> 5);
        i = (lenBase + 258) | 0; // high
        len = 16 - 0x100 + 8;
      }
    }
    {
      const tree = i;
      const limit = len === 16 - 0x100 + 8 ? 0x100 : 8;
      sym = 1;
      do {
        i = (tree + sym) | 0;
        p = probs[i];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos];
          inPos = (inPos + 1) | 0;
        }
        bound = Math.imul(range >>> 11, p);
        if (code >>> 0 < bound >>> 0) {
          range = bound;
          probs[i] = p + ((2048 - p) >> 5);
          sym <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[i] = p - (p >> 5);
          sym = (sym << 1) | 1;
        }
      } while (sym < limit);
      len += sym - 8; // 0..271: the match length minus 2
    }

    // ---- distance (simple matches only) ----
    if (lenBase === kLenCoder) {
      const slotTree = (kPosSlot + ((len < 3 ? len : 3) << 6)) | 0;
      sym = 1;
      do {
        i = (slotTree + sym) | 0;
        p = probs[i];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos];
          inPos = (inPos + 1) | 0;
        }
        bound = Math.imul(range >>> 11, p);
        if (code >>> 0 < bound >>> 0) {
          range = bound;
          probs[i] = p + ((2048 - p) >> 5);
          sym <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[i] = p - (p >> 5);
          sym = (sym << 1) | 1;
        }
      } while (sym < 64);
      const slot = sym - 64;
      let dist = slot;
      if (slot >= 4) {
        let nd = (slot >>> 1) - 1;
        dist = (2 | (slot & 1)) << nd;
        if (slot < 14) {
          // nd reverse-coded bits
          const tree = (kSpecPos + dist - slot - 1) | 0;
          let m = 1;
          let k = 0;
          do {
            i = (tree + m) | 0;
            p = probs[i];
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[inPos];
              inPos = (inPos + 1) | 0;
            }
            bound = Math.imul(range >>> 11, p);
            if (code >>> 0 < bound >>> 0) {
              range = bound;
              probs[i] = p + ((2048 - p) >> 5);
              m <<= 1;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              probs[i] = p - (p >> 5);
              m = (m << 1) | 1;
              dist |= 1 << k;
            }
            k++;
          } while (k < nd);
        } else {
          // nd - 4 direct bits (branchless, as LzmaDec.c), then 4 reverse-coded align bits. int32 bit pattern.
          dist = 2 | (slot & 1);
          nd -= 4;
          do {
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[inPos];
              inPos = (inPos + 1) | 0;
            }
            range = (range >>> 1) | 0;
            code = (code - range) | 0;
            const t = code >> 31; // -1: the subtraction went below 0, bit 0
            code = (code + (range & t)) | 0;
            dist = (dist << 1) + (t + 1);
          } while (--nd > 0);
          dist <<= 4;
          let m = 1;
          for (let k = 0; k < 4; k++) {
            i = (kAlign + m) | 0;
            p = probs[i];
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[inPos];
              inPos = (inPos + 1) | 0;
            }
            bound = Math.imul(range >>> 11, p);
            if (code >>> 0 < bound >>> 0) {
              range = bound;
              probs[i] = p + ((2048 - p) >> 5);
              m <<= 1;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              probs[i] = p - (p >> 5);
              m = (m << 1) | 1;
              dist |= 1 << k;
            }
          }
          if (dist === -1) {
            // end marker (distance 0xFFFFFFFF), before the declared end
            if (marker === EndMarker.Forbid) throw corrupt(codec, 'unexpected LZMA end marker', posBase + inPos);
            throw corrupt(codec, `LZMA end marker after ${rel} bytes, before the declared end`, posBase + inPos);
          }
        }
      }
      rep0 = dist;
    }

    // ---- copy the match ----
    if (rep0 >>> 0 >= rel || rep0 >>> 0 >= dictSize) {
      throw corrupt(codec, `match distance ${(rep0 >>> 0) + 1} beyond the start of the dictionary (${rel} bytes decoded)`, posBase + inPos);
    }
    len += 2;
    if (len > outEnd - outPos) throw corrupt(codec, `match of ${len} bytes runs past the declared end of the output`, posBase + inPos);
    const end = (outPos + len) | 0;
    let src = (outPos - rep0 - 1) | 0;
    if (len < COPY_CALL_MIN) {
      do {
        output[outPos] = output[src];
        outPos = (outPos + 1) | 0;
        src = (src + 1) | 0;
      } while (outPos < end);
    } else if (rep0 === 0) {
      output.fill(output[src], outPos, end);
      outPos = end;
    } else {
      // Overlapping matches repeat a period of rep0 + 1 bytes: copy what is there, doubling each time.
      do {
        const n = Math.min(end - outPos, outPos - src);
        output.copyWithin(outPos, src, src + n);
        outPos = (outPos + n) | 0;
      } while (outPos < end);
    }
    prev = output[outPos - 1];
  }

  s.range = range;
  s.code = code;
  s.state = state;
  s.rep0 = rep0;
  s.rep1 = rep1;
  s.rep2 = rep2;
  s.rep3 = rep3;
  s.inPos = inPos;
  s.outPos = outPos;
}

// ---- slow path: one bit at a time with the registers in `s`, reads checked (the end marker) ----

function slowByte(input: Uint8Array, pos: number, end: number): number {
  return pos < end ? input[pos] : 0;
}

function slowBit(s: LzmaState, input: Uint8Array, inEnd: number, i: number): number {
  const probs = s.probs;
  const p = probs[i];
  if (s.range >>> 24 === 0) {
    s.range = s.range << 8;
    s.code = (s.code << 8) | slowByte(input, s.inPos++, inEnd);
  }
  const bound = Math.imul(s.range >>> 11, p);
  if (s.code >>> 0 < bound >>> 0) {
    s.range = bound;
    probs[i] = p + ((2048 - p) >> 5);
    return 0;
  }
  s.range = (s.range - bound) | 0;
  s.code = (s.code - bound) | 0;
  probs[i] = p - (p >> 5);
  return 1;
}

/** A bit tree of `bits` bits at probs[tree + 1 ...]; returns the symbol (0 .. 2^bits - 1). */
function slowTree(s: LzmaState, input: Uint8Array, inEnd: number, tree: number, bits: number): number {
  let m = 1;
  for (let k = 0; k < bits; k++) m = (m << 1) | slowBit(s, input, inEnd, tree + m);
  return m - (1 << bits);
}

/**
 * After the declared end of a .lzma stream: decodes the symbol that must be the end marker (a simple match of
 * distance 0xFFFFFFFF); anything else is data past the declared size.
 */
function decodeEndMarker(s: LzmaState, input: Uint8Array, inEnd: number, declared: number, codec: string): void {
  const more = (): never => {
    throw corrupt(codec, `data continues past the declared ${declared} bytes`, s.inPos);
  };
  const posState = declared & ((1 << s.pb) - 1);
  if (slowBit(s, input, inEnd, IS_MATCH + (s.state << 4) + posState) === 0) more();
  if (slowBit(s, input, inEnd, IS_REP + s.state) === 1) more();
  let len: number;
  if (slowBit(s, input, inEnd, LEN_CODER + LEN_CHOICE) === 0) len = slowTree(s, input, inEnd, LEN_CODER + LEN_LOW + (posState << 3), 3);
  else if (slowBit(s, input, inEnd, LEN_CODER + LEN_CHOICE2) === 0) len = 8 + slowTree(s, input, inEnd, LEN_CODER + LEN_MID + (posState << 3), 3);
  else len = 16 + slowTree(s, input, inEnd, LEN_CODER + LEN_HIGH, 8);
  const slot = slowTree(s, input, inEnd, POS_SLOT + ((len < 3 ? len : 3) << 6), 6);
  // The marker's distance 0xFFFFFFFF needs slot 63: 26 direct bits of ones and 4 align bits of ones.
  if (slot !== 63) more();
  for (let k = 0; k < 26; k++) {
    if (s.range >>> 24 === 0) {
      s.range = s.range << 8;
      s.code = (s.code << 8) | slowByte(input, s.inPos++, inEnd);
    }
    s.range = s.range >>> 1;
    if (s.code >>> 0 >= s.range >>> 0) s.code = (s.code - s.range) | 0;
    else more();
  }
  let m = 1;
  for (let k = 0; k < 4; k++) {
    const bit = slowBit(s, input, inEnd, ALIGN + m);
    if (bit === 0) more();
    m = (m << 1) | 1;
  }
}

/**
 * Decodes one range-coded LZMA run from input[inPos, inEnd) into output[outPos, outEnd), with the dictionary
 * starting at output[dictStart] (the last dictionary reset) and limited to dictSize bytes. Requires the range
 * coder to finish exactly (code 0) and to have consumed exactly input[inPos, inEnd) when `exactInput`.
 * Sets s.inPos and s.sawEndMarker. `codec` names the codec in errors ('xz' or 'lzma').
 */
export function decodeLzmaChunk(
  s: LzmaState,
  input: Uint8Array,
  inPos: number,
  inEnd: number,
  output: Uint8Array,
  outPos: number,
  outEnd: number,
  dictStart: number,
  dictSize: number,
  marker: EndMarker,
  exactInput: boolean,
  codec: string,
): void {
  const chunkIn = inPos;
  if (inEnd - inPos < 5) throw corrupt(codec, 'LZMA data shorter than the 5-byte range coder header', inPos);
  if (input[inPos] !== 0) throw corrupt(codec, 'LZMA range coder does not start with a 0 byte', inPos);
  if (outEnd > MAX_POS || inEnd > MAX_POS) throw corrupt(codec, 'LZMA data or output beyond 2 GiB', inPos);
  // range and code are int32 bit patterns of the unsigned 32-bit registers.
  s.code = (input[inPos + 1] << 24) | (input[inPos + 2] << 16) | (input[inPos + 3] << 8) | input[inPos + 4];
  s.range = -1;
  if (s.code === -1) throw corrupt(codec, 'invalid LZMA range coder start', chunkIn);
  s.inPos = inPos + 5;
  s.outPos = outPos;

  // The run on the input itself while RUN_MARGIN bytes are left, then the tail from the zero-padded scratch.
  let src = input;
  let srcEnd = inEnd;
  let base = 0;
  // In slices of RUN_SLICE output bytes: a short first call lets V8 see the whole function (its exit too) in the
  // interpreter, so it compiles it once with full feedback instead of compiling the loop on stack and deopting
  // at the first exit (measured: that cost several 250 ms compiles at start-up).
  const inLimit = inEnd - RUN_MARGIN;
  while (s.outPos < outEnd && s.inPos < inLimit) {
    const stop = outEnd - s.outPos > RUN_SLICE ? s.outPos + RUN_SLICE : outEnd;
    lzmaRun(s, input, inLimit, output, stop, outEnd, dictStart, dictSize, marker, codec, 0);
  }
  if (s.outPos < outEnd) {
    base = s.inPos;
    const n = inEnd - base; // <= RUN_MARGIN: the run stopped at most 51 bytes past inEnd - RUN_MARGIN
    scratch.fill(0);
    scratch.set(input.subarray(base, inEnd));
    src = scratch;
    srcEnd = n;
    s.inPos = 0;
    lzmaRun(s, scratch, n + RUN_MARGIN, output, outEnd, outEnd, dictStart, dictSize, marker, codec, base);
    if (s.outPos < outEnd) throw corrupt(codec, 'truncated LZMA data', inEnd);
  }

  let sawMarker = false;
  if (marker !== EndMarker.Forbid) {
    if (marker === EndMarker.Allow && s.range >>> 24 === 0) {
      s.range = s.range << 8;
      s.code = (s.code << 8) | slowByte(src, s.inPos++, srcEnd);
    }
    if (marker === EndMarker.Require || s.code !== 0) {
      decodeEndMarker(s, src, srcEnd, outEnd - dictStart, codec);
      sawMarker = true;
    }
  }
  if (s.range >>> 24 === 0) {
    s.range = s.range << 8;
    s.code = (s.code << 8) | slowByte(src, s.inPos++, srcEnd);
  }
  const end = base + s.inPos;
  if (s.inPos > srcEnd) throw corrupt(codec, 'truncated LZMA data', inEnd);
  if (s.code !== 0) throw corrupt(codec, 'LZMA range coder did not finish cleanly (trailing garbage in the chunk)', end);
  if (exactInput && end !== inEnd) throw corrupt(codec, `LZMA data ended ${inEnd - end} bytes before the end of its chunk`, end);
  s.inPos = end;
  s.sawEndMarker = sawMarker;
}

// ---- LZMA2 ----

/** Largest LZMA2 chunk sizes by construction of the header fields. */
const LZMA2_CTRL_END = 0x00;
const LZMA2_CTRL_COPY_RESET = 0x01;
const LZMA2_CTRL_COPY = 0x02;
const LZMA2_CTRL_LZMA = 0x80;
const LZMA2_RESET_STATE = 0xa0;
const LZMA2_RESET_PROPS = 0xc0;
const LZMA2_RESET_DICT = 0xe0;

let lzma2State: LzmaState | null = null;

/**
 * Decodes an LZMA2 stream from input[inPos, inEnd) into output[outPos, outEnd) (which it must fill exactly),
 * with the given dictionary size. Returns the input position after the end-of-stream byte (0x00).
 */
export function decodeLzma2(
  input: Uint8Array,
  inPos: number,
  inEnd: number,
  output: Uint8Array,
  outPos: number,
  outEnd: number,
  dictSize: number,
  codec: string,
): number {
  if (lzma2State === null) lzma2State = new LzmaState();
  const s = lzma2State;
  s.hasProps = false;
  let needDictReset = true;
  let needStateReset = true;
  let dictStart = outPos;
  for (;;) {
    if (inPos >= inEnd) throw corrupt(codec, 'truncated LZMA2 data (no end-of-stream byte)', inPos);
    const ctrlPos = inPos;
    const ctrl = input[inPos++];
    if (ctrl === LZMA2_CTRL_END) break;
    if (ctrl === LZMA2_CTRL_COPY_RESET || ctrl >= LZMA2_RESET_DICT) {
      needDictReset = false;
      dictStart = outPos;
    } else if (needDictReset) {
      throw corrupt(codec, `first LZMA2 chunk (control 0x${ctrl.toString(16)}) does not reset the dictionary`, ctrlPos);
    }
    if (ctrl < LZMA2_CTRL_LZMA) {
      if (ctrl > LZMA2_CTRL_COPY) throw corrupt(codec, `invalid LZMA2 control byte 0x${ctrl.toString(16)}`, ctrlPos);
      if (inEnd - inPos < 2) throw corrupt(codec, 'truncated LZMA2 chunk header', ctrlPos);
      const size = ((input[inPos] << 8) | input[inPos + 1]) + 1;
      inPos += 2;
      if (size > inEnd - inPos) throw corrupt(codec, 'truncated LZMA2 uncompressed chunk', ctrlPos);
      if (size > outEnd - outPos) throw corrupt(codec, `LZMA2 data larger than the declared ${outEnd} bytes`, ctrlPos);
      output.set(input.subarray(inPos, inPos + size), outPos);
      inPos += size;
      outPos += size;
      continue;
    }
    if (inEnd - inPos < 4) throw corrupt(codec, 'truncated LZMA2 chunk header', ctrlPos);
    const unpacked = (ctrl & 0x1f) * 0x10000 + ((input[inPos] << 8) | input[inPos + 1]) + 1;
    const packed = ((input[inPos + 2] << 8) | input[inPos + 3]) + 1;
    inPos += 4;
    if (ctrl >= LZMA2_RESET_PROPS) {
      if (inPos >= inEnd) throw corrupt(codec, 'truncated LZMA2 chunk header', ctrlPos);
      const pb = input[inPos++];
      if (!s.setPropsByte(pb, 4)) throw corrupt(codec, `invalid LZMA2 properties byte 0x${pb.toString(16)}`, inPos - 1);
      needStateReset = true;
    } else if (!s.hasProps) {
      throw corrupt(codec, `LZMA2 chunk (control 0x${ctrl.toString(16)}) before any properties were set`, ctrlPos);
    }
    if (ctrl >= LZMA2_RESET_STATE) needStateReset = true;
    else if (needStateReset) {
      throw corrupt(codec, `LZMA2 chunk (control 0x${ctrl.toString(16)}) continues a state that was never reset`, ctrlPos);
    }
    if (ctrl >= LZMA2_RESET_STATE) {
      s.reset();
      needStateReset = false;
    }
    if (packed > inEnd - inPos) throw corrupt(codec, 'truncated LZMA2 compressed chunk', ctrlPos);
    if (unpacked > outEnd - outPos) throw corrupt(codec, `LZMA2 data larger than the declared ${outEnd} bytes`, ctrlPos);
    decodeLzmaChunk(s, input, inPos, inPos + packed, output, outPos, outPos + unpacked, dictStart, dictSize, EndMarker.Forbid, true, codec);
    inPos += packed;
    outPos += unpacked;
  }
  if (outPos !== outEnd) throw corrupt(codec, `LZMA2 data decoded to ${outPos} bytes where ${outEnd} were declared`, inPos);
  return inPos;
}

// ---- LZMA1 .lzma ("alone") ----

/** .lzma header: props byte, dictionary size (u32 LE), uncompressed size (u64 LE, all-ones = unknown). */
const ALONE_PROPS = 0;
const ALONE_DICT = 1;
const ALONE_SIZE = 5;
const ALONE_HEADER = 13;

let aloneState: LzmaState | null = null;

/** Decodes a .lzma ("LZMA_Alone") stream, filling `output` exactly. Errors name the codec 'lzma'. */
export function decodeLzmaAlone(input: Uint8Array, output: Uint8Array): void {
  const codec = 'lzma';
  if (input.length < ALONE_HEADER) throw corrupt(codec, 'input shorter than the 13-byte .lzma header', 0);
  if (aloneState === null) aloneState = new LzmaState();
  const s = aloneState;
  if (!s.setPropsByte(input[ALONE_PROPS], MAX_LCLP)) {
    throw corrupt(codec, `invalid LZMA properties byte 0x${input[ALONE_PROPS].toString(16)}`, ALONE_PROPS);
  }
  const dictRaw =
    (input[ALONE_DICT] | (input[ALONE_DICT + 1] << 8) | (input[ALONE_DICT + 2] << 16) | (input[ALONE_DICT + 3] << 24)) >>> 0;
  // The dictionary only bounds match distances here (the output is the dictionary); 0 behaves like 4 KiB.
  const dictSize = Math.max(dictRaw, 4096);
  let unknown = true;
  for (let i = 0; i < 8; i++) if (input[ALONE_SIZE + i] !== 0xff) unknown = false;
  let marker: EndMarker = EndMarker.Require;
  if (!unknown) {
    const lo = (input[ALONE_SIZE] | (input[ALONE_SIZE + 1] << 8) | (input[ALONE_SIZE + 2] << 16) | (input[ALONE_SIZE + 3] << 24)) >>> 0;
    const hi = (input[ALONE_SIZE + 4] | (input[ALONE_SIZE + 5] << 8) | (input[ALONE_SIZE + 6] << 16) | (input[ALONE_SIZE + 7] << 24)) >>> 0;
    const size = hi * 0x100000000 + lo;
    if (size !== output.length) {
      throw corrupt(codec, `.lzma header declares ${hi > 0x1fffff ? 'a huge size' : size} bytes where ${output.length} were declared`, ALONE_SIZE);
    }
    marker = EndMarker.Allow;
  }
  s.reset();
  decodeLzmaChunk(s, input, ALONE_HEADER, input.length, output, 0, output.length, 0, dictSize, marker, true, codec);
}
