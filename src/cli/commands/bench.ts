/**
 * `dmgkit bench [--quick] [--threads N] [--json]`: decode throughput of dmgkit's own chunk decoders, measured
 * in-process on generated mixed data cut into 1 MiB chunks, on this thread and on a worker pool. The comparison
 * with native tools (7-Zip, bzip2, xz) lives in bench/run.mjs, which spawns them.
 *
 * The data generator is exported so bench/run.mjs measures the same mix.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DmgkitError } from '../../errors.js';
import { CODECS, CHUNK_BZIP2, CHUNK_LZMA, codecEntry, loadEncoder } from '../../codecs/table.js';
import '../../udif/all-codecs.js'; // every decoder
import type { DecodeInto } from '../../codecs/types.js';
import type { DecodeExecutor } from '../../udif/decode.js';
import { intFlag, type ParsedArgs } from '../args.js';
import { type CliIO, table, write } from '../context.js';

export const MiB = 1 << 20;
/** Throughput unit: 10^6 bytes of decoded output per second. */
export const MB = 1e6;

// ---------------------------------------------------------------------------------------------------------------
// Deterministic mixed data

/** mulberry32: a small seeded PRNG (deterministic across runs and machines). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface MixSources {
  /** Real text (source code, documentation), read sequentially. Default: generated English-like text. */
  text?: Uint8Array;
  /** Executables, read sequentially. Default: ELF files from /usr/bin, else Node's own executable. */
  binary?: Uint8Array;
}

/** Shares of the mix, by kind (they sum to 1). */
export const MIX = { text: 0.3, binary: 0.3, records: 0.15, zeros: 0.15, random: 0.1 } as const;
export type MixKind = keyof typeof MIX;

const WORDS = (
  'the of and to in is that for it as with was on be by this are from at or an which have not has but were ' +
  'all their can more one its other been also when there into some these than may only new time data file disk ' +
  'image volume block chunk sector partition table header catalog node record extent fork attribute system ' +
  'compression stream decoder offset length version checksum apple format driver kernel user directory path ' +
  'read write open close error value number first last each between after before under during while because'
).split(' ');

/** English-like text: Zipf-distributed words from a fixed vocabulary, sentences, lines and paragraphs. */
export function syntheticText(size: number, seed = 7): Uint8Array {
  const rnd = prng(seed);
  const out = new Uint8Array(size);
  const enc = new TextEncoder();
  const words = WORDS.map((w) => enc.encode(w));
  const cap = WORDS.map((w) => enc.encode(w[0].toUpperCase() + w.slice(1)));
  let pos = 0;
  let line = 0;
  let startSentence = true;
  while (pos < size) {
    const r = rnd();
    const k = Math.min(words.length - 1, Math.floor(words.length * r * r * r));
    const w = startSentence ? cap[k] : words[k];
    startSentence = false;
    for (let i = 0; i < w.length && pos < size; i++) out[pos++] = w[i];
    line += w.length + 1;
    let sep = 0x20;
    const p = rnd();
    if (p < 0.08) {
      if (pos < size) out[pos++] = p < 0.06 ? 0x2e : 0x2c; // . or ,
      startSentence = p < 0.06;
    }
    if (line > 72) {
      sep = 0x0a;
      line = 0;
      if (rnd() < 0.1 && pos < size) out[pos++] = 0x0a;
    }
    if (pos < size) out[pos++] = sep;
  }
  return out;
}

/** Structured records: log lines or fixed-width little-endian binary records, alternating by segment. */
export function fillRecords(out: Uint8Array, start: number, end: number, rnd: () => number, counter: { n: number }): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (rnd() < 0.5) {
    const enc = new TextEncoder();
    const levels = ['INFO ', 'DEBUG', 'WARN ', 'INFO ', 'INFO '];
    const paths = ['/api/v1/items/', '/api/v1/users/', '/static/img/', '/login', '/api/v2/search?q='];
    let pos = start;
    while (pos < end) {
      const n = counter.n++;
      const t = 1_764_000_000_000 + n * 137;
      const lineText =
        `${new Date(t).toISOString()} ${levels[n % 5]} req=${String(n).padStart(7, '0')} user=u${Math.floor(rnd() * 5000)} ` +
        `path=${paths[Math.floor(rnd() * 5)]}${Math.floor(rnd() * 100000)} status=${rnd() < 0.9 ? 200 : 404} ` +
        `bytes=${Math.floor(rnd() * 65536)} ms=${Math.floor(rnd() * rnd() * 900)}\n`;
      const b = enc.encode(lineText);
      const m = Math.min(b.length, end - pos);
      out.set(b.subarray(0, m), pos);
      pos += m;
    }
  } else {
    const REC = 64;
    let pos = start;
    while (pos + REC <= end) {
      const n = counter.n++;
      dv.setUint32(pos, n, true);
      dv.setUint32(pos + 4, 0x52454344, true);
      dv.setBigUint64(pos + 8, BigInt(1_764_000_000 + n * 3), true);
      dv.setFloat64(pos + 16, Math.round(rnd() * 1e6) / 100, true);
      dv.setUint16(pos + 24, Math.floor(rnd() * 8), true);
      dv.setUint16(pos + 26, n % 17, true);
      const name = `item-${(n * 7919) % 100000}`;
      for (let i = 0; i < name.length; i++) out[pos + 28 + i] = name.charCodeAt(i);
      pos += REC;
    }
  }
}

