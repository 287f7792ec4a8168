/**
 * The partition map read through the UDIF reader (src/udif) equals the one read from 7-Zip's decoded raw disk,
 * and every partition sniffs the same: the disk layer sees no difference between the two sources.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FileSource } from '../../src/io/file-source.js';
import { openUdif } from '../../src/udif/open-udif.js';
import { openPartition, readPartitionMap } from '../../src/disk/partition-map.js';
import { sniffFilesystem } from '../../src/disk/filesystem.js';
import { fixture, haveFixtures, listFixtures, sevenZip, synthetic } from '../helpers/fixtures.js';
import { cleanupTempDir, rawDiskPath } from './raw-disks.js';

afterAll(() => cleanupTempDir());
const z = haveFixtures() ? sevenZip() : null;
const images = haveFixtures()
  ? [
      ...listFixtures((n) => n.endsWith('.dmg') && !n.startsWith('broken_') && !n.startsWith('odd_libdmg')),
      synthetic('features-apm-zlib.dmg'),
      synthetic('deep-hfsx-gpt-bzip2.dmg'),
    ]
  : [];

describe.runIf(haveFixtures() && z)('partition maps through the UDIF reader', () => {
  for (const name of images) {
    it(name.split('/').pop()!, async () => {
      const full = name.includes('/') ? name : fixture(name);
      const raw = await FileSource.open(rawDiskPath(z!, full));
      const udif = await openUdif(full);
      try {
        expect(udif.size).toBe(raw.size);
        const a = await readPartitionMap(udif);
        const b = await readPartitionMap(raw);
        expect(a).toEqual(b);
        for (const e of a.entries) {
          expect(await sniffFilesystem(openPartition(udif, e))).toEqual(await sniffFilesystem(openPartition(raw, e)));
        }
        expect(await sniffFilesystem(udif)).toEqual(await sniffFilesystem(raw));
      } finally {
        await raw.close();
        await udif.close?.();
      }
    });
  }
});
