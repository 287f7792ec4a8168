import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DmgkitError } from '../../src/errors.js';
import { openHfs } from '../../src/hfs/volume.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import { haveFixtures, synthetic } from '../helpers/fixtures.js';

/**
 * readFile checks a declared size against what backs it BEFORE allocating it (fuzzer finding: a 2 GiB size was
 * allocated first). features.hfs is read in place and patched in memory; each patch checks the original bytes.
 */
function patched(at: number, was: number[], now: number[]): Uint8Array {
  const b = new Uint8Array(readFileSync(synthetic('features.hfs')));
  expect([...b.subarray(at, at + was.length)]).toEqual(was);
  b.set(now, at);
  return b;
}

/** HFSPlusCatalogFile of CNID 303 (/many/f00255.txt): recordType 2, fileID at +8, resource fork data at +168. */
const CNID303_REC = 3777382;
/** The com.apple.decmpfs value of /compress/large.txt (CNID 364): 'fpmc', type 4, uncompressedSize u64 LE at +8. */
const LARGE_TXT_DECMPFS = 3892588;

async function failure(p: Promise<unknown>): Promise<DmgkitError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(DmgkitError);
  return e as DmgkitError;
}

describe.runIf(haveFixtures())('readFile: declared sizes checked before allocation', () => {
  it('a resource fork whose logical size (2^31) is beyond its 0 blocks: CORRUPT_FS naming the file', async () => {
    const b = patched(CNID303_REC + 168, [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0x80, 0, 0, 0]);
    expect([...b.subarray(CNID303_REC, CNID303_REC + 2)]).toEqual([0, 2]);
    const v = await openHfs(new BufferSource(b));
    const st = await v.stat('many/f00255.txt');
    expect(st.cnid).toBe(303);
    expect(st.rsrcSize).toBe(2 ** 31);
    const e = await failure(v.readFile('many/f00255.txt', { fork: 'rsrc' }));
    expect(e.code).toBe('CORRUPT_FS');
    // named by the pre-allocation check: path and CNID, then the fork's own finding
    expect(e.message).toMatch(/^\/many\/f00255\.txt \(CNID 303\): rsrc fork of CNID 303: logical size 2147483648 exceeds the 0 allocated blocks/);
    // the data fork is untouched: still the 10 bytes the ground truth lists
    expect((await v.readFile('many/f00255.txt')).length).toBe(10);
  });

  it('a decmpfs file claiming 2^31 - 1 bytes from a small resource fork: CORRUPT_FS before decoding', async () => {
    const b = patched(LARGE_TXT_DECMPFS + 8, [0xa0, 0x7a, 0x03, 0, 0, 0, 0, 0], [0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]);
    const v = await openHfs(new BufferSource(b));
    const st = await v.stat('compress/large.txt');
    expect(st.compressed).toEqual({ type: 4, size: 2 ** 31 - 1 });
    const e = await failure(v.readFile('compress/large.txt'));
    expect(e.code).toBe('CORRUPT_FS');
    expect(e.message).toMatch(/^\/compress\/large\.txt \(CNID 364\): decmpfs declares 2147483647 bytes from \d+ compressed bytes/);
  });

  it('an unpatched volume still reads both files', async () => {
    const v = await openHfs(new BufferSource(new Uint8Array(readFileSync(synthetic('features.hfs')))));
    expect((await v.readFile('compress/large.txt')).length).toBe(228000);
    expect((await v.readFile('many/f00255.txt', { fork: 'rsrc' })).length).toBe(0);
  });
});
