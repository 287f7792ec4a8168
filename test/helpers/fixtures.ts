import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
/** The shared fixtures, read in place (never copied into the repository). Override with DMGKIT_FIXTURES. */
export const fixturesDir = process.env.DMGKIT_FIXTURES ?? resolve(repoRoot, '..', 'shared', 'fixtures');
export const syntheticDir = join(fixturesDir, 'synthetic');

/**
 * True when the shared fixtures are present. When CI is set and they are missing this throws, so the suite
 * fails rather than silently skipping.
 */
export function haveFixtures(): boolean {
  const ok = existsSync(join(fixturesDir, 'MANIFEST.tsv'));
  if (!ok && process.env.CI) {
    throw new Error(`shared fixtures are missing at ${fixturesDir} (CI is set: refusing to skip)`);
  }
  return ok;
}

export function fixture(name: string): string {
  return join(fixturesDir, name);
}
export function synthetic(name: string): string {
  return join(syntheticDir, name);
}

export function listFixtures(filter: (name: string) => boolean = () => true): string[] {
  if (!haveFixtures()) return [];
  return readdirSync(fixturesDir)
    .filter((n) => /\.(dmg|iso|img|hfs)$/.test(n))
    .filter(filter)
    .sort();
}

export interface ExpectedDisk {
  file: string;
  error?: string;
  partitions?: { name: string; bytes: number; sha256: string }[];
  disk_bytes?: number;
  disk_sha256?: string;
}
export interface ExpectedFiles {
  file: string;
  rc: number;
  entries: { path: string; bytes: number; sha256: string }[];
}

function readJsonl<T>(name: string): T[] {
  if (!haveFixtures()) return [];
  return readFileSync(join(fixturesDir, name), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}
export const expectedDisks = (): ExpectedDisk[] => readJsonl<ExpectedDisk>('EXPECTED.disk.jsonl');
export const expectedFiles = (): ExpectedFiles[] => readJsonl<ExpectedFiles>('EXPECTED.files.jsonl');

/** The 7-Zip binary when installed (`7zz`), else null. When CI is set and it is missing this throws. */
export function sevenZip(): string | null {
  for (const bin of ['7zz', '7z']) {
    const r = spawnSync(bin, ['i'], { stdio: 'ignore' });
    if (r.status === 0) return bin;
  }
  if (process.env.CI) throw new Error('7-Zip (7zz) is not installed: .ci/run must install the Debian package 7zip');
  return null;
}

export function run(cmd: string, args: string[], input?: Uint8Array): Buffer {
  return execFileSync(cmd, args, { input, maxBuffer: 1 << 30 });
}
