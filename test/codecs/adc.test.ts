import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adcWarmUp, decodeAdc } from '../../src/codecs/adc.js';
import { encodeAdc } from '../../src/codecs/adc-encode.js';
import { DmgkitError } from '../../src/errors.js';
import { openUdif } from '../../src/udif/open-udif.js';
import { buildDmg, sevenZipPartitions } from '../helpers/build-dmg.js';
import { expectedDisks, fixture, haveFixtures, listFixtures, sevenZip } from '../helpers/fixtures.js';
import { mixedData, padToSector, repetitiveData, textData } from './data.js';
import { expectCorrupt } from '../helpers/errors.js';

const ADC = 0x80000004;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function decode(input: Uint8Array | number[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  decodeAdc(Uint8Array.from(input), out);
  return out;
}


describe('decodeAdc opcode forms (format rules from dmg2img adc.c / libMirage adc.c)', () => {
  it('literal run: 1LLLLLLL copies (b & 0x7F) + 1 bytes', () => {
    expect(Array.from(decode([0x82, 1, 2, 3], 3))).toEqual([1, 2, 3]);
    const long = randomBytes(128);
    expect(Buffer.from(decode([0xff, ...long], 128))).toEqual(long);
  });
  it('two-byte match: 00LLLLOO OOOOOOOO, length ((b>>2)&15)+3, distance offset+1', () => {
    // "ab" then a 3-byte match at distance 2 -> "ababa"
    expect(Array.from(decode([0x81, 0x61, 0x62, 0x00, 0x01], 5))).toEqual([0x61, 0x62, 0x61, 0x62, 0x61]);
    // run: distance 1, length 18 (field 15)
    expect(Array.from(decode([0x80, 9, 0x3c, 0x00], 19))).toEqual(new Array(19).fill(9));
    // 10-bit offset: high bits in b & 3 -> distance 0x201 + 1 = 514
    const lit = randomBytes(600);
    const enc = [0xff, ...lit.subarray(0, 128), 0xff, ...lit.subarray(128, 256), 0xff, ...lit.subarray(256, 384)];
    enc.push(0xff, ...lit.subarray(384, 512), 0xd7, ...lit.subarray(512, 600));
    enc.push(0x02 | (1 << 2), 0x01); // length 4, offset 0x201
    const out = decode(enc, 604);
    expect(Buffer.from(out.subarray(600))).toEqual(Buffer.from(out.subarray(600 - 514, 600 - 514 + 4)));
  });
  it('three-byte match: 01LLLLLL + u16be offset, length (b & 0x3F) + 4, distance offset+1', () => {
    const lit = randomBytes(100);
    const enc = [0xe3, ...lit, 0x40 | 63, 0x00, 99]; // length 67 at distance 100
    const out = decode(enc, 167);
    for (let i = 100; i < 167; i++) expect(out[i]).toBe(out[i - 100]);
  });
  it('empty input fills an empty output', () => {
    expect(decode([], 0).length).toBe(0);
  });
});

describe('decodeAdc rejects malformed input with CORRUPT_CHUNK', () => {
  it('match before the start of the output', () => {
    expectCorrupt(() => decode([0x00, 0x00], 3));
    expectCorrupt(() => decode([0x80, 1, 0x40, 0x00, 0x01], 6));
  });
  it('literal or match running past the end of the output', () => {
    expectCorrupt(() => decode([0x82, 1, 2, 3], 2));
    expectCorrupt(() => decode([0x80, 1, 0x3c, 0x00], 10));
  });
  it('truncated opcodes and literal runs', () => {
    expectCorrupt(() => decode([0x85, 1, 2], 6));
    expectCorrupt(() => decode([0x80, 1, 0x00], 4));
    expectCorrupt(() => decode([0x80, 1, 0x40, 0x00], 5));
  });
  it('output underrun (declared size larger than the stream produces)', () => {
    const e = expectCorrupt(() => decode([0x82, 1, 2, 3], 4));
    expect(e.message).toMatch(/3 of 4/);
  });
  it('wrong declared size of a real encoded chunk, either way', () => {
    const data = mixedData(20000, 7);
    const enc = encodeAdc(data);
    expectCorrupt(() => decodeAdc(enc, new Uint8Array(data.length - 1)));
    expectCorrupt(() => decodeAdc(enc, new Uint8Array(data.length + 1)));
  });
  it('truncated or bit-flipped streams: correct output or CORRUPT_CHUNK, nothing else', () => {
    const data = mixedData(8192, 3);
    const enc = encodeAdc(data);
    fc.assert(
      fc.property(fc.nat(enc.length - 1), fc.nat(7), fc.boolean(), (pos, bit, truncate) => {
        const bad = truncate ? enc.slice(0, pos) : Uint8Array.from(enc);
        if (!truncate) bad[pos]! ^= 1 << bit;
        const out = new Uint8Array(data.length);
        try {
          decodeAdc(bad, out);
        } catch (e) {
          expect(e).toBeInstanceOf(DmgkitError);
          expect((e as DmgkitError).code).toBe('CORRUPT_CHUNK');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

/**
 * A random but valid ADC stream built opcode by opcode (not by the encoder, which never emits some shapes):
 * every form, every length, distances 1..20 (overlapping copies) mixed with far ones, ending exactly at `size`.
 */
function randomStream(size: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const rnd = (n: number): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  const enc: number[] = [];
  let op = 0;
  while (op < size) {
    const left = size - op;
    const kind = op === 0 ? 0 : rnd(3);
    if (kind === 0 || left < 3) {
      const len = 1 + rnd(Math.min(128, left));
      enc.push(0x80 | (len - 1));
      for (let i = 0; i < len; i++) enc.push(rnd(4) === 0 ? 0 : rnd(256));
      op += len;
    } else if (kind === 1) {
      const len = 3 + rnd(Math.min(18, left) - 2);
      const dist = 1 + (rnd(2) ? rnd(Math.min(20, op)) : rnd(Math.min(1024, op)));
      enc.push(((len - 3) << 2) | ((dist - 1) >> 8), (dist - 1) & 0xff);
      op += len;
    } else {
      if (left < 4) continue;
      const len = 4 + rnd(Math.min(67, left) - 3);
      const dist = 1 + (rnd(2) ? rnd(Math.min(20, op)) : rnd(Math.min(65536, op)));
      enc.push(0x40 | (len - 4), (dist - 1) >> 8, (dist - 1) & 0xff);
      op += len;
    }
  }
  return Uint8Array.from(enc);
}

describe('decodeAdc fast paths and buffer ends', () => {
  const sz = sevenZip();
  it.runIf(sz)('opcode-level random streams (overlapping matches, elements ending at the buffer ends): 7-Zip agrees', () => {
    // Decoded by 7-Zip from a UDCO image; the chunk checksum comes from decodeAdc's output, so 7-Zip checks it too.
    const chunks = [512, 4096, 65536, 200 * 512].map((size, i) => {
      const payload = randomStream(size, 0x9e3779b9 + i);
      const decoded = new Uint8Array(size);
      decodeAdc(payload, decoded);
      return { type: ADC, payload, decoded };
    });
    const parts = sevenZipPartitions(sz!, buildDmg(chunks));
    const whole = Buffer.concat(chunks.map((c) => c.decoded));
    expect(sha256([...parts.values()][0]!)).toBe(sha256(whole));
  });
  it('every match length at every distance 1..20, near and at the output end, repeats byte by byte', () => {
    // Spec: output[i] = output[i - distance] for each byte in order. Checked byte by byte here, for matches far
    // from the end (block copies with over-copy) and matches that end exactly at the output end (exact loop).
    const prefix = randomBytes(40);
    for (const long of [false, true]) {
      for (let len = long ? 4 : 3; len <= (long ? 67 : 18); len++) {
        for (let dist = 1; dist <= 20; dist++) {
          const op = long ? [0x40 | (len - 4), 0, dist - 1] : [((len - 3) << 2), dist - 1];
          for (const tail of [0, 1, 7, 8, 9, 30]) {
            const enc = [0x80 | 39, ...prefix, ...op];
            if (tail) enc.push(0x80 | (tail - 1), ...new Array<number>(tail).fill(0xee));
            const out = decode(enc, 40 + len + tail);
            let bad = -1;
            for (let i = 40; i < out.length && bad < 0; i++) if (out[i] !== (i < 40 + len ? out[i - dist] : 0xee)) bad = i;
            expect(bad, `len ${len} dist ${dist} tail ${tail}`).toBe(-1);
            expect(Buffer.from(out.subarray(0, 40))).toEqual(prefix);
          }
        }
      }
    }
  });
  it('literal runs ending at the output end decode exactly; one byte less of output is an overrun', () => {
    for (let n = 1; n <= 128; n++) {
      const lit = randomBytes(n);
      const enc = Uint8Array.from([0x80 | (n - 1), ...lit]);
      const out = new Uint8Array(n);
      decodeAdc(enc, out);
      expect(Buffer.from(out)).toEqual(lit);
      expect(expectCorrupt(() => decodeAdc(enc, new Uint8Array(n - 1))).message).toMatch(/overruns/);
    }
    // A real chunk with its output cut short by a few bytes: the overrun is reported, whichever element hits it.
    const data = mixedData(30000, 11);
    const enc = encodeAdc(data);
    for (const cut of [1, 2, 3, 7, 8, 9, 17, 100]) {
      expect(expectCorrupt(() => decodeAdc(enc, new Uint8Array(data.length - cut))).message).toMatch(/overruns/);
    }
  });
  it('errors far from the buffer ends are reported the same as near them', () => {
    const lit = [...randomBytes(384)];
    const head = [0xff, ...lit.slice(0, 128), 0xff, ...lit.slice(128, 256), 0xff, ...lit.slice(256)];
    const tail = [0xff, ...new Array<number>(128).fill(7)];
    // Three-byte match at distance 1000 from output position 384; two-byte match at distance 1024 from 384.
    const far = expectCorrupt(() => decode([...head, 0x40, 0x03, 0xe7, ...tail], 2000));
    expect(far.message).toMatch(/match distance 1000 reaches before the start of the output \(at 384\)/);
    expect(far.message).toMatch(/387/);
    const near = expectCorrupt(() => decode([...head, 0x03, 0xff, ...tail], 2000));
    expect(near.message).toMatch(/match distance 1024 reaches before the start of the output \(at 384\)/);
  });
  it('reads nothing past input.length: a literal run cut at the input end is truncated, not padded', () => {
    // The output has room to spare, so only the input end can stop the run.
    for (let n = 2; n <= 128; n++) {
      for (const have of [1, n - 1]) {
        const enc = Uint8Array.from([0x80 | (n - 1), ...new Array<number>(have).fill(1)]);
        const e = expectCorrupt(() => decodeAdc(enc, new Uint8Array(n + 200)));
        expect(e.message).toMatch(/literal run of \d+ bytes truncated/);
      }
    }
  });
});

describe.runIf(haveFixtures())('decodeAdc on the real UDCO fixtures, against 7-Zip', () => {
  const expected = new Map(expectedDisks().map((d) => [d.file, d]));
  const files = listFixtures((n) => n.startsWith('udco_'));
  it('has UDCO fixtures to test', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });
  for (const name of files) {
    it(`${name}: every partition matches the sha256 7-Zip decodes`, async () => {
      const file = new Uint8Array(readFileSync(fixture(name)));
      const want = expected.get(name)!.partitions!;
      // The block tables come from the UDIF reader; every ADC chunk is decoded here with decodeAdc.
      const image = await openUdif(file);
      expect(image.partitions.length).toBe(want.length);
      const disk = new Uint8Array(image.size);
      let adcChunks = 0;
      for (const c of image.chunks) {
        const dst = disk.subarray(c.outOffset, c.outOffset + c.outLength);
        const src = file.subarray(c.inOffset, c.inOffset + c.inLength);
        if (c.type === ADC) {
          decodeAdc(src, dst);
          adcChunks++;
        } else if (c.type === 1) dst.set(src);
        else expect([0, 2, 0x7ffffffe, 0xffffffff]).toContain(c.type);
      }
      expect(adcChunks).toBeGreaterThan(0);
      image.partitions.forEach((p, i) => {
        const part = disk.subarray(p.offset, p.offset + p.size);
        expect({ bytes: part.length, sha256: sha256(part) }).toEqual({ bytes: want[i]!.bytes, sha256: want[i]!.sha256 });
      });
    });
  }
});

describe('encodeAdc', () => {
  const sz = sevenZip();
  const cases: [string, Uint8Array][] = [
    ['random', new Uint8Array(randomBytes(100_000))],
    ['text', textData(300_000, 1)],
    ['repetitive', repetitiveData(300_000, 2)],
    ['mixed 1 MiB', mixedData(1 << 20, 3)],
    ['zeros', new Uint8Array(70_000)],
  ];
  for (const [label, data] of cases) {
    it(`${label}: decodes back with decodeAdc`, () => {
      const enc = encodeAdc(data);
      const out = new Uint8Array(data.length);
      decodeAdc(enc, out);
      expect(Buffer.compare(out, data)).toBe(0);
      if (label !== 'random') expect(enc.length).toBeLessThan(data.length);
    });
  }
  it.runIf(sz)('output is decoded by 7-Zip inside a UDCO image (random, text, repetitive, mixed)', () => {
    const chunks = cases.map(([, d]) => {
      const decoded = padToSector(d);
      return { type: ADC, payload: encodeAdc(decoded), decoded };
    });
    const parts = sevenZipPartitions(sz!, buildDmg(chunks));
    const whole = Buffer.concat(chunks.map((c) => c.decoded));
    expect(parts.size).toBe(1);
    const got = [...parts.values()][0]!;
    expect(got.length).toBe(whole.length);
    expect(sha256(got)).toBe(sha256(whole));
  });
  it.runIf(sz)('property: arbitrary data, one chunk per sample, 7-Zip agrees', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 30 }), fc.integer({ min: 1, max: 200_000 }), fc.nat(3), (seed, n, kind) => {
        const gen = [mixedData, textData, repetitiveData, (k: number) => new Uint8Array(randomBytes(k))][kind]!;
        const decoded = padToSector(gen(n, seed));
        const parts = sevenZipPartitions(sz!, buildDmg([{ type: ADC, payload: encodeAdc(decoded), decoded }]));
        expect(sha256([...parts.values()][0]!)).toBe(sha256(decoded));
      }),
      { numRuns: 12 },
    );
  });
  it.runIf(sz)('a damaged chunk makes 7-Zip report a CRC error (the oracle check can fail)', () => {
    const decoded = padToSector(textData(20_000, 9));
    const payload = encodeAdc(decoded);
    payload[payload.length >> 1]! ^= 0x01;
    expect(() => sevenZipPartitions(sz!, buildDmg([{ type: ADC, payload, decoded }]))).toThrow(/CRC|Data Error|ERROR/i);
  });
});

describe('ADC warm-up (type feedback for every path before V8 optimizes)', () => {
  it('its constant stream decodes', () => {
    expect(adcWarmUp()).toBe(true);
  });
});
