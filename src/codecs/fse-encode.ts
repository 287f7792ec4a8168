import { DmgkitError } from '../errors.js';

/**
 * Encoder side of LZFSE's finite-state entropy coder (tANS), after the format of Apple's reference
 * lzfse_fse.h/.c (see docs/formats/lzfse.md): normalized frequency tables and per-symbol encoder entries. The
 * bit output itself is inlined in lzfse-encode.ts (LSB-first, written forwards, read backwards by the decoder).
 */

/**
 * Normalize symbol counts to frequencies summing to exactly `nstates` (a power of two): each count scaled and
 * rounded to the nearest integer, every symbol that occurs getting at least 1. A small excess or shortfall goes to
 * the most frequent symbol; a larger excess (many rare symbols rounded up to 1) is taken from all symbols above 1,
 * in proportion first (1/8, 1/4, 1/2 of their share) then one by one. Requires the number of distinct symbols
 * ≤ nstates and at least one count > 0.
 */
export function normalizeFreq(counts: Uint32Array, nstates: number, freq: Uint16Array): void {
  const nsym = freq.length;
  let total = 0;
  for (let i = 0; i < nsym; i++) total += counts[i]!;
  if (total === 0) throw new DmgkitError('INVALID_ARGUMENT', 'FSE normalization: no symbols to encode');
  const scale = nstates / total;
  let remaining = nstates;
  let maxF = 0;
  let maxSym = 0;
  for (let i = 0; i < nsym; i++) {
    const c = counts[i]!;
    let f = c === 0 ? 0 : Math.floor(c * scale + 0.5);
    if (f === 0 && c !== 0) f = 1;
    freq[i] = f;
    remaining -= f;
    if (f > maxF) {
      maxF = f;
      maxSym = i;
    }
  }
  if (remaining >= 0 || -remaining < maxF >> 2) {
    freq[maxSym] = maxF + remaining;
    return;
  }
  let over = -remaining;
  for (let shift = 3; shift >= 0 && over > 0; shift--) {
    for (let i = 0; i < nsym && over > 0; i++) {
      const f = freq[i]!;
      if (f <= 1) continue;
      const n = Math.min(over, (f - 1) >> shift);
      freq[i] = f - n;
      over -= n;
    }
  }
  if (over > 0) throw new DmgkitError('INVALID_ARGUMENT', `FSE normalization: more symbols than ${nstates} states`);
}

/**
 * Per-symbol encoder entries packed 4 per symbol into `t`, for an encoder that keeps its state offset by the state
 * count, S = s + nstates (the reference's fse_init_encoder_table holds s0, k, delta0, delta1 for s itself):
 *
 *   t[0] = s0 + nstates, where s0 = (f << k) − nstates     t[1] = k     t[2] = offset − f + nstates     t[3] = 0
 *
 * Encoding `sym` from S: nb = k − (S < t[0] ? 1 : 0), computed without a branch as k + ((S − t[0]) >> 31); write
 * the low nb bits of S (those of s); next S = t[2] + (S >> nb). This is the reference's next state,
 * (s < s0 ? delta1 : delta0) + (s >> nb) + nstates, since delta0/1 = offset − f + (nstates >> nb) and nstates is
 * a multiple of 2^nb (k ≤ log2 nstates).
 */
export function fillEncoderTable(nstates: number, freq: Uint16Array, t: Int32Array): void {
  const nClz = Math.clz32(nstates);
  let offset = 0;
  for (let i = 0; i < freq.length; i++) {
    const f = freq[i]!;
    const e = i << 2;
    if (f === 0) {
      t[e] = t[e + 1] = t[e + 2] = t[e + 3] = 0;
      continue;
    }
    const k = Math.clz32(f) - nClz; // nstates <= f << k < 2 * nstates
    t[e] = f << k;
    t[e + 1] = k;
    t[e + 2] = offset - f + nstates;
    t[e + 3] = 0;
    offset += f;
  }
}
