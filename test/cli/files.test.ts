import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { expectedFiles, fixture, haveFixtures, repoRoot, sevenZip } from '../helpers/fixtures.js';
import { main } from '../../src/cli/main.js';
import { collect, memoryIO } from '../helpers/cli.js';

const sample = join(repoRoot, 'fixtures', 'sample.dmg');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function run(...argv: string[]) {
  const io = memoryIO();
  const code = await main(argv, io);
  return { code, out: collect(io.out), err: collect(io.err), raw: collect(io.out, true) };
}

describe('file commands on the shipped sample', () => {
  it('ls, ls -l, ls -R --json, tree, stat, cat', async () => {
    const ls = await run('ls', sample);
    expect(ls.out.split('\n').filter(Boolean).sort()).toEqual(['Applications', 'README.txt', 'System', 'etc']);
    const long = await run('ls', sample, '/', '-l');
    expect(long.out).toMatch(/^lrwxrwxrwx .* Applications -> \/Applications$/m);
    expect(long.out).toMatch(/^-rw-r--r-- .* 63 2026-11-25 12:00 README\.txt$/m);
    const rec = JSON.parse((await run('ls', sample, '-R', '--json')).out);
    expect(rec.map((e: { path: string }) => e.path)).toContain('/System/Library/LaunchDaemons/org.example.sample.plist');
    const tree = await run('tree', sample);
    expect(tree.out).toMatch(/└── rc\.cdrom/);
    const st = JSON.parse((await run('stat', sample, '/etc/rc.cdrom', '--json')).out);
    expect(st.mode & 0o777).toBe(0o755);
    expect(st.size).toBe(54);
    const cat = await run('cat', sample, '/etc/rc.cdrom');
    expect(cat.out).toBe('#!/bin/sh\necho "booting from the dmgkit sample image"\n');
    const missing = await run('cat', sample, '/nope');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^dmgkit: .*nope/);
  });

  it('extract keeps the /Applications symlink as a link and restores modes and times', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-x-'));
    try {
      const r = await run('extract', sample, dir);
      expect(r.code).toBe(0);
      expect(lstatSync(join(dir, 'Applications')).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(dir, 'Applications'))).toBe('/Applications');
      expect(statSync(join(dir, 'etc/rc.cdrom')).mode & 0o777).toBe(0o755);
      expect(statSync(join(dir, 'README.txt')).mtime.toISOString()).toBe('2026-11-25T12:00:00.000Z');
      expect(readFileSync(join(dir, 'System/Library/LaunchDaemons/org.example.sample.plist'), 'utf8')).toMatch(/org\.example\.sample/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.runIf(haveFixtures())('extract on real images matches 7-Zip', () => {
  const seven = sevenZip();
  it('Sparkle UDBZ/APM image: every regular file 7-Zip extracts, same path, size and SHA-256', async () => {
    const name = 'udbz_apm_hfsplus_sla__sparkle_SparkleTestCodeSignApp.dmg';
    const exp = expectedFiles().find((e) => e.file === name)!;
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-x-'));
    try {
      expect((await run('extract', fixture(name), dir, '--threads', '2')).code).toBe(0);
      const files = exp.entries.filter((e) => !e.path.includes(':'));
      expect(files.length).toBeGreaterThan(100);
      for (const f of files) {
        const rel = f.path.slice(f.path.indexOf('/') + 1); // 7-Zip's paths start with the volume name
        const data = readFileSync(join(dir, rel));
        expect(data.length, rel).toBe(f.bytes);
        expect(sha(data), rel).toBe(f.sha256);
      }
      expect(readlinkSync(join(dir, 'Applications'))).toBe('/Applications');
      if (seven) {
        // and 7-Zip, run live, sees the same bytes in the file we spot-check
        const r = spawnSync(seven, ['x', '-so', fixture(name), files[1].path], { maxBuffer: 1 << 26 });
        expect(sha(r.stdout)).toBe(files[1].sha256);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
