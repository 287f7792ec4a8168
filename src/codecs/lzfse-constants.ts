/**
 * LZFSE format constants shared by the decoder (lzfse.ts) and the encoder (lzfse-encode.ts), from Apple's
 * reference lzfse_internal.h: block magics, alphabet sizes, FSE state counts, per-block limits, and the L/M/D
 * value tables (an FSE-coded base symbol plus raw extra bits).
 */
export const MAGIC_EOS = 0x24787662; // 'bvx$'
export const MAGIC_RAW = 0x2d787662; // 'bvx-'
export const MAGIC_V1 = 0x31787662; // 'bvx1'
export const MAGIC_V2 = 0x32787662; // 'bvx2'
export const MAGIC_LZVN = 0x6e787662; // 'bvxn'

export const L_SYMBOLS = 20;
export const M_SYMBOLS = 20;
export const D_SYMBOLS = 64;
export const LITERAL_SYMBOLS = 256;
export const L_STATES = 64;
export const M_STATES = 64;
export const D_STATES = 256;
export const LITERAL_STATES = 1024;

/** Decoder limits per compressed block (LZFSE_MATCHES_PER_BLOCK, LZFSE_LITERALS_PER_BLOCK). */
export const MATCHES_PER_BLOCK = 10000;
export const LITERALS_PER_BLOCK = 4 * MATCHES_PER_BLOCK;

export const L_EXTRA_BITS = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 5, 8]);
export const L_BASE_VALUE = new Int32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 28, 60]);
export const M_EXTRA_BITS = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 8, 11]);
export const M_BASE_VALUE = new Int32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 24, 56, 312]);
/** D symbols come in 16 groups of four; group g has g extra bits; bases accumulate (0, 1, 2, 3, 4, 6, 8, …). */
export const D_EXTRA_BITS = new Uint8Array(D_SYMBOLS);
export const D_BASE_VALUE = new Int32Array(D_SYMBOLS);
{
  let base = 0;
  for (let s = 0; s < D_SYMBOLS; s++) {
    const bits = s >>> 2;
    D_EXTRA_BITS[s] = bits;
    D_BASE_VALUE[s] = base;
    base += 1 << bits;
  }
}
