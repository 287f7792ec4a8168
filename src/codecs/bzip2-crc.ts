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
