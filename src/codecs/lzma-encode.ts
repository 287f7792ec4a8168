/**
 * LZMA encoder core (the range coder, the probability model, the match finders and the two parsers), written
 * for LZMA2 chunks (src/codecs/lzma2-encode.ts frames its output; src/codecs/xz-encode.ts wraps that in an XZ
 * container). The probability layout, the state machine and every coded field mirror our decoder
 * (src/codecs/lzma.ts), which is the other half of the same format (LZMA specification in the LZMA SDK,
 * lzma-specification.txt).
 *
 * Two modes, as xz has:
 * - fast (presets 0-3): hash-chain match finder (HC4: 2-, 3- and 4-byte hash heads, a chain
 *   per position), greedy parse with a one-position lazy look and rep-match preference, no price tables;
 * - normal (presets 4-9): binary-tree match finder (BT4) and a price-based optimal parse over a window of up
 *   to 4096 positions (literal, short rep, rep0-3, matches of every length the finder reports, and the
 *   "literal + rep0" / "rep + literal + rep0" / "match + literal + rep0" sequences), with prices from the
 *   current probabilities (length prices per pos state refreshed as they are used, distance prices every
 *   128 matches, align prices every 16 aligned distances).
 *
 * The whole input is in memory (one UDIF chunk, usually 1 MiB), so the match finder indexes it directly; its
 * tables (hash heads and the chain/tree array, sized by min(dictionary, input)) and the parser's arrays belong
 * to one module-level encoder reused by every call in this thread (a worker has its own). Nothing is
 * allocated per symbol.
 */

// ---- probability array layout (identical to src/codecs/lzma.ts) ----
const NUM_STATES = 12;
const POS_STATES_MAX = 16;
const IS_MATCH = 0;
const IS_REP = IS_MATCH + NUM_STATES * POS_STATES_MAX;
const IS_REP_G0 = IS_REP + NUM_STATES;
const IS_REP_G1 = IS_REP_G0 + NUM_STATES;
const IS_REP_G2 = IS_REP_G1 + NUM_STATES;
const IS_REP0_LONG = IS_REP_G2 + NUM_STATES;
const POS_SLOT = IS_REP0_LONG + NUM_STATES * POS_STATES_MAX;
const SPEC_POS = POS_SLOT + 4 * 64;
const ALIGN = SPEC_POS + 114;
const LEN_CODER = ALIGN + 16;
const REP_LEN_CODER = LEN_CODER + 514;
const LITERAL = REP_LEN_CODER + 514;
const LEN_CHOICE = 0;
const LEN_CHOICE2 = 1;
const LEN_LOW = 2;
const LEN_MID = 130;
const LEN_HIGH = 258;
/** LZMA2 limits lc + lp to 4. */
const PROBS_SIZE = LITERAL + (0x300 << 4);
const PROB_INIT = 1024;

const MATCH_LEN_MIN = 2;
export const MATCH_LEN_MAX = 273;
const LEN_PRICES = MATCH_LEN_MAX - MATCH_LEN_MIN + 1; // 272 per pos state
const REPS = 4;
/** Optimal-parse window. */
const OPTS = 4096;
const INF = 1 << 30;
/** back value of a literal in a parse. */
const LIT = -1;
const FULL_DISTANCES = 128;
/**
 * Incompressible-data probe (see probeRandom): block size, the chi-square bound on its byte histogram against a
 * uniform one (random bytes: 255 ± 23 at 4 KiB) and the 4-byte repeats it may contain.
 */
export const PROBE = 4096;
const PROBE_CHI2_MAX = 400;
const PROBE_REPEATS_MAX = 2;
const PROBE_TABLE_BITS = 12;

// ---- prices: 1/16 bit units, indexed by probability >> 4 ----
const PRICES = new Int32Array(128);
for (let i = 0; i < 128; i++) PRICES[i] = Math.round(-Math.log2((i * 16 + 8) / 2048) * 16);
const price0 = (p: number): number => PRICES[p >>> 4];
const price1 = (p: number): number => PRICES[(p ^ 2047) >>> 4];
const priceBit = (p: number, bit: number): number => PRICES[(p ^ (-bit & 2047)) >>> 4];

/**
 * Match-finder hashes as xz builds them: T[b0] ^ b1 for 2 bytes (10 bits), ^ b2 << 8 for 3 (16 bits), ^ T[b3] << 5
 * for 4. T is the CRC32 table; because b1 and b2 land in distinct low bits, two positions with the same first
 * byte and the same 2- or 3-byte hash have the same 2 or 3 bytes, so only the first byte needs comparing.
 */
const HASH_TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  HASH_TABLE[n] = c;
}
const HASH2_MASK = (1 << 10) - 1;
const HASH3_MASK = (1 << 16) - 1;

/**
 * Length of the common run of buf[a..] and buf[b..], given that the first `len` bytes are equal, up to `limit`
 * (a + limit and b + limit within buf): four bytes at a time through `view` (the same bytes; the first differing byte
 * of a word from its lowest set bit), then byte by byte for the last 0-3.
 */
function extend(buf: Uint8Array, view: DataView<ArrayBufferLike>, a: number, b: number, len: number, limit: number): number {
  while (len + 4 <= limit) {
    const x = view.getInt32(a + len, true) ^ view.getInt32(b + len, true);
    // little-endian: the lowest set bit of the difference is in the first differing byte
    if (x !== 0) return len + ((31 - Math.clz32(x & -x)) >>> 3);
    len += 4;
  }
  while (len < limit && buf[a + len] === buf[b + len]) len++;
  return len;
}

function distSlot(dist: number): number {
  if (dist < 4) return dist;
  const b = 31 - Math.clz32(dist);
  return (b << 1) | ((dist >>> (b - 1)) & 1);
}

/** Encoder settings of one xz preset (liblzma's lzma_lzma_preset). */
export interface LzmaOptions {
  dictSize: number;
  lc: number;
  lp: number;
  pb: number;
  /** true: HC4 + greedy/lazy parse; false: BT4 + optimal parse. */
  fast: boolean;
  niceLen: number;
  /** Match finder search depth (chain links or tree nodes visited). */
  depth: number;
}

const DICT_POW2 = [18, 20, 21, 22, 22, 23, 23, 24, 25, 26];
/** Preset 6's nice length and BT4 depth (xz -6: 64 and 48). */
const PRESET6_NICE_DEPTH = 32;

/** xz's presets 0-9 (`extreme` = xz -e), except preset 6's shallower search (PRESET6_NICE_DEPTH). */
export function lzmaPreset(preset: number, extreme = false): LzmaOptions {
  if (!Number.isInteger(preset) || preset < 0 || preset > 9) throw new RangeError(`xz preset ${preset} is not an integer 0-9`);
  const o: LzmaOptions = { dictSize: 2 ** DICT_POW2[preset], lc: 3, lp: 0, pb: 2, fast: preset <= 3, niceLen: 0, depth: 0 };
  if (preset <= 3) {
    o.niceLen = preset <= 1 ? 128 : 273;
    o.depth = [4, 8, 24, 48][preset];
  } else {
    o.niceLen = preset === 4 ? 16 : preset === 5 ? 32 : 64;
    o.depth = 16 + (o.niceLen >>> 1);
    // dmgkit's preset 6 (the default) searches as xz -5 does, less than xz -6 (nice 64, depth 48): measured on the
    // bench's 1 MiB chunks, -12 % CPU time for +0.3 % size (+1.3 % on plain text) (docs/formats/bzip2-xz.md).
    if (preset === 6) o.niceLen = o.depth = PRESET6_NICE_DEPTH;
  }
  if (extreme) {
    o.fast = false;
    if (preset === 3 || preset === 5) {
      o.niceLen = 192;
      o.depth = 16 + 96;
    } else {
      o.niceLen = 273;
      o.depth = 512;
    }
  }
  return o;
}

/**
 * One LZMA encoder: feed it an input with `begin`, then call `encodeChunk` repeatedly; each call range-codes
 * symbols from the current position into `rcBuf` until the input ends or the LZMA2 chunk limits are near,
 * leaving the state, probabilities and match finder ready for the next chunk.
 */
export class LzmaEncoder {
  // ---- model ----
  readonly probs = new Uint16Array(PROBS_SIZE);
  lc = 3;
  lp = 0;
  pb = 2;
  state = 0;
  rep0 = 0;
  rep1 = 0;
  rep2 = 0;
  rep3 = 0;

  // ---- range encoder ----
  /** Output of the current chunk (a chunk holds at most 64 KiB). */
  readonly rcBuf = new Uint8Array(1 << 17);
  rcPos = 0;
  low = 0;
  range = 0xffffffff;
  cache = 0;
  cacheSize = 1;

