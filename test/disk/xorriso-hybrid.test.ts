/**
 * Hybrid ISOs made live by xorriso (ISO 9660 + GPT with an appended partition; ISO 9660 + APM + GPT with an
 * HFS+ hybrid tree), read with each scheme and compared with 7-Zip's -tAPM / -tGPT listings.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferSource } from '../../src/io/buffer-source.js';
import { openPartition, readPartitionMap } from '../../src/disk/partition-map.js';
import { sniffFilesystem } from '../../src/disk/filesystem.js';
import { haveFixtures, sevenZip, synthetic } from '../helpers/fixtures.js';
import { cleanupTempDir, sevenZipList, tempDir } from './raw-disks.js';

afterAll(() => cleanupTempDir());
const z = haveFixtures() ? sevenZip() : null;
const xorriso = spawnSync('xorriso', ['-version']).status === 0;

function makeIso(name: string, args: string[]): string {
  const tree = join(tempDir(), 'tree');
  mkdirSync(join(tree, 'd'), { recursive: true });
  writeFileSync(join(tree, 'd', 'a.txt'), 'hello\n');
  const out = join(tempDir(), name);
  const r = spawnSync('xorriso', ['-as', 'mkisofs', '-o', out, ...args, tree], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`xorriso failed: ${r.stderr}`);
  return out;
}

describe.runIf(haveFixtures() && z && xorriso)('xorriso hybrid ISOs', () => {
  it('ISO 9660 + GPT with an appended HFS+ partition', async () => {
    const iso = makeIso('gpt.iso', ['-append_partition', '2', '0xaf', synthetic('lzfse.hfs'), '-appended_part_as_gpt']);
    const disk = new BufferSource(new Uint8Array(readFileSync(iso)));
    const map = await readPartitionMap(disk);
    expect(map.scheme).toBe('gpt');
    expect(map.otherSchemes).toBeUndefined();
    const items = sevenZipList(z!, iso, 'GPT')!;
    expect(map.entries.map((e) => [e.offset, e.size])).toEqual(items.map((i) => [i.offset, i.size]));
    const hfs = map.entries.find((e) => e.name === 'Appended2')!;
    expect((await sniffFilesystem(openPartition(disk, hfs))).type).toBe('hfsplus');
    expect((await sniffFilesystem(disk)).type).toBe('iso9660');
  });

  it('ISO 9660 + APM (2048) + GPT: APM by default, GPT on request, both as 7-Zip lists them', async () => {
    const iso = makeIso('apmgpt.iso', [
      '-hfsplus',
      '-apm-block-size',
      '2048',
      '-append_partition',
      '2',
      '0xaf',
      synthetic('lzfse.hfs'),
      '-appended_part_as_gpt',
    ]);
    const disk = new BufferSource(new Uint8Array(readFileSync(iso)));
    const apm = await readPartitionMap(disk);
    expect(apm.scheme).toBe('apm');
    expect(apm.otherSchemes).toEqual(['gpt']);
    expect(apm.warnings).toEqual(['hybrid disk: GPT also present; APM used']);
    expect(apm.entries.map((e) => [e.offset, e.size])).toEqual(sevenZipList(z!, iso, 'APM')!.map((i) => [i.offset, i.size]));
    const gpt = await readPartitionMap(disk, { scheme: 'gpt' });
    expect(gpt.scheme).toBe('gpt');
    expect(gpt.otherSchemes).toEqual(['apm']);
    expect(gpt.entries.map((e) => [e.offset, e.size])).toEqual(sevenZipList(z!, iso, 'GPT')!.map((i) => [i.offset, i.size]));
    const hfsEntry = apm.entries.find((e) => e.type === 'Apple_HFS')!;
    expect((await sniffFilesystem(openPartition(disk, hfsEntry))).type).toBe('hfsplus');
    // The GPT's protective MBR, read on request: one 0xEE entry, no "GPT missing" warning.
    const mbr = await readPartitionMap(disk, { scheme: 'mbr' });
    expect(mbr.entries.map((e) => e.type)).toEqual(['0xEE']);
    expect(mbr.otherSchemes).toEqual(['apm', 'gpt']);
    expect(mbr.warnings).toEqual(['hybrid disk: APM and GPT also present; MBR used']);
    await expect(readPartitionMap(new BufferSource(new Uint8Array(8192)), { scheme: 'gpt' })).rejects.toMatchObject({
      code: 'CORRUPT_PARTITION_MAP',
    });
  });
});
