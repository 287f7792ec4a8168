/**
 * XZ non-last filters, decoded in place over a block's fully decoded output (the output buffer holds the whole
 * block, so each filter runs once from the block start).
 *
 * - Delta (id 0x03): out[i] += out[i - distance].
 * - BCJ x86 (id 0x04): converts the absolute targets of E8/E9 (CALL/JMP rel32) back to relative ones. The rule set
 *   (which E8/E9 bytes count as instructions, from the pattern of recent E8/E9 bytes and of 00/FF high bytes) is
 *   the one described for the x86 BCJ filter of the LZMA SDK / xz; the last 4 bytes of a block are never converted.
 */

export function deltaDecode(out: Uint8Array, start: number, end: number, distance: number): void {
  for (let i = start + distance; i < end; i++) out[i] = (out[i] + out[i - distance]) & 0xff;
}

/** Indexed by (prevMask >> 1) & 7: may a conversion happen here, and which byte of the target to test. */
const X86_ALLOWED = [true, true, true, false, true, false, false, false];
const X86_BIT_NUMBER = [0, 1, 2, 2, 3, 3, 3, 3];

const isMsByte = (b: number): boolean => b === 0 || b === 0xff;

/** Undoes the x86 BCJ filter over out[start, end); `startOffset` is the filter's start offset property. */
export function x86Decode(out: Uint8Array, start: number, end: number, startOffset: number): void {
  const size = end - start;
  if (size < 5) return;
  let prevMask = 0;
  let prevPos = -5;
  const limit = size - 5;
  let i = 0;
  while (i <= limit) {
    const op = out[start + i];
    if (op !== 0xe8 && op !== 0xe9) {
      i++;
      continue;
    }
    const gap = i - prevPos;
    prevPos = i;
    if (gap > 5) prevMask = 0;
    else for (let k = 0; k < gap; k++) prevMask = (prevMask & 0x77) << 1;
    const p = start + i;
    const b4 = out[p + 4];
    if (isMsByte(b4) && X86_ALLOWED[(prevMask >>> 1) & 7] && prevMask >>> 1 < 0x10) {
      let src = ((b4 << 24) | (out[p + 3] << 16) | (out[p + 2] << 8) | out[p + 1]) >>> 0;
      let dest: number;
      for (;;) {
        dest = (src - ((startOffset + i + 5) >>> 0)) >>> 0;
        if (prevMask === 0) break;
        const n = X86_BIT_NUMBER[prevMask >>> 1];
        if (!isMsByte((dest >>> (24 - n * 8)) & 0xff)) break;
        src = (dest ^ ((1 << (32 - n * 8)) - 1)) >>> 0;
      }
      out[p + 4] = (dest >>> 24) & 1 ? 0xff : 0x00;
      out[p + 3] = dest >>> 16;
      out[p + 2] = dest >>> 8;
      out[p + 1] = dest;
      i += 5;
      prevMask = 0;
    } else {
      i++;
      prevMask |= 1;
      if (isMsByte(b4)) prevMask |= 0x10;
    }
  }
}
