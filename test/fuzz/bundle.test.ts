/**
 * Field-aware fuzzing of sparse bundles (directories, so outside the byte mutator of fuzz.test.ts), through the
 * same in-process CLI harness (info --json, verify, convert with and without --keep-going, ls -R, tree, extract,
 * one rotating call): no exit 70, no hang, bounded memory, confined extraction, and no byte of a file outside the
 * bundle in any output. The bundle holds a synthetic HFS+ volume (fixtures) in 64 KiB bands; one to three
 * mutations per case, chosen by a seeded generator (FUZZ_SEED), FUZZ_ITERATIONS / 10 cases (at least 12):
 * - Info.plist / Info.bckup: band-size and size set to boundary values (0, 1, 511, 4095, 4096, 2^30, 2^30 + 4096,
 *   2^53, −1, 1.5, a string), the bundle type changed, the file removed, truncated, made 2 MiB, replaced by a
 *   symlink to /dev/zero or by a FIFO;
 * - bands: removed, truncated, grown past the band size, replaced by a symlink to /etc/passwd, by a FIFO or by a
 *   directory, an extra band past the disk, bands/ itself a symlink;
 * - token: an 'encrcdsa' header, a FIFO.
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { haveFixtures, synthetic } from '../helpers/fixtures.js';
import { writeSparseBundle } from '../container/build.js';
import { Harness } from './harness.js';

const ITERATIONS = Math.max(12, Math.floor(Number(process.env.FUZZ_ITERATIONS ?? 100) / 10));
const CAMPAIGN = process.env.FUZZ_SEED ?? '1';
const BAND = 65536;

function rng(seed: string): () => number {
  let s = 2166136261;
  for (let i = 0; i < seed.length; i++) s = Math.imul(s ^ seed.charCodeAt(i), 16777619);
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const pick = <T,>(r: () => number, a: readonly T[]): T => a[Math.floor(r() * a.length)];
const NUMBERS = ['0', '1', '511', '4095', '4096', String(2 ** 30), String(2 ** 30 + 4096), String(2 ** 53), '-1', '1.5', '99999999999999999999'];

function plistText(bandSize: string, size: string, type = 'com.apple.diskimage.sparsebundle', tag = 'integer'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>CFBundleInfoDictionaryVersion</key><string>6.0</string>
<key>band-size</key><${tag}>${bandSize}</${tag}>
<key>bundle-backingstore-version</key><integer>1</integer>
<key>diskimage-bundle-type</key><string>${type}</string>
<key>size</key><integer>${size}</integer>
</dict></plist>
`;
}

const mkfifo = (p: string) => spawnSync('mkfifo', [p]).status === 0;
/** Only regular files are read or resized by the mutator (a FIFO an earlier mutation made would block it). */
const isFile = (p: string) => {
  try {
    return lstatSync(p).isFile();
  } catch {
    return false;
  }
};

/** Writes a file afresh (never through a FIFO or symlink an earlier mutation left there). */
const put = (p: string, data: string | Uint8Array) => {
  rmSync(p, { recursive: true, force: true });
  writeFileSync(p, data);
};

