import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { deflateSync } from 'node:zlib';
import { fixture, haveFixtures } from '../helpers/fixtures.js';
import { UdifImage } from '../../src/udif/image.js';
import { openUdif } from '../../src/udif/open-udif.js';
import { verifyImage } from '../../src/udif/verify.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import { serializeMish } from '../../src/udif/mish.js';
import { buildXmlPlist } from '../../src/udif/xml-plist.js';
import { serializeKoly } from '../../src/udif/koly.js';
import { crc32Checksum } from '../../src/udif/checksum.js';
import { crc32, crc32Zeros } from '../../src/util/crc32.js';
import { CHUNK_TERMINATOR, CHUNK_ZERO, CHUNK_ZLIB, CHUNK_IGNORE } from '../../src/udif/chunk-types.js';

async function streamAll(img: UdifImage, threads: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of img.bytes(0, img.size, { threads })) parts.push(Buffer.from(b));
  return Buffer.concat(parts);
}

async function webStreamAll(img: UdifImage, partition?: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  const reader = img.stream({ partition }).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(Buffer.from(value));
  }
  return Buffer.concat(parts);
}

describe.runIf(haveFixtures())('random access agrees with streaming', () => {
  const images = [
    'udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg', // 8 tables, zero chunks
    'udbz_apm_hfsplus_sla__sparkle_SparkleTestCodeSignApp.dmg', // bzip2 + ignore
    'udro_nopartmap_hfsplusj__node-udif_raw.dmg', // raw chunks
    'ulfo_gpt_hfsplus__keramics_hfsplus_lzfse.dmg',
  ];
  for (const name of images) {
    it(`${name}: reads at random offsets/lengths equal the stream (tiny cache, chunk and partition straddles)`, async () => {
      const img = await openUdif(fixture(name), { limits: { cacheBytes: 300_000 } });
      const whole = await streamAll(img, 1);
      expect(whole.length).toBe(img.size);
      expect((await streamAll(img, 2)).equals(whole)).toBe(true);
      expect((await webStreamAll(img)).equals(whole)).toBe(true);
      // boundaries worth straddling: every chunk and partition edge
      const edges = [...new Set(img.chunks.flatMap((c) => [c.outOffset, c.outOffset + c.outLength]))];
      const offset = fc.oneof(
        fc.nat(img.size - 1),
        fc.constantFrom(...edges).chain((e) => fc.integer({ min: Math.max(0, e - 700), max: Math.min(img.size - 1, e + 700) })),
      );
      await fc.assert(
        fc.asyncProperty(offset, fc.oneof(fc.integer({ min: 0, max: 4096 }), fc.constantFrom(497, 512, 1 << 20)), async (o, len) => {
          const n = Math.min(len, img.size - o);
          const got = await img.read(o, n);
          expect(Buffer.from(got).equals(whole.subarray(o, o + n))).toBe(true);
        }),
        { numRuns: 150 },
      );
      // each partition as its own source and stream
      for (const p of img.partitions) {
        const src = img.partition(p.index);
        expect(src.size).toBe(p.size);
        if (p.size > 0) expect(Buffer.from(await src.read(0, Math.min(p.size, 1024))).equals(whole.subarray(p.offset, p.offset + Math.min(p.size, 1024)))).toBe(true);
      }
      const last = img.partitions.length - 1;
      const lp = img.partitions[last];
      expect((await webStreamAll(img, last)).equals(whole.subarray(lp.offset, lp.offset + lp.size))).toBe(true);
      await expect(img.read(img.size - 10, 11)).rejects.toMatchObject({ code: 'TRUNCATED' });
      await img.close();
    });
  }
});

