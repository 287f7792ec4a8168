import type { DmgkitError } from '../errors.js';
import { corrupt } from './errors.js';
import type { Codec } from './types.js';
import { BZIP2_CRC_TABLE } from './bzip2-crc.js';

/**
 * bzip2 decoder (UDIF chunk type 0x80000006, "UDBZ"), pure TypeScript, decoding straight into the caller's
 * output buffer. Accepts one or more concatenated bzip2 streams ('BZh1'..'BZh9'), checks every block CRC and
 * each stream's combined CRC, and fills `output` exactly.
 *
 * Layout of a stream (see docs/formats/bzip2-xz.md): "BZh" + level digit; blocks, each = 48-bit magic
 * 0x314159265359, block CRC (32), randomised flag (1), origPtr (24), symbol map (16 + 16*16), nGroups (3),
 * nSelectors (15), MTF-coded unary selectors, delta-coded code lengths per group, then Huffman-coded MTF/RLE2
 * symbols; end of stream = 48-bit magic 0x177245385090 + combined CRC (32), padded to a byte.
 *
 * Speed (single thread): the symbol loop runs in a function of its own with a 32-bit bit accumulator in locals,
 * 10-bit Huffman lookup tables with a canonical fallback for longer codes, and a byte MTF list; it writes the
 * block's bytes into a byte array (`blk`, runs by fill). One pass with stores only builds the BWT permutation
 * `tt` (byte in the low 8 bits, next row in the high 24); the walk then follows it from origPtr, undoes RLE1 and
 * writes straight into the caller's output with the block CRC inline (its table chain overlaps the walk's cache
 * misses, which bound it). All work arrays are sized by the format (not by input), allocated on first use and
 * reused across blocks and calls.
 */

const CODEC = 'bzip2';

/** Block header magic (pi) and end-of-stream magic (sqrt pi), split in 24-bit halves. */
const BLOCK_MAGIC_HI = 0x314159;
const BLOCK_MAGIC_LO = 0x265359;
const EOS_MAGIC_HI = 0x177245;
const EOS_MAGIC_LO = 0x385090;

/** Largest block (level 9) in bytes before the final RLE1 expansion. */
const MAX_BLOCK = 900_000;
const MAX_GROUPS = 6;
const MIN_GROUPS = 2;
const GROUP_SIZE = 50;
/** libbzip2 1.0.8 reads up to 32767 selectors but keeps only this many (more are never needed). */
const MAX_SELECTORS = 18_002;
const MAX_ALPHA = 258;
const MAX_CODE_LEN = 20;
/** Primary Huffman lookup width; longer codes take the canonical slow path. */
const LUT_BITS = 10;
const LUT_SIZE = 1 << LUT_BITS;

/** The CRC is updated inline with this table (CRC-32/BZIP2). */
const CRC_T = BZIP2_CRC_TABLE;

/** Work buffers sized by the format's constants (not by input), allocated on first use and reused. */
interface Work {
  /** Row r: (T(r) << 8) | F[r], the next row of the forward walk and the byte it yields. */
  tt: Uint32Array;
  /** The block's bytes after Huffman, RLE2 and MTF: the BWT's last column. */
  blk: Uint8Array;
  selectors: Uint8Array;
  lens: Uint8Array;
  /** Per group: LUT entries (sym << 5 | len), 0 = take the slow path. */
  lut: Uint32Array;
  /** Per group, per length 0..20: first canonical code, count, offset into perm. */
  first: Int32Array;
  count: Int32Array;
  offset: Int32Array;
  perm: Uint16Array;
  maxLen: Uint8Array;
}
let work: Work | null = null;
function getWork(): Work {
  if (work === null) {
    work = {
      tt: new Uint32Array(MAX_BLOCK),
      blk: new Uint8Array(MAX_BLOCK),
      selectors: new Uint8Array(MAX_SELECTORS),
      lens: new Uint8Array(MAX_GROUPS * MAX_ALPHA),
      lut: new Uint32Array(MAX_GROUPS * LUT_SIZE),
      first: new Int32Array(MAX_GROUPS * (MAX_CODE_LEN + 1)),
      count: new Int32Array(MAX_GROUPS * (MAX_CODE_LEN + 1)),
      offset: new Int32Array(MAX_GROUPS * (MAX_CODE_LEN + 1)),
      perm: new Uint16Array(MAX_GROUPS * MAX_ALPHA),
      maxLen: new Uint8Array(MAX_GROUPS),
    };
  }
  return work;
}

