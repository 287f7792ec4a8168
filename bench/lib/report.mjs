// Targets and tables for bench/run.mjs results.

const NATIVE = { bzip2: 'bzip2 -d', XZ: 'xz -d' };
const BASELINES = { zlib: ['node:zlib', 'pako'], bzip2: ['seek-bzip'] };

function m(results, codec, key) {
  return results.codecs.find((c) => c.codec === codec)?.measures[key] ?? null;
}

/** Ratio of two measures by wall-clock and by CPU time. */
function ratio(a, b) {
  if (!a || !b) return { wall: null, cpu: null };
  return {
    wall: a.wallMBps && b.wallMBps ? a.wallMBps / b.wallMBps : null,
    cpu: a.cpuMBps && b.cpuMBps ? a.cpuMBps / b.cpuMBps : null,
  };
}

/**
 * The issue's targets. Single-thread targets are judged on CPU time (user+system of the decoding process: on a
 * machine shared with other jobs it is what the decoder itself costs; wall-clock is shown next to it); the 2-thread
 * speed-up can only be judged on wall-clock time.
 */
export function evaluateTargets(results) {
  const t = [];
  const add = (name, required, v, basis, unit) => {
    const value = basis === 'cpu' && v.cpu !== null ? v.cpu : v.wall;
    t.push({ target: name, required, unit, wall: v.wall, cpu: v.cpu, basis: basis === 'cpu' && v.cpu !== null ? 'cpu' : 'wall', met: value !== null && value >= required });
  };
  add('bzip2 ≥ 1.0× `bzip2 -d`', 1.0, ratio(m(results, 'bzip2', 'dmgkit'), m(results, 'bzip2', 'bzip2 -d')), 'cpu', '×');
  add('bzip2 ≥ 2.5× seek-bzip', 2.5, ratio(m(results, 'bzip2', 'dmgkit'), m(results, 'bzip2', 'seek-bzip')), 'cpu', '×');
  add('XZ ≥ 0.6× `xz -d`', 0.6, ratio(m(results, 'XZ', 'dmgkit'), m(results, 'XZ', 'xz -d')), 'cpu', '×');
  const abs = (codec) => {
    const x = m(results, codec, 'dmgkit');
    return { wall: x?.wallMBps ?? null, cpu: x?.cpuMBps ?? null };
  };
  add('LZFSE ≥ 300 MB/s', 300, abs('LZFSE'), 'cpu', 'MB/s');
  add('ADC ≥ 500 MB/s', 500, abs('ADC'), 'cpu', 'MB/s');
  for (const c of results.codecs) {
    add(`${c.codec}: ${results.method.threads} threads ≥ 1.7× 1 thread`, 1.7, { wall: c.speedup.median, cpu: null }, 'wall', '×');
  }
  return t;
}

const f = (x, d = 1) => (x === null || x === undefined ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(d));
const cell = (x) => (x ? `${f(x.wallMBps)} (${f(x.cpuMBps)})` : '–');
const rcell = (r) => (r.wall === null ? '–' : `${f(r.wall, 2)}× (${f(r.cpu, 2)}×)`);

function decoderRows(results) {
  const th = results.method.threads;
  return results.codecs.map((c) => {
    const one = c.measures.dmgkit;
    const par = c.measures['dmgkit-par'];
    const native = NATIVE[c.codec];
    const bases = BASELINES[c.codec] ?? [];
    return [
      c.codec,
      `${(c.ratio * 100).toFixed(1)}%`,
      cell(one),
      f(par.wallMBps),
      `${f(c.speedup.median, 2)}× (${f(c.speedup.projected, 2)}×; wait ${c.speedup.waitShare === null ? '–' : Math.round(c.speedup.waitShare * 100) + '%'})`,
      native ? `${native} ${cell(c.measures[native])}` : '–',
      native ? rcell(ratio(one, c.measures[native])) : '–',
      bases.length ? bases.map((b) => `${b} ${cell(c.measures[b])}`).join('; ') : '–',
      bases.length ? bases.map((b) => rcell(ratio(one, c.measures[b]))).join('; ') : '–',
    ];
  });
}

