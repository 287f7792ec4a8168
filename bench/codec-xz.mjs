// XZ decoder against `xz -d` and 7-Zip (`7zz e -mmt1`), per kind of data of the bench mix, single thread.
//
//   npm run build && nice -n 15 node bench/codec-xz.mjs [--mib 4] [--rounds 5] [--presets 1,6] [--kinds text,mix]
//                                                       [--ours-only] [--json out.json]
//
// Each kind (text, binary, records, zeros, random as the bench mix draws them, and the mix itself from makeData) is
// cut into 1 MiB chunks and each chunk XZ-compressed separately by `xz -T1 -<preset> --check=crc64` (one stream per
// chunk, as a ULMO image stores them; cached in the bench's temp directory). Every stream is first checked through
// our decoder. Then, alternating in every round: our decoder in-process (CPU time of this thread from
// /proc/thread-self/schedstat, so V8's GC and compiler threads are not billed, over enough repetitions to run
// ≥ 0.3 s), `xz -dc -T1` and `7zz e -so -txz -mmt1` on the concatenated streams repeated to ≥ ~0.3 s (user + sys
// from /usr/bin/time, output to /dev/null). Reported: MB/s (10^6 decoded bytes per CPU second), median over rounds.
// `--ours-only` skips the native tools (quick A/B of decoder variants; compare medians of several runs).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MiB, fillRecords, prng, readBinaries, splitChunks, threadCpuSeconds } from '../dist/cli/commands/bench.js';
import { decodeXz } from '../dist/codecs/xz.js';
import { cacheDir, makeData, readText, sha } from './lib/data.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const sizeMiB = Number(opt('mib', 4));
const rounds = Number(opt('rounds', 5));
const presets = opt('presets', '1,6').split(',').map(Number);
const kindsWanted = opt('kinds', 'text,binary,records,zeros,random,mix').split(',');
const oursOnly = args.includes('--ours-only');
const jsonOut = opt('json', null);
const size = sizeMiB * MiB;
const MIN_SECONDS = 0.3;

function kindData(kind) {
  switch (kind) {
    case 'text':
      return readText(size);
    case 'binary':
      return readBinaries(size);
    case 'records': {
      // Alternating log-line and binary-record segments of 4–256 KiB, as the mix draws them.
      const out = new Uint8Array(size);
      const rnd = prng(0x7265);
      const counter = { n: 0 };
      let pos = 0;
      while (pos < size) {
        const n = Math.min(size - pos, Math.floor(4096 * Math.pow(64, rnd())));
        fillRecords(out, pos, pos + n, rnd, counter);
        pos += n;
      }
      return out;
    }
    case 'zeros':
      return new Uint8Array(size);
    case 'random': {
      const out = new Uint8Array(size);
      const rnd = prng(0x726e64);
      for (let i = 0; i < size; i += 4) {
        const v = (rnd() * 4294967296) >>> 0;
        out[i] = v;
        out[i + 1] = v >>> 8;
        out[i + 2] = v >>> 16;
        out[i + 3] = v >>> 24;
      }
      return out;
    }
    case 'mix':
      return makeData(size).data;
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

function xzEncode(chunk, preset) {
  const r = spawnSync('xz', ['-T1', `-${preset}`, '-c', '--check=crc64'], { input: chunk, maxBuffer: 4 * MiB + chunk.length });
  if (r.status !== 0) throw new Error(`xz -${preset}: ${r.stderr}`);
  return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length);
}

/** The chunks of `data` as XZ streams (cached), and a file of their concatenation. */
function encodeChunks(data, preset) {
  const chunks = splitChunks(data, MiB);
  const file = join(cacheDir, `codec-xz-${sha(data)}-${preset}`);
  let streams;
  if (existsSync(file + '.json')) {
    const lengths = JSON.parse(readFileSync(file + '.json', 'utf8'));
    const buf = new Uint8Array(readFileSync(file));
    streams = [];
    let o = 0;
    for (const n of lengths) {
      streams.push(buf.subarray(o, o + n));
      o += n;
    }
  } else {
    streams = chunks.map((c) => xzEncode(c, preset));
    writeFileSync(file + '.tmp', Buffer.concat(streams));
    renameSync(file + '.tmp', file);
    writeFileSync(file + '.json', JSON.stringify(streams.map((s) => s.length)));
  }
  return { chunks, streams, file };
}

const devNull = openSync('/dev/null', 'w');

/** CPU seconds (user + sys) of one native decode of `file`, output discarded. */
function nativeCpu(cmd, argv) {
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', cmd, ...argv], { stdio: ['ignore', devNull, 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr}`);
  const [u, s] = r.stderr.toString().trim().split('\n').pop().split(' ').map(Number);
  return u + s;
}

/** A file of the concatenated streams repeated `times` times (xz and 7zz both read concatenated streams). */
function repeatedFile(file, times) {
  const out = `${file}.x${times}`;
  if (!existsSync(out)) {
    const one = readFileSync(file);
    writeFileSync(out + '.tmp', Buffer.concat(new Array(times).fill(one)));
    renameSync(out + '.tmp', out);
  }
  return out;
}

const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];

