/**
 * One worker process of the fuzz campaign (scripts/fuzz-campaign.mjs bundles this file with esbuild and starts it
 * as a child process; it talks to the parent over IPC). For each case number it is given, it builds the input (a
 * bomb, a byte mutant of a seed image or of a sparse-image seed, or a mutated sparse bundle folder: `caseInput`),
 * runs the CLI's commands on it through the in-process harness (harness.ts: info --json, verify, convert -o - with
 * and without --keep-going, ls -R -l, tree, extract with its confinement check, one rotating extra call) and
 * sends one record: exit code and time of every command, the case's peak resident memory (VmHWM of this process,
 * reset before the case through /proc/self/clear_refs), and the problems found. Every `processEvery`-th case also
 * runs the real `dmgkit` (dist/bin/dmgkit.js, default options: default threads) as child processes under
 * /usr/bin/time, so exit codes, exiting at all after an error, and peak RSS are those of the real command.
 *
 * Case numbers: 0 .. BOMBS.length - 1 are the bombs; after them, every 10th case is a sparse-bundle mutant and
 * the others rotate over the seeds (byte mutant `${campaign}:${k}` of seed k mod seeds), so any prefix of a
 * campaign covers every kind of input.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { Harness, checkConfined, type CaseResult } from './harness.js';
import { loadSeed, mutate, sparseSeed, replaceXml, type FuzzSeed } from './mutate.js';
import { seedPaths } from './seeds.js';
import { BAND, mutateBundle, rng } from './bundle-mutate.js';
import { writeSparseBundle, buildSparseImage } from '../container/build.js';
import { buildDmg, type BuildChunk } from '../helpers/build-dmg.js';
import { synthetic } from '../helpers/fixtures.js';

interface Config {
  campaign: string;
  cases: number[];
  processEvery: number;
  cli: string;
  opTimeoutMs: number;
  rssLimitKb: number;
}

export interface OpRecord {
  op: string;
  code: number | string;
  ms: number;
  problem?: string;
  /** first stderr line of a failing command (digits kept) */
  err?: string;
  rssKb?: number;
  proc?: boolean;
}
export interface CaseRecord {
  n: number;
  kind: 'bomb' | 'mutant' | 'sparse' | 'bundle';
  name: string;
  recipe: string;
  inputBytes: number;
  ms: number;
  /** Peak RSS of the worker during the case, and its RSS before (the harness and the loaded seeds). */
  hwmKb: number;
  baseKb: number;
  warnings: number;
  ops: OpRecord[];
  problems: string[];
}

const enc = new TextEncoder();
const status = () => readFileSync('/proc/self/status', 'utf8');
const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status())?.[1] ?? 0);

// ---------------------------------------------------------------------------------------------------------------
// Bombs (issue 10): each built here, each below 100 MB

function withPlistJunk(seed: FuzzSeed, junk: (xml: string) => string): Uint8Array {
  const k = seed.koly!;
  const xml = new TextDecoder().decode(seed.bytes.subarray(k.xmlOffset, k.xmlOffset + k.xmlLength));
  return replaceXml(seed.bytes.slice(), enc.encode(junk(xml)));
}
const afterFirstDict = (xml: string, ins: string) => xml.replace('<dict>', `<dict>${ins}`);