function e2eRows(results) {
  return results.codecs.map((c) => {
    const one = c.measures.e2e;
    const par = c.measures['e2e-par'];
    const z = c.measures['7zz'];
    const d = c.measures.dmg2img;
    return [
      c.codec,
      cell(one),
      f(par.wallMBps),
      `${f(par.wallMBps / one.wallMBps, 2)}×`,
      cell(z),
      rcell(ratio(one, z)),
      `${f(par.wallMBps / z.wallMBps, 2)}×`,
      d ? cell(d) : '–',
      d ? `${f(one.wallMBps / d.wallMBps, 2)}× · ${f(par.wallMBps / d.wallMBps, 2)}×` : '–',
    ];
  });
}

function largeRows(results) {
  const l = results.large;
  if (!l) return [];
  const base = l.measures['dmgkit 1 thread'];
  return Object.entries(l.measures).map(([n, m]) => [
    n,
    cell(m),
    n.startsWith('dmgkit') ? '–' : `${f(base.wallMBps / m.wallMBps, 2)}×`,
    m.peakRssMiB === null ? '–' : `${f(m.peakRssMiB, 0)} MiB`,
  ]);
}

function targetRows(results) {
  return results.targets.map((t) => [
    t.target,
    t.unit === '×' ? `${f(t.wall, 3)}×` : `${f(t.wall)} MB/s`,
    t.cpu === null ? '–' : t.unit === '×' ? `${f(t.cpu, 3)}×` : `${f(t.cpu)} MB/s`,
    t.basis === 'cpu' ? 'CPU time' : 'wall clock',
    t.met ? '**met**' : '**missed**',
  ]);
}

function hfsRows(results) {
  const h = results.hfs;
  if (!h) return [];
  const ms = h.measures;
  const per = (n, s) => (s ? n / s : null);
  return [
    ['list (dmgkit open + walk)', `${f(per(h.entries, ms['dmgkit-list'].wallSeconds), 0)} entries/s`, `${f(per(h.entries, ms['dmgkit-list'].cpuSeconds), 0)} entries/s`, `${f(ms['dmgkit-list'].wallSeconds, 2)} s (${ms['dmgkit-list'].reps})`],
    ['list (`7zz l -thfs`)', `${f(per(h.entries, ms['7zz-list'].wallSeconds), 0)} entries/s`, `${f(per(h.entries, ms['7zz-list'].cpuSeconds), 0)} entries/s`, `${f(ms['7zz-list'].wallSeconds, 2)} s (${ms['7zz-list'].reps})`],
    ['extract (dmgkit extractVolume, with AppleDouble `._` files)', `${f(per(h.fileBytes / 1e6, ms['dmgkit-extract'].wallSeconds))} MB/s · ${f(per(h.entries, ms['dmgkit-extract'].wallSeconds), 0)} entries/s`, `${f(per(h.fileBytes / 1e6, ms['dmgkit-extract'].cpuSeconds))} MB/s`, `${f(ms['dmgkit-extract'].wallSeconds, 2)} s (${ms['dmgkit-extract'].reps})`],
    ['extract, files only (dmgkit `forks: false`, what 7-Zip writes)', `${f(per(h.fileBytes / 1e6, ms['dmgkit-extract-noforks'].wallSeconds))} MB/s · ${f(per(h.entries, ms['dmgkit-extract-noforks'].wallSeconds), 0)} entries/s`, `${f(per(h.fileBytes / 1e6, ms['dmgkit-extract-noforks'].cpuSeconds))} MB/s`, `${f(ms['dmgkit-extract-noforks'].wallSeconds, 2)} s (${ms['dmgkit-extract-noforks'].reps})`],
    ['extract (`7zz x -thfs`)', `${f(per(h.fileBytes / 1e6, ms['7zz-extract'].wallSeconds))} MB/s · ${f(per(h.entries, ms['7zz-extract'].wallSeconds), 0)} entries/s`, `${f(per(h.fileBytes / 1e6, ms['7zz-extract'].cpuSeconds))} MB/s`, `${f(ms['7zz-extract'].wallSeconds, 2)} s (${ms['7zz-extract'].reps})`],
  ];
}

function mdTable(header, rows) {
  const line = (r) => `| ${r.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function textTable(header, rows) {
  const cells = [header, ...rows].map((r) => r.map((c) => String(c).replace(/\*\*/g, '').replace(/`/g, '')));
  const w = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n');
}

