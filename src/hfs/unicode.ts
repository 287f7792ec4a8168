/**
 * HFS+ name handling: Apple's case-insensitive ordering (FastUnicodeCompare, TN1150 "Case-Insensitive String
 * Comparison Algorithm"), binary ordering (HFSX 0xBC), UTF-16BE decoding with the catalog '/' <-> POSIX ':' swap,
 * and the HFS+ flavour of canonical decomposition used to turn a typed name into its stored form.
 *
 * The fold data below is the content of TN1150's gLowerCaseTable, re-encoded as (from, to) runs: every code unit
 * not listed folds to itself. Characters that fold to 0 are "ignorable" and skipped by the comparison; U+0000
 * folds to 0xFFFF so that it sorts last.
 */

/** Runs [first, last, delta, step]: for c = first; c <= last; c += step → c + delta. */
const FOLD_RUNS: readonly (readonly [number, number, number, number])[] = [
  [0x0041, 0x005a, 0x20, 1],
  [0x00c6, 0x00c6, 0x20, 1],
  [0x00d0, 0x00d0, 0x20, 1],
  [0x00d8, 0x00d8, 0x20, 1],
  [0x00de, 0x00de, 0x20, 1],
  [0x0110, 0x0110, 1, 1],
  [0x0126, 0x0126, 1, 1],
  [0x0132, 0x0132, 1, 1],
  [0x013f, 0x013f, 1, 1],
  [0x0141, 0x0141, 1, 1],
  [0x014a, 0x014a, 1, 1],
  [0x0152, 0x0152, 1, 1],
  [0x0166, 0x0166, 1, 1],
  [0x0182, 0x0184, 1, 2],
  [0x0187, 0x0187, 1, 1],
  [0x018b, 0x018b, 1, 1],
  [0x0191, 0x0191, 1, 1],
  [0x0198, 0x0198, 1, 1],
  [0x01a2, 0x01a4, 1, 2],
  [0x01a7, 0x01a7, 1, 1],
  [0x01ac, 0x01ac, 1, 1],
  [0x01b3, 0x01b5, 1, 2],
  [0x01b8, 0x01b8, 1, 1],
  [0x01bc, 0x01bc, 1, 1],
  [0x01c4, 0x01c4, 2, 1],
  [0x01c5, 0x01c5, 1, 1],
  [0x01c7, 0x01c7, 2, 1],
  [0x01c8, 0x01c8, 1, 1],
  [0x01ca, 0x01ca, 2, 1],
  [0x01cb, 0x01cb, 1, 1],
  [0x01e4, 0x01e4, 1, 1],
  [0x01f1, 0x01f1, 2, 1],
  [0x01f2, 0x01f2, 1, 1],
  [0x0391, 0x03a1, 0x20, 1],
  [0x03a3, 0x03a9, 0x20, 1],
  [0x03e2, 0x03ee, 1, 2],
  [0x0402, 0x0402, 0x50, 1],
  [0x0404, 0x0406, 0x50, 1],
  [0x0408, 0x040b, 0x50, 1],
  [0x040f, 0x040f, 0x50, 1],
  [0x0410, 0x0418, 0x20, 1],
  [0x041a, 0x042f, 0x20, 1],
  [0x0460, 0x0474, 1, 2],
  [0x0478, 0x0480, 1, 2],
  [0x0490, 0x04be, 1, 2],
  [0x04c3, 0x04c3, 1, 1],
  [0x04c7, 0x04c7, 1, 1],
  [0x04cb, 0x04cb, 1, 1],
  [0x0531, 0x0556, 0x30, 1],
  [0x10a0, 0x10c5, 0x30, 1],
  [0x2160, 0x216f, 0x10, 1],
  [0xff21, 0xff3a, 0x20, 1],
];
/** Single mappings that are not a constant delta. */
const FOLD_SINGLES: readonly (readonly [number, number])[] = [
  [0x0000, 0xffff],
  [0x0181, 0x0253], [0x0186, 0x0254], [0x0189, 0x0256], [0x018a, 0x0257], [0x018e, 0x01dd], [0x018f, 0x0259],
  [0x0190, 0x025b], [0x0193, 0x0260], [0x0194, 0x0263], [0x0196, 0x0269], [0x0197, 0x0268], [0x019c, 0x026f],
  [0x019d, 0x0272], [0x019f, 0x0275], [0x01a9, 0x0283], [0x01ae, 0x0288], [0x01b1, 0x028a], [0x01b2, 0x028b],
  [0x01b7, 0x0292],
];
/** Ignorable code units (fold to 0, skipped). */
const IGNORABLE_RUNS: readonly (readonly [number, number])[] = [
  [0x200c, 0x200f],
  [0x202a, 0x202e],
  [0x206a, 0x206f],
  [0xfeff, 0xfeff],
];

let foldTable: Uint16Array | null = null;

