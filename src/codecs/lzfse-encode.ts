import { fillEncoderTable, normalizeFreq } from './fse-encode.js';
import { encodeLzvn } from './lzvn-encode.js';
import {
  MAGIC_EOS, MAGIC_RAW, MAGIC_V2, MAGIC_LZVN, L_SYMBOLS, M_SYMBOLS, D_SYMBOLS, LITERAL_SYMBOLS, L_STATES, M_STATES,
  D_STATES, LITERAL_STATES, MATCHES_PER_BLOCK, LITERALS_PER_BLOCK, L_EXTRA_BITS, L_BASE_VALUE, M_EXTRA_BITS,
  M_BASE_VALUE, D_EXTRA_BITS, D_BASE_VALUE,
} from './lzfse-constants.js';

/**
 * LZFSE encoder (UDIF chunk type 0x80000007, "ULFO"), producing the block kinds of Apple's reference encoder
 * (lzfse_encode_base.c; format in docs/formats/lzfse.md):
 *
 *   bvx2  LZFSE compressed block, v2 header (packed fields + compressed frequency tables), FSE-coded literals
 *         (4 interleaved streams) and L/M/D values (base symbol + extra bits)
 *   bvxn  LZVN block                         bvx-  raw block                  bvx$  end of stream
 *
 * Match search after the reference's: positions are hashed (4 bytes, 14-bit multiplicative hash, as the
 * reference) into a history line holding the last 4 positions, each packed with a 14-bit tag of its 4-byte value
 * (the reference stores the whole value beside the position), so that most candidates are rejected without
 * touching the input; matches of ≥ 4 bytes within 262139 bytes are extended forwards (4 bytes per step) and, for
 * the chosen one, backwards. Inside an emitted match only every other position of its last 256 bytes and its last
 * 4 positions are entered (the
 * reference enters all). Unlike the reference, candidates (and the
 * previous distance, tried first) compete by gain, 4 · length − log2(distance), not by length alone (see
 * K.RepGain). A match of ≥ 16 bytes is emitted at once, a shorter one is kept pending and compared with the next
 * position's (one-step lazy evaluation, as the reference: overlapping, the one of more gain wins; none, the
 * pending one goes). Entropy stage as the reference's: frequencies normalized
 * by rounding, 10000 L/M/D triples or 40000 literals per block.
 *
 * blockKind 'auto' (default) emits bvx2 blocks, and for inputs under 4 KiB (the reference's LZVN threshold) an
 * LZVN block when that is smaller. Never bvx- blocks: 7-Zip (at least through 26.02) cannot decode them (its
 * DecodeUncompressed loop never decrements the remaining size), and 7-Zip is our oracle; a UDIF writer stores
 * incompressible chunks as raw chunks instead.
 *
 * Deterministic; every buffer lives in one workspace reused by all calls on a thread.
 */
export type LzfseBlockKind = 'bvx2' | 'bvxn' | 'bvx-' | 'auto';

/** Decoder limits (reference LZFSE_MATCHES_PER_BLOCK, LZFSE_LITERALS_PER_BLOCK). */
export const LZFSE_MATCHES_PER_BLOCK = MATCHES_PER_BLOCK;
export const LZFSE_LITERALS_PER_BLOCK = LITERALS_PER_BLOCK;
export const LZFSE_MAX_L_VALUE = 315;
export const LZFSE_MAX_M_VALUE = 2359;
export const LZFSE_MAX_D_VALUE = 262139;
/** Raw and LZVN blocks hold at most this many bytes each. */
const OTHER_BLOCK_BYTES = 1 << 20;
/** Header: magic, n_raw_bytes, 3 packed u64 fields; the frequency tables follow. */
const V2_HEADER_FIXED = 32;
const LMD_PAD_BYTES = 8;
/**
 * Tunables and fixed values of the match search, as a const enum so that tsc writes them into the hot loops as
 * literals: module-level consts are read from the module context at run time (a load, a hole check, a Smi check
 * and an untag per use in V8's optimized code, and a register each).
 */
