#!/usr/bin/env node
/**
 * The fuzz campaign (`npm run fuzz`): FUZZ_CASES inputs (default 20,000: the bombs, byte mutants of every seed image
 * and of sparse-image seeds, mutated sparse bundles; test/fuzz/campaign-worker.ts) through the CLI, in at most
 * FUZZ_JOBS worker processes (default 1). Resumable: one JSON line per finished case is appended to FUZZ_OUT
 * (default .fuzz/results.jsonl); a new run skips the cases already there (FUZZ_FRESH=1 starts over).
 *
 * A worker that sends nothing for FUZZ_HANG_S seconds (default: one command's bound + 300) is killed and its case recorded as a hang; a
 * worker that dies is recorded as a crash; both are restarted after that case. The summary (exit codes per
 * command, peak RSS, times, every problem) is rewritten every 100 cases and at the end to FUZZ_SUMMARY (default
 * bench/fuzz-campaign.json and .md). Exit 1 when a problem was found.
 *
 *   FUZZ_SEED            campaign seed (default 1)
 *   FUZZ_RETRY=1         run again the cases whose record has a problem (after a fix); the new record replaces it
 *   FUZZ_PROCESS_EVERY   every Nth case also runs the real dmgkit as child processes (default 50; 0: never)
 *   FUZZ_OP_TIMEOUT_S    one command's time bound (default 180: the machine may be loaded)
 *   FUZZ_SUMMARY_ONLY=1  only rewrite the summary from the results so far (e.g. while a campaign runs)
 */
import { fork } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const CASES = Number(env.FUZZ_CASES ?? 20_000);
const JOBS = Math.max(1, Math.min(Number(env.FUZZ_JOBS ?? 1), cpus().length));
const OUT = env.FUZZ_OUT ?? join(root, '.fuzz', 'results.jsonl');
const SUMMARY = env.FUZZ_SUMMARY ?? join(root, 'bench', 'fuzz-campaign');
const cfgBase = {
  campaign: env.FUZZ_SEED ?? '1',
  processEvery: Number(env.FUZZ_PROCESS_EVERY ?? 50),
  cli: join(root, 'dist', 'bin', 'dmgkit.js'),
  opTimeoutMs: Number(env.FUZZ_OP_TIMEOUT_S ?? 180) * 1000,
  rssLimitKb: 1_000_000,
};
const HANG_MS = Number(env.FUZZ_HANG_S ?? cfgBase.opTimeoutMs / 1000 + 300) * 1000;
if (!existsSync(cfgBase.cli)) throw new Error(`${cfgBase.cli} is missing: npm run build first`);
mkdirSync(dirname(OUT), { recursive: true });
if (env.FUZZ_FRESH) rmSync(OUT, { force: true });
const records = new Map();
if (existsSync(OUT)) {
  for (const line of readFileSync(OUT, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      const r = JSON.parse(line);
      if (r.campaign === cfgBase.campaign) records.set(r.n, r);
    } catch {
      // a line cut by a kill: that case runs again
    }
  }
}
const todo = [];
for (let n = 0; n < CASES; n++) if (!records.has(n) || (env.FUZZ_RETRY && records.get(n).problems.length)) todo.push(n);
if (env.FUZZ_SUMMARY_ONLY) {
  // only rewrite the summary from the results (a running campaign's workers are left alone)
  summarizeNow();
  process.exit(0);
}
// a copy of the built command, so a rebuild during a long campaign does not change (or break) it half-way
rmSync(join(root, '.fuzz', 'cli'), { recursive: true, force: true });
cpSync(dirname(cfgBase.cli), join(root, '.fuzz', 'cli'), { recursive: true });
cfgBase.cli = join(root, '.fuzz', 'cli', 'dmgkit.js');

