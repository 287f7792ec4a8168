/**
 * File-system sniffing details: labels against xorriso / the MDB bytes, the HFS wrapper formula (TN1150) on a
 * real HFS+ volume embedded in a hand-built wrapper, short inputs.
 */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BufferSource } from '../../src/io/buffer-source.js';
import { SliceSource } from '../../src/io/source.js';
import { sniffFilesystem } from '../../src/disk/filesystem.js';
import { fixture, haveFixtures } from '../helpers/fixtures.js';

describe('sniffFilesystem', () => {
  it('short or empty input is unknown, never an error', async () => {
    for (const n of [0, 1, 33, 511, 1025, 1500]) {
      expect((await sniffFilesystem(new BufferSource(new Uint8Array(n)))).type).toBe('unknown');
    }
    const nx = new Uint8Array(36);
    nx.set(new TextEncoder().encode('NXSB'), 32);
    expect(await sniffFilesystem(new BufferSource(nx))).toEqual({ type: 'apfs', name: 'APFS' });
  });

  it.runIf(haveFixtures())('ISO 9660 volume identifier matches xorriso', async () => {
    const path = fixture('iso9660_joliet_no_hfs__hdi-mac_test-disk-image-hybrid.iso');
    const fs = await sniffFilesystem(new BufferSource(new Uint8Array(readFileSync(path))));
    expect(fs.type).toBe('iso9660');
    const r = spawnSync('xorriso', ['-indev', path, '-pvd_info'], { encoding: 'utf8' });
    const m = /^Volume Id\s*:\s*'?([^'\n]*)'?$/m.exec(r.stdout + r.stderr);
    if (m) expect(fs.label).toBe(m[1].trim());
    else expect(r.error, 'xorriso is installed (preamble)').toBeDefined();
  });

  it.runIf(haveFixtures())('classic HFS: the volume name from the MDB matches file(1)', async () => {
    const path = fixture('hfs_classic_raw_small__isolyzer_hfs.iso');
    const fs = await sniffFilesystem(new BufferSource(new Uint8Array(readFileSync(path))));
    expect(fs.type).toBe('hfs');
    const r = spawnSync('file', ['-b', path], { encoding: 'utf8' });
    if (r.error) return; // file(1) not installed: the type check above still holds
    expect(r.stdout).toMatch(/Macintosh HFS data/);
    expect(fs.label).toBe(/volume name: (.*)$/m.exec(r.stdout)![1].trim());
  });

  it.runIf(haveFixtures())('HFS wrapper: embeddedOffset = drAlBlSt×512 + startBlock×drAlBlkSiz finds the real HFS+ volume', async () => {
    const hfsplus = new Uint8Array(readFileSync(fixture('hfsplus_raw_noattrbtree__isolyzer_hfsplus.iso')));
    const alBlkSiz = 4096;
    const alBlSt = 6; // allocation blocks start at sector 6
    const startBlock = 3;
    const embeddedOffset = alBlSt * 512 + startBlock * alBlkSiz;
    const disk = new Uint8Array(embeddedOffset + hfsplus.length);
    disk.set(hfsplus, embeddedOffset);
    const mdb = 1024;
    const dv = new DataView(disk.buffer);
    dv.setUint16(mdb, 0x4244); // 'BD'
    dv.setUint32(mdb + 0x14, alBlkSiz);
    dv.setUint16(mdb + 0x1c, alBlSt);
    disk[mdb + 0x24] = 7;
    disk.set(new TextEncoder().encode('Wrapper'), mdb + 0x25);
    dv.setUint16(mdb + 0x7c, 0x482b); // drEmbedSigWord 'H+'
    dv.setUint16(mdb + 0x7e, startBlock);
    dv.setUint16(mdb + 0x80, Math.ceil(hfsplus.length / alBlkSiz));
    const src = new BufferSource(disk);
    const fs = await sniffFilesystem(src);
    expect(fs).toEqual({ type: 'hfs-wrapper', name: 'HFS+ inside an HFS wrapper', label: 'Wrapper', embeddedOffset });
    const inner = await sniffFilesystem(new SliceSource(src, fs.embeddedOffset!, disk.length - fs.embeddedOffset!));
    expect(inner.type).toBe('hfsplus');
    // Without the embedded signature it is plain classic HFS.
    dv.setUint16(mdb + 0x7c, 0);
    expect((await sniffFilesystem(src)).type).toBe('hfs');
  });
});