const enum K {
  /** 14-bit hash of 4 bytes (as the reference): line index = imul(x, HashMul) >>> HashShift. */
  HashBits = 14,
  HashShift = 32 - 14,
  HashMul = 0x9e3779b1,
  /** Second multiplicative hash, whose high 14 bits are an entry's tag. */
  TagMul = 0x85ebca6b,
  /**
   * A history entry packs a position modulo 2^PosBits (the low bits; 2^18 > LZFSE_MAX_D_VALUE, so the distance
   * is recovered as (pos − entry) mod 2^18) with a 14-bit tag of its 4-byte value (the high bits, from the
   * second multiplicative hash): one Int32 per entry, a line of 4 in 16 bytes, the table 256 KiB (it and the
   * 1 MiB chunk compete for the L2 cache: 15 bits, 512 KiB, was 0.16 % smaller but ~12 % slower).
   */
  PosBits = 18,
  PosMask = (1 << 18) - 1,
  TagMask = ~((1 << 18) - 1),
  MaxL = 315,
  MaxM = 2359,
  MaxD = 262139,
  /**
   * A match this long is emitted without waiting for a longer overlapping one (the reference: 40). 100 until
   * session 6; against it, on the bench mix: 32 is +0.02 % output and ~2 % faster, 24 the same, 16 +0.29 % and
   * 5–10 % faster (text +1.10 → +1.60 % against zlib-6, the whole mix still −0.42 %): taken, for the 100 MB/s.
   */
  GoodMatch = 16,
  /** Longest match found at once (longer runs are found again at the next position): 100 · MaxM. */
  MaxMatch = 235900,
  /** Literals pending without a match before some are emitted (keeps blocks within their literal limit): 8 · MaxL. */
  LiteralFlush = 2520,
  /**
   * A match's gain, the measure by which candidates compete: 4 · length − log2(distance), the bytes it covers
   * against the extra bits its distance costs; a match at the previous distance (coded as D = 0, nearly free)
   * gains 4 · length + RepGain. Of two overlapping matches the later one must gain LazyBonus more (it leaves
   * literals before it).
   */
  RepGain = 1,
  LazyBonus = 4,
  /**
   * Positions inside an emitted match entered into the history: one in InsertStep, and all of its last
   * InsertTail (a later match that starts between two entered positions is found one byte late and extended
   * backwards).
   */
  InsertStep = 2,
  InsertTail = 4,
  /**
   * Of a longer match only the positions in its last InsertSpan bytes are entered (runs and long copies: +0.003 %
   * output on the bench mix, zeros 2x faster; the positions before are covered by the match's own history).
   */
  InsertSpan = 256,
}
const HASH_WIDTH = 4;
const HASH_ENTRIES = (1 << K.HashBits) * HASH_WIDTH;
/** Matches search() collects before they are emitted. */
const REC_MAX = 1024;
/** Inputs below this size may be better as one LZVN block. */
const LZVN_THRESHOLD = 4096;
/** Worst-case bytes of one bvx2 block: header + 40000 literals · 10 bits + 10000 triples · 54 bits. */
const BLOCK_WORST = 1024 + (LITERALS_PER_BLOCK * 10) / 8 + LMD_PAD_BYTES + (MATCHES_PER_BLOCK * 54) / 8 + 64;


/** Length of the common run of src[a..] and src[b..] (a < b), known to be at least l, at most lim. */
function extend(src: Uint8Array, dv: DataView, a: number, b: number, l: number, lim: number): number {
  while (l + 4 <= lim) {
    const d = dv.getInt32(a + l, true) ^ dv.getInt32(b + l, true);
    if (d !== 0) return l + ((31 - Math.clz32(d & -d)) >> 3);
    l += 4;
  }
  while (l < lim && src[a + l] === src[b + l]) l++;
  return l;
}


/** Stores match record i (see Work.rec); returns the literals' new start, pos + len. */
function record(rec: Int32Array, i: number, litStart: number, pos: number, ref: number, len: number): number {
  const o = 4 * i;
  rec[o] = litStart;
  rec[o + 1] = pos;
  rec[o + 2] = ref;
  rec[o + 3] = len;
  return pos + len;
}

/** Symbol of a value: index of the last base ≤ value. */
function symbolTable(base: Int32Array, maxValue: number): Uint8Array {
  const t = new Uint8Array(maxValue + 1);
  let s = 0;
  for (let v = 0; v <= maxValue; v++) {
    while (s + 1 < base.length && base[s + 1]! <= v) s++;
    t[v] = s;
  }
  return t;
}

/** Encoding of a frequency value in the v2 header (fixed code, LSB first): bits | nbits << 16. */
function freqCode(v: number): number {
  if (v < 8) return [0 | (2 << 16), 2 | (2 << 16), 1 | (3 << 16), 5 | (3 << 16), 3 | (5 << 16), 11 | (5 << 16), 19 | (5 << 16), 27 | (5 << 16)][v]!;
  if (v < 24) return (7 + ((v - 8) << 4)) | (8 << 16);
  return (15 + ((v - 24) << 4)) | (14 << 16);
}

