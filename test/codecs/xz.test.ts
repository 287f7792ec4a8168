import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeXz, xzCodec } from '../../src/codecs/xz.js';
import { DmgkitError } from '../../src/errors.js';
import { crc32 } from '../../src/util/crc32.js';
import { run, sevenZip } from '../helpers/fixtures.js';
import { CHUNK_LZMA } from '../../src/udif/chunk-types.js';
import { shapedData } from './data.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectCode as expectError } from '../helpers/errors.js';
import { describeFixtureChunks } from '../helpers/codec-fixtures.js';

/** Independent oracle: the native xz tool (liblzma). */
const xz = (data: Uint8Array, ...args: string[]): Uint8Array => new Uint8Array(run('xz', ['-c', '-T1', ...args], data));

/** xz's shapes: kinds 0-3 as shapedData, 4 the mixed regions (shapedData kind 5); patterns up to 5000 long. */
const makeData = (kind: number, size: number, seed: number): Uint8Array => shapedData(kind === 4 ? 5 : kind, size, seed, 5000);

function decode(input: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  decodeXz(input, out);
  return out;
}


const SETTINGS: string[][] = [
  ['-0'],
  ['-1', '--check=none'],
  ['-6', '--check=crc32'],
  ['-6', '--check=crc64'],
  ['-3', '--check=sha256'],
  ['-6e'],
  ['--lzma2=preset=6,dict=4KiB'],
  ['--lzma2=preset=1,dict=64KiB,lc=0,lp=2,pb=0'],
  ['--lzma2=preset=6,lc=4,lp=0,pb=4'],
  ['--lzma2=preset=2,mode=fast,mf=hc4,nice=273'],
  ['--lzma2=preset=9,dict=1MiB,nice=273,depth=0'],
  ['-6', '--block-size=20000'],
  // multi-threaded xz writes both sizes into every block header (as hdiutil does); -T1 writes neither
  ['-T2', '-3', '--block-size=30000', '--check=crc64'],
  ['--format=lzma', '-6'],
  ['--format=lzma', '--lzma1=preset=1,lc=4,lp=0,pb=0'],
  ['--delta=dist=4', '--lzma2=preset=1'],
  ['--x86', '--lzma2=preset=1'],
  ['--x86=start=4096', '--delta=dist=3', '--lzma2=preset=0', '--block-size=50000'],
];

