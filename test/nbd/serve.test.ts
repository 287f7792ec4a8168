import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fixture, haveFixtures, sevenZip, synthetic } from '../helpers/fixtures.js';
import { sevenZipPartitions } from '../helpers/seven-zip.js';
import { deflateSync } from 'node:zlib';
import { BufferSource } from '../../src/io/buffer-source.js';
import { writeUdifImage } from '../../src/udif/write/udif.js';
import { wholeDiskPlan } from '../../src/udif/write/plan.js';
import { openBlockDevice } from '../../src/blockdev/device.js';
import { bin, cli, fileSha, haveTools, killServers, qemuImgRead, sha, startServer, tool } from './helpers.js';

const ok = haveFixtures() && haveTools('qemu-img', 'qemu-io', 'nbdinfo');
const seven = ok ? sevenZip() : null;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmgkit-nbd-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(killServers);

/** The disk 7-Zip decodes: its partitions (the UDIF block tables) in order, which tile the disk. */
function sevenZipDisk(image: string): Buffer {
  return Buffer.concat(sevenZipPartitions(seven!, image).map((p) => p.data));
}

const CODECS: [string, string][] = [
  ['zlib (UDZO)', 'udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg'],
  ['bzip2 (UDBZ)', 'udbz_gpt_hfsplus__keramics_hfsplus_bzip2.dmg'],
  ['LZFSE (ULFO)', 'ulfo_gpt_hfsplus__keramics_hfsplus_lzfse.dmg'],
  ['LZMA (ULMO)', 'ulmo_gpt_hfsplus__keramics_hfsplus_lzma.dmg'],
  ['ADC (UDCO)', 'udco_gpt_hfsplus__keramics_hfsplus_adc.dmg'],
  ['raw (UDRO)', 'udro_mbr_fat16__node-udif_compression-raw.dmg'],
];

/** A UDZO image of 6 MiB in 64 KiB zlib chunks: noise, text-like runs and zero runs (made once per run). */
let manyChunksImage: { image: string; disk: Uint8Array } | null = null;
async function manyChunks(): Promise<{ image: string; disk: Uint8Array }> {
  if (manyChunksImage) return manyChunksImage;
  const disk = new Uint8Array(6 << 20);
  let x = 0x9e3779b9;
  for (let i = 0; i < disk.length; i++) {
    const zone = (i >> 18) % 3;
    if (zone === 0) disk[i] = (x = (x * 1664525 + 1013904223) >>> 0) >>> 24;
    else if (zone === 1) disk[i] = 97 + ((i * 31) >> 7) % 26;
  }
  const opts = { chunkType: 0x80000005, encoder: (d: Uint8Array) => new Uint8Array(deflateSync(d)), chunkSectors: 128 };
  const parts: Uint8Array[] = [];
  for await (const p of writeUdifImage(new BufferSource(disk), wholeDiskPlan(disk.length / 512), opts)) parts.push(p);
  const image = join(dir, 'many-chunks.dmg');
  writeFileSync(image, Buffer.concat(parts));
  return (manyChunksImage = { image, disk });
}

