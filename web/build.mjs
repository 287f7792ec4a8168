// Builds the inspector page into web/dist/ with esbuild (no plugins, no polyfills): app.js, the decoder worker
// (decode-worker.js) and index.html.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
mkdirSync(`${here}dist`, { recursive: true });
await build({
  entryPoints: [`${here}main.ts`],
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: `${here}dist/app.js`,
  logLevel: 'warning',
});
await build({
  entryPoints: [`${here}../dist/udif/web-decode-worker.js`],
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  outfile: `${here}dist/decode-worker.js`,
  logLevel: 'warning',
});
copyFileSync(`${here}index.html`, `${here}dist/index.html`);