/** The encoder's workspace: match history, the current block's triples and literals, tables, output. */
class Work {
  readonly hash = new Int32Array(HASH_ENTRIES);
  readonly lv = new Int32Array(MATCHES_PER_BLOCK);
  readonly mv = new Int32Array(MATCHES_PER_BLOCK);
  readonly dv = new Int32Array(MATCHES_PER_BLOCK);
  readonly lSym = new Uint8Array(MATCHES_PER_BLOCK);
  readonly mSym = new Uint8Array(MATCHES_PER_BLOCK);
  readonly dSym = new Uint8Array(MATCHES_PER_BLOCK);
  readonly lit = new Uint8Array(LITERALS_PER_BLOCK + 64);
  readonly lOcc = new Uint32Array(L_SYMBOLS);
  readonly mOcc = new Uint32Array(M_SYMBOLS);
  readonly dOcc = new Uint32Array(D_SYMBOLS);
  readonly litOcc = new Uint32Array(LITERAL_SYMBOLS);
  /** Four literal histograms counted in turn (a run of one byte value would otherwise wait on its own count). */
  readonly litOcc4 = new Uint32Array(4 * LITERAL_SYMBOLS);
  readonly litView = new DataView(this.lit.buffer);
  readonly lFreq = new Uint16Array(L_SYMBOLS);
  readonly mFreq = new Uint16Array(M_SYMBOLS);
  readonly dFreq = new Uint16Array(D_SYMBOLS);
  readonly litFreq = new Uint16Array(LITERAL_SYMBOLS);
  readonly lEnc = new Int32Array(4 * L_SYMBOLS);
  readonly mEnc = new Int32Array(4 * M_SYMBOLS);
  readonly dEnc = new Int32Array(4 * D_SYMBOLS);
  readonly litEnc = new Int32Array(4 * LITERAL_SYMBOLS);
  readonly lSymOf = symbolTable(L_BASE_VALUE, LZFSE_MAX_L_VALUE);
  readonly mSymOf = symbolTable(M_BASE_VALUE, LZFSE_MAX_M_VALUE);
  src: Uint8Array = new Uint8Array(0);
  srcView: DataView = new DataView(this.src.buffer);
  nMatches = 0;
  nLiterals = 0;
  /** Distance of the last triple (1 before the first). */
  lastD = 1;
  /** The current block's bytes (literals + match lengths) and last distance (0 at its start). */
  rawBytes = 0;
  blockPrevD = 0;
  /** Final FSE states and padding bits (≤ 0) of the last encodeLiterals / encodeLmd. */
  s0 = 0;
  s1 = 0;
  s2 = 0;
  s3 = 0;
  bitsLeft = 0;
  /** Matches found by search() and not yet emitted: (litStart, pos, ref, len) each, len 0 for literals only. */
  readonly rec = new Int32Array(4 * (REC_MAX + 2));
  /**
   * Limits of a block and of the records per search() call: the format's and REC_MAX, except while the warm-up
   * sample runs with small ones, so that the block-full and records-full paths run (and V8 has type feedback for
   * them) before the hot functions are compiled.
   */
  blockMatches = MATCHES_PER_BLOCK;
  blockLiterals = LITERALS_PER_BLOCK;
  recMax = REC_MAX;
  /** search()'s state between calls: next position, literals start, last distance, the pending match. */
  sPos = 0;
  sLit = 0;
  sLastD = 1;
  sPendPos = 0;
  sPendRef = 0;
  sPendLen = 0;
  sPendGain = 0;
  out = new Uint8Array(1 << 16);
  op = 0;

  reserve(n: number): void {
    if (this.op + n <= this.out.length) return;
    const b = new Uint8Array(Math.max(this.out.length * 2, this.op + n));
    b.set(this.out.subarray(0, this.op));
    this.out = b;
  }

  u32(v: number): void {
    this.reserve(4);
    const o = this.out;
    o[this.op++] = v;
    o[this.op++] = v >>> 8;
    o[this.op++] = v >>> 16;
    o[this.op++] = v >>> 24;
  }

  /** Append one L/M/D triple; its L literals are copied from src[litAt..]. Starts a new block when full. */
  lmd(L: number, M: number, D: number, litAt: number): void {
    if (this.nMatches + 9 > this.blockMatches || this.nLiterals + L + 16 > this.blockLiterals) this.flushBlock();
    const n = this.nMatches++;
    // The symbols and their counts as the triple comes (no second pass over the block's triples). A distance
    // equal to the block's previous one is stored as 0.
    if (D === this.blockPrevD) D = 0;
    else this.blockPrevD = D;
    this.lv[n] = L;
    this.mv[n] = M;
    this.dv[n] = D;
    const ls = this.lSymOf[L]!;
    const ms = this.mSymOf[M]!;
    // D symbol 4g + j: group g = ⌊log2(D + 4)⌋ − 2 has g extra bits, base 4·(2^g − 1).
    const g = 29 - Math.clz32(D + 4);
    const ds = 4 * g + ((D + 4) >>> g) - 4;
    this.lSym[n] = ls;
    this.mSym[n] = ms;
    this.dSym[n] = ds;
    this.lOcc[ls]!++;
    this.mOcc[ms]!++;
    this.dOcc[ds]!++;
    this.rawBytes += L + M;
    const o = this.nLiterals;
    // 4 bytes at a time (lit has room beyond its limit), then the rest.
    const lv = this.litView;
    const sv = this.srcView;
    let i = 0;
    for (; i + 4 <= L; i += 4) lv.setInt32(o + i, sv.getInt32(litAt + i, true), true);
    const lit = this.lit;
    const src = this.src;
    for (; i < L; i++) lit[o + i] = src[litAt + i]!;
    this.nLiterals = o + L;
  }

  /** Starts an empty block: no triples, literals or counts. */
  resetBlock(): void {
    this.nMatches = 0;
    this.nLiterals = 0;
    this.rawBytes = 0;
    this.blockPrevD = 0;
    this.lOcc.fill(0);
    this.mOcc.fill(0);
    this.dOcc.fill(0);
  }