export const BOMBS: [string, (seeds: FuzzSeed[]) => Uint8Array | { dir: (root: string) => string }][] = [
  ['plist: 1.7 M unknown keys (62 MB)', (s) => withPlistJunk(udifSeed(s), (x) => afterFirstDict(x, '<key>k0000</key><integer>1</integer>'.repeat(1_700_000)))],
  ['plist: 3 M nested <array>', (s) => withPlistJunk(udifSeed(s), (x) => afterFirstDict(x, '<key>x</key>' + '<array>'.repeat(3_000_000)))],
  ['plist: 12 M entity references', (s) => withPlistJunk(udifSeed(s), (x) => afterFirstDict(x, `<key>j</key><string>${'&#65;'.repeat(12_000_000)}</string>`))],
  ['plist: entity-expansion DOCTYPE', (s) => withPlistJunk(udifSeed(s), (x) => x.replace(/<!DOCTYPE[^>]*>/, '<!DOCTYPE plist [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>').replace('<dict>', '<dict><key>l</key><string>&c;&c;&c;</string>'))],
  ['amplification: 60,000 zlib chunks of 1 MiB sharing one stored range (60 GiB disk)', () => {
    const MiB = new Uint8Array(1 << 20);
    const z = new Uint8Array(deflateSync(MiB));
    const chunks: BuildChunk[] = [{ type: 0x80000005, payload: z, decoded: MiB }];
    for (let i = 1; i < 60_000; i++) chunks.push({ type: 0x80000005, payload: z, decoded: MiB, sharesWith: 0 });
    return buildDmg(chunks, 'disk image (Apple_HFS : 1)', 0);
  }],
  // the most chunks the plist limit (maxPlistBytes, 16 MiB) lets through: 300,000 (a 16.0 MB plist)
  ['300,000 zero-fill chunks of one sector', () => {
    const s = new Uint8Array(512);
    return buildDmg(Array.from({ length: 300_000 }, () => ({ type: 0, payload: new Uint8Array(0), decoded: s })), 'disk image (Apple_HFS : 1)', 0);
  }],
  ['300,000 raw chunks of one sector sharing one stored sector', () => {
    const s = new Uint8Array(512).fill(0x41);
    const chunks: BuildChunk[] = [{ type: 1, payload: s, decoded: s }];
    for (let i = 1; i < 300_000; i++) chunks.push({ type: 1, payload: s, decoded: s, sharesWith: 0 });
    return buildDmg(chunks, 'disk image (Apple_HFS : 1)', 0);
  }],
  ['1 M zero-fill chunks (a 53 MB plist, over the limit)', () => {
    const s = new Uint8Array(512);
    return buildDmg(Array.from({ length: 1_000_000 }, () => ({ type: 0, payload: new Uint8Array(0), decoded: s })), 'disk image (Apple_HFS : 1)', 0);
  }],
  ['sparse image cut to 100 KB', (s) => sparse(s).bytes.slice(0, 100_000)],
  ['sparse image declaring 2^40 sectors', (s) => {
    const b = sparse(s).bytes.slice();
    new DataView(b.buffer).setUint32(16, 0xffffffff);
    new DataView(b.buffer).setBigUint64(28, 1n << 40n);
    return b;
  }],
  ['sparse bundle: band-size 4096, Info.plist size 2^40', () => ({
    dir: (root) => {
      const dir = join(root, 'bomb.sparsebundle');
      const disk = new Uint8Array(readFileSync(synthetic('lzfse.hfs')));
      writeSparseBundle(dir, disk, BAND, new Map(Array.from({ length: Math.ceil(disk.length / BAND) }, (_, i) => [i, BAND])));
      const p = join(dir, 'Info.plist');
      writeFileSync(p, readFileSync(p, 'utf8').replace(/<key>size<\/key>\s*<integer>\d+<\/integer>/, `<key>size</key><integer>${2 ** 40}</integer>`));
      return dir;
    },
  })],
];
function udifSeed(seeds: FuzzSeed[]): FuzzSeed {
  return seeds.find((x) => x.name.includes('keramics_hfsplus_zlib') && x.kind === 'udif') ?? seeds.find((x) => x.kind === 'udif' && x.koly?.xmlLength)!;
}
function sparse(seeds: FuzzSeed[]): FuzzSeed {
  return seeds.find((x) => x.kind === 'sparse')!;
}

// ---------------------------------------------------------------------------------------------------------------

interface Input {
  kind: CaseRecord['kind'];
  name: string;
  recipe: string;
  path: string;
  bytes: number;
}

let bundleDisk: Uint8Array | undefined;

async function caseInput(n: number, cfg: Config, seeds: FuzzSeed[], dir: string): Promise<Input> {
  if (n < BOMBS.length) {
    const [name, make] = BOMBS[n];
    const made = make(seeds);
    if (made instanceof Uint8Array) {
      const path = join(dir, /sparse/.test(name) ? 'bomb.sparseimage' : 'bomb.dmg');
      writeFileSync(path, made);
      return { kind: 'bomb', name, recipe: name, path, bytes: made.length };
    }
    return { kind: 'bomb', name, recipe: name, path: made.dir(dir), bytes: 0 };
  }
  const m = n - BOMBS.length;
  if (m % 10 === 9) {
    bundleDisk ??= new Uint8Array(readFileSync(synthetic('lzfse.hfs')));
    const bands = Math.ceil(bundleDisk.length / BAND);
    const path = join(dir, 'case.sparsebundle');
    writeSparseBundle(path, bundleDisk, BAND, new Map(Array.from({ length: bands }, (_, i) => [i, BAND])));
    const r = rng(`${cfg.campaign}:bundle:${m}`);
    const recipe: string[] = [];
    const k = 1 + Math.floor(r() * 3);
    for (let i = 0; i < k; i++) recipe.push(mutateBundle(path, r, bundleDisk.length, bands));
    return { kind: 'bundle', name: 'lzfse.hfs#bundle', recipe: recipe.join(', '), path, bytes: bundleDisk.length };
  }
  const seed = seeds[m % seeds.length];
  const id = `${cfg.campaign}:${Math.floor(m / seeds.length)}`;
  const mut = await mutate(seed, id);
  const ext = seed.kind === 'sparse' ? '.sparseimage' : seed.kind === 'udif' || mut.recipe.some((r) => r.startsWith('writeUdif')) ? '.dmg' : '.img';
  const path = join(dir, `case${ext}`);
  writeFileSync(path, mut.bytes);
  return { kind: seed.kind === 'sparse' ? 'sparse' : 'mutant', name: `${seed.name} ${id}`, recipe: mut.recipe.join(' '), path, bytes: mut.bytes.length };
}

