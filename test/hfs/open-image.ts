import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPartition, readPartitionMap } from '../../src/disk/partition-map.js';
import { sniffFilesystem } from '../../src/disk/filesystem.js';
import { isDmgkitError } from '../../src/errors.js';
import { openHfs, type HfsVolume } from '../../src/hfs/volume.js';
import { FileSource } from '../../src/io/file-source.js';
import type { ByteSource } from '../../src/io/source.js';
import { openUdif } from '../../src/udif/open-udif.js';
import { run, sevenZip } from '../helpers/fixtures.js';

export interface OpenedImage {
  volumes: HfsVolume[];
  fsTypes: string[];
  close(): Promise<void>;
}

async function volumesOf(disk: ByteSource, sources: ByteSource[]): Promise<{ volumes: HfsVolume[]; fsTypes: string[] }> {
  const map = await readPartitionMap(disk);
  const parts: ByteSource[] = map.entries.length ? map.entries.map((e) => openPartition(disk, e)) : [disk];
  const volumes: HfsVolume[] = [];
  const fsTypes: string[] = [];
  for (const p of parts) {
    const fs = await sniffFilesystem(p);
    fsTypes.push(fs.type);
    if (fs.type === 'hfsplus' || fs.type === 'hfsx' || fs.type === 'hfs-wrapper') volumes.push(await openHfs(p));
  }
  void sources;
  return { volumes, fsTypes };
}

/**
 * Test helper: every HFS+/HFSX volume inside an image file (.dmg through src/udif, else raw), via src/disk.
 * When src/udif cannot decode a chunk codec (UNSUPPORTED_CODEC), the partitions 7-Zip extracts
 * (`7zz x -tdmg`) are opened instead, each as its own volume.
 */
export async function openImageVolumes(path: string): Promise<OpenedImage> {
  const opened: ByteSource[] = [];
  const close = async () => {
    for (const s of opened) await s.close?.();
  };
  try {
    const disk: ByteSource = /\.dmg$/i.test(path) ? await openUdif(path) : await FileSource.open(path);
    opened.push(disk);
    return { ...(await volumesOf(disk, opened)), close };
  } catch (e) {
    const bin = sevenZip();
    if (!(isDmgkitError(e) && e.code === 'UNSUPPORTED_CODEC') || !bin) throw e;
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-hfs-'));
    run(bin, ['x', '-tdmg', '-y', `-o${dir}`, path]);
    const volumes: HfsVolume[] = [];
    const fsTypes: string[] = [];
    for (const name of readdirSync(dir).sort()) {
      const src = await FileSource.open(join(dir, name));
      opened.push(src);
      const fs = await sniffFilesystem(src);
      fsTypes.push(fs.type);
      if (fs.type === 'hfsplus' || fs.type === 'hfsx' || fs.type === 'hfs-wrapper') volumes.push(await openHfs(src));
    }
    return { volumes, fsTypes, close };
  }
}
