/**
 * `create` (a partitioned disk around a volume, hdiutil's layout) and the `convert --format` / `create` CLI, run
 * as the built binary: 7-Zip lists the same partitions and HFS+ files as from the volume; GPT CRCs check.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, haveFixtures, repoRoot, sevenZip, synthetic } from '../helpers/fixtures.js';
import { sevenZipDisk } from '../helpers/oracles.js';
import { createDisk } from '../../src/write/create.js';
import { readPartitionMap } from '../../src/disk/partition-map.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import { openDisk } from '../../src/open.js';
import { mixedData } from '../../src/cli/commands/bench.js';

const bin = join(repoRoot, 'dist', 'cli', 'main.js');
function cli(args: string[], input?: Buffer) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'buffer', input, timeout: 120_000, maxBuffer: 1 << 28 });
}

/** 7-Zip's listing of files (path and size) below the volume's root folder, sorted. */
function files7z(path: string): string[] {
  const r = spawnSync('7zz', ['l', '-slt', path], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const out: string[] = [];
  let cur: Record<string, string> = {};
  for (const line of (r.stdout + '\n').split('\n')) {
    if (line.trim() === '') {
      if (cur.Path && cur.Folder === '-') out.push(`${cur.Path.split('/').slice(1).join('/')} ${cur.Size}`);
      cur = {};
      continue;
    }
    const m = /^(\w[\w ]*) = (.*)$/.exec(line);
    if (m) cur[m[1]] = m[2];
  }
  return out.sort();
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmgkit-create-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(haveFixtures() && sevenZip())('create: a volume in a partitioned disk', () => {
  const volume = () => synthetic('features.hfs');

  it.each(['gpt', 'apm', 'mbr', 'none'] as const)('%s: 7-Zip lists the same HFS+ files as from the volume; the disk reads back', async (scheme) => {
    const out = join(dir, `create-${scheme}.dmg`);
    const r = cli(['create', '--from', volume(), '--scheme', scheme, '-o', out, '--deterministic']);
    expect(r.status, r.stderr.toString()).toBe(0);
    const want = files7z(volume());
    expect(want.length).toBeGreaterThan(20);
    expect(files7z(out)).toEqual(want);
    const z = sevenZipDisk(out);
    expect(z.ok, z.report).toBe(true);
    const vol = readFileSync(volume());
    const disk = await createDisk(new BufferSource(new Uint8Array(vol)), { scheme });
    expect(z.disk.length).toBe(disk.size);
    const map = await readPartitionMap(new BufferSource(new Uint8Array(z.disk)));
    expect(map.scheme).toBe(scheme);
    if (scheme !== 'none') {
      expect(map.entries.filter((e) => e.size === vol.length).length).toBe(1);
      const e = map.entries.find((x) => x.size === vol.length)!;
      expect(z.disk.subarray(e.offset, e.offset + vol.length).equals(vol)).toBe(true);
    }
    if (scheme === 'gpt') {
      expect(map.gpt?.primary?.headerCrcOk && map.gpt.primary.tableCrcOk).toBe(true);
      expect(map.gpt?.backup?.headerCrcOk && map.gpt.backup.tableCrcOk).toBe(true);
      // 7-Zip's own GPT reader (it checks the header CRC) on the raw disk.
      const raw = join(dir, 'gpt.raw');
      writeFileSync(raw, z.disk);
      const g = spawnSync('7zz', ['l', '-tgpt', raw], { encoding: 'utf8' });
      expect(g.status, g.stdout).toBe(0);
      expect(g.stdout).not.toMatch(/error/i);
      expect(g.stdout).toMatch(/disk image/);
    }
    if (scheme === 'apm') {
      const names = (await (async () => {
        const img = await openDisk(out);
        try {
          return img.udif!.partitions.map((p) => p.name);
        } finally {
          await img.close();
        }
      })());
      expect(names).toEqual(['Driver Descriptor Map (DDM : 0)', 'Apple (Apple_partition_map : 1)', 'disk image (Apple_HFS : 2)']);
    }
  });

  it('--volname names the partition; the same input gives the same bytes', async () => {
    const a = join(dir, 'a.dmg');
    const b = join(dir, 'b.dmg');
    expect(cli(['create', '--from', volume(), '--volname', 'My Disk', '-o', a, '--deterministic', '--threads', '1']).status).toBe(0);
    expect(cli(['create', '--from', volume(), '--volname', 'My Disk', '-o', b, '--deterministic', '--threads', '2']).status).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    const img = await openDisk(a);
    try {
      expect(img.udif!.partitions.map((p) => p.name)).toContain('My Disk (Apple_HFS : 4)');
    } finally {
      await img.close();
    }
  });
});

describe.runIf(haveFixtures() && sevenZip())('convert --format (the built binary)', () => {
  const src = () => fixture('udzo_mbr_fat16__node-udif_compression-zlib.dmg');

  it('default options write a UDZO that 7-Zip checks; an existing OUT needs --force; -o - gives the same bytes', async () => {
    const out = join(dir, 'conv.dmg');
    rmSync(out, { force: true });
    let r = cli(['convert', src(), '-o', out, '--format', 'UDZO', '--deterministic']);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(r.stderr.toString()).toMatch(/wrote UDZO/);
    expect(sevenZipDisk(out).ok).toBe(true);
    const first = readFileSync(out);
    r = cli(['convert', src(), '-o', out, '--format', 'UDZO', '--deterministic']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.toString()).toMatch(/already exists/);
    r = cli(['convert', src(), '-o', '-', '--format', 'UDZO', '--deterministic']);
    expect(r.status).toBe(0);
    expect(r.stdout.equals(first)).toBe(true);
    r = cli(['convert', src(), '-o', out, '--format', 'UDCO', '--force', '--level', '3']);
    expect(r.status).not.toBe(0); // ADC has no levels
    expect(r.stderr.toString()).toMatch(/levels/);
    expect(readFileSync(out).equals(first)).toBe(true); // the failed run left the file alone
  });

  it('refuses to write onto the input, unknown formats, and UDSB to standard output', () => {
    const copy = join(dir, 'self.dmg');
    writeFileSync(copy, readFileSync(src()));
    let r = cli(['convert', copy, '-o', copy, '--format', 'UDZO', '--force']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.toString()).toMatch(/is the input/);
    r = cli(['convert', src(), '-o', join(dir, 'x.dmg'), '--format', 'UDXX']);
    expect(r.status).toBe(2);
    expect(r.stderr.toString()).toMatch(/unknown format/);
    r = cli(['convert', src(), '-o', '-', '--format', 'UDSB']);
    expect(r.status).toBe(2);
  });

  it('a raw byte stream on standard input: one pass, the same bytes as from the file, 7-Zip decodes it', () => {
    const data = Buffer.from(mixedData(3 * 1024 * 1024 + 1234).data);
    const file = join(dir, 'stream.bin');
    writeFileSync(file, data);
    const fromStdin = cli(['convert', '-', '-o', '-', '--format', 'UDZO', '--deterministic'], data);
    expect(fromStdin.status, fromStdin.stderr.toString()).toBe(0);
    const fromFile = cli(['convert', file, '-o', '-', '--format', 'UDZO', '--deterministic']);
    expect(fromStdin.stdout.equals(fromFile.stdout)).toBe(true);
    const out = join(dir, 'stream.dmg');
    writeFileSync(out, fromStdin.stdout);
    const z = sevenZipDisk(out);
    expect(z.ok, z.report).toBe(true);
    expect(z.disk.length).toBe(Math.ceil(data.length / 512) * 512);
    expect(z.disk.subarray(0, data.length).equals(data)).toBe(true);
    const sp = cli(['convert', '-', '-o', '-', '--format', 'UDSP'], data);
    expect(sp.status).toBe(2);
    expect(sp.stderr.toString()).toMatch(/size before its data/);
  });

  it('UDSB writes a sparse bundle folder that reads back as the disk', async () => {
    const out = join(dir, 'b.sparsebundle');
    const r = cli(['convert', src(), '-o', out, '--format', 'UDSB', '--force']);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(existsSync(join(out, 'Info.plist'))).toBe(true);
    const raw = cli(['convert', out, '-o', '-']);
    const want = cli(['convert', src(), '-o', '-']);
    expect(raw.stdout.equals(want.stdout)).toBe(true);
  });
});

