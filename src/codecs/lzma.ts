import { corrupt } from './errors.js';

/**
 * LZMA core (LZMA1 "alone" streams and LZMA2 chunk streams), pure TypeScript, decoding straight into the
 * caller's output buffer: the output buffer is the dictionary, since every chunk's decoded size is known.
 *
 * The range decoder lives in locals inside one hot loop (`decodeLzmaChunk`); probabilities are one Uint16Array
 * with the layout below, allocated once at module level for the largest lc+lp and reused. Every match distance
 * is checked against the bytes decoded since the last dictionary reset and against the dictionary size; every
 * length against the space left in the chunk. Bytes past the end of the input read as 0 and are caught when the
 * chunk ends (consumed position beyond the end = truncated input), so a decode always ends after at most
 * output.length bytes.
 *
 * The bit decodes of literals and length/distance trees are written out one after another instead of looping
 * over a helper: JavaScript has no macros, V8 does not inline a bit decoder that updates four locals, and
 * writing them out was part of what took XZ from 0.46× to ~0.7× the `xz` tool (docs/formats/bzip2-xz.md). The
 * repetition is deliberate; each block is the same range-decoder step.
 *
 * Sources: the LZMA specification in the LZMA SDK (lzma-specification.txt), the .xz file format spec 1.1.0
 * (LZMA2 chunk headers are documented in xz-embedded's xz_dec_lzma2.c comments). See docs/formats/bzip2-xz.md.
 */

// ---- probability array layout ----
const NUM_STATES = 12;
const POS_STATES_MAX = 16;
const IS_MATCH = 0; // [state << 4 | posState]
const IS_REP = IS_MATCH + NUM_STATES * POS_STATES_MAX; // 192
const IS_REP_G0 = IS_REP + NUM_STATES;
const IS_REP_G1 = IS_REP_G0 + NUM_STATES;
const IS_REP_G2 = IS_REP_G1 + NUM_STATES;
const IS_REP0_LONG = IS_REP_G2 + NUM_STATES; // [state << 4 | posState]
const POS_SLOT = IS_REP0_LONG + NUM_STATES * POS_STATES_MAX; // [lenState * 64 + tree index]
const SPEC_POS = POS_SLOT + 4 * 64; // 114 probs for distance slots 4..13
const ALIGN = SPEC_POS + 114; // 16
const LEN_CODER = ALIGN + 16;
const REP_LEN_CODER = LEN_CODER + 514;
const LITERAL = REP_LEN_CODER + 514; // 0x300 per literal coder
/** Inside a length coder. */
const LEN_CHOICE = 0;
const LEN_CHOICE2 = 1;
const LEN_LOW = 2; // [posState * 8 + tree]
const LEN_MID = 130;
const LEN_HIGH = 258; // 256-entry tree

/** Sign bit as int32: x ^ SIGN maps unsigned order onto signed order. */
const SIGN = -0x80000000;
const PROB_INIT = 1024;
const MATCH_MIN = 2;
/** lc <= 8, lp <= 4 for LZMA1; LZMA2 requires lc + lp <= 4. */
const MAX_LCLP = 12;

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

/** Decoder state that persists across LZMA2 chunks. */
export class LzmaState {
  lc = 0;
  lp = 0;
  pb = 0;
  state = 0;
  rep0 = 0;
  rep1 = 0;
  rep2 = 0;
  rep3 = 0;
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
  const probs = s.probs;
  const lc = s.lc;
  const lcShift = 8 - lc;
  const lpMask = (1 << s.lp) - 1;
  const pbMask = (1 << s.pb) - 1;
  let state = s.state;
  let rep0 = s.rep0;
  let rep1 = s.rep1;
  let rep2 = s.rep2;
  let rep3 = s.rep3;
  const chunkIn = inPos;

