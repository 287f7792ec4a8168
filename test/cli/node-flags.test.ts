/**
 * The CLI started with Node flags that a worker thread refuses (V8's and process-wide ones, e.g.
 * `node --max-old-space-size=… dmgkit …`): the pool starts its workers without them instead of failing with an
 * internal error. The input is large enough for ULMO on 2 threads to start a worker (3 MiB at preset 6, about a
 * second of work: src/udif/write/encode-pool.ts encodeThreadsFor), and --cpu-prof, which workers take, shows it
 * did: one profile per thread.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliBin } from './run.js';
import { mixedData } from '../codecs/data.js';

describe('Node flags a worker refuses', () => {
  it('convert --format ULMO --threads 2 under node --max-old-space-size --expose-gc writes what --threads 1 writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-flags-'));
    try {
      const input = join(dir, 'disk.img');
      writeFileSync(input, mixedData(3 << 20, 17));
      const run = (flags: string[], threads: number, out: string) =>
        spawnSync(process.execPath, [...flags, cliBin, 'convert', input, '-o', join(dir, out), '--format', 'ULMO', '--deterministic', '--threads', String(threads)], { encoding: 'utf8', timeout: 90_000 });
      const prof = join(dir, 'prof');
      const two = run(['--max-old-space-size=256', '--expose-gc', '--stack-size=900', '--cpu-prof', '--cpu-prof-dir', prof], 2, 'two.dmg');
      expect(two.stderr).not.toMatch(/internal error/);
      expect(two.status).toBe(0);
      expect(readdirSync(prof).filter((f) => f.endsWith('.cpuprofile')).length).toBe(2); // the calling thread and a worker
      const one = run([], 1, 'one.dmg');
      expect(one.status).toBe(0);
      expect(Buffer.compare(readFileSync(join(dir, 'two.dmg')), readFileSync(join(dir, 'one.dmg')))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
