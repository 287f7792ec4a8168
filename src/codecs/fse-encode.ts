import { DmgkitError } from '../errors.js';

/**
 * Encoder side of LZFSE's finite-state entropy coder (tANS), after the format of Apple's reference
 * lzfse_fse.h/.c (see docs/formats/adc.md § LZFSE): normalized frequency tables, per-symbol encoder entries,
 * and a forward LSB-first bit writer whose output the decoder reads backwards.
 */

/** Forward bit writer: bits are appended LSB first; bytes are emitted as soon as they are full. */
export class BitWriter {
  buf: Uint8Array;
  pos = 0;
  private accum = 0;
  private nbits = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(capacity, 16));
  }
  /** Append the low `n` (0..24) bits of `v`. */
  push(n: number, v: number): void {
    if (n === 0) return;
    this.accum |= v << this.nbits;
    this.nbits += n;
    while (this.nbits >= 8) {
      if (this.pos >= this.buf.length) this.grow();
      this.buf[this.pos++] = this.accum & 0xff;
      this.accum >>>= 8;
      this.nbits -= 8;
    }
  }
  /** Append whole zero bytes (must be byte aligned). */
  zeros(n: number): void {
    for (let i = 0; i < n; i++) this.push(8, 0);
  }
  /**
   * Flush the last partial byte (zero padded). Returns the reference's `accum_nbits` after finish: minus the
   * number of padding bits, in [-7, 0].
   */
  finish(): number {
    if (this.nbits === 0) return 0;
    const pad = 8 - this.nbits;
    if (this.pos >= this.buf.length) this.grow();
    this.buf[this.pos++] = this.accum & 0xff;
    this.accum = 0;
    this.nbits = 0;
    return -pad;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
  private grow(): void {
    const b = new Uint8Array(this.buf.length * 2);
    b.set(this.buf);
    this.buf = b;
  }
}

/**
 * Normalize symbol counts to frequencies summing to exactly `nstates` (a power of two), every symbol that
 * occurs getting at least 1. Requires the number of distinct symbols ≤ nstates and at least one count > 0.
 */
export function normalizeFreq(counts: Uint32Array, nstates: number, freq: Uint16Array): void {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) throw new DmgkitError('INVALID_ARGUMENT', 'FSE normalization: no symbols to encode');
  let sum = 0;
  let largest = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c === 0) {
      freq[i] = 0;
      continue;
    }
    const f = Math.max(1, Math.floor((c * nstates) / total));
    freq[i] = f;
    sum += f;
    if (c > counts[largest]!) largest = i;
  }
  // Give the rounding remainder to the most frequent symbol; take any excess from the largest frequencies.
  if (sum < nstates) {
    freq[largest] = freq[largest]! + (nstates - sum);
  }
  while (sum > nstates) {
    let j = 0;
    for (let i = 1; i < freq.length; i++) if (freq[i]! > freq[j]!) j = i;
    const take = Math.min(sum - nstates, freq[j]! - 1);
    if (take <= 0) throw new DmgkitError('INVALID_ARGUMENT', `FSE normalization: more symbols than ${nstates} states`);
    freq[j] = freq[j]! - take;
    sum -= take;
  }
}

/** Per-symbol encoder entries: s0, k, delta0, delta1 (as in the reference fse_init_encoder_table). */
export interface FseEncoderTable {
  s0: Int32Array;
  k: Int32Array;
  delta0: Int32Array;
  delta1: Int32Array;
}

export function buildEncoderTable(nstates: number, freq: Uint16Array): FseEncoderTable {
  const n = freq.length;
  const t: FseEncoderTable = { s0: new Int32Array(n), k: new Int32Array(n), delta0: new Int32Array(n), delta1: new Int32Array(n) };
  const nClz = Math.clz32(nstates);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const f = freq[i]!;
    if (f === 0) continue;
    const k = Math.clz32(f) - nClz; // nstates <= f << k < 2 * nstates
    t.s0[i] = (f << k) - nstates;
    t.k[i] = k;
    t.delta0[i] = offset - f + (nstates >> k);
    t.delta1[i] = k > 0 ? offset - f + (nstates >> (k - 1)) : 0;
    offset += f;
  }
  return t;
}

/** Encode `symbol` from `state`: writes the state's low bits and returns the next state. */
export function fseEncode(state: number, t: FseEncoderTable, out: BitWriter, symbol: number): number {
  const k = t.k[symbol]!;
  if (state >= t.s0[symbol]!) {
    out.push(k, state & ((1 << k) - 1));
    return t.delta0[symbol]! + (state >> k);
  }
  const nb = k - 1;
  out.push(nb, state & ((1 << nb) - 1));
  return t.delta1[symbol]! + (state >> nb);
}