  /**
   * Emit the literals src[litStart, pos) and a match of `len` bytes at pos from ref; returns the new litStart.
   * One lmd call site and every field read on every call: a rarely taken path without type feedback would
   * discard the optimized code of the caller it is inlined into.
   */
  match(litStart: number, pos: number, ref: number, len: number): number {
    const last = this.lastD;
    const D = len > 0 ? pos - ref : last;
    let L = pos - litStart;
    let M = len;
    let at = litStart;
    while (L > 0 || M > 0) {
      // Literals beyond MaxL go first as literal-only triples (M = 0: the distance is unused; repeating the last
      // one costs least and keeps it as the previous distance), then the match in pieces of at most MaxM.
      const l = L > K.MaxL ? K.MaxL : L;
      const m = L > K.MaxL ? 0 : M > K.MaxM ? K.MaxM : M;
      this.lmd(l, m, L > K.MaxL ? last : D, at);
      at += l;
      L -= l;
      M -= m;
    }
    this.lastD = D;
    return pos + len;
  }

  /** Encode the pending triples and literals as one bvx2 block. */
  flushBlock(): void {
    const nm = this.nMatches;
    if (nm === 0) return;
    const lit = this.lit;
    let nl = this.nLiterals;
    // Four interleaved literal streams: pad with zeros to a multiple of 4 (at least 4, so the table is not empty).
    if (nl === 0) nl = 4;
    for (let i = this.nLiterals; i < nl || (i & 3) !== 0; i++) lit[i] = 0;
    nl = (nl + 3) & ~3;
    // Each hot loop is a function of its own (V8 compiles a long loop while it runs; code after it in the same
    // function that has not run yet would discard that code again).
    const rawBytes = this.rawBytes;
    this.literalHistogram(nl);
    const { lOcc, mOcc, dOcc, litOcc, lFreq, mFreq, dFreq, litFreq, lEnc, mEnc, dEnc, litEnc } = this;
    normalizeFreq(lOcc, L_STATES, lFreq);
    normalizeFreq(mOcc, M_STATES, mFreq);
    normalizeFreq(dOcc, D_STATES, dFreq);
    normalizeFreq(litOcc, LITERAL_STATES, litFreq);
    fillEncoderTable(L_STATES, lFreq, lEnc);
    fillEncoderTable(M_STATES, mFreq, mEnc);
    fillEncoderTable(D_STATES, dFreq, dEnc);
    fillEncoderTable(LITERAL_STATES, litFreq, litEnc);

    this.reserve(BLOCK_WORST);
    const out = this.out;
    const blockStart = this.op;
    let op = blockStart + V2_HEADER_FIXED;
    let acc = 0;
    let nb = 0;
    // Frequency tables.
    for (const table of [lFreq, mFreq, dFreq, litFreq]) {
      for (let i = 0; i < table.length; i++) {
        const c = freqCode(table[i]!);
        acc |= (c & 0xffff) << nb;
        nb += c >>> 16;
        while (nb >= 8) {
          out[op++] = acc;
          acc >>>= 8;
          nb -= 8;
        }
      }
    }
    if (nb > 0) out[op++] = acc;
    const headerSize = op - blockStart;

    const litStart = op;
    op = this.encodeLiterals(nl, op);
    const litBytes = op - litStart;
    const literalBits = this.bitsLeft;
    const { s0, s1, s2, s3 } = this;

    const lmdStart = op;
    op = this.encodeLmd(nm, op);
    const lmdBytes = op - lmdStart;
    const lmdBits = this.bitsLeft;
    const { s0: ls, s1: ms, s2: ds } = this;

    // Fixed header: magic, raw size, packed fields as little-endian u64s written as (low, high) halves.
    this.op = blockStart;
    this.u32(MAGIC_V2);
    this.u32(rawBytes);
    // f0: n_literals [0,20) · n_literal_payload_bytes [20,40) · n_matches [40,60) · 7 + literal_bits [60,63)
    this.u32(nl | ((litBytes & 0xfff) << 20));
    this.u32((litBytes >>> 12) | (nm << 8) | ((7 + literalBits) << 28));
    // f1: literal_state[0..3] 10 bits each [0,40) · n_lmd_payload_bytes [40,60) · 7 + lmd_bits [60,63)
    this.u32(s0 | (s1 << 10) | ((s2 & 0x3ff) << 20) | ((s3 & 3) << 30));
    this.u32((s3 >>> 2) | (lmdBytes << 8) | ((7 + lmdBits) << 28));
    // f2: header_size [0,32) · l_state [32,42) · m_state [42,52) · d_state [52,62)
    this.u32(headerSize);
    this.u32(ls | (ms << 10) | (ds << 20));
    this.op = op;
    this.resetBlock();
  }

  /** Counts of the first nl literals (nl a multiple of 4) in litOcc, through four histograms counted in turn. */
  literalHistogram(nl: number): void {
    const { lit, litOcc } = this;
    const occ4 = this.litOcc4;
    occ4.fill(0);
    for (let i = 0; i < nl; i += 4) {
      occ4[lit[i]!]!++;
      occ4[256 + lit[i + 1]!]!++;
      occ4[512 + lit[i + 2]!]!++;
      occ4[768 + lit[i + 3]!]!++;
    }
    for (let i = 0; i < 256; i++) litOcc[i] = occ4[i]! + occ4[256 + i]! + occ4[512 + i]! + occ4[768 + i]!;
  }

