/**
 * Hostile sparse bundles and truncated sparse images, each built by the test, opened by the library and by the CLI
 * (child process, default options, with a timeout so a hang fails instead of blocking):
 * - Info.plist a symlink to /dev/zero, or a FIFO; a band a symlink to a file outside the bundle, or a FIFO; bands/
 *   a symlink to a directory elsewhere: refused (UNSAFE_PATH, exit 1), never read, never blocking;
 * - band-size 1 (or not a multiple of 4096): CORRUPT_HEADER;
 * - a broken Info.plist with a good Info.bckup: opens, with a warning in the opened disk's `warnings`;
 * - a sparse image cut short: its warnings are in the opened disk's `warnings`, reading a lost band fails
 *   (TRUNCATED) and a plain `convert` fails; the bytes that exist are still read.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSparseBundle } from '../../src/container/sparsebundle.js';
import { DmgkitError } from '../../src/errors.js';
import { openDisk } from '../../src/open.js';
import { repoRoot } from '../helpers/fixtures.js';
import { buildSparseImage, writeSparseBundle } from './build.js';

const root = mkdtempSync(join(tmpdir(), 'dmgkit-hostile-container-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const BAND = 8192;
const disk = new Uint8Array(4 * BAND).map((_, i) => (i * 7 + 3) & 0xff);
function bundle(): string {
  const dir = join(root, `b${n++}.sparsebundle`);
  writeSparseBundle(dir, disk, BAND, new Map([[0, BAND], [1, BAND], [2, BAND], [3, BAND]]));
  return dir;
}
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(repoRoot, 'dist/cli/main.js'), ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 26 });
const codeOf = async (p: Promise<unknown>) => p.then(() => 'ok', (e) => (e instanceof DmgkitError ? e.code : `not a DmgkitError: ${e}`));
const mkfifo = (p: string) => expect(spawnSync('mkfifo', [p]).status).toBe(0);

describe('hostile sparse bundles', () => {
  it('Info.plist as a symlink to /dev/zero or as a FIFO is refused (no backup) or falls back to Info.bckup with a warning', async () => {
    for (const make of [(p: string) => symlinkSync('/dev/zero', p), mkfifo]) {
      const dir = bundle();
      unlinkSync(join(dir, 'Info.plist'));
      make(join(dir, 'Info.plist'));
      const opened = await openDisk(dir);
      expect(opened.warnings).toHaveLength(1);
      expect(opened.warnings[0]).toMatch(/Info\.plist is unusable .*not a regular file|Info\.plist is unusable .*symbolic link/);
      expect(Buffer.from(await opened.disk.read(0, disk.length)).equals(Buffer.from(disk))).toBe(true);
      await opened.close();
      unlinkSync(join(dir, 'Info.bckup'));
      expect(await codeOf(openSparseBundle(dir))).toBe('UNSAFE_PATH');
      const r = cli('info', dir);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^dmgkit: .*Info\.plist/);
    }
  });

  it('a band that is a symlink (to /etc/passwd) or a FIFO is refused, never read', async () => {
    for (const make of [(p: string) => symlinkSync('/etc/passwd', p), mkfifo]) {
      const dir = bundle();
      unlinkSync(join(dir, 'bands', '1'));
      make(join(dir, 'bands', '1'));
      const b = await openSparseBundle(dir);
      expect(Buffer.from(await b.read(0, BAND)).equals(Buffer.from(disk.subarray(0, BAND)))).toBe(true);
      expect(await codeOf(b.read(BAND, 16))).toBe('UNSAFE_PATH');
      await b.close();
      const out = join(root, `out${n++}.img`);
      const r = cli('convert', dir, '-o', out, '--threads', '1'); // (with a worker pool the CLI does not exit after an error yet: the cli helper's item)
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/band 1 .*(symbolic link|not a regular file)/);
    }
  });

  it('bands/ as a symlink to a directory elsewhere is refused', async () => {
    const dir = bundle();
    rmSync(join(dir, 'bands'), { recursive: true });
    const elsewhere = join(root, `elsewhere${n++}`);
    writeSparseBundle(elsewhere, disk, BAND, new Map([[0, BAND]]));
    symlinkSync(join(elsewhere, 'bands'), join(dir, 'bands'));
    expect(await codeOf(openSparseBundle(dir))).toBe('UNSAFE_PATH');
  });

  it('band-size 1, 0, 4097 and 2^31 are refused; 4096 opens', async () => {
    for (const size of [1, 0, 4097, 2 ** 31]) {
      const dir = join(root, `bs${n++}.sparsebundle`);
      writeSparseBundle(dir, disk, size, new Map());
      unlinkSync(join(dir, 'Info.bckup'));
      expect(await codeOf(openSparseBundle(dir))).toBe('CORRUPT_HEADER');
    }
    const ok = join(root, `bs${n++}.sparsebundle`);
    writeSparseBundle(ok, disk, 4096, new Map([[0, 4096]]));
    expect(await codeOf(openSparseBundle(ok))).toBe('ok');
  });

  it('a broken Info.plist silently replaced by Info.bckup is a warning of the opened disk', async () => {
    const dir = bundle();
    writeFileSync(join(dir, 'Info.plist'), '<plist><dict><key>size</key>');
    const opened = await openDisk(dir);
    expect(opened.warnings.length).toBe(1);
    expect(opened.warnings[0]).toMatch(/^Info\.plist is unusable \(.*\); the backup Info\.bckup was used instead$/);
    await opened.close();
  });
});

describe('truncated sparse images', () => {
  it('a sparse image cut short: warnings on the opened disk, lost bands fail to read, a plain convert fails', async () => {
    const img = buildSparseImage(new Uint8Array(64 * 1024).map((_, i) => (i % 251) + 1), 8, [0, 1, 2, 3, 4, 5, 6, 7]);
    const cut = img.subarray(0, 4096 + 3 * 4096 + 100); // header, bands 1-3 whole, band 4 partly
    const path = join(root, `cut${n++}.sparseimage`);
    writeFileSync(path, cut);
    const opened = await openDisk(path);
    expect(opened.kind).toBe('sparseimage');
    expect(opened.warnings.length).toBeGreaterThanOrEqual(5);
    expect(opened.warnings.join('\n')).toMatch(/truncated image/);
    expect((await opened.disk.read(0, 3 * 4096)).every((b, i) => b === (i % 251) + 1)).toBe(true);
    expect(await codeOf(opened.disk.read(3 * 4096, 4096))).toBe('TRUNCATED');
    expect(await codeOf(opened.disk.read(6 * 4096, 10))).toBe('TRUNCATED');
    await opened.close();
    const r = cli('convert', path, '-o', join(root, `cut${n++}.img`), '--threads', '1');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/band 4 at offset 16384 .*cut short by the end of the file/);
    expect(r.stderr).toMatch(/is damaged .*--keep-going converts what is readable/);
    expect(r.stderr).not.toMatch(/wrote the whole disk/);
    // --keep-going: the whole disk is written, the existing bytes as they are, the lost range named (exit 1)
    const out = join(root, `cut${n++}.img`);
    const k = cli('convert', path, '-o', out, '--keep-going', '--threads', '1');
    expect(k.status).toBe(1);
    expect(k.stderr).toMatch(/lost bytes \[12288, \+20480\) written as zeros: sparse image: band 4/);
    // the summary comes last (after the warnings and the lost ranges) and says what was lost
    expect(k.stderr.trimEnd().split('\n').at(-1)).toBe(`wrote the whole disk (65536 bytes) to ${out} with 20480 bytes lost in 1 range (written as zeros)`);
    expect(k.stderr.indexOf('dmgkit: warning:')).toBeLessThan(k.stderr.indexOf('lost bytes'));
    const got = readFileSync(out);
    expect(got.length).toBe(64 * 1024);
    expect(got.subarray(0, 3 * 4096).every((b, i) => b === (i % 251) + 1)).toBe(true);
    expect(got.subarray(3 * 4096).every((b) => b === 0)).toBe(true);
  });
});



/**
 * A sparse container declaring a huge disk around a few stored bands (the fuzz campaign's bombs: a sparse image of
 * 2^40 sectors, a bundle whose Info.plist says 2^40 bytes): `verify` read every byte of the declared disk (4 MiB at a
 * time, or one band file open per band), so it ran for hours. Absent bands are now holes the container names
 * (ByteSource.nextData): verify and convert cost what the file stores, and the stored bytes are still all read.
 */
