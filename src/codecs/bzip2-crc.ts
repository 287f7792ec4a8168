/** CRC-32/BZIP2 (MSB-first, polynomial 0x04C11DB7) byte table, shared by the bzip2 decoder and encoder. */
export const BZIP2_CRC_TABLE: Int32Array = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[n] = c;
  }
  return t;
})();

/** BZIP2_CRC_TABLE extended for slicing by 8: table k (at k*256) maps a byte followed by k zero bytes. */
const SLICE8: Int32Array = (() => {
  const t = new Int32Array(8 * 256);
  t.set(BZIP2_CRC_TABLE);
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const p = t[(k - 1) * 256 + n];
      t[k * 256 + n] = (p << 8) ^ BZIP2_CRC_TABLE[p >>> 24];
    }
  }
  return t;
})();

/**
 * Runs the CRC-32/BZIP2 register `crc` (not inverted) over data[start..end), eight bytes a step (slicing by 8:
 * eight independent table loads instead of a chain of eight), and returns the new register.
 */
export function bzip2CrcUpdate(crc: number, data: Uint8Array, start: number, end: number): number {
  const S = SLICE8;
  let c = crc;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ ((data[i] << 24) | (data[i + 1] << 16) | (data[i + 2] << 8) | data[i + 3]);
    c =
      S[0x700 + (a >>> 24)] ^
      S[0x600 + ((a >>> 16) & 0xff)] ^
      S[0x500 + ((a >>> 8) & 0xff)] ^
      S[0x400 + (a & 0xff)] ^
      S[0x300 + data[i + 4]] ^
      S[0x200 + data[i + 5]] ^
      S[0x100 + data[i + 6]] ^
      S[data[i + 7]];
  }
  for (; i < end; i++) c = (c << 8) ^ S[(c >>> 24) ^ data[i]];
  return c;
}