  /**
   * Literals, from the last group of four to the first so that the decoder goes forwards, written at out[op..];
   * returns the end. States are kept offset by the state count (S = s + nstates, see fillEncoderTable); after
   * every two symbols the whole bytes of the accumulator go out with one 32-bit store (the bytes beyond are
   * overwritten by the next store). The four final states go to s0..s3, the padding bit count to bitsLeft.
   */
  encodeLiterals(nl: number, op: number): number {
    const { lit, litEnc, out } = this;
    const ov = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const NS = LITERAL_STATES;
    let acc = 0;
    let nb = 0;
    let s0 = NS;
    let s1 = NS;
    let s2 = NS;
    let s3 = NS;
    for (let i = nl - 4; i >= 0; i -= 4) {
      let e = lit[i + 3]! << 2;
      let k = litEnc[e + 1]! + ((s3 - litEnc[e]!) >> 31);
      acc |= (s3 & ((1 << k) - 1)) << nb;
      nb += k;
      s3 = litEnc[e + 2]! + (s3 >> k);
      e = lit[i + 2]! << 2;
      k = litEnc[e + 1]! + ((s2 - litEnc[e]!) >> 31);
      acc |= (s2 & ((1 << k) - 1)) << nb;
      nb += k;
      s2 = litEnc[e + 2]! + (s2 >> k);
      ov.setUint32(op, acc, true);
      op += nb >>> 3;
      acc >>>= nb & 24;
      nb &= 7;
      e = lit[i + 1]! << 2;
      k = litEnc[e + 1]! + ((s1 - litEnc[e]!) >> 31);
      acc |= (s1 & ((1 << k) - 1)) << nb;
      nb += k;
      s1 = litEnc[e + 2]! + (s1 >> k);
      e = lit[i]! << 2;
      k = litEnc[e + 1]! + ((s0 - litEnc[e]!) >> 31);
      acc |= (s0 & ((1 << k) - 1)) << nb;
      nb += k;
      s0 = litEnc[e + 2]! + (s0 >> k);
      ov.setUint32(op, acc, true);
      op += nb >>> 3;
      acc >>>= nb & 24;
      nb &= 7;
    }
    this.s0 = s0 - NS;
    this.s1 = s1 - NS;
    this.s2 = s2 - NS;
    this.s3 = s3 - NS;
    // Final partial byte; the header records the padding as a count in [-7, 0].
    this.bitsLeft = nb > 0 ? nb - 8 : 0;
    if (nb > 0) out[op++] = acc;
    return op;
  }

  /**
   * L, M, D at out[op..]: 8 zero bytes, then the triples from last to first (D, M, L: extra bits, then the
   * state's bits, with one shift and or); returns the end. Final states go to s0 (L), s1 (M), s2 (D), the padding bit count to bitsLeft.
   */
  encodeLmd(nm: number, op: number): number {
    const { lv, mv, dv, lSym, mSym, dSym, lEnc, mEnc, dEnc, out } = this;
    const ov = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const LB = L_BASE_VALUE;
    const LE = L_EXTRA_BITS;
    const MB = M_BASE_VALUE;
    const ME = M_EXTRA_BITS;
    const DB = D_BASE_VALUE;
    const DE = D_EXTRA_BITS;
    const LN = L_STATES;
    const MN = M_STATES;
    const DN = D_STATES;
    for (let i = 0; i < LMD_PAD_BYTES; i++) out[op++] = 0;
    let acc = 0;
    let nb = 0;
    let ls = LN;
    let ms = MN;
    let ds = DN;
    for (let i = nm - 1; i >= 0; i--) {
      let sym = dSym[i]!;
      let x = DE[sym]!;
      let e = sym << 2;
      let k = dEnc[e + 1]! + ((ds - dEnc[e]!) >> 31);
      acc |= ((dv[i]! - DB[sym]!) | ((ds & ((1 << k) - 1)) << x)) << nb;
      nb += x + k;
      ds = dEnc[e + 2]! + (ds >> k);
      ov.setUint32(op, acc, true);
      op += nb >>> 3;
      acc >>>= nb & 24;
      nb &= 7;
      sym = mSym[i]!;
      x = ME[sym]!;
      e = sym << 2;
      k = mEnc[e + 1]! + ((ms - mEnc[e]!) >> 31);
      acc |= ((mv[i]! - MB[sym]!) | ((ms & ((1 << k) - 1)) << x)) << nb;
      nb += x + k;
      ms = mEnc[e + 2]! + (ms >> k);
      ov.setUint32(op, acc, true);
      op += nb >>> 3;
      acc >>>= nb & 24;
      nb &= 7;
      sym = lSym[i]!;
      x = LE[sym]!;
      e = sym << 2;
      k = lEnc[e + 1]! + ((ls - lEnc[e]!) >> 31);
      acc |= ((lv[i]! - LB[sym]!) | ((ls & ((1 << k) - 1)) << x)) << nb;
      nb += x + k;
      ls = lEnc[e + 2]! + (ls >> k);
      ov.setUint32(op, acc, true);
      op += nb >>> 3;
      acc >>>= nb & 24;
      nb &= 7;
    }
    this.s0 = ls - LN;
    this.s1 = ms - MN;
    this.s2 = ds - DN;
    this.bitsLeft = nb > 0 ? nb - 8 : 0;
    if (nb > 0) out[op++] = acc;
    return op;
  }

