import { BitWriter, buildEncoderTable, fseEncode, normalizeFreq } from './fse-encode.js';
import { lzParse } from './lz-match.js';
import { encodeLzvn } from './lzvn-encode.js';
import {
  MAGIC_EOS, MAGIC_RAW, MAGIC_V2, MAGIC_LZVN, L_SYMBOLS, M_SYMBOLS, D_SYMBOLS, LITERAL_SYMBOLS, L_STATES, M_STATES,
  D_STATES, LITERAL_STATES, MATCHES_PER_BLOCK, LITERALS_PER_BLOCK, L_EXTRA_BITS, L_BASE_VALUE, M_EXTRA_BITS,
  M_BASE_VALUE, D_EXTRA_BITS, D_BASE_VALUE,
} from './lzfse-constants.js';

/**
 * LZFSE encoder producing spec-valid streams (block layout, limits and tables from Apple's reference
 * lzfse_internal.h / lzfse_encode_base.c; see docs/formats/adc.md § LZFSE). Made for test images and benchmark
 * data: a greedy hash-chain LZ77 (not the reference's parser), so the ratio is somewhat below Apple's.
 *
 *   bvx2  LZFSE compressed block, v2 header (packed fields + compressed frequency tables), FSE-coded literals
 *         (4 interleaved streams) and L/M/D values (base symbol + extra bits)
 *   bvxn  LZVN block                         bvx-  raw block                  bvx$  end of stream
 *
 * blockKind 'auto' (default) emits bvx2 blocks only, even for incompressible data (a few % larger): 7-Zip
 * (at least through 26.02) cannot decode bvx- blocks — its DecodeUncompressed loop never decrements the
 * remaining size — and 7-Zip is our oracle. A UDIF writer should store incompressible chunks as raw chunks.
 */
export type LzfseBlockKind = 'bvx2' | 'bvxn' | 'bvx-' | 'auto';


/** Decoder limits (reference LZFSE_MATCHES_PER_BLOCK, LZFSE_LITERALS_PER_BLOCK), with the encoder's margins. */
export const LZFSE_MATCHES_PER_BLOCK = MATCHES_PER_BLOCK;
export const LZFSE_LITERALS_PER_BLOCK = LITERALS_PER_BLOCK;
const BLOCK_MAX_MATCHES = LZFSE_MATCHES_PER_BLOCK - 9;
const BLOCK_MAX_LITERALS = LZFSE_LITERALS_PER_BLOCK - 16;
export const LZFSE_MAX_L_VALUE = 315;
export const LZFSE_MAX_M_VALUE = 2359;
export const LZFSE_MAX_D_VALUE = 262139;
/** Raw and LZVN blocks hold at most this many bytes each. */
const OTHER_BLOCK_BYTES = 1 << 20;
/** Header: magic, n_raw_bytes, 3 packed u64 fields; the frequency tables follow. */
const V2_HEADER_FIXED = 32;
const LMD_PAD_BYTES = 8;

function symbolFor(v: number, base: Int32Array): number {
  let s = base.length - 1;
  while (base[s]! > v) s--;
  return s;
}

let dSymbolTable: Uint8Array | null = null;
function dSymbol(v: number): number {
  if (!dSymbolTable) {
    dSymbolTable = new Uint8Array(LZFSE_MAX_D_VALUE + 1);
    let s = 0;
    for (let d = 0; d <= LZFSE_MAX_D_VALUE; d++) {
      while (s + 1 < D_SYMBOLS && D_BASE_VALUE[s + 1]! <= d) s++;
      dSymbolTable[d] = s;
    }
  }
  return dSymbolTable[v]!;
}

/** Encoding of a frequency value in the v2 header (fixed Huffman-like code, LSB first). */
function freqCode(v: number): [bits: number, nbits: number] {
  switch (v) {
    case 0:
      return [0, 2];
    case 1:
      return [2, 2];
    case 2:
      return [1, 3];
    case 3:
      return [5, 3];
    case 4:
      return [3, 5];
    case 5:
      return [11, 5];
    case 6:
      return [19, 5];
    case 7:
      return [27, 5];
  }
  if (v < 24) return [7 + ((v - 8) << 4), 8];
  return [15 + ((v - 24) << 4), 14];
}

