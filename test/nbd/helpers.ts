import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/fixtures.js';

export const bin = join(repoRoot, 'dist', 'cli', 'main.js');
export const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
export const fileSha = (path: string) => sha(readFileSync(path));

/** True when the NBD client tools are installed; under CI their absence fails instead of skipping. */
export function haveTools(...tools: string[]): boolean {
  const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length && process.env.CI) throw new Error(`missing tools under CI: ${missing.join(', ')} (.ci/run installs qemu-utils, libnbd-bin, qemu-system-x86)`);
  return missing.length === 0;
}

export interface RunningServer {
  proc: ChildProcess;
  port: number;
  url: string;
  stderr(): string;
  /** Sends the signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** Starts `dmgkit serve` on a free loopback port and waits for its "serving ... at nbd://" line. */
export function startServer(args: string[], timeoutMs = 30_000): Promise<RunningServer> {
  const proc = spawn(process.execPath, [bin, 'serve', ...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let err = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => {
    running.delete(proc);
    resolve(code);
  }));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms: ${err}`)), timeoutMs);
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /at (nbd:\/\/127\.0\.0\.1:(\d+))/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve({
          proc,
          port: Number(m[2]),
          url: m[1],
          stderr: () => err,
          stop: async (signal = 'SIGTERM') => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`server exited (${code}) before serving: ${err}`));
    });
  });
}

/** Kills every server a test started (afterEach). */
export async function killServers(): Promise<void> {
  await Promise.all([...running].map((p) => new Promise<void>((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  })));
}

/** Runs a tool with a timeout; throws with its output on a non-zero exit. */
export function tool(cmd: string, args: string[], timeoutMs = 60_000): { stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stdout}${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI to completion (not serve). */
export function cli(args: string[], timeoutMs = 60_000) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: timeoutMs });
}

/** The whole disk of `server` as qemu-img reads it (raw, through NBD). */
export function qemuImgRead(url: string, out: string): Buffer {
  tool('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', url, out]);
  return readFileSync(out);
}

/** `tool` without blocking the event loop (for servers running in the test process). */
export function toolAsync(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 26 }, (e, stdout, stderr) => {
      if (e) reject(new Error(`${cmd} ${args.join(' ')} failed: ${e.message} ${stdout}${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}
