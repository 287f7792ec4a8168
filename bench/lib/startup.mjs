// Start-up (issue 9): whole short commands against `node -e 0` on the same machine in the same run —
// `dmgkit --version` and `dmgkit info fixtures/sample.dmg` (the sample image shipped in the repository).
// Many interleaved repetitions in alternating order, medians of wall clock and of the command's CPU time.
import { join } from 'node:path';
import { Samples } from './measure.mjs';
import { timeTool } from './measure.mjs';

/** Times the start-up contenders; returns { reps, rows: [{ name, wall, cpu, wallRatio, cpuRatio }] }. */
export function runStartup({ cli, repoRoot, reps = 30, log }) {
  const sample = join(repoRoot, 'fixtures', 'sample.dmg');
  const contenders = [
    ['node -e 0', process.execPath, ['-e', '0']],
    ['dmgkit --version', process.execPath, [cli, '--version']],
    ['dmgkit info fixtures/sample.dmg', process.execPath, [cli, 'info', sample]],
  ];
  const samples = new Samples();
  log(`  start-up: ${reps} repetitions `);
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? contenders : [...contenders].reverse();
    for (const [name, cmd, args] of order) samples.add(name, timeTool(cmd, args));
    if (rep % 10 === 9) log('.');
  }
  log('\n');
  const base = samples.get('node -e 0');
  const rows = contenders.map(([name]) => {
    const s = samples.get(name);
    return { name, wall: s.wall, cpu: s.cpu, wallRatio: s.wall / base.wall, cpuRatio: s.cpu / base.cpu };
  });
  return { reps, rows };
}

const TARGET = { 'dmgkit --version': 1.3, 'dmgkit info fixtures/sample.dmg': 1.6 };

/** A text or markdown table of runStartup's result, with the targets. */
export function renderStartup(s, { markdown = false } = {}) {
  const row = (cells) => (markdown ? `| ${cells.join(' | ')} |` : cells.join('  '));
  const lines = [markdown ? `#### Start-up (whole command, medians of ${s.reps} interleaved runs)` : `Start-up (whole command; medians of ${s.reps} interleaved runs):`, ''];
  lines.push(row(['command', 'wall ms', 'CPU ms', 'wall / node -e 0', 'CPU / node -e 0', 'target (wall)']));
  if (markdown) lines.push(row(['---', '---', '---', '---', '---', '---']));
  for (const r of s.rows) {
    const t = TARGET[r.name];
    lines.push(row([r.name, (r.wall * 1000).toFixed(0), r.cpu === null ? '–' : (r.cpu * 1000).toFixed(0), `${r.wallRatio.toFixed(2)}×`, r.cpu === null ? '–' : `${r.cpuRatio.toFixed(2)}×`, t ? `≤ ${t}× ${r.wallRatio <= t ? 'met' : 'NOT met'}` : '']));
  }
  return lines.join('\n') + '\n';
}
