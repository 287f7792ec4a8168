import { corrupt } from './errors.js';
import { buildSymbolTable, buildValueTable } from './fse.js';
import { copyMatch, lzvnDecodeBlock } from './lzvn.js';
import type { Codec } from './types.js';
import {
  MAGIC_EOS, MAGIC_RAW, MAGIC_V1, MAGIC_V2, MAGIC_LZVN, L_SYMBOLS, M_SYMBOLS, D_SYMBOLS, LITERAL_SYMBOLS, L_STATES,
  M_STATES, D_STATES, LITERAL_STATES, MATCHES_PER_BLOCK, LITERALS_PER_BLOCK, L_EXTRA_BITS, L_BASE_VALUE,
  M_EXTRA_BITS, M_BASE_VALUE, D_EXTRA_BITS, D_BASE_VALUE,
} from './lzfse-constants.js';

/**
 * LZFSE decoder (Apple's LZ77 + Finite State Entropy codec; UDIF chunk type 0x80000007, HFS+ decmpfs 11/12).
 * Format facts: Apple's open-source lzfse (lzfse_internal.h, lzfse_decode_base.c, lzfse_fse.h); notes in
 * docs/formats/lzfse.md.
 *
 * A stream is a sequence of blocks, each starting with a 4-byte little-endian magic, ending with `bvx$`:
 *   `bvx-` raw bytes, `bvxn` an LZVN stream, `bvx1` / `bvx2` LZFSE-compressed (v1: plain header, v2: packed header
 *   with compressed frequency tables). Matches may reach back into the output of earlier blocks.
 *
 * Decoding is synchronous and uses module-level scratch tables (built per block, never reallocated).
 */

const CODEC = 'lzfse';

// Block magics (little-endian u32 of the ASCII tags).

// Common block header fields.
const HDR_MAGIC = 0;
const HDR_N_RAW_BYTES = 4;
// bvx- : magic, n_raw_bytes, then the raw bytes.
const RAW_HEADER_SIZE = 8;
// bvxn : magic, n_raw_bytes, n_payload_bytes, then the LZVN payload.
const LZVN_N_PAYLOAD_BYTES = 8;
const LZVN_HEADER_SIZE = 12;
// bvx2 : magic, n_raw_bytes, three packed little-endian u64 fields, then the compressed frequency tables.
const V2_PACKED0 = 8;
const V2_PACKED1 = 16;
const V2_PACKED2 = 24;
const V2_FREQ = 32;
// bvx1 : the C struct lzfse_compressed_block_header_v1 (4-byte aligned, 770 bytes of fields padded to 772).
const V1_N_LITERALS = 12;
const V1_N_MATCHES = 16;
const V1_N_LITERAL_PAYLOAD_BYTES = 20;
const V1_N_LMD_PAYLOAD_BYTES = 24;
const V1_LITERAL_BITS = 28;
const V1_LITERAL_STATE = 32; // 4 x u16
const V1_LMD_BITS = 40;
const V1_L_STATE = 44;
const V1_M_STATE = 46;
const V1_D_STATE = 48;
const V1_FREQ = 50; // l_freq[20], m_freq[20], d_freq[64], literal_freq[256], u16 each
const V1_HEADER_SIZE = 772;

// Offsets of each table inside the concatenated frequency array (the order they are stored in).
const FREQ_L = 0;
const FREQ_M = FREQ_L + L_SYMBOLS;
const FREQ_D = FREQ_M + M_SYMBOLS;
const FREQ_LITERAL = FREQ_D + D_SYMBOLS;
const FREQ_COUNT = FREQ_LITERAL + LITERAL_SYMBOLS;

