#!/usr/bin/env node
// npm run bench [-- --quick] [-- --reps N] [-- --threads N] [-- --no-hfs] [-- --no-e2e | --e2e-only] [-- --e2e-sizes 64,1024] [-- --update-docs]
//
// Decode throughput of dmgkit's chunk codecs (single-threaded and on N threads) and end to end (UDIF → raw disk),
// against the native tools and npm baselines measured in the same run on the same data, plus HFS+ listing and
// extraction against 7-Zip. Prints tables, writes bench/results.json and bench/results.md.
//
// Every number is a median of REPS repetitions; the repetitions are interleaved (rep 1 of everything, then rep 2…)
// so that load from other processes on a shared machine falls on every contender alike. Wall-clock and CPU time
// (user+system: process.cpuUsage for in-process work, /usr/bin/time for tools) are both recorded.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { MB, MiB, MIX, benchCodecs, decodeAll, equalBytes } from '../dist/cli/commands/bench.js';
import { openVolume } from '../dist/volume.js';
import { Samples, median, timeInProcess, timeTool, toolVersion } from './lib/measure.mjs';
import { buildDmg, cacheDir, concatenatedFile, encodeChunks, makeData, repoRoot, sha } from './lib/data.mjs';
import { buildHfsVolume, carveHfs, hfsShape } from './lib/hfs.mjs';
import { renderMarkdown, renderText, evaluateTargets } from './lib/report.mjs';
import { buildLargeUdzo, dmgkitCli, largeDiskHash, peakRssKiB, streamHash } from './lib/large.mjs';
import { renderE2E, runE2E } from './lib/e2e.mjs';
import { renderStartup, runStartup } from './lib/startup.mjs';

const require = createRequire(import.meta.url);
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const threadsArg = argv.indexOf('--threads');
const THREADS = threadsArg >= 0 ? Number(argv[threadsArg + 1]) : Math.max(2, availableParallelism());
const SIZE = (quick ? 8 : 32) * MiB;
const repsArg = argv.indexOf('--reps'); // e.g. --reps 1 for a long run of the 1 GiB rows
const REPS = repsArg >= 0 ? Math.max(1, Number(argv[repsArg + 1])) : quick ? 1 : 3;
const withHfs = !argv.includes('--no-hfs') && !argv.includes('--e2e-only');
const e2eOnly = argv.includes('--e2e-only');
const withE2E = !argv.includes('--no-e2e');
const e2eSizesArg = argv.indexOf('--e2e-sizes'); // e.g. --e2e-sizes 64,1024 (MiB)
const e2eSizes = e2eSizesArg >= 0 ? argv[e2eSizesArg + 1].split(',').map(Number) : null;
const withLarge = !argv.includes('--no-large') && !e2eOnly;
const started = Date.now();
const log = (s) => process.stderr.write(s);
const devNull = openSync('/dev/null', 'w');

const machine = {
  nproc: availableParallelism(),
  cpu: cpus()[0]?.model?.trim() ?? 'unknown',
  memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
  lscpu: toolVersion('lscpu', [], (s) =>
    s
      .split('\n')
      .filter((l) => /^(Thread\(s\) per core|Hypervisor vendor|L2 cache|L3 cache):/.test(l))
      .map((l) => l.replace(/\s+/g, ' '))
      .join('; '),
  ),
  node: process.version,
  tools: {
    '7zz': toolVersion('7zz', [], (s) => /7-Zip \(z\) ([\d.]+)/.exec(s)?.[1] ?? s.split('\n')[0]),
    bzip2: toolVersion('bzip2', ['--version'], (s) => /Version ([\d.]+)/.exec(s)?.[1] ?? s.split('\n')[0]),
    xz: toolVersion('xz', ['--version'], (s) => /xz \(XZ Utils\) ([\d.]+)/.exec(s)?.[1] ?? s.split('\n')[0]),
    dmg2img: toolVersion('dmg2img', [], (s) => /dmg2img v([\d.]+)/.exec(s)?.[1] ?? null),
    xorriso: toolVersion('xorriso', ['-version'], (s) => /xorriso ([\d.]+)/.exec(s)?.[1] ?? s.split('\n')[0]),
    bash: process.env.BASH_VERSION ?? toolVersion('bash', ['--version'], (s) => /version ([\d.]+)/.exec(s)?.[1] ?? ''),
    pako: require('pako/package.json').version,
    'seek-bzip': require('seek-bzip/package.json').version,
    zlib: process.versions.zlib,
  },
  loadavgStart: loadavg().map((x) => +x.toFixed(2)),
};
log(`dmgkit benchmark${quick ? ' (quick)' : ''}: ${SIZE / MiB} MiB of mixed data, 1 MiB chunks, ${REPS} repetition(s), ${THREADS} threads; load ${machine.loadavgStart.join(' ')}\n`);

