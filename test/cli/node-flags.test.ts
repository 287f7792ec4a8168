/**
 * The CLI started with Node flags that a worker thread refuses (V8's and process-wide ones, e.g.
 * `node --max-old-space-size=… dmgkit …`): the pool starts its workers without them instead of failing with an
 * internal error. ULFO on 2 threads always starts a worker (the calling thread runs cells too).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliBin } from './run.js';
import { repoRoot } from '../helpers/fixtures.js';

describe('Node flags a worker refuses', () => {
  it('convert --format ULFO --threads 2 under node --max-old-space-size --expose-gc writes what --threads 1 writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-flags-'));
    try {
      const input = join(repoRoot, 'fixtures', 'sample.dmg');
      const run = (flags: string[], threads: number, out: string) =>
        spawnSync(process.execPath, [...flags, cliBin, 'convert', input, '-o', join(dir, out), '--format', 'ULFO', '--deterministic', '--threads', String(threads)], { encoding: 'utf8', timeout: 60_000 });
      const two = run(['--max-old-space-size=256', '--expose-gc', '--stack-size=900'], 2, 'two.dmg');
      expect(two.stderr).not.toMatch(/internal error/);
      expect(two.status).toBe(0);
      const one = run([], 1, 'one.dmg');
      expect(one.status).toBe(0);
      expect(Buffer.compare(readFileSync(join(dir, 'two.dmg')), readFileSync(join(dir, 'one.dmg')))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
