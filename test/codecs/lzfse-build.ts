/**
 * Test-only LZFSE stream builder, written from the format description (Apple lzfse: lzfse_internal.h for the
 * headers and L/M/D tables, lzfse_fse.c for the tANS encoder table): it turns an explicit list of literal/match
 * triplets into `bvx2` blocks, and a tiny greedy matcher turns arbitrary data into such triplets.
 *
 * Its output is checked against 7-Zip's independent LZFSE decoder in lzfse.test.ts; dmgkit's decoder is never
 * used to make an expected value. Deliberately simple (bit arrays, no speed tricks).
 */

export interface Triplet {
  /** Literal bytes emitted before the match. */
  lit: Uint8Array;
  /** Match length (0 allowed) and distance (>= 1, reaching no further back than the output start). */
  m: number;
  d: number;
}

const L_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 5, 8];
const L_BASE = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 28, 60];
const M_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 8, 11];
const M_BASE = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 24, 56, 312];
const D_EXTRA: number[] = [];
const D_BASE: number[] = [];
for (let s = 0, base = 0; s < 64; s++) {
  D_EXTRA.push(s >> 2);
  D_BASE.push(base);
  base += 1 << (s >> 2);
}
export const MAX_L = 315;
export const MAX_M = 2359;
export const MAX_D = 262139;
export const MAX_MATCHES = 10000;
export const MAX_LITERALS = 40000;

function symbolOf(v: number, base: number[], extra: number[]): number {
  let s = base.length - 1;
  while (base[s]! > v) s--;
  if (v - base[s]! >= 1 << extra[s]!) throw new Error(`value ${v} not representable`);
  return s;
}

/** Random-ish valid normalized table: every symbol in `used` gets >= 1 state, the rest split at random. */
function normalize(counts: number[], nstates: number, rand: () => number): number[] {
  const f = counts.map((c): number => (c > 0 ? 1 : 0));
  let left = nstates - f.reduce((a, b) => a + b, 0);
  if (left < 0) throw new Error('too many symbols');
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) {
    f[0] = nstates; // an unused but valid table
    return f;
  }
  // proportional share, then the remainder to random used symbols (or, sometimes, to unused ones)
  for (let s = 0; s < f.length && left > 0; s++) {
    const share = Math.min(left, Math.floor((counts[s]! / total) * (nstates - 1) * rand()));
    f[s]! += share;
    left -= share;
  }
  while (left > 0) {
    const s = Math.floor(rand() * f.length);
    if (counts[s]! > 0 || rand() < 0.1) {
      f[s]! += 1;
      left--;
    }
  }
  return f;
}

class Encoder {
  private s0: number[] = [];
  private k: number[] = [];
  private delta0: number[] = [];
  private delta1: number[] = [];
  constructor(freq: number[], nstates: number) {
    let offset = 0;
    const nClz = Math.clz32(nstates);
    for (let sym = 0; sym < freq.length; sym++) {
      const f = freq[sym]!;
      if (f === 0) continue;
      const k = Math.clz32(f) - nClz;
      this.s0[sym] = (f << k) - nstates;
      this.k[sym] = k;
      this.delta0[sym] = offset - f + (nstates >> k);
      this.delta1[sym] = k > 0 ? offset - f + (nstates >> (k - 1)) : 0;
      offset += f;
    }
  }
  /** Encodes `sym` from `state`: pushes the low state bits, returns the new state. */
  encode(state: number, sym: number, bits: number[]): number {
    const hi = state >= this.s0[sym]!;
    const n = hi ? this.k[sym]! : this.k[sym]! - 1;
    push(bits, state & ((1 << n) - 1), n);
    return (hi ? this.delta0[sym]! : this.delta1[sym]!) + (state >> n);
  }
}

function push(bits: number[], v: number, n: number): void {
  for (let i = 0; i < n; i++) bits.push((v >>> i) & 1);
}
function pack(bits: number[]): { bytes: number[]; pad: number } {
  const bytes = new Array<number>(Math.ceil(bits.length / 8)).fill(0);
  bits.forEach((b, i) => (bytes[i >> 3]! |= b << (i & 7)));
  return { bytes, pad: bytes.length * 8 - bits.length };
}