// ---------------------------------------------------------------------------------------------------------------
// Data, encoded chunks, images; correctness checks (untimed)
const d = makeData(SIZE);
const mixShares = Object.fromEntries(Object.entries(d.shares).map(([k, v]) => [k, +(v / SIZE).toFixed(3)]));
const pako = require('pako');
const Bunzip = require('seek-bzip');
const codecs = [];
const DMG2IMG_CODECS = new Set(['zlib', 'bzip2', 'ADC']);
for (const codec of await benchCodecs()) {
  log(`  ${codec.name}: encoding… `);
  const { set, file, cached } = await encodeChunks(codec, d);
  decodeAll(codec.decode, set, d.chunks); // dmgkit decodes every chunk to the original bytes
  const dmg = await buildDmg(codec, d, set, file);
  // 7-Zip decodes our image to the same bytes
  const z = spawnSync('7zz', ['x', '-tdmg', '-so', dmg], { maxBuffer: SIZE + MiB });
  if (z.status !== 0 || sha(z.stdout) !== d.hash) throw new Error(`7zz does not decode ${dmg} to the data (exit ${z.status}, ${z.stdout?.length} bytes)`);
  if (DMG2IMG_CODECS.has(codec.name) && machine.tools.dmg2img) {
    const out = join(tmpdir(), `dmgkit-bench-dmg2img-${process.pid}.img`);
    const r = spawnSync('dmg2img', ['-s', dmg, out]);
    const ok = r.status === 0 && sha(readFileSync(out)) === d.hash;
    rmSync(out, { force: true });
    if (!ok) throw new Error(`dmg2img does not decode ${dmg} to the data (exit ${r.status})`);
  }
  const entry = { codec, set, file, dmg, ratio: set.encodedBytes / set.decodedBytes, cachedEncoding: cached };
  if (codec.name === 'bzip2' || codec.name === 'XZ') {
    entry.cat = concatenatedFile(set, file);
    const tool = codec.name === 'bzip2' ? 'bzip2' : 'xz';
    const t = spawnSync(tool, ['-dc', entry.cat], { maxBuffer: SIZE + MiB });
    if (t.status !== 0 || sha(t.stdout) !== d.hash) throw new Error(`${tool} -dc does not give the data back`);
  }
  codecs.push(entry);
  log(`${(entry.ratio * 100).toFixed(1)}% ${cached ? '(cached) ' : ''}checked with 7zz\n`);
}

// The baselines decode the same chunks: check them once.
const zlibSet = codecs.find((c) => c.codec.name === 'zlib').set;
const bzSet = codecs.find((c) => c.codec.name === 'bzip2').set;
if (!equalBytes(pako.inflate(zlibSet.chunks[0]), d.chunks[0])) throw new Error('pako baseline decodes differently');
if (!equalBytes(Bunzip.decode(Buffer.from(bzSet.chunks[0]), Buffer.alloc(bzSet.sizes[0])), d.chunks[0])) throw new Error('seek-bzip baseline decodes differently');

