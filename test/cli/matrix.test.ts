/**
 * The CLI as a user runs it: every command × every container (UDIF of each codec, sparse image, sparse bundle,
 * raw disk, hybrid ISO) × `--threads 1` and the default thread count, each a child process with a time bound.
 * (ls, cat, extract, tree, stat and plain info read through random access and run with the default only.)
 * Asserted: the exit status, the bytes written (the raw disk against 7-Zip's decoding of the UDIF images and
 * against the source disk of the others; a file's bytes against the fixtures' ground truth), and that the process
 * ends by itself (issue 9: with the default threads it used to print "wrote the whole disk" and never exit).
 * Then the error paths (missing file, not an image, encrypted image, a plain folder) under both thread settings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectedFiles, fixture, haveFixtures, sevenZip, synthetic } from '../helpers/fixtures.js';
import { sevenZipPartitions } from '../helpers/seven-zip.js';
import { buildSparseImage, writeSparseBundle } from '../container/build.js';
import { type CliResult, describeRun, limited, runCli } from './run.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Container {
  name: string;
  path: string;
  kind: 'udif' | 'sparseimage' | 'sparsebundle' | 'raw';
  /** The raw disk every conversion must produce. */
  disk: () => Buffer;
  /** A file in the HFS+ volume and the SHA-256 of its bytes (a resource fork with rsrc). */
  file: { path: string; sha256: string; rsrc?: boolean };
  /** Extra options for extract (the ISO holds a 255-byte name whose AppleDouble name would be too long). */
  extractArgs?: string[];
}

/** A non-empty data file or resource fork of a fixture, from 7-Zip's ground truth (EXPECTED.files.jsonl). */
function groundTruthFile(name: string): Container['file'] {
  const entries = expectedFiles().find((e) => e.file === name)!.entries;
  const e = entries.find((x) => x.bytes > 0 && !x.path.includes('Private Data') && (!x.path.includes(':') || x.path.endsWith(':rsrc')))!;
  const inVolume = e.path.slice(e.path.indexOf('/') + 1);
  return inVolume.endsWith(':rsrc') ? { path: '/' + inVolume.slice(0, -5), sha256: e.sha256, rsrc: true } : { path: '/' + inVolume, sha256: e.sha256 };
}

/** A file from a synthetic tree's ground truth (*.expected.tsv). */
function tsvFile(tsv: string, path: string): Container['file'] {
  const row = readFileSync(synthetic(tsv), 'utf8').split('\n').map((l) => l.split('\t')).find((c) => c[0] === path)!;
  return { path: '/' + path, sha256: row[6] };
}

const UDIF = [
  'udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg',
  'udbz_gpt_hfsplus__keramics_hfsplus_bzip2.dmg',
  'udco_gpt_hfsplus__keramics_hfsplus_adc.dmg',
  'ulfo_gpt_hfsplus__keramics_hfsplus_lzfse.dmg',
  'ulmo_gpt_hfsplus__keramics_hfsplus_lzma.dmg',
  'udro_nopartmap_hfsplusj__node-udif_raw.dmg',
];