// v2 frequency-table code: a fixed prefix code read LSB first, indexed by the low 5 bits.
// nbits 8: value 8 + bits 4..7; nbits 14: value 24 + bits 4..13.
const FREQ_NBITS = new Uint8Array([
  2, 3, 2, 5, 2, 3, 2, 8, 2, 3, 2, 5, 2, 3, 2, 14, 2, 3, 2, 5, 2, 3, 2, 8, 2, 3, 2, 5, 2, 3, 2, 14,
]);
const FREQ_VALUE = new Uint8Array([
  0, 2, 1, 4, 0, 3, 1, 0, 0, 2, 1, 5, 0, 3, 1, 0, 0, 2, 1, 6, 0, 3, 1, 0, 0, 2, 1, 7, 0, 3, 1, 0,
]);

// Module-level scratch, reused by every call (decoding is synchronous).
const freq = new Uint16Array(FREQ_COUNT);
const literalTable = new Int32Array(LITERAL_STATES);
const lTable = new Int32Array(L_STATES);
const lBase = new Int32Array(L_STATES);
const mTable = new Int32Array(M_STATES);
const mBase = new Int32Array(M_STATES);
const dTable = new Int32Array(D_STATES);
const dBase = new Int32Array(D_STATES);
const literals = new Uint8Array(LITERALS_PER_BLOCK + 64); // + slop for 8-byte copies
const literalsView = new DataView(literals.buffer);

// The decoded compressed-block header (v1 and v2 both land here).
let hNLiterals = 0;
let hNMatches = 0;
let hNLiteralPayload = 0;
let hNLmdPayload = 0;
let hLiteralBits = 0;
let hLmdBits = 0;
let hLitState0 = 0;
let hLitState1 = 0;
let hLitState2 = 0;
let hLitState3 = 0;
let hLState = 0;
let hMState = 0;
let hDState = 0;