  // ---- input and match finder ----
  buf: Uint8Array = new Uint8Array(0);
  /** The input again, for four-byte compares (extend). */
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  n = 0;
  /** Encoder position (next byte to encode). */
  pos = 0;
  /** Match finder position (next position to insert); pos <= mfPos. */
  mfPos = 0;
  fast = false;
  niceLen = 64;
  depth = 48;
  dictSize = 1 << 23;
  private readonly hash2 = new Int32Array(HASH2_MASK + 1);
  private readonly hash3 = new Int32Array(HASH3_MASK + 1);
  private hash4 = new Int32Array(1 << 16);
  private hash4Mask = 0xffff;
  private son = new Int32Array(2);
  private cyclicSize = 1;
  private cyclicPos = 0;
  /** Positions are stored in the tables as pos + off (off = cyclicSize), so 0 means "none". */
  private off = 1;
  /** Matches found at the last mfFind: increasing lengths, distances zero-based (distance - 1). */
  readonly mLen = new Int32Array(MATCH_LEN_MAX + 2);
  readonly mDist = new Int32Array(MATCH_LEN_MAX + 2);
  mCount = 0;
  /** Next position at which encodeChunk probes for incompressible data. */
  probeAt = 0;
  private readonly probeCounts = new Int32Array(256);
  private readonly probeTable = new Int32Array(1 << PROBE_TABLE_BITS);
  /** Sink of touchNext's loads (never read). */
  private touched = 0;
  /** Longest match at the last mfFind (extended past niceLen up to 273). */
  longest = 0;

  // ---- prices ----
  private readonly matchLenPrices = new Int32Array(POS_STATES_MAX * LEN_PRICES);
  private readonly repLenPrices = new Int32Array(POS_STATES_MAX * LEN_PRICES);
  private readonly matchLenCounters = new Int32Array(POS_STATES_MAX);
  private readonly repLenCounters = new Int32Array(POS_STATES_MAX);
  private lenTableSize = 0;
  private readonly distSlotPrices = new Int32Array(4 * 64);
  private readonly distPrices = new Int32Array(4 * FULL_DISTANCES);
  private readonly alignPrices = new Int32Array(16);
  private matchPriceCount = 0;
  private alignPriceCount = 0;
  private distTableSize = 64;

  // ---- optimal parse ----
  private readonly optPrice = new Int32Array(OPTS + 2);
  private readonly optPosPrev = new Int32Array(OPTS + 2);
  private readonly optBackPrev = new Int32Array(OPTS + 2);
  private readonly optPrev1Lit = new Uint8Array(OPTS + 2);
  private readonly optPrev2 = new Uint8Array(OPTS + 2);
  private readonly optPosPrev2 = new Int32Array(OPTS + 2);
  private readonly optBackPrev2 = new Int32Array(OPTS + 2);
  private readonly optState = new Uint8Array(OPTS + 2);
  private readonly optReps = new Int32Array((OPTS + 2) * 4);
  private optCur = 0;
  private optEnd = 0;
  private readonly repLens = new Int32Array(4);
  private readonly curReps = new Int32Array(4);
  /** Result of the last optimum call. */
  private back = 0;
  private len = 0;
  /** Longest symbol length the current parse window may add (limits a chunk's worst-case packed size). */
  private windowCap = OPTS - 1;

  /** Starts encoding `input` (dictionary reset at its first byte). */
  begin(input0: Uint8Array, o: LzmaOptions): void {
    // A plain Uint8Array view (not a Buffer or other subclass), so the hot loops see one element-access shape.
    const input = input0.constructor === Uint8Array ? input0 : new Uint8Array(input0.buffer, input0.byteOffset, input0.byteLength);
    this.lc = o.lc;
    this.lp = o.lp;
    this.pb = o.pb;
    this.fast = o.fast;
    this.niceLen = Math.min(Math.max(o.niceLen, 5), MATCH_LEN_MAX);
    this.depth = Math.max(o.depth, 1);
    this.buf = input;
    this.view = new DataView(input.buffer, input.byteOffset, input.byteLength);
    this.n = input.length;
    this.pos = 0;
    this.mfPos = 0;
    const window = Math.max(Math.min(o.dictSize, input.length), 1);
    this.dictSize = window;
    this.cyclicSize = window + 1;
    this.cyclicPos = 0;
    this.off = this.cyclicSize;
    const sonLen = this.fast ? this.cyclicSize : this.cyclicSize * 2;
    // Grown as needed; given back after an input much larger than the usual 1 MiB chunk.
    if (this.son.length < sonLen || (this.son.length > 4 * sonLen && this.son.length > 1 << 22)) this.son = new Int32Array(sonLen);
    // 4-byte heads: the largest power of two <= window / 4 (at least 2^16): for a 1 MiB chunk 2^18 heads (1 MiB)
    // instead of 2^20 (4 MiB), a smaller share of the caches that two encoders on two cores compete for; output
    // +0.02-0.03 % on the bench's chunks (docs/formats/bzip2-xz.md, "Two threads").
    let bits = 16;
    while (bits < 24 && 1 << (bits + 3) <= window) bits++;
    if (this.hash4.length < 1 << bits || this.hash4.length > 4 << bits) this.hash4 = new Int32Array(1 << bits);
    else this.hash4.fill(0, 0, 1 << bits);
    this.hash4Mask = (1 << bits) - 1;
    this.hash2.fill(0);
    this.hash3.fill(0);
    this.mCount = 0;
    this.longest = 0;
    this.probeAt = 0;
    this.distTableSize = distSlot(window - 1) + 1;
    this.lenTableSize = this.niceLen + 1 - MATCH_LEN_MIN;
    this.resetState();
  }

  /** Drops the references to the caller's input. */
  end(): void {
    this.buf = new Uint8Array(0);
    this.view = new DataView(new ArrayBuffer(0));
    this.n = 0;
  }

  /** LZMA state reset: probabilities, state, reps, pending parse, price tables. */
  resetState(): void {
    this.probs.fill(PROB_INIT);
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
    this.optCur = this.optEnd = 0;
    this.matchPriceCount = INF;
    this.alignPriceCount = INF;
    if (!this.fast) {
      for (let ps = 0; ps < 1 << this.pb; ps++) {
        this.updateLenPrices(LEN_CODER, ps);
        this.updateLenPrices(REP_LEN_CODER, ps);
      }
      this.fillDistPrices();
      this.fillAlignPrices();
    }
  }

  /** The LZMA properties byte. */
  propsByte(): number {
    return (this.pb * 5 + this.lp) * 9 + this.lc;
  }

  // ================= range encoder =================

  private rcReset(): void {
    this.rcPos = 0;
    this.low = 0;
    this.range = 0xffffffff;
    this.cache = 0;
    this.cacheSize = 1;
  }

  private shiftLow(): void {
    const low = this.low;
    if (low < 0xff000000 || low >= 0x100000000) {
      const carry = low >= 0x100000000 ? 1 : 0;
      let temp = this.cache;
      const out = this.rcBuf;
      do {
        out[this.rcPos++] = (temp + carry) & 0xff;
        temp = 0xff;
      } while (--this.cacheSize !== 0);
      this.cache = (low >>> 24) & 0xff;
    }
    this.cacheSize++;
    this.low = (low & 0xffffff) * 256;
  }

  private bit(pi: number, bit: number): void {
    const probs = this.probs;
    const p = probs[pi];
    const bound = (this.range >>> 11) * p;
    if (bit === 0) {
      this.range = bound;
      probs[pi] = p + ((2048 - p) >>> 5);
    } else {
      this.low += bound;
      this.range -= bound;
      probs[pi] = p - (p >>> 5);
    }
    if (this.range < 0x1000000) {
      this.range = (this.range * 256) >>> 0;
      this.shiftLow();
    }
  }

  /** `nbits` bits of `value`, high bit first, through the bit tree at `base` (range and low kept in locals). */
  private tree(base: number, nbits: number, value: number): void {
    const probs = this.probs;
    let range = this.range;
    let low = this.low;
    let m = 1;
    for (let i = nbits - 1; i >= 0; i--) {
      const b = (value >>> i) & 1;
      const p = probs[base + m];
      const bound = (range >>> 11) * p;
      if (b === 0) {
        range = bound;
        probs[base + m] = p + ((2048 - p) >>> 5);
      } else {
        low += bound;
        range -= bound;
        probs[base + m] = p - (p >>> 5);
      }
      if (range < 0x1000000) {
        range = (range * 256) >>> 0;
        this.low = low;
        this.shiftLow();
        low = this.low;
      }
      m = (m << 1) | b;
    }
    this.range = range;
    this.low = low;
  }