/** ELF executables under /usr/bin in name order (up to `max` bytes), or Node's own executable. */
export function readBinaries(max = 64 * MiB): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    const names = readdirSync('/usr/bin').sort();
    for (const n of names) {
      if (total >= max) break;
      const p = join('/usr/bin', n);
      try {
        const st = statSync(p);
        if (!st.isFile() || st.size < 4096 || st.size > 32 * MiB) continue;
        const b = readFileSync(p);
        if (b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46) continue; // \x7fELF
        parts.push(b);
        total += b.length;
      } catch {
        // unreadable: skip
      }
    }
  } catch {
    // no /usr/bin
  }
  if (total === 0) {
    const b = readFileSync(process.execPath);
    parts.push(b.subarray(0, Math.min(b.length, max)));
    total = parts[0].length;
  }
  const out = new Uint8Array(Math.min(total, max));
  let o = 0;
  for (const p of parts) {
    const m = Math.min(p.length, out.length - o);
    out.set(p.subarray(0, m), o);
    o += m;
    if (o >= out.length) break;
  }
  return out;
}

/**
 * `size` bytes of mixed data: segments of 4–256 KiB (log-uniform) whose kind is drawn with the MIX shares —
 * text, executables, structured records, zeros, random bytes. Same seed and sources, same bytes.
 */
export function mixedData(size: number, sources: MixSources = {}, seed = 0x646d67): { data: Uint8Array; shares: Record<MixKind, number> } {
  const rnd = prng(seed);
  const out = new Uint8Array(size);
  const text = sources.text ?? syntheticText(Math.min(size, 16 * MiB));
  const binary = sources.binary ?? readBinaries(Math.min(size, 64 * MiB));
  const shares: Record<MixKind, number> = { text: 0, binary: 0, records: 0, zeros: 0, random: 0 };
  const kinds = Object.keys(MIX) as MixKind[];
  let textPos = 0;
  let binPos = 0;
  const counter = { n: 0 };
  let pos = 0;
  const copyFrom = (src: Uint8Array, from: number, n: number): number => {
    let o = 0;
    let f = from % src.length;
    while (o < n) {
      const m = Math.min(n - o, src.length - f);
      out.set(src.subarray(f, f + m), pos + o);
      o += m;
      f = (f + m) % src.length;
    }
    return f;
  };
  while (pos < size) {
    let r = rnd();
    let kind: MixKind = kinds[kinds.length - 1];
    for (const k of kinds) {
      if (r < MIX[k]) {
        kind = k;
        break;
      }
      r -= MIX[k];
    }
    const n = Math.min(size - pos, Math.floor(4096 * Math.pow(64, rnd())));
    switch (kind) {
      case 'text':
        textPos = copyFrom(text, textPos, n);
        break;
      case 'binary':
        binPos = copyFrom(binary, binPos, n);
        break;
      case 'records':
        fillRecords(out, pos, pos + n, rnd, counter);
        break;
      case 'zeros':
        break;
      case 'random':
        for (let i = pos; i < pos + n; i += 4) {
          const v = (rnd() * 4294967296) >>> 0;
          out[i] = v;
          if (i + 1 < pos + n) out[i + 1] = v >>> 8;
          if (i + 2 < pos + n) out[i + 2] = v >>> 16;
          if (i + 3 < pos + n) out[i + 3] = v >>> 24;
        }
        break;
    }
    shares[kind] += n;
    pos += n;
  }
  return { data: out, shares };
}

// ---------------------------------------------------------------------------------------------------------------
// Codecs and chunk sets

export interface BenchCodec {
  name: string;
  /** UDIF chunk type. */
  type: number;
  decode: DecodeInto;
  /** Encodes one chunk; null when no encoder is available here (e.g. no `bzip2` tool). */
  encode: ((chunk: Uint8Array) => Uint8Array) | null;
}