  if (inEnd - inPos < 5) throw corrupt(codec, 'LZMA data shorter than the 5-byte range coder header', inPos);
  if (input[inPos] !== 0) throw corrupt(codec, 'LZMA range coder does not start with a 0 byte', inPos);
  // range and code are kept as int32 bit patterns of the unsigned 32-bit registers; unsigned comparisons flip
  // the sign bit (x ^ SIGN) so everything stays in int32 arithmetic.
  let code = (input[inPos + 1] << 24) | (input[inPos + 2] << 16) | (input[inPos + 3] << 8) | input[inPos + 4];
  let range = -1;
  inPos += 5;
  if (code === range) throw corrupt(codec, 'invalid LZMA range coder start', chunkIn);

  let atEnd = false;
  let sawMarker = false;
  /** The byte before outPos (0 at the dictionary start): selects the literal coder. */
  let prev = outPos > dictStart ? output[outPos - 1] : 0;
  let bound = 0;
  let p = 0;

  for (;;) {
    if (outPos >= outEnd) {
      if (marker === EndMarker.Forbid) break;
      if (marker === EndMarker.Allow) {
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        if (code === 0) break;
      }
      atEnd = true;
    }
    const rel = outPos - dictStart;
    const posState = rel & pbMask;
    // isMatch
    let pi = IS_MATCH + (state << 4) + posState;
    p = probs[pi];
    if (range >>> 24 === 0) {
      range <<= 8;
      code = (code << 8) | input[inPos++];
    }
    bound = Math.imul(range >>> 11, p);
    if ((code ^ SIGN) < (bound ^ SIGN)) {
      range = bound;
      probs[pi] = p + ((2048 - p) >>> 5);
      // ---- literal ----
      if (atEnd) throw corrupt(codec, `data continues past the declared ${outEnd - dictStart} bytes`, inPos);
      const base = LITERAL + 0x300 * (((rel & lpMask) << lc) + (prev >>> lcShift));
      let sym = 1;
      if (state < 7) {
        // Eight bit decodes, unrolled.
        pi = base + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        pi = base + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        pi = base + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        pi = base + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        pi = base + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        pi = base + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        pi = base + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        pi = base + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        state = state < 4 ? 0 : state - 3;
      } else {
        // Matched literal: the byte at rep0 steers the probabilities until the first mismatch.
        if (rep0 >= rel) throw corrupt(codec, 'match distance beyond the start of the dictionary', inPos);
        let matchByte = output[outPos - rep0 - 1];
        let offs = 0x100;
        // Eight bit decodes, unrolled.
        let bit = 0;
        matchByte <<= 1;
        bit = offs;
        offs &= matchByte;
        pi = base + offs + bit + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
          offs ^= bit;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        matchByte <<= 1;
        bit = offs;
        offs &= matchByte;
        pi = base + offs + bit + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
          offs ^= bit;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        matchByte <<= 1;
        bit = offs;
        offs &= matchByte;
        pi = base + offs + bit + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
          offs ^= bit;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        matchByte <<= 1;
        bit = offs;
        offs &= matchByte;
        pi = base + offs + bit + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
          offs ^= bit;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        matchByte <<= 1;
        bit = offs;
        offs &= matchByte;
        pi = base + offs + bit + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
          offs ^= bit;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        matchByte <<= 1;
        bit = offs;
        offs &= matchByte;
        pi = base + offs + bit + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
          offs ^= bit;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        matchByte <<= 1;
        bit = offs;
        offs &= matchByte;
        pi = base + offs + bit + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
          offs ^= bit;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        matchByte <<= 1;
        bit = offs;
        offs &= matchByte;
        pi = base + offs + bit + sym;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          sym <<= 1;
          offs ^= bit;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          sym = (sym << 1) | 1;
        }
        state = state < 10 ? state - 3 : state - 6;
      }
      prev = sym & 0xff;
      output[outPos++] = prev;
      continue;
    }
    range = (range - bound) | 0;
    code = (code - bound) | 0;
    probs[pi] = p - (p >>> 5);