  /** `nbits` bits of `value`, low bit first, through the bit tree at `base`. */
  private reverseTree(base: number, nbits: number, value: number): void {
    const probs = this.probs;
    let range = this.range;
    let low = this.low;
    let m = 1;
    for (let i = 0; i < nbits; i++) {
      const b = value & 1;
      value >>>= 1;
      const p = probs[base + m];
      const bound = (range >>> 11) * p;
      if (b === 0) {
        range = bound;
        probs[base + m] = p + ((2048 - p) >>> 5);
      } else {
        low += bound;
        range -= bound;
        probs[base + m] = p - (p >>> 5);
      }
      if (range < 0x1000000) {
        range = (range * 256) >>> 0;
        this.low = low;
        this.shiftLow();
        low = this.low;
      }
      m = (m << 1) | b;
    }
    this.range = range;
    this.low = low;
  }

  private direct(value: number, nbits: number): void {
    for (let i = nbits - 1; i >= 0; i--) {
      this.range = this.range >>> 1;
      if ((value >>> i) & 1) this.low += this.range;
      while (this.range < 0x1000000) {
        this.range = (this.range * 256) >>> 0;
        this.shiftLow();
      }
    }
  }

  private rcFlush(): void {
    for (let i = 0; i < 5; i++) this.shiftLow();
  }

  /** Bytes the chunk will take if flushed now. */
  private rcPending(): number {
    return this.rcPos + this.cacheSize + 4;
  }

  // ================= symbols =================

  private encLiteral(pos: number): void {
    const buf = this.buf;
    const state = this.state;
    const posState = pos & ((1 << this.pb) - 1);
    this.bit(IS_MATCH + (state << 4) + posState, 0);
    const prev = pos > 0 ? buf[pos - 1] : 0;
    const base = LITERAL + 0x300 * (((pos & ((1 << this.lp) - 1)) << this.lc) + (prev >>> (8 - this.lc)));
    const cur = buf[pos];
    if (state < 7) {
      this.tree(base, 8, cur);
      this.state = state < 4 ? 0 : state - 3;
    } else {
      this.matchedLiteral(base, cur, buf[pos - this.rep0 - 1]);
      this.state = state < 10 ? state - 3 : state - 6;
    }
  }

  /** A literal coded against the byte at rep0 (after a match), range and low in locals as in `tree`. */
  private matchedLiteral(base: number, cur: number, matchByte: number): void {
    const probs = this.probs;
    let range = this.range;
    let low = this.low;
    let offs = 0x100;
    let sym = 1;
    for (let i = 7; i >= 0; i--) {
      matchByte <<= 1;
      const matchBit = matchByte & offs;
      const b = (cur >>> i) & 1;
      const pi = base + offs + matchBit + sym;
      const p = probs[pi];
      const bound = (range >>> 11) * p;
      if (b === 0) {
        range = bound;
        probs[pi] = p + ((2048 - p) >>> 5);
      } else {
        low += bound;
        range -= bound;
        probs[pi] = p - (p >>> 5);
      }
      if (range < 0x1000000) {
        range = (range * 256) >>> 0;
        this.low = low;
        this.shiftLow();
        low = this.low;
      }
      sym = (sym << 1) | b;
      offs &= b ? matchBit : ~matchBit;
    }
    this.range = range;
    this.low = low;
  }

  private encLen(lenBase: number, len: number, posState: number): void {
    const l = len - MATCH_LEN_MIN;
    if (l < 8) {
      this.bit(lenBase + LEN_CHOICE, 0);
      this.tree(lenBase + LEN_LOW + (posState << 3), 3, l);
    } else if (l < 16) {
      this.bit(lenBase + LEN_CHOICE, 1);
      this.bit(lenBase + LEN_CHOICE2, 0);
      this.tree(lenBase + LEN_MID + (posState << 3), 3, l - 8);
    } else {
      this.bit(lenBase + LEN_CHOICE, 1);
      this.bit(lenBase + LEN_CHOICE2, 1);
      this.tree(lenBase + LEN_HIGH, 8, l - 16);
    }
    if (!this.fast) {
      if (lenBase === LEN_CODER) {
        if (--this.matchLenCounters[posState] <= 0) this.updateLenPrices(LEN_CODER, posState);
      } else if (--this.repLenCounters[posState] <= 0) this.updateLenPrices(REP_LEN_CODER, posState);
    }
  }

  private encMatch(dist: number, len: number, pos: number): void {
    const posState = pos & ((1 << this.pb) - 1);
    const state = this.state;
    this.bit(IS_MATCH + (state << 4) + posState, 1);
    this.bit(IS_REP + state, 0);
    this.encLen(LEN_CODER, len, posState);
    const lenState = len < 6 ? len - MATCH_LEN_MIN : 3;
    const slot = distSlot(dist);
    this.tree(POS_SLOT + (lenState << 6), 6, slot);
    if (slot >= 4) {
      const footer = (slot >>> 1) - 1;
      const base = (2 | (slot & 1)) << footer;
      const reduced = dist - base;
      if (slot < 14) {
        this.reverseTree(SPEC_POS + base - slot - 1, footer, reduced);
      } else {
        this.direct(reduced >>> 4, footer - 4);
        this.reverseTree(ALIGN, 4, reduced & 15);
        this.alignPriceCount++;
      }
    }
    this.rep3 = this.rep2;
    this.rep2 = this.rep1;
    this.rep1 = this.rep0;
    this.rep0 = dist;
    this.state = state < 7 ? 7 : 10;
    this.matchPriceCount++;
  }

  private encRep(rep: number, len: number, pos: number): void {
    const posState = pos & ((1 << this.pb) - 1);
    const state = this.state;
    this.bit(IS_MATCH + (state << 4) + posState, 1);
    this.bit(IS_REP + state, 1);
    if (rep === 0) {
      this.bit(IS_REP_G0 + state, 0);
      this.bit(IS_REP0_LONG + (state << 4) + posState, len === 1 ? 0 : 1);
    } else {
      let dist: number;
      this.bit(IS_REP_G0 + state, 1);
      if (rep === 1) {
        this.bit(IS_REP_G1 + state, 0);
        dist = this.rep1;
      } else {
        this.bit(IS_REP_G1 + state, 1);
        this.bit(IS_REP_G2 + state, rep - 2);
        if (rep === 3) {
          dist = this.rep3;
          this.rep3 = this.rep2;
        } else {
          dist = this.rep2;
        }
        this.rep2 = this.rep1;
      }
      this.rep1 = this.rep0;
      this.rep0 = dist;
    }
    if (len === 1) {
      this.state = state < 7 ? 9 : 11;
    } else {
      this.encLen(REP_LEN_CODER, len, posState);
      this.state = state < 7 ? 8 : 11;
    }
  }

  // ================= match finder =================

  private movePos(): void {
    this.mfPos++;
    if (++this.cyclicPos === this.cyclicSize) this.cyclicPos = 0;
  }

  /**
   * Finds the matches at mfPos and inserts it; sets mCount/mLen/mDist and returns the longest length (0 when
   * none), extended beyond niceLen up to 273.
   */
  mfFind(): number {
    const pos = this.mfPos;
    const count = this.fast ? this.hc4Find(pos) : this.bt4Find(pos);
    this.mCount = count;
    let best = 0;
    if (count > 0) {
      best = this.mLen[count - 1];
      if (best === this.niceLen) {
        const buf = this.buf;
        const limit = Math.min(this.n - pos, MATCH_LEN_MAX);
        const back = pos - this.mDist[count - 1] - 1;
        best = extend(buf, this.view, back, pos, best, limit);
      }
    }
    this.longest = best;
    return best;
  }

  /**
   * Loads the 3- and 4-byte hash heads of `next` (the position searched after this one, in the optimal parse always)
   * and keeps their sum, so that their cache misses (the 4-byte table is megabytes) overlap this position's chain or
   * tree walk instead of starting the next search: a prefetch. Needs buf[next + 3].
   */
  private touchNext(buf: Uint8Array, next: number): void {
    const c1 = HASH_TABLE[buf[next]] ^ buf[next + 1] ^ (buf[next + 2] << 8);
    this.touched = this.hash3[c1 & HASH3_MASK] + this.hash4[(c1 ^ (HASH_TABLE[buf[next + 3]] << 5)) & this.hash4Mask];
  }

  /** Inserts `num` positions without reporting matches. */
  mfSkip(num: number): void {
    if (num <= 0) return;
    if (this.fast) this.hc4Skip(num);
    else this.bt4Skip(num);
  }

