/**
 * Regression tests for issues 9 and 10, each running the built CLI as a child process with a time bound: the
 * output file rules (never the input, never over a file without --force, no partial file after a signal), output
 * faults (a reader gone, a full device), warnings reaching the user, and the command-line manners.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectedDisks, fixture, haveFixtures, repoRoot, synthetic } from '../helpers/fixtures.js';
import { buildSparseImage } from '../container/build.js';
import { describeRun, runCli } from './run.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const SMALL = 'udzo_mbr_fat16__node-udif_compression-zlib.dmg';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmgkit-safety-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const oneLine = (s: string) => s.endsWith('\n') && s.indexOf('\n') === s.length - 1;

describe.runIf(haveFixtures())('output files', () => {
  it('convert onto its own input is refused (same path, symbolic link, hard link, linked folder), even with --force', async () => {
    const sub = join(dir, 'self');
    mkdirSync(sub);
    const input = join(sub, 'in.dmg');
    copyFileSync(fixture(SMALL), input);
    const before = sha(readFileSync(input));
    symlinkSync(input, join(sub, 'sym.dmg'));
    linkSync(input, join(sub, 'hard.dmg'));
    symlinkSync(sub, join(dir, 'self-link'));
    for (const target of [input, join(sub, 'sym.dmg'), join(sub, 'hard.dmg'), join(dir, 'self-link', 'in.dmg')]) {
      for (const force of [[], ['--force']]) {
        const r = await runCli(['convert', input, '-o', target, ...force], { timeoutMs: 60_000 });
        expect(r.hung, describeRun(r)).toBe(false);
        expect(r.code, describeRun(r)).toBe(1);
        expect(oneLine(r.stderr), describeRun(r)).toBe(true);
        expect(r.stderr).toMatch(/^dmgkit: refusing to write .*: it is the input .*in\.dmg$/m);
      }
    }
    expect(sha(readFileSync(input))).toBe(before);
    expect(readdirSync(sub).sort()).toEqual(['hard.dmg', 'in.dmg', 'sym.dmg']);
  });

  it('an existing output is kept without --force and replaced with it', async () => {
    const out = join(dir, 'existing.img');
    writeFileSync(out, 'keep me');
    const r = await runCli(['convert', fixture(SMALL), '-o', out], { timeoutMs: 60_000 });
    expect(r.code, describeRun(r)).toBe(1);
    expect(r.stderr).toBe(`dmgkit: ${out} already exists (--force replaces it)\n`);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    const f = await runCli(['convert', fixture(SMALL), '-o', out, '--force'], { timeoutMs: 60_000 });
    expect(f.code, describeRun(f)).toBe(0);
    expect(sha(readFileSync(out))).toBe(expectedDisks().find((e) => e.file === SMALL)!.disk_sha256);
    expect(readdirSync(dir).filter((n) => n.includes('existing.img') && n !== 'existing.img')).toEqual([]);
  });

  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} mid-conversion: exit ${status}, one line, no file under the final name and no temporary file`, async () => {
      // An 8 GiB raw disk (an MBR, the rest a hole): long enough to be interrupted while writing.
      const sub = join(dir, `signal-${signal}`);
      mkdirSync(sub);
      const input = join(dir, `big-${signal}.img`);
      const fd = openSync(input, 'w');
      const mbr = new Uint8Array(512);
      mbr.set([0x00, 0x00, 0x02, 0x00, 0x83, 0xfe, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x00], 446);
      mbr[510] = 0x55;
      mbr[511] = 0xaa;
      writeSync(fd, mbr);
      ftruncateSync(fd, 8 * 2 ** 30);
      closeSync(fd);
      const out = join(sub, 'disk.img');
      let sent = false;
      const r = await runCli(['convert', input, '-o', out], {
        timeoutMs: 120_000,
        onSpawn: (child) => {
          const poll = setInterval(() => {
            if (readdirSync(sub).some((n) => n.endsWith('.part'))) {
              clearInterval(poll);
              sent = true;
              child.kill(signal);
            }
          }, 5);
          child.on('exit', () => clearInterval(poll));
        },
      });
      rmSync(input, { force: true });
      expect(sent, describeRun(r)).toBe(true);
      expect(r.hung, describeRun(r)).toBe(false);
      expect(r.signal, describeRun(r)).toBeNull();
      expect(r.code, describeRun(r)).toBe(status);
      expect(r.stderr).toBe(`dmgkit: interrupted by ${signal}; removed the partial ${out}\n`);
      expect(readdirSync(sub)).toEqual([]);
    });
  }
});

describe.runIf(haveFixtures())('output faults', () => {
  it('-o - into a pipe closed early: exit 1, one line (not a success)', async () => {
    const big = 'udzo_mbr_fat32__apple-dmg_example.dmg';
    const r = await runCli(['convert', fixture(big), '-o', '-'], {
      timeoutMs: 60_000,
      onSpawn: (child) => child.stdout!.once('data', () => child.stdout!.destroy()),
    });
    expect(r.hung, describeRun(r)).toBe(false);
    expect(r.code, describeRun(r)).toBe(1);
    expect(r.stderr).toBe('dmgkit: cannot write standard output: broken pipe (EPIPE)\n');
  });

  it.runIf(existsSync('/dev/full'))('-o /dev/full: the device named, the reason in words', async () => {
    const r = await runCli(['convert', fixture(SMALL), '-o', '/dev/full'], { timeoutMs: 60_000 });
    expect(r.code, describeRun(r)).toBe(1);
    expect(r.stderr).toBe('dmgkit: cannot write /dev/full: no space left on device (ENOSPC)\n');
  });

  it('a missing output folder is named, and nothing is left behind', async () => {
    const out = join(dir, 'no-such-folder', 'x.img');
    const r = await runCli(['convert', fixture(SMALL), '-o', out], { timeoutMs: 60_000 });
    expect(r.code, describeRun(r)).toBe(1);
    expect(r.stderr).toBe(`dmgkit: cannot create ${out}: no such file or directory (ENOENT)\n`);
  });
});

describe.runIf(haveFixtures())('warnings reach the user', () => {
  it('a sparse image naming a band beyond the disk: warned on stderr and in --json; convert refuses it without --keep-going', async () => {
    const disk = new Uint8Array(readFileSync(synthetic('lzfse-mbr.img')));
    const bands = Math.ceil(disk.length / (64 * 512));
    const img = join(dir, 'warned.sparseimage');
    writeFileSync(img, buildSparseImage(disk, 64, [...Array.from({ length: bands }, (_, i) => i), bands + 5]));
    const warning = /sparse image: slot \d+ of the node at offset 0 \(0x0\) names band \d+, beyond the \d+ bands of the disk; ignored/;
    const info = await runCli(['info', img, '--json'], { timeoutMs: 60_000 });
    expect(info.code, describeRun(info)).toBe(0);
    expect(JSON.parse(info.stdout.toString()).warnings).toEqual([expect.stringMatching(warning)]);
    expect(info.stderr).toMatch(new RegExp(`^dmgkit: warning: ${warning.source}\\n$`));
    const verify = await runCli(['verify', img, '--json'], { timeoutMs: 60_000 });
    expect(JSON.parse(verify.stdout.toString()).warnings).toEqual([expect.stringMatching(warning)]);
    const out = join(dir, 'warned.img');
    const strict = await runCli(['convert', img, '-o', out], { timeoutMs: 60_000 });
    expect(strict.code, describeRun(strict)).toBe(1);
    expect(strict.stderr).toMatch(/is damaged \(1 warning: sparse image: .*\); --keep-going converts what is readable\n$/);
    expect(existsSync(out)).toBe(false);
    const lenient = await runCli(['convert', img, '-o', out, '--keep-going'], { timeoutMs: 60_000 });
    expect(lenient.code, describeRun(lenient)).toBe(1);
    expect(lenient.stderr).toMatch(warning);
    expect(sha(readFileSync(out))).toBe(sha(disk));
  });
});

describe('command-line manners', () => {
  it('--version, help, CMD --help exit 0; unknown options and stray arguments are one line, exit 2', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    const v = await runCli(['--version']);
    expect([v.code, v.stdout.toString()]).toEqual([0, `dmgkit ${pkg.version}\n`]);
    const help = await runCli(['help', 'convert']);
    expect(help.code).toBe(0);
    expect(help.stdout.toString()).toMatch(/^usage: dmgkit convert IMAGE -o OUT\|- \[--force\]/);
    expect(help.stdout.toString()).toMatch(/--force +replace an existing OUT/);
    const h2 = await runCli(['convert', '--help']);
    expect([h2.code, h2.stdout.toString()]).toEqual([0, help.stdout.toString()]);
    const all = await runCli(['--help']);
    expect(all.code).toBe(0);
    for (const cmd of ['info', 'verify', 'convert', 'ls', 'tree', 'stat', 'cat', 'extract', 'bench']) expect(all.stdout.toString()).toMatch(new RegExp(`^  ${cmd} `, 'm'));
    const none = await runCli([]);
    expect(none.code).toBe(2);
    const cases: [string[], string][] = [
      [['info', 'x.dmg', '--frobnicate'], 'dmgkit: unknown option --frobnicate for info (see dmgkit help info)\n'],
      [['ls', 'x.dmg', '-lq'], 'dmgkit: unknown option -q for ls (see dmgkit help ls)\n'],
      [['info', 'a.dmg', 'b.dmg'], "dmgkit: unexpected argument 'b.dmg' for info (usage: dmgkit info IMAGE [--json])\n"],
      [['verify'], 'dmgkit: missing argument for verify (usage: dmgkit verify IMAGE [--json] [--threads N])\n'],
      [['frobnicate'], "dmgkit: unknown command 'frobnicate' (dmgkit --help lists the commands)\n"],
      [['convert', 'x.dmg', '--threads', 'many', '-o', '-'], 'dmgkit: --threads needs a non-negative integer\n'],
      [['help', 'nope'], "dmgkit: no command 'nope' (dmgkit --help lists them)\n"],
    ];
    for (const [args, line] of cases) {
      const r = await runCli(args);
      expect(r.code, describeRun(r)).toBe(2);
      expect(r.stderr, describeRun(r)).toBe(line);
    }
  });
});
