import { DmgkitError } from '../errors.js';
import { BZIP2_CRC_TABLE } from './bzip2-crc.js';

/**
 * bzip2 encoder (UDIF chunk type 0x80000006, "UDBZ"): one complete stream ('BZh' + level digit, blocks, end
 * marker with the combined CRC) per call, as hdiutil writes one stream per chunk. Format facts: see
 * docs/formats/bzip2-xz.md. Stages per block, as in the reference bzip2 1.0.x:
 *
 *   RLE1    runs of 4..255 equal bytes → 4 bytes + (length − 4); a block holds ≤ 100000·level − 19 bytes of it
 *   BWT     sorted cyclic rotations, computed as a suffix array (SA-IS, linear time) of the block's least
 *           rotation: that rotation is a power u^k of a Lyndon word u, and for a Lyndon word the order of its
 *           suffixes equals the order of its rotations, so SA-IS on u alone gives the rotation order (rows of
 *           the k copies are identical, which the inverse transform does not need to tell apart)
 *   MTF     move-to-front over the byte values in use, zero runs as RUNA/RUNB bijective base-2 digits, EOB
 *   Huffman 2..6 tables by block size, initial split by cumulative frequency, 4 refinement passes over
 *           groups of 50 symbols (each group takes the cheapest table), code lengths ≤ 17 bits
 *
 * Deterministic; all buffers live in a workspace sized by the level's block size and reused across calls.
 */

const BLOCK_MAGIC_HI = 0x314159;
const BLOCK_MAGIC_LO = 0x265359;
const EOS_MAGIC_HI = 0x177245;
const EOS_MAGIC_LO = 0x385090;
const GROUP_SIZE = 50;
const N_ITERS = 4;
const MAX_CODE_LEN = 17;
const MAX_ALPHA = 258;
const MAX_GROUPS = 6;
const RUNA = 0;
const RUNB = 1;
/** Bytes of RLE1 output a block may hold at `level` (bzip2's nblockMAX: 100000·level − 19). */
export const bzip2BlockLimit = (level: number): number => level * 100_000 - 19;

/** CRC-32/BZIP2 (MSB first), four bytes per step: CRC_T[k·256 + x] is byte x followed by k zero bytes. */
const CRC_T = (() => {
  const t = new Int32Array(1024);
  t.set(BZIP2_CRC_TABLE);
  for (let i = 256; i < 1024; i++) {
    const p = t[i - 256]!;
    t[i] = (p << 8) ^ t[p >>> 24]!;
  }
  return t;
})();

