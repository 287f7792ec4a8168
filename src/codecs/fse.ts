/**
 * Finite State Entropy (tANS) decoding tables for LZFSE, built from a normalized frequency table.
 * Format facts: Apple's open-source lzfse, lzfse_fse.h / lzfse_fse.c; see docs/formats/lzfse.md.
 *
 * For a table of N states (a power of two) and a symbol s with frequency f > 0, let k = clz32(f) - clz32(N)
 * (so N <= f << k < 2N) and j0 = (2N >> k) - f. The symbol owns f consecutive states (in symbol order); its j-th
 * state reads k bits and goes to ((f + j) << k) - N + bits when j < j0, else reads k - 1 bits and goes to
 * ((j - j0) << (k - 1)) + bits. When the frequencies sum to exactly N, every next state is < N.
 */

/**
 * Fills `table[0..nstates)` for a symbol (literal) decoder. Entry layout: bits 0-7 the number of state bits to
 * read, bits 8-15 the symbol, bits 16-31 the next-state base. Returns false (table untouched) unless the
 * frequencies `freq[freqOff..freqOff+nsymbols)` sum to exactly `nstates`.
 */
export function buildSymbolTable(
  nstates: number,
  freq: Uint16Array,
  freqOff: number,
  nsymbols: number,
  table: Int32Array,
): boolean {
  if (sumFreq(freq, freqOff, nsymbols) !== nstates) return false;
  const nClz = Math.clz32(nstates);
  let t = 0;
  for (let sym = 0; sym < nsymbols; sym++) {
    const f = freq[freqOff + sym];
    if (f === 0) continue;
    const k = Math.clz32(f) - nClz;
    const j0 = ((2 * nstates) >>> k) - f;
    for (let j = 0; j < f; j++) {
      if (j < j0) table[t++] = k | (sym << 8) | ((((f + j) << k) - nstates) << 16);
      else table[t++] = (k - 1) | (sym << 8) | (((j - j0) << (k - 1)) << 16);
    }
  }
  return true;
}

/**
 * Fills `table[0..nstates)` and `vbase[0..nstates)` for a value decoder (L, M, D): each symbol stands for a base
 * value plus `extraBits[sym]` raw bits read together with the state bits. Entry layout: bits 0-7 total bits to
 * read (state bits + extra bits), bits 8-15 extra bits, bits 16-31 next-state base; `vbase[state]` is the
 * symbol's base value. Returns false unless the frequencies sum to exactly `nstates`.
 */
export function buildValueTable(
  nstates: number,
  freq: Uint16Array,
  freqOff: number,
  nsymbols: number,
  extraBits: Uint8Array,
  baseValue: Int32Array,
  table: Int32Array,
  vbase: Int32Array,
): boolean {
  if (sumFreq(freq, freqOff, nsymbols) !== nstates) return false;
  const nClz = Math.clz32(nstates);
  let t = 0;
  for (let sym = 0; sym < nsymbols; sym++) {
    const f = freq[freqOff + sym];
    if (f === 0) continue;
    const k = Math.clz32(f) - nClz;
    const j0 = ((2 * nstates) >>> k) - f;
    const vb = extraBits[sym];
    const base = baseValue[sym];
    for (let j = 0; j < f; j++) {
      if (j < j0) table[t] = (k + vb) | (vb << 8) | ((((f + j) << k) - nstates) << 16);
      else table[t] = (k - 1 + vb) | (vb << 8) | (((j - j0) << (k - 1)) << 16);
      vbase[t++] = base;
    }
  }
  return true;
}

function sumFreq(freq: Uint16Array, off: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += freq[off + i];
  return s;
}
