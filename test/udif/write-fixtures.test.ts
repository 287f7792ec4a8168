/**
 * Every image dmgkit reads, written in every format dmgkit writes, read back by independent tools: 7-Zip (all
 * CRCs checked, decoded disk compared), dmg2img (APM and MBR disks), qemu-img (UDZO, UDRO, UDRW), and dmgkit.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturesDir, haveFixtures, listFixtures, syntheticDir, sevenZip } from '../helpers/fixtures.js';
import { dmg2imgDisk, haveTool, qemuDisk, sevenZipDisk } from '../helpers/oracles.js';
import { openDisk } from '../../src/open.js';
import { readPartitionMap } from '../../src/disk/partition-map.js';
import type { ByteSource } from '../../src/io/source.js';
import { writeImageFile } from '../../src/write/node.js';

const FORMATS = ['UDZO', 'UDRO', 'UDRW', 'UDCO', 'ULFO', 'UDBZ', 'UDSP', 'UDSB', 'raw'] as const;
const UDIF = new Set(['UDZO', 'UDRO', 'UDRW', 'UDCO', 'ULFO', 'UDBZ']);
const DMG2IMG = new Set(['UDZO', 'UDRO', 'UDRW', 'UDCO', 'UDBZ']);
const QEMU = new Set(['UDZO', 'UDRO', 'UDRW']);

function inputs(): string[] {
  if (!haveFixtures()) return [];
  const top = listFixtures((n) => !n.startsWith('broken_')).map((n) => join(fixturesDir, n));
  const synth = readdirSync(syntheticDir).filter((n) => /\.(dmg|hfs|img|iso)$/.test(n)).sort().map((n) => join(syntheticDir, n));
  return [...top, ...synth];
}

async function sha(src: ByteSource, size = src.size): Promise<string> {
  const h = createHash('sha256');
  const step = 8 << 20;
  for (let o = 0; o < size; o += step) h.update(await src.read(o, Math.min(step, size - o)));
  // A disk whose size is not a multiple of 512 is written padded to the sector: hash the padding too.
  const padded = Math.ceil(size / 512) * 512;
  if (padded > size) h.update(new Uint8Array(padded - size));
  return h.digest('hex');
}
const shaOf = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmgkit-write-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(haveFixtures() && sevenZip())('writing every readable image in every format', () => {
  const tools = { dmg2img: haveTool('dmg2img', ['-h']), qemu: haveTool('qemu-img') };
  it.each(inputs().map((p) => [p.slice(fixturesDir.length + 1), p]))('%s', async (_name, path) => {
    const opened = await openDisk(path, { raw: 'always' });
    let want: string;
    let scheme: string;
    try {
      want = await sha(opened.disk);
      scheme = (await readPartitionMap(opened.disk).catch(() => ({ scheme: 'none' }))).scheme;
    } finally {
      await opened.close();
    }
    // The two large disks (34 and 128 MiB) go through UDZO and UDSP only: the other formats would add minutes
    // and are covered by every other image.
    const formats = opened.disk.size > 16 << 20 ? (['UDZO', 'UDSP'] as const) : FORMATS;
    for (const format of formats) {
      const out = join(dir, `out.${format}`);
      await writeImageFile(path, out, { format, deterministic: true, force: true });
      const back = await openDisk(out, { raw: 'always' });
      try {
        expect(await sha(back.disk), `${format}: dmgkit reads its output back`).toBe(want);
      } finally {
        await back.close();
      }
      if (UDIF.has(format)) {
        const z = sevenZipDisk(out);
        expect(z.ok, `${format}: 7-Zip test\n${z.report}`).toBe(true);
        expect(shaOf(z.disk), `${format}: the disk 7-Zip decodes`).toBe(want);
        if (DMG2IMG.has(format) && (scheme === 'apm' || scheme === 'mbr') && tools.dmg2img) {
          expect(shaOf(dmg2imgDisk(out)), `${format}: the disk dmg2img decodes`).toBe(want);
        }
        if (QEMU.has(format) && tools.qemu) expect(shaOf(qemuDisk(out)), `${format}: the disk qemu-img decodes`).toBe(want);
      }
      rmSync(out, { recursive: true, force: true });
    }
  });
});