    // isRep
    pi = IS_REP + state;
    p = probs[pi];
    if (range >>> 24 === 0) {
      range <<= 8;
      code = (code << 8) | input[inPos++];
    }
    bound = Math.imul(range >>> 11, p);
    let lenBase: number;
    if ((code ^ SIGN) < (bound ^ SIGN)) {
      range = bound;
      probs[pi] = p + ((2048 - p) >>> 5);
      // simple match: distance follows the length
      lenBase = LEN_CODER;
      state = state < 7 ? 7 : 10;
      rep3 = rep2;
      rep2 = rep1;
      rep1 = rep0;
    } else {
      range = (range - bound) | 0;
      code = (code - bound) | 0;
      probs[pi] = p - (p >>> 5);
      if (atEnd) throw corrupt(codec, `data continues past the declared ${outEnd - dictStart} bytes`, inPos);
      if (rel === 0) throw corrupt(codec, 'repeated match before any data', inPos);
      lenBase = REP_LEN_CODER;
      // isRepG0
      pi = IS_REP_G0 + state;
      p = probs[pi];
      if (range >>> 24 === 0) {
        range <<= 8;
        code = (code << 8) | input[inPos++];
      }
      bound = Math.imul(range >>> 11, p);
      if ((code ^ SIGN) < (bound ^ SIGN)) {
        range = bound;
        probs[pi] = p + ((2048 - p) >>> 5);
        // isRep0Long
        pi = IS_REP0_LONG + (state << 4) + posState;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          // short rep: one byte at rep0
          if (rep0 >= rel || rep0 >= dictSize) throw corrupt(codec, 'match distance beyond the start of the dictionary', inPos);
          state = state < 7 ? 9 : 11;
          prev = output[outPos - rep0 - 1];
          output[outPos++] = prev;
          continue;
        }
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[pi] = p - (p >>> 5);
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[pi] = p - (p >>> 5);
        // isRepG1
        pi = IS_REP_G1 + state;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        let dist: number;
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          dist = rep1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          // isRepG2
          pi = IS_REP_G2 + state;
          p = probs[pi];
          if (range >>> 24 === 0) {
            range <<= 8;
            code = (code << 8) | input[inPos++];
          }
          bound = Math.imul(range >>> 11, p);
          if ((code ^ SIGN) < (bound ^ SIGN)) {
            range = bound;
            probs[pi] = p + ((2048 - p) >>> 5);
            dist = rep2;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            probs[pi] = p - (p >>> 5);
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

    // ---- length ----
    let len: number;
    {
      let treeBase: number;
      let nbits: number;
      pi = lenBase + LEN_CHOICE;
      p = probs[pi];
      if (range >>> 24 === 0) {
        range <<= 8;
        code = (code << 8) | input[inPos++];
      }
      bound = Math.imul(range >>> 11, p);
      if ((code ^ SIGN) < (bound ^ SIGN)) {
        range = bound;
        probs[pi] = p + ((2048 - p) >>> 5);
        treeBase = lenBase + LEN_LOW + (posState << 3);
        nbits = 3;
        len = 0;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[pi] = p - (p >>> 5);
        pi = lenBase + LEN_CHOICE2;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          treeBase = lenBase + LEN_MID + (posState << 3);
          nbits = 3;
          len = 8;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          treeBase = lenBase + LEN_HIGH;
          nbits = 8;
          len = 16;
        }
      }
      let m = 1;
      const limit = 1 << nbits;
      if (nbits === 3) {
        pi = treeBase + m;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          m <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          m = (m << 1) | 1;
        }
        pi = treeBase + m;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          m <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          m = (m << 1) | 1;
        }
        pi = treeBase + m;
        p = probs[pi];
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[inPos++];
        }
        bound = Math.imul(range >>> 11, p);
        if ((code ^ SIGN) < (bound ^ SIGN)) {
          range = bound;
          probs[pi] = p + ((2048 - p) >>> 5);
          m <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[pi] = p - (p >>> 5);
          m = (m << 1) | 1;
        }
      } else {
        do {
          pi = treeBase + m;
          p = probs[pi];
          if (range >>> 24 === 0) {
            range <<= 8;
            code = (code << 8) | input[inPos++];
          }
          bound = Math.imul(range >>> 11, p);
          if ((code ^ SIGN) < (bound ^ SIGN)) {
            range = bound;
            probs[pi] = p + ((2048 - p) >>> 5);
            m <<= 1;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            probs[pi] = p - (p >>> 5);
            m = (m << 1) | 1;
          }
        } while (m < limit);
      }
      len += m - limit + MATCH_MIN;
    }

    // ---- distance (simple matches only) ----
    if (lenBase === LEN_CODER) {
      const lenState = len < 6 ? len - MATCH_MIN : 3;
      const slotBase = POS_SLOT + (lenState << 6);
      let slot = 1;
      pi = slotBase + slot;
      p = probs[pi];
      if (range >>> 24 === 0) {
        range <<= 8;
        code = (code << 8) | input[inPos++];
      }
      bound = Math.imul(range >>> 11, p);
      if ((code ^ SIGN) < (bound ^ SIGN)) {
        range = bound;
        probs[pi] = p + ((2048 - p) >>> 5);
        slot <<= 1;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[pi] = p - (p >>> 5);
        slot = (slot << 1) | 1;
      }
      pi = slotBase + slot;
      p = probs[pi];
      if (range >>> 24 === 0) {
        range <<= 8;
        code = (code << 8) | input[inPos++];
      }
      bound = Math.imul(range >>> 11, p);
      if ((code ^ SIGN) < (bound ^ SIGN)) {
        range = bound;
        probs[pi] = p + ((2048 - p) >>> 5);
        slot <<= 1;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[pi] = p - (p >>> 5);
        slot = (slot << 1) | 1;
      }
      pi = slotBase + slot;
      p = probs[pi];
      if (range >>> 24 === 0) {
        range <<= 8;
        code = (code << 8) | input[inPos++];
      }
      bound = Math.imul(range >>> 11, p);
      if ((code ^ SIGN) < (bound ^ SIGN)) {
        range = bound;
        probs[pi] = p + ((2048 - p) >>> 5);
        slot <<= 1;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[pi] = p - (p >>> 5);
        slot = (slot << 1) | 1;
      }
      pi = slotBase + slot;
      p = probs[pi];
      if (range >>> 24 === 0) {
        range <<= 8;
        code = (code << 8) | input[inPos++];
      }
      bound = Math.imul(range >>> 11, p);
      if ((code ^ SIGN) < (bound ^ SIGN)) {
        range = bound;
        probs[pi] = p + ((2048 - p) >>> 5);
        slot <<= 1;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[pi] = p - (p >>> 5);
        slot = (slot << 1) | 1;
      }
      pi = slotBase + slot;
      p = probs[pi];
      if (range >>> 24 === 0) {
        range <<= 8;
        code = (code << 8) | input[inPos++];
      }
      bound = Math.imul(range >>> 11, p);
      if ((code ^ SIGN) < (bound ^ SIGN)) {
        range = bound;
        probs[pi] = p + ((2048 - p) >>> 5);
        slot <<= 1;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[pi] = p - (p >>> 5);
        slot = (slot << 1) | 1;
      }
      pi = slotBase + slot;
      p = probs[pi];
      if (range >>> 24 === 0) {
        range <<= 8;
        code = (code << 8) | input[inPos++];
      }
      bound = Math.imul(range >>> 11, p);
      if ((code ^ SIGN) < (bound ^ SIGN)) {
        range = bound;
        probs[pi] = p + ((2048 - p) >>> 5);
        slot <<= 1;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[pi] = p - (p >>> 5);
        slot = (slot << 1) | 1;
      }
      slot -= 64;
      let dist: number;
      if (slot < 4) {
        dist = slot;
      } else {
        const nd = (slot >>> 1) - 1;
        dist = (2 | (slot & 1)) << nd; // < 2^31 for slot < 62; slots >= 14 rebuild below
        if (slot < 14) {
          const rb = SPEC_POS + dist - slot - 1;
          let m = 1;
          for (let i = 0; i < nd; i++) {
            pi = rb + m;
            p = probs[pi];
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[inPos++];
            }
            bound = Math.imul(range >>> 11, p);
            if ((code ^ SIGN) < (bound ^ SIGN)) {
              range = bound;
              probs[pi] = p + ((2048 - p) >>> 5);
              m <<= 1;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              probs[pi] = p - (p >>> 5);
              m = (m << 1) | 1;
              dist |= 1 << i;
            }
          }
        } else {
          // nd - 4 direct bits, then 4 reverse-coded align bits. Built as a float to stay exact past 2^31.
          let direct = 2 | (slot & 1);
          for (let i = nd - 4; i > 0; i--) {
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[inPos++];
            }
            range = range >>> 1;
            if ((code ^ SIGN) >= (range ^ SIGN)) {
              code = (code - range) | 0;
              direct = direct * 2 + 1;
            } else {
              direct = direct * 2;
            }
          }
          let m = 1;
          let align = 0;
          for (let i = 0; i < 4; i++) {
            pi = ALIGN + m;
            p = probs[pi];
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[inPos++];
            }
            bound = Math.imul(range >>> 11, p);
            if ((code ^ SIGN) < (bound ^ SIGN)) {
              range = bound;
              probs[pi] = p + ((2048 - p) >>> 5);
              m <<= 1;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              probs[pi] = p - (p >>> 5);
              m = (m << 1) | 1;
              align |= 1 << i;
            }
          }
          dist = direct * 16 + align;
          if (dist === 0xffffffff) {
            // end marker
            if (marker === EndMarker.Forbid) throw corrupt(codec, 'unexpected LZMA end marker', inPos);
            if (!atEnd) throw corrupt(codec, `LZMA end marker after ${outPos - dictStart} bytes, before the declared end`, inPos);
            sawMarker = true;
            break;
          }
        }
      }
      rep0 = dist;
      if (atEnd) throw corrupt(codec, `data continues past the declared ${outEnd - dictStart} bytes`, inPos);
    }

    // ---- copy the match ----
    const rel2 = outPos - dictStart;
    if (rep0 >= rel2 || rep0 >= dictSize) {
      throw corrupt(codec, `match distance ${rep0 + 1} beyond the start of the dictionary (${rel2} bytes decoded)`, inPos);
    }
    if (len > outEnd - outPos) {
      throw corrupt(codec, `match of ${len} bytes runs past the declared end of the output`, inPos);
    }
    let src = outPos - rep0 - 1;
    if (rep0 === 0) {
      output.fill(prev, outPos, outPos + len);
      outPos += len;
    } else if (len > rep0 + 1 || len < 24) {
      const end = outPos + len;
      while (outPos < end) output[outPos++] = output[src++];
    } else {
      output.copyWithin(outPos, src, src + len);
      outPos += len;
    }
    prev = output[outPos - 1];
  }

  if (range >>> 24 === 0) {
    range <<= 8;
    code = (code << 8) | input[inPos++];
  }
  if (inPos > inEnd) throw corrupt(codec, 'truncated LZMA data', inEnd);
  if (code !== 0) throw corrupt(codec, 'LZMA range coder did not finish cleanly (trailing garbage in the chunk)', inPos);
  if (exactInput && inPos !== inEnd) {
    throw corrupt(codec, `LZMA data ended ${inEnd - inPos} bytes before the end of its chunk`, inPos);
  }
  if (marker === EndMarker.Require && !sawMarker) throw corrupt(codec, 'missing LZMA end marker', inPos);
  s.state = state;
  s.rep0 = rep0;
  s.rep1 = rep1;
  s.rep2 = rep2;
  s.rep3 = rep3;
  s.inPos = inPos;
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