function freqCode(v: number): [number, number] {
  if (v < 2) return [v << 1, 2];
  if (v < 4) return [((v - 2) << 2) | 1, 3];
  if (v < 8) return [((v - 4) << 3) | 3, 5];
  if (v < 24) return [((v - 8) << 4) | 7, 8];
  return [((v - 24) << 4) | 15, 14];
}

const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const u64 = (v: bigint): number[] => [...u32(Number(v & 0xffffffffn)), ...u32(Number(v >> 32n))];

/**
 * One `bvx2` block for `triplets` (at most 10000 of them, at most 40000 literal bytes). `rand` shapes the
 * frequency tables (any valid table encodes correctly; random ones exercise more decoder paths).
 */
export function bvx2Block(triplets: Triplet[], rand: () => number = Math.random): Uint8Array {
  if (triplets.length > MAX_MATCHES) throw new Error('too many matches');
  const lits: number[] = [];
  let nRaw = 0;
  for (const t of triplets) {
    if (t.lit.length > MAX_L || t.m > MAX_M || t.d < 1 || t.d > MAX_D) throw new Error('triplet out of range');
    lits.push(...t.lit);
    nRaw += t.lit.length + t.m;
  }
  while (lits.length % 4) lits.push(0);
  if (lits.length > MAX_LITERALS) throw new Error('too many literals');

  // D values equal to the previous one are sent as 0 ("repeat").
  let prev = 0;
  const dv = triplets.map((t) => {
    const r = t.d === prev ? 0 : t.d;
    prev = t.d;
    return r;
  });
  const lSym = triplets.map((t) => symbolOf(t.lit.length, L_BASE, L_EXTRA));
  const mSym = triplets.map((t) => symbolOf(t.m, M_BASE, M_EXTRA));
  const dSym = dv.map((d) => symbolOf(d, D_BASE, D_EXTRA));
  const count = (syms: number[], n: number): number[] => {
    const c = new Array<number>(n).fill(0);
    for (const s of syms) c[s]!++;
    return c;
  };
  const lFreq = normalize(count(lSym, 20), 64, rand);
  const mFreq = normalize(count(mSym, 20), 64, rand);
  const dFreq = normalize(count(dSym, 64), 256, rand);
  const litFreq = normalize(count(lits, 256), 1024, rand);

  // Literals: 4 interleaved states, encoded last-to-first so they decode first-to-last.
  const litEnc = new Encoder(litFreq, 1024);
  const st = [0, 0, 0, 0];
  const litBits: number[] = [];
  for (let i = lits.length - 4; i >= 0; i -= 4) {
    for (let j = 3; j >= 0; j--) st[j] = litEnc.encode(st[j]!, lits[i + j]!, litBits);
  }
  const litPacked = pack(litBits);

  // L, M, D: 8 zero bytes first, then triplets last-to-first; each value's extra bits go below its state bits.
  const lEnc = new Encoder(lFreq, 64);
  const mEnc = new Encoder(mFreq, 64);
  const dEnc = new Encoder(dFreq, 256);
  const lmdBits: number[] = new Array<number>(64).fill(0);
  let ls = 0;
  let ms = 0;
  let ds = 0;
  for (let i = triplets.length - 1; i >= 0; i--) {
    push(lmdBits, dv[i]! - D_BASE[dSym[i]!]!, D_EXTRA[dSym[i]!]!);
    ds = dEnc.encode(ds, dSym[i]!, lmdBits);
    push(lmdBits, triplets[i]!.m - M_BASE[mSym[i]!]!, M_EXTRA[mSym[i]!]!);
    ms = mEnc.encode(ms, mSym[i]!, lmdBits);
    push(lmdBits, triplets[i]!.lit.length - L_BASE[lSym[i]!]!, L_EXTRA[lSym[i]!]!);
    ls = lEnc.encode(ls, lSym[i]!, lmdBits);
  }
  const lmdPacked = pack(lmdBits);

  const freqBits: number[] = [];
  for (const v of [...lFreq, ...mFreq, ...dFreq, ...litFreq]) {
    const [code, n] = freqCode(v);
    push(freqBits, code, n);
  }
  const freqBytes = pack(freqBits).bytes;
  const f = (v: number, at: number): bigint => BigInt(v) << BigInt(at);
  const p0 = f(lits.length, 0) | f(litPacked.bytes.length, 20) | f(triplets.length, 40) | f(7 - litPacked.pad, 60);
  const p1 =
    f(st[0]!, 0) | f(st[1]!, 10) | f(st[2]!, 20) | f(st[3]!, 30) | f(lmdPacked.bytes.length, 40) | f(7 - lmdPacked.pad, 60);
  const p2 = f(32 + freqBytes.length, 0) | f(ls, 32) | f(ms, 42) | f(ds, 52);
  return Uint8Array.from([
    0x62, 0x76, 0x78, 0x32, // 'bvx2'
    ...u32(nRaw),
    ...u64(p0),
    ...u64(p1),
    ...u64(p2),
    ...freqBytes,
    ...litPacked.bytes,
    ...lmdPacked.bytes,
  ]);
}