class ByteOut {
  buf: Uint8Array;
  pos = 0;
  constructor(cap: number) {
    this.buf = new Uint8Array(Math.max(cap, 64));
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }
  u32le(v: number): void {
    this.ensure(4);
    const b = this.buf;
    b[this.pos++] = v & 0xff;
    b[this.pos++] = (v >>> 8) & 0xff;
    b[this.pos++] = (v >>> 16) & 0xff;
    b[this.pos++] = (v >>> 24) & 0xff;
  }
  /** Little-endian u64 from two 32-bit halves. */
  u64le(lo: number, hi: number): void {
    this.u32le(lo >>> 0);
    this.u32le(hi >>> 0);
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** L/M/D triples of the whole input (L literals, then M bytes at distance D), within the LZFSE value limits. */
interface Lmd {
  n: number;
  l: Uint32Array;
  m: Uint32Array;
  d: Uint32Array;
}

function buildLmds(input: Uint8Array): Lmd {
  const p = lzParse(input, { maxDistance: LZFSE_MAX_D_VALUE, minLength: 4, maxLength: 8 * LZFSE_MAX_M_VALUE });
  let cap = 0;
  for (let s = 0; s < p.count; s++) {
    cap += Math.floor(p.litLen[s]! / LZFSE_MAX_L_VALUE) + Math.floor(p.matchLen[s]! / LZFSE_MAX_M_VALUE) + 2;
  }
  const l = new Uint32Array(cap);
  const m = new Uint32Array(cap);
  const d = new Uint32Array(cap);
  let n = 0;
  for (let s = 0; s < p.count; s++) {
    let L = p.litLen[s]!;
    let M = p.matchLen[s]!;
    const D = p.dist[s]!;
    // Split long literal runs into literal-only triples (M = 0, D = 1 as the reference does).
    while (L > LZFSE_MAX_L_VALUE || (M === 0 && L > 0)) {
      const take = Math.min(L, LZFSE_MAX_L_VALUE);
      l[n] = take;
      m[n] = 0;
      d[n] = 1;
      n++;
      L -= take;
    }
    while (M > 0) {
      const take = Math.min(M, LZFSE_MAX_M_VALUE);
      l[n] = L;
      m[n] = take;
      d[n] = D;
      n++;
      L = 0;
      M -= take;
    }
  }
  return { n, l, m, d };
}

/**
 * Encode triples [first, end) as one bvx2 block. `rawStart` is the input offset of the block's first byte
 * (for copying literals).
 */
function encodeBvx2Block(input: Uint8Array, rawStart: number, t: Lmd, first: number, end: number, out: ByteOut): number {
  const nMatches = end - first;
  let nLit = 0;
  let rawBytes = 0;
  for (let i = first; i < end; i++) {
    nLit += t.l[i]!;
    rawBytes += t.l[i]! + t.m[i]!;
  }
  // Four interleaved streams: pad with zero literals to a multiple of 4 (and never leave the table empty).
  const nLiterals = Math.max(4, (nLit + 3) & ~3);
  const literals = new Uint8Array(nLiterals);
  {
    let ip = rawStart;
    let o = 0;
    for (let i = first; i < end; i++) {
      const L = t.l[i]!;
      literals.set(input.subarray(ip, ip + L), o);
      o += L;
      ip += L + t.m[i]!;
    }
  }
  // Values as stored: D equal to the previous D (within the block) is stored as 0.
  const lv = t.l.subarray(first, end);
  const mv = t.m.subarray(first, end);
  const dv = new Uint32Array(nMatches);
  let dPrev = 0;
  for (let i = 0; i < nMatches; i++) {
    const D = t.d[first + i]!;
    dv[i] = D === dPrev ? 0 : D;
    dPrev = D;
  }
  const lSym = new Uint8Array(nMatches);
  const mSym = new Uint8Array(nMatches);
  const dSym = new Uint8Array(nMatches);
  const lCount = new Uint32Array(L_SYMBOLS);
  const mCount = new Uint32Array(M_SYMBOLS);
  const dCount = new Uint32Array(D_SYMBOLS);
  const litCount = new Uint32Array(LITERAL_SYMBOLS);
  for (let i = 0; i < nMatches; i++) {
    lCount[(lSym[i] = symbolFor(lv[i]!, L_BASE_VALUE))]!++;
    mCount[(mSym[i] = symbolFor(mv[i]!, M_BASE_VALUE))]!++;
    dCount[(dSym[i] = dSymbol(dv[i]!))]!++;
  }
  for (let i = 0; i < nLiterals; i++) litCount[literals[i]!]!++;
  const lFreq = new Uint16Array(L_SYMBOLS);
  const mFreq = new Uint16Array(M_SYMBOLS);
  const dFreq = new Uint16Array(D_SYMBOLS);
  const litFreq = new Uint16Array(LITERAL_SYMBOLS);
  normalizeFreq(lCount, L_STATES, lFreq);
  normalizeFreq(mCount, M_STATES, mFreq);
  normalizeFreq(dCount, D_STATES, dFreq);
  normalizeFreq(litCount, LITERAL_STATES, litFreq);

  // Frequency tables, packed.
  const freqBits = new BitWriter(720);
  for (const table of [lFreq, mFreq, dFreq, litFreq]) {
    for (let i = 0; i < table.length; i++) {
      const [bits, nbits] = freqCode(table[i]!);
      freqBits.push(nbits, bits);
    }
  }
  freqBits.finish();
  const freqBytes = freqBits.bytes();
  const headerSize = V2_HEADER_FIXED + freqBytes.length;

  // Literals: encoded from the last group of four to the first, so the decoder goes forwards.
  const litTable = buildEncoderTable(LITERAL_STATES, litFreq);
  const litOut = new BitWriter(Math.ceil((nLiterals * 10) / 8) + 16);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let i = nLiterals - 4; i >= 0; i -= 4) {
    s3 = fseEncode(s3, litTable, litOut, literals[i + 3]!);
    s2 = fseEncode(s2, litTable, litOut, literals[i + 2]!);
    s1 = fseEncode(s1, litTable, litOut, literals[i + 1]!);
    s0 = fseEncode(s0, litTable, litOut, literals[i]!);
  }
  const literalBits = litOut.finish();
  const litPayload = litOut.bytes();

  // L, M, D: 8 zero bytes of padding, then the triples from last to first (D, M, L each: extra bits, state).
  const lTable = buildEncoderTable(L_STATES, lFreq);
  const mTable = buildEncoderTable(M_STATES, mFreq);
  const dTable = buildEncoderTable(D_STATES, dFreq);
  const lmdOut = new BitWriter(nMatches * 8 + 16);
  lmdOut.zeros(LMD_PAD_BYTES);
  let ls = 0;
  let ms = 0;
  let ds = 0;
  for (let i = nMatches - 1; i >= 0; i--) {
    const d = dSym[i]!;
    lmdOut.push(D_EXTRA_BITS[d]!, dv[i]! - D_BASE_VALUE[d]!);
    ds = fseEncode(ds, dTable, lmdOut, d);
    const m = mSym[i]!;
    lmdOut.push(M_EXTRA_BITS[m]!, mv[i]! - M_BASE_VALUE[m]!);
    ms = fseEncode(ms, mTable, lmdOut, m);
    const l = lSym[i]!;
    lmdOut.push(L_EXTRA_BITS[l]!, lv[i]! - L_BASE_VALUE[l]!);
    ls = fseEncode(ls, lTable, lmdOut, l);
  }
  const lmdBits = lmdOut.finish();
  const lmdPayload = lmdOut.bytes();

  // Header: packed fields as little-endian u64s, written as (low, high) 32-bit halves.
  out.u32le(MAGIC_V2);
  out.u32le(rawBytes);
  // f0: n_literals [0,20) · n_literal_payload_bytes [20,40) · n_matches [40,60) · 7 + literal_bits [60,63)
  out.u64le(nLiterals | ((litPayload.length & 0xfff) << 20), (litPayload.length >>> 12) | (nMatches << 8) | ((7 + literalBits) << 28));
  // f1: literal_state[0..3] 10 bits each [0,40) · n_lmd_payload_bytes [40,60) · 7 + lmd_bits [60,63)
  out.u64le(s0 | (s1 << 10) | ((s2 & 0x3ff) << 20) | ((s3 & 3) << 30), (s3 >>> 2) | (lmdPayload.length << 8) | ((7 + lmdBits) << 28));
  // f2: header_size [0,32) · l_state [32,42) · m_state [42,52) · d_state [52,62)
  out.u64le(headerSize, ls | (ms << 10) | (ds << 20));
  out.bytes(freqBytes);
  out.bytes(litPayload);
  out.bytes(lmdPayload);
  return rawBytes;
}

function encodeRaw(input: Uint8Array, out: ByteOut): void {
  for (let at = 0; at < input.length; at += OTHER_BLOCK_BYTES) {
    const part = input.subarray(at, Math.min(input.length, at + OTHER_BLOCK_BYTES));
    out.u32le(MAGIC_RAW);
    out.u32le(part.length);
    out.bytes(part);
  }
}

function encodeBvxn(input: Uint8Array, out: ByteOut): void {
  for (let at = 0; at < input.length; at += OTHER_BLOCK_BYTES) {
    const part = input.subarray(at, Math.min(input.length, at + OTHER_BLOCK_BYTES));
    const payload = encodeLzvn(part);
    out.u32le(MAGIC_LZVN);
    out.u32le(part.length);
    out.u32le(payload.length);
    out.bytes(payload);
  }
}

/** Encode `input` as a complete LZFSE stream ending with `bvx$`. */
export function encodeLzfse(input: Uint8Array, opts: { blockKind?: LzfseBlockKind } = {}): Uint8Array {
  const kind = opts.blockKind ?? 'auto';
  const out = new ByteOut(input.length + (input.length >> 3) + 64);
  if (kind === 'bvx-') encodeRaw(input, out);
  else if (kind === 'bvxn') encodeBvxn(input, out);
  else if (input.length > 0) {
    const t = buildLmds(input);
    let first = 0;
    let rawStart = 0;
    while (first < t.n) {
      let end = first;
      let lits = 0;
      while (end < t.n && end - first < BLOCK_MAX_MATCHES && lits + t.l[end]! <= BLOCK_MAX_LITERALS) {
        lits += t.l[end]!;
        end++;
      }
      rawStart += encodeBvx2Block(input, rawStart, t, first, end, out);
      first = end;
    }
  }
  out.u32le(MAGIC_EOS);
  return out.result();
}