describe.runIf(haveFixtures())('Node stream', () => {
  it('a slow consumer gets every byte in order (backpressure, decode-ahead bounded)', async () => {
    const { Writable } = await import('node:stream');
    const { pipeline } = await import('node:stream/promises');
    const img = await openUdif(fixture('udbz_apm_hfsplus_sla__sparkle_SparkleTestCodeSignApp.dmg'));
    const whole = Buffer.from(await img.read(0, img.size));
    const got: Buffer[] = [];
    let maxBuffered = 0;
    const rs = img.createReadStream({ threads: 2, windowBytes: 2 << 20 });
    const slow = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _enc, cb) {
        got.push(chunk);
        maxBuffered = Math.max(maxBuffered, rs.readableLength);
        setTimeout(cb, 1);
      },
    });
    await pipeline(rs, slow);
    expect(Buffer.concat(got).equals(whole)).toBe(true);
    expect(maxBuffered).toBeLessThanOrEqual(8 << 20); // the stream never runs far ahead of its reader
    await img.close();
  });
});

describe('images larger than 4 GiB', () => {
  it('places and reads chunks beyond 2^32 bytes, checksums included', async () => {
    // 5 GiB of zero fill, then one zlib chunk, then free space: built by hand like hdiutil lays it out
    const zeroSectors = (5 * 2 ** 30) / 512;
    const payload = new Uint8Array(64 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 9)) & 0xff;
    const stored = deflateSync(payload);
    const dataSectors = payload.length / 512;
    const partCrc = crc32(payload, crc32Zeros(zeroSectors * 512));
    const mish = serializeMish({
      version: 1, firstSector: 0, sectorCount: zeroSectors + dataSectors + 8, dataStart: 0,
      decompressBufferRequested: 0x208, blocksDescriptor: 0, checksum: crc32Checksum(partCrc),
      chunks: [
        { type: CHUNK_ZERO, comment: 0, sectorStart: 0, sectorCount: zeroSectors, compressedOffset: 0, compressedLength: 0 },
        { type: CHUNK_ZLIB, comment: 0, sectorStart: zeroSectors, sectorCount: dataSectors, compressedOffset: 0, compressedLength: stored.length },
        { type: CHUNK_IGNORE, comment: 0, sectorStart: zeroSectors + dataSectors, sectorCount: 8, compressedOffset: stored.length, compressedLength: 0 },
        { type: CHUNK_TERMINATOR, comment: 0, sectorStart: zeroSectors + dataSectors + 8, sectorCount: 0, compressedOffset: stored.length, compressedLength: 0 },
      ],
    });
    const xml = buildXmlPlist(new Map([['blkx', [{ type: 'blkx', id: 0, name: 'big (Apple_HFS : 0)', attributes: 0x50, data: mish }]]]));
    const koly = serializeKoly({
      version: 4, headerSize: 512, flags: 1, runningDataForkOffset: 0, dataForkOffset: 0, dataForkLength: stored.length,
      rsrcForkOffset: 0, rsrcForkLength: 0, segmentNumber: 1, segmentCount: 1, segmentId: new Uint8Array(16),
      dataChecksum: crc32Checksum(crc32(stored)), xmlOffset: stored.length, xmlLength: xml.length,
      codeSignatureOffset: 0, codeSignatureLength: 0, masterChecksum: crc32Checksum(crc32(crc32Checksum(partCrc).data)),
      imageVariant: 1, sectorCount: zeroSectors + dataSectors + 8,
    });
    const file = Buffer.concat([stored, xml, koly]);
    const img = await openUdif(new BufferSource(file));
    expect(img.size).toBe(5 * 2 ** 30 + payload.length + 4096);
    const at = 5 * 2 ** 30;
    expect(Buffer.from(await img.read(at - 100, 300)).equals(Buffer.concat([Buffer.alloc(100), Buffer.from(payload.subarray(0, 200))]))).toBe(true);
    expect(Buffer.from(await img.read(at + payload.length - 10, 20)).equals(Buffer.concat([Buffer.from(payload.subarray(-10)), Buffer.alloc(10)]))).toBe(true);
    const report = await verifyImage(img);
    expect(report.results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
  });
});