describe('sparse containers declaring a huge disk', () => {
  const stored = new Uint8Array(16 * 4096).map((_, i) => (i % 253) + 1);
  // the stored bands lie in the first piece read (PLAIN_PIECE, 4 MiB); every byte after it is a hole, never read
  const PIECE = 4 << 20;
  it('sparse image of 2^40 sectors: verify reads the stored bands only; convert -o - begins with them', () => {
    const img = buildSparseImage(stored, 8, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    new DataView(img.buffer).setUint32(16, 0xffffffff);
    new DataView(img.buffer).setBigUint64(28, 1n << 40n);
    const path = join(root, `huge${n++}.sparseimage`);
    writeFileSync(path, img);
    const v = cli('verify', path);
    expect(v.error).toBeUndefined(); // not killed by the timeout
    expect(v.status).toBe(0);
    expect(v.stdout).toBe(`${path}: sparseimage image: no checksums to verify; all ${2 ** 49} bytes of the disk read (${2 ** 49 - PIECE} of them in absent bands: zeros)\n`);
    // the stored bytes, then zeros (the first 1 MiB: `head -c` closes the pipe)
    const c = spawnSync('sh', ['-c', `${JSON.stringify(process.execPath)} ${JSON.stringify(join(repoRoot, 'dist/cli/main.js'))} convert ${JSON.stringify(path)} -o - | head -c 1048576`], { timeout: 60_000, maxBuffer: 1 << 22 });
    expect(c.error).toBeUndefined();
    expect(c.stdout.length).toBe(1 << 20);
    expect(Buffer.compare(c.stdout.subarray(0, stored.length), Buffer.from(stored))).toBe(0);
    expect(c.stdout.subarray(stored.length).every((b: number) => b === 0)).toBe(true);
  });

  it('sparse bundle whose Info.plist says 2^40 bytes: verify opens only the band files that exist', () => {
    const dir = join(root, `huge${n++}.sparsebundle`);
    writeSparseBundle(dir, stored, BAND, new Map(Array.from({ length: stored.length / BAND }, (_, i) => [i, BAND])));
    const p = join(dir, 'Info.plist');
    writeFileSync(p, readFileSync(p, 'utf8').replace(/<key>size<\/key>\s*<integer>\d+<\/integer>/, `<key>size</key><integer>${2 ** 40}</integer>`));
    const v = cli('verify', dir, '--json');
    expect(v.error).toBeUndefined();
    expect(v.status).toBe(0);
    const r = JSON.parse(v.stdout) as { size: number; readable: number; absent: number };
    expect(r).toMatchObject({ size: 2 ** 40, readable: 2 ** 40, absent: 2 ** 40 - PIECE });
    // a band that is a FIFO is still refused (an entry of bands/ is read, whatever it is)
    unlinkSync(join(dir, 'bands', '3'));
    mkfifo(join(dir, 'bands', '3'));
    const f = cli('verify', dir);
    expect(f.error).toBeUndefined();
    expect(f.status).toBe(1);
    expect(f.stderr).toMatch(/band.* 3.*(FIFO|not a regular file)/);
  });
});
