/**
 * Runs the CLI in-process on one input file and classifies the outcome. A crash is: exit code 70 (a
 * non-DmgkitError reached the CLI), an exception escaping `main`, a raw errno error reported by the CLI's fallback
 * ("dmgkit: <syscall> <path> failed: <reason> (<CODE>)"), a call that does not settle within its time bound, resident memory growing
 * past a bound, or extraction writing anything outside its destination.
 *
 * A synchronous infinite loop cannot be raced by a timer (the event loop is blocked), so a watchdog thread watches
 * a heartbeat in shared memory: when one call runs longer than the hard bound it writes the current case to
 * stderr and to FUZZ_HANG_FILE, then kills the process, so the test run fails and names the seed.
 */
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, lstatSync, realpathSync, writeFileSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';
import { tmpdir } from 'node:os';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/context.js';

export interface CaseResult {
  op: string;
  code: number | 'threw' | 'timeout';
  ms: number;
  stderr: string;
  /** Standard output, when asked for (the first 64 KiB). */
  stdout?: string;
  /** Bytes written to standard output (null sink only), and whether the sink's cap cut it short. */
  outBytes?: number;
  capped?: boolean;
  problem?: string;
}

/** A sink that discards output; after `cap` bytes it fails like a closed pipe (EPIPE), which the CLI accepts. */
/**
 * Several layers wrap any non-DmgkitError into a typed error as a last line of defence ("HFS+: unexpected failure",
 * "could not be parsed", "probe failed", a codec TypeError reported as CORRUPT_CHUNK). Those still hide a bug: a
 * message carrying a JavaScript runtime error's text is counted as a crash.
 */
export const MASKED_BUG = new RegExp(
  [
    'unexpected failure', 'could not be parsed', 'probe failed', 'Cannot read propert', 'Cannot set propert', 'is not a function',
    'is not iterable', 'Invalid typed array length', 'Array buffer allocation failed', 'Maximum call stack', 'Invalid array length',
    'is not defined', 'Cannot convert', 'outside the bounds', 'Invalid string length', 'out of range. It must be', 'Cannot mix BigInt',
    'Start offset .* is outside', 'undefined \\(reading',
  ].join('|'),
);

class NullSink extends Writable {
  bytes = 0;
  constructor(private cap: number) {
    super();
    this.on('error', () => {}); // the failure reaches the CLI through the write callback
  }
  override _write(chunk: Buffer, _enc: string, cb: (e?: Error | null) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.cap) {
      const e = new Error('output cap reached') as NodeJS.ErrnoException;
      e.code = 'EPIPE';
      cb(e);
    } else cb();
  }
}
class TextSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    if (this.text.length < 1 << 22) this.text += chunk.toString('utf8');
    cb();
  }
}

