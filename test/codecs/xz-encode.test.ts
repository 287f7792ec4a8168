import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { encodeXz, lzma2DictCode, type XzCheck } from '../../src/codecs/xz-encode.js';
import { encodeLzma2 } from '../../src/codecs/lzma2-encode.js';
import { lzmaPreset } from '../../src/codecs/lzma-encode.js';
import { decodeXz } from '../../src/codecs/xz.js';
import { CHUNK_LZMA } from '../../src/udif/chunk-types.js';
import { openUdif } from '../../src/udif/open-udif.js';
import { expectedDisks, fixture, haveFixtures, listFixtures, repoRoot, run, sevenZip } from '../helpers/fixtures.js';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { sevenZipPartitions } from '../helpers/seven-zip.js';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDisk } from '../../src/open.js';
import { writeUdifImage } from '../../src/udif/write/udif.js';
import { wholeDiskPlan } from '../../src/udif/write/plan.js';
import { mixedData, shapedData } from './data.js';

/** Independent oracle: the native xz tool (liblzma) decodes and tests every stream we write. */
const xzDecode = (data: Uint8Array): Uint8Array => new Uint8Array(run('xz', ['-d', '-c', '-T1'], data));

function ours(data: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  decodeXz(data, out);
  return out;
}

/** Both decoders give back `data`. */
function roundTrip(data: Uint8Array, preset: number, check?: XzCheck, extreme = false): Uint8Array {
  const x = encodeXz(data, preset, { check, extreme });
  expect(Buffer.compare(ours(x, data.length), data), `our decoder, preset ${preset}`).toBe(0);
  expect(Buffer.compare(xzDecode(x), data), `xz -d, preset ${preset}`).toBe(0);
  return x;
}

interface Lzma2Chunk {
  ctrl: number;
  unpacked: number;
  packed: number;
}

/** The LZMA2 chunk headers of a single-block stream as written by encodeXz. */
function lzma2Chunks(x: Uint8Array): Lzma2Chunk[] {
  let p = 12 + (x[12] + 1) * 4;
  const out: Lzma2Chunk[] = [];
  for (;;) {
    const ctrl = x[p];
    if (ctrl === 0) return out;
    if (ctrl < 0x80) {
      const size = ((x[p + 1] << 8) | x[p + 2]) + 1;
      out.push({ ctrl, unpacked: size, packed: 0 });
      p += 3 + size;
    } else {
      const unpacked = (ctrl & 0x1f) * 0x10000 + ((x[p + 1] << 8) | x[p + 2]) + 1;
      const packed = ((x[p + 3] << 8) | x[p + 4]) + 1;
      out.push({ ctrl: ctrl & 0xe0, unpacked, packed });
      p += 5 + (ctrl >= 0xc0 ? 1 : 0) + packed;
    }
  }
}

const random = (size: number, seed: number): Uint8Array => shapedData(0, size, seed);
const text = (size: number, seed: number): Uint8Array => shapedData(3, size, seed);
const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