/** The fold table (65,536 entries), built once on first use. */
export function getFoldTable(): Uint16Array {
  if (foldTable) return foldTable;
  const t = new Uint16Array(0x10000);
  for (let i = 0; i < 0x10000; i++) t[i] = i;
  for (const [first, last, delta, step] of FOLD_RUNS) for (let c = first; c <= last; c += step) t[c] = c + delta;
  for (const [from, to] of FOLD_SINGLES) t[from] = to;
  for (const [first, last] of IGNORABLE_RUNS) for (let c = first; c <= last; c++) t[c] = 0;
  foldTable = t;
  return t;
}

/**
 * Apple's FastUnicodeCompare over UTF-16 code units: case-folds through the table, skips ignorables, and
 * returns <0, 0, >0. `a` is read from `abuf` (big-endian, `alen` code units at `aoff`); `b` is a code-unit array.
 */
export function fastUnicodeCompareBE(abuf: Uint8Array, aoff: number, alen: number, b: Uint16Array): number {
  const t = getFoldTable();
  let i = 0;
  let j = 0;
  const blen = b.length;
  for (;;) {
    let c1 = 0;
    let c2 = 0;
    while (i < alen && c1 === 0) {
      c1 = t[(abuf[aoff + 2 * i] << 8) | abuf[aoff + 2 * i + 1]];
      i++;
    }
    while (j < blen && c2 === 0) {
      c2 = t[b[j]];
      j++;
    }
    if (c1 !== c2) return c1 < c2 ? -1 : 1;
    if (c1 === 0) return 0;
  }
}

/** FastUnicodeCompare on two code-unit arrays. */
export function fastUnicodeCompare(a: Uint16Array, b: Uint16Array): number {
  const t = getFoldTable();
  let i = 0;
  let j = 0;
  for (;;) {
    let c1 = 0;
    let c2 = 0;
    while (i < a.length && c1 === 0) c1 = t[a[i++]];
    while (j < b.length && c2 === 0) c2 = t[b[j++]];
    if (c1 !== c2) return c1 < c2 ? -1 : 1;
    if (c1 === 0) return 0;
  }
}

/** Binary (HFSX 0xBC) comparison: code unit by code unit, a shorter prefix first. */
export function binaryCompareBE(abuf: Uint8Array, aoff: number, alen: number, b: Uint16Array): number {
  const n = Math.min(alen, b.length);
  for (let i = 0; i < n; i++) {
    const c1 = (abuf[aoff + 2 * i] << 8) | abuf[aoff + 2 * i + 1];
    const c2 = b[i];
    if (c1 !== c2) return c1 < c2 ? -1 : 1;
  }
  return alen === b.length ? 0 : alen < b.length ? -1 : 1;
}

const SLASH = 0x2f;
const COLON = 0x3a;

/** Scratch for name decoding (names are ≤ 255 code units; attribute names ≤ 127). */
const nameScratch = new Uint16Array(256);

/** Decodes a catalog name (UTF-16BE) to a POSIX name: catalog '/' becomes ':' and ':' becomes '/'. */
export function decodeCatalogName(buf: Uint8Array, off: number, units: number): string {
  if (units > nameScratch.length) units = nameScratch.length;
  for (let i = 0; i < units; i++) {
    let c = (buf[off + 2 * i] << 8) | buf[off + 2 * i + 1];
    if (c === SLASH) c = COLON;
    else if (c === COLON) c = SLASH;
    nameScratch[i] = c;
  }
  return String.fromCharCode.apply(null, nameScratch.subarray(0, units) as unknown as number[]);
}

/** Decodes UTF-16BE without the swap (xattr names). */
export function decodeUtf16be(buf: Uint8Array, off: number, units: number): string {
  if (units > nameScratch.length) units = nameScratch.length;
  for (let i = 0; i < units; i++) nameScratch[i] = (buf[off + 2 * i] << 8) | buf[off + 2 * i + 1];
  return String.fromCharCode.apply(null, nameScratch.subarray(0, units) as unknown as number[]);
}

/**
 * HFS+ canonical decomposition of a typed name: NFD, except that U+2000–U+2FFF, U+F900–U+FAFF and
 * U+2F800–U+2FAFF are left as they are (TN1150 "Canonical Decomposition").
 */
export function hfsDecompose(name: string): string {
  let out = '';
  let run = '';
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    const keep = (cp >= 0x2000 && cp <= 0x2fff) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2faff);
    if (keep) {
      out += run.normalize('NFD') + ch;
      run = '';
    } else run += ch;
  }
  return out + run.normalize('NFD');
}

/** Encodes a POSIX name to catalog code units: ':' becomes '/' and '/' becomes ':' (no normalization). */
export function encodeCatalogName(name: string): Uint16Array {
  const u = new Uint16Array(name.length);
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i);
    if (c === COLON) c = SLASH;
    else if (c === SLASH) c = COLON;
    u[i] = c;
  }
  return u;
}

/** A key for loose matching (NFC + Apple case fold + ignorables dropped), used as the fallback name match. */
export function looseNameKey(name: string, caseFold: boolean): string {
  const n = name.normalize('NFC');
  if (!caseFold) return n;
  const t = getFoldTable();
  const d = hfsDecompose(n);
  let s = '';
  for (let i = 0; i < d.length; i++) {
    const c = t[d.charCodeAt(i)];
    if (c !== 0) s += String.fromCharCode(c);
  }
  return s;
}