  /**
   * HC4 insertion of `num` positions from mfPos (what hc4Find does when not finding), one loop with the tables in
   * locals: most positions of compressible data are inside a chosen match and only inserted.
   */
  private hc4Skip(num: number): void {
    const buf = this.buf;
    const hash2 = this.hash2;
    const hash3 = this.hash3;
    const hash4 = this.hash4;
    const mask4 = this.hash4Mask;
    const son = this.son;
    const cs = this.cyclicSize;
    const off = this.off;
    // Positions with fewer than 4 bytes left are not inserted.
    const insertEnd = this.n - 3;
    let pos = this.mfPos;
    let cp = this.cyclicPos;
    const end = pos + num;
    for (; pos < end; pos++) {
      if (pos < insertEnd) {
        const c0 = HASH_TABLE[buf[pos]] ^ buf[pos + 1];
        const c1 = c0 ^ (buf[pos + 2] << 8);
        const h4 = (c1 ^ (HASH_TABLE[buf[pos + 3]] << 5)) & mask4;
        const v = pos + off;
        hash2[c0 & HASH2_MASK] = v;
        hash3[c1 & HASH3_MASK] = v;
        son[cp] = hash4[h4];
        hash4[h4] = v;
      }
      if (++cp === cs) cp = 0;
    }
    this.mfPos = pos;
    this.cyclicPos = cp;
  }

  /** BT4 insertion of `num` positions from mfPos (bt4Find's tree walk without recording matches), locals hoisted. */
  private bt4Skip(num: number): void {
    const buf = this.buf;
    const hash2 = this.hash2;
    const hash3 = this.hash3;
    const hash4 = this.hash4;
    const mask4 = this.hash4Mask;
    const son = this.son;
    const cs = this.cyclicSize;
    const off = this.off;
    const n = this.n;
    const niceLen = this.niceLen;
    const maxDepth = this.depth;
    const view = this.view;
    let pos = this.mfPos;
    let cp = this.cyclicPos;
    const end = pos + num;
    for (; pos < end; pos++, cp = cp + 1 === cs ? 0 : cp + 1) {
      const avail = n - pos;
      const lenLimit = avail < niceLen ? avail : niceLen;
      if (lenLimit < 4) continue;
      const c0 = HASH_TABLE[buf[pos]] ^ buf[pos + 1];
      const c1 = c0 ^ (buf[pos + 2] << 8);
      const h4 = (c1 ^ (HASH_TABLE[buf[pos + 3]] << 5)) & mask4;
      const posOff = pos + off;
      hash2[c0 & HASH2_MASK] = posOff;
      hash3[c1 & HASH3_MASK] = posOff;
      let curMatch = hash4[h4];
      hash4[h4] = posOff;
      let ptr0 = (cp << 1) + 1;
      let ptr1 = cp << 1;
      let len0 = 0;
      let len1 = 0;
      let depth = maxDepth;
      for (;;) {
        const delta = posOff - curMatch;
        if (depth-- === 0 || delta >= cs) {
          son[ptr0] = 0;
          son[ptr1] = 0;
          break;
        }
        const pair = (cp - delta + (delta > cp ? cs : 0)) << 1;
        const pb = pos - delta;
        let len = len0 < len1 ? len0 : len1;
        if (buf[pb + len] === buf[pos + len]) {
          len = extend(buf, view, pb, pos, len + 1, lenLimit);
          if (len === lenLimit) {
            son[ptr1] = son[pair];
            son[ptr0] = son[pair + 1];
            break;
          }
        }
        if (buf[pb + len] < buf[pos + len]) {
          son[ptr1] = curMatch;
          ptr1 = pair + 1;
          curMatch = son[ptr1];
          len1 = len;
        } else {
          son[ptr0] = curMatch;
          ptr0 = pair;
          curMatch = son[ptr0];
          len0 = len;
        }
      }
    }
    this.mfPos = pos;
    this.cyclicPos = cp;
  }

  /** HC4 at `pos` (= mfPos): inserts it and records its matches. Returns the match count. */
  private hc4Find(pos: number): number {
    const buf = this.buf;
    let lenLimit = this.niceLen;
    const avail = this.n - pos;
    if (avail < lenLimit) {
      lenLimit = avail;
      if (lenLimit < 4) {
        this.movePos();
        return 0;
      }
    }
    const b0 = buf[pos];
    const c0 = HASH_TABLE[b0] ^ buf[pos + 1];
    const t2 = c0 & HASH2_MASK;
    const c1 = c0 ^ (buf[pos + 2] << 8);
    const h3 = c1 & HASH3_MASK;
    const h4 = (c1 ^ (HASH_TABLE[buf[pos + 3]] << 5)) & this.hash4Mask;
    const posOff = pos + this.off;
    const cs = this.cyclicSize;
    let delta2 = posOff - this.hash2[t2];
    const delta3 = posOff - this.hash3[h3];
    let curMatch = this.hash4[h4];
    this.hash2[t2] = posOff;
    this.hash3[h3] = posOff;
    this.hash4[h4] = posOff;
    if (pos + 4 < this.n) this.touchNext(buf, pos + 1);
    const son = this.son;
    const cp = this.cyclicPos;
    son[cp] = curMatch;
    const mLen = this.mLen;
    const mDist = this.mDist;
    let count = 0;
    let lenBest = 1;
    if (delta2 < cs && buf[pos - delta2] === b0) {
      lenBest = 2;
      mLen[0] = 2;
      mDist[0] = delta2 - 1;
      count = 1;
    }
    if (delta2 !== delta3 && delta3 < cs && buf[pos - delta3] === b0) {
      lenBest = 3;
      mDist[count++] = delta3 - 1;
      delta2 = delta3;
    }
    if (count !== 0) {
      const pb = pos - delta2;
      while (lenBest < lenLimit && buf[pb + lenBest] === buf[pos + lenBest]) lenBest++;
      mLen[count - 1] = lenBest;
      if (lenBest === lenLimit) {
        this.movePos();
        return count;
      }
    }
    if (lenBest < 3) lenBest = 3;
    let depth = this.depth;
    for (;;) {
      const delta = posOff - curMatch;
      if (depth-- === 0 || delta >= cs) break;
      const pb = pos - delta;
      curMatch = son[cp - delta + (delta > cp ? cs : 0)];
      if (buf[pb + lenBest] === buf[pos + lenBest] && buf[pb] === b0) {
        let len = 1;
        while (len < lenLimit && buf[pb + len] === buf[pos + len]) len++;
        if (len > lenBest) {
          lenBest = len;
          mLen[count] = len;
          mDist[count++] = delta - 1;
          if (len === lenLimit) break;
        }
      }
    }
    this.movePos();
    return count;
  }

  /** BT4 at `pos` (= mfPos): inserts it and records its matches. Returns the match count. */
  private bt4Find(pos: number): number {
    const buf = this.buf;
    let lenLimit = this.niceLen;
    const avail = this.n - pos;
    if (avail < lenLimit) {
      lenLimit = avail;
      if (lenLimit < 4) {
        this.movePos();
        return 0;
      }
    }
    const b0 = buf[pos];
    const c0 = HASH_TABLE[b0] ^ buf[pos + 1];
    const t2 = c0 & HASH2_MASK;
    const c1 = c0 ^ (buf[pos + 2] << 8);
    const h3 = c1 & HASH3_MASK;
    const h4 = (c1 ^ (HASH_TABLE[buf[pos + 3]] << 5)) & this.hash4Mask;
    const posOff = pos + this.off;
    const cs = this.cyclicSize;
    let delta2 = posOff - this.hash2[t2];
    const delta3 = posOff - this.hash3[h3];
    let curMatch = this.hash4[h4];
    this.hash2[t2] = posOff;
    this.hash3[h3] = posOff;
    this.hash4[h4] = posOff;
    if (pos + 4 < this.n) this.touchNext(buf, pos + 1);
    const mLen = this.mLen;
    const mDist = this.mDist;
    let count = 0;
    let lenBest = 1;
    let find = true;
    if (delta2 < cs && buf[pos - delta2] === b0) {
      lenBest = 2;
      mLen[0] = 2;
      mDist[0] = delta2 - 1;
      count = 1;
    }
    if (delta2 !== delta3 && delta3 < cs && buf[pos - delta3] === b0) {
      lenBest = 3;
      mDist[count++] = delta3 - 1;
      delta2 = delta3;
    }
    if (count !== 0) {
      const pb = pos - delta2;
      lenBest = extend(buf, this.view, pb, pos, lenBest, lenLimit);
      mLen[count - 1] = lenBest;
      if (lenBest === lenLimit) find = false; // still insert into the tree, report nothing more
    }
    if (lenBest < 3) lenBest = 3;
    // Binary tree walk: insert pos, collect longer matches on the way.
    const son = this.son;
    const view = this.view;
    const cp = this.cyclicPos;
    let ptr0 = (cp << 1) + 1;
    let ptr1 = cp << 1;
    let len0 = 0;
    let len1 = 0;
    let depth = this.depth;
    for (;;) {
      const delta = posOff - curMatch;
      if (depth-- === 0 || delta >= cs) {
        son[ptr0] = 0;
        son[ptr1] = 0;
        break;
      }
      const pair = (cp - delta + (delta > cp ? cs : 0)) << 1;
      const pb = pos - delta;
      let len = len0 < len1 ? len0 : len1;
      if (buf[pb + len] === buf[pos + len]) {
        len = extend(buf, view, pb, pos, len + 1, lenLimit);
        if (find && lenBest < len) {
          lenBest = len;
          mLen[count] = len;
          mDist[count++] = delta - 1;
        }
        if (len === lenLimit) {
          son[ptr1] = son[pair];
          son[ptr0] = son[pair + 1];
          break;
        }
      }
      if (buf[pb + len] < buf[pos + len]) {
        son[ptr1] = curMatch;
        ptr1 = pair + 1;
        curMatch = son[ptr1];
        len1 = len;
      } else {
        son[ptr0] = curMatch;
        ptr0 = pair;
        curMatch = son[ptr0];
        len0 = len;
      }
    }
    this.movePos();
    return count;
  }

