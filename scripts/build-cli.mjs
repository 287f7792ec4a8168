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
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bin');

/** Modules started as worker threads (whichever exist in this tree). */
const WORKERS = ['src/udif/decode-worker.ts', 'src/pool/worker.ts'];

const entryPoints = { dmgkit: join(root, 'src/cli/main.ts') };
for (const w of WORKERS) if (existsSync(join(root, w))) entryPoints[basename(w, '.ts')] = join(root, w);

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
  logLevel: 'warning',
  // CommonJS dependencies bundled into ESM may call require() for Node's built-ins.
  banner: { js: "import { createRequire as __dmgkitRequire } from 'node:module'; const require = __dmgkitRequire(import.meta.url);" },
});
chmodSync(join(outdir, 'dmgkit.js'), 0o755);
