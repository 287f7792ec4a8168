/**
 * Greedy LZ77 parse with hash chains, shared by the ADC, LZVN and LZFSE encoders. It finds, left to right,
 * the longest match (within `maxDistance` and `maxLength`, at least `minLength` bytes, probing at most
 * `chainDepth` earlier positions with the same 3-byte hash) and records the parse as sequences:
 * `litLen[i]` literal bytes, then a match of `matchLen[i]` bytes at distance `dist[i]`. The last sequence
 * may have matchLen 0 (trailing literals). Encoders split sequences further to fit their opcodes.
 */
export interface LzParse {
  count: number;
  litLen: Uint32Array;
  matchLen: Uint32Array;
  dist: Uint32Array;
}

export interface LzParams {
  maxDistance: number;
  minLength: number;
  maxLength: number;
  chainDepth?: number;
}

const HASH_BITS = 16;
const HASH_SIZE = 1 << HASH_BITS;
const NO_POS = -1;

function hash3(b: Uint8Array, i: number): number {
  return (Math.imul((b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!, 0x9e3779b1) >>> (32 - HASH_BITS));
}

export function lzParse(input: Uint8Array, params: LzParams): LzParse {
  const n = input.length;
  const { maxDistance, minLength, maxLength } = params;
  const chainDepth = params.chainDepth ?? 16;
  // At most one match per minLength bytes, plus the trailing literal sequence.
  const cap = Math.floor(n / Math.max(minLength, 1)) + 2;
  const litLen = new Uint32Array(cap);
  const matchLen = new Uint32Array(cap);
  const dist = new Uint32Array(cap);
  const head = new Int32Array(HASH_SIZE).fill(NO_POS);
  const prev = new Int32Array(n > 0 ? n : 1);
  let count = 0;
  let lit = 0;
  let i = 0;
  const last = n - 3; // last position with 3 bytes to hash
  const insert = (p: number): void => {
    const h = hash3(input, p);
    prev[p] = head[h]!;
    head[h] = p;
  };
  while (i < n) {
    let bestLen = 0;
    let bestDist = 0;
    if (i <= last) {
      const limit = Math.min(maxLength, n - i);
      let cand = head[hash3(input, i)]!;
      let depth = chainDepth;
      while (cand !== NO_POS && depth-- > 0) {
        const d = i - cand;
        if (d > maxDistance) break;
        if (input[cand + bestLen] === input[i + bestLen]) {
          let l = 0;
          while (l < limit && input[cand + l] === input[i + l]) l++;
          if (l > bestLen) {
            bestLen = l;
            bestDist = d;
            if (l >= limit) break;
          }
        }
        cand = prev[cand]!;
      }
    }
    if (bestLen >= minLength) {
      litLen[count] = lit;
      matchLen[count] = bestLen;
      dist[count] = bestDist;
      count++;
      lit = 0;
      const end = i + bestLen;
      for (; i < end; i++) if (i <= last) insert(i);
    } else {
      if (i <= last) insert(i);
      lit++;
      i++;
    }
  }
  if (lit > 0 || count === 0) {
    litLen[count] = lit;
    matchLen[count] = 0;
    dist[count] = 0;
    count++;
  }
  return { count, litLen, matchLen, dist };
}
