/**
 * Open-time checks of a UDIF image's tables, on images built by the test:
 * - amplification: chunks whose stored ranges overlap (here 300 zlib chunks of 1 MiB, all pointing at the same
 *   1 KiB of stored bytes: a ~20 KB file describing 300 MiB) are a warning of the opened image (and of `info`),
 *   and CORRUPT_TABLE with rejectOverlappingChunks; an image built the normal way gets no such warning;
 * - a koly sector count of 0 (libdmg-hfsplus-style writers) is a warning, as 7-Zip flags it ("Headers Error").
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { openDisk } from '../../src/open.js';
import { UdifImage } from '../../src/udif/image.js';
import '../../src/udif/all-codecs.js'; // UdifImage.open brings no codec: register them all
import { buildDmg, type BuildChunk } from '../helpers/build-dmg.js';
import { fixture, haveFixtures, repoRoot, sevenZip } from '../helpers/fixtures.js';

const base = mkdtempSync(join(tmpdir(), 'dmgkit-open-checks-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const ZLIB = 0x80000005;
const MiB = new Uint8Array(1 << 20);
const zipped = new Uint8Array(deflateSync(MiB));

describe('UDIF open-time checks', () => {
  it('chunks sharing stored bytes: a warning naming them, refused with rejectOverlappingChunks', async () => {
    const chunks: BuildChunk[] = [{ type: ZLIB, payload: zipped, decoded: MiB }];
    for (let i = 1; i < 300; i++) chunks.push({ type: ZLIB, payload: zipped, decoded: MiB, sharesWith: 0 });
    const file = buildDmg(chunks);
    expect(file.length).toBeLessThan(200_000);
    const img = await UdifImage.open(file);
    expect(img.size).toBe(300 * (1 << 20));
    const w = img.warnings.filter((x) => x.includes('share stored bytes'));
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/^299 chunks share stored bytes with another chunk \(first: partition 0 \(.*\) chunk 1 \[0, \+\d+\) overlaps partition 0 \(.*\) chunk 0 \[0, \+\d+\)\); they describe 313524224 decoded bytes/);
    await img.close();
    await expect(UdifImage.open(file, { rejectOverlappingChunks: true })).rejects.toMatchObject({ code: 'CORRUPT_TABLE' });
    const path = join(base, 'amplified.dmg');
    writeFileSync(path, file);
    await expect(openDisk(path, { rejectOverlappingChunks: true })).rejects.toMatchObject({ code: 'CORRUPT_TABLE' });
    const info = spawnSync(process.execPath, [join(repoRoot, 'dist/cli/main.js'), 'info', '--json', path], { encoding: 'utf8', timeout: 60_000 });
    expect(info.stdout).toContain("299 chunks share stored bytes");
    // the same chunks stored one after the other: no warning
    const normal = await UdifImage.open(buildDmg(chunks.slice(0, 50).map((c) => ({ type: c.type, payload: c.payload, decoded: c.decoded }))));
    expect(normal.warnings).toEqual([]);
    await normal.close();
  });

  it('a koly sector count of 0 is a warning, as 7-Zip reports a header error', async () => {
    const file = buildDmg([{ type: ZLIB, payload: zipped, decoded: MiB }]);
    const k = file.length - 512;
    file.fill(0, k + 492, k + 500);
    const img = await UdifImage.open(file);
    expect(img.size).toBe(1 << 20);
    expect(img.warnings).toEqual([`koly sector count is 0 at offset ${k + 492} (0x${(k + 492).toString(16)}); the 2048 sectors of the block tables are used (not written by hdiutil)`]);
    await img.close();
    // the real libdmg-style image: dmgkit warns where 7-Zip reports "Headers Error"
    const z = sevenZip();
    if (!z && process.env.CI) throw new Error('7zz is missing (CI is set: refusing to skip)');
    if (!z || !haveFixtures()) return;
    const real = fixture('odd_libdmg_style_sectors0__etcher-sdk_gpt-in-dmg.dmg');
    const r = spawnSync(z, ['l', real], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/WARNINGS:\s*\n\s*Headers Error/);
    const opened = await UdifImage.open(real);
    expect(opened.warnings.filter((x) => x.startsWith('koly sector count is 0'))).toHaveLength(1);
    await opened.close();
  });
});
