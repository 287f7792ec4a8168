/**
 * Containment against a concurrent attacker: while `dmgkit extract` runs (as a child process, default options), a
 * racing process keeps swapping DEST/z and DEST/z/sub for symlinks to a directory outside DEST (renaming the real
 * directory aside, inside DEST). The volume is an HFS+ tree made live by xorriso (-hfsplus), z/ holding 800
 * files and z/sub 200 (the unfixed code wrote all of them outside, every run). Nothing may ever appear outside DEST, and dmgkit either finishes (the files land in the
 * renamed directories, still inside DEST) or stops with UNSAFE_PATH (exit 1) — never exit 70.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/fixtures.js';

const xorriso = spawnSync('xorriso', ['-version']).status === 0;
if (!xorriso && process.env.CI) throw new Error('xorriso is missing (CI is set: refusing to skip)');
const base = mkdtempSync(join(tmpdir(), 'dmgkit-race-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** The racer: a tight loop that renames DEST/z (and DEST/z/sub) aside and puts a symlink to OUTSIDE in its place. */
const RACER = `
const fs = require('node:fs');
const [dest, outside] = process.argv.slice(1);
let n = 0;
const swap = (p) => {
  try {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    fs.renameSync(p, p + '.moved' + n++);
    fs.symlinkSync(outside, p);
  } catch {}
};
const stop = Date.now() + 60000;
for (;;) {
  swap(dest + '/z/sub');
  swap(dest + '/z');
  if (Date.now() > stop) break;
}
`;

function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    out.push(join(dir, e.name));
    if (e.isDirectory()) out.push(...allFiles(join(dir, e.name)));
  }
  return out;
}

describe.runIf(xorriso && process.platform === 'linux')('extract against a racing process', () => {
  it('never writes outside DEST while DEST/z and DEST/z/sub are swapped for symlinks', async () => {
    const tree = join(base, 'tree');
    mkdirSync(join(tree, 'z', 'sub'), { recursive: true });
    for (let i = 0; i < 800; i++) writeFileSync(join(tree, 'z', `f${i}`), `file ${i}\n`);
    for (let i = 0; i < 200; i++) writeFileSync(join(tree, 'z', 'sub', `s${i}`), `sub ${i}\n`);
    const iso = join(base, 'race.iso');
    const mk = spawnSync('xorriso', ['-as', 'mkisofs', '-quiet', '-hfsplus', '-o', iso, tree], { encoding: 'utf8' });
    expect(mk.status, mk.stderr).toBe(0);
    const bin = join(repoRoot, 'dist', 'cli', 'main.js');
    const outcomes: number[] = [];
    for (let run = 0; run < 2; run++) {
      const root = join(base, `run${run}`);
      const dest = join(root, 'dest');
      const outside = join(root, 'outside');
      mkdirSync(dest, { recursive: true });
      mkdirSync(outside);
      const racer = spawn(process.execPath, ['-e', RACER, dest, outside], { stdio: 'ignore' });
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, [bin, 'extract', iso, dest], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d) => (err += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
        child.on('error', reject);
        child.on('close', (c) => {
          clearTimeout(timer);
          if (c === 1) expect(err).toMatch(/no longer the directory this extraction created|collides|UNSAFE|skipped/);
          resolve(c ?? -1);
        });
      });
      racer.kill('SIGKILL');
      await new Promise((r) => racer.once('close', r));
      outcomes.push(code);
      expect([0, 1]).toContain(code);
      expect(readdirSync(outside)).toEqual([]);
      expect(readdirSync(root).sort()).toEqual(['dest', 'outside']);
      // every file that was written is inside DEST (in z, or in a z.movedN the racer renamed)
      for (const f of allFiles(dest)) expect(f.startsWith(dest + '/')).toBe(true);
    }
    expect(outcomes.length).toBe(2);
  }, 300_000);
});