  /** The bvx2 blocks of src (without the end-of-stream block). */
  encodeV2(src: Uint8Array): void {
    const n = src.length;
    this.src = src;
    this.srcView = new DataView(src.buffer, src.byteOffset, src.length);
    this.resetBlock();
    this.lastD = 1;
    // History lines of 4 entries, most recent first; all zero: position 0 (a candidate only where the tag matches,
    // and then checked against the input like any other).
    this.hash.fill(0);
    this.sPos = 0;
    this.sLit = 0;
    this.sLastD = 1;
    this.sPendLen = 0;
    const rec = this.rec;
    for (;;) {
      const nr = this.search();
      for (let i = 0; i < 4 * nr; i += 4) this.match(rec[i]!, rec[i + 1]!, rec[i + 2]!, rec[i + 3]!);
      if (nr < this.recMax || this.sPos >= this.src.length - 8) break;
    }
    this.flushBlock();
    this.src = new Uint8Array(0);
    this.srcView = new DataView(this.src.buffer);
  }

  /**
   * The match search from the saved position: records in `rec` the (litStart, pos, ref, len) of each match to
   * emit, in order (len 0: a run of literals only; at the end of the input also the pending match and the last
   * literals), and returns their number, at least recMax when it stopped because
   * `rec` is full (the state is saved in the s* fields). The loop calls nothing that V8 does not inline, so its
   * typed arrays' checks and its values stay out of memory; the triples are made by the caller.
   */
  search(): number {
    const src = this.src;
    const dv = this.srcView;
    const n = src.length;
    const ht = this.hash;
    const rec = this.rec;
    const recMax = this.recMax;
    let nr = 0;
    let litStart = this.sLit;
    let lastD = this.sLastD;
    let pendPos = this.sPendPos;
    let pendRef = this.sPendRef;
    let pendLen = this.sPendLen;
    let pendGain = this.sPendGain;
    const end = n - 8; // positions hashed: 8 bytes of margin at the end, as the reference
    let pos = this.sPos;
    for (; pos < end; pos++) {
      if (nr === recMax) break;
      const x = dv.getInt32(pos, true);
      const h = (Math.imul(x, K.HashMul) >>> K.HashShift) << 2;
      const tag = Math.imul(x, K.TagMul) & K.TagMask;
      const e0 = ht[h]!;
      const e1 = ht[h + 1]!;
      const e2 = ht[h + 2]!;
      const e3 = ht[h + 3]!;
      ht[h] = tag | (pos & K.PosMask);
      ht[h + 1] = e0;
      ht[h + 2] = e1;
      ht[h + 3] = e2;

      // The candidate of most gain among the previous distance and the up to 4 whose tag matches (each checked
      // against the input: a tag may collide, and a position is known only modulo 2^18). The four checks are
      // written out: as a loop over the line they ran 8 % more instructions per byte (callgrind, 242 vs 224).
      // Matches stop one byte before the end, so that src[pos + best] below stays in bounds (an out-of-bounds
      // read deoptimizes the function), as (e & PosMask) keeps pos − entry an int32 (an overflow does too).
      const lim = n - 1 - pos < K.MaxMatch ? n - 1 - pos : K.MaxMatch;
      let best = 0;
      let gain = -1000;
      let ref = 0;
      // The pending match seen again one byte later (same distance) cannot win against it: skipped.
      const skipD = pendLen > 0 ? pendPos - pendRef : 0;
      // The previous distance first: a repeated distance is stored as D = 0, the cheapest.
      if (pos >= lastD && lastD !== skipD && dv.getInt32(pos - lastD, true) === x) {
        const r = pos - lastD;
        best = extend(src, dv, r, pos, 4, lim);
        gain = 4 * best + K.RepGain;
        ref = r;
      }
      if (((e0 ^ tag) >>> K.PosBits) === 0) {
        const d = (pos - (e0 & K.PosMask)) & K.PosMask;
        const c = pos - d;
        if (d !== 0 && d !== skipD && d <= K.MaxD && src[c + best] === src[pos + best] && dv.getInt32(c, true) === x) {
          const l = extend(src, dv, c, pos, 4, lim);
          const g = 4 * l - (31 - Math.clz32(d));
          if (g > gain) {
            best = l;
            gain = g;
            ref = c;
          }
        }
      }
      if (((e1 ^ tag) >>> K.PosBits) === 0) {
        const d = (pos - (e1 & K.PosMask)) & K.PosMask;
        const c = pos - d;
        if (d !== 0 && d !== skipD && d <= K.MaxD && src[c + best] === src[pos + best] && dv.getInt32(c, true) === x) {
          const l = extend(src, dv, c, pos, 4, lim);
          const g = 4 * l - (31 - Math.clz32(d));
          if (g > gain) {
            best = l;
            gain = g;
            ref = c;
          }
        }
      }
      if (((e2 ^ tag) >>> K.PosBits) === 0) {
        const d = (pos - (e2 & K.PosMask)) & K.PosMask;
        const c = pos - d;
        if (d !== 0 && d !== skipD && d <= K.MaxD && src[c + best] === src[pos + best] && dv.getInt32(c, true) === x) {
          const l = extend(src, dv, c, pos, 4, lim);
          const g = 4 * l - (31 - Math.clz32(d));
          if (g > gain) {
            best = l;
            gain = g;
            ref = c;
          }
        }
      }
      if (((e3 ^ tag) >>> K.PosBits) === 0) {
        const d = (pos - (e3 & K.PosMask)) & K.PosMask;
        const c = pos - d;
        if (d !== 0 && d !== skipD && d <= K.MaxD && src[c + best] === src[pos + best] && dv.getInt32(c, true) === x) {
          const l = extend(src, dv, c, pos, 4, lim);
          const g = 4 * l - (31 - Math.clz32(d));
          if (g > gain) {
            best = l;
            gain = g;
            ref = c;
          }
        }
      }

      if (best === 0) {
        if (pendLen > 0) {
          // One-step lazy evaluation: nothing better at the next position, the pending match goes.
          litStart = record(rec, nr++, litStart, pendPos, pendRef, pendLen);
          lastD = pendPos - pendRef;
          pendLen = 0;
        } else {
          // No match here: do not let literals pile up beyond what a block can take.
          if (pos - litStart > K.LiteralFlush) {
            litStart = record(rec, nr++, litStart, litStart + K.MaxL, litStart + K.MaxL - 1, 0);
          }
          // Long stretches without a match (compressed or random data) are searched more sparsely: one position
          // in 1 + run/128 (not in the reference; measured slightly smaller and ~8 % faster on the bench mix).
          pos += (pos - litStart) >> 7;
          continue;
        }
      } else {
        // Extend backwards over the pending literals.
        let mp = pos;
        while (mp > litStart && ref > 0 && src[ref - 1] === src[mp - 1]) {
          mp--;
          ref--;
        }
        best += pos - mp;
        gain += 4 * (pos - mp);
        if (best >= K.GoodMatch) {
          litStart = record(rec, nr++, litStart, mp, ref, best);
          lastD = mp - ref;
          pendLen = 0;
        } else if (pendLen === 0) {
          pendPos = mp;
          pendRef = ref;
          pendLen = best;
          pendGain = gain;
          continue;
        } else if (pendPos + pendLen <= mp) {
          // No overlap: the pending match goes, this one waits.
          litStart = record(rec, nr++, litStart, pendPos, pendRef, pendLen);
          lastD = pendPos - pendRef;
          pendPos = mp;
          pendRef = ref;
          pendLen = best;
          pendGain = gain;
          continue;
        } else {
          // Overlap: the one of more gain goes (the later one needs LazyBonus more).
          if (gain > pendGain + K.LazyBonus) {
            litStart = record(rec, nr++, litStart, mp, ref, best);
            lastD = mp - ref;
          } else {
            litStart = record(rec, nr++, litStart, pendPos, pendRef, pendLen);
            lastD = pendPos - pendRef;
          }
          pendLen = 0;
        }
      }
      // A match was emitted: of the positions inside it (pos + 1 to litStart − 1) enter one in InsertStep of the
      // last InsertSpan, then the last InsertTail, in loops of their own.
      const stop = litStart < end ? litStart : end;
      const tail = litStart - K.InsertTail < stop ? litStart - K.InsertTail : stop;
      let q = tail - K.InsertSpan > pos + 1 ? tail - K.InsertSpan : pos + 1;
      for (; q < tail; q += K.InsertStep) {
        const y = dv.getInt32(q, true);
        const hy = (Math.imul(y, K.HashMul) >>> K.HashShift) << 2;
        const f0 = ht[hy]!;
        const f1 = ht[hy + 1]!;
        const f2 = ht[hy + 2]!;
        ht[hy] = (Math.imul(y, K.TagMul) & K.TagMask) | (q & K.PosMask);
        ht[hy + 1] = f0;
        ht[hy + 2] = f1;
        ht[hy + 3] = f2;
      }
      for (q = tail > pos + 1 ? tail : pos + 1; q < stop; q++) {
        const y = dv.getInt32(q, true);
        const hy = (Math.imul(y, K.HashMul) >>> K.HashShift) << 2;
        const f0 = ht[hy]!;
        const f1 = ht[hy + 1]!;
        const f2 = ht[hy + 2]!;
        ht[hy] = (Math.imul(y, K.TagMul) & K.TagMask) | (q & K.PosMask);
        ht[hy + 1] = f0;
        ht[hy + 2] = f1;
        ht[hy + 3] = f2;
      }
      if (litStart - 1 > pos) pos = litStart - 1;
    }
    if (pos >= end) {
      // The end of the input (rec has room for these two): the pending match, then the last literals (there are
      // always some: matches stop a byte before the end).
      if (pendLen > 0) {
        litStart = record(rec, nr++, litStart, pendPos, pendRef, pendLen);
        pendLen = 0;
      }
      if (litStart < n) litStart = record(rec, nr++, litStart, n, n - 1, 0);
    }
    this.sPos = pos;
    this.sLit = litStart;
    this.sLastD = lastD;
    this.sPendPos = pendPos;
    this.sPendRef = pendRef;
    this.sPendLen = pendLen;
    this.sPendGain = pendGain;
    return nr;
  }
}

