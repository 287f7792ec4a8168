// End-to-end images for the pipeline benchmark (issue 9): per codec (zlib, ADC, bzip2, XZ, LZFSE) a UDIF image of
// `units` 1 MiB chunks cycling through the chunks of the bench's mixed data (each chunk encoded once, by the same
// encoders as the codec benchmark: bzip2 -9 and xz -6 per chunk, the library's zlib/ADC/LZFSE), so a 1 GiB image
// costs seconds to build. Cached in the bench temp directory.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MiB } from '../../dist/cli/commands/bench.js';
import { cacheDir, unitPlan, writeImage } from './data.mjs';
import { peakRssKiB } from './large.mjs';
import { bothAtOnce, Samples, shellQuote, timeTool } from './measure.mjs';

/** Builds (or finds) the image of `units` MiB for one codec's encoded chunk set; returns its path. */
export async function buildCycledImage(codec, d, set, units) {
  const n = d.chunks.length;
  const path = join(cacheDir, `e2e2-${codec.name}-${units}-${d.hash}.dmg`);
  if (existsSync(path) && statSync(path).size > 0) return path;
  const disk = {
    size: units * MiB,
    name: 'e2e bench disk',
    async read(offset, length) {
      if (length !== MiB || offset % MiB !== 0) throw new Error('e2e disk: unaligned read');
      return d.chunks[(offset / MiB) % n];
    },
  };
  // The encoder is told the unit's first sector: unit i is chunk i % n, already encoded.
  const encoder = (_data, sector) => set.chunks[((sector * 512) / MiB) % n];
  const plan = unitPlan(units, (i) => d.chunks[i % n].every((b) => b === 0));
  return writeImage(path, disk, plan, { chunkType: codec.type, encoder, chunkSectors: MiB / 512 });
}

/** sha256 (first 16 hex digits, as data.mjs's sha) of the disk an image of `units` cycled chunks decodes to. */
export function cycledHash(d, units) {
  const h = createHash('sha256');
  for (let i = 0; i < units; i++) h.update(d.chunks[i % d.chunks.length]);
  return h.digest('hex').slice(0, 16);
}

// ---------------------------------------------------------------------------------------------------------------
// The end-to-end comparison: whole commands (start-up included) writing the raw disk to a regular file in the same
// place (/dev/shm when present), interleaved repetitions in alternating order, medians.

/** The native tools each codec is held against (the list), fastest of them is the bar. */
const TOOLS_FOR = {
  zlib: ['dmg2img', 'qemu-img', '7zz'],
  ADC: ['dmg2img', '7zz'],
  bzip2: ['7zz', 'dmg2img'],
  XZ: ['7zz'],
  LZFSE: ['7zz'],
};

function toolCommand(tool, image, out) {
  switch (tool) {
    case '7zz':
      return ['7zz', ['x', '-tdmg', '-so', image], { stdoutPath: out }];
    case 'dmg2img':
      return ['dmg2img', ['-s', image, out], {}];
    case 'qemu-img':
      return ['qemu-img', ['convert', '-f', 'dmg', '-O', 'raw', image, out], {}];
    default:
      throw new Error(tool);
  }
}

function fileHash(path) {
  const r = spawnSync('sha256sum', [path], { encoding: 'utf8' });
  return r.stdout.split(' ')[0].slice(0, 16);
}

/**
 * Runs the comparison. entries: [{ codec, set }] from encodeChunks; tools: which native tools exist.
 * Returns { sizes, rows: [{ codec, units, measures: { name: { wall, cpu, MBps } }, rssMiB }], scaling }.
 */
