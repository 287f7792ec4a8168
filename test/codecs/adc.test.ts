import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAdc } from '../../src/codecs/adc.js';
import { encodeAdc } from '../../src/codecs/adc-encode.js';
import { DmgkitError } from '../../src/errors.js';
import { openUdif } from '../../src/udif/image.js';
import { buildDmg, sevenZipPartitions } from '../helpers/build-dmg.js';
import { expectedDisks, fixture, haveFixtures, listFixtures, sevenZip } from '../helpers/fixtures.js';
import { mixedData, padToSector, repetitiveData, textData } from './data.js';

const ADC = 0x80000004;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function decode(input: Uint8Array | number[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  decodeAdc(Uint8Array.from(input), out);
  return out;
}

function expectCorrupt(fn: () => unknown): DmgkitError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DmgkitError);
    expect((e as DmgkitError).code).toBe('CORRUPT_CHUNK');
    return e as DmgkitError;
  }
  throw new Error('expected CORRUPT_CHUNK, nothing was thrown');
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