function toolEncoder(cmd: string, args: string[]): ((chunk: Uint8Array) => Uint8Array) | null {
  const probe = spawnSync(cmd, ['--version'], { stdio: 'ignore' });
  if (probe.error) return null;
  return (chunk) => {
    const r = spawnSync(cmd, args, { input: chunk, maxBuffer: 4 * chunk.length + MiB });
    if (r.status !== 0) throw new DmgkitError('IO_ERROR', `${cmd} ${args.join(' ')} failed: ${r.stderr?.toString().trim() || r.error?.message}`);
    return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
  };
}

/** Native tools that encode a codec the library cannot encode yet (streams as hdiutil writes them). */
const TOOL_ENCODERS: Record<number, [string, string[]]> = {
  [CHUNK_BZIP2]: ['bzip2', ['-9', '-c']],
  [CHUNK_LZMA]: ['xz', ['-c', '--check=crc64']],
};

/**
 * Every decodable chunk codec of the codec table, in its order (zlib, bzip2, ADC, LZFSE, XZ), with an encoder:
 * the table's at the default level, else a native tool's.
 */
export async function benchCodecs(): Promise<BenchCodec[]> {
  const out: BenchCodec[] = [];
  for (const entry of CODECS) {
    const c = codecEntry(entry.type) ?? entry;
    if (!c.decoder) continue;
    const tool = TOOL_ENCODERS[c.type];
    const enc = await loadEncoder(c);
    const encode = enc
      ? (chunk: Uint8Array) => enc(chunk, c.defaultLevel)
      : tool ? toolEncoder(tool[0], tool[1]) : null;
    out.push({ name: c.title, type: c.type, decode: c.decoder.decode, encode });
  }
  return out;
}

/** Encoded chunks, stored back to back in one buffer (each a view into it). */
export interface ChunkSet {
  chunks: Uint8Array[];
  /** Decoded length of each chunk. */
  sizes: number[];
  encodedBytes: number;
  decodedBytes: number;
}

export function splitChunks(data: Uint8Array, chunkSize = MiB): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < data.length; o += chunkSize) out.push(data.subarray(o, Math.min(data.length, o + chunkSize)));
  return out;
}

export function packChunks(encoded: Uint8Array[], sizes: number[]): ChunkSet {
  const total = encoded.reduce((s, c) => s + c.length, 0);
  const buf = new Uint8Array(total);
  const chunks: Uint8Array[] = [];
  let o = 0;
  for (const c of encoded) {
    buf.set(c, o);
    chunks.push(buf.subarray(o, o + c.length));
    o += c.length;
  }
  return { chunks, sizes, encodedBytes: total, decodedBytes: sizes.reduce((s, n) => s + n, 0) };
}

// ---------------------------------------------------------------------------------------------------------------
// Timing

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Seconds the calling thread has run on a CPU (Linux schedstat), or null where that is not available. */
export function threadCpuSeconds(): number | null {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e9;
  } catch {
    return null;
  }
}

/** Runs `fn` `reps` times; returns the median wall time and the median on-CPU time of this thread, in seconds. */
export async function timeMedian(reps: number, fn: () => unknown): Promise<{ wall: number; cpu: number | null }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = threadCpuSeconds();
    const t0 = performance.now();
    await fn();
    wall.push((performance.now() - t0) / 1000);
    const c1 = threadCpuSeconds();
    if (c0 !== null && c1 !== null) cpu.push(c1 - c0);
  }
  return { wall: median(wall), cpu: cpu.length ? median(cpu) : null };
}

/**
 * Decodes every chunk on this thread into one reused output buffer per size. With `check`, compares each
 * output with the original chunk first (throws CORRUPT_CHUNK on a difference).
 */
export function decodeAll(decode: DecodeInto, set: ChunkSet, originals?: Uint8Array[]): void {
  let out = new Uint8Array(0);
  for (let i = 0; i < set.chunks.length; i++) {
    if (out.length !== set.sizes[i]) out = new Uint8Array(set.sizes[i]);
    decode(set.chunks[i], out);
    if (originals && !equalBytes(out, originals[i])) throw new DmgkitError('CORRUPT_CHUNK', `benchmark: chunk ${i} decoded to different bytes`);
  }
}

/** Decodes every chunk through an executor (a worker pool), keeping `inflight` chunks in flight. */
export async function decodeAllParallel(executor: DecodeExecutor, type: number, set: ChunkSet, inflight: number): Promise<number> {
  let next = 0;
  let bytes = 0;
  const lane = async () => {
    while (next < set.chunks.length) {
      const i = next++;
      const out = await executor.decode(type, set.chunks[i], set.sizes[i]);
      bytes += out.length;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, inflight) }, lane));
  return bytes;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