/** Runs the real command as a child process under /usr/bin/time; standard output counted and cut at `cap`. */
function realCli(cfg: Config, args: string[], cap: number): Promise<{ code: number | string; ms: number; rssKb: number; stderr: string }> {
  return new Promise((resolve) => {
    const timeFile = join(process.env.FUZZ_TMP ?? '/tmp', `time-${process.pid}`);
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%M', '-o', timeFile, process.execPath, cfg.cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = 0;
    let stderr = '';
    let why = '';
    const kill = (w: string) => {
      why ||= w;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    };
    child.stdout.on('data', (d: Buffer) => {
      out += d.length;
      if (out > cap) {
        // like `| head -c`: close the pipe; the command must stop (EPIPE) by itself
        child.stdout.destroy();
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 65536) stderr += d.toString('utf8');
    });
    const timer = setTimeout(() => kill('timeout'), cfg.opTimeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let rssKb = 0;
      try {
        rssKb = Number(/(\d+)\s*$/.exec(readFileSync(timeFile, 'utf8'))?.[1] ?? 0);
        rmSync(timeFile, { force: true });
      } catch {
        // killed before time wrote it
      }
      // /usr/bin/time reports a signal-killed child as "Command terminated by signal N" and exits 128+N
      const sig = /terminated by signal (\d+)/.exec(stderr);
      resolve({ code: why || (signal ? `signal ${signal}` : sig ? `signal ${sig[1]}` : code ?? -1), ms: performance.now() - t0, rssKb, stderr });
    });
  });
}