let work: Work | null = null;

/**
 * The workspace of this thread, created on first use and then run over small samples that take the encoder's
 * paths (repeats, the previous distance, pending and overlapping matches, a stretch without matches, matches
 * longer than the longest M, full blocks and full match records through small limits, inputs ending with and
 * without a pending match), several times: V8 gives a function a feedback vector only after some calls, and code
 * compiled without feedback for a path is discarded when that path first runs. Without this the optimized code
 * of the first chunks meets paths it has never seen, is discarded and recompiled several times.
 */
function workspace(): Work {
  if (work) return work;
  const w = new Work();
  const sample = new Uint8Array(10240);
  const words = 'the of and data block chunk stream table encoder 0123456789 ';
  let s = 0x2545f491;
  // Text: runs of 3 to 10 characters from pseudo-random places of `words` (matches of many lengths, overlapping).
  for (let i = 0; i < 2048; ) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const from = (s >>> 8) % words.length;
    for (let j = 0; j < 3 + ((s >>> 4) & 7) && i < 2048; j++) sample[i++] = words.charCodeAt((from + j) % words.length);
  }
  for (let i = 2048; i < 5120; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    sample[i] = s;
  }
  sample.copyWithin(5120, 0, 1024);
  // Records of 16 bytes that differ in one byte: matches at the previous distance.
  for (let i = 6144; i < 7168; i++) sample[i] = (i & 15) === 15 ? i >> 4 : words.charCodeAt(i & 15);
  // 7168..10239 stay zero: a match longer than the longest M.
  // 64 random bytes (no match), then their first 9 again: the last searched position finds a match that is still
  // pending when the input ends.
  const noMatch = sample.subarray(2048, 2048 + 64);
  const pendingAtEnd = new Uint8Array(73);
  pendingAtEnd.set(noMatch);
  pendingAtEnd.copyWithin(64, 0, 9);
  w.blockMatches = 48;
  w.blockLiterals = 1024;
  w.recMax = 16;
  // The long sample twice (the functions it calls most get their feedback vectors during the first pass), the
  // short ones between for the functions called once per input.
  w.encodeV2(sample);
  for (let r = 0; r < 4; r++) {
    w.encodeV2(noMatch);
    w.encodeV2(pendingAtEnd);
  }
  w.encodeV2(sample);
  w.blockMatches = MATCHES_PER_BLOCK;
  w.blockLiterals = LITERALS_PER_BLOCK;
  w.recMax = REC_MAX;
  w.op = 0;
  return (work = w);
}

