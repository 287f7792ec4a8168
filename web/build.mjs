// Builds the inspector page into web/dist/ with esbuild (no plugins, no polyfills): app.js, the decoder worker
// (decode-worker.js) and index.html. Code splitting: what the page loads lazily (the codec table's encoders,
// src/codecs/table.ts) lands in web/dist/chunks/ and is never fetched by a page that only reads.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
rmSync(`${here}dist`, { recursive: true, force: true });
mkdirSync(`${here}dist`, { recursive: true });
await build({
  entryPoints: { app: `${here}main.ts` },
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outdir: `${here}dist`,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});
await build({
  entryPoints: { 'decode-worker': `${here}../dist/udif/web-decode-worker.js` },
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  outdir: `${here}dist`,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});
copyFileSync(`${here}index.html`, `${here}dist/index.html`);
