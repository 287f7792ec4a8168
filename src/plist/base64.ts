/**
 * Base64 (RFC 4648, standard alphabet, `=` padding) without Node's Buffer, for the `<data>` values of XML
 * property lists. The decoder skips ASCII whitespace (plists wrap and indent their base64) and reports the
 * first byte that is not base64.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ENC = new Uint8Array(64);
/** Byte → 6-bit value; 64 = whitespace (skipped), 65 = '=', 255 = invalid. */
const DEC = new Uint8Array(256).fill(255);
for (let i = 0; i < 64; i++) {
  ENC[i] = ALPHABET.charCodeAt(i);
  DEC[ALPHABET.charCodeAt(i)] = i;
}
for (const c of [0x20, 0x09, 0x0a, 0x0d, 0x0c]) DEC[c] = 64;
DEC[0x3d] = 65;

/** Where a base64 text stopped being valid: the index of the offending byte in the input. */
export class Base64Error extends Error {
  constructor(readonly index: number, message: string) {
    super(message);
  }
}

/** Upper bound of the decoded length of `len` bytes of base64 text. */
export function base64DecodedBound(len: number): number {
  return Math.floor(len / 4) * 3 + 3;
}

/** Decodes base64 text held as ASCII bytes (`text[start, end)`), skipping whitespace. */
export function decodeBase64Bytes(text: Uint8Array, start = 0, end = text.length): Uint8Array {
  const out = new Uint8Array(base64DecodedBound(end - start));
  let o = 0;
  let acc = 0;
  let n = 0; // sextets in acc
  let pad = 0;
  for (let i = start; i < end; i++) {
    const v = DEC[text[i]!]!;
    if (v < 64) {
      if (pad) throw new Base64Error(i, 'base64 text goes on after its "=" padding');
      acc = (acc << 6) | v;
      if (++n === 4) {
        out[o++] = acc >>> 16;
        out[o++] = (acc >>> 8) & 0xff;
        out[o++] = acc & 0xff;
        acc = 0;
        n = 0;
      }
    } else if (v === 64) {
      continue;
    } else if (v === 65) {
      if (n < 2 || n + ++pad > 4) throw new Base64Error(i, 'misplaced "=" in base64 text');
      if (n + pad === 4) {
        if (n === 2) out[o++] = acc >>> 4;
        else {
          out[o++] = acc >>> 10;
          out[o++] = (acc >>> 2) & 0xff;
        }
        acc = 0;
        n = 0;
      }
    } else {
      throw new Base64Error(i, `byte 0x${text[i]!.toString(16).padStart(2, '0')} is not base64`);
    }
  }
  if (pad && n !== 0) throw new Base64Error(end, 'base64 padding is incomplete');
  if (n === 1) throw new Base64Error(end, 'base64 text ends with a lone character');
  // unpadded tail (tolerated, as Apple's and Python's decoders do)
  if (n === 2) out[o++] = acc >>> 4;
  else if (n === 3) {
    out[o++] = acc >>> 10;
    out[o++] = (acc >>> 2) & 0xff;
  }
  return out.subarray(0, o);
}

/** Decodes a base64 string (whitespace skipped). */
export function decodeBase64(text: string): Uint8Array {
  const b = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    b[i] = c < 0x80 ? c : 0xff; // any non-ASCII character is invalid
  }
  return decodeBase64Bytes(b);
}

/** Encodes bytes as base64 ASCII bytes (padded, one line). */
export function encodeBase64Bytes(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 3 <= data.length; i += 3) {
    const v = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!;
    out[o++] = ENC[v >>> 18]!;
    out[o++] = ENC[(v >>> 12) & 63]!;
    out[o++] = ENC[(v >>> 6) & 63]!;
    out[o++] = ENC[v & 63]!;
  }
  const rest = data.length - i;
  if (rest > 0) {
    const v = (data[i]! << 16) | (rest === 2 ? data[i + 1]! << 8 : 0);
    out[o++] = ENC[v >>> 18]!;
    out[o++] = ENC[(v >>> 12) & 63]!;
    out[o++] = rest === 2 ? ENC[(v >>> 6) & 63]! : 0x3d;
    out[o++] = 0x3d;
  }
  return out;
}

/** Encodes bytes as a base64 string. */
export function encodeBase64(data: Uint8Array): string {
  const b = encodeBase64Bytes(data);
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return s;
}