function encodeRaw(input: Uint8Array, w: Work): void {
  for (let at = 0; at < input.length; at += OTHER_BLOCK_BYTES) {
    const part = input.subarray(at, Math.min(input.length, at + OTHER_BLOCK_BYTES));
    w.u32(MAGIC_RAW);
    w.u32(part.length);
    w.reserve(part.length);
    w.out.set(part, w.op);
    w.op += part.length;
  }
}

function encodeBvxn(input: Uint8Array, w: Work): void {
  for (let at = 0; at < input.length; at += OTHER_BLOCK_BYTES) {
    const part = input.subarray(at, Math.min(input.length, at + OTHER_BLOCK_BYTES));
    const payload = encodeLzvn(part);
    w.u32(MAGIC_LZVN);
    w.u32(part.length);
    w.u32(payload.length);
    w.reserve(payload.length);
    w.out.set(payload, w.op);
    w.op += payload.length;
  }
}

/** Encodes `input` into the thread's workspace (w.out[0, w.op)). */
function encodeToWorkspace(input: Uint8Array, kind: LzfseBlockKind): Work {
  const w = workspace();
  w.op = 0;
  if (input.length > 0) {
    if (kind === 'bvx-') encodeRaw(input, w);
    else if (kind === 'bvxn') encodeBvxn(input, w);
    else {
      w.encodeV2(input);
      if (kind === 'auto' && input.length < LZVN_THRESHOLD) {
        const v2 = w.op;
        const payload = encodeLzvn(input);
        if (12 + payload.length < v2) {
          w.op = 0;
          encodeBvxn(input, w);
        }
      }
    }
  }
  w.u32(MAGIC_EOS);
  return w;
}

/** Encode `input` as a complete LZFSE stream ending with `bvx$`. */
export function encodeLzfse(input: Uint8Array, opts: { blockKind?: LzfseBlockKind } = {}): Uint8Array {
  const w = encodeToWorkspace(input, opts.blockKind ?? 'auto');
  return w.out.slice(0, w.op);
}

/**
 * The same stream as encodeLzfse, written to out[0..]; returns its length, or −1 (out unchanged) when it does not
 * fit. Allocates nothing per call: for a writer that reuses its output buffers (the returned array of
 * encodeLzfse, a fresh ~1/3 MiB per 1 MiB chunk, costs 2–3.5 % of the encoder's time in allocation and GC).
 */
export function encodeLzfseInto(input: Uint8Array, out: Uint8Array, opts: { blockKind?: LzfseBlockKind } = {}): number {
  const w = encodeToWorkspace(input, opts.blockKind ?? 'auto');
  if (w.op > out.length) return -1;
  out.set(w.out.subarray(0, w.op));
  return w.op;
}
