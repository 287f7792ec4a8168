/**
 * Field-aware fuzzing of sparse bundles (directories, so outside the byte mutator of fuzz.test.ts), through the
 * same in-process CLI harness (info --json, verify, convert with and without --keep-going, ls -R, tree, extract,
 * one rotating call): no exit 70, no hang, bounded memory, confined extraction, and no byte of a file outside the
 * bundle in any output. The bundle holds a synthetic HFS+ volume (fixtures) in 64 KiB bands; one to three
 * mutations per case, chosen by a seeded generator (FUZZ_SEED), FUZZ_ITERATIONS / 10 cases (at least 12):
 * - Info.plist / Info.bckup: band-size and size set to boundary values (0, 1, 511, 4095, 4096, 2^30, 2^30 + 4096,
 *   2^53, −1, 1.5, a string), the bundle type changed, the file removed, truncated, made 2 MiB, replaced by a
 *   symlink to /dev/zero or by a FIFO;
 * - bands: removed, truncated, grown past the band size, replaced by a symlink to /etc/passwd, by a FIFO or by a
 *   directory, an extra band past the disk, bands/ itself a symlink;
 * - token: an 'encrcdsa' header, a FIFO.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { haveFixtures, synthetic } from '../helpers/fixtures.js';
import { writeSparseBundle } from '../container/build.js';
import { Harness } from './harness.js';
import { BAND, mutateBundle, rng } from './bundle-mutate.js';

const ITERATIONS = Math.max(12, Math.floor(Number(process.env.FUZZ_ITERATIONS ?? 100) / 10));
const CAMPAIGN = process.env.FUZZ_SEED ?? '1';

describe.runIf(haveFixtures())('field-aware fuzzing of sparse bundles', () => {
  it(`survives ${ITERATIONS} mutated bundles through the CLI`, async () => {
    const disk = new Uint8Array(readFileSync(synthetic('lzfse.hfs')));
    const bands = Math.ceil(disk.length / BAND);
    const all = new Map<number, number>();
    for (let i = 0; i < bands; i++) all.set(i, BAND);
    const passwd = readFileSync('/etc/passwd');
    const h = new Harness({ timeoutMs: 60_000, hardMs: 120_000, rssBytes: 1536 * 2 ** 20, outCap: 192 * 2 ** 20 });
    h.baselineRss = process.memoryUsage().rss;
    h.baselineHeap = process.memoryUsage().heapUsed;
    const failures: string[] = [];
    try {
      for (let n = 0; n < ITERATIONS; n++) {
        const r = rng(`${CAMPAIGN}:bundle:${n}`);
        const dir = join(h.root, `case${n}.sparsebundle`);
        writeSparseBundle(dir, disk, BAND, all);
        const recipe: string[] = [];
        const k = 1 + Math.floor(r() * 3);
        for (let i = 0; i < k; i++) recipe.push(mutateBundle(dir, r, disk.length, bands));
        const label = `bundle mutant=${CAMPAIGN}:${n} recipe=${recipe.join(', ')}`;
        const results = await h.runAll(dir, label);
        for (const res of results) {
          if (res.problem) failures.push(`${label} ${res.op}: ${res.problem}`);
          if (res.stdout && passwd.length > 64 && res.stdout.includes(passwd.subarray(0, 64).toString('latin1'))) {
            failures.push(`${label} ${res.op}: /etc/passwd's bytes in the output`);
          }
        }
        rmSync(dir, { recursive: true, force: true });
        rmSync(`${dir}-elsewhere`, { recursive: true, force: true });
        if (results.some((x) => x.code === 'timeout')) break;
      }
    } finally {
      h.close();
    }
    expect(failures).toEqual([]);
  }, 600_000);
});