export async function runE2E({ d, entries, units: unitList, reps, threadsList, cli, tools, log }) {
  const outDir = existsSync('/dev/shm') ? '/dev/shm' : cacheDir;
  const out = join(outDir, `dmgkit-e2e-${process.pid}.img`);
  const samples = new Samples();
  const jobs = [];
  for (const { codec, set } of entries) {
    for (const units of unitList) {
      log(`  e2e ${codec.name} ${units} MiB: building… `);
      const image = await buildCycledImage(codec, d, set, units);
      const want = cycledHash(d, units);
      const toolList = TOOLS_FOR[codec.name].filter((t) => tools[t]);
      const dmgkit = (t) => [process.execPath, [cli, 'convert', image, '-o', out, '--threads', String(t)], {}];
      const contenders = [];
      // threads 1 and 2 on every image; the scaling columns (4, 8) on the smallest
      for (const t of threadsList) if (t <= 2 || units === unitList[0]) contenders.push([`dmgkit ${t}t`, dmgkit(t)]);
      for (const tool of toolList) contenders.push([tool, toolCommand(tool, image, out)]);
      // every contender writes the same disk (checked once, untimed)
      for (const [name, [cmd, args, opts]] of contenders) {
        rmSync(out, { force: true });
        const fd = opts.stdoutPath ? openSync(opts.stdoutPath, 'w') : 'ignore';
        const r = spawnSync(cmd, args, { stdio: ['ignore', fd, 'pipe'] });
        if (fd !== 'ignore') closeSync(fd);
        if (r.status !== 0) throw new Error(`${name} on ${image}: exit ${r.status} ${r.stderr}`);
        const h = fileHash(out);
        if (h !== want) throw new Error(`${name} does not decode ${image} to the disk (${h} != ${want})`);
      }
      rmSync(out, { force: true });
      jobs.push({ codec: codec.name, units, image, contenders, toolList });
      log(`checked ${contenders.map(([n]) => n).join(', ')}\n`);
    }
  }
  for (let rep = 0; rep < reps; rep++) {
    log(`  e2e repetition ${rep + 1}/${reps}:`);
    for (const j of jobs) {
      const order = rep % 2 === 0 ? j.contenders : [...j.contenders].reverse();
      for (const [name, [cmd, args, opts]] of order) {
        rmSync(out, { force: true });
        samples.add(`${j.codec}/${j.units}/${name}`, timeTool(cmd, args, opts));
      }
      rmSync(out, { force: true });
      log(` ${j.codec}/${j.units}`);
    }
    log('\n');
  }
  // The machine's own two-way scaling: one copy of a single-threaded command alone against two copies at once (the
  // same image, different outputs), on the smallest images. On a VM whose two vCPUs share caches, memory bandwidth
  // or a physical core, two copies take longer than one even for the native tools: that bounds what any program's
  // 2t/1t can reach here.
  const twoAtOnce = [];
  for (const j of jobs.filter((x) => x.units === unitList[0])) {
    const dmgkit1 = (o) => [process.execPath, [cli, 'convert', j.image, '-o', o, '--threads', '1'], {}];
    const pairs = [['dmgkit 1t', dmgkit1]];
    if (j.toolList[0]) pairs.push([j.toolList[0], (o) => toolCommand(j.toolList[0], j.image, o)]);
    for (const [name, make] of pairs) {
      const one = new Samples();
      const [fa, fb] = [`${out}.a`, `${out}.b`];
      for (let rep = 0; rep < reps; rep++) {
        for (const f of [fa, fb]) rmSync(f, { force: true });
        one.add('alone', timeTool('bash', ['-c', shellLine(make(fa))]));
        for (const f of [fa, fb]) rmSync(f, { force: true });
        one.add('two', timeTool('bash', ['-c', bothAtOnce(shellLine(make(fa)), shellLine(make(fb)))]));
      }
      for (const f of [fa, fb]) rmSync(f, { force: true });
      const a = one.get('alone');
      const b = one.get('two');
      twoAtOnce.push({ codec: j.codec, units: j.units, name, aloneWall: a.wall, twoWall: b.wall, aloneCpu: a.cpu, twoCpu: b.cpu });
    }
    log(`  two at once: ${j.codec}/${j.units}\n`);
  }
  const rows = [];
  for (const j of jobs) {
    const bytes = j.units * MiB;
    const measures = {};
    for (const [name] of j.contenders) {
      const s = samples.get(`${j.codec}/${j.units}/${name}`);
      measures[name] = { wallSeconds: s.wall, cpuSeconds: s.cpu, wallMBps: bytes / 1e6 / s.wall };
    }
    const rssMiB = {};
    if (j.units === unitList[unitList.length - 1]) {
      for (const [name, [cmd, args]] of j.contenders) {
        if (name.startsWith('dmgkit') && !/^dmgkit [12]t$/.test(name)) continue;
        rmSync(out, { force: true });
        const k = peakRssKiB(cmd, args);
        rssMiB[name] = k === null ? null : +(k / 1024).toFixed(1);
      }
      rmSync(out, { force: true });
    }
    const fastest = j.toolList.map((t) => [t, measures[t].wallSeconds]).sort((a, b) => a[1] - b[1])[0];
    rows.push({ codec: j.codec, units: j.units, measures, rssMiB, fastestTool: fastest ? { name: fastest[0], wallSeconds: fastest[1] } : null });
  }
  return { outDir, reps, threads: threadsList, rows, twoAtOnce };
}