  // ================= prices =================

  private updateLenPrices(lenBase: number, posState: number): void {
    const probs = this.probs;
    const prices = lenBase === LEN_CODER ? this.matchLenPrices : this.repLenPrices;
    const c = probs[lenBase + LEN_CHOICE];
    const c2 = probs[lenBase + LEN_CHOICE2];
    const a0 = price0(c);
    const a1 = price1(c);
    const b0 = a1 + price0(c2);
    const b1 = a1 + price1(c2);
    const o = posState * LEN_PRICES;
    const size = this.lenTableSize;
    for (let i = 0; i < size; i++) {
      let base: number;
      let nbits: number;
      let v: number;
      let price: number;
      if (i < 8) {
        base = lenBase + LEN_LOW + (posState << 3);
        nbits = 3;
        v = i;
        price = a0;
      } else if (i < 16) {
        base = lenBase + LEN_MID + (posState << 3);
        nbits = 3;
        v = i - 8;
        price = b0;
      } else {
        base = lenBase + LEN_HIGH;
        nbits = 8;
        v = i - 16;
        price = b1;
      }
      let m = 1;
      for (let k = nbits - 1; k >= 0; k--) {
        const b = (v >>> k) & 1;
        price += priceBit(probs[base + m], b);
        m = (m << 1) | b;
      }
      prices[o + i] = price;
    }
    if (lenBase === LEN_CODER) this.matchLenCounters[posState] = size;
    else this.repLenCounters[posState] = size;
  }

  private fillDistPrices(): void {
    const probs = this.probs;
    const slotPrices = this.distSlotPrices;
    const distPrices = this.distPrices;
    for (let ls = 0; ls < 4; ls++) {
      const base = POS_SLOT + (ls << 6);
      for (let slot = 0; slot < this.distTableSize; slot++) {
        let price = 0;
        let m = 1;
        for (let k = 5; k >= 0; k--) {
          const b = (slot >>> k) & 1;
          price += priceBit(probs[base + m], b);
          m = (m << 1) | b;
        }
        if (slot >= 14) price += (((slot >>> 1) - 1 - 4) << 4);
        slotPrices[(ls << 6) + slot] = price;
      }
      for (let i = 0; i < 4; i++) distPrices[ls * FULL_DISTANCES + i] = slotPrices[(ls << 6) + i];
    }
    for (let i = 4; i < FULL_DISTANCES; i++) {
      const slot = distSlot(i);
      const footer = (slot >>> 1) - 1;
      const base = (2 | (slot & 1)) << footer;
      const rb = SPEC_POS + base - slot - 1;
      let v = i - base;
      let price = 0;
      let m = 1;
      for (let k = 0; k < footer; k++) {
        const b = v & 1;
        v >>>= 1;
        price += priceBit(probs[rb + m], b);
        m = (m << 1) | b;
      }
      for (let ls = 0; ls < 4; ls++) distPrices[ls * FULL_DISTANCES + i] = price + slotPrices[(ls << 6) + slot];
    }
    this.matchPriceCount = 0;
  }

  private fillAlignPrices(): void {
    const probs = this.probs;
    for (let i = 0; i < 16; i++) {
      let v = i;
      let price = 0;
      let m = 1;
      for (let k = 0; k < 4; k++) {
        const b = v & 1;
        v >>>= 1;
        price += priceBit(probs[ALIGN + m], b);
        m = (m << 1) | b;
      }
      this.alignPrices[i] = price;
    }
    this.alignPriceCount = 0;
  }

  /** Price of coding buf[pos] as a literal (matched against matchByte when `matched`). */
  private literalPrice(pos: number, prev: number, matched: boolean, matchByte: number, cur: number): number {
    const probs = this.probs;
    const base = LITERAL + 0x300 * (((pos & ((1 << this.lp) - 1)) << this.lc) + (prev >>> (8 - this.lc)));
    let price = 0;
    if (!matched) {
      let m = 1;
      for (let i = 7; i >= 0; i--) {
        const b = (cur >>> i) & 1;
        price += PRICES[(probs[base + m] ^ (-b & 2047)) >>> 4];
        m = (m << 1) | b;
      }
    } else {
      let offs = 0x100;
      let sym = 1;
      for (let i = 7; i >= 0; i--) {
        matchByte <<= 1;
        const matchBit = matchByte & offs;
        const b = (cur >>> i) & 1;
        price += PRICES[(probs[base + offs + matchBit + sym] ^ (-b & 2047)) >>> 4];
        sym = (sym << 1) | b;
        offs &= b ? matchBit : ~matchBit;
      }
    }
    return price;
  }

  private shortRepPrice(state: number, posState: number): number {
    const probs = this.probs;
    return price0(probs[IS_REP_G0 + state]) + price0(probs[IS_REP0_LONG + (state << 4) + posState]);
  }

  private pureRepPrice(rep: number, state: number, posState: number): number {
    const probs = this.probs;
    if (rep === 0) return price0(probs[IS_REP_G0 + state]) + price1(probs[IS_REP0_LONG + (state << 4) + posState]);
    let price = price1(probs[IS_REP_G0 + state]);
    if (rep === 1) price += price0(probs[IS_REP_G1 + state]);
    else price += price1(probs[IS_REP_G1 + state]) + priceBit(probs[IS_REP_G2 + state], rep - 2);
    return price;
  }

  private repPrice(rep: number, len: number, state: number, posState: number): number {
    return this.repLenPrices[posState * LEN_PRICES + len - MATCH_LEN_MIN] + this.pureRepPrice(rep, state, posState);
  }

  /** Price of a match distance (zero-based) in length state `ls`. */
  private distPrice(dist: number, ls: number): number {
    return dist < FULL_DISTANCES
      ? this.distPrices[ls * FULL_DISTANCES + dist]
      : this.distSlotPrices[(ls << 6) + distSlot(dist)] + this.alignPrices[dist & 15];
  }

  private distLenPrice(dist: number, len: number, posState: number): number {
    const ls = len < 6 ? len - MATCH_LEN_MIN : 3;
    const price = dist < FULL_DISTANCES
      ? this.distPrices[ls * FULL_DISTANCES + dist]
      : this.distSlotPrices[(ls << 6) + distSlot(dist)] + this.alignPrices[dist & 15];
    return price + this.matchLenPrices[posState * LEN_PRICES + len - MATCH_LEN_MIN];
  }

  // ================= chunk loop =================

  /**
   * Range-codes symbols from `pos` into rcBuf until the input ends, `pos` passes `maxUnpacked` bytes after the
   * chunk start, or the packed size nears 64 KiB; flushes the range coder. Returns the packed size.
   * Stops only between parse windows, so the next chunk starts with no pending decisions.
   */
  encodeChunk(maxUnpacked: number, maxPacked: number): number {
    this.rcReset();
    const start = this.pos;
    // Worst case: ~8 bytes per input byte (a literal of 9 improbable bits; a 2-byte match with 26 direct bits).
    const fast = this.fast;
    while (this.pos < this.n) {
      if (this.optCur === this.optEnd) {
        if (this.pos - start >= maxUnpacked) break;
        if (this.pos >= this.probeAt) {
          // Incompressible bytes ahead: end the chunk here; the LZMA2 layer stores them (incompressibleRun).
          if (this.probeRandom(this.pos)) break;
          this.probeAt = this.pos + PROBE;
        }
        const room = maxPacked - this.rcPending();
        if (room < 9 * (MATCH_LEN_MAX + 32)) break;
        this.windowCap = Math.min(OPTS - 1, (room / 9) | 0);
      }
      const pos = this.pos;
      if (fast) this.optimumFast();
      else this.optimumNormal(pos);
      const back = this.back;
      const len = this.len;
      if (back === LIT) this.encLiteral(pos);
      else if (back < REPS) {
        this.encRep(back, len, pos);
      } else {
        this.encMatch(back - REPS, len, pos);
      }
      this.pos = pos + len;
    }
    this.rcFlush();
    return this.rcPos;
  }

