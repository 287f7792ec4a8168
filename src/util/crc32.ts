/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), slicing-by-8, incremental. */

const TABLES: Uint32Array = (() => {
  const t = new Uint32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  return t;
})();

/** Continues a CRC-32: pass the previous result (0 to start). Returns the unsigned CRC. */
export function crc32(data: Uint8Array, previous = 0, start = 0, end = data.length): number {
  const T = TABLES;
  let c = ~previous >>> 0;
  let i = start;
  const end8 = start + ((end - start) & ~7);
  while (i < end8) {
    const a = (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) ^ c;
    const b = data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24);
    c =
      T[1792 + (a & 0xff)] ^
      T[1536 + ((a >>> 8) & 0xff)] ^
      T[1280 + ((a >>> 16) & 0xff)] ^
      T[1024 + (a >>> 24)] ^
      T[768 + (b & 0xff)] ^
      T[512 + ((b >>> 8) & 0xff)] ^
      T[256 + ((b >>> 16) & 0xff)] ^
      T[b >>> 24];
    i += 8;
  }
  while (i < end) c = T[(c ^ data[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const POLY = 0xedb88320;

/** a(x)·b(x) mod P over GF(2), in the reflected bit order CRC-32 uses. */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** X2N[k] = x^(2^k) mod P. */
const X2N: Uint32Array = (() => {
  const t = new Uint32Array(64);
  let p = 0x40000000; // x^1
  t[0] = p;
  for (let k = 1; k < 64; k++) t[k] = p = multModP(p, p);
  return t;
})();

/** x^(8·n) mod P: the operator that appends n zero bytes. */
function zeroOperator(n: number): number {
  let p = 0x80000000; // x^0
  let k = 3;
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k & 63], p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** CRC-32 continued over `count` zero bytes, in O(log count) (zero-fill chunks of any size cost nothing). */
export function crc32Zeros(count: number, previous = 0): number {
  if (count <= 0) return previous >>> 0;
  return ~multModP(zeroOperator(count), ~previous >>> 0) >>> 0;
}

/** The CRC-32 of A‖B from crc(A), crc(B) and B's length (zlib's crc32_combine), in O(log lengthB). */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multModP(zeroOperator(lengthB), crcA >>> 0) ^ crcB) >>> 0;
}
