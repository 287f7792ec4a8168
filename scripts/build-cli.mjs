#!/usr/bin/env node
/**
 * Bundles the dmgkit command into dist/bin/ with esbuild: `dmgkit.js` (the `bin` of package.json), the worker
 * threads' entry modules beside it, and shared chunks loaded on demand (a command, its codecs and parsers load
 * only when it runs). Measured faster to start than the per-module tsc output (docs/architecture.md, "Start-up").
 *
 * Worker entries sit next to the chunks, so a pool resolving `new URL('./<worker>.js', import.meta.url)` from
 * any chunk finds them. The library itself (dist/index.js and the modules under dist/) stays tsc's output.
 */
import { build } from 'esbuild';
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

const entryPoints = { dmgkit: join(root, 'src/cli/main.ts') };
for (const m of urlLoadedModules()) {
  const name = basename(m, '.ts');
  if (entryPoints[name]) throw new Error(`two URL-loaded modules named ${name}.js: ${relative(root, entryPoints[name])}, ${relative(root, m)}`);
  entryPoints[name] = m;
}

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints,
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: '[name]-[hash]',
  sourcemap: 'linked',
  legalComments: 'none',
  // Less to parse at start-up; identifiers kept, so --debug stack traces stay readable (and the source map maps them).
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  // CommonJS dependencies bundled into ESM may call require() for Node's built-ins.
  banner: { js: "import { createRequire as __dmgkitRequire } from 'node:module'; const require = __dmgkitRequire(import.meta.url);" },
  // package.json maps #platform to dist/platform/*.js; the bundle is built from src/, so take Node's platform
  // module from src/ too (else dist/errors.js would be a second DmgkitError class beside the bundled one).
  plugins: [{
    name: 'platform-from-src',
    setup(b) {
      b.onResolve({ filter: /^#platform$/ }, () => ({ path: join(root, 'src/platform/node.ts') }));
    },
  }],
});
chmodSync(join(outdir, 'dmgkit.js'), 0o755);