// Small per-block tables (constant size).
const mtf = new Uint8Array(256);
const seqToUnseq = new Uint8Array(256);
const byteCount = new Int32Array(256);
const cftab = new Int32Array(256);
const selMtf = new Uint8Array(MAX_GROUPS);
const lenCursor = new Int32Array(MAX_CODE_LEN + 1);

/**
 * Builds group g's decoding tables from its code lengths (lens[g*258 .. +alphaSize]). Rejects over-subscribed
 * codes; incomplete codes leave holes that fail when a hole is hit.
 */
function buildTables(w: Work, g: number, alphaSize: number, pos: number): void {
  const lensBase = g * MAX_ALPHA;
  const tb = g * (MAX_CODE_LEN + 1);
  const { lens, first, count, offset, perm, lut } = w;
  for (let l = 0; l <= MAX_CODE_LEN; l++) count[tb + l] = 0;
  let maxLen = 0;
  for (let s = 0; s < alphaSize; s++) {
    const l = lens[lensBase + s];
    count[tb + l]++;
    if (l > maxLen) maxLen = l;
  }
  // Kraft check (lengths are 1..20).
  let kraft = 0;
  for (let l = 1; l <= MAX_CODE_LEN; l++) kraft += count[tb + l] * (1 << (MAX_CODE_LEN - l));
  if (kraft > 1 << MAX_CODE_LEN) throw corrupt(CODEC, `Huffman table ${g} is over-subscribed`, pos);
  let code = 0;
  let off = 0;
  for (let l = 1; l <= MAX_CODE_LEN; l++) {
    first[tb + l] = code;
    offset[tb + l] = off;
    off += count[tb + l];
    code = (code + count[tb + l]) << 1;
  }
  // perm: symbols sorted by (length, symbol).
  const next = offset;
  const cursor = lenCursor;
  for (let l = 1; l <= MAX_CODE_LEN; l++) cursor[l] = next[tb + l];
  const permBase = g * MAX_ALPHA;
  for (let s = 0; s < alphaSize; s++) {
    const l = lens[lensBase + s];
    perm[permBase + cursor[l]++] = s;
  }
  const lutBase = g * LUT_SIZE;
  lut.fill(0, lutBase, lutBase + LUT_SIZE);
  for (let l = 1; l <= LUT_BITS && l <= maxLen; l++) {
    const n = count[tb + l];
    const o = offset[tb + l];
    const f = first[tb + l];
    const span = 1 << (LUT_BITS - l);
    for (let k = 0; k < n; k++) {
      const sym = perm[permBase + o + k];
      const startIdx = (f + k) << (LUT_BITS - l);
      lut.fill((sym << 5) | l, lutBase + startIdx, lutBase + startIdx + span);
    }
  }
  w.maxLen[g] = maxLen;
}

/**
 * Builds the forward permutation from the block's last column L = blk[0..n) (cftab = first row of each byte in
 * the first column): row LF(i) = cftab[L[i]]++ is where row i's rotation shifted right by one sorts, so
 * T(LF(i)) = i, and its first-column byte F[LF(i)] = L[i]. Stores only: tt[LF(i)] = (i << 8) | L[i]
 * (n <= 900000 < 2^23).
 */
function buildLinks(tt: Uint32Array, blk: Uint8Array, n: number): void {
  const cf = cftab;
  for (let i = 0; i < n; i++) {
    const c = blk[i];
    tt[cf[c]++] = (i << 8) | c;
  }
}

/**
 * Walks the permutation from origPtr (each step: the row's first-column byte, then the next row), undoes RLE1
 * (4 equal bytes, then a count byte of 0..255 more) and writes the block to output from `out`, updating the CRC
 * register; returns the new output position (it may exceed output.length: the typed array drops those stores and
 * the caller checks) and leaves the CRC register in `walkCrc`. The walk is bound by the tt[] cache misses; the
 * CRC's table chain is independent of them and overlaps. On hostile input the permutation may have several cycles:
 * the bytes are then wrong (the CRC tells) but every index stays below n.
 */
