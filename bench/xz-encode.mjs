// XZ encoder against xz (liblzma) on the bench's mixed data in 1 MiB chunks, one chunk per stream as in a ULMO
// image: total size and CPU time (user + system) per preset, single thread, alternating ours and xz chunk by chunk,
// several rounds, medians. Run after a build: `npm run build && node bench/xz-encode.mjs [MiB] [rounds] [presets]`.
// CPU time rather than wall time because the machine may be shared; ours is measured in-process
// (process.cpuUsage: all of Node's threads, so GC and JIT threads count), xz as a child (/usr/bin/time).
import { spawnSync } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MiB, splitChunks } from '../dist/cli/commands/bench.js';
import { encodeXz } from '../dist/codecs/xz-encode.js';
import { decodeXz } from '../dist/codecs/xz.js';
import { cacheDir, makeData } from './lib/data.mjs';

const sizeMiB = Number(process.argv[2] ?? 16);
const rounds = Number(process.argv[3] ?? 3);
const presets = (process.argv[4] ?? '1,6').split(',').map(Number);

const d = makeData(sizeMiB * MiB);
const chunks = splitChunks(d.data, MiB);
const tmp = join(cacheDir, `xz-encode-${process.pid}.bin`);

function xzChunk(chunk, preset) {
  writeFileSync(tmp, chunk);
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', 'xz', '-T1', `-${preset}`, '-c', '--check=none', tmp], { maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`xz: ${r.stderr}`);
  const [u, s] = r.stderr.toString().trim().split('\n').pop().split(' ').map(Number);
  return { bytes: r.stdout.length, cpu: u + s };
}

function oursChunk(chunk, preset) {
  const c0 = process.cpuUsage();
  const x = encodeXz(chunk, preset);
  const c = process.cpuUsage(c0);
  return { x, bytes: x.length, cpu: (c.user + c.system) / 1e6 };
}

const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];

// Warm up the JIT, and check every chunk once through our decoder and xz -d.
for (const p of presets) {
  for (const chunk of chunks) {
    const { x } = oursChunk(chunk, p);
    const out = new Uint8Array(chunk.length);
    decodeXz(x, out);
    if (Buffer.compare(out, chunk) !== 0) throw new Error(`our decoder disagrees at preset ${p}`);
    const r = spawnSync('xz', ['-d', '-c'], { input: x, maxBuffer: 1 << 26 });
    if (r.status !== 0 || Buffer.compare(r.stdout, chunk) !== 0) throw new Error(`xz -d disagrees at preset ${p}`);
  }
}

const rows = [];
for (const p of presets) {
  const ours = [];
  const theirs = [];
  let oursBytes = 0;
  let xzBytes = 0;
  for (let r = 0; r < rounds; r++) {
    let a = 0;
    let b = 0;
    oursBytes = 0;
    xzBytes = 0;
    for (const chunk of chunks) {
      const o = oursChunk(chunk, p);
      const t = xzChunk(chunk, p);
      a += o.cpu;
      b += t.cpu;
      oursBytes += o.bytes;
      xzBytes += t.bytes;
    }
    ours.push(a);
    theirs.push(b);
  }
  const row = {
    preset: p,
    oursBytes,
    xzBytes,
    sizeRatio: +(oursBytes / xzBytes).toFixed(4),
    oursCpu: +median(ours).toFixed(2),
    xzCpu: +median(theirs).toFixed(2),
    timeRatio: +(median(ours) / median(theirs)).toFixed(2),
    oursRounds: ours.map((x) => +x.toFixed(2)),
    xzRounds: theirs.map((x) => +x.toFixed(2)),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
rmSync(tmp, { force: true });
console.log(`\n${sizeMiB} MiB (${d.hash}), ${chunks.length} chunks, ${rounds} rounds, CPU seconds (median)\n`);
console.log('| preset | dmgkit bytes | xz bytes | size | dmgkit s | xz s | time |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.preset} | ${r.oursBytes} | ${r.xzBytes} | ${((r.sizeRatio - 1) * 100).toFixed(2)} % | ${r.oursCpu} | ${r.xzCpu} | ${r.timeRatio}× |`);
}