describe('XZ decoder against the native xz tool', () => {
  it('decodes shaped inputs under many presets, checks and LZMA2/LZMA1 settings (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 60_000, max: 300_000 })),
        fc.constantFrom(...SETTINGS),
        fc.integer({ min: 1, max: 0x7fffffff }),
        (kind, size, settings, seed) => {
          const data = makeData(kind, size, seed);
          expect(decode(xz(data, ...settings), size)).toEqual(data);
        },
      ),
      { numRuns: 45 },
    );
  });

  it('decodes empty and single-byte streams in both formats', () => {
    for (const args of [['--check=crc64'], ['--check=sha256'], ['--format=lzma']]) {
      expect(decode(xz(new Uint8Array(0), ...args), 0)).toEqual(new Uint8Array(0));
      expect(decode(xz(new Uint8Array([7]), ...args), 1)).toEqual(new Uint8Array([7]));
    }
  });

  it('decodes concatenated streams with stream padding', () => {
    const a = makeData(3, 40_000, 1);
    const b = makeData(0, 20_000, 2);
    const ca = xz(a, '--check=crc32');
    const cb = xz(b, '--check=sha256');
    const joined = new Uint8Array([...ca, 0, 0, 0, 0, ...cb, 0, 0, 0, 0, 0, 0, 0, 0]);
    const out = decode(joined, a.length + b.length);
    expect(out).toEqual(new Uint8Array([...a, ...b]));
    expect(new Uint8Array(run('xz', ['-dc'], joined))).toEqual(out);
    // padding that is not a multiple of 4 is corrupt (xz says so too)
    expectError(() => decode(new Uint8Array([...ca, 0, 0, ...cb]), a.length + b.length));
  });

  it('decodes a .lzma with a known size and no end marker (LZMA1 stream written by 7-Zip)', () => {
    const z = sevenZip();
    if (!z) return;
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-lzma-'));
    try {
      const data = makeData(4, 200_000, 5);
      writeFileSync(join(dir, 'in.bin'), data);
      // A .7z with one LZMA (eos off) coder and an uncompressed header: the packed stream runs from byte 32 to
      // the next-header offset; the coder record 03 01 01 05 carries the 5 props bytes.
      // lc=3 lp=0 pb=2 (defaults) and the extremes lc=8 lp=4 that only LZMA1 allows
      for (const [i, method] of ['LZMA:d=1m:eos=off', 'LZMA:d=64k:lc=8:lp=4:pb=0:eos=off'].entries()) {
        const archive = join(dir, `out${i}.7z`);
        run(z, ['a', '-t7z', `-m0=${method}`, '-mhc=off', '-mhe=off', archive, join(dir, 'in.bin')]);
        const sz = new Uint8Array(readFileSync(archive));
        const nextHeader = Number(new DataView(sz.buffer, sz.byteOffset).getBigUint64(12, true));
        const header = Buffer.from(sz.subarray(32 + nextHeader));
        const coder = header.indexOf(Buffer.from([0x03, 0x01, 0x01, 0x05]));
        expect(coder).toBeGreaterThan(0);
        const alone = new Uint8Array(13 + nextHeader);
        alone.set(header.subarray(coder + 4, coder + 9), 0);
        new DataView(alone.buffer).setBigUint64(5, BigInt(data.length), true);
        alone.set(sz.subarray(32, 32 + nextHeader), 13);
        expect(decode(alone, data.length)).toEqual(data);
        expectError(() => decode(alone, data.length + 1));
        expectError(() => decode(alone.subarray(0, alone.length - 1), data.length));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('decodes a .lzma with a known size and an end marker', () => {
    const data = makeData(3, 50_000, 8);
    const packed = xz(data, '--format=lzma');
    // xz writes size -1 + end marker; write the real size into the header (liblzma allows a marker with a size)
    const sized = packed.slice();
    new DataView(sized.buffer).setBigUint64(5, BigInt(data.length), true);
    expect(decode(sized, data.length)).toEqual(data);
    expect(new Uint8Array(run('xz', ['-dc', '--format=lzma'], sized))).toEqual(data);
  });

  it('undoes the x86 BCJ filter on real executables', () => {
    for (const path of ['/usr/bin/xz', '/usr/bin/bzip2']) {
      const data = new Uint8Array(readFileSync(path));
      expect(decode(xz(data, '--x86', '--lzma2=preset=1'), data.length)).toEqual(data);
    }
  });

  it('names filters it does not implement', () => {
    const data = makeData(3, 10_000, 9);
    const e = expectError(() => decode(xz(data, '--sparc', '--lzma2=preset=1'), data.length), 'UNSUPPORTED_CODEC');
    expect(e.message).toMatch(/0x9 \(BCJ SPARC\)/);
  });

  it('exposes the codec object', () => {
    expect(xzCodec.name).toBe('xz');
    expect(xzCodec.decode).toBe(decodeXz);
  });
});

describe('XZ decoder on hostile input', () => {
  const data = makeData(4, 60_000, 77);
  const samples: [string, Uint8Array][] = [
    ['xz crc64', xz(data, '-6')],
    ['xz sha256', xz(data, '-1', '--check=sha256')],
    ['xz none, small dict', xz(data, '--check=none', '--lzma2=preset=1,dict=4KiB')],
    ['lzma alone', xz(data, '--format=lzma', '-1')],
  ];

  for (const [name, packed] of samples) {
    it(`${name}: wrong declared size is CORRUPT_CHUNK`, () => {
      expectError(() => decode(packed, data.length - 1));
      expectError(() => decode(packed, data.length + 1));
      expectError(() => decode(packed, 0));
    });

    it(`${name}: never writes past the output view when the declared size is too small`, () => {
      const big = new Uint8Array(data.length + 16).fill(0xee);
      expectError(() => decodeXz(packed, big.subarray(0, data.length - 100)));
      expect(Array.from(big.subarray(data.length - 100)).every((x) => x === 0xee)).toBe(true);
    });

    it(`${name}: every truncation is CORRUPT_CHUNK`, () => {
      for (let n = 0; n < packed.length; n += n < 64 || n > packed.length - 64 ? 1 : 61) {
        expectError(() => decode(packed.subarray(0, n), data.length));
      }
    });

    it(`${name}: bit flips give the right output or CORRUPT_CHUNK`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: packed.length * 8 - 1 }), fc.boolean(), (bit, two) => {
          const bad = packed.slice();
          bad[bit >> 3] ^= 1 << (bit & 7);
          if (two) bad[(bit * 131) % bad.length] ^= 0x5a;
          try {
            expect(decode(bad, data.length)).toEqual(data);
          } catch (e) {
            if (!(e instanceof DmgkitError)) throw e;
            expect(e.code).toBe('CORRUPT_CHUNK');
          }
        }),
        { numRuns: 250 },
      );
    });
  }

  it('rejects an out-of-range LZMA properties byte and a bad dictionary code', () => {
    const alone = xz(data, '--format=lzma', '-1').slice();
    alone[0] = 225;
    expectError(() => decode(alone, data.length));
    // xz block header: find the LZMA2 filter props byte (filter id 0x21, size 1, props) and make it 41
    const packed = xz(data, '-1', '--check=crc32').slice();
    const hdr = 12;
    const size = (packed[hdr] + 1) * 4;
    let i = hdr + 2;
    while (!(packed[i] === 0x21 && packed[i + 1] === 1)) i++;
    packed[i + 2] = 41;
    // fix the header CRC so the props check itself is reached
    new DataView(packed.buffer).setUint32(hdr + size - 4, crc32(packed, 0, hdr, hdr + size - 4), true);
    const e = expectError(() => decode(packed, data.length));
    expect(e.message).toMatch(/dictionary size code 41/);
  });

  it('survives random junk after the XZ magic and in place of .lzma data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.boolean(), fc.integer({ min: 0, max: 70_000 }), (junk, magic, size) => {
        const input = magic ? new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04, ...junk]) : new Uint8Array([0x5d, ...junk]);
        try {
          decode(input, size);
        } catch (e) {
          if (!(e instanceof DmgkitError)) throw e;
          expect(e.code).toBe('CORRUPT_CHUNK');
        }
      }),
      { numRuns: 400 },
    );
  });
});

describeFixtureChunks({
  title: 'XZ chunks of the real ULMO fixtures, compared with 7-Zip',
  prefix: 'ulmo_',
  minImages: 2,
  chunkType: CHUNK_LZMA,
  decode: decodeXz,
  // hdiutil writes an XZ container per chunk
  checkInput: (input) => expect(Array.from(input.subarray(0, 6))).toEqual([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
});
