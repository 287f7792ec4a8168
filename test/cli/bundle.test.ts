/**
 * The bundled command loads few modules (issue 9: every ES module costs Node a resolve, a read, a compile and a
 * link at start-up). Counts the bundle's files Node actually loads, through a module hook, for `--version`,
 * `--help` and `info` on the shipped sample image; `info`'s output is still 7-Zip-independent facts checked in
 * cli.test.ts, here only that it succeeds.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/fixtures.js';
import { cliBin } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'dmgkit-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hooks = join(dir, 'hooks.mjs');
writeFileSync(hooks, `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.DMGKIT_LOAD_LOG, url + '\\n');
  return next(url, context);
}
`);
const preload = join(dir, 'preload.mjs');
writeFileSync(preload, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);

/** The files of dist/bin/ that `dmgkit ...args` loads, by name. */
function loadedBundleFiles(args: string[]): string[] {
  const log = join(dir, `load-${args[0]}.log`);
  writeFileSync(log, '');
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(preload).href, cliBin, ...args], {
    env: { ...process.env, DMGKIT_LOAD_LOG: log },
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const binUrl = pathToFileURL(dirname(cliBin)).href + '/';
  return [...new Set(readFileSync(log, 'utf8').split('\n').filter((u) => u.startsWith(binUrl)).map((u) => u.slice(binUrl.length)))];
}

describe('the bundled command loads few files', () => {
  it('--version and --help: the entry and one chunk', () => {
    for (const a of ['--version', '--help']) {
      const files = loadedBundleFiles([a]);
      expect(files).toContain('dmgkit.js');
      expect(files.length, files.join(' ')).toBeLessThanOrEqual(2);
    }
  });

  it('info on a UDZO image: at most 6 files, no writer, no other command', () => {
    const files = loadedBundleFiles(['info', join(repoRoot, 'fixtures', 'sample.dmg')]);
    expect(files.length, files.join(' ')).toBeLessThanOrEqual(6);
    expect(files.filter((f) => /^(?:write|convert|files|serve|bench|encode|deflate|bzip2|xz|lzfse|adc)/.test(f))).toEqual([]);
  });
});
