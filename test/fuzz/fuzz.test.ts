/**
 * Mutation fuzzing of the whole CLI (info --json, verify, convert -o - with and without --keep-going, ls -R, tree,
 * extract, and one rotating extra call) on mutants of every seed image. Reproducible: a failure names the seed image,
 * the mutant id and the recipe; `mutate(await loadSeed(path), id)` rebuilds the bytes (for the '#sparse' seeds:
 * `sparseSeed(await loadSeed(path))`).
 *
 *   FUZZ_ITERATIONS  mutants in total (default 100 — a modest budget for `npm test`; `npm run fuzz` uses 20000)
 *   FUZZ_SEED        campaign seed (default 1)
 *   FUZZ_ONLY        run only seeds whose name contains this string
 *   FUZZ_HANG_FILE   a file to which the watchdog appends the case that hung synchronously
 *   FUZZ_STATS       print how often each error message (digits folded) was seen: how deep the mutants reach
 *   FUZZ_LOG         a file to which each failure is appended as soon as it is found
 */
import { describe, expect, it } from 'vitest';
import { basename } from 'node:path';
import { appendFileSync } from 'node:fs';
import { Harness, writeCase, type CaseResult } from './harness.js';
import { loadSeed, mutate, sparseSeed, type FuzzSeed } from './mutate.js';
import { seedPaths } from './seeds.js';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 100);
const CAMPAIGN = process.env.FUZZ_SEED ?? '1';
const ONLY = process.env.FUZZ_ONLY;
const STATS = !!process.env.FUZZ_STATS;

interface Failure {
  seed: string;
  mutant: string;
  recipe: string[];
  op: string;
  problem: string;
  stderr: string;
}

describe('mutation fuzzing of the CLI', () => {
  const paths = seedPaths().filter((p) => !ONLY || basename(p).includes(ONLY));

  it('has seeds to mutate', () => {
    expect(paths.length).toBeGreaterThan(0);
  });

  it(`survives ${ITERATIONS} mutants: only DmgkitErrors, bounded time and memory, confined extraction`, async () => {
    const seeds: FuzzSeed[] = [];
    for (const p of paths) seeds.push(await loadSeed(p));
    // sparse images of two disks (no fixture is one): an HFS+ volume in GPT, and an MBR disk
    for (const want of ['keramics_hfsplus_zlib', 'lzfse-mbr']) {
      const from = seeds.find((s) => s.name.includes(want));
      const sp = from && sparseSeed(from);
      if (sp) seeds.push(sp);
    }
    const h = new Harness({ timeoutMs: 60_000, hardMs: 120_000, rssBytes: 1536 * 2 ** 20, outCap: 192 * 2 ** 20 });
    h.baselineRss = process.memoryUsage().rss;
    h.baselineHeap = process.memoryUsage().heapUsed;
    const failures: Failure[] = [];
    const codes = new Map<string, number>();
    const stats = new Map<string, number>();
    let ran = 0;
    try {
      for (let n = 0; n < ITERATIONS; n++) {
        const seed = seeds[n % seeds.length];
        const id = `${CAMPAIGN}:${Math.floor(n / seeds.length)}`;
        let m;
        try {
          m = await mutate(seed, id);
        } catch (e) {
          // a bug of the mutator itself: report it with the case, keep fuzzing
          failures.push({ seed: seed.name, mutant: id, recipe: [], op: 'mutate', problem: `the mutator threw: ${(e as Error)?.stack ?? e}`, stderr: '' });
          continue;
        }
        const file = writeCase(h.root, m.bytes, seed.kind === 'sparse' ? '.sparseimage' : seed.kind === 'udif' || m.recipe.some((r) => r.startsWith('writeUdif')) ? '.dmg' : '.img');
        const label = `seed=${seed.name} mutant=${id} recipe=${m.recipe.join(' ')}`;
        const results: CaseResult[] = await h.runAll(file, label);
        ran++;
        for (const r of results) {
          if (STATS && r.code !== 0) {
            const k = `${r.op}: ${r.stderr.split('\n')[0].replace(/\d+/g, 'N').slice(0, 110)}`;
            stats.set(k, (stats.get(k) ?? 0) + 1);
          }
          codes.set(`${r.op}:${r.code}`, (codes.get(`${r.op}:${r.code}`) ?? 0) + 1);
          if (!r.problem) continue;
          const f = { seed: seed.name, mutant: id, recipe: m.recipe, op: r.op, problem: r.problem, stderr: r.stderr.slice(0, 2000) };
          failures.push(f);
          if (process.env.FUZZ_LOG) appendFileSync(process.env.FUZZ_LOG, JSON.stringify(f) + '\n');
        }
        if (results.some((r) => r.code === 'timeout')) break; // a hung call leaves work running: stop the campaign, report what we have
      }
    } finally {
      h.close();
    }
    console.log(`fuzz: ${ran} mutants of ${seeds.length} seeds, campaign ${CAMPAIGN}; exit codes ${JSON.stringify(Object.fromEntries([...codes].sort()))}`);
    if (STATS) console.log([...stats].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${String(n).padStart(6)} ${k}`).join('\n'));
    for (const f of failures) console.log(`FUZZ FAILURE seed=${f.seed} mutant=${f.mutant} op=${f.op}: ${f.problem}\n  recipe: ${f.recipe.join(' ')}\n  ${f.stderr.split('\n').slice(0, 6).join('\n  ')}`);
    expect(ran + failures.filter((f) => f.op === 'mutate').length).toBe(ITERATIONS);
    expect(failures.map((f) => `${f.seed} ${f.mutant} ${f.op}: ${f.problem}`)).toEqual([]);
  }, 600_000 + ITERATIONS * 5_000);
});