function walk(tt: Uint32Array, n: number, origPtr: number, output: Uint8Array, out: number): number {
  const T = CRC_T;
  let c = -1;
  let tPos = origPtr;
  let last = -1;
  let run = 0;
  for (let k = 0; k < n; k++) {
    const t = tt[tPos];
    const b = t & 0xff;
    tPos = t >>> 8;
    if (run === 4) {
      output.fill(last, out, out + b);
      out += b;
      for (let r = 0; r < b; r++) c = (c << 8) ^ T[(c >>> 24) ^ last];
      run = 0;
      last = -1;
      continue;
    }
    if (b === last) run++;
    else {
      last = b;
      run = 1;
    }
    output[out++] = b;
    c = (c << 8) ^ T[(c >>> 24) ^ b];
  }
  walkCrc = c;
  return out;
}
let walkCrc = 0;

/** MSB-first bit reader: `bc` valid bits in the low end of `bb`. Bytes past the end read as 0; `overrun()` tells. */
class BitReader {
  bb = 0;
  bc = 0;
  pos = 0;
  constructor(readonly input: Uint8Array) {}
  /** Reads n <= 24 bits. */
  bits(n: number): number {
    const input = this.input;
    while (this.bc < n) {
      this.bb = (this.bb << 8) | (this.pos < input.length ? input[this.pos] : 0);
      this.pos++;
      this.bc += 8;
    }
    this.bc -= n;
    return (this.bb >>> this.bc) & ((1 << n) - 1);
  }
  /** Index of the byte holding the next unread bit. */
  bytePos(): number {
    return this.pos - (this.bc >> 3);
  }
  overrun(): boolean {
    return this.pos * 8 - this.bc > this.input.length * 8;
  }
}

/**
 * Decodes one block's Huffman-coded MTF/RLE2 symbols up to end-of-block into w.blk (the BWT's last column) and
 * counts the bytes in byteCount; returns the block length. The MTF list `mtf` is set up by the caller. Hot loop in
 * a function of its own, all state in locals (bit accumulator included, left in symBb/symBc/symPos for the caller at the end).
 */
function decodeSymbols(r: BitReader, w: Work, keep: number, eob: number, blockMax: number): number {
  byteCount.fill(0);
  let nblock = 0;
  let runLen = 0;
  let runShift = 0;
  let groupLeft = 0;
  let selIdx = 0;
  let lutBase = 0;
  let tb = 0;
  let permBase = 0;
  let gMax = 0;
  const first = w.first;
  const count = w.count;
  const offset = w.offset;
  const perm = w.perm;
  const lut = w.lut;
  const maxLens = w.maxLen;
  const selectors = w.selectors;
  const blk = w.blk;
  const input = r.input;
  const inLen = input.length;
  let bb = r.bb;
  let bc = r.bc;
  let pos = r.pos;
  for (;;) {
    if (groupLeft === 0) {
      if (selIdx >= keep) throw corrupt(CODEC, 'ran out of selectors', pos - (bc >> 3));
      if (pos * 8 - bc > inLen * 8) throw corrupt(CODEC, 'truncated input', inLen);
      const g = selectors[selIdx++];
      lutBase = g * LUT_SIZE;
      tb = g * (MAX_CODE_LEN + 1);
      permBase = g * MAX_ALPHA;
      gMax = maxLens[g];
      groupLeft = GROUP_SIZE;
    }
    groupLeft--;
    while (bc <= 24) {
      bb = (bb << 8) | (pos < inLen ? input[pos] : 0);
      pos++;
      bc += 8;
    }
    let sym: number;
    const e = lut[lutBase + ((bb >>> (bc - LUT_BITS)) & (LUT_SIZE - 1))];
    if (e !== 0) {
      bc -= e & 31;
      sym = e >>> 5;
    } else {
      sym = -1;
      for (let l = LUT_BITS + 1; l <= gMax; l++) {
        const c = (bb >>> (bc - l)) & ((1 << l) - 1);
        const idx = c - first[tb + l];
        if (idx >= 0 && idx < count[tb + l]) {
          bc -= l;
          sym = perm[permBase + offset[tb + l] + idx];
          break;
        }
      }
      if (sym < 0) throw corrupt(CODEC, 'invalid Huffman code', pos - (bc >> 3));
    }
    if (sym <= 1) {
      // RUNA / RUNB: bijective base-2 run length of the front MTF byte.
      runLen += (sym + 1) << runShift;
      runShift++;
      if (runLen > blockMax) throw corrupt(CODEC, 'run longer than the block size', pos - (bc >> 3));
      continue;
    }
    if (runLen > 0) {
      if (nblock + runLen > blockMax) throw corrupt(CODEC, 'block larger than its declared size', pos - (bc >> 3));
      const uc = mtf[0];
      byteCount[uc] += runLen;
      // Most runs are short (on mixed data 3 in 4 are under 4 bytes): a loop, not a call into fill.
      if (runLen <= 16) {
        for (let k = nblock + runLen; nblock < k; nblock++) blk[nblock] = uc;
      } else {
        blk.fill(uc, nblock, nblock + runLen);
        nblock += runLen;
      }
      runLen = 0;
      runShift = 0;
    }
    if (sym === eob) break;
    if (nblock >= blockMax) throw corrupt(CODEC, 'block larger than its declared size', pos - (bc >> 3));
    // MTF: symbol s means the byte at MTF position s-1 (1 <= s-1 < numInUse).
    const idx = sym - 1;
    const v = mtf[idx];
    if (idx < 16) {
      for (let k = idx; k > 0; k--) mtf[k] = mtf[k - 1];
    } else {
      mtf.copyWithin(1, 0, idx);
    }
    mtf[0] = v;
    byteCount[v]++;
    blk[nblock++] = v;
  }
  // The bit reader's state goes back through module variables, not r's fields: the loop is compiled (OSR) long
  // before it first ends, and a property store never run by then would throw the compiled code away on the spot
  // (an eager deopt at the end of the first blocks; a context slot store needs no type feedback).
  symBb = bb;
  symBc = bc;
  symPos = pos;
  return nblock;
}
let symBb = 0;
let symBc = 0;
let symPos = 0;

