import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fixture, haveFixtures } from '../helpers/fixtures.js';
import { parseKoly, serializeKoly, KOLY_SIZE } from '../../src/udif/koly.js';
import { parseMish, serializeMish } from '../../src/udif/mish.js';
import { parseXmlPlist } from '../../src/udif/xml-plist.js';
import { parseResourceFork, serializeResourceFork } from '../../src/udif/rsrc-fork.js';
import { crc32Value } from '../../src/udif/checksum.js';
import { DmgkitError } from '../../src/errors.js';
import { crc32 } from '../../src/util/crc32.js';

const ZLIB = 'udzo_mbr_fat16__node-udif_compression-zlib.dmg';
const SPARKLE = 'udbz_apm_hfsplus_sla__sparkle_SparkleTestCodeSignApp.dmg';
const KERAMICS = 'udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg';

function tail(name: string) {
  const b = readFileSync(fixture(name));
  return { file: b, koly: new Uint8Array(b.subarray(b.length - KOLY_SIZE)) };
}

describe.runIf(haveFixtures())('koly trailer on real images', () => {
  it('reads the fields hdiutil wrote (node-udif zlib image: v4, flattened, device image, 10240 sectors)', () => {
    const { file, koly } = tail(ZLIB);
    const k = parseKoly(koly, file.length - KOLY_SIZE);
    expect(k.version).toBe(4);
    expect(k.flags & 1).toBe(1);
    expect(k.imageVariant).toBe(1);
    expect(k.sectorCount).toBe(10240);
    // the XML plist sits right after the data fork and right before the trailer
    expect(k.xmlOffset).toBe(k.dataForkOffset + k.dataForkLength);
    expect(k.xmlOffset + k.xmlLength).toBe(file.length - KOLY_SIZE);
    expect(new TextDecoder().decode(file.subarray(k.xmlOffset, k.xmlOffset + 5))).toBe('<?xml');
    // the data-fork checksum is a CRC32 over the stored data fork
    expect(crc32Value(k.dataChecksum)).toBe(crc32(file.subarray(k.dataForkOffset, k.dataForkOffset + k.dataForkLength)));
  });

  it('serializes back to the same 512 bytes', () => {
    for (const name of [ZLIB, SPARKLE, KERAMICS]) {
      const { file, koly } = tail(name);
      expect(Buffer.from(serializeKoly(parseKoly(koly, file.length - 512)))).toEqual(Buffer.from(koly));
    }
  });

  it('finds the Sparkle image binary resource fork fields', () => {
    const { file, koly } = tail(SPARKLE);
    const k = parseKoly(koly);
    expect(k.rsrcForkLength).toBeGreaterThan(0);
    expect(k.rsrcForkOffset + k.rsrcForkLength).toBeLessThanOrEqual(file.length - KOLY_SIZE);
  });

  it('refuses a 64-bit field beyond 2^53 with a typed error naming it and its offset', () => {
    const { koly } = tail(ZLIB);
    koly[224] = 0xff; // xmlLength high byte
    let err: unknown;
    try {
      parseKoly(koly, 1000);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DmgkitError);
    expect((err as DmgkitError).code).toBe('CORRUPT_HEADER');
    expect((err as DmgkitError).message).toMatch(/xmlLength.*offset 1224/);
  });
});

describe.runIf(haveFixtures())('XML plist and mish tables on real images', () => {
  it('lists the blkx tables with names and parses every mish table symmetrically', () => {
    const { file, koly } = tail(KERAMICS);
    const k = parseKoly(koly);
    const fork = parseXmlPlist(file.subarray(k.xmlOffset, k.xmlOffset + k.xmlLength), k.xmlOffset);
    const blkx = fork.get('blkx')!;
    expect(blkx.map((r) => r.name)).toContain('disk image (Apple_HFS : 4)');
    expect(blkx.length).toBe(8);
    let expectSector = 0;
    for (const r of blkx) {
      const t = parseMish(r.data, r.name);
      expect(t.version).toBe(1);
      expect(t.firstSector).toBe(expectSector); // tables are contiguous
      expectSector += t.sectorCount;
      expect(t.chunks.at(-1)!.type).toBe(0xffffffff);
      expect(Buffer.from(serializeMish(t))).toEqual(Buffer.from(r.data));
    }
    expect(expectSector).toBe(k.sectorCount);
  });

  it('tolerates trailing bytes after </plist>', () => {
    const { file, koly } = tail(ZLIB);
    const k = parseKoly(koly);
    const xml = Buffer.concat([file.subarray(k.xmlOffset, k.xmlOffset + k.xmlLength), Buffer.from('\n\0\0garbage')]);
    expect(parseXmlPlist(xml, 0).get('blkx')!.length).toBe(5);
  });

  it('rejects a mish table whose chunk count overruns it', () => {
    const { file, koly } = tail(ZLIB);
    const k = parseKoly(koly);
    const t = parseXmlPlist(file.subarray(k.xmlOffset, k.xmlOffset + k.xmlLength), 0).get('blkx')![2].data;
    const bad = new Uint8Array(t);
    bad[200] = 0x7f;
    expect(() => parseMish(bad, 'partition 2')).toThrow(/partition 2: claims/);
  });
});

describe.runIf(haveFixtures())('binary resource fork', () => {
  it("reads the Sparkle image's licence resources (LPic, STR#, TEXT, styl) and its blkx tables", () => {
    const { file, koly } = tail(SPARKLE);
    const k = parseKoly(koly);
    const fork = parseResourceFork(file.subarray(k.rsrcForkOffset, k.rsrcForkOffset + k.rsrcForkLength), k.rsrcForkOffset);
    for (const t of ['LPic', 'STR#', 'TEXT', 'styl']) expect(fork.get(t)?.length ?? 0).toBeGreaterThan(0);
    // old-style images carry the block tables in the binary fork too: they must equal the XML ones
    const xml = parseXmlPlist(file.subarray(k.xmlOffset, k.xmlOffset + k.xmlLength), k.xmlOffset).get('blkx')!;
    const bin = fork.get('blkx')!;
    expect(bin.map((r) => r.name)).toEqual(xml.map((r) => r.name));
    expect(bin.map((r) => r.id)).toEqual(xml.map((r) => r.id));
    bin.forEach((r, i) => expect(Buffer.from(r.data)).toEqual(Buffer.from(xml[i].data)));
  });

  it('serializes and parses back the same resources', () => {
    const { file, koly } = tail(SPARKLE);
    const k = parseKoly(koly);
    const fork = parseResourceFork(file.subarray(k.rsrcForkOffset, k.rsrcForkOffset + k.rsrcForkLength), 0);
    const again = parseResourceFork(serializeResourceFork(fork), 0);
    expect([...again.keys()].sort()).toEqual([...fork.keys()].sort());
    for (const [t, list] of fork) {
      expect(again.get(t)!.map((r) => [r.id, r.name, Buffer.from(r.data).toString('hex')])).toEqual(
        list.map((r) => [r.id, r.name, Buffer.from(r.data).toString('hex')]),
      );
    }
  });
});