const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const beat = new Int32Array(workerData.sab);
let last = -1, since = Date.now();
setInterval(() => {
  const b = Atomics.load(beat, 0);
  if (b !== last || Atomics.load(beat, 1) === 0) { last = b; since = Date.now(); return; }
  if (Date.now() - since > workerData.hardMs) {
    const what = Buffer.from(new Uint8Array(workerData.label)).toString('utf8').replace(/\\0+$/, '');
    const msg = 'FUZZ HANG (synchronous, > ' + workerData.hardMs + ' ms): ' + what + '\\n';
    try { fs.writeSync(2, msg); } catch {}
    try { if (workerData.file) fs.appendFileSync(workerData.file, msg); } catch {}
    process.kill(process.pid, 'SIGKILL');
  }
}, 250);
`;

export class Harness {
  private sab = new SharedArrayBuffer(8);
  private beat = new Int32Array(this.sab);
  private label = new SharedArrayBuffer(2048);
  private worker: Worker;
  readonly root: string;
  baselineRss = 0;
  baselineHeap = 0;

  constructor(
    readonly opts: { timeoutMs: number; hardMs: number; rssBytes: number; outCap: number },
  ) {
    this.worker = new Worker(WATCHDOG, {
      eval: true,
      workerData: { sab: this.sab, label: this.label, hardMs: opts.hardMs, file: process.env.FUZZ_HANG_FILE ?? '' },
    });
    this.worker.unref();
    this.root = mkdtempSync(join(tmpdir(), 'dmgkit-fuzz-'));
  }

  private setLabel(s: string): void {
    const b = new Uint8Array(this.label);
    b.fill(0);
    b.set(Buffer.from(s.slice(0, 1000), 'utf8').subarray(0, b.length));
  }

  /** Runs `dmgkit <args>` in-process with a time bound; classifies the result. */
  async run(op: string, args: string[], label: string, captureOut = false): Promise<CaseResult> {
    this.setLabel(`${label} op=${op}`);
    Atomics.add(this.beat, 0, 1);
    Atomics.store(this.beat, 1, 1);
    const out = captureOut ? new TextSink() : new NullSink(this.opts.outCap);
    const err = new TextSink();
    const io: CliIO = { out, err };
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let res: CaseResult;
    try {
      const code = await Promise.race([
        main([...args, '--threads', '1'], io),
        new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), this.opts.timeoutMs))),
      ]);
      res = {
        op, code, ms: performance.now() - t0, stderr: err.text,
        ...(out instanceof TextSink ? { stdout: out.text } : { outBytes: out.bytes, capped: out.bytes > this.opts.outCap }),
      };
    } catch (e) {
      res = { op, code: 'threw', ms: performance.now() - t0, stderr: String((e as Error)?.stack ?? e), problem: `exception escaped main: ${(e as Error)?.message}` };
    } finally {
      clearTimeout(timer);
      Atomics.store(this.beat, 1, 0);
    }
    if (res.code === 'timeout') res.problem = `did not finish within ${this.opts.timeoutMs} ms`;
    else if (res.code === 70) res.problem = `internal error: ${res.stderr.trim().split('\n')[0]}`;
    else if (MASKED_BUG.test(res.stderr)) res.problem = `a JavaScript runtime error behind a typed error: ${res.stderr.split('\n').find((l) => MASKED_BUG.test(l))}`;
    else if (op === 'extract' && /ENAMETOOLONG|EILSEQ|EINVAL|ELOOP|ENOTDIR/.test(res.stderr)) res.problem = `extraction stopped by a name from the image: ${res.stderr.split('\n')[0]}`;
    else if (/^dmgkit: [a-z]+( .*)? failed: .*\(E[A-Z]+\)$/m.test(res.stderr) && !res.stderr.includes('EPIPE')) res.problem = `raw errno error: ${res.stderr.trim().split('\n')[0]}`;
    const { rss, heapUsed } = process.memoryUsage();
    if (!res.problem && rss - this.baselineRss > this.opts.rssBytes) {
      res.problem = `resident memory grew by ${((rss - this.baselineRss) / 2 ** 20).toFixed(0)} MiB (bound ${(this.opts.rssBytes / 2 ** 20).toFixed(0)} MiB)`;
    } else if (!res.problem && heapUsed - this.baselineHeap > this.opts.rssBytes / 2) {
      res.problem = `the JavaScript heap grew by ${((heapUsed - this.baselineHeap) / 2 ** 20).toFixed(0)} MiB (bound ${(this.opts.rssBytes / 2 ** 21).toFixed(0)} MiB)`;
    }
    return res;
  }

  /** Every operation the brief lists, on one input file. */
  async runAll(file: string, label: string): Promise<CaseResult[]> {
    const results: CaseResult[] = [];
    const info = await this.run('info', ['info', file, '--json'], label, true);
    results.push(info);
    results.push(await this.run('verify', ['verify', file], label));
    const convert = await this.run('convert', ['convert', file, '-o', '-'], label);
    const keepGoing = await this.run('convert-keep-going', ['convert', file, '-o', '-', '--keep-going'], label);
    results.push(convert, keepGoing);
    // The raw disk written must be exactly the size info reports: all of it when convert succeeds, and with
    // --keep-going also when chunks were lost (they are written as zeros).
    let size: number | undefined;
    try {
      if (info.code === 0) size = (JSON.parse(info.stdout ?? '') as { size?: number }).size;
    } catch {
      info.problem ??= 'info --json printed something that is not JSON';
    }
    if (typeof size === 'number') {
      for (const r of [convert, keepGoing]) {
        const complete = r.code === 0 || (r === keepGoing && r.code === 1 && /lost bytes/.test(r.stderr));
        if (!r.problem && complete && !r.capped && r.outBytes !== size) {
          r.problem = `wrote ${r.outBytes} bytes of a ${size}-byte disk (exit ${r.code})`;
        }
      }
    }
    results.push(await this.run('ls', ['ls', file, '-R', '-l'], label));
    results.push(await this.run('tree', ['tree', file], label));
    results.push(await this.extract(file, label));
    // one more, rotating with the case: the range selections of convert, plain info, stat of the root
    const extra: [string, string[]][] = [
      ['convert-partition', ['convert', file, '-o', '-', '--partition', String(label.length % 4)]],
      ['convert-blkx', ['convert', file, '-o', '-', '--keep-going', '--blkx', String(label.length % 3)]],
      ['info-text', ['info', file]],
      ['stat', ['stat', file, '/', '--json']],
    ];
    const [op, args] = extra[hashString(label) % extra.length];
    results.push(await this.run(op, args, label));
    return results;
  }

  /**
   * Extraction into root/case/a/b/dest: afterwards every level above dest must hold nothing but the next level,
   * and nothing under dest may resolve outside it.
   */
  async extract(file: string, label: string): Promise<CaseResult> {
    const caseDir = mkdtempSync(join(this.root, 'x-'));
    const dest = join(caseDir, 'a', 'b', 'dest');
    mkdirSync(join(caseDir, 'a', 'b'), { recursive: true });
    const r = await this.run('extract', ['extract', file, dest], label);
    if (!r.problem && r.code !== 'timeout') {
      const escaped = checkConfined(caseDir, ['a', 'b', 'dest']);
      if (escaped) r.problem = `extraction escaped its destination: ${escaped}`;
    }
    if (r.code !== 'timeout') rmSync(caseDir, { recursive: true, force: true });
    return r;
  }

  close(): void {
    void this.worker.terminate();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Returns a description of the first path outside the expected chain or resolving outside dest, else null. */
export function checkConfined(caseDir: string, chain: string[]): string | null {
  let dir = caseDir;
  for (const want of chain) {
    const names = readdirSync(dir);
    const extra = names.filter((n) => n !== want);
    if (extra.length) return `${join(dir, extra[0])} written next to the destination`;
    dir = join(dir, want);
  }
  let dest: string;
  try {
    dest = realpathSync(dir);
  } catch {
    return null; // not created (the image failed before extraction)
  }
  const stack = [dest];
  let seen = 0;
  while (stack.length && seen < 200_000) {
    const d = stack.pop()!;
    for (const n of readdirSync(d)) {
      seen++;
      const p = join(d, n);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        const real = realpathSync(p);
        const rel = relative(dest, real);
        if (rel.startsWith('..') || isAbsolute(rel)) return `${p} is a directory outside the destination (${real})`;
        stack.push(p);
      } else if (!st.isFile() && !st.isSymbolicLink()) return `${p} is a special file`;
    }
  }
  return null;
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Writes a mutant where the CLI can open it. */
export function writeCase(root: string, bytes: Uint8Array, ext = '.dmg'): string {
  const p = join(root, `case${ext}`);
  writeFileSync(p, bytes);
  return p;
}
