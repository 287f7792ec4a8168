#!/usr/bin/env node
/**
 * Bundles the dmgkit command into dist/bin/ with rolldown: `dmgkit.js` (the `bin` of package.json), the worker
 * threads' entry modules beside it, and chunks loaded on demand (a command, its codecs and parsers load only when
 * it runs). Measured faster to start than the per-module tsc output (docs/architecture.md, "Start-up").
 *
 * Chunks are few and grouped by hand (GROUPS below): every ES module costs Node a resolve, an asynchronous read,
 * a compile and a link, and automatic splitting cut the code `dmgkit info` needs into 29 files (issue 9). Each
 * module still lives in exactly one chunk, so module state (the pool's task registry, the DmgkitError class) is
 * shared by the main bundle, the worker entries and the task modules a worker imports by URL.
 *
 * Worker entries sit next to the chunks, so a pool resolving `new URL('./<worker>.js', import.meta.url)` from
 * any chunk finds them. The library itself (dist/index.js and the modules under dist/) stays tsc's output.
 */
import { rolldown } from 'rolldown';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bin');

/**
 * Modules loaded by URL at run time (worker entries, task modules a worker imports): every
 * `compiledUrl(import.meta.url, './x.js')` in src names one, next to the module that names it.
 */
function urlLoadedModules() {
  const found = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/compiledUrl\(import\.meta\.url, '\.\/([\w-]+)\.js'\)/g)) {
          const target = join(dirname(p), `${m[1]}.ts`);
          if (existsSync(target)) found.push(target); // (an example in a comment names none)
        }
      }
    }
  };
  walk(join(root, 'src'));
  return [...new Set(found)];
}

const input = { dmgkit: join(root, 'src/cli/main.ts') };
for (const m of urlLoadedModules()) {
  const name = basename(m, '.ts');
  if (input[name]) throw new Error(`two URL-loaded modules named ${name}.js: ${relative(root, input[name])}, ${relative(root, m)}`);
  input[name] = m;
}

/** Modules (paths under src/, without .ts) whose test matches any of `paths`. */
const under = (...paths) => new RegExp(`[\\\\/]src[\\\\/](?:${paths.join('|').replaceAll('/', '[\\\\/]')})\\.ts$`);
/**
 * Hand-made chunks, highest priority first; a module in none goes where rolldown puts it (its importer's chunk,
 * or a chunk of its own when several load it).
 *  - front: what `--version`/`--help` need beside dmgkit.js, and the error class (everything needs it);
 *  - base: what a decode worker needs beside its entry (task registry, codec table, CRC-32, platform);
 *  - read: opening any image and describing its disk (sources, UDIF tables, plists, partition maps, `info`).
 * Codecs, file systems, writers and the other commands stay in chunks of their own, loaded when used.
 */
const GROUPS = [
  { name: 'front', priority: 30, test: (id) => /rolldown[\\/]runtime/.test(id) || under('errors', 'io/errno', 'cli/args', 'cli/context').test(id) },
  { name: 'base', priority: 20, test: under('limits', 'pool/registry', 'codecs/table', 'codecs/errors', 'udif/chunk-types', 'udif/chunk-codecs', 'util/crc32', 'util/crc32-fast', 'util/bytes', 'platform/node') },
  {
    name: 'read',
    priority: 10,
    test: under(
      'io/(?:source|buffer-source|file-source|open-source|http-source|blob-source|stream)', 'util/lru',
      'udif/(?:koly|mish|resources|xml-plist|rsrc-fork|layout|image|trailer|format-name|decode|checksum)', 'plist/\\w+',
      'disk/\\w+', 'container/(?:encrypted|sparseimage|detect)', 'open', 'image/(?:info|describe)', 'cli/inspect', 'cli/commands/info',
    ),
  },
];

rmSync(outdir, { recursive: true, force: true });
const bundle = await rolldown({
  input,
  platform: 'node',
  // package.json maps #platform to dist/platform/*.js; the bundle is built from src/, so take Node's platform
  // module from src/ too (else dist/errors.js would be a second DmgkitError class beside the bundled one).
  resolve: { alias: { '#platform': join(root, 'src/platform/node.ts') } },
  logLevel: 'warn',
  // serve.ts imports blockdev/device.js both ways (harmless: it is in serve's chunk either way).
  onLog(level, log, handler) {
    if (log.code !== 'INEFFECTIVE_DYNAMIC_IMPORT') handler(level, log);
  },
});
await bundle.write({
  dir: outdir,
  format: 'es',
  entryFileNames: '[name].js',
  chunkFileNames: '[name]-[hash].js',
  sourcemap: true,
  // Less to parse at start-up; identifiers kept, so --debug stack traces stay readable (and the source map maps them).
  minify: { compress: true, mangle: false, codegen: { removeWhitespace: true } },
  comments: false,
  codeSplitting: { groups: GROUPS },
});
await bundle.close();
chmodSync(join(outdir, 'dmgkit.js'), 0o755);
