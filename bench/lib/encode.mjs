// Encoding (writing images) against pigz and gzip: `dmgkit convert RAW -o OUT --format F` on 1 and 2 threads per
// format, `pigz -p 2` and `gzip` at the same level on the same bytes (the bench's mixed data of data.mjs, real text
// included), output sizes beside them, and the peak memory of converting the large UDZO image to UDZO on 1 and 2
// threads. Every contender is a whole command, a child process timed by timeTool (wall and user+system CPU, start-up
// included); repetitions are interleaved; medians are reported.
import { existsSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MiB } from '../../dist/cli/commands/bench.js';
import { CODECS } from '../../dist/codecs/table.js';
import { bothAtOnce, pinnableCores, Samples, shellQuote, timeTool } from './measure.mjs';
import { benchDir, cacheDir, makeData } from './data.mjs';
import { dmgkitCli, peakRssKiB } from './large.mjs';

/** Formats whose 2-thread scaling is also measured on 4 times the data. */
const FAST_ENCODERS = new Set(['ULFO', 'UDCO']);

/** The native single-threaded encoder of a format's codec (command, arguments for a level; output on stdout). */
const NATIVE_ENCODER = {
  UDBZ: ['bzip2', (level) => [`-${level}`, '-c']],
  ULMO: ['xz', (level) => ['-T1', `-${level}`, '-c', '--check=none']],
};

/** The formats to measure: every codec of the table with an encoder, and UDRO. */
function formats(quick) {
  const udif = CODECS.filter((c) => (c.encode || c.loadEncoder) && c.format).map((c) => ({ format: c.format, levels: c.format === 'UDZO' ? [6, 1] : [c.defaultLevel], hasLevels: c.maxLevel > c.minLevel }));
  const all = [...udif, { format: 'UDRO', levels: [0], hasLevels: false }];
  return quick ? all.filter((f) => f.format === 'UDZO') : all;
}

