import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expectedDisks, fixture, haveFixtures, repoRoot } from '../helpers/fixtures.js';
import { main } from '../../src/cli/main.js';
import { collect, memoryIO } from '../helpers/cli.js';

const bin = join(repoRoot, 'dist', 'cli', 'main.js');
const sample = join(repoRoot, 'fixtures', 'sample.dmg');

function cli(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
}

describe('dmgkit CLI (the built binary)', () => {
  it('info on the shipped sample shows the container, block tables and the HFS+ partition', () => {
    const r = cli('info', sample);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Format:\s+UDZO/);
    expect(r.stdout).toMatch(/HFSPLUS_Hybrid \(Apple_HFS : 4\)/);
    expect(r.stdout).toMatch(/Partition map: APM/);
    expect(r.stdout).toMatch(/Apple_HFS\s+HFSPLUS_Hybrid\s+HFS\+/);
  });

  it('info --json has the documented fields', () => {
    const r = cli('info', sample, '--json');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.container).toBe('udif');
    expect(j.format).toBe('UDZO');
    expect(j.sectorCount * 512).toBe(j.size);
    for (const p of j.partitions) {
      expect(Object.keys(p)).toEqual(expect.arrayContaining(['index', 'name', 'firstSector', 'sectorCount', 'checksum', 'chunks']));
    }
    expect(j.checksums.master.type).toBe('CRC32');
    expect(j.partitionMap.scheme).toBe('apm');
    const hfs = j.partitionMap.entries.find((e: { type: string }) => e.type === 'Apple_HFS');
    expect(hfs.filesystem.type).toBe('hfsplus');
    expect(hfs.blkx).toBe(4);
  });

  it('errors are one line naming what and where, without a stack trace unless --debug', () => {
    const r = cli('info', join(repoRoot, 'package.json'));
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^dmgkit: .*package\.json is not a disk image/);
    const d = cli('info', join(repoRoot, 'package.json'), '--debug');
    expect(d.stderr).toMatch(/at .*open/);
    const missing = cli('info', '/nonexistent/x.dmg');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe("dmgkit: cannot open /nonexistent/x.dmg: no such file or directory (ENOENT)\n");
    const usage = cli('frobnicate');
    expect(usage.status).toBe(2);
  });
});

describe.runIf(haveFixtures())('dmgkit CLI on the shared fixtures', () => {
  it('says plainly that random bytes are not a disk image', async () => {
    const io = memoryIO();
    expect(await main(['info', fixture('broken_random_not_udif__etcher-sdk_invalid.dmg')], io)).toBe(1);
    expect(collect(io.err)).toMatch(/^dmgkit: .*is not a disk image: no UDIF 'koly' trailer/);
  });

  it('verify exits 0 on every intact image', async () => {
    for (const e of expectedDisks().filter((x) => !x.error).slice(0, 6)) {
      const io = memoryIO();
      expect(await main(['verify', fixture(e.file)], io), e.file).toBe(0);
      expect(collect(io.out)).toMatch(/all present checksums match/);
    }
  });
});
