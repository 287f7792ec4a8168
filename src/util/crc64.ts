/**
 * CRC-64/XZ (ECMA-182 polynomial, reflected: 0xC96C5795D7870F42, init and xorout all ones), as used by the
 * .xz check type 4. The 64-bit register is kept as two uint32 halves; slicing-by-8 tables.
 */

const POLY_HI = 0xc96c5795;
const POLY_LO = 0xd7870f42;

/** T[k*256 + n] = CRC of byte n followed by k zero bytes; separate hi/lo halves. */
const [THI, TLO] = ((): [Uint32Array, Uint32Array] => {
  const hi = new Uint32Array(256 * 8);
  const lo = new Uint32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let h = 0;
    let l = n;
    for (let k = 0; k < 8; k++) {
      if (l & 1) {
        l = ((l >>> 1) | ((h & 1) << 31)) ^ POLY_LO;
        h = (h >>> 1) ^ POLY_HI;
      } else {
        l = (l >>> 1) | ((h & 1) << 31);
        h = h >>> 1;
      }
    }
    hi[n] = h >>> 0;
    lo[n] = l >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let h = hi[n];
    let l = lo[n];
    for (let k = 1; k < 8; k++) {
      const idx = l & 0xff;
      l = (((l >>> 8) | (h << 24)) ^ lo[idx]) >>> 0;
      h = ((h >>> 8) ^ hi[idx]) >>> 0;
      hi[k * 256 + n] = h;
      lo[k * 256 + n] = l;
    }
  }
  return [hi, lo];
})();

/**
 * Continues a CRC-64/XZ over data[start, end). `prev` is a previous result as [hi, lo] (omit to start).
 * Returns [hi, lo] of the finished CRC (unsigned 32-bit halves).
 */
export function crc64(data: Uint8Array, prev: readonly [number, number] = [0, 0], start = 0, end = data.length): [number, number] {
  let h = ~prev[0] >>> 0;
  let l = ~prev[1] >>> 0;
  const H = THI;
  const L = TLO;
  let i = start;
  const end8 = start + ((end - start) & ~7);
  while (i < end8) {
    const x = l ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    const y = h ^ (data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24));
    const a = x & 0xff;
    const b = (x >>> 8) & 0xff;
    const c = (x >>> 16) & 0xff;
    const d = x >>> 24;
    const e = y & 0xff;
    const f = (y >>> 8) & 0xff;
    const g = (y >>> 16) & 0xff;
    const k = y >>> 24;
    l = L[1792 + a] ^ L[1536 + b] ^ L[1280 + c] ^ L[1024 + d] ^ L[768 + e] ^ L[512 + f] ^ L[256 + g] ^ L[k];
    h = H[1792 + a] ^ H[1536 + b] ^ H[1280 + c] ^ H[1024 + d] ^ H[768 + e] ^ H[512 + f] ^ H[256 + g] ^ H[k];
    i += 8;
  }
  while (i < end) {
    const idx = (l ^ data[i++]) & 0xff;
    l = ((l >>> 8) | (h << 24)) ^ L[idx];
    h = (h >>> 8) ^ H[idx];
  }
  return [~h >>> 0, ~l >>> 0];
}
