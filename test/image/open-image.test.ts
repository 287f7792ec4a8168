import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expectedDisks, fixture, haveFixtures } from '../helpers/fixtures.js';
import { openImage } from '../../src/image/open-image.js';
import { DmgkitError } from '../../src/errors.js';

/** The front door on every fixture 7-Zip extracted a disk from: the same bytes, from a path and from a Blob. */
describe('openImage', () => {
  const disks = expectedDisks().filter((d) => d.disk_sha256 && d.file.endsWith('.dmg') && (d.disk_bytes ?? 0) <= 64 << 20);

  it('decodes the disk 7-Zip extracts, from a path and from a Blob (the browser input)', async () => {
    expect(haveFixtures() ? disks.length : 1).toBeGreaterThan(10);
    for (const d of disks) {
      for (const input of [fixture(d.file), new Blob([readFileSync(fixture(d.file))])]) {
        const img = await openImage(input);
        try {
          expect(img.kind, d.file).toBe('udif');
          expect(img.size).toBe(d.disk_bytes);
          const h = createHash('sha256');
          for await (const p of img.pieces()) h.update(p.data ?? new Uint8Array(p.length));
          expect(h.digest('hex'), d.file).toBe(d.disk_sha256);
          const info = await img.info();
          expect(info.container).toBe('udif');
          expect(info.partitionMap.scheme).toBe(img.partitionMap.scheme);
          expect((await img.verify()).ok, d.file).toBe(true);
        } finally {
          await img.close();
        }
      }
    }
  });

  it('opens the HFS+ volume and ranges clamp; a non-image is NOT_AN_IMAGE', async () => {
    if (!haveFixtures()) return;
    const img = await openImage(fixture('udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg'));
    try {
      expect(img.partitionMap.scheme).toBe('gpt');
      const hfsEntry = img.partitions.find((p) => p.typeName.includes('HFS'))!;
      const vol = await img.volume(hfsEntry.index);
      expect((await vol.readdir('/')).map((e) => e.name)).toContain('emptyfile');
      const r = await img.range({ partition: hfsEntry.index });
      expect([r.start, r.end - r.start]).toEqual([hfsEntry.offset, hfsEntry.size]);
      expect(img.partition(hfsEntry.index).size).toBe(hfsEntry.size);
      await expect(img.range({ partition: 99 })).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    } finally {
      await img.close();
    }
    const e = await openImage(fixture('broken_random_not_udif__etcher-sdk_invalid.dmg')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DmgkitError);
    expect((e as DmgkitError).code).toBe('NOT_AN_IMAGE');
  });
});