function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
function u16le(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

/**
 * Decodes one LZFSE stream (any mix of `bvx2`, `bvx1`, `bvxn`, `bvx-` blocks up to `bvx$`) and fills `output`
 * exactly. Bytes after `bvx$` are ignored. Malformed input, a block running past `output`, or a stream ending
 * short of `output.length` throw CORRUPT_CHUNK naming the input byte position.
 */
export function decodeLzfse(input: Uint8Array, output: Uint8Array): void {
  const inLen = input.length;
  const outLen = output.length;
  let pos = 0;
  let o = 0;
  // Bounded: every block consumes at least 4 input bytes or throws.
  for (;;) {
    if (pos + 4 > inLen) throw corrupt(CODEC, 'input ends before the end-of-stream block (bvx$)', pos);
    const magic = u32le(input, pos + HDR_MAGIC);
    if (magic === MAGIC_EOS) {
      if (o !== outLen) throw corrupt(CODEC, `stream decoded to ${o} bytes, expected ${outLen}`, pos);
      return;
    }
    if (pos + 8 > inLen) throw corrupt(CODEC, 'block header truncated', pos);
    const nRaw = u32le(input, pos + HDR_N_RAW_BYTES);
    if (magic !== MAGIC_RAW && magic !== MAGIC_LZVN && magic !== MAGIC_V1 && magic !== MAGIC_V2) {
      throw corrupt(CODEC, `bad block magic 0x${magic.toString(16).padStart(8, '0')}`, pos);
    }
    if (nRaw > outLen - o) {
      throw corrupt(CODEC, `block of ${nRaw} bytes runs past the end of the output (${outLen - o} bytes left)`, pos);
    }
    if (magic === MAGIC_RAW) {
      const start = pos + RAW_HEADER_SIZE;
      if (nRaw > inLen - start) throw corrupt(CODEC, `raw block of ${nRaw} bytes truncated`, pos);
      if (nRaw <= 64) {
        for (let i = 0; i < nRaw; i++) output[o + i] = input[start + i];
      } else {
        output.set(input.subarray(start, start + nRaw), o);
      }
      o += nRaw;
      pos = start + nRaw;
    } else if (magic === MAGIC_LZVN) {
      if (pos + LZVN_HEADER_SIZE > inLen) throw corrupt(CODEC, 'bvxn block header truncated', pos);
      const nPayload = u32le(input, pos + LZVN_N_PAYLOAD_BYTES);
      const start = pos + LZVN_HEADER_SIZE;
      if (nPayload > inLen - start) throw corrupt(CODEC, `bvxn payload of ${nPayload} bytes truncated`, pos);
      const n = lzvnDecodeBlock(input, start, start + nPayload, output, o, o + nRaw, true);
      if (n !== nRaw) throw corrupt(CODEC, `bvxn block decoded to ${n} bytes, header says ${nRaw}`, pos);
      o += nRaw;
      pos = start + nPayload;
    } else {
      pos = decodeCompressedBlock(input, pos, magic === MAGIC_V2, output, o, nRaw);
      o += nRaw;
    }
  }
}

export const lzfseCodec: Codec = { name: 'lzfse', decode: decodeLzfse };

/** Decodes a `bvx1`/`bvx2` block at `pos` producing exactly `nRaw` bytes at `output[o..)`; returns the next block's position. */
function decodeCompressedBlock(
  input: Uint8Array,
  pos: number,
  v2: boolean,
  output: Uint8Array,
  o: number,
  nRaw: number,
): number {
  const headerSize = v2 ? readV2Header(input, pos) : readV1Header(input, pos);
  if (hNLiterals > LITERALS_PER_BLOCK) throw corrupt(CODEC, `block has ${hNLiterals} literals (max 40000)`, pos);
  if (hNMatches > MATCHES_PER_BLOCK) throw corrupt(CODEC, `block has ${hNMatches} matches (max 10000)`, pos);
  if (hLitState0 >= LITERAL_STATES || hLitState1 >= LITERAL_STATES || hLitState2 >= LITERAL_STATES || hLitState3 >= LITERAL_STATES) {
    throw corrupt(CODEC, 'literal FSE state out of range', pos);
  }
  if (hLState >= L_STATES || hMState >= M_STATES || hDState >= D_STATES) {
    throw corrupt(CODEC, `L/M/D FSE state out of range (${hLState}, ${hMState}, ${hDState})`, pos);
  }
  if (hLiteralBits < -8 || hLiteralBits > 0 || hLmdBits < -8 || hLmdBits > 0) {
    throw corrupt(CODEC, 'initial bit count out of range', pos);
  }
  const litStart = pos + headerSize;
  const lmdStart = litStart + hNLiteralPayload;
  const lmdEnd = lmdStart + hNLmdPayload;
  // + 4: the bvx$ (or next block) that must follow; the bit readers load 32-bit words that may reach into it.
  if (lmdEnd + 4 > input.length) {
    throw corrupt(CODEC, `compressed block payload truncated (needs ${lmdEnd + 4 - pos} bytes with the next block magic)`, pos);
  }
  const view = new DataView(input.buffer, input.byteOffset, input.length);

  // Literals come in 4 interleaved FSE streams, so their count is rounded up to a multiple of 4.
  const nLiterals = (hNLiterals + 3) & ~3;
  if (nLiterals !== 0) {
    if (!buildSymbolTable(LITERAL_STATES, freq, FREQ_LITERAL, LITERAL_SYMBOLS, literalTable)) {
      throw corrupt(CODEC, 'literal frequency table does not sum to 1024', pos);
    }
    decodeLiterals(input, view, litStart, lmdStart, nLiterals);
  }
  if (hNMatches !== 0) {
    if (
      !buildValueTable(L_STATES, freq, FREQ_L, L_SYMBOLS, L_EXTRA_BITS, L_BASE_VALUE, lTable, lBase) ||
      !buildValueTable(M_STATES, freq, FREQ_M, M_SYMBOLS, M_EXTRA_BITS, M_BASE_VALUE, mTable, mBase) ||
      !buildValueTable(D_STATES, freq, FREQ_D, D_SYMBOLS, D_EXTRA_BITS, D_BASE_VALUE, dTable, dBase)
    ) {
      throw corrupt(CODEC, 'L/M/D frequency table does not sum to its state count', pos);
    }
  }
  const end = decodeLmd(input, view, lmdStart, lmdEnd, nLiterals, output, o, o + nRaw);
  if (end !== o + nRaw) throw corrupt(CODEC, `block decoded to ${end - o} bytes, header says ${nRaw}`, pos);
  return lmdEnd;
}

/** Reads a `bvx2` header at `pos` into the h* fields and `freq`; returns its size. */
function readV2Header(input: Uint8Array, pos: number): number {
  if (pos + V2_FREQ > input.length) throw corrupt(CODEC, 'bvx2 header truncated', pos);
  const lo0 = u32le(input, pos + V2_PACKED0);
  const hi0 = u32le(input, pos + V2_PACKED0 + 4);
  const lo1 = u32le(input, pos + V2_PACKED1);
  const hi1 = u32le(input, pos + V2_PACKED1 + 4);
  const lo2 = u32le(input, pos + V2_PACKED2);
  const hi2 = u32le(input, pos + V2_PACKED2 + 4);
  // packed0: n_literals:20, n_literal_payload_bytes:20, n_matches:20, literal_bits+7:3
  hNLiterals = lo0 & 0xfffff;
  hNLiteralPayload = (lo0 >>> 20) | ((hi0 & 0xff) << 12);
  hNMatches = (hi0 >>> 8) & 0xfffff;
  hLiteralBits = ((hi0 >>> 28) & 7) - 7;
  // packed1: literal_state[4]:10 each, n_lmd_payload_bytes:20, lmd_bits+7:3
  hLitState0 = lo1 & 0x3ff;
  hLitState1 = (lo1 >>> 10) & 0x3ff;
  hLitState2 = (lo1 >>> 20) & 0x3ff;
  hLitState3 = (lo1 >>> 30) | ((hi1 & 0xff) << 2);
  hNLmdPayload = (hi1 >>> 8) & 0xfffff;
  hLmdBits = ((hi1 >>> 28) & 7) - 7;
  // packed2: header_size:32, l_state:10, m_state:10, d_state:10
  const headerSize = lo2;
  hLState = hi2 & 0x3ff;
  hMState = (hi2 >>> 10) & 0x3ff;
  hDState = (hi2 >>> 20) & 0x3ff;
  if (headerSize < V2_FREQ) throw corrupt(CODEC, `bvx2 header size ${headerSize} is too small`, pos);
  if (headerSize > input.length - pos) throw corrupt(CODEC, `bvx2 header of ${headerSize} bytes truncated`, pos);

  // Frequency tables: absent (all zero) when the header ends right after the packed fields.
  const end = pos + headerSize;
  let p = pos + V2_FREQ;
  if (p === end) {
    freq.fill(0);
    return headerSize;
  }
  let accum = 0;
  let accumBits = 0;
  for (let i = 0; i < FREQ_COUNT; i++) {
    while (p < end && accumBits <= 24) {
      accum |= input[p++] << accumBits;
      accumBits += 8;
    }
    const b = accum & 31;
    const n = FREQ_NBITS[b];
    if (n > accumBits) throw corrupt(CODEC, 'bvx2 frequency tables truncated', p);
    let v: number;
    if (n === 8) v = 8 + ((accum >>> 4) & 0xf);
    else if (n === 14) v = 24 + ((accum >>> 4) & 0x3ff);
    else v = FREQ_VALUE[b];
    freq[i] = v;
    accum >>>= n;
    accumBits -= n;
  }
  if (accumBits >= 8 || p !== end) throw corrupt(CODEC, 'bvx2 frequency tables do not end at the header end', p);
  return headerSize;
}

/** Reads a `bvx1` header at `pos` into the h* fields and `freq`; returns its size. */
function readV1Header(input: Uint8Array, pos: number): number {
  if (pos + V1_HEADER_SIZE > input.length) throw corrupt(CODEC, 'bvx1 header truncated', pos);
  hNLiterals = u32le(input, pos + V1_N_LITERALS);
  hNMatches = u32le(input, pos + V1_N_MATCHES);
  hNLiteralPayload = u32le(input, pos + V1_N_LITERAL_PAYLOAD_BYTES);
  hNLmdPayload = u32le(input, pos + V1_N_LMD_PAYLOAD_BYTES);
  hLiteralBits = u32le(input, pos + V1_LITERAL_BITS) | 0;
  hLitState0 = u16le(input, pos + V1_LITERAL_STATE);
  hLitState1 = u16le(input, pos + V1_LITERAL_STATE + 2);
  hLitState2 = u16le(input, pos + V1_LITERAL_STATE + 4);
  hLitState3 = u16le(input, pos + V1_LITERAL_STATE + 6);
  hLmdBits = u32le(input, pos + V1_LMD_BITS) | 0;
  hLState = u16le(input, pos + V1_L_STATE);
  hMState = u16le(input, pos + V1_M_STATE);
  hDState = u16le(input, pos + V1_D_STATE);
  for (let i = 0; i < FREQ_COUNT; i++) freq[i] = u16le(input, pos + V1_FREQ + 2 * i);
  if (hNLiteralPayload > input.length || hNLmdPayload > input.length) {
    throw corrupt(CODEC, 'bvx1 payload sizes exceed the input', pos);
  }
  return V1_HEADER_SIZE;
}

/*
 * The FSE bit streams are read backwards: the payload [start, end) is one little-endian bit string whose top
 * (-initialBits) bits (0..8, all zero) are padding; values are pulled from the most significant end down.
 * The reader keeps only a bit position `pos` (relative to `start`): pulling n <= 23 bits moves pos down by n and
 * reads them from the 32-bit little-endian word at byte start + (pos >> 3) (n + (pos & 7) <= 30 bits).
 *  - The word may extend up to 3 bytes past `end`: the caller guarantees 4 more input bytes (a valid stream has at
 *    least the 4-byte bvx$ after every block).
 *  - pos < 0 means bits before the payload were consumed: the payload is too short, corrupt. It is checked after
 *    each group of pulls (4 literals: <= 40 bits, one L/M/D triplet: <= 54 bits), so reads never start more than
 *    7 bytes before `start`, which is inside the block header.
 */

/** The initial bit position of a backward stream over [start, end) whose top -initialBits bits are padding. */
function initialBitPos(src: Uint8Array, start: number, end: number, initialBits: number, what: string): number {
  const pad = -initialBits;
  if (end > start) {
    if (src[end - 1] >>> (8 - pad) !== 0) throw corrupt(CODEC, `${what} stream padding bits are not zero`, end - 1);
  } else if (pad !== 0) {
    throw corrupt(CODEC, `${what} stream is empty`, start);
  }
  return (end - start) * 8 - pad;
}

/** Decodes `n` literals (a multiple of 4) from 4 interleaved FSE states into `literals`. */
function decodeLiterals(src: Uint8Array, view: DataView, start: number, end: number, n: number): void {
  const table = literalTable;
  const out = literals;
  let pos = initialBitPos(src, start, end, hLiteralBits, 'literal');
  let s0 = hLitState0;
  let s1 = hLitState1;
  let s2 = hLitState2;
  let s3 = hLitState3;
  let e = 0;
  let k = 0;
  for (let i = 0; i < n; i += 4) {
    e = table[s0];
    k = e & 0xff;
    pos -= k;
    s0 = (e >>> 16) + ((view.getUint32(start + (pos >> 3), true) >>> (pos & 7)) & ((1 << k) - 1));
    out[i] = e >>> 8;
    e = table[s1];
    k = e & 0xff;
    pos -= k;
    s1 = (e >>> 16) + ((view.getUint32(start + (pos >> 3), true) >>> (pos & 7)) & ((1 << k) - 1));
    out[i + 1] = e >>> 8;
    e = table[s2];
    k = e & 0xff;
    pos -= k;
    s2 = (e >>> 16) + ((view.getUint32(start + (pos >> 3), true) >>> (pos & 7)) & ((1 << k) - 1));
    out[i + 2] = e >>> 8;
    e = table[s3];
    k = e & 0xff;
    pos -= k;
    s3 = (e >>> 16) + ((view.getUint32(start + (pos >> 3), true) >>> (pos & 7)) & ((1 << k) - 1));
    out[i + 3] = e >>> 8;
    if (pos < 0) throw corrupt(CODEC, 'literal stream truncated', start);
  }
}

/**
 * Decodes the block's L, M, D triplets and executes them: L literals from `literals`, then a match of M bytes
 * from D back (D = 0 repeats the previous distance). Writes `out[o..blockEnd)`; returns the final position.
 */
function decodeLmd(
  src: Uint8Array,
  view: DataView,
  start: number,
  end: number,
  nLiterals: number,
  out: Uint8Array,
  o: number,
  blockEnd: number,
): number {
  const lt = lTable;
  const lb = lBase;
  const mt = mTable;
  const mb = mBase;
  const dt = dTable;
  const db = dBase;
  const lits = literals;
  const lv = literalsView;
  const ov = new DataView(out.buffer, out.byteOffset, out.length);
  const outLen = out.length;
  let pos = initialBitPos(src, start, end, hLmdBits, 'L/M/D');
  let ls = hLState;
  let ms = hMState;
  let ds = hDState;
  let lp = 0; // next literal
  let D = -1; // previous distance; -1 = none yet
  let e = 0;
  let tb = 0;
  let vb = 0;
  let bits = 0;
  for (let n = hNMatches; n > 0; n--) {
    // L (<= 14 bits), M (<= 17 bits), D (<= 23 bits): state bits above extra bits in one pull each.
    e = lt[ls];
    tb = e & 0xff;
    vb = (e >>> 8) & 0xff;
    pos -= tb;
    bits = (view.getUint32(start + (pos >> 3), true) >>> (pos & 7)) & ((1 << tb) - 1);
    const L = lb[ls] + (bits & ((1 << vb) - 1));
    ls = (e >>> 16) + (bits >>> vb);
    e = mt[ms];
    tb = e & 0xff;
    vb = (e >>> 8) & 0xff;
    pos -= tb;
    bits = (view.getUint32(start + (pos >> 3), true) >>> (pos & 7)) & ((1 << tb) - 1);
    const M = mb[ms] + (bits & ((1 << vb) - 1));
    ms = (e >>> 16) + (bits >>> vb);
    e = dt[ds];
    tb = e & 0xff;
    vb = (e >>> 8) & 0xff;
    pos -= tb;
    bits = (view.getUint32(start + (pos >> 3), true) >>> (pos & 7)) & ((1 << tb) - 1);
    const newD = db[ds] + (bits & ((1 << vb) - 1));
    ds = (e >>> 16) + (bits >>> vb);
    if (pos < 0) throw corrupt(CODEC, 'L/M/D stream truncated', start);
    if (newD !== 0) D = newD;

    if (L > nLiterals - lp) throw corrupt(CODEC, `literal run of ${L} bytes runs past the block's literals`, start);
    if (L + M > blockEnd - o) throw corrupt(CODEC, `literal + match of ${L + M} bytes run past the block end`, start);
    if (o + L + M + 16 <= outLen) {
      // Plenty of room: copy 8 bytes at a time; the last step may write up to 7 bytes past the literal or match,
      // into output that a later triplet or block overwrites.
      for (let i = 0; i < L; i += 8) {
        ov.setUint32(o + i, lv.getUint32(lp + i, true), true);
        ov.setUint32(o + i + 4, lv.getUint32(lp + i + 4, true), true);
      }
      o += L;
      lp += L;
      if (M !== 0) {
        if (D <= 0 || D > o) throw badDistance(D, o, start);
        const from = o - D;
        if (D >= 8) {
          for (let i = 0; i < M; i += 8) {
            ov.setUint32(o + i, ov.getUint32(from + i, true), true);
            ov.setUint32(o + i + 4, ov.getUint32(from + i + 4, true), true);
          }
        } else if (M <= 64) {
          for (let i = 0; i < M; i++) out[o + i] = out[from + i];
        } else {
          copyMatch(out, o, D, M);
        }
        o += M;
      }
    } else {
      for (let i = 0; i < L; i++) out[o + i] = lits[lp + i];
      o += L;
      lp += L;
      if (M !== 0) {
        if (D <= 0 || D > o) throw badDistance(D, o, start);
        copyMatch(out, o, D, M);
        o += M;
      }
    }
  }
  return o;
}

function badDistance(D: number, o: number, pos: number): Error {
  return corrupt(CODEC, `match distance ${D} points before the start of the output (${o} bytes written)`, pos);
}

/**
 * Warm-up. V8 optimizes the decode loops during the first chunk, before the paths that first run late in a chunk
 * (the careful copies near the output end, short-period matches, LZVN blocks) have any type feedback; each such
 * path then deoptimizes the loop and it is compiled again (5 times per process measured, on a background thread
 * that competes with decoding). Decoding one small stream of each block kind when the module loads runs every
 * path once in the interpreter first. The streams (503 bytes of text, zeros, short-period runs and random bytes)
 * are our encoder's output; a failure here would be a bug, and is ignored.
 */
const WARM_BVX2 = [
  'YnZ4MvcBAACEAEAGAAYAAKkCxaSBEwAAyQAAADSAoArASwAAAAA3NzcAAADAzfU1z8NPwE8AAPATAAAAwE8AAAAAAAAAAABwB3cA',
  'BwccAMABHABwwAH8BwcAAAd3Bwd3AADAHQBwAHAAHAAcwAHcAdwdADwBB0/AG/A2cHDIIQeHh4f33P8B9wcHBweHBwdwcAAHABzA',
  'AQAHB8ABABwAHAAccMABABwAAAccAMAhAAfAAXDAAXAABxwCAAAHwCFwcMjBAcABwMEBAAAQUCkcH+M84MBzfsfuKmGYbvhPBEZn',
  'HlCtCwFLqsePVaTPeF3zyKNzA81kHLcagvpFvGXd2S3wqk4ggoNXBWcR/Z7cJR1IWUeH0KEvzYHICzlFiG4T1XCkciQb4MDNh1rj',
  'AAAAAAAAAAAAMFgV7OPJ/dhMVAFidngk',
].join('');
const WARM_BVXN = [
  'YnZ4bvcBAACiAAAA4CF3YXJtLXVwIHNhbXBsZTogdGhlIGRlY29kZXIgc2VlcyBldmVyeSBwYXRoIG9uY2UuOCLwB8gBISAA8LPI',
  'A3h5ev7OYWJj8EPgNtOnUH9WVpbx6LJnyf4J83PazWTw8Yidw+wrEpJHLCupS8MDeyp+/1sdG5Giq4IVLmNcU9eLavk63Fu8AwgL',
  '9Lp0QtzsatE5wvAJ42VuZAYAAAAAAAAAYnZ4JA==',
].join('');
const WARM_SIZE = 503;
/** V8 allocates a function's feedback vector only after several calls: the first runs collect no feedback. */
const WARM_RUNS = 10;

function base64(s: string): Uint8Array {
  const b = atob(s);
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out;
}

/** Runs the warm-up; returns whether its streams decoded (they must: checked by the tests). */
export function lzfseWarmUp(): boolean {
  try {
    const out = new Uint8Array(WARM_SIZE);
    const bvx2 = base64(WARM_BVX2);
    const bvxn = base64(WARM_BVXN);
    for (let i = 0; i < WARM_RUNS; i++) {
      decodeLzfse(bvx2, out);
      decodeLzfse(bvxn, out);
    }
  } catch {
    // a bug in the constants above; decoding works without the warm-up
    return false;
  }
  return true;
}
lzfseWarmUp();
