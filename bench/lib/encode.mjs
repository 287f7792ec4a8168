// Encoding (writing images) against pigz and gzip: `dmgkit convert RAW -o OUT --format F` on 1 and 2 threads per
// format, `pigz -p 2` and `gzip` at the same level on the same bytes (the bench's mixed data of data.mjs, real text
// included), output sizes beside them, and the peak memory of converting the large UDZO image to UDZO on 1 and 2
// threads. Every contender is a whole command, a child process timed by timeTool (wall and user+system CPU, start-up
// included); repetitions are interleaved; medians are reported.
import { existsSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MiB } from '../../dist/cli/commands/bench.js';
import { CODECS } from '../../dist/codecs/table.js';
import { Samples, timeTool } from './measure.mjs';
import { cacheDir, makeData } from './data.mjs';
import { dmgkitCli, peakRssKiB } from './large.mjs';

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
  const contenders = [];
  const dmg = (format, level, threads, hasLevels) => [
    `dmgkit ${format}${hasLevels ? ` -${level}` : ''} ${threads}t`, { format, level, threads },
    process.execPath, [dmgkitCli, 'convert', raw, '-o', '/dev/null', '--format', format, '--threads', String(threads), '--deterministic', ...(hasLevels ? ['--level', String(level)] : [])],
  ];
  for (const f of formats(quick).filter((x) => !only || only.includes(x.format))) {
    for (const level of f.levels) {
      for (const threads of [1, 2]) contenders.push(dmg(f.format, level, threads, f.hasLevels));
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
  const rows = available.map(([name, meta, cmd, args]) => {
    const s = samples.get(name);
    const outArgs = cmd === process.execPath ? args.map((a) => (a === '/dev/null' ? '-' : a)) : args;
    return { name, ...meta, wall: s.wall, cpu: s.cpu, bytes: sizeOf(cmd, outArgs, out) };
  });
  let rss = null;
  if (largePath) {
    const peak = (threads) => {
      const kib = peakRssKiB(process.execPath, [dmgkitCli, 'convert', largePath, '-o', '/dev/null', '--format', 'UDZO', '--threads', String(threads), '--deterministic']);
      return kib === null ? null : +(kib / 1024).toFixed(1);
    };
    rss = { imageBytes: statSync(largePath).size, peakRssMiB: peak(2), peakRssMiB1: peak(1) };
  }
  return { dataBytes: size, rows, rss };
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
  if (r.rss) lines.push('', `Converting the ${(r.rss.imageBytes / MiB).toFixed(0)} MiB large UDZO image to UDZO: peak RSS ${r.rss.peakRssMiB} MiB on 2 threads, ${r.rss.peakRssMiB1} MiB on 1.`);
  return lines.join('\n') + '\n';
}