export function cpuModel(): string {
  return cpus()[0]?.model?.trim() || 'unknown CPU';
}

// ---------------------------------------------------------------------------------------------------------------
// The command

export interface CodecBenchResult {
  codec: string;
  ratio: number;
  singleMBps: number;
  /** Single-thread MB/s by the thread's on-CPU time (less sensitive to other jobs); null when unavailable. */
  singleCpuMBps: number | null;
  parallelMBps: number;
  threads: number;
  speedup: number;
}

export async function benchCommand(args: ParsedArgs, io: CliIO): Promise<number> {
  const quick = args.flags.has('quick');
  const threads = Math.max(1, intFlag(args, 'threads', Math.min(availableParallelism(), 8)) ?? 1);
  const json = args.flags.has('json');
  const size = (quick ? 8 : 32) * MiB;
  const reps = quick ? 1 : 3;
  const { data, shares } = mixedData(size);
  const originals = splitChunks(data);
  const sizes = originals.map((c) => c.length);
  const log = (s: string) => (json ? Promise.resolve() : write(io.err, s));
  await log(`dmgkit bench: ${size / MiB} MiB of mixed data in 1 MiB chunks, ${reps} repetition${reps > 1 ? 's' : ''} (median), ${threads} thread${threads > 1 ? 's' : ''} in parallel\n`);

  const { WorkerPoolExecutor } = await import('../../udif/worker-pool.js');
  const pool = threads > 1 ? new WorkerPoolExecutor(threads) : null;
  const results: CodecBenchResult[] = [];
  const skipped: string[] = [];
  try {
    for (const codec of await benchCodecs()) {
      if (!codec.encode) {
        skipped.push(`${codec.name} (no ${codec.name === 'XZ' ? 'xz' : 'bzip2'} tool to make test data)`);
        continue;
      }
      await log(`  ${codec.name}: encoding…`);
      const set = packChunks(originals.map((c) => codec.encode!(c)), sizes);
      decodeAll(codec.decode, set, originals); // correctness check and warm-up
      for (let w = size; w < 16 * MiB; w += size) decodeAll(codec.decode, set); // warm up on at least 16 MiB
      const single = await timeMedian(reps, () => decodeAll(codec.decode, set));
      let parallel = single.wall;
      if (pool) {
        for (let w = 0; w < 16 * MiB; w += size) await decodeAllParallel(pool, codec.type, set, threads * 2); // warm up the workers
        parallel = (await timeMedian(reps, () => decodeAllParallel(pool, codec.type, set, threads * 2))).wall;
      }
      const r: CodecBenchResult = {
        codec: codec.name,
        ratio: set.encodedBytes / set.decodedBytes,
        singleMBps: set.decodedBytes / MB / single.wall,
        singleCpuMBps: single.cpu ? set.decodedBytes / MB / single.cpu : null,
        parallelMBps: set.decodedBytes / MB / parallel,
        threads,
        speedup: single.wall / parallel,
      };
      results.push(r);
      await log(` ${r.singleMBps.toFixed(1)} MB/s\n`);
    }
  } finally {
    await pool?.close();
  }

  if (json) {
    const report = { size, chunkSize: MiB, reps, threads, mix: shares, cpu: cpuModel(), node: process.version, loadavg: loadavg(), results, skipped };
    await write(io.out, JSON.stringify(report, null, 2) + '\n');
    return 0;
  }
  const rows = results.map((r) => [
    r.codec,
    `${(r.ratio * 100).toFixed(1)}%`,
    r.singleMBps.toFixed(1),
    r.singleCpuMBps === null ? '-' : r.singleCpuMBps.toFixed(1),
    pool ? r.parallelMBps.toFixed(1) : '-',
    pool ? `${r.speedup.toFixed(2)}×` : '-',
  ]);
  let text = table(['codec', 'size', '1 thread MB/s', '(CPU time)', `${threads} threads MB/s`, 'speed-up'], rows) + '\n';
  text += `MB/s = 10^6 bytes of decoded output per second, wall clock (and by the thread's CPU time); ${cpuModel()}, ${availableParallelism()} cores, Node ${process.version}, load ${loadavg()[0].toFixed(2)}\n`;
  for (const s of skipped) text += `skipped: ${s}\n`;
  text += 'Native tools compared in the same run: npm run bench (bench/run.mjs)\n';
  await write(io.out, text);
  return 0;
}