/** An LZVN `bvxn` block of `n` bytes of `byte` (sml_d literal + distance 1, then repeated match-only opcodes). */
export function lzvnRunBlock(n: number, byte: number): Uint8Array {
  const ops: number[] = [];
  if (n > 0) {
    if (n < 4) {
      ops.push(0xe0 | n, ...new Array<number>(n).fill(byte)); // sml_l
    } else {
      ops.push(0x40, 0x01, byte); // sml_d L=1 M=3 D=1
      let left = n - 4;
      while (left > 0) {
        const m = Math.min(left, 271);
        if (m >= 16) ops.push(0xf0, m - 16);
        else ops.push(0xf0 | m);
        left -= m;
      }
    }
  }
  ops.push(0x06, 0, 0, 0, 0, 0, 0, 0);
  return Uint8Array.from([0x62, 0x76, 0x78, 0x6e, ...u32(n), ...u32(ops.length), ...ops]); // 'bvxn'
}

export const EOS_BLOCK = Uint8Array.from([0x62, 0x76, 0x78, 0x24]); // 'bvx$'

/** Applies triplets to `out` byte by byte (the LZ77 meaning), starting at `pos`; returns the new position. */
export function applyTriplets(out: Uint8Array, pos: number, triplets: Triplet[]): number {
  for (const t of triplets) {
    out.set(t.lit, pos);
    pos += t.lit.length;
    for (let i = 0; i < t.m; i++, pos++) out[pos] = out[pos - t.d]!;
  }
  return pos;
}

/**
 * Greedy LZ77 parse of `data` into blocks of triplets within the LZFSE limits (hash of 4 bytes, one candidate
 * per hash, matches of >= 4 bytes); the last triplet of the data carries the trailing literals with m = 0.
 */
export function greedyParse(data: Uint8Array, maxD = MAX_D): Triplet[][] {
  const blocks: Triplet[][] = [];
  let cur: Triplet[] = [];
  let curLits = 0;
  const head = new Int32Array(1 << 16).fill(-1);
  const hash = (i: number): number =>
    (Math.imul(data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24), 2654435761) >>> 16) & 0xffff;
  let litStart = 0;
  let i = 0;
  let lastD = 1;
  const emit = (end: number, m: number, d: number): void => {
    // split long literal runs: a literal-only triplet (m = 0) reuses the last distance
    while (end - litStart > MAX_L) {
      addTriplet({ lit: data.subarray(litStart, litStart + MAX_L), m: 0, d: lastD });
      litStart += MAX_L;
    }
    addTriplet({ lit: data.subarray(litStart, end), m, d });
    if (m > 0) lastD = d;
  };
  const addTriplet = (t: Triplet): void => {
    if (cur.length + 1 > MAX_MATCHES || curLits + t.lit.length + 4 > MAX_LITERALS) {
      blocks.push(cur);
      cur = [];
      curLits = 0;
    }
    cur.push(t);
    curLits += t.lit.length;
  };
  while (i + 4 <= data.length) {
    const h = hash(i);
    const cand = head[h]!;
    head[h] = i;
    if (cand >= 0 && i - cand <= maxD) {
      let m = 0;
      while (i + m < data.length && m < MAX_M && data[cand + m] === data[i + m]) m++;
      if (m >= 4) {
        emit(i, m, i - cand);
        for (let k = 1; k < m && i + k + 4 <= data.length; k += 1) head[hash(i + k)] = i + k;
        i += m;
        litStart = i;
        continue;
      }
    }
    i++;
  }
  if (litStart < data.length) emit(data.length, 0, lastD);
  if (cur.length) blocks.push(cur);
  return blocks;
}

/** Largest distance an LZVN opcode can carry (lrg_d: 16 bits). */
export const LZVN_MAX_D = 65535;