  // ================= incompressible data =================

  /**
   * Whether the PROBE bytes at `pos` look like random bytes, which LZMA cannot shrink (LZMA2 would store the chunk
   * after coding it; xz codes it all the same): a byte histogram close to uniform (chi-square ≤ PROBE_CHI2_MAX: no
   * order-0 redundancy left for the literal coder) and at most PROBE_REPEATS_MAX 4-byte repeats, both inside the
   * block (every position through a small hash table) and against the dictionary (every 8th position through the
   * match finder's 4-byte heads), so a second copy of earlier data is still coded as matches. Read-only.
   */
  probeRandom(pos: number): boolean {
    const buf = this.buf;
    const end = pos + PROBE;
    if (end > this.n) return false;
    const counts = this.probeCounts;
    counts.fill(0);
    for (let i = pos; i < end; i++) counts[buf[i]]++;
    const expect = PROBE / 256;
    let chi2 = 0;
    for (let c = 0; c < 256; c++) {
      const d = counts[c] - expect;
      chi2 += d * d;
    }
    if (chi2 / expect > PROBE_CHI2_MAX) return false;
    const table = this.probeTable;
    table.fill(-1);
    const hash4 = this.hash4;
    const mask4 = this.hash4Mask;
    const off = this.off;
    const cs = this.cyclicSize;
    let repeats = 0;
    for (let i = pos; i < end - 3; i++) {
      const c1 = HASH_TABLE[buf[i]] ^ buf[i + 1] ^ (buf[i + 2] << 8);
      const h = c1 ^ (HASH_TABLE[buf[i + 3]] << 5);
      const t = h & ((1 << PROBE_TABLE_BITS) - 1);
      const prev = table[t];
      if (prev >= 0 && buf[prev] === buf[i] && buf[prev + 1] === buf[i + 1] && buf[prev + 2] === buf[i + 2] && buf[prev + 3] === buf[i + 3]) repeats++;
      table[t] = i;
      if ((i & 7) === 0) {
        const delta = i + off - hash4[h & mask4];
        const j = i - delta;
        if (delta > 0 && delta < cs && j >= 0 && buf[j] === buf[i] && buf[j + 1] === buf[i + 1] && buf[j + 2] === buf[i + 2] && buf[j + 3] === buf[i + 3]) repeats++;
      }
      if (repeats > PROBE_REPEATS_MAX) return false;
    }
    return true;
  }

  /**
   * Length of the run of incompressible PROBE blocks at the encoder position, at most `max` bytes (0: none; the
   * next probe is then one block on). Called between LZMA2 chunks.
   */
  incompressibleRun(max: number): number {
    let run = 0;
    while (run + PROBE <= max && this.probeRandom(this.pos + run)) run += PROBE;
    if (run === 0) this.probeAt = this.pos + PROBE;
    return run;
  }

  /** Passes over `len` bytes the LZMA2 layer stores: inserted into the match finder (later data may match them), not coded. */
  skipStored(len: number): void {
    const to = this.pos + len;
    if (this.fast) this.mfSkip(to - this.mfPos);
    else this.bt4InsertLeaves(to - this.mfPos);
    this.pos = to;
    this.probeAt = to;
  }

  /**
   * BT4 insertion of `num` stored (random-looking) positions as leaves: hash heads set, both links empty, no tree
   * walk. A later search still finds each of them as its bucket's newest node (so a second copy of the block is
   * matched); the older nodes behind them become unreachable, as a depth limit would make them.
   */
  private bt4InsertLeaves(num: number): void {
    const buf = this.buf;
    const hash2 = this.hash2;
    const hash3 = this.hash3;
    const hash4 = this.hash4;
    const mask4 = this.hash4Mask;
    const son = this.son;
    const cs = this.cyclicSize;
    const off = this.off;
    const insertEnd = this.n - 3;
    let pos = this.mfPos;
    let cp = this.cyclicPos;
    const end = pos + num;
    for (; pos < end; pos++) {
      if (pos < insertEnd) {
        const c0 = HASH_TABLE[buf[pos]] ^ buf[pos + 1];
        const c1 = c0 ^ (buf[pos + 2] << 8);
        const v = pos + off;
        hash2[c0 & HASH2_MASK] = v;
        hash3[c1 & HASH3_MASK] = v;
        hash4[(c1 ^ (HASH_TABLE[buf[pos + 3]] << 5)) & mask4] = v;
        son[cp << 1] = 0;
        son[(cp << 1) + 1] = 0;
      }
      if (++cp === cs) cp = 0;
    }
    this.mfPos = pos;
    this.cyclicPos = cp;
  }

  // ================= fast parse =================

  private optimumFast(): void {
    const buf = this.buf;
    const pos = this.pos;
    const niceLen = this.niceLen;
    let lenMain: number;
    let count: number;
    if (this.mfPos === pos) {
      lenMain = this.mfFind();
      count = this.mCount;
    } else {
      lenMain = this.longest;
      count = this.mCount;
    }
    const mLen = this.mLen;
    const mDist = this.mDist;
    const availFull = this.n - pos;
    const bufAvail = availFull < MATCH_LEN_MAX ? availFull : MATCH_LEN_MAX;
    if (bufAvail < 2) {
      this.back = LIT;
      this.len = 1;
      return;
    }
    let repLen = 0;
    let repIndex = 0;
    for (let i = 0; i < REPS; i++) {
      const back = pos - (i === 0 ? this.rep0 : i === 1 ? this.rep1 : i === 2 ? this.rep2 : this.rep3) - 1;
      if (back < 0 || buf[pos] !== buf[back] || buf[pos + 1] !== buf[back + 1]) continue;
      let len = 2;
      while (len < bufAvail && buf[pos + len] === buf[back + len]) len++;
      if (len >= niceLen) {
        this.back = i;
        this.len = len;
        this.mfSkip(pos + len - this.mfPos);
        return;
      }
      if (len > repLen) {
        repIndex = i;
        repLen = len;
      }
    }
    if (lenMain >= niceLen) {
      this.back = mDist[count - 1] + REPS;
      this.len = lenMain;
      this.mfSkip(pos + lenMain - this.mfPos);
      return;
    }
    let backMain = 0;
    if (lenMain >= 2) {
      backMain = mDist[count - 1];
      while (count > 1 && lenMain === mLen[count - 2] + 1) {
        if (!(backMain >>> 7 > mDist[count - 2])) break;
        count--;
        lenMain = mLen[count - 1];
        backMain = mDist[count - 1];
      }
      if (lenMain === 2 && backMain >= 0x80) lenMain = 1;
    }
    if (repLen >= 2) {
      if (repLen + 1 >= lenMain || (repLen + 2 >= lenMain && backMain > 1 << 9) || (repLen + 3 >= lenMain && backMain > 1 << 15)) {
        this.back = repIndex;
        this.len = repLen;
        this.mfSkip(pos + repLen - this.mfPos);
        return;
      }
    }
    if (lenMain < 2 || bufAvail <= 2) {
      this.back = LIT;
      this.len = 1;
      return;
    }
    // Lazy look at the next position.
    const nextLen = this.mfFind();
    if (nextLen >= 2) {
      const newDist = this.mDist[this.mCount - 1];
      if ((nextLen >= lenMain && newDist < backMain)
        || (nextLen === lenMain + 1 && !(newDist >>> 7 > backMain))
        || nextLen > lenMain + 1
        || (nextLen + 1 >= lenMain && lenMain >= 3 && backMain >>> 7 > newDist)) {
        this.back = LIT;
        this.len = 1;
        return;
      }
    }
    const limit = Math.max(2, lenMain - 1);
    const p1 = pos + 1;
    for (let i = 0; i < REPS; i++) {
      const back = p1 - (i === 0 ? this.rep0 : i === 1 ? this.rep1 : i === 2 ? this.rep2 : this.rep3) - 1;
      if (back < 0) continue;
      let k = 0;
      while (k < limit && buf[p1 + k] === buf[back + k]) k++;
      if (k === limit) {
        this.back = LIT;
        this.len = 1;
        return;
      }
    }
    this.back = backMain + REPS;
    this.len = lenMain;
    this.mfSkip(pos + lenMain - this.mfPos);
  }

  // ================= normal (optimal) parse =================

