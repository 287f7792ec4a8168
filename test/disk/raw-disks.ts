/**
 * Test support: the decoded raw disk of each fixture, and 7-Zip's view of a partition map.
 *
 * A .dmg fixture's raw disk is built by extracting its partitions with 7-Zip (`7zz x -tdmg`) into a temp dir and
 * concatenating them in table order (the names start with the index); the result is checked against the
 * whole-disk SHA-256 in EXPECTED.disk.jsonl when listed. .iso/.img fixtures are raw disks already.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { expectedDisks } from '../helpers/fixtures.js';

let workDir: string | null = null;
export function tempDir(): string {
  if (!workDir) workDir = mkdtempSync(join(tmpdir(), 'dmgkit-disk-test-'));
  return workDir;
}
export function cleanupTempDir(): void {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = null;
}

export function rawDiskPath(sevenZip: string, imagePath: string): string {
  if (!imagePath.endsWith('.dmg')) return imagePath;
  const name = basename(imagePath, '.dmg');
  const out = join(tempDir(), `${name}.raw`);
  if (existsSync(out)) return out;
  const x = join(tempDir(), `${name}.parts`);
  // 7-Zip reports "CRC Failed : 3.free" on synthetic/features-apm-zlib.dmg (the free-space blkx checksum) yet
  // writes every partition; the SHA-256 check below covers the images EXPECTED.disk.jsonl lists.
  const r = spawnSync(sevenZip, ['x', '-tdmg', '-y', `-o${x}`, imagePath], { maxBuffer: 1 << 26 });
  if (r.status !== 0 && r.status !== 2) throw new Error(`7zz x failed on ${imagePath}: ${r.stderr.toString()}`);
  const parts = readdirSync(x)
    .filter((n) => /^\d+\./.test(n))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  writeFileSync(out, new Uint8Array(0));
  const hash = createHash('sha256');
  for (const p of parts) {
    const bytes = readFileSync(join(x, p));
    appendFileSync(out, bytes);
    hash.update(bytes);
  }
  rmSync(x, { recursive: true, force: true });
  const exp = expectedDisks().find((d) => d.file === basename(imagePath));
  if (exp?.disk_sha256 && hash.digest('hex') !== exp.disk_sha256) {
    throw new Error(`raw disk of ${imagePath} does not match EXPECTED.disk.jsonl`);
  }
  return out;
}

export interface SevenZipItem {
  path: string;
  size: number;
  offset: number;
  fileSystem?: string;
  id?: string;
}

/** `7zz l -slt -t<type> file` parsed into items; null when 7-Zip cannot open it as that type. */
export function sevenZipList(sevenZip: string, file: string, type: 'APM' | 'GPT' | 'MBR'): SevenZipItem[] | null {
  // 7-Zip exits non-zero on warnings (e.g. "Unexpected end of archive" when the DDM block count is bogus) but
  // still lists what it opened; only a missing listing means it could not open the file.
  const r = spawnSync(sevenZip, ['l', '-slt', `-t${type}`, file], { maxBuffer: 1 << 26 });
  const text = r.stdout.toString('utf8');
  if (/Cannot open the file as/.test(text + r.stderr.toString('utf8'))) return null;
  const body = text.split(/^----------$/m)[1];
  if (body === undefined) return null;
  const items: SevenZipItem[] = [];
  for (const block of body.split(/\n\s*\n/)) {
    const kv = new Map<string, string>();
    for (const line of block.split('\n')) {
      const m = /^([^=]+?) = ?(.*)$/.exec(line.trim());
      if (m) kv.set(m[1], m[2]);
    }
    if (!kv.has('Path')) continue;
    items.push({
      path: kv.get('Path')!,
      size: Number(kv.get('Size')),
      offset: Number(kv.get('Offset')),
      fileSystem: kv.get('File System'),
      id: kv.get('ID'),
    });
  }
  return items;
}