const outputs = [];
function oursRound(set, outs, reps) {
  const t0 = threadCpuSeconds();
  for (let r = 0; r < reps; r++) for (let i = 0; i < set.streams.length; i++) decodeXz(set.streams[i], outs[i]);
  return threadCpuSeconds() - t0;
}

const rows = [];
for (const kind of kindsWanted) {
  const data = kindData(kind);
  for (const preset of presets) {
    const set = encodeChunks(data, preset);
    const outs = set.chunks.map((c) => new Uint8Array(c.length));
    for (let i = 0; i < set.streams.length; i++) {
      decodeXz(set.streams[i], outs[i]);
      if (Buffer.compare(outs[i], set.chunks[i]) !== 0) throw new Error(`${kind} -${preset}: our decoder disagrees on chunk ${i}`);
    }
    outputs.push(outs);
    const bytes = data.length;
    const packed = set.streams.reduce((s, x) => s + x.length, 0);
    // Calibrate: repetitions for ≥ MIN_SECONDS of CPU.
    let oursReps = 1;
    for (;;) {
      const t = oursRound(set, outs, oursReps);
      if (t >= MIN_SECONDS / 3) {
        oursReps = Math.max(1, Math.ceil((oursReps * MIN_SECONDS) / t));
        break;
      }
      oursReps *= 4;
    }
    let files = null;
    if (!oursOnly) {
      const t1 = nativeCpu('xz', ['-dc', '-T1', set.file]);
      const times = Math.max(1, Math.min(256, Math.ceil(MIN_SECONDS / Math.max(t1, 0.005))));
      files = { times, path: repeatedFile(set.file, times) };
      nativeCpu('7zz', ['e', '-so', '-txz', '-mmt1', files.path]); // checks that 7zz reads it
    }
    const ours = [];
    const xz = [];
    const sz = [];
    for (let r = 0; r < rounds; r++) {
      ours.push((bytes * oursReps) / oursRound(set, outs, oursReps) / 1e6);
      if (files) {
        xz.push((bytes * files.times) / nativeCpu('xz', ['-dc', '-T1', files.path]) / 1e6);
        sz.push((bytes * files.times) / nativeCpu('7zz', ['e', '-so', '-txz', '-mmt1', files.path]) / 1e6);
      }
    }
    const row = {
      kind,
      preset,
      ratio: +(packed / bytes).toFixed(4),
      ours: +median(ours).toFixed(1),
      xz: files ? +median(xz).toFixed(1) : null,
      sevenZip: files ? +median(sz).toFixed(1) : null,
      oursRounds: ours.map((x) => +x.toFixed(1)),
      xzRounds: xz.map((x) => +x.toFixed(1)),
      sevenZipRounds: sz.map((x) => +x.toFixed(1)),
    };
    rows.push(row);
    console.error(JSON.stringify(row));
  }
}
closeSync(devNull);

console.log(`\n${sizeMiB} MiB per kind in 1 MiB chunks (one XZ stream each, CRC64), ${rounds} rounds, MB/s of output per CPU second (median)\n`);
console.log('| kind | preset | packed | dmgkit | xz -d | 7zz -mmt1 | dmgkit / xz | dmgkit / 7zz |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const rel = (a, b) => (b ? (a / b).toFixed(2) : '–');
  console.log(`| ${r.kind} | -${r.preset} | ${(r.ratio * 100).toFixed(1)} % | ${r.ours} | ${r.xz ?? '–'} | ${r.sevenZip ?? '–'} | ${rel(r.ours, r.xz)} | ${rel(r.ours, r.sevenZip)} |`);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(rows, null, 1));