function headers(results) {
  const th = results.method.threads;
  return {
    dec: ['codec', 'compressed', 'dmgkit 1 thread', `dmgkit ${th} threads`, 'speed-up (projected; run-queue wait)', 'native tool', 'dmgkit ÷ native', 'npm / node baselines', 'dmgkit ÷ baseline'],
    e2e: ['codec', 'dmgkit 1 thread', `dmgkit ${th} threads`, 'speed-up (ratio of medians)', '`7zz x -tdmg -so`', 'dmgkit 1 thread ÷ 7zz', `dmgkit ${th} threads ÷ 7zz`, '`dmg2img -s IMG /dev/null`', `dmgkit 1 · ${th} threads ÷ dmg2img`],
    large: ['converter', 'MB/s of raw disk', 'dmgkit 1 thread ÷ it', 'peak RSS'],
    tgt: ['target', 'measured (wall clock)', 'measured (CPU time)', 'judged on', 'verdict'],
    hfs: ['HFS+ operation', 'wall clock', 'CPU time', 'time (runs)'],
  };
}

export function renderText(r) {
  const h = headers(r);
  const mc = r.machine;
  let s = `\nMB/s of decoded output, medians of ${r.method.reps}; "W (C)" = wall clock (CPU time). ${r.method.dataBytes / 2 ** 20} MiB mixed data, 1 MiB chunks.\n`;
  s += `${mc.cpu}, ${mc.nproc} cores, Node ${mc.node}; load average ${mc.loadavgStart.join(' ')} → ${mc.loadavgEnd.join(' ')}\n\n`;
  s += 'Decoders (chunks in memory):\n' + textTable(h.dec, decoderRows(r)) + '\n\n';
  s += 'End to end (UDIF file → raw disk to /dev/null):\n' + textTable(h.e2e, e2eRows(r)) + '\n\n';
  if (r.hfs) s += `HFS+ (${r.hfs.files} files, ${r.hfs.folders} folders, ${(r.hfs.fileBytes / 1e6).toFixed(1)} MB of file data):\n` + textTable(h.hfs, hfsRows(r)) + '\n\n';
  if (r.large) s += `Large UDZO (${(r.large.diskBytes / 2 ** 30).toFixed(2)} GiB disk, ${(r.large.fileBytes / 2 ** 20).toFixed(0)} MiB file) → raw disk:\n` + textTable(h.large, largeRows(r)) + '\n\n';
  s += 'Targets:\n' + textTable(h.tgt, targetRows(r)) + '\n';
  return s;
}

export function renderMarkdown(r) {
  const h = headers(r);
  const mc = r.machine;
  const lines = [
    `Run: ${r.date}${r.quick ? ' (quick)' : ''}, ${r.totalSeconds} s. ${mc.cpu} (\`nproc\` = ${mc.nproc}${mc.lscpu ? `; ${mc.lscpu}` : ''}), ${mc.memoryGiB} GiB, Node ${mc.node}; load average ${mc.loadavgStart.join(' / ')} at the start, ${mc.loadavgEnd.join(' / ')} at the end.`,
    `Tools: ${Object.entries(mc.tools).map(([k, v]) => `${k} ${v ?? 'missing'}`).join('; ')}.`,
    '',
    `MB/s = 10^6 bytes of decoded output per second; each cell "W (C)": W from wall-clock time, C from CPU time (user+system); medians of ${r.method.reps} interleaved repetitions.`,
    '',
    '#### Decoders (all chunks in memory)',
    '',
    mdTable(h.dec, decoderRows(r)),
    '',
    '#### End to end (UDIF file → raw disk, written to /dev/null)',
    '',
    mdTable(h.e2e, e2eRows(r)),
    '',
  ];
  if (r.large) {
    lines.push(
      `#### Large UDZO image → raw disk (${(r.large.diskBytes / 2 ** 30).toFixed(2)} GiB disk, ${(r.large.fileBytes / 2 ** 20).toFixed(0)} MiB file; whole command, output to /dev/null)`,
      '',
      mdTable(h.large, largeRows(r)),
      '',
    );
  }
  if (r.hfs) {
    lines.push(
      `#### HFS+ (${r.hfs.files} files, ${r.hfs.folders} folders, ${(r.hfs.fileBytes / 1e6).toFixed(1)} MB of file data, ${(r.hfs.imageBytes / 2 ** 20).toFixed(0)} MiB volume)`,
      '',
      mdTable(h.hfs, hfsRows(r)),
      '',
    );
  }
  lines.push('#### Targets', '', mdTable(h.tgt, targetRows(r)), '');
  return lines.join('\n');
}