/** A contender ([cmd, args, { stdoutPath }]) as one shell command line. */
const shellLine = ([cmd, args, opts]) => [cmd, ...args].map(shellQuote).join(' ') + (opts.stdoutPath ? ` > ${shellQuote(opts.stdoutPath)}` : '');

const f2 = (x) => (x === null || x === undefined ? '–' : x.toFixed(2));
const f0 = (x) => (x === null || x === undefined ? '–' : x.toFixed(0));

/** Text/markdown tables of runE2E's result: whole commands, ratios, 2t/1t, peak RSS, and the scaling table. */
export function renderE2E(e, { markdown = false } = {}) {
  const lines = [];
  const row = (cells) => (markdown ? `| ${cells.join(' | ')} |` : cells.join('  '));
  const head = (cells) => (markdown ? [row(cells), row(cells.map(() => '---'))] : [row(cells)]);
  lines.push(markdown ? '#### End to end (whole command, raw disk to a file)' : 'End to end (whole command, raw disk to a file; wall s, median):');
  lines.push('');
  lines.push(...head(['codec', 'MiB', 'dmgkit 1t s', 'dmgkit 2t s', '2t/1t', 'fastest tool', 'tool s', 'dmgkit 2t vs tool', 'CPU s 1t / tool', 'peak RSS 2t MiB', 'tools (s)']));
  for (const r of e.rows) {
    const t1 = r.measures['dmgkit 1t']?.wallSeconds;
    const t2 = r.measures['dmgkit 2t']?.wallSeconds;
    const ft = r.fastestTool;
    const others = Object.entries(r.measures).filter(([n]) => !n.startsWith('dmgkit')).map(([n, m]) => `${n} ${f2(m.wallSeconds)}`).join(', ');
    lines.push(row([r.codec, String(r.units), f2(t1), f2(t2), t1 && t2 ? `${(t1 / t2).toFixed(2)}×` : '–', ft?.name ?? '–', f2(ft?.wallSeconds), ft && t2 ? `${(ft.wallSeconds / t2).toFixed(2)}× ${ft.wallSeconds >= t2 ? 'faster' : 'slower'}` : '–', `${f2(r.measures['dmgkit 1t']?.cpuSeconds)} / ${f2(ft ? r.measures[ft.name]?.cpuSeconds : null)}`, f0(r.rssMiB['dmgkit 2t']), others]));
  }
  lines.push('');
  const small = e.rows.filter((r) => r.units === Math.min(...e.rows.map((x) => x.units)));
  lines.push(markdown ? `#### Scaling (${small[0]?.units} MiB image, MB/s of decoded disk, whole command)` : `Scaling (${small[0]?.units} MiB image, MB/s, whole command):`);
  lines.push('');
  lines.push(...head(['codec', ...e.threads.map((t) => `--threads ${t}`)]));
  for (const r of small) lines.push(row([r.codec, ...e.threads.map((t) => f0(r.measures[`dmgkit ${t}t`]?.wallMBps))]));
  if (e.twoAtOnce?.length) {
    lines.push('');
    lines.push(markdown ? "#### Two copies at once (the machine's own 2-way scaling)" : 'Two copies at once (one single-threaded command alone vs two at once; wall s, medians):');
    lines.push('');
    lines.push(...head(['codec', 'command', 'alone s', 'two at once s', 'throughput 2 vs 1', 'CPU per copy vs alone']));
    for (const t of e.twoAtOnce) {
      const cpuRatio = t.aloneCpu && t.twoCpu ? `${(t.twoCpu / 2 / t.aloneCpu).toFixed(2)}×` : '–';
      lines.push(row([t.codec, t.name, f2(t.aloneWall), f2(t.twoWall), `${((2 * t.aloneWall) / t.twoWall).toFixed(2)}×`, cpuRatio]));
    }
  }
  return lines.join('\n') + '\n';
}