function sizeOf(cmd, args, out) {
  rmSync(out, { force: true });
  const r = spawnSync('bash', ['-c', '"$@" > "$OUT_FILE"', 'size', cmd, ...args], { env: { ...process.env, OUT_FILE: out } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status} ${r.stderr}`);
  const n = statSync(out).size;
  rmSync(out, { force: true });
  return n;
}

/**
 * Runs the encode benchmark. `largePath`: the large UDZO image of the decode benchmark (for peak RSS), or null.
 * Returns { dataBytes, rows: [{ name, format, level, threads, wall, cpu, bytes }], rss }.
 */
/** only: format names to measure (default every format; --quick: UDZO on 16 MiB). */
export async function runEncodeBench({ quick, reps, log, largePath, only = null }) {
  const size = (quick ? 16 : 64) * MiB;
  const raw = join(cacheDir, `encode-mixed-${size}.bin`);
  if (!existsSync(raw)) writeFileSync(raw, makeData(size).data);
  const out = join(cacheDir, 'encode-out.bin');
  // dmgkit writes a file, as its users do (replaced at each run: --force): a file takes several writes at once,
  // each at its offset, where /dev/null, like a pipe, takes them one by one (src/write/node.ts writePieces).
  const sink = join(cacheDir, 'encode-sink.dmg');
  const contenders = [];
  const dmg = (format, level, threads, hasLevels, file = raw, tag = '') => [
    `dmgkit ${format}${hasLevels ? ` -${level}` : ''} ${threads}t${tag}`, { format, level, threads },
    process.execPath, [dmgkitCli, 'convert', file, '-o', sink, '--force', '--format', format, '--threads', String(threads), '--deterministic', ...(hasLevels ? ['--level', String(level)] : [])],
  ];
  // Fast encoders spend much of a 64 MiB run in Node's start-up and a worker's (a serial ~0.1-0.2 s that bounds
  // any speed-up): their 2-thread scaling is also measured on 256 MiB, the 64 MiB file four times.
  const raw4 = join(cacheDir, `encode-mixed-${size}-x4.bin`);
  const large = quick ? [] : formats(quick).filter((f) => FAST_ENCODERS.has(f.format) && (!only || only.includes(f.format)));
  if (large.length && !existsSync(raw4)) {
    const d = readFileSync(raw);
    writeFileSync(raw4, Buffer.concat([d, d, d, d]));
  }
  const cores = pinnableCores();
  const scaling = [];
  // Rows only for the scaling table (no output size): two copies of a command at once (their output goes where
  // timeTool sends the shell's, /dev/null), one pinned to a core, the native encoders and the 256 MiB runs.
  const only4scaling = (meta) => ({ ...meta, scalingOnly: true });
  const twoAtOnce = ([name, meta, cmd, args]) => {
    const line = [cmd, ...args].map(shellQuote).join(' ');
    return [`${name} x2 at once`, only4scaling(meta), 'bash', ['-c', bothAtOnce(line, line)]];
  };
  for (const f of formats(quick).filter((x) => !only || only.includes(x.format))) {
    for (const level of f.levels) {
      for (const threads of [1, 2]) contenders.push(dmg(f.format, level, threads, f.hasLevels));
      if (f.format !== 'UDZO' && f.format !== 'UDRO' && !quick) {
        // What two cores give this encoder without any coordination: two single-threaded converts at once, and one
        // pinned to each core (a VM's cores can differ: on the reference machine one runs memory-bound code 1.5-2x
        // slower than the other, and the scheduler decides which core a single-threaded run gets).
        const one = dmg(f.format, level, 1, f.hasLevels);
        const [name1, meta1, cmd1, args1] = one;
        contenders.push(twoAtOnce(one));
        for (const c of cores) contenders.push([`${name1} on cpu${c}`, only4scaling({ ...meta1, cpu: c }), 'taskset', ['-c', String(c), cmd1, ...args1]]);
        // The same yardstick for the native single-threaded encoder of that codec, where there is one.
        const tool = NATIVE_ENCODER[f.format];
        let native = null;
        if (tool) {
          native = `${tool[0]} ${tool[1](level).join(' ')}`;
          const alone = [native, only4scaling(meta1), tool[0], [...tool[1](level), raw]];
          contenders.push(alone, twoAtOnce(alone));
        }
        scaling.push({ format: f.format, name1, name2: dmg(f.format, level, 2, f.hasLevels)[0], native });
        if (large.some((x) => x.format === f.format)) {
          const tag = ` ${(4 * size) / MiB} MiB`;
          const big = [1, 2].map((t) => dmg(f.format, level, t, f.hasLevels, raw4, tag));
          for (const [name, meta, cmd, args] of big) contenders.push([name, only4scaling(meta), cmd, args]);
          contenders.push(twoAtOnce(big[0]));
          scaling.push({ format: `${f.format}${tag}`, name1: big[0][0], name2: big[1][0], native: null });
        }
      }
      if (f.format === 'UDZO') {
        contenders.push([`pigz -${level} -p 2`, { format: 'gzip', level, threads: 2 }, 'pigz', [`-${level}`, '-p', '2', '-c', raw]]);
        contenders.push([`gzip -${level}`, { format: 'gzip', level, threads: 1 }, 'gzip', [`-${level}`, '-c', raw]]);
      }
    }
  }
  const available = contenders.filter(([, , cmd]) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error === undefined);
  const samples = new Samples();
  for (let rep = 0; rep < reps; rep++) {
    log(`  encode repetition ${rep + 1}/${reps}:`);
    const order = rep % 2 === 0 ? available : [...available].reverse();
    for (const [name, , cmd, args] of order) samples.add(name, timeTool(cmd, args));
    log(' done\n');
  }
  rmSync(sink, { force: true });
  const rows = available.map(([name, meta, cmd, args]) => {
    const s = samples.get(name);
    const outArgs = cmd === process.execPath ? args.map((a) => (a === sink ? '-' : a)) : args;
    return { name, ...meta, wall: s.wall, cpu: s.cpu, bytes: meta.scalingOnly ? null : sizeOf(cmd, outArgs, out) };
  });
  const get = (name) => rows.find((x) => x.name === name);
  const scale = scaling.map(({ format, name1, name2, native }) => {
    const n1 = native && get(native);
    const n2 = native && get(`${native} x2 at once`);
    const nativePair = n1 && n2 ? { name: native, aloneWall: n1.wall, pairWall: n2.wall, pairSpeedup: (2 * n1.wall) / n2.wall } : null;
    const one = get(name1);
    const two = get(name2);
    const pair = get(`${name1} x2 at once`);
    const pinned = cores.map((c) => get(`${name1} on cpu${c}`)?.wall ?? null);
    // Two threads can at best finish the work as fast as the cores' summed throughputs, each measured pinned alone.
    const bound = pinned.length > 1 && pinned.every((x) => x) ? one.wall * pinned.reduce((a, x) => a + 1 / x, 0) : null;
    return { format, oneWall: one.wall, twoWall: two.wall, speedup: one.wall / two.wall, pairWall: pair?.wall ?? null, pairSpeedup: pair ? (2 * one.wall) / pair.wall : null, pinned, bound, nativePair };
  });
  let rss = null;
  if (largePath) {
    const peak = (threads) => {
      const kib = peakRssKiB(process.execPath, [dmgkitCli, 'convert', largePath, '-o', '/dev/null', '--format', 'UDZO', '--threads', String(threads), '--deterministic']);
      return kib === null ? null : +(kib / 1024).toFixed(1);
    };
    rss = { imageBytes: statSync(largePath).size, peakRssMiB: peak(2), peakRssMiB1: peak(1) };
  }
  return { dataBytes: size, rows: rows.filter((x) => !x.scalingOnly), scaling: scale, cores, rss };
}

/**
 * The single-threaded encoders against the native tools: bench/encode-speed.mjs (bzip2 -9, xz -1, xz -6) and
 * bench/encode-lzfse.mjs (LZFSE against zlib-6), each a child process that runs once pinned to each core when it
 * can (see rerunPinned). Returns { tools: [rows of encode-speed], lzfse: [rows of encode-lzfse] }.
 */
export function runSingleThreadEncoders({ log }) {
  const run = (script, args) => {
    log(`  ${script} ${args.join(' ')}\n`);
    const r = spawnSync(process.execPath, [join(benchDir, script), ...args], { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`${script} exited with ${r.status}`);
    return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  };
  return { tools: run('encode-speed.mjs', ['16', '3']), lzfse: run('encode-lzfse.mjs', ['32', '5']).filter((x) => x.MiB) };
}

/** The encode results as a Markdown table (MB/s of input, wall and CPU; output size). */
export function renderEncode(r) {
  if (!r) return '';
  const mb = (s) => (s ? (r.dataBytes / 1e6 / s).toFixed(0) : '–');
  const lines = [
    `### Encoding ${r.dataBytes / MiB} MiB of mixed data (MB/s of input, median wall / CPU; output bytes)`,
    '',
    '| contender | wall s | MB/s wall | MB/s CPU | output bytes | vs pigz size | wall / pigz wall |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of r.rows) {
    const pigz = r.rows.find((x) => x.name.startsWith('pigz') && x.level === row.level);
    const same = pigz && (row.format === 'UDZO' || row.format === 'gzip');
    const rel = same ? `${((row.bytes / pigz.bytes - 1) * 100).toFixed(2)} %` : '';
    const time = same ? `${(row.wall / pigz.wall).toFixed(2)}×` : '';
    lines.push(`| ${row.name} | ${row.wall.toFixed(2)} | ${mb(row.wall)} | ${mb(row.cpu)} | ${row.bytes} | ${rel} | ${time} |`);
  }
  if (r.scaling?.length) {
    lines.push(
      '',
      `#### Two threads against what two cores give (wall s, medians; the pinned runs are one thread on one core)`,
      '',
      `| format | 1t | 2t | 2t/1t | two 1t at once | throughput 2 vs 1 | ${r.cores.map((c) => `1t on cpu${c}`).join(' | ')} | bound from the pinned runs |`,
      `|---|---|---|---|---|---|${r.cores.map(() => '---|').join('')}---|`,
    );
    const f = (x) => (x == null ? '–' : x.toFixed(2));
    for (const s of r.scaling) {
      lines.push(`| ${s.format} | ${f(s.oneWall)} | ${f(s.twoWall)} | ${f(s.speedup)}× | ${f(s.pairWall)} | ${s.pairSpeedup ? `${f(s.pairSpeedup)}×` : '–'} | ${s.pinned.map(f).join(' | ')} | ${s.bound ? `${f(s.bound)}×` : '–'} |`);
    }
    const natives = r.scaling.filter((s) => s.nativePair);
    if (natives.length) {
      lines.push('', 'The native single-threaded encoders, alone and two copies at once (wall s, medians):', '', '| format | native | alone | two at once | throughput 2 vs 1 |', '|---|---|---|---|---|');
      for (const s of natives) lines.push(`| ${s.format} | ${s.nativePair.name} | ${f(s.nativePair.aloneWall)} | ${f(s.nativePair.pairWall)} | ${f(s.nativePair.pairSpeedup)}× |`);
    }
  }
  if (r.single) {
    const core = (c) => (c === null ? 'unpinned' : `cpu${c}`);
    lines.push('', '#### Single-thread encoders against the native tools (16 MiB in 1 MiB chunks; CPU s, medians)', '', '| encoder | core | dmgkit s | native s | time | size vs native |', '|---|---|---|---|---|---|');
    for (const x of r.single.tools) lines.push(`| ${x.codec} | ${core(x.cpu)} | ${x.oursCpu} | ${x.nativeCpu} | ${x.timeRatio}× | ${((x.sizeRatio - 1) * 100).toFixed(2)} % |`);
    for (const x of r.single.lzfse) lines.push(`| LZFSE (32 MiB) vs zlib-6 | ${core(x.cpu)} | ${x.oursMBps} MB/s | ${x.zlib6MBps} MB/s | | ${x.vsZlib6} |`);
  }
  if (r.rss) lines.push('', `Converting the ${(r.rss.imageBytes / MiB).toFixed(0)} MiB large UDZO image to UDZO: peak RSS ${r.rss.peakRssMiB} MiB on 2 threads, ${r.rss.peakRssMiB1} MiB on 1.`);
  return lines.join('\n') + '\n';
}
