/**
 * Metadata that extraction must not drop: the xattrs of symlinks and of the volume's root folder (7-Zip lists
 * them as alternate streams with -sns: "Vol:name", "Vol/link:name"), and the metadata of a file whose `._` name
 * would be longer than NAME_MAX (a 255-byte name): written under a shortened `._` name recorded in a manifest,
 * with a note and no skip. Volumes made by the test's HFSX builder; values compared with 7-Zip's live.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAppleDouble } from '../../src/extract/appledouble.js';
import { LONG_NAMES_MANIFEST, extractVolume } from '../../src/extract/extract.js';
import { openHfs } from '../../src/hfs/volume.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import { sevenZip } from '../helpers/fixtures.js';
import { buildHfsx } from '../hfs/builder.js';

const base = mkdtempSync(join(tmpdir(), 'dmgkit-fidelity-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const enc = new TextEncoder();
const LONG = 'a'.repeat(255);

function volumeBytes(): Uint8Array {
  return buildHfsx(
    [
      { kind: 'file', parent: 2, name: 'link', cnid: 20, mode: 0o120755, data: enc.encode('target.txt') },
      { kind: 'file', parent: 2, name: 'target.txt', cnid: 21, data: enc.encode('hello\n') },
      { kind: 'file', parent: 2, name: LONG, cnid: 22, data: enc.encode('long\n'), type: 'TEXT', creator: 'ttxt' },
    ],
    [
      { cnid: 2, name: 'com.example.root', value: enc.encode('root-value') },
      { cnid: 20, name: 'com.example.link', value: enc.encode('link-value') },
      { cnid: 22, name: 'com.example.long', value: enc.encode('long-value') },
    ],
    { volumeName: 'Vol' },
  );
}

/** 7-Zip's alternate streams of the image: "path:name" → bytes. */
function sevenZipStreams(bin: string, image: string): Map<string, Buffer> {
  const list = spawnSync(bin, ['l', '-sns', '-slt', image], { encoding: 'utf8' });
  expect(list.status).toBe(0);
  const out = new Map<string, Buffer>();
  for (const m of list.stdout.matchAll(/^Path = (Vol[^\n]*:[^\n]+)$/gm)) {
    const r = spawnSync(bin, ['e', '-so', '-sns', image, m[1]], { maxBuffer: 1 << 20 });
    out.set(m[1], r.stdout);
  }
  return out;
}

describe('extraction keeps every xattr', () => {
  const z = sevenZip();
  if (!z && process.env.CI) throw new Error('7zz is missing (CI is set: refusing to skip)');
  it.runIf(z)("symlinks' and the root folder's xattrs land in ._link and ._. as 7-Zip reads them", async () => {
    const bytes = volumeBytes();
    const image = join(base, 'vol.hfs');
    writeFileSync(image, bytes);
    const streams = sevenZipStreams(z!, image);
    expect([...streams.keys()].sort()).toEqual([`Vol/${LONG}:com.example.long`, 'Vol/link:com.example.link', 'Vol:com.example.root'].sort());
    const dest = join(base, 'x1');
    const res = await extractVolume(await openHfs(new BufferSource(bytes)), dest);
    expect(res.skipped).toEqual([]);
    const root = parseAppleDouble(readFileSync(join(dest, '._.')));
    expect(root.xattrs.map((x) => [x.name, Buffer.from(x.value)])).toEqual([['com.example.root', streams.get('Vol:com.example.root')]]);
    const link = parseAppleDouble(readFileSync(join(dest, '._link')));
    expect(link.xattrs.map((x) => [x.name, Buffer.from(x.value)])).toEqual([['com.example.link', streams.get('Vol/link:com.example.link')]]);
    // the 255-byte name: its AppleDouble file has a shortened name, recorded in the manifest; a note, not a skip
    const manifest = readFileSync(join(dest, LONG_NAMES_MANIFEST), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(manifest).toHaveLength(1);
    expect(manifest[0].name).toBe(LONG);
    expect(Buffer.byteLength(manifest[0].appleDouble)).toBeLessThanOrEqual(255);
    expect(readdirSync(dest)).toContain(manifest[0].appleDouble);
    const long = parseAppleDouble(readFileSync(join(dest, manifest[0].appleDouble)));
    expect(long.xattrs.map((x) => [x.name, Buffer.from(x.value)])).toEqual([['com.example.long', streams.get(`Vol/${LONG}:com.example.long`)]]);
    expect(Buffer.from(long.finderInfo.subarray(0, 8)).toString('latin1')).toBe('TEXTttxt');
    expect(readFileSync(join(dest, LONG), 'utf8')).toBe('long\n');
    expect(res.notes.map((n) => n.path)).toEqual([LONG]);
  });

  it('the CLI exits 0 for the 255-byte name (every file written)', async () => {
    const image = join(base, 'vol2.hfs');
    writeFileSync(image, volumeBytes());
    const { repoRoot } = await import('../helpers/fixtures.js');
    const r = spawnSync(process.execPath, [join(repoRoot, 'dist/cli/main.js'), 'extract', image, join(base, 'x2')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).not.toMatch(/skipped/);
    expect(r.status).toBe(0);
  });
});
