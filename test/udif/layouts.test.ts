import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { collect, memoryIO } from '../helpers/cli.js';
import { expectedDisks, fixture, haveFixtures } from '../helpers/fixtures.js';
import { KOLY_SIZE, parseKoly, serializeKoly } from '../../src/udif/koly.js';
import { parseMish, serializeMish } from '../../src/udif/mish.js';
import { buildXmlPlist, parseXmlPlist } from '../../src/udif/xml-plist.js';
import { serializeResourceFork } from '../../src/udif/rsrc-fork.js';
import { openUdif } from '../../src/udif/open-udif.js';
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

  it('a chunk whose bytes lie past the end of the file is local damage: named, skipped with --keep-going', async () => {
    const file = readFileSync(fixture(NAME));
    await expect(openUdif(new BufferSource(file.subarray(0, file.length - 600)))).rejects.toMatchObject({ code: 'NOT_AN_IMAGE' });
    // the FAT16 table (partition 2) points 1 GiB further into the file than the file goes
    const k = parseKoly(file.subarray(file.length - KOLY_SIZE));
    const fork = parseXmlPlist(file.subarray(k.xmlOffset, k.xmlOffset + k.xmlLength), k.xmlOffset);
    const blkx = fork.get('blkx')!;
    const t = parseMish(blkx[2].data);
    t.dataStart += 1 << 30;
    blkx[2] = { ...blkx[2], data: serializeMish(t) };
    const xml = buildXmlPlist(fork);
    const data = file.subarray(0, k.dataForkLength);
    const bytes = Buffer.concat([data, xml, serializeKoly({ ...k, xmlOffset: data.length, xmlLength: xml.length })]);
    const img = await openUdif(new BufferSource(bytes));
    expect(img.warnings.join('\n')).toMatch(/partition 2 .*chunk 0 \(zlib\).*past the end of the file/);
    const p2 = img.partitions[2];
    const err = await img.read(p2.offset, 512).catch((e) => e);
    expect(err).toBeInstanceOf(DmgkitError);
    expect(err.code).toBe('CORRUPT_TABLE');
    expect(err.message).toMatch(/partition 2 .*chunk 0 \(zlib\)/);
    // the other partitions read as 7-Zip decodes them from the intact image
    const exp = expectedDisks().find((e) => e.file === NAME)!;
    const p3 = img.partitions[3];
    expect(sha(await img.read(p3.offset, p3.size))).toBe(exp.partitions![3].sha256);
    const report = await verifyImage(img);
    expect(report.results.find((r) => r.partition === 2)!.status).toBe('unreadable');
    expect(report.results.find((r) => r.partition === 3)!.status).toBe('ok');
    const lost: { offset: number; length: number }[] = [];
    let total = 0;
    for await (const piece of img.pieces(0, img.size, { keepGoing: true, onLost: (l) => lost.push(l) })) total += piece.length;
    expect(total).toBe(img.size);
    expect(lost.map((l) => [l.offset, l.length])).toEqual([[p2.offset, t.chunks[0].sectorCount * 512]]);
    // the CLI: convert fails without --keep-going, and with it writes the whole disk and names the lost range
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-'));
    try {
      writeFileSync(join(dir, 'damaged.dmg'), bytes);
      const io1 = memoryIO();
      expect(await main(['convert', join(dir, 'damaged.dmg'), '-o', join(dir, 'a.img')], io1)).toBe(1);
      expect(collect(io1.err)).toMatch(/^dmgkit: .*damaged\.dmg is damaged \(1 warning: partition 2 .*past the end of the file/m);
      expect(existsSync(join(dir, 'a.img'))).toBe(false); // refused before anything is written
      const io2 = memoryIO();
      expect(await main(['convert', join(dir, 'damaged.dmg'), '-o', join(dir, 'b.img'), '--keep-going'], io2)).toBe(1);
      expect(collect(io2.err)).toMatch(new RegExp(`lost bytes \\[${p2.offset}, \\+${t.chunks[0].sectorCount * 512}\\)`));
      const out = readFileSync(join(dir, 'b.img'));
      expect(out.length).toBe(img.size);
      expect(sha(out.subarray(p3.offset, p3.offset + p3.size))).toBe(exp.partitions![3].sha256);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