describe('XZ encoder against our decoder and the native xz tool', () => {
  it('round-trips shaped inputs at every preset and check type (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 20_000, max: 100_000 })),
        fc.integer({ min: 0, max: 9 }),
        fc.constantFrom<XzCheck | undefined>(undefined, 'none', 'crc32', 'crc64'),
        fc.integer({ min: 1, max: 0x7fffffff }),
        (kind, size, preset, check, seed) => {
          roundTrip(shapedData(kind, size, seed, 5000), preset, check);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('writes empty, one-byte and two-byte inputs at every preset; xz -t accepts them', () => {
    for (let preset = 0; preset <= 9; preset++) {
      for (const data of [new Uint8Array(0), new Uint8Array([0x5a]), new Uint8Array([0, 0])]) {
        const x = roundTrip(data, preset, 'crc64');
        run('xz', ['-t'], x);
      }
    }
  });

  it('extreme presets (xz -e) round-trip', () => {
    for (const preset of [3, 6, 9]) roundTrip(shapedData(5, 150_000, preset, 5000), preset, 'crc32', true);
  });

  it('writes incompressible data as uncompressed LZMA2 chunks around the 64 KiB limits', () => {
    for (const size of [65_535, 65_536, 65_537, 200_000]) {
      const data = random(size, size);
      const x = roundTrip(data, 6);
      const chunks = lzma2Chunks(x);
      expect(chunks[0].ctrl).toBe(0x01); // dictionary reset, stored
      expect(chunks.every((c) => c.ctrl < 0x80 && c.unpacked <= 65_536)).toBe(true);
      expect(x.length).toBeLessThan(size + 100 + 3 * Math.ceil(size / 65_536));
    }
  });

  it('switches between stored and LZMA chunks with the resets the format requires', () => {
    // stored first: the first LZMA chunk must carry the properties (0xC0)
    const a = concat(random(150_000, 1), text(150_000, 2));
    const ca = lzma2Chunks(roundTrip(a, 1));
    expect(ca[0].ctrl).toBe(0x01);
    expect(ca.find((c) => c.ctrl >= 0x80)?.ctrl).toBe(0xc0);
    // LZMA, stored, LZMA again: a state reset (0xA0) after the stored chunks
    const b = concat(text(80_000, 3), random(300_000, 4), text(200_000, 5));
    for (const preset of [1, 6]) {
      const cb = lzma2Chunks(roundTrip(b, preset));
      expect(cb[0].ctrl).toBe(0xe0);
      expect(cb.some((c) => c.ctrl === 0x02)).toBe(true);
      expect(cb.some((c) => c.ctrl === 0xa0)).toBe(true);
      expect(cb.every((c) => c.packed <= 65_536 && c.unpacked <= 1 << 21)).toBe(true);
    }
  });

  it('stores random-looking blocks without coding them, yet codes a second copy of them and repeats inside them as matches', () => {
    const r = random(100_000, 11);
    const pattern = random(1500, 12);
    const periodic = new Uint8Array(96_000);
    for (let i = 0; i < periodic.length; i += pattern.length) periodic.set(pattern.subarray(0, periodic.length - i), i);
    for (const preset of [1, 6]) {
      // random alone: stored, within a few chunk headers (3 bytes each) of what xz writes for it
      const xr = roundTrip(r, preset);
      expect(lzma2Chunks(xr).every((c) => c.ctrl < 0x80)).toBe(true);
      expect(xr.length).toBeLessThanOrEqual(run('xz', ['-T1', `-${preset}`, '-c', '--check=none'], r).length + 12);
      // the same bytes again after some text: the copy is matched, not stored
      const twice = roundTrip(concat(r, text(20_000, 13), r), preset);
      expect(twice.length).toBeLessThan(r.length + 20_000);
      // a random pattern repeated with a period below the probe block: coded (uniform histogram, but repeats)
      expect(roundTrip(periodic, preset).length).toBeLessThan(4 * pattern.length);
    }
  });

  it('splits a long compressible input below 2 MiB unpacked per chunk, continuing the state (0x80)', () => {
    const data = concat(shapedData(1, (1 << 21) + 70_000, 7, 5000), new Uint8Array(100_000));
    for (const preset of [0, 6]) {
      const chunks = lzma2Chunks(roundTrip(data, preset));
      expect(chunks[0].ctrl).toBe(0xe0);
      expect(chunks.slice(1).every((c) => c.ctrl === 0x80)).toBe(true);
      expect(Math.max(...chunks.map((c) => c.unpacked))).toBeGreaterThan((1 << 21) - 16_384);
      expect(chunks.every((c) => c.unpacked <= 1 << 21 && c.packed <= 65_536)).toBe(true);
    }
  });

  it('ends an LZMA chunk just below 64 KiB packed and continues in the next (0x80)', () => {
    // 3000 random bytes, 3000 zeros, ...: packs to about half, quickly
    const data = random(200_000, 9);
    for (let i = 3000; i < data.length; i += 6000) data.fill(0, i, i + 3000);
    for (const preset of [1, 6]) {
      const chunks = lzma2Chunks(roundTrip(data, preset));
      expect(chunks.length).toBeGreaterThan(1);
      expect(chunks[0].ctrl).toBe(0xe0);
      expect(chunks.slice(1).every((c) => c.ctrl === 0x80)).toBe(true);
      expect(chunks[0].packed).toBeGreaterThan(60_000);
      expect(chunks.every((c) => c.packed <= 65_536)).toBe(true);
    }
  });

  it('raw LZMA2 output is what xz --format=raw decodes', () => {
    const data = shapedData(5, 90_000, 11, 5000);
    for (const preset of [2, 7]) {
      const raw = encodeLzma2(data, preset);
      const dict = lzmaPreset(preset).dictSize;
      expect(Buffer.compare(new Uint8Array(run('xz', ['-d', '-c', '--format=raw', `--lzma2=dict=${dict}`], raw)), data)).toBe(0);
    }
  });

  it('states a dictionary no larger than needed and the smallest code that covers it', () => {
    expect(lzma2DictCode(1)).toBe(0); // 4 KiB
    expect(lzma2DictCode(4096)).toBe(0);
    expect(lzma2DictCode(4097)).toBe(1); // 6 KiB
    expect(lzma2DictCode(1 << 20)).toBe(16);
    expect(lzma2DictCode((1 << 20) + 1)).toBe(17); // 1.5 MiB
    expect(lzma2DictCode(1 << 23)).toBe(22); // hdiutil's 8 MiB
    const x = encodeXz(shapedData(1, 1 << 20, 1, 5000), 6);
    let p = 14; // block header: size, flags, then two multibyte sizes, filter id 0x21, props size 1, dict code
    for (let k = 0; k < 2; k++) while (x[p++] & 0x80);
    expect(Array.from(x.subarray(p, p + 3))).toEqual([0x21, 1, 16]);
  });

  it('presets 1 and 6 stay within 3 % and 2 % of xz -1 and xz -6 in size (real text, mixed data)', () => {
    // dmgkit's presets 1 and 6 trade a little of xz's search depth for speed (docs/formats/bzip2-xz.md); this pins
    // the size they give up against liblzma run live on the same bytes
    const tsText = new Uint8Array(readFileSync(join('node_modules', 'typescript', 'lib', 'lib.dom.d.ts'))).subarray(0, 384 * 1024);
    const inputs = [tsText, mixedData(384 * 1024, 7)];
    for (const [preset, slack] of [[1, 1.03], [6, 1.02]] as const) {
      for (const data of inputs) {
        const mine = roundTrip(data, preset).length;
        const theirs = run('xz', ['-T1', `-${preset}`, '-c', '--check=none'], data).length;
        expect(mine, `preset ${preset}: ${mine} vs xz ${theirs}`).toBeLessThanOrEqual(Math.ceil(theirs * slack));
      }
    }
  });

  it("the per-thread encoder leaves nothing behind: a fresh process's first chunk is written as one after others", () => {
    const data = mixedData(256 * 1024, 11);
    // the compiled encoder in a new process, this input first
    const script = `import { readFileSync } from 'node:fs';
      import { encodeXz } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'dist', 'codecs', 'xz-encode.js')).href)};
      const d = new Uint8Array(readFileSync(0));
      process.stdout.write(Buffer.concat([1, 6].map((p) => encodeXz(d, p))).toString('base64'));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input: data, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    encodeXz(mixedData(300 * 1024, 3), 6); // this thread: other inputs first (larger tables, other state)
    encodeXz(mixedData(200 * 1024, 5), 1);
    const here = Buffer.concat([roundTrip(data, 1), roundTrip(data, 6)]);
    expect(Buffer.from(r.stdout, 'base64').equals(here)).toBe(true);
  });

  it('rejects presets outside 0-9', () => {
    expect(() => encodeXz(new Uint8Array(1), 10)).toThrow(RangeError);
    expect(() => encodeXz(new Uint8Array(1), -1)).toThrow(RangeError);
    expect(() => encodeXz(new Uint8Array(1), 1.5)).toThrow(RangeError);
  });
});

describe.runIf(haveFixtures())('XZ encoder on the real ULMO chunks', () => {
  const images = listFixtures((n) => n.startsWith('ulmo_'));
  it('has ulmo_* fixtures', () => expect(images.length).toBeGreaterThanOrEqual(2));
  for (const name of images) {
    it(`${name}: re-encoded chunks have hdiutil's container layout and decode in xz`, async () => {
      const file = new Uint8Array(readFileSync(fixture(name)));
      const img = await openUdif(fixture(name));
      try {
        const chunks = img.chunks.filter((c) => c.type === CHUNK_LZMA);
        expect(chunks.length).toBeGreaterThan(0);
        for (const c of chunks) {
          const theirs = file.subarray(c.inOffset, c.inOffset + c.inLength);
          const data = ours(theirs, c.outLength);
          const mine = roundTrip(data, 6);
          // stream flags (check type), block flags (both sizes, one filter) and the filter id as hdiutil writes them
          expect(mine.subarray(6, 8)).toEqual(theirs.subarray(6, 8));
          expect(mine[13]).toBe(theirs[13]);
          const filterAt = (x: Uint8Array): number => {
            let p = 14;
            for (let k = 0; k < 2; k++) while (x[p++] & 0x80);
            return p;
          };
          expect(mine.subarray(filterAt(mine), filterAt(mine) + 2)).toEqual(theirs.subarray(filterAt(theirs), filterAt(theirs) + 2));
          expect(mine.length).toBeLessThanOrEqual(Math.ceil(theirs.length * 1.03) + 16);
        }
      } finally {
        await img.close();
      }
    });
  }
});

describe.runIf(haveFixtures() && sevenZip())('ULMO images written with the XZ encoder, read by 7-Zip', () => {
  // the smallest fixture per partition scheme; every fixture was checked the same way by hand (docs/formats/bzip2-xz.md)
  for (const name of ['ulmo_gpt_hfsplus__keramics_hfsplus_lzma.dmg', 'udzo_mbr_fat16__node-udif_compression-zlib.dmg']) {
    it(`${name} → ULMO: 7zz t passes and 7-Zip extracts the identical disk`, async () => {
      const expected = expectedDisks().find((e) => e.file === name)!;
      const d = await openDisk(fixture(name));
      const dir = mkdtempSync(join(tmpdir(), 'dmgkit-ulmo-'));
      try {
        const pieces: Uint8Array[] = [];
        let encoded = 0;
        const encode = (b: Uint8Array): Uint8Array => (encoded++, encodeXz(b, 6));
        for await (const p of writeUdifImage(d.disk, wholeDiskPlan(d.disk.size / 512), { chunkType: CHUNK_LZMA, encoder: encode, chunkSectors: 2048 })) pieces.push(p);
        expect(encoded).toBeGreaterThan(0);
        const image = join(dir, 'x.dmg');
        writeFileSync(image, Buffer.concat(pieces));
        expect(run(sevenZip()!, ['t', image]).toString()).toMatch(/Everything is Ok/);
        const disk = Buffer.concat(sevenZipPartitions(sevenZip()!, image).map((p) => p.data));
        expect(createHash('sha256').update(disk).digest('hex')).toBe(expected.disk_sha256);
      } finally {
        await d.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