describe.runIf(ok)('dmgkit serve: read-only exports read by qemu-img and nbdinfo', () => {
  for (const [codec, name] of CODECS) {
    it(`${codec}: qemu-img convert over NBD yields the disk 7-Zip decodes; nbdinfo reports size and read-only`, async () => {
      const image = fixture(name);
      const before = fileSha(image);
      const s = await startServer([image, '--threads', '2']);
      const info = JSON.parse(tool('nbdinfo', ['--json', s.url]).stdout);
      const exp = info.exports[0];
      const disk = qemuImgRead(s.url, join(dir, `${name}.raw`));
      const theirs = sevenZipDisk(image);
      expect(disk.length).toBe(theirs.length);
      expect(sha(disk)).toBe(sha(theirs));
      expect(exp['export-size']).toBe(theirs.length);
      expect(exp.is_read_only).toBe(true);
      expect(exp.can_flush).toBe(true);
      expect(info.protocol).toMatch(/newstyle-fixed/);
      expect(await s.stop('SIGTERM')).toBe(0);
      expect(fileSha(image)).toBe(before);
    });
  }

  it('a raw disk and one partition (--partition) are served too', async () => {
    const raw = synthetic('lzfse-mbr.img');
    const s = await startServer([raw]);
    expect(sha(qemuImgRead(s.url, join(dir, 'raw.raw')))).toBe(fileSha(raw));
    await s.stop();
    const image = fixture('udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg');
    const p = await startServer([image, '--partition', '0']);
    const part = qemuImgRead(p.url, join(dir, 'part.raw'));
    // 7-Zip's GPT handler extracts the same partition from the decoded disk
    const whole = join(dir, 'whole.raw');
    writeFileSync(whole, sevenZipDisk(image));
    const x = join(dir, 'x-part');
    tool(seven!, ['x', '-tgpt', '-y', `-o${x}`, whole]);
    const files = readdirSync(x);
    expect(files).toHaveLength(1);
    expect(sha(part)).toBe(fileSha(join(x, files[0])));
  });

  it.runIf(haveTools('nbdcopy'))('a chunk cache far smaller than what is in flight: nbdcopy on 4 connections gets the disk 7-Zip decodes', async () => {
    // served with a 1 MiB cache while nbdcopy keeps 4 connections x 64 requests in flight, so chunks are evicted
    // and their buffers reused while others are sent
    const { image, disk } = await manyChunks();
    const theirs = sevenZipDisk(image);
    expect(sha(theirs)).toBe(sha(disk));
    const s = await startServer([image, '--threads', '2', '--cache-mib', '1']);
    for (let pass = 0; pass < 2; pass++) {
      const r = spawnSync('bash', ['-c', `nbdcopy ${s.url} - | sha256sum`], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.split(' ')[0]).toBe(sha(theirs));
    }
    expect(await s.stop()).toBe(0);
  });

  it('openBlockDevice: bytes a reader holds (readParts, not released) stay intact while the cache evicts and reuses buffers', async () => {
    const { image, disk } = await manyChunks();
    const dev = await openBlockDevice(image, { threads: 2, limits: { cacheBytes: 256 << 10 } });
    try {
      const held = await dev.readParts(4096, 60000); // inside chunk 0 (noise)
      const first = Buffer.concat(held.parts);
      expect(sha(first)).toBe(sha(disk.subarray(4096, 64096)));
      // 40 other chunks through a cache of 4: chunk 0 is the oldest, but pinned
      for (let i = 1; i <= 40; i++) expect(sha(await dev.read(i << 16, 1 << 16))).toBe(sha(disk.subarray(i << 16, (i + 1) << 16)));
      expect(sha(Buffer.concat(held.parts))).toBe(sha(first));
      held.release();
      // whole-disk read crossing chunk boundaries at odd offsets
      expect(sha(await dev.read(12345, disk.length - 20000))).toBe(sha(disk.subarray(12345, disk.length - 20000 + 12345)));
    } finally {
      await dev.close();
    }
  });

  it('listens on a Unix socket with --socket', async () => {
    const sock = join(dir, 'serve.sock');
    const p = spawn(process.execPath, [bin, 'serve', fixture('udco_mbr_fat16__node-udif_compression-adc.dmg'), '--socket', sock], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      let err = '';
      p.stderr!.on('data', (d: Buffer) => (err += d));
      for (let i = 0; i < 200 && !err.includes('nbd+unix'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(err).toContain(`nbd+unix:///?socket=${sock}`);
      const info = JSON.parse(tool('nbdinfo', ['--json', `nbd+unix:///?socket=${sock}`]).stdout).exports[0];
      expect(info['export-size']).toBe(5242880);
      expect(info.is_read_only).toBe(true);
    } finally {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
  });

  it('block status reports the zero-fill chunks as holes (nbdinfo --map)', async () => {
    const s = await startServer([fixture('udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg')]);
    const map = JSON.parse(tool('nbdinfo', ['--map', '--json', s.url]).stdout) as { offset: number; length: number; type: number }[];
    const disk = sevenZipDisk(fixture('udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg'));
    expect(map.reduce((n, e) => n + e.length, 0)).toBe(disk.length);
    const holes = map.filter((e) => e.type & 2);
    expect(holes.reduce((n, e) => n + e.length, 0)).toBeGreaterThan(800_000);
    for (const h of holes) expect(disk.subarray(h.offset, h.offset + h.length).every((b) => b === 0)).toBe(true);
  });

  it('a write to a read-only export fails with EPERM and the server keeps serving', async () => {
    const s = await startServer([fixture('udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg')]);
    const w = spawnSync('qemu-io', ['-f', 'raw', s.url, '-c', 'write -P 1 0 512'], { encoding: 'utf8', timeout: 30_000 });
    expect(`${w.stdout}${w.stderr}`).toMatch(/read-only|Operation not permitted|EPERM|permission/i);
    expect(JSON.parse(tool('nbdinfo', ['--json', s.url]).stdout).exports[0]['export-size']).toBe(1964032);
  });
});

/** Non-overlapping writes: unaligned, across chunk boundaries (20480, 1049600, 1912832) and 256 KiB bands. */
const WRITES: { off: number; len: number; pat: number; zero?: boolean }[] = [
  { off: 17409, len: 1, pat: 0x11 },
  { off: 20479, len: 2, pat: 0x22 },
  { off: 25000, len: 5000, pat: 0x33 },
  { off: 40000, len: 5000, pat: 0, zero: true },
  { off: 262044, len: 300, pat: 0x44 },
  { off: 700001, len: 300000, pat: 0x55 },
  { off: 1048600, len: 2000, pat: 0x66 },
  { off: 1310720, len: 262144, pat: 0x77 },
  { off: 1600000, len: 10000, pat: 0, zero: true },
  { off: 1912822, len: 4000, pat: 0x88 },
  { off: 1946000, len: 1000, pat: 0x99 },
];

function applyWrites(disk: Buffer): Buffer {
  const out = Buffer.from(disk);
  for (const w of WRITES) out.fill(w.pat, w.off, w.off + w.len);
  return out;
}

const writeCommands = () => WRITES.flatMap((w) => ['-c', w.zero ? `write -z ${w.off} ${w.len}` : `write -P ${w.pat} ${w.off} ${w.len}`]);
const readCommands = () => WRITES.flatMap((w) => ['-c', `read -P ${w.pat} ${w.off} ${w.len}`]);

describe.runIf(ok)('dmgkit serve --shadow: writes by qemu-io', () => {
  const name = 'udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg';

  it('are read back through a fresh connection and after a restart; the image never changes; convert --shadow applies them', async () => {
    const image = fixture(name);
    const before = fileSha(image);
    const shadow = join(dir, 'a.shadow');
    const expected = applyWrites(sevenZipDisk(image));

    let s = await startServer([image, '--shadow', shadow, '--threads', '2']);
    const info = JSON.parse(tool('nbdinfo', ['--json', s.url]).stdout).exports[0];
    expect(info.is_read_only).toBe(false);
    expect(info.can_fua && info.can_trim && info.can_zero).toBe(true);
    tool('qemu-io', ['-f', 'raw', s.url, ...writeCommands(), '-c', 'flush']);
    // a fresh connection, reading only
    tool('qemu-io', ['-f', 'raw', '-r', s.url, ...readCommands()]);
    expect(sha(qemuImgRead(s.url, join(dir, 'a1.raw')))).toBe(sha(expected));
    expect(await s.stop('SIGTERM')).toBe(0);

    s = await startServer([image, '--shadow', shadow]);
    tool('qemu-io', ['-f', 'raw', '-r', s.url, ...readCommands()]);
    expect(sha(qemuImgRead(s.url, join(dir, 'a2.raw')))).toBe(sha(expected));
    expect(await s.stop('SIGINT')).toBe(0);
    expect(fileSha(image)).toBe(before);

    // convert --shadow: the raw disk with the writes, its partition as 7-Zip extracts it
    const out = join(dir, 'a-converted.raw');
    const r = cli(['convert', image, '--shadow', shadow, '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(sha(readFileSync(out))).toBe(sha(expected));
    const x = join(dir, 'x-conv');
    tool(seven!, ['x', '-tgpt', '-y', `-o${x}`, out]);
    const [part] = readdirSync(x);
    const hfs = readFileSync(join(x, part)); // partition 0 starts at 20480
    expect(sha(hfs)).toBe(sha(expected.subarray(20480, 20480 + hfs.length)));
    expect(hfs.subarray(700001 - 20480, 1000001 - 20480).every((b) => b === 0x55)).toBe(true);
    // never over an existing file without --force
    const again = cli(['convert', image, '--shadow', shadow, '-o', out]);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/exists|--force/);
    // --format UDZO: a new image with the writes, as 7-Zip decodes it
    const dmg = join(dir, 'a-converted.dmg');
    const f = cli(['convert', image, '--shadow', shadow, '--format', 'UDZO', '-o', dmg]);
    expect(f.status, f.stderr).toBe(0);
    expect(sha(sevenZipDisk(dmg))).toBe(sha(expected));
  });

  it('kill -9 after FLUSH keeps every flushed write', async () => {
    const image = fixture(name);
    const shadow = join(dir, 'k.shadow');
    const expected = applyWrites(sevenZipDisk(image));
    let s = await startServer([image, '--shadow', shadow]);
    tool('qemu-io', ['-f', 'raw', s.url, ...writeCommands(), '-c', 'flush']);
    await s.stop('SIGKILL');
    s = await startServer([image, '--shadow', shadow]);
    tool('qemu-io', ['-f', 'raw', '-r', s.url, ...readCommands()]);
    expect(sha(qemuImgRead(s.url, join(dir, 'k.raw')))).toBe(sha(expected));
    // FUA writes without a flush survive too
    tool('qemu-io', ['-f', 'raw', s.url, '-c', 'write -f -P 0xee 123457 70000']);
    await s.stop('SIGKILL');
    s = await startServer([image, '--shadow', shadow]);
    tool('qemu-io', ['-f', 'raw', '-r', s.url, '-c', 'read -P 0xee 123457 70000', '-c', 'read -P 0x55 700001 300000']);
  });

  it('TRIM (qemu-io discard): the range reads as zeros through a fresh connection and after kill -9 past a flush', async () => {
    const image = fixture(name);
    const before = fileSha(image);
    const shadow = join(dir, 't.shadow');
    const base = sevenZipDisk(image);
    const BAND = 256 * 1024;
    // a whole band, never written, whose bytes in the image are not all zeros
    let fresh = -1;
    for (let b = 3; b < Math.floor(base.length / BAND) && fresh < 0; b++) if (base.subarray(b * BAND, (b + 1) * BAND).some((x) => x !== 0)) fresh = b;
    expect(fresh).toBeGreaterThan(0);
    const dataAt = (from: number) => { // a 4 KiB-aligned range of 16 KiB with non-zero bytes in the image, in another band
      for (let o = from; o + 16384 <= base.length; o += 4096) if (base.subarray(o, o + 16384).some((x) => x !== 0) && Math.floor(o / BAND) !== fresh) return o;
      throw new Error('no data');
    };
    const partial = dataAt((fresh + 1) * BAND + 4096);
    const discards = [
      { off: 102400, len: 49152 }, // inside a written band
      { off: BAND, len: BAND }, // a whole written band
      { off: fresh * BAND, len: BAND }, // a whole band only the image holds
      { off: partial, len: 16384 }, // part of a band only the image holds
    ];
    const expected = Buffer.from(base);
    expected.fill(0x5a, 0, 600000);
    for (const d of discards) expected.fill(0, d.off, d.off + d.len);

    let s = await startServer([image, '--shadow', shadow]);
    tool('qemu-io', ['-f', 'raw', s.url, '-c', 'write -P 0x5a 0 600000', '-c', 'flush']);
    const sizeBefore = statSync(shadow).size;
    const blocksBefore = statSync(shadow).blocks;
    tool('qemu-io', ['-f', 'raw', '-d', 'unmap', s.url, ...discards.flatMap((d) => ['-c', `discard ${d.off} ${d.len}`]), '-c', 'flush']);
    // a fresh connection sees zeros where the discards were, the rest unchanged
    tool('qemu-io', ['-f', 'raw', '-r', s.url, ...discards.flatMap((d) => ['-c', `read -P 0 ${d.off} ${d.len}`])]);
    expect(sha(qemuImgRead(s.url, join(dir, 't1.raw')))).toBe(sha(expected));
    await s.stop('SIGKILL');
    // the band of zeros is recorded without writing its data: the file grew by a band and a node at most
    const grown = statSync(shadow).size - sizeBefore;
    expect(grown).toBeLessThanOrEqual(2 * BAND + 4096);
    // two bands were added: the partly discarded one (copied from the image, then zeroed in part) and the band of
    // zeros, which takes (almost) no space where the file system keeps holes
    const probe = join(dir, 'sparse-probe');
    writeFileSync(probe, '');
    truncateSync(probe, 1 << 20);
    if (statSync(probe).blocks === 0) expect((statSync(shadow).blocks - blocksBefore) * 512).toBeLessThan(BAND * 1.5);
    s = await startServer([image, '--shadow', shadow]);
    expect(sha(qemuImgRead(s.url, join(dir, 't2.raw')))).toBe(sha(expected));
    expect(await s.stop()).toBe(0);
    expect(fileSha(image)).toBe(before);
  });

  it('a shadow cut short, damaged, or made for another image is refused', async () => {
    const image = fixture(name);
    const shadow = join(dir, 'c.shadow');
    const s = await startServer([image, '--shadow', shadow]);
    tool('qemu-io', ['-f', 'raw', s.url, ...writeCommands(), '-c', 'flush']);
    expect(await s.stop()).toBe(0);
    const size = statSync(shadow).size;
    const bytes = readFileSync(shadow);

    // cut short: the last band is incomplete
    truncateSync(shadow, size - 4096);
    await expect(startServer([image, '--shadow', shadow])).rejects.toThrow(/cut short[^]*does not repair[^]*move .* aside[^]*new --shadow file/);
    expect(cli(['convert', image, '--shadow', shadow, '-o', join(dir, 'c.raw')]).stderr).toMatch(/cut short/);

    // a damaged header node
    const damaged = Buffer.from(bytes);
    damaged[100] ^= 1;
    writeFileSync(shadow, damaged);
    await expect(startServer([image, '--shadow', shadow])).rejects.toThrow(/CRC32/);

    // another image of the same size
    writeFileSync(shadow, bytes);
    await expect(startServer([fixture('udbz_gpt_hfsplus__keramics_hfsplus_bzip2.dmg'), '--shadow', shadow])).rejects.toThrow(/another base image[^]*serve the image this shadow was made for/);
    // another image of another size
    await expect(startServer([fixture('udzo_mbr_fat16__node-udif_compression-zlib.dmg'), '--shadow', shadow])).rejects.toThrow(/another image/);
    // the untouched shadow still opens
    const again = await startServer([image, '--shadow', shadow]);
    tool('qemu-io', ['-f', 'raw', '-r', again.url, ...readCommands()]);
  });
});