// The worker bundle sits two levels below the repository (test/helpers/fixtures.ts finds the repository from it),
// with the modules loaded by URL at run time (decoder threads' entries: every `compiledUrl(import.meta.url,
// './x.js')` in src, as scripts/build-cli.mjs does) beside it.
const buildDir = join(root, '.fuzz', 'build');
const entryPoints = { 'campaign-worker': join(root, 'test', 'fuzz', 'campaign-worker.ts') };
(function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.ts')) {
      for (const m of readFileSync(p, 'utf8').matchAll(/compiledUrl\(import\.meta\.url, '\.\/([\w-]+)\.js'\)/g)) {
        const target = join(dirname(p), `${m[1]}.ts`);
        if (existsSync(target)) entryPoints[m[1]] = target;
      }
    }
  }
})(join(root, 'src'));
rmSync(buildDir, { recursive: true, force: true });
await build({
  entryPoints,
  outdir: buildDir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: '[name]-[hash]',
  logLevel: 'warning',
  packages: 'external',
  banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
  plugins: [{ name: 'platform-from-src', setup: (b) => b.onResolve({ filter: /^#platform$/ }, () => ({ path: join(root, 'src/platform/node.ts') })) }],
});
// started through a loader: the bundle holds src/cli/main.ts, which runs the CLI when it is process.argv[1]
const loader = join(buildDir, 'start.mjs');
writeFileSync(loader, "await import('./campaign-worker.js');\n");
console.log(`fuzz campaign ${cfgBase.campaign}: ${records.size} of ${CASES} cases done, ${todo.length} to run on ${JOBS} worker(s); results ${OUT}`);

function save(rec) {
  rec.campaign = cfgBase.campaign;
  records.set(rec.n, rec);
  appendFileSync(OUT, JSON.stringify(rec) + '\n');
  if (rec.problems.length) console.log(`PROBLEM case ${rec.n} (${rec.kind} ${rec.name}; ${rec.recipe.slice(0, 200)}):\n  ${rec.problems.join('\n  ')}`);
  if (records.size % 100 === 0) summarize();
}

/** Runs `cases` (in order) in worker processes, restarting after a hang or crash. */
async function runWorker(cases) {
  let i = 0;
  while (i < cases.length) {
    const rest = cases.slice(i);
    const child = fork(loader, [], {
      execArgv: ['--expose-gc', '--max-old-space-size=4096'],
      env: { ...env, FUZZ_WORKER: JSON.stringify({ ...cfgBase, cases: rest }) },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let current = null;
    let startedAt = 0;
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    let timer;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, HANG_MS);
    };
    let hung = false;
    arm();
    child.on('message', (m) => {
      arm();
      if (m.start !== undefined) {
        current = m.start;
        startedAt = Date.now();
      } else if (m.record) {
        save(m.record);
        current = null;
        i++;
      }
    });
    const { code, signal } = await new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
    clearTimeout(timer);
    if (current !== null) {
      const what = hung ? `hang: no progress for ${HANG_MS / 1000} s` : `worker died (exit ${code}, signal ${signal}): ${stderr.trim().split('\n').slice(-4).join(' | ')}`;
      save({ n: current, kind: 'unknown', name: '', recipe: '', inputBytes: 0, ms: Date.now() - startedAt, hwmKb: 0, baseKb: 0, warnings: 0, ops: [], problems: [what] });
      i++;
    } else if (code !== 0 && code !== 3 && i < cases.length) {
      throw new Error(`worker failed before a case (exit ${code}, signal ${signal}): ${stderr}`);
    }
  }
}

function quantile(xs, q) {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

function summarizeNow() {
  summarize();
}

function summarize() {
  const all = [...records.values()].sort((a, b) => a.n - b.n);
  const kinds = {};
  const codes = {};
  const procCodes = {};
  const problems = [];
  let procRuns = 0;
  let maxProcRss = { kb: 0 };
  for (const r of all) {
    const k = (kinds[r.kind] ??= { cases: 0, maxPeakRssKb: 0, p99PeakRssKb: 0, medianMs: 0, maxMs: 0, rss: [], ms: [] });
    k.cases++;
    k.rss.push(Math.max(0, r.hwmKb - r.baseKb));
    k.ms.push(r.ms);
    for (const o of r.ops) {
      const table = o.proc ? procCodes : codes;
      (table[o.op] ??= {})[o.code] = ((table[o.op] ??= {})[o.code] ?? 0) + 1;
      if (o.proc) {
        procRuns++;
        if (o.rssKb > maxProcRss.kb) maxProcRss = { kb: o.rssKb, n: r.n, op: o.op, name: r.name, recipe: r.recipe.slice(0, 120) };
      }
    }
    for (const p of r.problems) problems.push({ n: r.n, kind: r.kind, name: r.name, recipe: r.recipe.slice(0, 400), problem: p });
  }
  for (const k of Object.values(kinds)) {
    k.maxPeakRssKb = Math.max(...k.rss);
    k.p99PeakRssKb = quantile(k.rss, 0.99);
    k.medianMs = quantile(k.ms, 0.5);
    k.maxMs = Math.max(...k.ms);
    delete k.rss;
    delete k.ms;
  }
  const top = (f) => [...all].sort((a, b) => f(b) - f(a)).slice(0, 8).map((r) => ({ n: r.n, kind: r.kind, name: r.name, recipe: r.recipe.slice(0, 120), ms: r.ms, peakRssKb: r.hwmKb - r.baseKb, inputBytes: r.inputBytes }));
  const bombs = all.filter((r) => r.kind === 'bomb').map((r) => ({ n: r.n, name: r.name, inputBytes: r.inputBytes, ms: r.ms, peakRssKb: r.hwmKb - r.baseKb, ops: r.ops.map((o) => `${o.proc ? 'process ' : ''}${o.op}=${o.code}${o.rssKb ? ` (${(o.rssKb / 1024).toFixed(0)} MiB)` : ''}`).join(', ') }));
  const s = {
    campaign: cfgBase.campaign, planned: CASES, done: all.length, when: new Date().toISOString(),
    method: 'scripts/fuzz-campaign.mjs: one worker process per FUZZ_JOBS; each case runs info --json, verify, convert -o - (plain and --keep-going), ls -R -l, tree, extract (confinement checked), one rotating extra, through the CLI main() in the worker (--threads 1); peak RSS = VmHWM of the worker reset per case (clear_refs 5) minus its RSS before the case; every FUZZ_PROCESS_EVERY-th case also runs the real dist/bin/dmgkit.js per command as a child process (default threads) under /usr/bin/time -f %M.',
    kinds, exitCodes: codes, processRuns: procRuns, processExitCodes: procCodes, maxProcessRss: maxProcRss, bombs,
    slowest: top((r) => r.ms), mostMemory: top((r) => r.hwmKb - r.baseKb), problems,
  };
  mkdirSync(dirname(SUMMARY), { recursive: true });
  writeFileSync(`${SUMMARY}.json`, JSON.stringify(s, null, 1) + '\n');
  const md = [
    `# Fuzz campaign ${s.campaign}`,
    '',
    `${s.done} of ${s.planned} cases run (${s.when}); ${problems.length} problems. Method: ${s.method}`,
    '',
    '| kind | cases | median ms | max ms | p99 peak RSS MiB | max peak RSS MiB |',
    '|---|---|---|---|---|---|',
    ...Object.entries(kinds).map(([k, v]) => `| ${k} | ${v.cases} | ${v.medianMs} | ${v.maxMs} | ${(v.p99PeakRssKb / 1024).toFixed(0)} | ${(v.maxPeakRssKb / 1024).toFixed(0)} |`),
    '',
    '## Exit codes (in-process commands)',
    '',
    ...Object.entries(codes).map(([op, c]) => `- ${op}: ${Object.entries(c).map(([k, v]) => `${k}×${v}`).join(', ')}`),
    '',
    `## Real processes (${procRuns} runs; highest peak RSS ${(maxProcRss.kb / 1024).toFixed(0)} MiB${maxProcRss.n !== undefined ? `, case ${maxProcRss.n} ${maxProcRss.op}` : ''})`,
    '',
    ...Object.entries(procCodes).map(([op, c]) => `- ${op}: ${Object.entries(c).map(([k, v]) => `${k}×${v}`).join(', ')}`),
    '',
    '## Bombs',
    '',
    ...bombs.map((b) => `- case ${b.n}, ${b.name} (${b.inputBytes} bytes): ${b.ms} ms, peak ${(b.peakRssKb / 1024).toFixed(0)} MiB; ${b.ops}`),
    '',
    '## Problems',
    '',
    ...(problems.length ? problems.map((p) => `- case ${p.n} (${p.kind} ${p.name}; ${p.recipe}): ${p.problem}`) : ['none']),
    '',
  ];
  writeFileSync(`${SUMMARY}.md`, md.join('\n'));
}

const slices = Array.from({ length: JOBS }, (_, j) => todo.filter((_, i) => i % JOBS === j));
await Promise.all(slices.map((s) => runWorker(s)));
summarize();
const problems = [...records.values()].reduce((a, r) => a + r.problems.length, 0);
console.log(`fuzz campaign ${cfgBase.campaign}: ${records.size} of ${CASES} cases, ${problems} problems; summary ${SUMMARY}.md`);
process.exitCode = problems ? 1 : 0;