// ---------------------------------------------------------------------------------------------------------------
// Contenders
const samples = new Samples();
const speedups = new Map();
const projected = new Map();
const waits = new Map();
const CHILD = join(repoRoot, 'bench', 'lib', 'codec-child.mjs');

/**
 * The in-process measurements of one codec (dmgkit 1 thread / pool in paired blocks of 8 chunks, end to end on 1
 * and N threads, npm/node baselines), one repetition in a fresh Node process (bench/lib/codec-child.mjs).
 */
function inProcess(c) {
  const job = { codec: c.codec.name, chunksFile: c.file, dmg: c.dmg, sizes: c.set.sizes, threads: THREADS, block: 8, warmBytes: 24 * MiB };
  const r = spawnSync(process.execPath, [CHILD, JSON.stringify(job)], { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${CHILD} ${c.codec.name} failed (exit ${r.status}): ${r.stderr.trim().slice(-600)}`);
  const out = JSON.parse(r.stdout);
  const name = c.codec.name;
  for (const [key, v] of Object.entries(out.samples)) samples.add(`${name}/${key}`, v);
  speedups.set(name, [...(speedups.get(name) ?? []), ...out.speedups]);
  projected.set(name, [...(projected.get(name) ?? []), ...out.projected]);
  const w = waits.get(name) ?? { run: 0, wait: 0 };
  waits.set(name, { run: w.run + out.waits.run, wait: w.wait + out.waits.wait });
}

/** Measurement keys of a codec (in-process ones are recorded by inProcess). */
function keys(c) {
  const k = ['dmgkit', 'dmgkit-par', 'e2e', 'e2e-par', '7zz'];
  if (c.codec.name === 'zlib') k.push('node:zlib', 'pako');
  if (DMG2IMG_CODECS.has(c.codec.name) && machine.tools.dmg2img) k.push('dmg2img');
  if (c.codec.name === 'bzip2') k.push('bzip2 -d', 'seek-bzip');
  if (c.codec.name === 'XZ') k.push('xz -d');
  return k;
}

function contenders(c) {
  const list = [
    ['in-process', () => inProcess(c)],
    ['7zz', () => samples.add(`${c.codec.name}/7zz`, timeTool('7zz', ['x', '-tdmg', '-so', c.dmg]))],
  ];
  // dmg2img (zlib, bzip2, ADC: its LZFSE/LZMA support is optional and it mis-decodes GPT images) converts to a file
  if (DMG2IMG_CODECS.has(c.codec.name) && machine.tools.dmg2img) {
    list.push(['dmg2img', () => samples.add(`${c.codec.name}/dmg2img`, timeTool('dmg2img', ['-s', c.dmg, '/dev/null']))]);
  }
  if (c.codec.name === 'bzip2') list.push(['bzip2 -d', () => samples.add('bzip2/bzip2 -d', timeTool('bzip2', ['-dc', c.cat]))]);
  if (c.codec.name === 'XZ') list.push(['xz -d', () => samples.add('XZ/xz -d', timeTool('xz', ['-dc', c.cat]))]);
  return list;
}

// ---------------------------------------------------------------------------------------------------------------
// Large UDZO image: conversion to a raw disk by dmgkit's CLI, 7zz and dmg2img, with peak memory
let large = null;
const LARGE_CONTENDERS = [
  ['dmgkit 1 thread', process.execPath, (p) => [dmgkitCli, 'convert', p, '-o', '/dev/null', '--threads', '1']],
  [`dmgkit ${THREADS} threads`, process.execPath, (p) => [dmgkitCli, 'convert', p, '-o', '/dev/null', '--threads', String(THREADS)]],
  ['7zz x -tdmg -so', '7zz', (p) => ['x', '-tdmg', '-so', p]],
  ['dmg2img', 'dmg2img', (p) => ['-s', p, '/dev/null']],
];
if (withLarge) {
  const units = quick ? 256 : 1024;
  log(`  large UDZO image (${units} MiB disk): building… `);
  const path = await buildLargeUdzo(d, units);
  const want = await largeDiskHash(d, units);
  const checks = [
    ['dmgkit', process.execPath, [dmgkitCli, 'convert', path, '-o', '-']],
    ['7zz', '7zz', ['x', '-tdmg', '-so', path]],
    ...(machine.tools.dmg2img ? [['dmg2img', 'dmg2img', ['-s', path, '/dev/stdout']]] : []),
  ];
  for (const [name, cmd, args] of checks) {
    if (streamHash(cmd, args) !== want) throw new Error(`${name} does not decode the large image to the disk`);
  }
  const contenders = LARGE_CONTENDERS.filter(([n]) => n !== 'dmg2img' || machine.tools.dmg2img);
  large = {
    path,
    diskBytes: units * MiB,
    fileBytes: statSync(path).size,
    contenders: contenders.map(([n]) => n),
    rssKiB: Object.fromEntries(contenders.map(([n, cmd, args]) => [n, peakRssKiB(cmd, args(path))])),
  };
  log(`${(large.fileBytes / MiB).toFixed(0)} MiB file, checked with dmgkit, 7zz${machine.tools.dmg2img ? ', dmg2img' : ''}\n`);
}

// Encoding: dmgkit convert --format against pigz and gzip (bench/lib/encode.mjs); --no-encode leaves it out
const { runEncodeBench, renderEncode, runSingleThreadEncoders } = await import('./lib/encode.mjs');
const encode = argv.includes('--no-encode') || e2eOnly ? null : await runEncodeBench({ quick, reps: REPS, log, largePath: large?.path ?? null });
if (encode && !quick) encode.single = runSingleThreadEncoders({ log });

// ---------------------------------------------------------------------------------------------------------------
// HFS+ setup
let hfs = null;
if (withHfs) {
  log('  HFS+: building the volume… ');
  const shape = hfsShape(quick);
  const path = await carveHfs(buildHfsVolume(shape, d.data));
  const v = await openVolume(path);
  let entries = 0;
  let files = 0;
  for await (const e of v.volume.walk()) {
    entries++;
    if (e.type === 'file') files++;
  }
  await v.close();
  const l = spawnSync('7zz', ['l', '-thfs', path], { encoding: 'utf8', maxBuffer: 256 * MiB });
  const m = /(\d+) files, (\d+) folders\s*$/m.exec(l.stdout);
  const sevenFiles = m ? Number(m[1]) : null;
  // 7-Zip lists the volume name as a top folder
  const sevenFolders = m ? Number(m[2]) : null;
  if (sevenFiles !== files) throw new Error(`HFS+ volume: dmgkit walks ${files} files, 7zz lists ${sevenFiles}`);
  const { statSync } = await import('node:fs');
  hfs = { path, shape, entries, files, folders: entries - files, sevenFolders, bytes: 0, imageBytes: statSync(path).size };
  log(`${files} files, ${entries - files} folders, ${(hfs.imageBytes / MiB).toFixed(0)} MiB image\n`);
}
// Extraction goes to a memory-backed file system when there is one: on a disk, the cost of creating a file depends
// on what was deleted there in the last minutes (ext4 slot search), which decided runs more than the programs did.
const extractRoot = existsSync('/dev/shm') ? join('/dev/shm', `dmgkit-bench-extract-${process.pid}`) : join(cacheDir, 'extract');

async function dmgkitList() {
  const v = await openVolume(hfs.path);
  let n = 0;
  for await (const _ of v.volume.walk()) n++;
  await v.close();
  if (n !== hfs.entries) throw new Error('listing changed');
}
async function dmgkitExtract(forks = true) {
  const v = await openVolume(hfs.path);
  const { extractVolume } = await import('../dist/extract/extract.js');
  const r = await extractVolume(v.volume, join(extractRoot, forks ? 'dmgkit' : 'dmgkit-noforks'), { forks });
  await v.close();
  hfs.bytes = r.bytes;
  if (r.files !== hfs.files) throw new Error(`extract wrote ${r.files} files of ${hfs.files}`);
}

// ---------------------------------------------------------------------------------------------------------------
// End to end (issue 9): whole commands on 64 MiB and 1 GiB images of each codec against the native tools, threads
// 1/2 (and the scaling columns), peak RSS. Its own interleaved repetitions.
let e2e = null;
if (withE2E) {
  const startup = runStartup({ cli: dmgkitCli, repoRoot, reps: quick ? 10 : 30, log });
  process.stdout.write(renderStartup(startup));
  e2e = await runE2E({
    d,
    entries: codecs.map((c) => ({ codec: c.codec, set: c.set })),
    units: e2eSizes ?? (quick ? [64] : [64, 1024]),
    reps: REPS,
    threadsList: [1, 2, 4, 8],
    cli: dmgkitCli,
    tools: { '7zz': !!machine.tools['7zz'], dmg2img: !!machine.tools.dmg2img, 'qemu-img': !!toolVersion('qemu-img', ['--version']) },
    log,
  });
  e2e.startup = startup;
  process.stdout.write(renderE2E(e2e));
  if (e2eOnly) {
    writeFileSync(join(cacheDir, 'results-e2e.json'), JSON.stringify({ date: new Date().toISOString(), machine: { ...machine, loadavgEnd: loadavg() }, e2e }, null, 2) + '\n');
    log(`results: ${join(cacheDir, 'results-e2e.json')}\n`);
    process.exit(0);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Measurement, interleaved repetitions
for (let rep = 0; rep < REPS; rep++) {
  log(`  repetition ${rep + 1}/${REPS}:`);
  for (const c of codecs) {
    for (const [, run] of contenders(c)) await run();
    log(` ${c.codec.name}`);
  }
  if (large) for (const [n, cmd, args] of LARGE_CONTENDERS.filter(([n]) => large.contenders.includes(n))) samples.add(`large/${n}`, timeTool(cmd, args(large.path)));
  if (hfs) {
    samples.add('hfs/dmgkit-list', await timeInProcess(dmgkitList));
    samples.add('hfs/7zz-list', timeTool('7zz', ['l', '-thfs', hfs.path]));
    log(' HFS+ list');
    // Extraction, every repetition, in alternating order (dmgkit first, then 7-Zip first, …) into fresh directories.
    rmSync(extractRoot, { recursive: true, force: true });
    mkdirSync(extractRoot, { recursive: true });
    const runs = [
      async () => samples.add('hfs/dmgkit-extract', await timeInProcess(() => dmgkitExtract(true))),
      async () => samples.add('hfs/dmgkit-extract-noforks', await timeInProcess(() => dmgkitExtract(false))),
      async () => samples.add('hfs/7zz-extract', timeTool('7zz', ['x', '-thfs', '-y', `-o${join(extractRoot, '7zz')}`, hfs.path])),
    ];
    for (const run of rep % 2 === 0 ? runs : [...runs].reverse()) await run();
    rmSync(extractRoot, { recursive: true, force: true });
    log(' HFS+ extract');
  }
  log('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Results
const rate = (bytes, s) => (s === null || s === undefined ? null : bytes / MB / s);
const results = {
  date: new Date().toISOString(),
  quick,
  machine: { ...machine, loadavgEnd: loadavg().map((x) => +x.toFixed(2)) },
  method: { dataBytes: SIZE, chunkBytes: MiB, reps: REPS, threads: THREADS, mixTarget: MIX, mixMeasured: mixShares, unit: 'MB/s = 10^6 bytes of decoded output per second' },
  codecs: codecs.map((c) => {
    const row = { codec: c.codec.name, encodedBytes: c.set.encodedBytes, ratio: +c.ratio.toFixed(4), measures: {} };
    for (const key of keys(c)) {
      const s = samples.get(`${c.codec.name}/${key}`);
      row.measures[key] = { wallMBps: rate(SIZE, s.wall), cpuMBps: rate(SIZE, s.cpu), wallSeconds: s.wall, cpuSeconds: s.cpu };
    }
    // Projected speed-up: on-CPU time of one thread ÷ on-CPU time of the pool run's busiest thread (per block,
    // median) — the speed-up if no thread had to wait for a CPU. waitShare: run-queue wait ÷ (run + wait) of all
    // threads during the pool runs: how much of the time the threads were runnable but not running.
    const w = waits.get(c.codec.name);
    row.speedup = {
      median: median(speedups.get(c.codec.name)),
      samples: speedups.get(c.codec.name).map((x) => +x.toFixed(3)),
      projected: median(projected.get(c.codec.name) ?? []),
      waitShare: w ? w.wait / (w.run + w.wait) : null,
    };
    return row;
  }),
  hfs: hfs && {
    files: hfs.files,
    folders: hfs.folders,
    entries: hfs.entries,
    fileBytes: hfs.bytes,
    imageBytes: hfs.imageBytes,
    shape: hfs.shape,
    measures: Object.fromEntries(
      ['dmgkit-list', '7zz-list', 'dmgkit-extract', 'dmgkit-extract-noforks', '7zz-extract'].map((k) => {
        const s = samples.get(`hfs/${k}`);
        return [k, { wallSeconds: s.wall, cpuSeconds: s.cpu, reps: s.reps }];
      }),
    ),
  },
  large: large && {
    diskBytes: large.diskBytes,
    fileBytes: large.fileBytes,
    measures: Object.fromEntries(
      large.contenders.map((n) => {
        const s = samples.get(`large/${n}`);
        return [n, { wallMBps: rate(large.diskBytes, s.wall), cpuMBps: rate(large.diskBytes, s.cpu), wallSeconds: s.wall, cpuSeconds: s.cpu, peakRssMiB: large.rssKiB[n] === null ? null : +(large.rssKiB[n] / 1024).toFixed(1) }];
      }),
    ),
  },
  e2e,
  encode,
  totalSeconds: 0,
};
// NBD serving (bench/lib/nbd.mjs): dmgkit serve against qemu-nbd -f dmg and 7zz; --no-nbd skips it
if (!argv.includes('--no-nbd')) {
  const { benchNbd } = await import('./lib/nbd.mjs');
  const codecImages = codecs.filter((c) => c.codec.name !== 'zlib').map((c) => ({ name: c.codec.name, dmg: c.dmg, hash: d.hash, size: SIZE }));
  results.nbd = await benchNbd({ d, units: quick ? 128 : 512, reps: REPS, threads: 2, codecImages, log });
}
results.targets = evaluateTargets(results);
results.totalSeconds = Math.round((Date.now() - started) / 1000);
const outJson = quick ? join(cacheDir, 'results-quick.json') : join(repoRoot, 'bench', 'results.json');
writeFileSync(outJson, JSON.stringify(results, null, 2) + '\n');
const e2eMd = e2e ? `\n${renderStartup(e2e.startup, { markdown: true })}\n${renderE2E(e2e, { markdown: true })}` : '';
writeFileSync(outJson.replace(/\.json$/, '.md'), renderMarkdown(results) + e2eMd);
process.stdout.write(renderText(results) + (e2e ? `\n${renderE2E(e2e)}` : ''));
process.stdout.write(renderEncode(encode));
if (argv.includes('--update-docs')) {
  // Replace the generated block of docs/benchmarks.md with this run's tables.
  const docs = join(repoRoot, 'docs', 'benchmarks.md');
  const text = readFileSync(docs, 'utf8');
  const START = '<!-- bench:results:start -->';
  const END = '<!-- bench:results:end -->';
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${docs}: no ${START} … ${END} block`);
  writeFileSync(docs, `${text.slice(0, a + START.length)}\n${renderMarkdown(results)}${e2eMd}\n${text.slice(b)}`);
  log(`updated ${docs}\n`);
}
log(`results: ${outJson} (and .md); ${results.totalSeconds} s\n`);