/** Running (not inverted) CRC-32/BZIP2 of data[from..to). */
function crcBzip2(data: Uint8Array, from: number, to: number, crc0: number): number {
  const t = CRC_T;
  let crc = crc0;
  let i = from;
  // The odd bytes first, so the loop that runs long is the last code before the return (see "hot loops" below).
  for (const head = from + ((to - from) & 3); i < head; i++) crc = (crc << 8) ^ t[((crc >>> 24) ^ data[i]!) & 0xff]!;
  for (; i < to; i += 4) {
    const x = crc ^ ((data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!);
    crc = t[768 + (x >>> 24)]! ^ t[512 + ((x >>> 16) & 0xff)]! ^ t[256 + ((x >>> 8) & 0xff)]! ^ t[x & 0xff]!;
  }
  return crc;
}

/** Per-thread workspace, sized for the largest block seen so far, reused by every call. */
interface Work {
  cap: number;
  block: Uint8Array;
  /** SA-IS text: block symbols + 1, sentinel 0; the recursion reuses its upper part. */
  text: Int32Array;
  sa: Int32Array;
  types: Uint8Array;
  bwt: Uint8Array;
  /** Fast path: 4-byte keys, per-level key scratch, 2-byte bucket pointers. */
  keys: Uint32Array;
  tmp: Uint32Array;
  ptr: Int32Array;
  fill: Int32Array;
  order: Uint8Array;
  bigDone: Uint8Array;
  smallDone: Uint8Array;
  /** Buckets whose rows are in the rank array (the rank shortcut, once it is on). */
  ranked: Uint8Array;
  copyStart: Int32Array;
  copyEnd: Int32Array;
  mtf: Uint16Array;
  selectors: Uint8Array;
}
let work: Work | null = null;
function getWork(blockMax: number): Work {
  const cap = blockMax + 8;
  if (work && work.cap >= cap) return work;
  // Stages that follow one another share memory (cache footprint per block: 13 MB, not 17): the MTF output and
  // SA-IS's types live in the key array and the BWT output in the key scratch, both dead by then.
  const keys = new Uint32Array(cap);
  const tmp = new Uint32Array(cap);
  work = {
    cap,
    block: new Uint8Array(cap),
    text: new Int32Array(cap + 1),
    sa: new Int32Array(cap + 1),
    types: new Uint8Array(keys.buffer, 0, cap + 1),
    bwt: new Uint8Array(tmp.buffer, 0, cap),
    keys,
    tmp,
    ptr: new Int32Array(65537),
    fill: new Int32Array(65536),
    order: new Uint8Array(256),
    bigDone: new Uint8Array(256),
    smallDone: new Uint8Array(65536),
    ranked: new Uint8Array(65536),
    copyStart: new Int32Array(256),
    copyEnd: new Int32Array(256),
    mtf: new Uint16Array(keys.buffer, 0, cap + 1),
    selectors: new Uint8Array(Math.ceil((cap + 1) / GROUP_SIZE) + 1),
  };
  return work;
}

// ---------------------------------------------------------------------------------------------------------------
// SA-IS (Nong, Zhang, Chan 2009): suffix array of t[0..n), t[n-1] = 0 the unique smallest symbol, alphabet [0, k).

function buckets(t: Int32Array, n: number, bkt: Int32Array, k: number, end: boolean): void {
  bkt.fill(0, 0, k);
  for (let i = 0; i < n; i++) bkt[t[i]!]!++;
  let sum = 0;
  for (let i = 0; i < k; i++) {
    sum += bkt[i]!;
    bkt[i] = end ? sum : sum - bkt[i]!;
  }
}

function induce(t: Int32Array, sa: Int32Array, ty: Uint8Array, n: number, bkt: Int32Array, k: number): void {
  buckets(t, n, bkt, k, false);
  for (let i = 0; i < n; i++) {
    const j = sa[i]! - 1;
    if (j >= 0 && ty[j] === 0) sa[bkt[t[j]!]!++] = j;
  }
  buckets(t, n, bkt, k, true);
  for (let i = n - 1; i >= 0; i--) {
    const j = sa[i]! - 1;
    if (j >= 0 && ty[j] === 1) sa[--bkt[t[j]!]!] = j;
  }
}

function sais(t: Int32Array, sa: Int32Array, n: number, k: number, ty: Uint8Array): void {
  // Types: 1 = S, 0 = L. The sentinel is S; the symbol before it is L.
  ty[n - 1] = 1;
  if (n === 1) {
    sa[0] = 0;
    return;
  }
  ty[n - 2] = 0;
  for (let i = n - 3; i >= 0; i--) {
    const a = t[i]!;
    const b = t[i + 1]!;
    ty[i] = a < b || (a === b && ty[i + 1] === 1) ? 1 : 0;
  }
  const bkt = new Int32Array(k);
  // Stage 1: sort the LMS substrings by one induction pass.
  buckets(t, n, bkt, k, true);
  sa.fill(-1, 0, n);
  for (let i = 1; i < n; i++) if (ty[i] === 1 && ty[i - 1] === 0) sa[--bkt[t[i]!]!] = i;
  induce(t, sa, ty, n, bkt, k);
  let n1 = 0;
  for (let i = 0; i < n; i++) {
    const p = sa[i]!;
    if (p > 0 && ty[p] === 1 && ty[p - 1] === 0) sa[n1++] = p;
  }
  // Name the LMS substrings (equal substrings get equal names).
  sa.fill(-1, n1, n);
  let name = 0;
  let prev = -1;
  for (let i = 0; i < n1; i++) {
    const pos = sa[i]!;
    let diff = false;
    if (prev < 0) diff = true;
    else {
      for (let d = 0; ; d++) {
        const a = pos + d;
        const b = prev + d;
        if (t[a] !== t[b] || ty[a] !== ty[b]) {
          diff = true;
          break;
        }
        if (d > 0 && ((ty[a] === 1 && ty[a - 1] === 0) || (ty[b] === 1 && ty[b - 1] === 0))) break;
      }
    }
    if (diff) {
      name++;
      prev = pos;
    }
    sa[n1 + (pos >> 1)] = name - 1;
  }
  for (let i = n - 1, j = n - 1; i >= n1; i--) if (sa[i]! >= 0) sa[j--] = sa[i]!;
  // Stage 2: sort the reduced string (recursively when names repeat).
  const s1 = sa.subarray(n - n1, n);
  const sa1 = sa.subarray(0, n1);
  if (name < n1) sais(s1, sa1, n1, name, new Uint8Array(n1));
  else for (let i = 0; i < n1; i++) sa1[s1[i]!] = i;
  // Stage 3: place the sorted LMS suffixes at their bucket ends, then induce the rest.
  for (let i = 1, j = 0; i < n; i++) if (ty[i] === 1 && ty[i - 1] === 0) s1[j++] = i;
  for (let i = 0; i < n1; i++) sa1[i] = s1[sa1[i]!]!;
  sa.fill(-1, n1, n);
  buckets(t, n, bkt, k, true);
  for (let i = n1 - 1; i >= 0; i--) {
    const j = sa[i]!;
    sa[i] = -1;
    sa[--bkt[t[j]!]!] = j;
  }
  induce(t, sa, ty, n, bkt, k);
}

// ---------------------------------------------------------------------------------------------------------------
// Fast path: rotations bucketed by their first two bytes, each bucket sorted by a multikey quicksort on 4-byte
// big-endian keys (K[i] = bytes i..i+3, cyclic). It is quick when rotations differ early, as in most data; a work
// budget (elements × levels) stops it on highly repetitive blocks, which then take the linear-time SA-IS path.

/** Elements × key levels the quicksort may spend per block byte before falling back to SA-IS. */
const SORT_BUDGET_PER_BYTE = 12;
/**
 * Per block byte spent before the rank shortcut is turned on (its rank writes cost ~5 % on ordinary data, where
 * the sort is done within 2–6 per byte; on repetitive data it saves the fallback): the bucket being sorted
 * then starts over with the shortcut, and the budget above begins.
 */
const RANK_AFTER_PER_BYTE = 8;
const SMALL_SORT = 12;
/**
 * The fast path's sa entries carry the byte before their rotation above the position (blocks < 2^20 bytes): the
 * copy step and the last column then read it from the entry in hand instead of from the block at a random
 * place (a cache miss per row); only rotations the copy step places need one block read, for their own entry.
 */
const PREV_SHIFT = 20;
const POS = (1 << PREV_SHIFT) - 1;
let budget = 0;
/**
 * Rank shortcut: once a 2-byte bucket's rows are final, rank[r] holds the row of rotation r for every r in it
 * (ranked[c] = 1). A group whose rotations share their first d bytes and whose bytes e, e + 1 (e + 2 ≤ d) fall
 * in a ranked bucket — the same one for every member — is ordered by rank[r + e] at once, however long the
 * rotations stay equal (the copy step's idea, taken deeper; it is what keeps repetitive data off the fallback).
 */
let sBlock: Uint8Array = new Uint8Array(0);
let sRank: Int32Array = new Int32Array(0);
let sRanked: Uint8Array = new Uint8Array(0);
/** Whether the shortcut is on for this block (its checks cost ~3 % on ordinary data, so they are skipped till then). */
let sRankOn = false;

/** Sort sa[lo..hi) by rank[sa[i] + e] (distinct keys): tmp carries the keys. */
function sortByRank(sa: Int32Array, tmp: Uint32Array, n: number, lo: number, hi: number, e: number): void {
  const rank = sRank;
  for (let i = lo; i < hi; i++) {
    let x = (sa[i]! & POS) + e;
    if (x >= n) x -= n;
    tmp[i] = rank[x]!;
  }
  quickSortPairs(sa, tmp, lo, hi);
}

function quickSortPairs(sa: Int32Array, tmp: Uint32Array, lo0: number, hi0: number): void {
  let lo = lo0;
  let hi = hi0;
  while (hi - lo > 16) {
    const a = tmp[lo]!;
    const b = tmp[(lo + hi) >> 1]!;
    const c = tmp[hi - 1]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi - 1;
    for (;;) {
      while (tmp[i]! < pivot) i++;
      while (tmp[j]! > pivot) j--;
      if (i >= j) break;
      const t = tmp[i]!;
      tmp[i] = tmp[j]!;
      tmp[j] = t;
      const s = sa[i]!;
      sa[i] = sa[j]!;
      sa[j] = s;
      i++;
      j--;
    }
    // [lo, j] ≤ pivot ≤ [j + 1, hi); recurse into the smaller side.
    if (j + 1 - lo < hi - j - 1) {
      quickSortPairs(sa, tmp, lo, j + 1);
      lo = j + 1;
    } else {
      quickSortPairs(sa, tmp, j + 1, hi);
      hi = j + 1;
    }
  }
  for (let i = lo + 1; i < hi; i++) {
    const k = tmp[i]!;
    const v = sa[i]!;
    let j = i;
    while (j > lo && tmp[j - 1]! > k) {
      tmp[j] = tmp[j - 1]!;
      sa[j] = sa[j - 1]!;
      j--;
    }
    tmp[j] = k;
    sa[j] = v;
  }
}

/** Compare rotations a and b from depth d (4-byte steps); negative, 0 or positive. */
function cmpRot(keys: Uint32Array, n: number, a: number, b: number, d: number): number {
  let x = a + d;
  let y = b + d;
  if (x >= n) x -= n;
  if (y >= n) y -= n;
  const d0 = d;
  for (; d < n; d += 4) {
    const ka = keys[x]!;
    const kb = keys[y]!;
    if (ka !== kb) {
      budget -= (d - d0) >> 2;
      return ka < kb ? -1 : 1;
    }
    if (sRankOn && sRanked[ka >>> 16]) {
      // Both continue in the same final bucket: their rows there decide.
      budget -= (d - d0) >> 2;
      return sRank[x]! < sRank[y]! ? -1 : 1;
    }
    x += 4;
    y += 4;
    if (x >= n) x -= n;
    if (y >= n) y -= n;
  }
  budget -= (d - d0) >> 2;
  return 0;
}

/**
 * Moves the entries of sa[lo..hi) whose key (tmp) is below p (≤ 2^32) to the front, in order; returns where they
 * end. Branch-free (Lomuto: every entry is swapped with the boundary, which advances by the comparison's 0 or 1):
 * the keys are random enough that a branch on them mispredicts about every other time. x < p for uint32 x is the
 * sign of (x >>> 1) − (p >>> 1) − (¬x & p & 1), which stays within int32.
 */
function partBelow(sa: Int32Array, tmp: Uint32Array, lo: number, hi: number, p: number): number {
  const ph = Math.floor(p / 2);
  const pl = p & 1;
  let st = lo;
  for (let i = lo; i < hi; i++) {
    const v = tmp[i]!;
    const s = sa[i]!;
    tmp[i] = tmp[st]!;
    sa[i] = sa[st]!;
    tmp[st] = v;
    sa[st] = s;
    st += ((v >>> 1) - ph - (~v & pl)) >>> 31;
  }
  return st;
}

/**
 * Multikey quicksort of sa[lo..hi) by rotation from depth d. `keyed`: tmp[lo..hi) already holds each rotation's
 * key at depth d (true for the outer parts of a partition, whose keys moved with them), so a level's keys are
 * gathered from the block once, not once per recursion.
 */
function mkqs(sa: Int32Array, tmp: Uint32Array, keys: Uint32Array, n: number, lo0: number, hi0: number, d0: number, keyed0: boolean): void {
  let lo = lo0;
  let hi = hi0;
  let d = d0;
  let keyed = keyed0;
  while (hi - lo > 1) {
    if (budget < 0 || d >= n) return;
    if (!keyed && sRankOn) {
      // The group shares its first d bytes; the buckets at e = d − 5 .. d − 2 are new at this depth.
      const blk = sBlock;
      const p = sa[lo]! & POS;
      for (let e = d - 2; e >= 1 && e >= d - 5; e--) {
        let x = p + e;
        if (x >= n) x -= n;
        const y = x + 1 === n ? 0 : x + 1;
        if (sRanked[(blk[x]! << 8) | blk[y]!]) {
          budget -= hi - lo;
          sortByRank(sa, tmp, n, lo, hi, e);
          return;
        }
      }
    }
    if (hi - lo <= SMALL_SORT) {
      if (!keyed) {
        for (let i = lo; i < hi; i++) {
          let x = (sa[i]! & POS) + d;
          if (x >= n) x -= n;
          tmp[i] = keys[x]!;
        }
      }
      const d4 = d + 4;
      for (let i = lo + 1; i < hi; i++) {
        const v = sa[i]!;
        const kv = tmp[i]!;
        let j = i;
        while (j > lo) {
          const kj = tmp[j - 1]!;
          if (kj < kv || (kj === kv && cmpRot(keys, n, sa[j - 1]! & POS, v & POS, d4) <= 0)) break;
          sa[j] = sa[j - 1]!;
          tmp[j] = kj;
          j--;
        }
        sa[j] = v;
        tmp[j] = kv;
      }
      return;
    }
    budget -= hi - lo;
    // Keys of this level, gathered once.
    if (!keyed) {
      for (let i = lo; i < hi; i++) {
        let x = (sa[i]! & POS) + d;
        if (x >= n) x -= n;
        tmp[i] = keys[x]!;
      }
    }
    const a = tmp[lo]!;
    const b = tmp[(lo + hi) >> 1]!;
    const c = tmp[hi - 1]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    // Three-way partition as two branch-free passes: keys < pivot to the front, then keys ≤ pivot after them.
    const lt = partBelow(sa, tmp, lo, hi, pivot);
    const gt = pivot === 0xffffffff ? hi - 1 : partBelow(sa, tmp, lt, hi, pivot + 1) - 1;
    // Recurse into the outer parts (their keys at this depth are in tmp); continue with the equal part one key deeper.
    mkqs(sa, tmp, keys, n, lo, lt, d, true);
    mkqs(sa, tmp, keys, n, gt + 1, hi, d, true);
    lo = lt;
    hi = gt + 1;
    d += 4;
    keyed = false;
  }
}

/**
 * Keys from the end down, each the next one shifted (n ≥ 4), counting the 2-byte buckets on the way; after the
 * prefix sum, bucket c is start[c] .. start[c + 1].
 */
function buildKeys(b: Uint8Array, keys: Uint32Array, start: Int32Array, n: number): void {
  start.fill(0);
  // k stays a signed 32-bit value (the store into the Uint32Array and >>> read it unsigned): no uint32 → double
  // speculation for V8 to get wrong and deoptimise on.
  let k = (b[n - 1]! << 24) | (b[0]! << 16) | (b[1]! << 8) | b[2]!;
  keys[n - 1] = k;
  start[k >>> 16]!++;
  for (let i = n - 2; i >= 0; i--) {
    k = (k >>> 8) | (b[i]! << 24);
    keys[i] = k;
    start[k >>> 16]!++;
  }
}

/** Bucket counts → bucket starts; start[65536] = n. */
function prefixSum(start: Int32Array, n: number): void {
  let sum = 0;
  for (let c = 0; c < 65536; c++) {
    const x = start[c]!;
    start[c] = sum;
    sum += x;
  }
  start[65536] = n;
}

/**
 * Rotations into their 2-byte buckets (fill: each bucket's next free row), each with its key at depth 2 beside it
 * (read in order here, so the sort's first level needs no gather).
 */
function scatter(b: Uint8Array, keys: Uint32Array, sa: Int32Array, tmp: Uint32Array, fill: Int32Array, n: number): void {
  let prev = b[n - 1]!;
  for (let i = 0; i < n; i++) {
    const p = fill[keys[i]! >>> 16]!++;
    sa[p] = i | (prev << PREV_SHIFT);
    tmp[p] = keys[i + 2]!;
    prev = b[i]!;
  }
}

/**
 * bzip2's copy step for the sorted big bucket ss: every rotation t·ss… with t not yet done goes, in order, into
 * small bucket [t, ss] (rows copyStart[t] up, copyEnd[t] down).
 */
function copyUp(b: Uint8Array, sa: Int32Array, n: number, bigLo: number, ss: number, copyStart: Int32Array, bigDone: Uint8Array): void {
  for (let j = bigLo; j < copyStart[ss]!; j++) {
    const s = sa[j]!;
    const c1 = s >>> PREV_SHIFT;
    if (bigDone[c1]) continue;
    let k = (s & POS) - 1;
    if (k < 0) k += n;
    sa[copyStart[c1]!++] = k | (b[k === 0 ? n - 1 : k - 1]! << PREV_SHIFT);
  }
}

/** The copy step's second half: the rotations above [ss, ss], from the top down. */
function copyDown(b: Uint8Array, sa: Int32Array, n: number, bigHi: number, ss: number, copyEnd: Int32Array, bigDone: Uint8Array): void {
  for (let j = bigHi - 1; j > copyEnd[ss]!; j--) {
    const s = sa[j]!;
    const c1 = s >>> PREV_SHIFT;
    if (bigDone[c1]) continue;
    let k = (s & POS) - 1;
    if (k < 0) k += n;
    sa[copyEnd[c1]!--] = k | (b[k === 0 ? n - 1 : k - 1]! << PREV_SHIFT);
  }
}

/** Passes of improveOrder (each moves every big bucket once; measured on the bench mix: 1 → 0.297 n, 3 → 0.279 n). */
const ORDER_PASSES = 3;

/**
 * The big-bucket order decides which of each pair of small buckets [a, b], [b, a] is sorted by comparison (the
 * one whose first byte comes first; the copy step fills the other). bzip2's order, by big bucket size, sorts
 * ~0.36 of the rows on the bench mix; a local search that moves each big bucket in turn to the place where the
 * rows it sorts are fewest (the size of [x, a] for x before it plus [a, x] for x after it) brings that to ~0.28.
 * Deterministic; one table of 65 536 differences, then ~200 k adds per block (~1–2 % of its time).
 */
function improveOrder(order: Uint8Array, start: Int32Array, d: Int32Array): void {
  // d[a·256 + x] = size of [x, a] − size of [a, x]: what moving a after x changes (0 for x = a).
  for (let a = 0; a < 256; a++) {
    for (let x = 0; x < 256; x++) {
      const ax = (a << 8) | x;
      const xa = (x << 8) | a;
      d[ax] = start[xa + 1]! - start[xa]! - (start[ax + 1]! - start[ax]!);
    }
  }
  for (let pass = 0; pass < ORDER_PASSES; pass++) {
    for (let i = 0; i < 256; i++) {
      const a = order[i]!;
      const row = a << 8;
      // In front of all others a sorts its whole row ([a, x], x ≠ a); each step past an x trades [a, x] for
      // [x, a]. Stepping past itself changes nothing, and a strict < keeps the earlier of equal places.
      let cost = start[row + 256]! - start[row]! - (start[(row | a) + 1]! - start[row | a]!);
      let bestCost = cost;
      let bestP = -1; // a goes right after order[bestP]
      for (let p = 0; p < 256; p++) {
        cost += d[row | order[p]!]!;
        if (cost < bestCost) {
          bestCost = cost;
          bestP = p;
        }
      }
      if (bestP < i) {
        for (let q = i; q > bestP + 1; q--) order[q] = order[q - 1]!;
        order[bestP + 1] = a;
      } else {
        for (let q = i; q < bestP; q++) order[q] = order[q + 1]!;
        order[bestP] = a;
      }
    }
  }
}

/** Rows lo..hi of a final bucket into the rank array (the rank shortcut). */
function rankRows(sa: Int32Array, rank: Int32Array, lo: number, hi: number): void {
  for (let i = lo; i < hi; i++) rank[sa[i]! & POS] = i;
}

/** Rotation order into w.sa[0..n) by the fast path; false when the work budget ran out. */
function sortRotationsFast(w: Work, n: number): boolean {
  const b = w.block;
  const keys = w.keys;
  const sa = w.sa;
  const start = w.ptr;
  buildKeys(b, keys, start, n);
  prefixSum(start, n);
  // Two wrapped copies after the end, so the scatter reads keys[i + 2] without a wrap test (keys has cap ≥ n + 8
  // entries; nothing else reads past n − 1).
  keys[n] = keys[0]!;
  keys[n + 1] = keys[1]!;
  const fill = w.fill;
  fill.set(start.subarray(0, 65536));
  const tmp = w.tmp;
  scatter(b, keys, sa, tmp, fill, n);
  budget = n * RANK_AFTER_PER_BYTE;
  let ranking = false;
  sRankOn = false;
  sBlock = b;
  sRank = w.text; // free until the SA-IS fallback
  const rank = sRank;
  const ranked = w.ranked;
  ranked.fill(0);
  sRanked = ranked;

  // Big buckets (first byte) in the order below: bzip2's (by size, smallest first), improved by improveOrder. In
  // big bucket ss, the small buckets [ss, j] (j ≠ ss) not yet done are sorted by comparison; one scan of the now
  // sorted big bucket then places, in order, every rotation t·ss… into small bucket [t, ss] (the rotation before a
  // sorted one), which fills [ss, ss] too (as bzip2's mainSort does). Each pair of buckets [a, b], [b, a] thus
  // costs one comparison sort.
  const order = w.order;
  for (let i = 0; i < 256; i++) order[i] = i;
  const bigSize = (c: number): number => start[(c + 1) << 8]! - start[c << 8]!;
  order.sort((a, c) => bigSize(a) - bigSize(c) || a - c);
  improveOrder(order, start, w.fill); // fill is free after the scatter
  const bigDone = w.bigDone;
  const smallDone = w.smallDone;
  bigDone.fill(0);
  smallDone.fill(0);
  const copyStart = w.copyStart;
  const copyEnd = w.copyEnd;
  for (let oi = 0; oi < 256; oi++) {
    const ss = order[oi]!;
    for (let j = 0; j < 256; j++) {
      if (j === ss) continue;
      const c = (ss << 8) | j;
      if (smallDone[c]) continue;
      const lo = start[c]!;
      const hi = start[c + 1]!;
      if (hi - lo > 1) {
        mkqs(sa, tmp, keys, n, lo, hi, 2, true);
        if (budget < 0) {
          if (ranking) return false;
          // Repetitive data: rank every final bucket, then sort this one again with the shortcut.
          ranking = true;
          sRankOn = true;
          budget = n * SORT_BUDGET_PER_BYTE;
          for (let q = 0; q < 65536; q++) {
            if (!smallDone[q]) continue;
            rankRows(sa, rank, start[q]!, start[q + 1]!);
            ranked[q] = 1;
          }
          mkqs(sa, tmp, keys, n, lo, hi, 2, false);
          if (budget < 0) return false;
        }
      }
      if (ranking) {
        rankRows(sa, rank, lo, hi);
        ranked[c] = 1;
      }
      smallDone[c] = 1;
    }
    for (let t = 0; t < 256; t++) {
      copyStart[t] = start[(t << 8) | ss]!;
      copyEnd[t] = start[((t << 8) | ss) + 1]! - 1;
    }
    copyUp(b, sa, n, start[ss << 8]!, ss, copyStart, bigDone);
    copyDown(b, sa, n, start[(ss + 1) << 8]!, ss, copyEnd, bigDone);
    for (let t = 0; t < 256; t++) {
      const c = (t << 8) | ss;
      if (smallDone[c]) continue;
      smallDone[c] = 1;
      if (!ranking) continue;
      rankRows(sa, rank, start[c]!, start[c + 1]!);
      ranked[c] = 1;
    }
    bigDone[ss] = 1;
  }
  return true;
}

/** The fast path's last column (the byte before each row, packed in its sa entry) into out; returns origPtr. */
function lastColumn(sa: Int32Array, out: Uint8Array, n: number): number {
  let origPtr = 0;
  for (let x = 0; x < n; x++) {
    const s = sa[x]!;
    if ((s & POS) === 0) origPtr = x;
    out[x] = s >>> PREV_SHIFT;
  }
  return origPtr;
}

/**
 * Burrows–Wheeler transform of block[0..n) over cyclic rotations: last column into `bwt`, returns origPtr (the
 * row of the rotation starting at 0).
 */
function bwtBlock(w: Work, n: number): number {
  if (n >= 4 && sortRotationsFast(w, n)) return lastColumn(w.sa, w.bwt, n);
  return bwtBySais(w, n);
}

/** BWT through SA-IS of the least rotation (linear time whatever the data). */
function bwtBySais(w: Work, n: number): number {
  const b = w.block;
  // Least rotation (Duval's Lyndon factorization over the doubled block): start r, Lyndon period p.
  let i = 0;
  let r = 0;
  while (i < n) {
    r = i;
    let j = i + 1;
    let k = i;
    while (j < 2 * n) {
      const x = b[k >= n ? k - n : k]!;
      const y = b[j >= n ? j - n : j]!;
      if (x > y) break;
      k = x < y ? i : k + 1;
      j++;
    }
    while (i <= k) i += j - k;
  }
  // The least rotation w = u^(n/p), u a Lyndon word: p is the length of w's first Lyndon factor.
  const t = w.text;
  for (let q = 0, s = r; q < n; q++, s = s + 1 === n ? 0 : s + 1) t[q] = b[s]! + 1;
  let p = n;
  {
    let j = 1;
    let k = 0;
    while (j < n && t[k]! <= t[j]!) {
      k = t[k]! < t[j]! ? 0 : k + 1;
      j++;
    }
    const cand = j - k;
    if (n % cand === 0) p = cand;
  }
  t[p] = 0;
  const sa = w.sa;
  sais(t, sa, p + 1, 257, w.types);
  // Row order: SA of u (skipping the sentinel row), each row repeated n/p times. Last column: symbol before.
  const reps = n / p;
  const out = w.bwt;
  const start = (n - r) % n % p; // index in u of the original rotation 0
  let origPtr = 0;
  let o = 0;
  for (let x = 1; x <= p; x++) {
    const s = sa[x]!;
    if (s === start) origPtr = o;
    const c = (s === 0 ? t[p - 1]! : t[s - 1]!) - 1;
    for (let y = 0; y < reps; y++) out[o++] = c;
  }
  return origPtr;
}

// ---------------------------------------------------------------------------------------------------------------
// Huffman code lengths (bzip2's method: heap merge with depth tie-break, frequencies halved while too long).

const hHeap = new Int32Array(MAX_ALPHA + 2);
const hWeight = new Int32Array(MAX_ALPHA * 2);
const hParent = new Int32Array(MAX_ALPHA * 2);

function heapUp(heap: Int32Array, weight: Int32Array, z0: number): void {
  let z = z0;
  const tmp = heap[z]!;
  while (weight[tmp]! < weight[heap[z >> 1]!]!) {
    heap[z] = heap[z >> 1]!;
    z >>= 1;
  }
  heap[z] = tmp;
}

function heapDown(heap: Int32Array, weight: Int32Array, nHeap: number): void {
  let z = 1;
  const tmp = heap[z]!;
  for (;;) {
    let yy = z << 1;
    if (yy > nHeap) break;
    if (yy < nHeap && weight[heap[yy + 1]!]! < weight[heap[yy]!]!) yy++;
    if (weight[tmp]! < weight[heap[yy]!]!) break;
    heap[z] = heap[yy]!;
    z = yy;
  }
  heap[z] = tmp;
}

function makeCodeLengths(len: Uint8Array, freq: Int32Array, alphaSize: number, maxLen: number): void {
  const heap = hHeap;
  const weight = hWeight;
  const parent = hParent;
  for (let i = 0; i < alphaSize; i++) weight[i + 1] = (freq[i] === 0 ? 1 : freq[i]!) << 8;
  for (;;) {
    let nNodes = alphaSize;
    let nHeap = 0;
    heap[0] = 0;
    weight[0] = 0;
    parent[0] = -2;
    for (let i = 1; i <= alphaSize; i++) {
      parent[i] = -1;
      heap[++nHeap] = i;
      heapUp(heap, weight, nHeap);
    }
    while (nHeap > 1) {
      const n1 = heap[1]!;
      heap[1] = heap[nHeap--]!;
      heapDown(heap, weight, nHeap);
      const n2 = heap[1]!;
      heap[1] = heap[nHeap--]!;
      heapDown(heap, weight, nHeap);
      nNodes++;
      parent[n1] = parent[n2] = nNodes;
      const w1 = weight[n1]!;
      const w2 = weight[n2]!;
      const d1 = w1 & 0xff;
      const d2 = w2 & 0xff;
      weight[nNodes] = ((w1 & ~0xff) + (w2 & ~0xff)) | (1 + (d1 > d2 ? d1 : d2));
      parent[nNodes] = -1;
      heap[++nHeap] = nNodes;
      heapUp(heap, weight, nHeap);
    }
    let tooLong = false;
    for (let i = 1; i <= alphaSize; i++) {
      let j = 0;
      let k = i;
      while (parent[k]! >= 0) {
        k = parent[k]!;
        j++;
      }
      len[i - 1] = j;
      if (j > maxLen) tooLong = true;
    }
    if (!tooLong) return;
    for (let i = 1; i <= alphaSize; i++) {
      const j = weight[i]! >> 8;
      weight[i] = (1 + (j >> 1)) << 8;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Bit output, MSB first, into a growable buffer (grown before each block for its worst case).

class Bits {
  buf: Uint8Array;
  pos = 0;
  acc = 0; // pending bits in the low `live` bits
  live = 0;
  constructor(cap: number) {
    this.buf = new Uint8Array(cap);
  }
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }
  /** Append the low `n` (≤ 24) bits of `v`. */
  put(n: number, v: number): void {
    this.acc = (this.acc << n) | (v & ((1 << n) - 1));
    this.live += n;
    while (this.live >= 8) {
      this.live -= 8;
      this.buf[this.pos++] = this.acc >>> this.live;
    }
  }
  put32(v: number): void {
    this.put(16, v >>> 16);
    this.put(16, v & 0xffff);
  }
  flush(): void {
    if (this.live > 0) {
      this.buf[this.pos++] = this.acc << (8 - this.live);
      this.live = 0;
    }
    this.acc = 0;
  }
}

// ---------------------------------------------------------------------------------------------------------------

const mtfFreq = new Int32Array(MAX_ALPHA);
const lens = new Uint8Array(MAX_GROUPS * MAX_ALPHA);
const codes = new Int32Array(MAX_GROUPS * MAX_ALPHA);
const rfreq = new Int32Array(MAX_GROUPS * MAX_ALPHA);
const cost = new Int32Array(MAX_GROUPS);
const packed = new Int32Array(MAX_ALPHA * 3);
const inUse = new Uint8Array(256);
const tableLen = new Uint8Array(MAX_ALPHA);
const tableFreq = new Int32Array(MAX_ALPHA);
const selectorMtf = new Uint8Array(MAX_GROUPS);

// Each hot loop below sits in a function of its own that returns right after it: V8 compiles a long loop on the
// fly (on-stack replacement) before the code after it ever ran, and that code, lacking type feedback, then
// deoptimises the function — once per call while the function is not yet optimised as a whole, which is what
// made the first blocks of a fresh thread up to 3× slower. Small one-loop functions are also optimised early.

/**
 * The MTF list as 16 segments of 16 ranks, each a ring: rank 16·k + j is in mtfSeg[16·k + ((mtfHead[k] + j) & 15)],
 * and mtfSlot[c] is where byte c is. Moving a byte of rank 16·k + j to the front touches one slot per segment
 * passed (the ring's head steps back, its last byte goes on to the next segment) and at most 8 in segment k
 * (the shorter side of j moves), instead of every rank below it: ~3× fewer steps on binary and random data,
 * whose mean rank is ~70 on the bench mix.
 */
const mtfSeg = new Uint8Array(256);
const mtfSlot = new Uint8Array(256);
const mtfHead = new Int32Array(16);
const mtfOrder = new Uint8Array(256);
/** Zero run still pending after mtfLoop. */
let mtfPend = 0;

/**
 * MTF + zero-run coding of bwt[0..n) into mtf; returns the symbols written (the last zero run is left in mtfPend).
 * The list starts with the byte values in use in ascending order, so a byte's rank is its MTF symbol as bzip2
 * numbers them (no byte → sequence-number lookup per byte).
 */
function mtfLoop(bwt: Uint8Array, mtf: Uint16Array, n: number): number {
  const seg = mtfSeg;
  const slot = mtfSlot;
  const head = mtfHead;
  const freq = mtfFreq;
  let wr = 0;
  let zPend = 0;
  let front = seg[head[0]!]!;
  for (let i = 0; i < n; i++) {
    const c = bwt[i]!;
    if (c === front) {
      zPend++;
      continue;
    }
    front = c;
    if (zPend > 0) {
      zPend--;
      for (;;) {
        const s = zPend & 1; // RUNB : RUNA
        mtf[wr++] = s;
        freq[s]!++;
        if (zPend < 2) break;
        zPend = (zPend - 2) >> 1;
      }
      zPend = 0;
    }
    const ph = slot[c]!;
    const k = ph >> 4;
    const base = k << 4;
    let hk = head[k]!;
    const j = (ph - hk) & 15;
    const sym = base + j + 1;
    mtf[wr++] = sym;
    freq[sym]!++;
    // Close the gap at offset j of segment k, leaving its front (offset 0) free.
    if (j < 8) {
      for (let t = j; t > 0; t--) {
        const from = base | ((hk + t - 1) & 15);
        const to = base | ((hk + t) & 15);
        const v = seg[from]!;
        seg[to] = v;
        slot[v] = to;
      }
    } else {
      for (let t = j; t < 15; t++) {
        const from = base | ((hk + t + 1) & 15);
        const to = base | ((hk + t) & 15);
        const v = seg[from]!;
        seg[to] = v;
        slot[v] = to;
      }
      hk = (hk - 1) & 15; // the freed last slot becomes offset 0
      head[k] = hk;
    }
    // Each segment before k gives its last byte to the next one and takes the carried byte at its front.
    let carry = c;
    for (let m = 0; m < k; m++) {
      const hm = (head[m]! - 1) & 15;
      head[m] = hm;
      const pm = (m << 4) | hm;
      const out = seg[pm]!;
      seg[pm] = carry;
      slot[carry] = pm;
      carry = out;
    }
    const p0 = base | hk;
    seg[p0] = carry;
    slot[carry] = p0;
  }
  mtfPend = zPend;
  return wr;
}

/** MTF + zero-run coding of the BWT output into w.mtf; returns the symbol count (EOB included). */
function mtfBlock(w: Work, n: number, nInUse: number): number {
  const eob = nInUse + 1;
  mtfFreq.fill(0, 0, eob + 1);
  // The byte values in use first (ascending), the rest after them (never searched for).
  const order = mtfOrder;
  let k = 0;
  for (let c = 0; c < 256; c++) if (inUse[c]) order[k++] = c;
  for (let c = 0; c < 256; c++) if (!inUse[c]) order[k++] = c;
  for (let i = 0; i < 256; i++) {
    mtfSeg[i] = order[i]!;
    mtfSlot[order[i]!] = i;
  }
  mtfHead.fill(0);
  const mtf = w.mtf;
  let wr = mtfLoop(w.bwt, mtf, n);
  let zPend = mtfPend;
  if (zPend > 0) {
    zPend--;
    for (;;) {
      const s = zPend & 1 ? RUNB : RUNA;
      mtf[wr++] = s;
      mtfFreq[s]!++;
      if (zPend < 2) break;
      zPend = (zPend - 2) >> 1;
    }
  }
  mtf[wr++] = eob;
  mtfFreq[eob]!++;
  return wr;
}

/** Initial tables: the symbol range split into nGroups parts of about equal frequency. */
function initialTables(nGroups: number, nMtf: number, alphaSize: number): void {
  let nPart = nGroups;
  let remF = nMtf;
  let gs = 0;
  while (nPart > 0) {
    const tFreq = Math.floor(remF / nPart);
    let ge = gs - 1;
    let aFreq = 0;
    while (aFreq < tFreq && ge < alphaSize - 1) {
      ge++;
      aFreq += mtfFreq[ge]!;
    }
    if (ge > gs && nPart !== nGroups && nPart !== 1 && (nGroups - nPart) % 2 === 1) {
      aFreq -= mtfFreq[ge]!;
      ge--;
    }
    const base = (nPart - 1) * MAX_ALPHA;
    for (let v = 0; v < alphaSize; v++) lens[base + v] = v >= gs && v <= ge ? 0 : 15;
    nPart--;
    gs = ge + 1;
    remF -= aFreq;
  }
}

/**
 * One refinement pass with 6 tables: each group of 50 symbols takes its cheapest table (costs of two tables
 * packed in one 32-bit sum, ≤ 50 · 17 < 2^16 each, as bzip2 does); rfreq counts the symbols per table.
 */
function selectorPass6(mtf: Uint16Array, nMtf: number, alphaSize: number, selectors: Uint8Array): void {
  for (let v = 0; v < alphaSize; v++) {
    packed[v * 3] = lens[v]! | (lens[MAX_ALPHA + v]! << 16);
    packed[v * 3 + 1] = lens[2 * MAX_ALPHA + v]! | (lens[3 * MAX_ALPHA + v]! << 16);
    packed[v * 3 + 2] = lens[4 * MAX_ALPHA + v]! | (lens[5 * MAX_ALPHA + v]! << 16);
  }
  const pk = packed;
  const rf = rfreq;
  let sel = 0;
  for (let gs = 0; gs < nMtf; gs += GROUP_SIZE) {
    const ge = gs + GROUP_SIZE < nMtf ? gs + GROUP_SIZE : nMtf;
    let c01 = 0;
    let c23 = 0;
    let c45 = 0;
    for (let i = gs; i < ge; i++) {
      const s = mtf[i]! * 3;
      c01 += pk[s]!;
      c23 += pk[s + 1]!;
      c45 += pk[s + 2]!;
    }
    // The first cheapest table, as a strict < scan over 0..5.
    let bt = 0;
    let bc = c01 & 0xffff;
    if (c01 >>> 16 < bc) {
      bc = c01 >>> 16;
      bt = 1;
    }
    if ((c23 & 0xffff) < bc) {
      bc = c23 & 0xffff;
      bt = 2;
    }
    if (c23 >>> 16 < bc) {
      bc = c23 >>> 16;
      bt = 3;
    }
    if ((c45 & 0xffff) < bc) {
      bc = c45 & 0xffff;
      bt = 4;
    }
    if (c45 >>> 16 < bc) bt = 5;
    selectors[sel++] = bt;
    const base = bt * MAX_ALPHA;
    for (let i = gs; i < ge; i++) rf[base + mtf[i]!]!++;
  }
}

/** One refinement pass with 2..5 tables (small blocks). */
function selectorPassN(mtf: Uint16Array, nMtf: number, nGroups: number, selectors: Uint8Array): void {
  let sel = 0;
  for (let gs = 0; gs < nMtf; gs += GROUP_SIZE) {
    const ge = gs + GROUP_SIZE < nMtf ? gs + GROUP_SIZE : nMtf;
    for (let t = 0; t < nGroups; t++) {
      let c = 0;
      const base = t * MAX_ALPHA;
      for (let i = gs; i < ge; i++) c += lens[base + mtf[i]!]!;
      cost[t] = c;
    }
    let bt = 0;
    let bc = 999_999_999;
    for (let t = 0; t < nGroups; t++) {
      if (cost[t]! < bc) {
        bc = cost[t]!;
        bt = t;
      }
    }
    selectors[sel++] = bt;
    const base = bt * MAX_ALPHA;
    for (let i = gs; i < ge; i++) rfreq[base + mtf[i]!]!++;
  }
}

/** Tables rebuilt from the symbol counts of their groups. */
function rebuildTables(nGroups: number, alphaSize: number): void {
  for (let t = 0; t < nGroups; t++) {
    for (let v = 0; v < alphaSize; v++) tableFreq[v] = rfreq[t * MAX_ALPHA + v]!;
    makeCodeLengths(tableLen, tableFreq, alphaSize, MAX_CODE_LEN);
    lens.set(tableLen.subarray(0, alphaSize), t * MAX_ALPHA);
  }
}

/** Canonical codes from the code lengths. */
function canonicalCodes(nGroups: number, alphaSize: number): void {
  for (let t = 0; t < nGroups; t++) {
    const base = t * MAX_ALPHA;
    let minLen = 32;
    let maxLen = 0;
    for (let v = 0; v < alphaSize; v++) {
      const l = lens[base + v]!;
      if (l > maxLen) maxLen = l;
      if (l < minLen) minLen = l;
    }
    let code = 0;
    for (let l = minLen; l <= maxLen; l++) {
      for (let v = 0; v < alphaSize; v++) if (lens[base + v] === l) codes[base + v] = code++;
      code <<= 1;
    }
  }
}

/** Block header: magic, CRC, origPtr, symbol map, selectors (MTF-coded, unary), delta-coded code lengths. */
function writeHeader(out: Bits, crc: number, origPtr: number, nGroups: number, nSelectors: number, alphaSize: number, selectors: Uint8Array): void {
  out.put(24, BLOCK_MAGIC_HI);
  out.put(24, BLOCK_MAGIC_LO);
  out.put32(crc);
  out.put(1, 0); // not randomised
  out.put(24, origPtr);
  // Symbol map: 16 bits of which 16-value ranges are used, then 16 bits for each used range.
  let used16 = 0;
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      if (inUse[i * 16 + j]) {
        used16 |= 0x8000 >>> i;
        break;
      }
    }
  }
  out.put(16, used16);
  for (let i = 0; i < 16; i++) {
    if (!(used16 & (0x8000 >>> i))) continue;
    let m = 0;
    for (let j = 0; j < 16; j++) if (inUse[i * 16 + j]) m |= 0x8000 >>> j;
    out.put(16, m);
  }
  out.put(3, nGroups);
  out.put(15, nSelectors);
  const pos = selectorMtf;
  for (let i = 0; i < MAX_GROUPS; i++) pos[i] = i;
  for (let i = 0; i < nSelectors; i++) {
    const v = selectors[i]!;
    let j = 0;
    while (pos[j] !== v) j++;
    for (let k = j; k > 0; k--) pos[k] = pos[k - 1]!;
    pos[0] = v;
    // j ones and a zero (j ≤ 5).
    out.put(j + 1, ((1 << j) - 1) << 1);
  }
  // Code lengths, delta-coded: 5-bit start, then per symbol '10' (+1) / '11' (−1) steps and a '0'.
  for (let t = 0; t < nGroups; t++) {
    const base = t * MAX_ALPHA;
    let cur = lens[base]!;
    out.put(5, cur);
    for (let v = 0; v < alphaSize; v++) {
      const l = lens[base + v]!;
      while (cur < l) {
        out.put(2, 2);
        cur++;
      }
      while (cur > l) {
        out.put(2, 3);
        cur--;
      }
      out.put(1, 0);
    }
  }
}

/** Bit writer state after writeSymbols (the caller stores it back into the Bits). */
let symPos = 0;
let symAcc = 0;
let symLive = 0;

/** The symbols, each group with its table's codes (inlined bit writer; pairs of bytes flushed, < 16 bits left). */
function writeSymbols(out: Bits, mtf: Uint16Array, nMtf: number, selectors: Uint8Array): void {
  const buf = out.buf;
  let pos = out.pos;
  let acc = out.acc;
  let live = out.live;
  let sel = 0;
  for (let gs = 0; gs < nMtf; gs += GROUP_SIZE) {
    const ge = gs + GROUP_SIZE < nMtf ? gs + GROUP_SIZE : nMtf;
    const base = selectors[sel++]! * MAX_ALPHA;
    for (let i = gs; i < ge; i++) {
      const s = base + mtf[i]!;
      const l = lens[s]!;
      acc = (acc << l) | codes[s]!;
      live += l;
      if (live >= 16) {
        live -= 8;
        buf[pos++] = acc >>> live;
        live -= 8;
        buf[pos++] = acc >>> live;
      }
    }
  }
  symPos = pos;
  symAcc = acc;
  symLive = live;
}

function writeBlock(w: Work, n: number, crc: number, out: Bits): void {
  const origPtr = bwtBlock(w, n);
  // Byte values in use: from the fast path's 2-byte bucket counts (computed from the block whenever n ≥ 4).
  inUse.fill(0);
  if (n >= 4) {
    const start = w.ptr;
    for (let c = 0; c < 256; c++) if (start[(c + 1) << 8]! > start[c << 8]!) inUse[c] = 1;
  } else {
    const block = w.block;
    for (let i = 0; i < n; i++) inUse[block[i]!] = 1;
  }
  let nInUse = 0;
  for (let i = 0; i < 256; i++) if (inUse[i]) nInUse++;
  const nMtf = mtfBlock(w, n, nInUse);
  const mtf = w.mtf;
  const alphaSize = nInUse + 2;
  const nGroups = nMtf < 200 ? 2 : nMtf < 600 ? 3 : nMtf < 1200 ? 4 : nMtf < 2400 ? 5 : 6;
  initialTables(nGroups, nMtf, alphaSize);
  // Refinement: each group of 50 symbols picks its cheapest table; tables are rebuilt from their groups.
  const selectors = w.selectors;
  const nSelectors = Math.ceil(nMtf / GROUP_SIZE);
  for (let iter = 0; iter < N_ITERS; iter++) {
    rfreq.fill(0);
    if (nGroups === 6) selectorPass6(mtf, nMtf, alphaSize, selectors);
    else selectorPassN(mtf, nMtf, nGroups, selectors);
    rebuildTables(nGroups, alphaSize);
  }
  canonicalCodes(nGroups, alphaSize);
  out.reserve(nMtf * 3 + nSelectors + 8192);
  writeHeader(out, crc, origPtr, nGroups, nSelectors, alphaSize, selectors);
  writeSymbols(out, mtf, nMtf, selectors);
  out.pos = symPos;
  out.acc = symAcc & ((1 << symLive) - 1);
  out.live = symLive;
  out.put(0, 0); // a whole byte left over
}

let bits: Bits | null = null;
/** Where the last rle1Block call stopped in the input, and the length of the run it ended in. */
let rleEnd = 0;
let rleRun = 0;

/**
 * RLE1 of input[ip..) into block until the input ends or the block is full; returns the block's length (the
 * caller appends the count of a final run of 4+).
 */
function rle1Block(input: Uint8Array, ip0: number, block: Uint8Array, blockMax: number): number {
  const n = input.length;
  let ip = ip0;
  let nb = 0;
  let runCh = -1;
  let runLen = 0;
  while (ip < n && nb < blockMax) {
    const c = input[ip++]!;
    if (c === runCh && runLen < 255) {
      runLen++;
      if (runLen <= 4) block[nb++] = c;
      continue;
    }
    if (runLen >= 4) block[nb++] = runLen - 4;
    runCh = c;
    runLen = 1;
    block[nb++] = c;
  }
  rleEnd = ip;
  rleRun = runLen;
  return nb;
}

/**
 * Encode `input` as one bzip2 stream. `level` 1..9 sets the block size (100 000·level bytes), as `bzip2 -N`.
 */
export function encodeBzip2(input: Uint8Array, level = 9): Uint8Array {
  if (!Number.isInteger(level) || level < 1 || level > 9) {
    throw new DmgkitError('INVALID_ARGUMENT', `bzip2 level must be an integer 1..9, got ${level}`);
  }
  const blockMax = bzip2BlockLimit(level);
  // RLE1 can grow the data by a quarter (runs of exactly 4 bytes take 5).
  const w = getWork(Math.min(blockMax, input.length + (input.length >> 2) + 8));
  const out = (bits ??= new Bits(1 << 20));
  out.pos = 0;
  out.acc = 0;
  out.live = 0;
  out.put(8, 0x42);
  out.put(8, 0x5a);
  out.put(8, 0x68);
  out.put(8, 0x30 + level);
  let combined = 0;
  const n = input.length;
  let ip = 0;
  while (ip < n) {
    // RLE1 into the block, CRC over the consumed input bytes.
    let nb = rle1Block(input, ip, w.block, blockMax);
    if (rleRun >= 4) w.block[nb++] = rleRun - 4;
    const crc = ~crcBzip2(input, ip, rleEnd, -1) >>> 0;
    ip = rleEnd;
    combined = (((combined << 1) | (combined >>> 31)) ^ crc) >>> 0;
    writeBlock(w, nb, crc, out);
  }
  out.reserve(16);
  out.put(24, EOS_MAGIC_HI);
  out.put(24, EOS_MAGIC_LO);
  out.put32(combined);
  out.flush();
  return out.buf.slice(0, out.pos);
}
