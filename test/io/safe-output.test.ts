import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DmgkitError, type ErrorCode } from '../../src/errors.js';
import { openSafeOutput } from '../../src/io/safe-output.js';
import { pendingSignalCleanups } from '../../src/io/cleanup.js';
import { repoRoot } from '../helpers/fixtures.js';

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, what?: RegExp): Promise<DmgkitError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DmgkitError);
    expect((e as DmgkitError).code).toBe(code);
    if (what) expect((e as DmgkitError).message).toMatch(what);
    return e as DmgkitError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmgkit-so-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  expect(pendingSignalCleanups()).toBe(0);
});

const bytes = (s: string) => new TextEncoder().encode(s);

describe('openSafeOutput', () => {
  it('writes to a temporary name beside the target and renames it on commit', async () => {
    const target = join(dir, 'out.img');
    const o = await openSafeOutput(target);
    expect(o.tempPath).toBeDefined();
    expect(o.tempPath!.startsWith(join(dir, '.out.img.dmgkit-'))).toBe(true);
    await o.write(bytes('hello'), 0);
    await o.write(bytes('world'), 10);
    await o.truncate(20);
    expect(existsSync(target)).toBe(false);
    expect(existsSync(o.tempPath!)).toBe(true);
    await o.commit();
    const got = readFileSync(target);
    expect(got.length).toBe(20);
    expect(got.subarray(0, 5).toString()).toBe('hello');
    expect(got.subarray(5, 10)).toEqual(Buffer.alloc(5));
    expect(got.subarray(10, 15).toString()).toBe('world');
    expect(readdirSync(dir)).toEqual(['out.img']);
  });

  it('abort removes the temporary file and leaves no target', async () => {
    const target = join(dir, 'out.img');
    const o = await openSafeOutput(target);
    await o.write(bytes('partial'), 0);
    await o.abort();
    await o.abort(); // twice is harmless
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses an existing target unless forced; forced, replaces it', async () => {
    const target = join(dir, 'out.img');
    writeFileSync(target, 'keep me');
    await rejectsWith(openSafeOutput(target, { forceHint: '--force' }), 'OUTPUT_EXISTS', /out\.img already exists \(--force replaces it\)/);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect(readdirSync(dir)).toEqual(['out.img']);
    const o = await openSafeOutput(target, { force: true });
    await o.write(bytes('new'), 0);
    expect(readFileSync(target, 'utf8')).toBe('keep me'); // untouched until commit
    await o.commit();
    expect(readFileSync(target, 'utf8')).toBe('new');
  });

  it('a dangling symbolic link counts as an existing target', async () => {
    const target = join(dir, 'out.img');
    symlinkSync(join(dir, 'nowhere'), target);
    await rejectsWith(openSafeOutput(target), 'OUTPUT_EXISTS');
  });

  it('refuses to write onto an input: same path, symbolic link, hard link, path through a linked folder, even with force', async () => {
    const input = join(dir, 'in.dmg');
    writeFileSync(input, 'precious');
    symlinkSync(input, join(dir, 'sym.dmg'));
    linkSync(input, join(dir, 'hard.dmg'));
    symlinkSync(dir, join(dir, 'linkdir'));
    for (const target of [input, join(dir, 'sym.dmg'), join(dir, 'hard.dmg'), join(dir, 'linkdir', 'in.dmg'), join(dir, '.', 'in.dmg')]) {
      await rejectsWith(openSafeOutput(target, { inputs: [input], force: true }), 'SAME_FILE', /refusing to write .*: it is the input/);
    }
    // and the input given through a link is recognised too
    await rejectsWith(openSafeOutput(input, { inputs: [join(dir, 'sym.dmg')], force: true }), 'SAME_FILE');
    expect(readFileSync(input, 'utf8')).toBe('precious');
    expect(readdirSync(dir).sort()).toEqual(['hard.dmg', 'in.dmg', 'linkdir', 'sym.dmg']);
  });

  it('refuses a target inside an input folder (a sparse bundle)', async () => {
    const bundle = join(dir, 'x.sparsebundle');
    mkdirSync(join(bundle, 'bands'), { recursive: true });
    writeFileSync(join(bundle, 'bands', '0'), 'band');
    await rejectsWith(openSafeOutput(join(bundle, 'bands', '0'), { inputs: [bundle], force: true }), 'SAME_FILE', /inside the input/);
    await rejectsWith(openSafeOutput(join(bundle, 'new'), { inputs: [bundle] }), 'SAME_FILE', /inside the input/);
  });

  it('names the target and the reason in plain words when it cannot be created', async () => {
    const target = join(dir, 'missing', 'out.img');
    await rejectsWith(openSafeOutput(target), 'IO_ERROR', /^cannot create .*missing\/out\.img: no such file or directory \(ENOENT\)$/);
    await rejectsWith(openSafeOutput(dir, { force: true }), 'IS_A_DIRECTORY', /is a directory/);
  });

  it('a file appearing under the target name while writing is left alone (no force)', async () => {
    const target = join(dir, 'out.img');
    const o = await openSafeOutput(target);
    await o.write(bytes('mine'), 0);
    writeFileSync(target, 'theirs');
    await rejectsWith(o.commit(), 'OUTPUT_EXISTS', /appeared while it was being written/);
    expect(readFileSync(target, 'utf8')).toBe('theirs');
    expect(readdirSync(dir)).toEqual(['out.img']);
  });

  it('writes character devices in place: /dev/null takes the bytes, /dev/full fails naming the path', async () => {
    const n = await openSafeOutput('/dev/null');
    expect(n.tempPath).toBeUndefined();
    await n.write(bytes('gone'), 1 << 20);
    await n.commit();
    if (existsSync('/dev/full')) {
      const f = await openSafeOutput('/dev/full');
      await rejectsWith(f.write(bytes('x'), 0), 'IO_ERROR', /^cannot write \/dev\/full: no space left on device \(ENOSPC\)$/);
      await f.abort();
    }
  });
});

describe('signal cleanup', () => {
  for (const [sig, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${sig} removes the partial file, prints one line and exits ${status}`, async () => {
      const target = join(dir, 'out.img');
      const mod = pathToFileURL(join(repoRoot, 'dist', 'io', 'safe-output.js')).href;
      const script = `
        const { openSafeOutput } = await import(${JSON.stringify(mod)});
        const o = await openSafeOutput(${JSON.stringify(target)});
        await o.write(new Uint8Array(4096), 0);
        process.stdout.write('ready\\n');
        setInterval(() => {}, 1000);`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await new Promise<void>((res) => child.stdout.once('data', () => res()));
      expect(readdirSync(dir)).toHaveLength(1); // the temporary file
      child.kill(sig);
      const [code, signal] = await new Promise<[number | null, string | null]>((res) => child.on('exit', (c, s) => res([c, s])));
      clearTimeout(timer);
      expect(signal).toBeNull();
      expect(code).toBe(status);
      expect(err).toBe(`dmgkit: interrupted by ${sig}; removed the partial ${target}\n`);
      expect(readdirSync(dir)).toEqual([]);
    });
  }
});
