/**
 * Runs the built CLI (the `bin` of package.json) as a child process with a time bound: exit status, signal,
 * standard output as bytes, standard error, and whether it had to be killed because it did not end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/fixtures.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: { dmgkit: string } };
/** The file `npx dmgkit` runs. */
export const cliBin = join(repoRoot, pkg.bin.dmgkit);

export interface CliResult {
  args: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** True when the process had not ended within the bound and was killed. */
  hung: boolean;
}

export interface RunOptions {
  timeoutMs?: number;
  cwd?: string;
  /** Called once the process is started (to signal it, for example). */
  onSpawn?: (child: ChildProcess) => void;
  /** Standard output goes to this file descriptor's target instead of a pipe ('ignore' discards it). */
  stdout?: 'pipe' | 'ignore';
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...args], { cwd: opts.cwd, stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ args, code, signal, stdout: Buffer.concat(out), stderr: err, hung });
    });
    opts.onSpawn?.(child);
  });
}

/** Runs `jobs` with at most `limit` at a time, results in order. */
export async function limited<T>(limit: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const k = next++;
      results[k] = await jobs[k]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

/** A one-line description of a result for assertion messages. */
export function describeRun(r: CliResult): string {
  return `dmgkit ${r.args.join(' ')} → ${r.hung ? 'HUNG (killed)' : `exit ${r.code}${r.signal ? ` signal ${r.signal}` : ''}`}; stderr: ${r.stderr.trim().slice(0, 400)}`;
}