describe.runIf(haveFixtures())('CLI matrix: every command × every container × thread setting, as child processes', () => {
  let dir: string;
  const containers: Container[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dmgkit-matrix-'));
    const bin = sevenZip();
    for (const name of UDIF) {
      let disk: Buffer | undefined;
      containers.push({
        name: name.slice(0, 4).toUpperCase(),
        path: fixture(name),
        kind: 'udif',
        disk: () => (disk ??= Buffer.concat(sevenZipPartitions(bin!, fixture(name)).map((p) => p.data))),
        file: groundTruthFile(name),
      });
    }
    const raw = readFileSync(synthetic('lzfse-mbr.img'));
    const lzfseFile = tsvFile('lzfse.expected.tsv', 'd/small.txt');
    const sparse = join(dir, 'disk.sparseimage');
    const bands = Array.from({ length: Math.ceil(raw.length / (64 * 512)) }, (_, i) => i).reverse();
    writeFileSync(sparse, buildSparseImage(raw, 64, bands));
    containers.push({ name: 'sparse image', path: sparse, kind: 'sparseimage', disk: () => raw, file: lzfseFile });
    const bundle = join(dir, 'disk.sparsebundle');
    const bandSize = 128 * 1024;
    writeSparseBundle(bundle, raw, bandSize, new Map(Array.from({ length: Math.ceil(raw.length / bandSize) }, (_, i) => [i, bandSize] as [number, number])));
    containers.push({ name: 'sparse bundle', path: bundle, kind: 'sparsebundle', disk: () => raw, file: lzfseFile });
    containers.push({ name: 'raw disk', path: synthetic('lzfse-mbr.img'), kind: 'raw', disk: () => raw, file: lzfseFile });
    const iso = synthetic('xorriso-apm512.iso');
    containers.push({ name: 'hybrid ISO', path: iso, kind: 'raw', disk: () => readFileSync(iso), file: tsvFile('small.expected.tsv', 'compress/boundary.bin'), extractArgs: ['--no-forks'] });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const names = ['UDZO', 'UDBZ', 'UDCO', 'ULFO', 'ULMO', 'UDRO', 'sparse image', 'sparse bundle', 'raw disk', 'hybrid ISO'];
  for (const cname of names) {
    it(cname, async () => {
      const c = containers.find((x) => x.name === cname)!;
      expect(c).toBeDefined();
      const want = c.disk();
      const checks: [string[], (r: CliResult, out: string) => void][] = [];
      for (const threads of [['--threads', '1'], []]) {
        const t = threads.length ? '1' : 'default';
        const out = join(dir, `${cname.replace(/ /g, '-')}-${t}.img`);
        const extractTo = join(dir, `${cname.replace(/ /g, '-')}-${t}-x`);
        // with both thread settings: everything that opens, decodes or writes
        checks.push(
          [['info', c.path, '--json', ...threads], (r) => {
            const j = JSON.parse(r.stdout.toString());
            expect([j.container, j.size, j.warnings]).toEqual([c.kind, want.length, []]);
          }],
          [['verify', c.path, ...threads], (r) => expect(r.stdout.toString()).toMatch(c.kind === 'udif' ? /all present checksums match/ : /no checksums to verify; all \d+ bytes of the disk read/)],
          [['convert', c.path, '-o', out, ...threads], (r) => {
            expect(r.stderr).toBe(`wrote the whole disk (${want.length} bytes) to ${out}\n`);
            const got = readFileSync(out);
            expect(got.length).toBe(want.length);
            expect(sha(got)).toBe(sha(want));
          }],
          [['convert', c.path, '-o', '-', ...threads], (r) => {
            expect(r.stdout.length).toBe(want.length);
            expect(sha(r.stdout)).toBe(sha(want));
          }],
        );
        // the rest with the default only (they read through random access: --threads changes nothing for them)
        if (!threads.length) {
          checks.push(
            [['ls', c.path, '-R'], (r) => expect(r.stdout.toString().split('\n')).toContain(c.file.path.slice(1))],
            [['cat', c.path, c.file.path, ...(c.file.rsrc ? ['--rsrc'] : [])], (r) => expect(sha(r.stdout)).toBe(c.file.sha256)],
            [['extract', c.path, extractTo, ...(c.extractArgs ?? [])], (r) => {
              expect(r.stderr).toMatch(/^extracted \d+ files/m);
              expect(existsSync(join(extractTo, ...c.file.path.slice(1).split('/')))).toBe(true);
            }],
            [['info', c.path], (r) => expect(r.stdout.toString()).toMatch(new RegExp(`^Container:\\s+${c.kind}$`, 'm'))],
            [['verify', c.path, '--json'], (r) => {
              const j = JSON.parse(r.stdout.toString());
              expect([j.ok, j.container, j.warnings]).toEqual([true, c.kind, []]);
            }],
            [['tree', c.path], (r) => expect(r.stdout.toString()).toMatch(/\d+ directories, \d+ files\n$/)],
            [['stat', c.path, c.file.path, '--json'], (r) => expect(JSON.parse(r.stdout.toString()).path).toBe(c.file.path)],
          );
        }
      }
      const results = await limited(4, checks.map(([args]) => () => runCli(args, { timeoutMs: 90_000 })));
      results.forEach((r, k) => {
        expect(r.hung, describeRun(r)).toBe(false);
        expect(r.code, describeRun(r)).toBe(0);
        checks[k][1](r, '');
      });
      // no temporary file left beside the outputs
      expect(readdirSync(dir).filter((n) => n.endsWith('.part'))).toEqual([]);
    });
  }

  it('every command exits after an error, with one line, under both thread settings', async () => {
    const encrypted = join(dir, 'encrypted.dmg');
    const enc = new Uint8Array(8192);
    enc.set(new TextEncoder().encode('encrcdsa'), 0);
    enc.set([0, 0, 0, 2, 0, 0, 0, 16], 8);
    writeFileSync(encrypted, enc);
    const plainDir = join(dir, 'plain-folder');
    mkdirSync(plainDir, { recursive: true });
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.dmg'), /^dmgkit: cannot open .*missing\.dmg: no such file or directory \(ENOENT\)$/],
      [fixture('broken_random_not_udif__etcher-sdk_invalid.dmg'), /is not a disk image/],
      [encrypted, /this image is encrypted/],
      [plainDir, /plain-folder is a folder but not a sparse bundle/],
    ];
    const jobs: { args: string[]; msg: RegExp }[] = [];
    for (const [input, msg] of cases) {
      for (const threads of [['--threads', '1'], []]) {
        for (const cmd of [['info'], ['verify'], ['convert', '-o', join(dir, 'never.img')]]) {
          jobs.push({ args: [cmd[0], input, ...cmd.slice(1), ...threads], msg });
        }
      }
    }
    const results = await limited(4, jobs.map((j) => () => runCli(j.args, { timeoutMs: 60_000 })));
    results.forEach((r, k) => {
      expect(r.hung, describeRun(r)).toBe(false);
      expect(r.code, describeRun(r)).toBe(1);
      expect(r.stderr.split('\n'), describeRun(r)).toHaveLength(2); // one line and its newline
      expect(r.stderr.trim(), describeRun(r)).toMatch(jobs[k].msg);
      expect(r.stdout.length).toBe(0);
    });
    expect(existsSync(join(dir, 'never.img'))).toBe(false);
    expect(readdirSync(dir).filter((n) => n.endsWith('.part'))).toEqual([]);
  });
});
