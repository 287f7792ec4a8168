// One repetition of the in-process measurements of one codec, in a fresh Node process (so that each decoder runs
// with a small heap and its own JIT state, as in a process that converts one image): dmgkit's decoder on the
// main thread and on the worker pool (paired blocks), UDIF end to end on 1 and N threads, and the npm / node
// baselines. Prints one JSON object. Usage: node codec-child.mjs '<job json>' (see bench/run.mjs).
import { openSync, readFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { MiB, benchCodecs, decodeAll, decodeAllParallel, packChunks } from '../../dist/cli/commands/bench.js';
import { openUdif } from '../../dist/udif/open-udif.js';
import { WorkerPoolExecutor } from '../../dist/udif/worker-pool.js';
import { taskDelta, taskTimes, timeInProcess } from './measure.mjs';

const job = JSON.parse(process.argv[2]);
const require = createRequire(import.meta.url);
const devNull = openSync('/dev/null', 'w');
const codec = (await benchCodecs()).find((c) => c.name === job.codec);
const buf = new Uint8Array(readFileSync(job.chunksFile));
const { lengths } = JSON.parse(readFileSync(job.chunksFile + '.json', 'utf8'));
const enc = [];
let o = 0;
for (const n of lengths) {
  enc.push(buf.subarray(o, o + n));
  o += n;
}
const set = packChunks(enc, job.sizes);
const THREADS = job.threads;
const BLOCK = job.block;

// Baselines
let baselines = [];
if (job.codec === 'zlib') {
  const pako = require('pako');
  baselines = [
    ['node:zlib', () => set.chunks.forEach((c) => zlib.inflateSync(c))],
    ['pako', () => set.chunks.forEach((c) => pako.inflate(c))],
  ];
} else if (job.codec === 'bzip2') {
  const Bunzip = require('seek-bzip');
  let out = Buffer.alloc(MiB);
  baselines = [
    [
      'seek-bzip',
      () => {
        for (let i = 0; i < set.chunks.length; i++) {
          if (out.length !== set.sizes[i]) out = Buffer.alloc(set.sizes[i]);
          Bunzip.decode(Buffer.from(set.chunks[i].buffer, set.chunks[i].byteOffset, set.chunks[i].length), out);
        }
      },
    ],
  ];
}

async function endToEnd(threads, executor) {
  const img = await openUdif(job.dmg, threads > 1 ? { threads, executor } : { threads: 1 });
  try {
    for await (const b of img.bytes(0, img.size, { threads })) writeSync(devNull, b);
  } finally {
    await img.close();
  }
}

const result = { samples: {}, speedups: [], projected: [], waits: { run: 0, wait: 0 } };

// Single-thread measurements first, before any worker exists (nothing else in the process uses a CPU): the
// decoder after a warm-up of at least job.warmBytes, end to end, the baselines after one warm-up pass each.
for (let w = 0; w < job.warmBytes; w += set.decodedBytes) decodeAll(codec.decode, set);
result.samples.dmgkit = await timeInProcess(() => decodeAll(codec.decode, set), { thread: true });
await endToEnd(1);
result.samples.e2e = await timeInProcess(() => endToEnd(1));
for (const [name, fn] of baselines) {
  fn();
  result.samples[name] = await timeInProcess(fn, { thread: true });
}

// The pool, warmed by one full pass.
const pool = new WorkerPoolExecutor(THREADS);
/** The pool without close(): UdifImage.close() closes its executor. */
const sharedPool = { decode: (type, input, outLength) => pool.decode(type, input, outLength) };
await decodeAllParallel(pool, codec.type, set, THREADS * 2);

// Speed-up: paired blocks, BLOCK chunks on this thread then the same chunks on the pool, so that both halves of a
// pair see the same load. The pool's throughput is the sum of its blocks.
const par = { wall: 0, cpu: 0 };
for (let b = 0; b < set.chunks.length; b += BLOCK) {
  const part = { chunks: set.chunks.slice(b, b + BLOCK), sizes: set.sizes.slice(b, b + BLOCK) };
  const a = await timeInProcess(() => decodeAll(codec.decode, part), { thread: true });
  const t0 = taskTimes();
  const p = await timeInProcess(() => decodeAllParallel(pool, codec.type, part, THREADS * 2));
  const td = taskDelta(t0, taskTimes());
  if (td) {
    // Without waits for a CPU, the pool run would take as long as its busiest thread ran.
    result.projected.push(a.cpu / td.maxRun);
    result.waits.run += td.run;
    result.waits.wait += td.wait;
  }
  par.wall += p.wall;
  par.cpu += p.cpu;
  result.speedups.push(a.wall / p.wall);
}
result.samples['dmgkit-par'] = par;
result.samples['e2e-par'] = await timeInProcess(() => endToEnd(THREADS, sharedPool));

await pool.close();
process.stdout.write(JSON.stringify(result));