/** Applies one mutation to the bundle at dir; returns its name. */
function mutateBundle(dir: string, r: () => number, diskSize: number, bands: number): string {
  const plists = ['Info.plist', 'Info.bckup'];
  const band = (i: number) => join(dir, 'bands', i.toString(16));
  const which = pick(r, plists);
  const replace = (p: string, make: () => void) => {
    rmSync(p, { recursive: true, force: true });
    make();
  };
  switch (Math.floor(r() * 15)) {
    case 0: {
      const v = pick(r, NUMBERS);
      put(join(dir, which), plistText(v, String(diskSize)));
      return `${which}:band-size=${v}`;
    }
    case 1: {
      const v = pick(r, NUMBERS);
      put(join(dir, which), plistText(String(BAND), v));
      return `${which}:size=${v}`;
    }
    case 2:
      put(join(dir, which), plistText('x', String(diskSize), 'com.apple.diskimage.sparsebundle', 'string'));
      return `${which}:band-size-string`;
    case 3:
      put(join(dir, which), plistText(String(BAND), String(diskSize), 'com.example.other'));
      return `${which}:type`;
    case 4:
      rmSync(join(dir, which), { force: true });
      return `${which}:removed`;
    case 5: {
      if (!isFile(join(dir, which))) return `${which}:not truncated`;
      const t = readFileSync(join(dir, which), 'utf8');
      put(join(dir, which), t.slice(0, Math.floor(r() * t.length)));
      return `${which}:truncated`;
    }
    case 6:
      put(join(dir, which), plistText(String(BAND), String(diskSize)) + ' '.repeat(2 << 20));
      return `${which}:2MiB`;
    case 7:
      replace(join(dir, which), () => symlinkSync('/dev/zero', join(dir, which)));
      return `${which}:symlink-dev-zero`;
    case 8:
      replace(join(dir, which), () => mkfifo(join(dir, which)));
      return `${which}:fifo`;
    case 9: {
      const i = Math.floor(r() * bands);
      const how = pick(r, ['removed', 'truncated', 'grown', 'symlink', 'fifo', 'dir'] as const);
      const p = band(i);
      if (how === 'removed') rmSync(p, { recursive: true, force: true });
      else if (how === 'truncated' && isFile(p)) truncateSync(p, Math.floor(r() * BAND));
      else if (how === 'grown' && isFile(p)) truncateSync(p, BAND + Math.floor(r() * 3 * BAND));
      else if (how === 'symlink') replace(p, () => symlinkSync('/etc/passwd', p));
      else if (how === 'fifo') replace(p, () => mkfifo(p));
      else if (how === 'dir') replace(p, () => mkdirSync(p));
      return `band ${i}:${how}`;
    }
    case 10:
      if (lstatSync(join(dir, 'bands')).isSymbolicLink()) return 'no band past the disk';
      put(band(bands + Math.floor(r() * 4)), new Uint8Array(BAND).fill(0x5a));
      return 'band past the disk';
    case 11: {
      const elsewhere = `${dir}-elsewhere`;
      mkdirSync(elsewhere, { recursive: true });
      rmSync(join(dir, 'bands'), { recursive: true, force: true });
      symlinkSync(elsewhere, join(dir, 'bands'));
      return 'bands/ symlink';
    }
    case 12: {
      const t = new Uint8Array(4096);
      t.set(new TextEncoder().encode('encrcdsa'), 0);
      put(join(dir, 'token'), t);
      return 'token:encrcdsa';
    }
    case 13:
      replace(join(dir, 'token'), () => mkfifo(join(dir, 'token')));
      return 'token:fifo';
    default: {
      // a band whose bytes are another band's (damage inside the volume)
      const a = Math.floor(r() * bands);
      const b = Math.floor(r() * bands);
      if (isFile(band(a)) && isFile(band(b))) put(band(b), readFileSync(band(a)));
      return `band ${b}:copy of ${a}`;
    }
  }
}

describe.runIf(haveFixtures())('field-aware fuzzing of sparse bundles', () => {
  it(`survives ${ITERATIONS} mutated bundles through the CLI`, async () => {
    const disk = new Uint8Array(readFileSync(synthetic('lzfse.hfs')));
    const bands = Math.ceil(disk.length / BAND);
    const all = new Map<number, number>();
    for (let i = 0; i < bands; i++) all.set(i, BAND);
    const passwd = readFileSync('/etc/passwd');
    const h = new Harness({ timeoutMs: 60_000, hardMs: 120_000, rssBytes: 1536 * 2 ** 20, outCap: 192 * 2 ** 20 });
    h.baselineRss = process.memoryUsage().rss;
    h.baselineHeap = process.memoryUsage().heapUsed;
    const failures: string[] = [];
    try {
      for (let n = 0; n < ITERATIONS; n++) {
        const r = rng(`${CAMPAIGN}:bundle:${n}`);
        const dir = join(h.root, `case${n}.sparsebundle`);
        writeSparseBundle(dir, disk, BAND, all);
        const recipe: string[] = [];
        const k = 1 + Math.floor(r() * 3);
        for (let i = 0; i < k; i++) recipe.push(mutateBundle(dir, r, disk.length, bands));
        const label = `bundle mutant=${CAMPAIGN}:${n} recipe=${recipe.join(', ')}`;
        const results = await h.runAll(dir, label);
        for (const res of results) {
          if (res.problem) failures.push(`${label} ${res.op}: ${res.problem}`);
          if (res.stdout && passwd.length > 64 && res.stdout.includes(passwd.subarray(0, 64).toString('latin1'))) {
            failures.push(`${label} ${res.op}: /etc/passwd's bytes in the output`);
          }
        }
        rmSync(dir, { recursive: true, force: true });
        rmSync(`${dir}-elsewhere`, { recursive: true, force: true });
        if (results.some((x) => x.code === 'timeout')) break;
      }
    } finally {
      h.close();
    }
    expect(failures).toEqual([]);
  }, 600_000);
});