/** The first byte of an opcode the decoder would read as a literal+match form (sml_d, pre_d, lrg_d, med_d). */
function lzvnMatchOpValid(op: number, kind: 'sml' | 'pre' | 'lrg' | 'med'): boolean {
  if (kind === 'med') return op >= 0xa0 && op < 0xc0;
  if ((op >= 0x70 && op < 0x80) || (op >= 0xa0 && op < 0xc0) || op >= 0xd0) return false;
  const low3 = op & 7;
  if (kind === 'sml') return low3 < 6;
  if (kind === 'pre') return low3 === 6 && op >= 0x40;
  return low3 === 7;
}

/**
 * LZVN encoding of triplets (test-only): literals ride along in the match opcode (0-3 bytes) when that opcode
 * form exists, otherwise go out as sml_l / lrg_l; the match takes sml_d / med_d / lrg_d / pre_d by distance, and
 * the rest of a long match goes out as lrg_m / sml_m. Matches of 1-2 bytes need the previous distance. Ends with
 * the end-of-stream opcode and 7 zero bytes.
 */
export function lzvnEncode(triplets: Triplet[]): Uint8Array {
  const out: number[] = [];
  let prevD = 0;
  const literalOps = (lit: Uint8Array): void => {
    let i = 0;
    while (i < lit.length) {
      const n = Math.min(lit.length - i, 271);
      if (n >= 16) out.push(0xe0, n - 16);
      else out.push(0xe0 | n);
      out.push(...lit.subarray(i, i + n));
      i += n;
    }
  };
  const matchOnly = (m: number): void => {
    while (m > 0) {
      const n = Math.min(m, 271);
      if (n >= 16) out.push(0xf0, n - 16);
      else out.push(0xf0 | n);
      m -= n;
    }
  };
  for (const t of triplets) {
    if (t.m === 0) {
      literalOps(t.lit);
      continue;
    }
    if (t.d < 1 || t.d > LZVN_MAX_D) throw new Error('distance out of LZVN range');
    const lit = t.lit;
    const m = t.m;
    if (m < 3) {
      if (t.d !== prevD) throw new Error('short match needs the previous distance');
      literalOps(lit);
      matchOnly(m);
      continue;
    }
    // Try to carry up to 3 literal bytes in the match opcode.
    const carry = Math.min(lit.length, 3);
    const head = lit.subarray(0, lit.length - carry);
    const tail = lit.subarray(lit.length - carry);
    const tryOp = (L: number): number[] | null => {
      const d = t.d;
      if (d === prevD && L > 0) {
        const mm = Math.min(m, 10);
        const op = (L << 6) | ((mm - 3) << 3) | 6;
        if (lzvnMatchOpValid(op, 'pre')) return [mm, op];
      }
      if (d < 1536) {
        const mm = Math.min(m, 10);
        const op = (L << 6) | ((mm - 3) << 3) | (d >> 8);
        if (lzvnMatchOpValid(op, 'sml')) return [mm, op, d & 0xff];
      }
      if (d < 16384) {
        const mm = Math.min(m, 34);
        const f = mm - 3;
        const op = 0xa0 | (L << 3) | (f >> 2);
        const w = (d << 2) | (f & 3);
        return [mm, op, w & 0xff, w >> 8];
      }
      const mm = Math.min(m, 10);
      const op = (L << 6) | ((mm - 3) << 3) | 7;
      if (lzvnMatchOpValid(op, 'lrg')) return [mm, op, d & 0xff, d >> 8];
      return null;
    };
    let enc = tryOp(carry);
    let L = carry;
    if (!enc) {
      enc = tryOp(0)!;
      L = 0;
    }
    literalOps(L === carry ? head : lit);
    const [mm, ...opBytes] = enc;
    out.push(...opBytes);
    if (L > 0) out.push(...tail);
    prevD = t.d;
    matchOnly(m - mm!);
  }
  out.push(0x06, 0, 0, 0, 0, 0, 0, 0);
  return Uint8Array.from(out);
}

/** A `bvxn` block holding `payload` (an LZVN stream) that decodes to `nRaw` bytes. */
export function bvxnBlock(nRaw: number, payload: Uint8Array): Uint8Array {
  return Uint8Array.from([0x62, 0x76, 0x78, 0x6e, ...u32(nRaw), ...u32(payload.length), ...payload]);
}
