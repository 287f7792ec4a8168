// The bzip2 decoder alone, per kind of data: dmgkit's decoder in-process (on-CPU time of the main thread) against
// `bzip2 -dc` and `7zz e -so -mmt1` (user+system time of the child) on the same 1 MiB-chunk streams, each chunk
// compressed by `bzip2 -9` as hdiutil writes UDBZ. Prints MB/s of output (MB = 1e6 bytes) and the ratios.
//
// Usage: nice -n 15 node bench/codec-bzip2.mjs [--mib 8] [--reps 5] [--kinds text,binary,...] [--no-tools]
//        [--decoder dist/codecs/bzip2.js] [--vs other/bzip2.js] [--once KIND] [--image IMG.dmg]
// --image: one more kind, `image`, made of the bzip2 chunks of a UDBZ image as stored (e.g. the bench's end-to-end
// image), checked against `bzip2 -dc` of the same streams.
// --vs: a second build of the decoder (e.g. the previous commit's, built with esbuild), timed in the same process
// rep by rep alternately with the first (a fair A/B on a busy machine); --once: one decode pass of KIND, for
// callgrind (--passes N: N passes; the difference of two pass counts is the steady state). Times are medians (and minima) of per-rep on-CPU time.
// Needs a build (npx tsc -p tsconfig.json). Streams are cached in the bench cache directory (bench/lib/data.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MiB, fillRecords, mixedData, prng, readBinaries } from '../dist/cli/commands/bench.js';
import { cacheDir, readText, repoRoot, sha } from './lib/data.mjs';
import { median, timeInProcess, timeTool } from './lib/measure.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const MIB = Number(opt('mib', '8'));
const REPS = Number(opt('reps', '5'));
const KINDS = opt('kinds', 'text,binary,records,zeros,random,mix').split(',');
const TOOLS = !argv.includes('--no-tools');
const ONCE = opt('once', null);
const decoderPath = resolve(opt('decoder', join(repoRoot, 'dist', 'codecs', 'bzip2.js')));
const { decodeBzip2 } = await import(pathToFileURL(decoderPath).href);
const vsPath = opt('vs', null) && resolve(opt('vs', null));
const decodeVs = vsPath ? (await import(pathToFileURL(vsPath).href)).decodeBzip2 : null;
const IMAGE = opt('image', null);
if (IMAGE && !KINDS.includes('image')) KINDS.push('image');

