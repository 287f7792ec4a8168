import { LzmaEncoder, MATCH_LEN_MAX, lzmaPreset, type LzmaOptions } from './lzma-encode.js';

/**
 * LZMA2 framing around the LZMA encoder (src/codecs/lzma-encode.ts): the input is cut into chunks of at most
 * 2 MiB unpacked and 64 KiB packed, each range-coded separately with the state carried over. Chunk control
 * bytes (the format our decoder, src/codecs/lzma.ts decodeLzma2, reads):
 * - 0xE0 first LZMA chunk: dictionary reset + new properties + state reset; 0x80 later chunks (state kept);
 * - 0x01 / 0x02 uncompressed chunk (≤ 64 KiB) with / without dictionary reset, written when a chunk's LZMA
 *   coding is not smaller than its bytes; the encoder then resets its state, so the next LZMA chunk is 0xA0
 *   (state reset), or 0xC0 when no properties were sent yet (the stream began with an uncompressed chunk);
 * - 0x00 end of data.
 * LZMA chunk header: control | (unpacked - 1) >> 16, (unpacked - 1) as u16 BE, (packed - 1) as u16 BE, then the
 * properties byte when control >= 0xC0. The dictionary resets only at the start, so positions (pos state,
 * literal position bits) count from the first byte.
 */

const CTRL_END = 0x00;
const CTRL_COPY_RESET = 0x01;
const CTRL_COPY = 0x02;
const CTRL_LZMA = 0x80;
const CTRL_RESET_STATE = 0xa0;
const CTRL_RESET_PROPS = 0xc0;
const CTRL_RESET_DICT = 0xe0;
const COPY_MAX = 1 << 16;
const PACKED_MAX = 1 << 16;
/** An LZMA chunk stops before 2 MiB unpacked, leaving room for a whole parse window (4096 + 273 bytes). */
const UNPACKED_STOP = (1 << 21) - 4096 - 2 * MATCH_LEN_MAX;

let shared: LzmaEncoder | null = null;
let outBuf = new Uint8Array(1 << 16);

function ensure(len: number): void {
  if (outBuf.length >= len) return;
  let n = outBuf.length * 2;
  while (n < len) n *= 2;
  const b = new Uint8Array(n);
  b.set(outBuf);
  outBuf = b;
}

/**
 * Encodes `input` as a raw LZMA2 stream (chunks + end byte) with the given LZMA options or xz preset.
 * Returns a new array.
 */
export function encodeLzma2(input: Uint8Array, options: LzmaOptions | number = 6): Uint8Array {
  const o = typeof options === 'number' ? lzmaPreset(options) : options;
  if (o.lc + o.lp > 4 || o.lc < 0 || o.lp < 0 || o.pb < 0 || o.pb > 4) throw new RangeError('LZMA2 needs lc + lp <= 4 and pb <= 4');
  const enc = (shared ??= new LzmaEncoder());
  enc.begin(input, o);
  try {
    let out = 0;
    let first = true;
    let needProps = true;
    let needStateReset = false;
    const n = input.length;
    while (enc.pos < n) {
      const start = enc.pos;
      const run = enc.incompressibleRun(COPY_MAX);
      if (run > 0) {
        // Random-looking bytes (LzmaEncoder.probeRandom): stored without coding them first.
        ensure(out + run + 3);
        outBuf[out++] = first ? CTRL_COPY_RESET : CTRL_COPY;
        outBuf[out++] = (run - 1) >>> 8;
        outBuf[out++] = (run - 1) & 0xff;
        outBuf.set(input.subarray(start, start + run), out);
        out += run;
        first = false;
        enc.skipStored(run);
        enc.resetState();
        needStateReset = true;
        continue;
      }
      const packed = enc.encodeChunk(UNPACKED_STOP, PACKED_MAX);
      const unpacked = enc.pos - start;
      if (packed > PACKED_MAX) throw new Error(`internal: LZMA2 chunk packed to ${packed} bytes`);
      if (packed + 6 < unpacked + 3 * Math.ceil(unpacked / COPY_MAX)) {
        const ctrl = first ? CTRL_RESET_DICT : needProps ? CTRL_RESET_PROPS : needStateReset ? CTRL_RESET_STATE : CTRL_LZMA;
        ensure(out + packed + 6);
        outBuf[out++] = ctrl | ((unpacked - 1) >>> 16);
        outBuf[out++] = ((unpacked - 1) >>> 8) & 0xff;
        outBuf[out++] = (unpacked - 1) & 0xff;
        outBuf[out++] = (packed - 1) >>> 8;
        outBuf[out++] = (packed - 1) & 0xff;
        if (ctrl >= CTRL_RESET_PROPS) outBuf[out++] = enc.propsByte();
        outBuf.set(enc.rcBuf.subarray(0, packed), out);
        out += packed;
        needProps = false;
        needStateReset = false;
      } else {
        // Incompressible: store the bytes; the decoder's LZMA state did not see this chunk's symbols.
        ensure(out + unpacked + 3 * Math.ceil(unpacked / COPY_MAX));
        for (let p = start; p < start + unpacked; p += COPY_MAX) {
          const size = Math.min(COPY_MAX, start + unpacked - p);
          outBuf[out++] = first ? CTRL_COPY_RESET : CTRL_COPY;
          outBuf[out++] = (size - 1) >>> 8;
          outBuf[out++] = (size - 1) & 0xff;
          outBuf.set(input.subarray(p, p + size), out);
          out += size;
          first = false;
        }
        enc.resetState();
        needStateReset = true;
      }
      first = false;
    }
    ensure(out + 1);
    outBuf[out++] = CTRL_END;
    return outBuf.slice(0, out);
  } finally {
    enc.end();
  }
}
