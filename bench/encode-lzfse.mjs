// LZFSE encoder on the bench's mixed data in 1 MiB chunks (one stream per chunk, as in a ULFO image): total size
// against node:zlib level 6 (deflateSync, the UDZO default) and CPU time per MB of input, single thread, several
// rounds, medians. Every chunk is checked once through our decoder. Run after a build:
//   nice -n 15 node bench/encode-lzfse.mjs [MiB=32] [rounds=5] [--unpinned]
// On Linux with taskset and 2-4 cores it runs once pinned to each core (`cpu` in each row; --unpinned: once,
// wherever the scheduler puts it): a VM's cores can differ (see pinnableCores in lib/measure.mjs).
// CPU time (this thread's, from /proc/thread-self/schedstat, else process.cpuUsage) rather than wall time
// because the machine may be shared. Per kind of data (MIX) too, on 4 MiB of each kind alone.
import zlib from 'node:zlib';
import { MiB, readBinaries, splitChunks } from '../dist/cli/commands/bench.js';
import { encodeLzfse } from '../dist/codecs/lzfse-encode.js';
import { decodeLzfse } from '../dist/codecs/lzfse.js';
import { makeData, readText } from './lib/data.mjs';
import { pinnedCore, positional, rerunPinned, timeInProcess } from './lib/measure.mjs';

if (rerunPinned()) process.exit(0);
const [argMiB, argRounds] = positional();
const sizeMiB = Number(argMiB ?? 32);
const rounds = Number(argRounds ?? 5);
const d = makeData(sizeMiB * MiB);
const chunks = splitChunks(d.data, MiB);
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];

let oursBytes = 0;
let zlibBytes = 0;
const out = new Uint8Array(MiB);
for (const c of chunks) {
  const e = encodeLzfse(c);
  oursBytes += e.length;
  zlibBytes += zlib.deflateSync(c, { level: 6 }).length;
  const o = out.subarray(0, c.length);
  decodeLzfse(e, o);
  if (Buffer.compare(o, c) !== 0) throw new Error('our decoder disagrees');
}
const cpu = [];
for (let r = 0; r < rounds; r++) {
  const t = await timeInProcess(() => {
    for (const c of chunks) encodeLzfse(c);
  }, { thread: true });
  cpu.push(t.cpu);
}
const zcpu = [];
for (let r = 0; r < Math.min(rounds, 3); r++) {
  const t = await timeInProcess(() => {
    for (const c of chunks) zlib.deflateSync(c, { level: 6 });
  }, { thread: true });
  zcpu.push(t.cpu);
}
const mb = d.data.length / 1e6;
const row = {
  cpu: pinnedCore,
  MiB: sizeMiB,
  hash: d.hash,
  oursBytes,
  zlib6Bytes: zlibBytes,
  vsZlib6: `${((oursBytes / zlibBytes - 1) * 100).toFixed(2)} %`,
  oursMBps: +(mb / median(cpu)).toFixed(1),
  zlib6MBps: +(mb / median(zcpu)).toFixed(1),
  rounds: cpu.map((x) => +(mb / x).toFixed(1)),
};
console.log(JSON.stringify(row));

// Per kind: 4 MiB of each source alone (records are only in the mix).
const kinds = {
  text: readText(4 * MiB),
  binary: readBinaries(4 * MiB),
  random: (() => {
    const b = new Uint8Array(4 * MiB);
    let s = 0x12345678;
    for (let i = 0; i < b.length; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      b[i] = s;
    }
    return b;
  })(),
  zeros: new Uint8Array(4 * MiB),
};
for (const [kind, data] of Object.entries(kinds)) {
  const cs = splitChunks(data, MiB);
  let ob = 0;
  let zb = 0;
  for (const c of cs) {
    ob += encodeLzfse(c).length;
    zb += zlib.deflateSync(c, { level: 6 }).length;
  }
  const t = [];
  for (let r = 0; r < rounds; r++) t.push((await timeInProcess(() => cs.forEach((c) => encodeLzfse(c)), { thread: true })).cpu);
  console.log(JSON.stringify({ kind, oursBytes: ob, zlib6Bytes: zb, vsZlib6: `${((ob / zb - 1) * 100).toFixed(2)} %`, oursMBps: +(data.length / 1e6 / median(t)).toFixed(1) }));
}