/** Decodes one or more concatenated bzip2 streams from `input`, filling `output` exactly. */
export function decodeBzip2(input: Uint8Array, output: Uint8Array): void {
  const w = getWork();
  const blk = w.blk;
  const selectors = w.selectors;
  const inLen = input.length;
  const outLen = output.length;
  let out = 0;

  const r = new BitReader(input);
  const bits = (n: number): number => r.bits(n);
  const bitPos = (): number => r.bytePos();
  const overrun = (): boolean => r.overrun();
  const truncated = (): DmgkitError => corrupt(CODEC, 'truncated input', inLen);

  let streams = 0;
  for (;;) {
    // ---- stream header ----
    const here = bitPos();
    if (here >= inLen) {
      if (streams === 0) throw corrupt(CODEC, 'empty input', 0);
      break;
    }
    if (streams > 0) {
      // After a stream: allow only zero padding, else another stream must start.
      if (input[here] === 0) {
        for (let i = here; i < inLen; i++) {
          if (input[i] !== 0) throw corrupt(CODEC, 'garbage after the end of the last stream', i);
        }
        break;
      }
    }
    if (inLen - here < 4 || input[here] !== 0x42 || input[here + 1] !== 0x5a || input[here + 2] !== 0x68) {
      throw corrupt(CODEC, streams === 0 ? 'bad magic (expected "BZh")' : 'garbage after a stream (expected "BZh")', here);
    }
    const level = input[here + 3] - 0x30;
    if (level < 1 || level > 9) throw corrupt(CODEC, `bad block size digit 0x${input[here + 3].toString(16)}`, here + 3);
    const blockMax = level * 100_000;
    r.pos = here + 4;
    r.bb = 0;
    r.bc = 0;
    streams++;
    let combined = 0;

    for (;;) {
      const blockPos = bitPos();
      const m1 = bits(24);
      const m2 = bits(24);
      if (overrun()) throw truncated();
      if (m1 === EOS_MAGIC_HI && m2 === EOS_MAGIC_LO) {
        const storedCombined = ((bits(16) << 16) | bits(16)) >>> 0;
        if (overrun()) throw truncated();
        if (storedCombined !== combined >>> 0) {
          throw corrupt(CODEC, `stream CRC mismatch (stored 0x${storedCombined.toString(16)}, computed 0x${(combined >>> 0).toString(16)})`, blockPos);
        }
        r.bc -= r.bc & 7; // byte-align
        break;
      }
      if (m1 !== BLOCK_MAGIC_HI || m2 !== BLOCK_MAGIC_LO) throw corrupt(CODEC, 'bad block magic', blockPos);
      const storedCrc = ((bits(16) << 16) | bits(16)) >>> 0;
      if (bits(1) !== 0) {
        // Only bzip2 0.9.0 wrote randomised blocks; in a disk image chunk the flag means damage.
        throw corrupt(CODEC, 'randomised block (a bzip2 0.9.0 feature, not supported)', blockPos);
      }
      const origPtr = bits(24);

      // ---- symbol map ----
      const used16 = bits(16);
      let numInUse = 0;
      for (let i = 0; i < 16; i++) {
        if (used16 & (0x8000 >>> i)) {
          const m = bits(16);
          for (let j = 0; j < 16; j++) if (m & (0x8000 >>> j)) seqToUnseq[numInUse++] = i * 16 + j;
        }
      }
      if (numInUse === 0) throw corrupt(CODEC, 'block uses no byte values', blockPos);
      const alphaSize = numInUse + 2;
      const eob = numInUse + 1;

      // ---- selectors ----
      const nGroups = bits(3);
      if (nGroups < MIN_GROUPS || nGroups > MAX_GROUPS) throw corrupt(CODEC, `bad number of Huffman groups ${nGroups}`, bitPos());
      const nSelectors = bits(15);
      if (nSelectors < 1) throw corrupt(CODEC, 'no selectors', bitPos());
      for (let i = 0; i < nGroups; i++) selMtf[i] = i;
      const keep = nSelectors < MAX_SELECTORS ? nSelectors : MAX_SELECTORS;
      for (let i = 0; i < nSelectors; i++) {
        let j = 0;
        while (bits(1) === 1) {
          j++;
          if (j >= nGroups) throw corrupt(CODEC, 'selector out of range', bitPos());
        }
        const v = selMtf[j];
        for (let k = j; k > 0; k--) selMtf[k] = selMtf[k - 1];
        selMtf[0] = v;
        if (i < keep) selectors[i] = v;
        if ((i & 1023) === 0 && overrun()) throw truncated();
      }

      // ---- code lengths ----
      const lens = w.lens;
      for (let g = 0; g < nGroups; g++) {
        let cur = bits(5);
        for (let s = 0; s < alphaSize; s++) {
          for (;;) {
            if (cur < 1 || cur > MAX_CODE_LEN) throw corrupt(CODEC, `code length ${cur} out of range`, bitPos());
            if (bits(1) === 0) break;
            cur += bits(1) === 0 ? 1 : -1;
          }
          lens[g * MAX_ALPHA + s] = cur;
        }
        if (overrun()) throw truncated();
        buildTables(w, g, alphaSize, bitPos());
      }

      // ---- Huffman / RLE2 / MTF decode into blk ----
      // The MTF lists hold byte values directly (initially the used bytes in order; entries past numInUse are
      // never reached, as an MTF index is below numInUse).
      for (let i = 0; i < numInUse; i++) mtf[i] = seqToUnseq[i];
      const nblock = decodeSymbols(r, w, keep, eob, blockMax);
      r.bb = symBb;
      r.bc = symBc;
      r.pos = symPos;
      if (overrun()) throw truncated();
      if (origPtr >= nblock) throw corrupt(CODEC, `origPtr ${origPtr} outside the block of ${nblock} bytes`, blockPos);

      // ---- inverse BWT, RLE1, CRC ----
      let sum = 0;
      for (let i = 0; i < 256; i++) {
        cftab[i] = sum;
        sum += byteCount[i];
      }
      buildLinks(w.tt, blk, nblock);
      out = walk(w.tt, nblock, origPtr, output, out);
      if (out > outLen) throw corrupt(CODEC, `output larger than the declared ${outLen} bytes`, blockPos);
      const crc = ~walkCrc >>> 0;
      if (crc !== storedCrc) {
        throw corrupt(CODEC, `block CRC mismatch (stored 0x${storedCrc.toString(16)}, computed 0x${crc.toString(16)})`, blockPos);
      }
      combined = ((combined << 1) | (combined >>> 31)) ^ crc;
    }
  }
  if (out !== outLen) throw corrupt(CODEC, `decoded ${out} bytes where ${outLen} were declared`, inLen);
}

export const bzip2Codec: Codec = { name: 'bzip2', decode: decodeBzip2 };
