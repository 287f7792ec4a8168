import {
  ADC_LITERAL_FLAG,
  ADC_LONG_MATCH_BIAS,
  ADC_LONG_MATCH_FLAG,
  ADC_LONG_MAX_DISTANCE,
  ADC_LONG_MAX_LENGTH,
  ADC_MAX_LITERAL,
  ADC_SHORT_MATCH_BIAS,
  ADC_SHORT_MAX_DISTANCE,
  ADC_SHORT_MAX_LENGTH,
} from './adc.js';
import { lzParse } from './lz-match.js';

/** ADC's shortest match (two-byte form); three-byte matches need at least 4. */
const ADC_MIN_MATCH = 3;

/**
 * Encode `input` as one ADC stream (decodable by decodeAdc, 7-Zip and hdiutil). Greedy hash-chain parse;
 * matches use the two-byte form when they fit (length ≤ 18, distance ≤ 1024), else the three-byte form.
 * Worst case (incompressible data) is about input.length × 129/128 bytes.
 */
export function encodeAdc(input: Uint8Array): Uint8Array {
  const parse = lzParse(input, {
    maxDistance: ADC_LONG_MAX_DISTANCE,
    minLength: ADC_MIN_MATCH,
    maxLength: ADC_LONG_MAX_LENGTH,
  });
  // Far 3-byte matches are stored as 4-byte literal runs, so allow 4/3 of the input plus run headers.
  const out = new Uint8Array(Math.ceil((input.length * 4) / 3) + Math.ceil(input.length / ADC_MAX_LITERAL) + 16);
  let op = 0;
  let ip = 0;
  for (let s = 0; s < parse.count; s++) {
    let lit = parse.litLen[s]!;
    while (lit > 0) {
      const run = Math.min(lit, ADC_MAX_LITERAL);
      out[op++] = ADC_LITERAL_FLAG | (run - 1);
      out.set(input.subarray(ip, ip + run), op);
      op += run;
      ip += run;
      lit -= run;
    }
    let len = parse.matchLen[s]!;
    const dist = parse.dist[s]!;
    ip += len;
    while (len > 0) {
      // A 3-byte long match can't be expressed by the long form (min 4) unless the distance is short.
      if (dist <= ADC_SHORT_MAX_DISTANCE && len <= ADC_SHORT_MAX_LENGTH) {
        const o = dist - 1;
        out[op++] = ((len - ADC_SHORT_MATCH_BIAS) << 2) | (o >> 8);
        out[op++] = o & 0xff;
        len = 0;
      } else if (len >= ADC_LONG_MATCH_BIAS) {
        // Leave either 0 or ≥ 4 bytes for the next piece.
        let piece = Math.min(len, ADC_LONG_MAX_LENGTH);
        if (len - piece > 0 && len - piece < ADC_LONG_MATCH_BIAS) piece = len - ADC_LONG_MATCH_BIAS;
        const o = dist - 1;
        out[op++] = ADC_LONG_MATCH_FLAG | (piece - ADC_LONG_MATCH_BIAS);
        out[op++] = o >> 8;
        out[op++] = o & 0xff;
        len -= piece;
      } else {
        // A 3-byte tail at a far distance: store as literals.
        out[op++] = ADC_LITERAL_FLAG | (len - 1);
        out.set(input.subarray(ip - len, ip), op);
        op += len;
        len = 0;
      }
    }
  }
  return out.slice(0, op);
}
