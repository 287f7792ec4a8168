/** Deterministic sample data for codec tests and benchmarks (seeded PRNG, no dependency). */

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an ' +
  'they you were her all she there would their we him been has when who will more no if out so said what up ' +
  'volume catalog extent btree node record file folder partition sector chunk block compressed image apple'
).split(' ');

export function textData(n: number, seed = 1): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  let i = 0;
  while (i < n) {
    const w = WORDS[Math.floor(r() * WORDS.length)]!;
    for (let k = 0; k < w.length && i < n; k++) out[i++] = w.charCodeAt(k);
    if (i < n) out[i++] = r() < 0.08 ? 0x0a : 0x20;
  }
  return out;
}

export function repetitiveData(n: number, seed = 1): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  const period = 1 + Math.floor(r() * 40);
  for (let i = 0; i < Math.min(period, n); i++) out[i] = Math.floor(r() * 256);
  for (let i = period; i < n; i++) out[i] = r() < 0.001 ? Math.floor(r() * 256) : out[i - period]!;
  return out;
}

/**
 * Realistic mixed data like a disk image: text, little-endian records, zero runs, random (already compressed)
 * stretches, and copies of earlier data at short and far distances (up to ~300 KiB back).
 */
export function mixedData(n: number, seed = 1): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  const text = textData(Math.min(n, 65536), seed + 1);
  let i = 0;
  while (i < n) {
    const kind = r();
    const len = Math.min(n - i, 16 + Math.floor(r() * 2000));
    if (kind < 0.3) {
      const at = Math.floor(r() * (text.length - len > 0 ? text.length - len : 1));
      out.set(text.subarray(at, at + Math.min(len, text.length - at)), i);
      i += Math.min(len, text.length - at);
    } else if (kind < 0.45) {
      let v = Math.floor(r() * 1e6);
      for (let k = 0; k + 4 <= len; k += 4, v += 1 + Math.floor(r() * 3)) {
        out[i + k] = v & 0xff;
        out[i + k + 1] = (v >>> 8) & 0xff;
        out[i + k + 2] = (v >>> 16) & 0xff;
      }
      i += len;
    } else if (kind < 0.55) {
      i += len; // zeros
    } else if (kind < 0.7) {
      for (let k = 0; k < len; k++) out[i + k] = Math.floor(r() * 256);
      i += len;
    } else if (i > 64) {
      const far = r() < 0.2;
      const back = 1 + Math.floor(r() * Math.min(i - 1, far ? 300_000 : 4096));
      for (let k = 0; k < len; k++) out[i + k] = out[i + k - back]!;
      i += len;
    } else {
      out[i++] = 0x41;
    }
  }
  return out;
}

/** Copy of `d` zero-padded to a multiple of 512 bytes (UDIF chunks decode to whole sectors). */
export function padToSector(d: Uint8Array): Uint8Array {
  const n = Math.ceil(d.length / 512) * 512;
  if (n === d.length) return d;
  const out = new Uint8Array(n);
  out.set(d);
  return out;
}

/**
 * Deterministic data of a given shape for codec property tests (xorshift, seeded): 0 random bytes, 1 a repeated
 * pattern (period up to `maxPeriod`), 2 runs of random lengths (bzip2 RLE1 and RUNA/RUNB), 3 text from a small
 * vocabulary, 4 a three-letter alphabet, 5 mixed random / text / zero regions (LZMA2 compressed and stored chunks).
 */
export function shapedData(kind: number, size: number, seed: number, maxPeriod = 300): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed | 1;
  const rnd = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  switch (kind) {
    case 0:
      for (let i = 0; i < size; i++) out[i] = rnd() & 0xff;
      break;
    case 1: {
      const period = 1 + (rnd() % maxPeriod);
      for (let i = 0; i < size; i++) out[i] = i < period ? rnd() & 0xff : out[i - period];
      break;
    }
    case 2: {
      let i = 0;
      while (i < size) {
        const b = rnd() & 0xff;
        const n = Math.min(size - i, 1 + (rnd() % 700));
        out.fill(b, i, i + n);
        i += n;
      }
      break;
    }
    case 3: {
      const words = ['the ', 'disk ', 'image ', 'block ', 'HFS+ ', 'partition\n', 'a ', 'codec ', 'of ', 'chunk, '];
      let i = 0;
      while (i < size) {
        const w = words[rnd() % words.length];
        for (let k = 0; k < w.length && i < size; k++) out[i++] = w.charCodeAt(k);
      }
      break;
    }
    case 4:
      for (let i = 0; i < size; i++) out[i] = 0x41 + (rnd() % 3);
      break;
    default: {
      let i = 0;
      while (i < size) {
        const n = Math.min(size - i, 1 + (rnd() % 40_000));
        const k = rnd() % 3;
        if (k === 0) for (let j = 0; j < n; j++) out[i + j] = rnd() & 0xff;
        else if (k === 1) for (let j = 0; j < n; j++) out[i + j] = 0x61 + ((j * 7 + (j >> 4)) % 26);
        i += n;
      }
    }
  }
  return out;
}
