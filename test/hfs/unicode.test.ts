import { describe, expect, it } from 'vitest';
import { binaryCompareBE, fastUnicodeCompare, getFoldTable, hfsDecompose } from '../../src/hfs/unicode.js';

const u = (s: string) => Uint16Array.from(s, (c) => c.charCodeAt(0));
const be = (s: string) => {
  const b = new Uint8Array(2 * s.length);
  for (let i = 0; i < s.length; i++) {
    b[2 * i] = s.charCodeAt(i) >> 8;
    b[2 * i + 1] = s.charCodeAt(i) & 0xff;
  }
  return b;
};

describe('FastUnicodeCompare with the TN1150 fold table', () => {
  it('spot checks against TN1150 gLowerCaseTable entries', () => {
    const t = getFoldTable();
    const pairs: [number, number][] = [
      [0x0000, 0xffff], [0x0041, 0x0061], [0x00c0, 0x00c0], [0x00c6, 0x00e6], [0x00d7, 0x00d7], [0x00de, 0x00fe],
      [0x00b5, 0x00b5], [0x0100, 0x0100], [0x0110, 0x0111], [0x0130, 0x0130], [0x013f, 0x0140], [0x0178, 0x0178],
      [0x0181, 0x0253], [0x018e, 0x01dd], [0x01c4, 0x01c6], [0x01c5, 0x01c6], [0x01f2, 0x01f3], [0x0386, 0x0386],
      [0x0391, 0x03b1], [0x03a2, 0x03a2], [0x03a3, 0x03c3], [0x03e2, 0x03e3], [0x0401, 0x0401], [0x0402, 0x0452],
      [0x0419, 0x0419], [0x0410, 0x0430], [0x0476, 0x0476], [0x0480, 0x0481], [0x04c3, 0x04c4], [0x04d0, 0x04d0],
      [0x0531, 0x0561], [0x10a0, 0x10d0], [0x10c5, 0x10f5], [0x200b, 0x200b], [0x200c, 0], [0x202e, 0], [0x206f, 0],
      [0x2160, 0x2170], [0x1e00, 0x1e00], [0xfeff, 0], [0xff21, 0xff41], [0xff3b, 0xff3b],
    ];
    for (const [from, to] of pairs) expect(t[from], from.toString(16)).toBe(to);
  });

  it('ignorables are skipped, NUL sorts after everything, case folds', () => {
    expect(fastUnicodeCompare(u('a\u200db'), u('ab'))).toBe(0);
    expect(fastUnicodeCompare(u('README'), u('readme'))).toBe(0);
    expect(fastUnicodeCompare(u('\0\0\0\0HFS+ Private Data'), u('zzz'))).toBe(1);
    expect(fastUnicodeCompare(u('a'), u('ab'))).toBe(-1);
    expect(fastUnicodeCompare(u('B'), u('a'))).toBe(1);
  });

  it('binary order (HFSX 0xBC): code units, shorter prefix first', () => {
    expect(binaryCompareBE(be('README'), 0, 6, u('Readme'))).toBe(-1);
    expect(binaryCompareBE(be('ab'), 0, 2, u('abc'))).toBe(-1);
    expect(binaryCompareBE(be('abc'), 0, 3, u('abc'))).toBe(0);
  });

  it('HFS+ decomposition leaves U+2000–2FFF and CJK compatibility ideographs alone', () => {
    expect(hfsDecompose('é')).toBe('e\u0301');
    expect(hfsDecompose('\uf900')).toBe('\uf900'); // NFD would map it to U+8C48
    expect(hfsDecompose('\u2126')).toBe('\u2126'); // OHM SIGN: NFD gives U+03A9
    expect(hfsDecompose('한')).toBe('한'.normalize('NFD'));
  });
});