/** `size` bytes of one kind of data (the generators of the bench mix, one kind at a time). */
function kindData(kind, size) {
  switch (kind) {
    case 'text':
      return cycle(readText(24 * MiB), size);
    case 'binary':
      return cycle(readBinaries(48 * MiB), size);
    case 'zeros':
      return new Uint8Array(size);
    case 'random': {
      const rnd = prng(0x5eed);
      const out = new Uint8Array(size);
      for (let i = 0; i < size; i += 4) {
        const v = (rnd() * 4294967296) >>> 0;
        out[i] = v;
        out[i + 1] = v >>> 8;
        out[i + 2] = v >>> 16;
        out[i + 3] = v >>> 24;
      }
      return out;
    }
    case 'records': {
      const rnd = prng(0x7ec0);
      const out = new Uint8Array(size);
      const counter = { n: 0 };
      for (let o = 0; o < size; o += 64 * 1024) fillRecords(out, o, Math.min(size, o + 64 * 1024), rnd, counter);
      return out;
    }
    case 'mix':
      return mixedData(size, { text: readText(24 * MiB), binary: readBinaries(48 * MiB) }).data;
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

function cycle(src, size) {
  const out = new Uint8Array(size);
  for (let o = 0; o < size; o += src.length) out.set(src.subarray(0, Math.min(src.length, size - o)), o);
  return out;
}

/** The kind's 1 MiB chunks, each `bzip2 -9`, cached; returns { data, chunks[], encoded[], cat (file) }. */
function streams(kind) {
  const data = kindData(kind, MIB * MiB);
  const base = join(cacheDir, `bz-${kind}-${sha(data)}`);
  const chunks = [];
  for (let o = 0; o < data.length; o += MiB) chunks.push(data.subarray(o, Math.min(data.length, o + MiB)));
  let encoded;
  if (existsSync(base + '.json') && existsSync(base + '.cat')) {
    const lengths = JSON.parse(readFileSync(base + '.json', 'utf8'));
    const buf = new Uint8Array(readFileSync(base + '.cat'));
    encoded = [];
    let o = 0;
    for (const n of lengths) encoded.push(buf.subarray(o, (o += n)));
  } else {
    encoded = chunks.map((c) => {
      const r = spawnSync('bzip2', ['-9', '-c'], { input: c, maxBuffer: 4 * MiB });
      if (r.status !== 0) throw new Error(`bzip2 -9 failed: ${r.stderr}`);
      return new Uint8Array(r.stdout);
    });
    writeFileSync(base + '.cat', Buffer.concat(encoded));
    writeFileSync(base + '.json', JSON.stringify(encoded.map((e) => e.length)));
  }
  return { data, chunks, encoded, cat: base + '.cat' };
}

/** The bzip2 chunks of a UDBZ image, as stored; the decoded bytes come from `bzip2 -dc` of each. */
async function imageStreams(path) {
  const { openUdif, BufferSource, CHUNK_BZIP2 } = await import('../dist/node.js');
  const buf = new Uint8Array(readFileSync(path));
  const img = await openUdif(new BufferSource(buf));
  const encoded = img.chunks.filter((c) => c.type === CHUNK_BZIP2).map((c) => buf.subarray(c.inOffset, c.inOffset + c.inLength));
  const chunks = encoded.map((e) => {
    const r = spawnSync('bzip2', ['-dc'], { input: e, maxBuffer: 4 * MiB });
    if (r.status !== 0) throw new Error(`bzip2 -dc failed on a chunk of ${path}: ${r.stderr}`);
    return new Uint8Array(r.stdout);
  });
  const data = Buffer.concat(chunks);
  const cat = join(cacheDir, `bz-image-${sha(data)}.cat`);
  if (!existsSync(cat)) writeFileSync(cat, Buffer.concat(encoded));
  return { data, chunks, encoded, cat };
}
const imageData = IMAGE ? await imageStreams(IMAGE) : null;

function decodeAll(s, out, decode = decodeBzip2) {
  for (let i = 0; i < s.encoded.length; i++) decode(s.encoded[i], out.subarray(0, s.chunks[i].length));
}

const out = new Uint8Array(MiB);
if (ONCE) {
  const s = ONCE === 'image' ? imageData : streams(ONCE);
  for (let p = Number(opt('passes', '1')); p > 0; p--) decodeAll(s, out);
  process.exit(0);
}

const mbs = (bytes, sec) => (sec ? bytes / 1e6 / sec : NaN);
const rows = [];
for (const kind of KINDS) {
  const s = kind === 'image' ? imageData : streams(kind);
  const bytes = s.data.length;
  const encBytes = s.encoded.reduce((a, e) => a + e.length, 0);
  // Check once, warm up, then alternate ours and the tools rep by rep (load on the machine drifts).
  for (const decode of decodeVs ? [decodeBzip2, decodeVs] : [decodeBzip2]) {
    for (let i = 0; i < s.encoded.length; i++) {
      const o = out.subarray(0, s.chunks[i].length);
      decode(s.encoded[i], o);
      if (Buffer.compare(o, s.chunks[i]) !== 0) throw new Error(`${kind}: chunk ${i} decodes to different bytes`);
    }
    for (let w = 0; w < 2; w++) decodeAll(s, out, decode);
  }
  const t = { ours: [], vs: [], bzip2: [], '7zz': [] };
  for (let r = 0; r < REPS; r++) {
    // A/B order alternates rep by rep (the first after a tool runs on colder caches).
    const pair = [
      async () => t.ours.push((await timeInProcess(() => decodeAll(s, out), { thread: true })).cpu),
      async () => decodeVs && t.vs.push((await timeInProcess(() => decodeAll(s, out, decodeVs), { thread: true })).cpu),
    ];
    if (r & 1) pair.reverse();
    for (const f of pair) await f();
    if (TOOLS) {
      t.bzip2.push(timeTool('bzip2', ['-dc', s.cat]).cpu);
      t['7zz'].push(timeTool('7zz', ['e', '-so', '-tbzip2', '-mmt1', s.cat]).cpu);
    }
  }
  const min = (xs) => Math.min(...xs);
  const row = { kind, ratio: encBytes / bytes, ours: mbs(bytes, median(t.ours)), oursBest: mbs(bytes, min(t.ours)) };
  if (decodeVs) Object.assign(row, { vs: mbs(bytes, median(t.vs)), vsBest: mbs(bytes, min(t.vs)) });
  if (TOOLS) {
    row.bzip2 = mbs(bytes, median(t.bzip2));
    row['7zz'] = mbs(bytes, median(t['7zz']));
    row.bzip2Best = mbs(bytes, min(t.bzip2));
    row['7zzBest'] = mbs(bytes, min(t['7zz']));
  }
  rows.push(row);
  const f = (x) => (x === undefined ? '' : x.toFixed(1).padStart(7));
  console.log(
    `${kind.padEnd(8)} ${(row.ratio * 100).toFixed(1).padStart(5)}%  ours ${f(row.ours)} (best ${f(row.oursBest)}) MB/s` +
      (decodeVs ? `  vs ${f(row.vs)} (best ${f(row.vsBest)})  ours/vs ${(row.ours / row.vs).toFixed(2)} (best ${(row.oursBest / row.vsBest).toFixed(2)})` : '') +
      (TOOLS
        ? `  bzip2 -d ${f(row.bzip2)} (${f(row.bzip2Best)})  7zz -mmt1 ${f(row['7zz'])} (${f(row['7zzBest'])})` +
          `  ours/bzip2 ${(row.ours / row.bzip2).toFixed(2)} (${(row.oursBest / row.bzip2Best).toFixed(2)})` +
          `  ours/7zz ${(row.ours / row['7zz']).toFixed(2)} (${(row.oursBest / row['7zzBest']).toFixed(2)})`
        : ''),
  );
}
console.log(
  `(${MIB} MiB per kind in 1 MiB bzip2 -9 streams${IMAGE ? `, image: the chunks of ${IMAGE}` : ''}; MB/s of output from the median (best) of ${REPS} reps of on-CPU time; ` +
    `decoder ${decoderPath}${vsPath ? `, vs ${vsPath}` : ''})`,
);
