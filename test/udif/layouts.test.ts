import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expectedDisks, fixture, haveFixtures } from '../helpers/fixtures.js';
import { KOLY_SIZE, parseKoly, serializeKoly } from '../../src/udif/koly.js';
import { parseMish, serializeMish } from '../../src/udif/mish.js';
import { buildXmlPlist, parseXmlPlist } from '../../src/udif/xml-plist.js';
import { serializeResourceFork } from '../../src/udif/rsrc-fork.js';
import { openUdif } from '../../src/udif/image.js';
import { verifyImage } from '../../src/udif/verify.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import type { ResourceFork } from '../../src/udif/resources.js';
import { DmgkitError } from '../../src/errors.js';

const NAME = 'udzo_mbr_fat16__node-udif_compression-zlib.dmg';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Layout {
  /** junk before the data fork, counted in koly.dataForkOffset */
  prefix?: number;
  /** bytes before the chunks, counted in every mish dataStart */
  dataStart?: number;
  tables: 'xml' | 'rsrc' | 'both';
  kolyAt: 'end' | 'front' | 'end+3';
  xmlOffsetWrong?: boolean;
  /** added to every mish dataStart without inserting bytes (a broken table) */
  bogusDataStart?: number;
}

/** Re-lays a real image out in another valid UDIF layout (what older or other writers produce). */
function relayout(file: Uint8Array, how: Layout): Uint8Array {
  const k = parseKoly(file.subarray(file.length - KOLY_SIZE));
  const data = file.subarray(k.dataForkOffset, k.dataForkOffset + k.dataForkLength);
  const fork = parseXmlPlist(file.subarray(k.xmlOffset, k.xmlOffset + k.xmlLength), k.xmlOffset);
  const ds = how.dataStart ?? 0;
  const blkx = fork.get('blkx')!.map((r) => {
    const t = parseMish(r.data);
    t.dataStart += ds + (how.bogusDataStart ?? 0);
    return { ...r, data: serializeMish(t) };
  });
  const newFork: ResourceFork = new Map(fork);
  newFork.set('blkx', blkx);
  const front = how.kolyAt === 'front' ? KOLY_SIZE : 0;
  const prefix = how.prefix ?? 0;
  const dataForkOffset = front + prefix;
  const dataFork = new Uint8Array(ds + data.length);
  dataFork.fill(0xa5, 0, ds);
  dataFork.set(data, ds);
  const xml = how.tables !== 'rsrc' ? buildXmlPlist(newFork) : new Uint8Array(0);
  const rsrc = how.tables !== 'xml' ? serializeResourceFork(new Map([['blkx', blkx]])) : new Uint8Array(0);
  const xmlOffset = dataForkOffset + dataFork.length;
  const rsrcOffset = xmlOffset + xml.length;
  const koly = serializeKoly({
    ...k,
    dataForkOffset,
    dataForkLength: dataFork.length,
    xmlOffset: xml.length ? (how.xmlOffsetWrong ? xmlOffset + 7 : xmlOffset) : 0,
    xmlLength: xml.length,
    rsrcForkOffset: rsrc.length ? rsrcOffset : 0,
    rsrcForkLength: rsrc.length,
    dataChecksum: { type: 0, bits: 0, data: new Uint8Array(0) },
  });
  const parts = [
    how.kolyAt === 'front' ? koly : new Uint8Array(0),
    new Uint8Array(prefix).fill(0x5a),
    dataFork,
    xml,
    rsrc,
    how.kolyAt !== 'front' ? koly : new Uint8Array(0),
    how.kolyAt === 'end+3' ? new Uint8Array([1, 2, 3]) : new Uint8Array(0),
  ];
  return Buffer.concat(parts);
}

describe.runIf(haveFixtures())('odd UDIF layouts decode to what 7-Zip decodes from the original', () => {
  const exp = expectedDisks().find((e) => e.file === NAME)!;
  const layouts: [string, Layout][] = [
    ['data fork not at offset 0 (koly dataForkOffset)', { prefix: 4096, tables: 'xml', kolyAt: 'end' }],
    ['non-zero mish dataStart', { dataStart: 1000, tables: 'xml', kolyAt: 'end' }],
    ['both offsets at once', { prefix: 333, dataStart: 777, tables: 'xml', kolyAt: 'end' }],
    ['binary resource fork only, no XML', { tables: 'rsrc', kolyAt: 'end' }],
    ['XML and binary resource fork', { tables: 'both', kolyAt: 'end' }],
    ['koly block at the start of the file', { tables: 'xml', kolyAt: 'front' }],
    ['trailer followed by stray bytes', { tables: 'xml', kolyAt: 'end+3' }],
    ['koly xmlOffset pointing at the wrong place', { tables: 'xml', kolyAt: 'end', xmlOffsetWrong: true }],
  ];
  for (const [label, how] of layouts) {
    it(label, async () => {
      const bytes = relayout(readFileSync(fixture(NAME)), how);
      const img = await openUdif(new BufferSource(bytes));
      const out = await img.read(0, img.size);
      expect(out.length).toBe(exp.disk_bytes);
      expect(sha(out)).toBe(exp.disk_sha256);
      const report = await verifyImage(img);
      expect(report.results.filter((r) => r.partition !== undefined).every((r) => r.status === 'ok')).toBe(true);
      expect(report.ok).toBe(true);
    });
  }

  it('refuses the old KenCode/RLE/LZH chunk types by name with UNSUPPORTED_CODEC', async () => {
    const file = readFileSync(fixture(NAME));
    const k = parseKoly(file.subarray(file.length - KOLY_SIZE));
    const fork = parseXmlPlist(file.subarray(k.xmlOffset, k.xmlOffset + k.xmlLength), k.xmlOffset);
    const blkx = fork.get('blkx')!;
    const t = parseMish(blkx[2].data);
    t.chunks[0].type = 0x80000002;
    blkx[2] = { ...blkx[2], data: serializeMish(t) };
    const xml = buildXmlPlist(fork);
    const data = file.subarray(0, k.dataForkLength);
    const koly = serializeKoly({ ...k, xmlOffset: data.length, xmlLength: xml.length });
    const img = await openUdif(new BufferSource(Buffer.concat([data, xml, koly])));
    const p = img.partitions[2];
    const err = await img.read(p.offset, 512).catch((e) => e);
    expect(err).toBeInstanceOf(DmgkitError);
    expect(err.code).toBe('UNSUPPORTED_CODEC');
    expect(err.message).toMatch(/partition 2 .*chunk 0 \(rle\).*RLE \(0x80000002\)/);
  });

  it('names the partition and chunk whose stored bytes lie past the end of the file', async () => {
    const file = readFileSync(fixture(NAME));
    await expect(openUdif(new BufferSource(file.subarray(0, file.length - 600)))).rejects.toMatchObject({ code: 'NOT_AN_IMAGE' });
    const bytes = relayout(file, { tables: 'xml', kolyAt: 'end', bogusDataStart: 1 << 30 });
    const err = await openUdif(new BufferSource(bytes)).catch((e) => e);
    expect(err).toBeInstanceOf(DmgkitError);
    expect(err.code).toBe('CORRUPT_TABLE');
    expect(err.message).toMatch(/partition 0 \(Master Boot Record \(MBR : 0\)\), chunk 0 \(zlib\).*past the end/);
  });
});
