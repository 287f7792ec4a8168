// bzip2 and XZ encoders against the native tools (bzip2 1.0, xz/liblzma) on the bench's mixed data in 1 MiB chunks,
// one stream per chunk as in a UDBZ / ULMO image: total size and CPU time (user + system), single thread.
//
// Method: each round times the native tool on every chunk (one child shell runs `bzip2 -9 -c` / `xz -T1 -N -c
// --check=none` on a file per chunk under /usr/bin/time; its start-up, ~1 ms, counts) and then ours on every chunk,
// in-process (process.cpuUsage around one encodeBzip2 / encodeXz call: all of Node's threads, so GC and JIT count).
// Per-chunk CPU times are summed per round; several rounds; medians. CPU time rather than wall time because the
// machine may be shared.
// Not interleaved chunk by chunk: every fork from this process write-protects its pages (copy on write), and the
// first write to each afterwards faults; with a spawn between our chunks that alone added 50-80 % to our CPU
// time (measured: 1.73 s -> 2.7 s for bzip2 -9 on 16 MiB). So after the native batch one untimed encode re-faults
// the workspace before ours are timed (the writer's workers never fork).
// Every chunk we write is checked once (untimed) through our decoder (xz) and the native decoder.
//
// On Linux with taskset and 2-4 cores the whole comparison runs once pinned to each core (the native tools inherit
// the pinning; `--unpinned` runs it once, where the scheduler puts it): cores can differ (see pinnableCores).
// Run after a build: `npm run build && nice -n 15 node bench/encode-speed.mjs [MiB=16] [rounds=3] [codecs=bz9,xz1,xz6] [--unpinned]`
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MiB, splitChunks } from '../dist/cli/commands/bench.js';
import { encodeXz } from '../dist/codecs/xz-encode.js';
import { decodeXz } from '../dist/codecs/xz.js';
import { encodeBzip2 } from '../dist/codecs/bzip2-encode.js';
import { cacheDir, makeData } from './lib/data.mjs';
import { pinnedCore, positional, rerunPinned } from './lib/measure.mjs';

if (rerunPinned()) process.exit(0);
const [argMiB, argRounds, argCodecs] = positional();
const sizeMiB = Number(argMiB ?? 16);
const rounds = Number(argRounds ?? 3);
const which = (argCodecs ?? 'bz9,xz1,xz6').split(',');

const d = makeData(sizeMiB * MiB);
const chunks = splitChunks(d.data, MiB);
const tmpDir = join(cacheDir, `encode-speed-${process.pid}`);
mkdirSync(tmpDir, { recursive: true });
const files = chunks.map((c, i) => {
  const f = join(tmpDir, `${i}.bin`);
  writeFileSync(f, c);
  return f;
});

const CODECS = {
  bz: {
    tool: 'bzip2',
    args: (level) => [`-${level}`, '-c'],
    encode: (chunk, level) => encodeBzip2(chunk, level),
    check(x, chunk) {
      const r = spawnSync('bzip2', ['-d', '-c'], { input: x, maxBuffer: 1 << 26 });
      if (r.status !== 0 || Buffer.compare(r.stdout, chunk) !== 0) throw new Error('bzip2 -d disagrees');
    },
  },
  xz: {
    tool: 'xz',
    args: (level) => ['-T1', `-${level}`, '-c', '--check=none'],
    encode: (chunk, level) => encodeXz(chunk, level),
    check(x, chunk) {
      const out = new Uint8Array(chunk.length);
      decodeXz(x, out);
      if (Buffer.compare(out, chunk) !== 0) throw new Error('our xz decoder disagrees');
      const r = spawnSync('xz', ['-d', '-c'], { input: x, maxBuffer: 1 << 26 });
      if (r.status !== 0 || Buffer.compare(r.stdout, chunk) !== 0) throw new Error('xz -d disagrees');
    },
  },
};

/** The native tool on every chunk file, timed one by one in a child shell: { bytes, cpu } summed. */
function nativeAll(c, level) {
  const script = 'for f in "$@"; do /usr/bin/time -f "%U %S" "$TOOL" $ARGS "$f" | wc -c; done';
  const r = spawnSync('sh', ['-c', script, 'sh', ...files], { env: { ...process.env, TOOL: c.tool, ARGS: c.args(level).join(' ') }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${c.tool}: ${r.stderr}`);
  const bytes = r.stdout.toString().trim().split('\n').reduce((a, x) => a + Number(x), 0);
  const times = r.stderr.toString().trim().split('\n').filter((l) => /^[0-9.]+ [0-9.]+$/.test(l));
  if (times.length !== files.length) throw new Error(`${c.tool}: ${r.stderr}`);
  return { bytes, cpu: times.reduce((a, l) => a + l.split(' ').map(Number).reduce((p, q) => p + q, 0), 0) };
}

function oursChunk(c, chunk, level) {
  const c0 = process.cpuUsage();
  const x = c.encode(chunk, level);
  const t = process.cpuUsage(c0);
  return { x, bytes: x.length, cpu: (t.user + t.system) / 1e6 };
}

const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];

const rows = [];
for (const w of which) {
  const c = CODECS[w.slice(0, 2)];
  const level = Number(w.slice(2));
  // Warm-up and validity: every chunk through the decoders (untimed).
  for (const chunk of chunks) c.check(oursChunk(c, chunk, level).x, chunk);
  const ours = [];
  const theirs = [];
  let oursBytes = 0;
  let nativeBytes = 0;
  for (let r = 0; r < rounds; r++) {
    const t = nativeAll(c, level);
    theirs.push(t.cpu);
    nativeBytes = t.bytes;
    c.encode(chunks[0], level); // re-fault the pages the fork write-protected (untimed)
    let a = 0;
    oursBytes = 0;
    for (const chunk of chunks) {
      const o = oursChunk(c, chunk, level);
      a += o.cpu;
      oursBytes += o.bytes;
    }
    ours.push(a);
  }
  const row = {
    codec: `${c.tool} -${level}`,
    cpu: pinnedCore,
    oursBytes,
    nativeBytes,
    sizeRatio: +(oursBytes / nativeBytes).toFixed(4),
    oursCpu: +median(ours).toFixed(2),
    nativeCpu: +median(theirs).toFixed(2),
    timeRatio: +(median(ours) / median(theirs)).toFixed(2),
    oursRounds: ours.map((x) => +x.toFixed(2)),
    nativeRounds: theirs.map((x) => +x.toFixed(2)),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
rmSync(tmpDir, { recursive: true, force: true });
console.log(`\n${sizeMiB} MiB (${d.hash}), ${chunks.length} chunks of 1 MiB, ${rounds} rounds, CPU seconds user+sys (median), ${pinnedCore === null ? 'unpinned' : `pinned to cpu${pinnedCore}`}\n`);
console.log('| native | dmgkit bytes | native bytes | size | dmgkit s | native s | time |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.codec} | ${r.oursBytes} | ${r.nativeBytes} | ${((r.sizeRatio - 1) * 100).toFixed(2)} % | ${r.oursCpu} | ${r.nativeCpu} | ${r.timeRatio}× |`);
}
