import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expectedDisks, fixture, haveFixtures, listFixtures, sevenZip } from './fixtures.js';
import { sevenZipPartitions } from './seven-zip.js';
import { openUdif } from '../../src/udif/open-udif.js';

/**
 * For each fixture whose name starts with `prefix`: every chunk of `chunkType` decoded by `decode` alone equals the
 * bytes 7-Zip extracts (live), and every partition read through the UDIF reader matches 7-Zip's recorded sha256.
 * `checkInput` can assert something of each stored chunk (e.g. its container magic).
 */
export function describeFixtureChunks(opts: {
  title: string;
  prefix: string;
  minImages: number;
  chunkType: number;
  decode: (input: Uint8Array, output: Uint8Array) => void;
  checkInput?: (input: Uint8Array) => void;
}): void {
  describe.runIf(haveFixtures())(opts.title, () => {
    const images = listFixtures((n) => n.startsWith(opts.prefix));
    it(`has ${opts.prefix}* fixtures`, () => {
      expect(images.length).toBeGreaterThanOrEqual(opts.minImages);
    });
    for (const name of images) {
      it(`${name}: every chunk decodes to the bytes 7-Zip extracts`, async () => {
        const expected = expectedDisks().find((e) => e.file === name)!;
        const seven = sevenZip();
        const file = new Uint8Array(readFileSync(fixture(name)));
        const img = await openUdif(fixture(name));
        try {
          // Partition bytes from 7-Zip (live) or, without it, only the sha256s 7-Zip recorded.
          const theirs = seven ? sevenZipPartitions(seven, fixture(name)).map((p) => p.data) : null;
          const chunks = img.chunks.filter((c) => c.type === opts.chunkType);
          expect(chunks.length).toBeGreaterThan(0);
          for (const c of chunks) {
            const input = file.subarray(c.inOffset, c.inOffset + c.inLength);
            opts.checkInput?.(input);
            const out = new Uint8Array(c.outLength);
            opts.decode(input, out);
            if (theirs) {
              const start = c.outOffset - img.partitions[c.partition].offset;
              expect(Buffer.compare(out, theirs[c.partition].subarray(start, start + c.outLength)), `chunk ${c.partition}/${c.index}`).toBe(0);
            }
          }
          // Whole partitions through the UDIF reader (which uses this codec) against 7-Zip's sha256s.
          for (let i = 0; i < img.partitions.length; i++) {
            const p = img.partitions[i];
            const bytes = await img.read(p.offset, p.size);
            expect(createHash('sha256').update(bytes).digest('hex'), `partition ${i}`).toBe(expected.partitions![i].sha256);
          }
        } finally {
          await img.close();
        }
      });
    }
  });
}