  private optimumNormal(position: number): void {
    if (this.optCur !== this.optEnd) {
      const c = this.optCur;
      this.len = this.optPosPrev[c] - c;
      this.back = this.optBackPrev[c];
      this.optCur = this.optPosPrev[c];
      return;
    }
    this.optCur = this.optEnd = 0;
    if (this.mfPos === position) {
      if (this.matchPriceCount >= 128) this.fillDistPrices();
      if (this.alignPriceCount >= 16) this.fillAlignPrices();
    }
    let lenEnd = this.helper1(position);
    if (lenEnd < 0) return;
    const reps = this.curReps;
    let cur = 1;
    for (; cur < lenEnd; cur++) {
      const longest = this.mfFind();
      if (longest >= this.niceLen) break;
      const availFull = Math.min(this.n - (position + cur), this.windowCap - cur);
      lenEnd = this.helper2(reps, lenEnd, position + cur, cur, availFull);
    }
    this.backward(cur);
  }

  /** First position of a window. Returns lenEnd, or -1 when the symbol (back/len) is decided already. */
  private helper1(position: number): number {
    const buf = this.buf;
    const probs = this.probs;
    let lenMain: number;
    if (this.mfPos === position) lenMain = this.mfFind();
    else lenMain = this.longest;
    const count = this.mCount;
    const mLen = this.mLen;
    const mDist = this.mDist;
    const availFull = this.n - position;
    const bufAvail = availFull < MATCH_LEN_MAX ? availFull : MATCH_LEN_MAX;
    if (bufAvail < 2) {
      this.back = LIT;
      this.len = 1;
      return -1;
    }
    const repLens = this.repLens;
    const reps = this.curReps;
    reps[0] = this.rep0;
    reps[1] = this.rep1;
    reps[2] = this.rep2;
    reps[3] = this.rep3;
    let repMax = 0;
    for (let i = 0; i < REPS; i++) {
      const back = position - reps[i] - 1;
      if (back < 0 || buf[position] !== buf[back] || buf[position + 1] !== buf[back + 1]) {
        repLens[i] = 0;
        continue;
      }
      let len = 2;
      len = extend(buf, this.view, position, back, len, bufAvail);
      repLens[i] = len;
      if (len > repLens[repMax]) repMax = i;
    }
    if (repLens[repMax] >= this.niceLen) {
      this.back = repMax;
      this.len = repLens[repMax];
      this.mfSkip(position + this.len - this.mfPos);
      return -1;
    }
    if (lenMain >= this.niceLen) {
      this.back = mDist[count - 1] + REPS;
      this.len = lenMain;
      this.mfSkip(position + lenMain - this.mfPos);
      return -1;
    }
    const curByte = buf[position];
    const matchByte = position - reps[0] - 1 >= 0 ? buf[position - reps[0] - 1] : -1;
    if (lenMain < 2 && curByte !== matchByte && repLens[repMax] < 2) {
      this.back = LIT;
      this.len = 1;
      return -1;
    }
    const state = this.state;
    const posState = position & ((1 << this.pb) - 1);
    const optPrice = this.optPrice;
    const optPosPrev = this.optPosPrev;
    const optBackPrev = this.optBackPrev;
    const optPrev1Lit = this.optPrev1Lit;
    this.optState[0] = state;
    const isMatchP = probs[IS_MATCH + (state << 4) + posState];
    optPrice[1] = price0(isMatchP) + this.literalPrice(position, position > 0 ? buf[position - 1] : 0, state >= 7, matchByte, curByte);
    optBackPrev[1] = LIT;
    optPrev1Lit[1] = 0;
    const matchPrice = price1(isMatchP);
    const repMatchPrice = matchPrice + price1(probs[IS_REP + state]);
    if (matchByte === curByte) {
      const sp = repMatchPrice + this.shortRepPrice(state, posState);
      if (sp < optPrice[1]) {
        optPrice[1] = sp;
        optBackPrev[1] = 0;
        optPrev1Lit[1] = 0;
      }
    }
    const lenEnd = Math.max(lenMain, repLens[repMax]);
    if (lenEnd < 2) {
      this.back = optBackPrev[1];
      this.len = 1;
      return -1;
    }
    optPosPrev[1] = 0;
    const optReps = this.optReps;
    optReps[0] = reps[0];
    optReps[1] = reps[1];
    optReps[2] = reps[2];
    optReps[3] = reps[3];
    for (let l = lenEnd; l >= 2; l--) optPrice[l] = INF;
    const rlp = this.repLenPrices;
    const lpo = posState * LEN_PRICES - MATCH_LEN_MIN;
    for (let i = 0; i < REPS; i++) {
      let repLen = repLens[i];
      if (repLen < 2) continue;
      const price = repMatchPrice + this.pureRepPrice(i, state, posState);
      do {
        const p = price + rlp[lpo + repLen];
        if (p < optPrice[repLen]) {
          optPrice[repLen] = p;
          optPosPrev[repLen] = 0;
          optBackPrev[repLen] = i;
          optPrev1Lit[repLen] = 0;
        }
      } while (--repLen >= 2);
    }
    const normalMatchPrice = matchPrice + price0(probs[IS_REP + state]);
    let len = repLens[0] >= 2 ? repLens[0] + 1 : 2;
    if (len <= lenMain) {
      let i = 0;
      while (len > mLen[i]) i++;
      for (;; len++) {
        const dist = mDist[i];
        const p = normalMatchPrice + this.distLenPrice(dist, len, posState);
        if (p < optPrice[len]) {
          optPrice[len] = p;
          optPosPrev[len] = 0;
          optBackPrev[len] = dist + REPS;
          optPrev1Lit[len] = 0;
        }
        if (len === mLen[i] && ++i === count) break;
      }
    }
    return lenEnd;
  }

