// Timing helpers: wall-clock and CPU time, for in-process work and for spawned tools.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const devNull = openSync('/dev/null', 'w');
const scratch = mkdtempSync(join(tmpdir(), 'dmgkit-bench-time-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

const SCHEDSTAT = '/proc/thread-self/schedstat';
const haveSchedstat = existsSync(SCHEDSTAT);
/** Nanoseconds this thread has run on a CPU (Linux schedstat), or null. */
function threadCpuNs() {
  return haveSchedstat ? Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]) : null;
}

/**
 * Runs fn once; returns { wall, cpu } seconds. cpu: with `thread`, the time the calling thread was on a CPU
 * (schedstat; work on worker threads is not counted, nor the background GC of idle workers), else this
 * process's user+system time over all threads (process.cpuUsage).
 */
export async function timeInProcess(fn, { thread = false } = {}) {
  const c0 = process.cpuUsage();
  const n0 = thread ? threadCpuNs() : null;
  const t0 = performance.now();
  await fn();
  const wall = (performance.now() - t0) / 1000;
  if (thread && n0 !== null) return { wall, cpu: (threadCpuNs() - n0) / 1e9 };
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6 };
}

// bash runs the tool and writes the wall clock around it ($EPOCHREALTIME, µs) and `times` (its children's user and
// system time, ms) to $BENCH_TIME_FILE; bash's own start-up is in neither.
const BASH_TIMER = 's=$EPOCHREALTIME; "$@"; c=$?; e=$EPOCHREALTIME; { echo "$s $e"; times; } > "$BENCH_TIME_FILE"; exit $c';
const BASH = spawnSync('bash', ['-c', 'test -n "$EPOCHREALTIME"'], { stdio: 'ignore' }).status === 0 ? 'bash' : null;
const seconds = (t) => {
  const m = /^(\d+)m([\d.]+)s$/.exec(t);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
};

/**
 * Runs a tool with stdout to /dev/null (stdin from `stdinPath` when given); returns { wall, cpu } seconds,
 * cpu being the child's user+system time. Timed by a bash wrapper around the tool (wall clock and `times` of the
 * child only, in ms, so the wrapper's start-up is not counted), else /usr/bin/time (cpu in hundredths), else
 * wall clock only. Throws on a non-zero exit.
 */
export function timeTool(cmd, args, { stdinPath, stdoutPath } = {}) {
  const timeFile = join(scratch, 'time.txt');
  let exe = cmd;
  let argv = args;
  if (BASH) {
    exe = BASH;
    argv = ['-c', BASH_TIMER, 'bench', cmd, ...args];
  } else if (TIME) {
    exe = TIME;
    argv = ['-f', '%U %S', '-o', timeFile, cmd, ...args];
  }
  const stdin = stdinPath ? openSync(stdinPath, 'r') : 'ignore';
  const t0 = performance.now();
  const stdout = stdoutPath ? openSync(stdoutPath, 'w') : devNull;
  const r = spawnSync(exe, argv, { stdio: [stdin, stdout, 'pipe'], maxBuffer: 1 << 24, env: { ...process.env, BENCH_TIME_FILE: timeFile } });
  let wall = (performance.now() - t0) / 1000;
  if (stdout !== devNull) closeSync(stdout);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}: ${r.stderr?.toString().trim().slice(-400)}`);
  let cpu = null;
  if (BASH) {
    const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
    const [s0, s1] = lines[0].split(' ').map(Number);
    const [u, sy] = (lines[2] ?? '').trim().split(/\s+/).map(seconds);
    wall = s1 - s0;
    cpu = Number.isFinite(u) && Number.isFinite(sy) ? u + sy : null;
  } else if (TIME) {
    const [u, s] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
    if (Number.isFinite(u) && Number.isFinite(s)) cpu = u + s;
  }
  return { wall, cpu };
}

/** On-CPU and run-queue nanoseconds of every thread of this process (Linux schedstat), or null. */
export function taskTimes() {
  if (!haveSchedstat) return null;
  const out = new Map();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const [run, wait] = readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ').map(Number);
      out.set(t, { run, wait });
    } catch {
      // thread ended
    }
  }
  return out;
}

/** Per-thread deltas between two taskTimes() snapshots: the busiest thread's on-CPU time, total run and wait. */
export function taskDelta(a, b) {
  if (!a || !b) return null;
  let maxRun = 0;
  let run = 0;
  let wait = 0;
  for (const [t, x] of b) {
    const y = a.get(t) ?? { run: 0, wait: 0 };
    const r = (x.run - y.run) / 1e9;
    maxRun = Math.max(maxRun, r);
    run += r;
    wait += (x.wait - y.wait) / 1e9;
  }
  return { maxRun, run, wait };
}

/**
 * The cores to pin single-threaded comparisons to, one run per core: all of them on Linux with taskset and 2-4
 * cores, else none (run unpinned). A VM's cores can differ: on the reference machine (2 vCPUs) one ran
 * memory-bound code 1.5-2x slower than the other, and the scheduler moves a process between them, so an unpinned
 * comparison of two programs measures where each ran as much as the programs.
 */
export function pinnableCores() {
  const n = availableParallelism();
  if (process.platform !== 'linux' || n < 2 || n > 4) return [];
  if (spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status !== 0) return [];
  return Array.from({ length: n }, (_, i) => i);
}

/** The one core this process may run on (pinned by rerunPinned or by the caller's taskset), or null. */
export const pinnedCore = (() => {
  try {
    const m = /^Cpus_allowed_list:\s*(\d+)\s*$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
})();

/**
 * Runs this script again pinned to each core in turn (taskset; the tools it spawns inherit the pinning) and
 * returns true, unless it already is pinned, `--unpinned` is given or no core can be pinned (false: run here).
 */
export function rerunPinned() {
  if (pinnedCore !== null || process.env.DMGKIT_BENCH_CPU !== undefined || process.argv.includes('--unpinned')) return false;
  const cores = pinnableCores();
  if (!cores.length) return false;
  for (const c of cores) {
    const r = spawnSync('taskset', ['-c', String(c), process.execPath, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, DMGKIT_BENCH_CPU: String(c) } });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  return true;
}

/** Positional arguments of a bench script (its flags left out). */
export const positional = () => process.argv.slice(2).filter((a) => !a.startsWith('--'));

/** A word for a POSIX shell command line. */
export const shellQuote = (a) => `'${String(a).replaceAll("'", `'\\''`)}'`;

/**
 * A shell script that starts command lines `a` and `b` at once and ends when both have, failing if either does
 * (a bare `wait` reports success whatever the commands did).
 */
export const bothAtOnce = (a, b) => `${a} & p=$!; ${b} & q=$!; wait $p; s=$?; wait $q || exit; exit $s`;

export function median(xs) {
  const s = xs.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Collects repetitions of named measurements and reduces them to medians. */
export class Samples {
  constructor() {
    this.map = new Map();
  }
  add(key, { wall, cpu }) {
    let s = this.map.get(key);
    if (!s) this.map.set(key, (s = { wall: [], cpu: [] }));
    s.wall.push(wall);
    s.cpu.push(cpu ?? null);
  }
  /** Median { wall, cpu } seconds, or null if never measured. */
  get(key) {
    const s = this.map.get(key);
    if (!s) return null;
    return { wall: median(s.wall), cpu: median(s.cpu), reps: s.wall.length };
  }
}

export function toolVersion(cmd, args, pick = (s) => s.split('\n')[0]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return null;
  return pick(`${r.stdout}\n${r.stderr}`.trim()).trim();
}