async function runCase(n: number, cfg: Config, seeds: FuzzSeed[], h: Harness): Promise<CaseRecord> {
  const dir = mkdtempSync(join(h.root, `c${n}-`));
  const input = await caseInput(n, cfg, seeds, dir);
  // the peak of the commands, not of building the input
  (globalThis as { gc?: () => void }).gc?.();
  writeFileSync('/proc/self/clear_refs', '5');
  const baseKb = kb('VmRSS');
  const t0 = performance.now();
  const label = `case=${n} ${input.kind} ${input.name} recipe=${input.recipe}`;
  const results: CaseResult[] = await h.runAll(input.path, label);
  const problems: string[] = [];
  const ops: OpRecord[] = results.map((r) => ({
    op: r.op, code: r.code, ms: Math.round(r.ms),
    ...(r.problem ? { problem: r.problem } : {}),
    ...(r.code !== 0 ? { err: r.stderr.split('\n')[0].slice(0, 300) } : {}),
  }));
  for (const r of results) if (r.problem) problems.push(`${r.op}: ${r.problem}`);
  // every warning of the opened image reaches stderr of the commands that read it
  let warnings: string[] = [];
  const info = results.find((r) => r.op === 'info');
  try {
    if (info?.code === 0) warnings = (JSON.parse(info.stdout ?? '{}') as { warnings?: string[] }).warnings ?? [];
  } catch {
    // info's own check reports non-JSON
  }
  for (const r of results) {
    if (r.op !== 'verify' && r.op !== 'convert-keep-going') continue;
    for (const w of warnings) if (!r.stderr.includes(w)) problems.push(`${r.op}: warning not shown: ${w.slice(0, 200)}`);
  }
  if (bundleLeak(input, results)) problems.push('bytes of /etc/passwd in an output');
  // The in-process peak counts garbage the harness's sinks leave to the GC (a 300,000-chunk image written to a
  // JavaScript stream in 512-byte copies); above the bound, the real command decides (below).
  let hwmKb = kb('VmHWM');
  const inProcessOver = hwmKb - baseKb + 50_000 > cfg.rssLimitKb && input.bytes < 100e6;
  if ((cfg.processEvery > 0 && n % cfg.processEvery === 0) || inProcessOver) {
    const dest = join(dir, 'p', 'dest');
    mkdirSync(join(dir, 'p'));
    for (const [op, args] of [
      ['info', ['info', '--json', input.path]],
      ['verify', ['verify', input.path]],
      ['convert-keep-going', ['convert', input.path, '-o', '-', '--keep-going']],
      ['ls', ['ls', '-R', input.path]],
      ['extract', ['extract', input.path, dest]],
    ] as [string, string[]][]) {
      process.send!({ op: `process ${op}` });
      const r = await realCli(cfg, args, 192 * 2 ** 20);
      const rec: OpRecord = { op, code: r.code, ms: Math.round(r.ms), rssKb: r.rssKb, proc: true, ...(r.code !== 0 ? { err: r.stderr.split('\n')[0].slice(0, 300) } : {}) };
      if (typeof r.code !== 'number' || ![0, 1, 2].includes(r.code)) rec.problem = `exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`;
      else if (r.rssKb > cfg.rssLimitKb && input.bytes < 100e6) rec.problem = `peak RSS ${r.rssKb} KB`;
      if (op === 'extract') {
        const esc = checkConfined(join(dir, 'p'), ['dest']);
        if (esc) rec.problem = `extraction escaped: ${esc}`;
      }
      if (rec.problem) problems.push(`process ${op}: ${rec.problem}`);
      ops.push(rec);
    }
  }
  hwmKb = Math.max(hwmKb, kb('VmHWM'));
  // the worker's own baseline (harness, seeds) is not the command's: a command process starts at ~50 MB
  if (inProcessOver) {
    const real = ops.filter((o) => o.proc && typeof o.rssKb === 'number');
    const worst = Math.max(0, ...real.map((o) => o.rssKb!));
    if (!real.length) problems.push(`peak RSS ${hwmKb - baseKb} KB above the worker's ${baseKb} KB`);
    else ops.push({ op: 'rss-confirmed-by-processes', code: 0, ms: 0, rssKb: worst, err: `in-process peak ${hwmKb - baseKb} KB; the real commands peak at ${worst} KB` });
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(`${input.path}-elsewhere`, { recursive: true, force: true });
  return { n, kind: input.kind, name: input.name, recipe: input.recipe.slice(0, 1000), inputBytes: input.bytes, ms: Math.round(performance.now() - t0), hwmKb, baseKb, warnings: warnings.length, ops, problems };
}

let passwd: string | undefined;
function bundleLeak(input: Input, results: CaseResult[]): boolean {
  if (input.kind !== 'bundle') return false;
  passwd ??= readFileSync('/etc/passwd').subarray(0, 64).toString('latin1');
  return passwd.length >= 64 && results.some((r) => r.stdout?.includes(passwd!));
}

async function run(): Promise<void> {
  const cfg = JSON.parse(process.env.FUZZ_WORKER ?? '{}') as Config;
  const seeds: FuzzSeed[] = [];
  for (const p of seedPaths()) seeds.push(await loadSeed(p));
  for (const want of ['keramics_hfsplus_zlib', 'lzfse-mbr']) {
    const from = seeds.find((s) => s.name.includes(want));
    const sp = from && sparseSeed(from);
    if (sp) seeds.push(sp);
  }
  // a sparse image of the synthetic HFS+ volume too, so bombs have one
  if (!seeds.some((s) => s.kind === 'sparse')) {
    const disk = new Uint8Array(readFileSync(synthetic('lzfse.hfs')));
    seeds.push({ name: 'lzfse.hfs#sparse', bytes: buildSparseImage(disk, 64, Array.from({ length: Math.ceil(disk.length / 32768) }, (_, i) => i)), kind: 'sparse', mish: [], chunks: [], hfs: [] });
  }
  const h = new Harness({ timeoutMs: cfg.opTimeoutMs, hardMs: cfg.opTimeoutMs * 2, rssBytes: 4096 * 2 ** 20, outCap: 192 * 2 ** 20 });
  h.baselineRss = process.memoryUsage().rss;
  h.baselineHeap = process.memoryUsage().heapUsed;
  // a heartbeat per command, so the parent's hang bound is per command
  const run1 = h.run.bind(h);
  h.run = (op, args, label, capture) => {
    process.send!({ op });
    return run1(op, args, label, capture);
  };
  process.send!({ ready: seeds.length });
  for (const n of cfg.cases) {
    process.send!({ start: n });
    const rec = await runCase(n, cfg, seeds, h);
    await new Promise<void>((r) => process.send!({ record: rec }, () => r()));
    if (rec.ops.some((o) => o.code === 'timeout')) {
      // a command still running in this process: start afresh
      h.close();
      process.exit(3);
    }
  }
  h.close();
  process.disconnect();
}

void run().catch((e) => {
  process.stderr.write(`worker failed: ${(e as Error)?.stack ?? e}\n`);
  process.exit(4);
});