  private helper2(reps: Int32Array, lenEnd: number, position: number, cur: number, availFull: number): number {
    const buf = this.buf;
    const probs = this.probs;
    const optPrice = this.optPrice;
    const optPosPrev = this.optPosPrev;
    const optBackPrev = this.optBackPrev;
    const optPrev1Lit = this.optPrev1Lit;
    const optPrev2 = this.optPrev2;
    const optPosPrev2 = this.optPosPrev2;
    const optBackPrev2 = this.optBackPrev2;
    const optState = this.optState;
    const optReps = this.optReps;
    const mLen = this.mLen;
    const mDist = this.mDist;
    let count = this.mCount;
    let newLen = this.longest;
    let posPrev = optPosPrev[cur];
    let state: number;
    // State and reps at cur, from the node it was reached from.
    if (optPrev1Lit[cur]) {
      posPrev--;
      if (optPrev2[cur]) {
        state = optState[optPosPrev2[cur]];
        if (optBackPrev2[cur] < REPS) state = state < 7 ? 8 : 11;
        else state = state < 7 ? 7 : 10;
      } else {
        state = optState[posPrev];
      }
      state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
    } else {
      state = optState[posPrev];
    }
    if (posPrev === cur - 1) {
      if (optBackPrev[cur] === 0) state = state < 7 ? 9 : 11; // short rep
      else state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
      const o = posPrev * 4;
      reps[0] = optReps[o];
      reps[1] = optReps[o + 1];
      reps[2] = optReps[o + 2];
      reps[3] = optReps[o + 3];
    } else {
      let p: number;
      if (optPrev1Lit[cur] && optPrev2[cur]) {
        posPrev = optPosPrev2[cur];
        p = optBackPrev2[cur];
        state = state < 7 ? 8 : 11;
      } else {
        p = optBackPrev[cur];
        if (p < REPS) state = state < 7 ? 8 : 11;
        else state = state < 7 ? 7 : 10;
      }
      const o = posPrev * 4;
      if (p < REPS) {
        reps[0] = optReps[o + p];
        let i = 1;
        for (; i <= p; i++) reps[i] = optReps[o + i - 1];
        for (; i < REPS; i++) reps[i] = optReps[o + i];
      } else {
        reps[0] = p - REPS;
        reps[1] = optReps[o];
        reps[2] = optReps[o + 1];
        reps[3] = optReps[o + 2];
      }
    }
    optState[cur] = state;
    const oc = cur * 4;
    optReps[oc] = reps[0];
    optReps[oc + 1] = reps[1];
    optReps[oc + 2] = reps[2];
    optReps[oc + 3] = reps[3];

    const curPrice = optPrice[cur];
    const curByte = buf[position];
    const rep0Back = position - reps[0] - 1;
    const matchByte = rep0Back >= 0 ? buf[rep0Back] : -1;
    const pbMask = (1 << this.pb) - 1;
    const posState = position & pbMask;
    const isMatchP = probs[IS_MATCH + (state << 4) + posState];
    const cur1Price = curPrice + price0(isMatchP) + this.literalPrice(position, buf[position - 1], state >= 7, matchByte, curByte);
    let nextIsLiteral = false;
    if (cur1Price < optPrice[cur + 1]) {
      optPrice[cur + 1] = cur1Price;
      optPosPrev[cur + 1] = cur;
      optBackPrev[cur + 1] = LIT;
      optPrev1Lit[cur + 1] = 0;
      nextIsLiteral = true;
    }
    const matchPrice = curPrice + price1(isMatchP);
    const repMatchPrice = matchPrice + price1(probs[IS_REP + state]);
    if (matchByte === curByte && !(optPosPrev[cur + 1] < cur && optBackPrev[cur + 1] === 0)) {
      const sp = repMatchPrice + this.shortRepPrice(state, posState);
      if (sp <= optPrice[cur + 1]) {
        optPrice[cur + 1] = sp;
        optPosPrev[cur + 1] = cur;
        optBackPrev[cur + 1] = 0;
        optPrev1Lit[cur + 1] = 0;
        nextIsLiteral = true;
      }
    }
    if (availFull < 2) return lenEnd;
    const niceLen = this.niceLen;
    const bufAvail = Math.min(availFull, niceLen);

    // literal + rep0
    if (!nextIsLiteral && matchByte !== curByte && rep0Back >= 0) {
      const limit = Math.min(availFull, niceLen + 1);
      let lenTest = 1;
      while (lenTest < limit && buf[position + lenTest] === buf[rep0Back + lenTest]) lenTest++;
      lenTest--;
      if (lenTest >= 2) {
        const state2 = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        const psNext = (position + 1) & pbMask;
        const nextRepMatchPrice = cur1Price + price1(probs[IS_MATCH + (state2 << 4) + psNext]) + price1(probs[IS_REP + state2]);
        const offset = cur + 1 + lenTest;
        while (lenEnd < offset) optPrice[++lenEnd] = INF;
        const p = nextRepMatchPrice + this.repPrice(0, lenTest, state2, psNext);
        if (p < optPrice[offset]) {
          optPrice[offset] = p;
          optPosPrev[offset] = cur + 1;
          optBackPrev[offset] = 0;
          optPrev1Lit[offset] = 1;
          optPrev2[offset] = 0;
        }
      }
    }

    let startLen = 2;
    const rlp = this.repLenPrices;
    const lpo = posState * LEN_PRICES - MATCH_LEN_MIN;
    for (let ri = 0; ri < REPS; ri++) {
      const back = position - reps[ri] - 1;
      if (back < 0 || buf[position] !== buf[back] || buf[position + 1] !== buf[back + 1]) continue;
      let lenTest = 2;
      lenTest = extend(buf, this.view, position, back, lenTest, bufAvail);
      while (lenEnd < cur + lenTest) optPrice[++lenEnd] = INF;
      const lenTestTemp = lenTest;
      const price = repMatchPrice + this.pureRepPrice(ri, state, posState);
      do {
        const p = price + rlp[lpo + lenTest];
        const at = cur + lenTest;
        if (p < optPrice[at]) {
          optPrice[at] = p;
          optPosPrev[at] = cur;
          optBackPrev[at] = ri;
          optPrev1Lit[at] = 0;
        }
      } while (--lenTest >= 2);
      lenTest = lenTestTemp;
      if (ri === 0) startLen = lenTest + 1;
      // rep + literal + rep0
      let lenTest2 = lenTest + 1;
      const limit = Math.min(availFull, lenTest2 + niceLen);
      lenTest2 = extend(buf, this.view, position, back, lenTest2, limit);
      lenTest2 -= lenTest + 1;
      if (lenTest2 >= 2) {
        let state2 = state < 7 ? 8 : 11;
        let psNext = (position + lenTest) & pbMask;
        const charPrice = price + rlp[lpo + lenTest]
          + price0(probs[IS_MATCH + (state2 << 4) + psNext])
          + this.literalPrice(position + lenTest, buf[position + lenTest - 1], true, buf[back + lenTest], buf[position + lenTest]);
        state2 = state2 < 10 ? state2 - 3 : state2 - 6;
        psNext = (position + lenTest + 1) & pbMask;
        const nextRepMatchPrice = charPrice + price1(probs[IS_MATCH + (state2 << 4) + psNext]) + price1(probs[IS_REP + state2]);
        const offset = cur + lenTest + 1 + lenTest2;
        while (lenEnd < offset) optPrice[++lenEnd] = INF;
        const p = nextRepMatchPrice + this.repPrice(0, lenTest2, state2, psNext);
        if (p < optPrice[offset]) {
          optPrice[offset] = p;
          optPosPrev[offset] = cur + lenTest + 1;
          optBackPrev[offset] = 0;
          optPrev1Lit[offset] = 1;
          optPrev2[offset] = 1;
          optPosPrev2[offset] = cur;
          optBackPrev2[offset] = ri;
        }
      }
    }

    if (newLen > bufAvail) {
      newLen = bufAvail;
      count = 0;
      while (newLen > mLen[count]) count++;
      mLen[count++] = newLen;
    }
    if (newLen >= startLen) {
      const normalMatchPrice = matchPrice + price0(probs[IS_REP + state]);
      while (lenEnd < cur + newLen) optPrice[++lenEnd] = INF;
      let i = 0;
      while (startLen > mLen[i]) i++;
      const mlp = this.matchLenPrices;
      let curBack = mDist[i];
      let distPrice3 = this.distPrice(curBack, 3);
      for (let lenTest = startLen; ; lenTest++) {
        const p = normalMatchPrice + (lenTest < 6 ? this.distPrice(curBack, lenTest - MATCH_LEN_MIN) : distPrice3) + mlp[lpo + lenTest];
        const at = cur + lenTest;
        if (p < optPrice[at]) {
          optPrice[at] = p;
          optPosPrev[at] = cur;
          optBackPrev[at] = curBack + REPS;
          optPrev1Lit[at] = 0;
        }
        if (lenTest === mLen[i]) {
          // match + literal + rep0
          const back = position - curBack - 1;
          let lenTest2 = lenTest + 1;
          const limit = Math.min(availFull, lenTest2 + niceLen);
          lenTest2 = extend(buf, this.view, position, back, lenTest2, limit);
          lenTest2 -= lenTest + 1;
          if (lenTest2 >= 2) {
            let state2 = state < 7 ? 7 : 10;
            let psNext = (position + lenTest) & pbMask;
            const charPrice = p
              + price0(probs[IS_MATCH + (state2 << 4) + psNext])
              + this.literalPrice(position + lenTest, buf[position + lenTest - 1], true, buf[back + lenTest], buf[position + lenTest]);
            state2 = state2 < 10 ? state2 - 3 : state2 - 6;
            psNext = (psNext + 1) & pbMask;
            const nextRepMatchPrice = charPrice + price1(probs[IS_MATCH + (state2 << 4) + psNext]) + price1(probs[IS_REP + state2]);
            const offset = cur + lenTest + 1 + lenTest2;
            while (lenEnd < offset) optPrice[++lenEnd] = INF;
            const p2 = nextRepMatchPrice + this.repPrice(0, lenTest2, state2, psNext);
            if (p2 < optPrice[offset]) {
              optPrice[offset] = p2;
              optPosPrev[offset] = cur + lenTest + 1;
              optBackPrev[offset] = 0;
              optPrev1Lit[offset] = 1;
              optPrev2[offset] = 1;
              optPosPrev2[offset] = cur;
              optBackPrev2[offset] = curBack + REPS;
            }
          }
          if (++i === count) break;
          curBack = mDist[i];
          distPrice3 = this.distPrice(curBack, 3);
        }
      }
    }
    return lenEnd;
  }

  /** Turns the cheapest path to `cur` into forward links; sets back/len of its first symbol. */
  private backward(cur: number): void {
    const optPosPrev = this.optPosPrev;
    const optBackPrev = this.optBackPrev;
    const optPrev1Lit = this.optPrev1Lit;
    this.optEnd = cur;
    let posMem = optPosPrev[cur];
    let backMem = optBackPrev[cur];
    do {
      if (optPrev1Lit[cur]) {
        optBackPrev[posMem] = LIT;
        optPrev1Lit[posMem] = 0;
        optPosPrev[posMem] = posMem - 1;
        if (this.optPrev2[cur]) {
          optPrev1Lit[posMem - 1] = 0;
          optPosPrev[posMem - 1] = this.optPosPrev2[cur];
          optBackPrev[posMem - 1] = this.optBackPrev2[cur];
        }
      }
      const posPrev = posMem;
      const backCur = backMem;
      backMem = optBackPrev[posPrev];
      posMem = optPosPrev[posPrev];
      optBackPrev[posPrev] = backCur;
      optPosPrev[posPrev] = cur;
      cur = posPrev;
    } while (cur !== 0);
    this.optCur = optPosPrev[0];
    this.len = optPosPrev[0];
    this.back = optBackPrev[0];
  }
}
