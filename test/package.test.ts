import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { repoRoot } from './helpers/fixtures.js';

/**
 * The package as a consumer sees it (built dist/, resolved through package.json `exports`/`imports` from a
 * project that depends on it): the browser entry's import graph holds no `node:` module and bundles with no
 * plugin or polyfill, the exports resolve in Node (import and require), the declarations type-check for a strict
 * consumer (Node project and DOM-only project, skipLibCheck off), and the bundles stay within the size budget of
 * docs/browser.md.
 */

/** Size budget (gzip -9 of the minified esbuild bundle), recorded in docs/browser.md. */
export const BUDGET = { wholeReader: 70 * 1024, withEveryDecoder: 75 * 1024, zlibOnlyUdif: 30 * 1024 };

/** The decoder modules (dist/codecs/NAME.js) the whole reader reaches. */
const DECODERS = ['zlib', 'adc', 'bzip2', 'lzfse', 'xz'];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmgkit-consumer-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(repoRoot, join(dir, 'node_modules', 'dmgkit'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Bundles `code` as a consumer would, counting what the entry loads statically: the codec table reaches every
 * encoder (and decoder) through a lazy `import()`, which a bundler splits off and a reader never fetches, so
 * lazy imports are left out here (external) and the bundle is the entry's static import graph. (esbuild's own
 * code splitting is no measure: its entry chunk imports every shared chunk, used or not.)
 */
async function bundle(name: string, code: string, platform: 'browser' | 'node' = 'browser', format: 'esm' | 'cjs' = 'esm', already: ReadonlySet<string> = new Set()) {
  const entry = join(dir, `${name}.js`);
  writeFileSync(entry, code);
  const lazy: string[] = [];
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    platform,
    format,
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: dir,
    outfile: join(dir, `${name}.out.js`),
    plugins: [{
      name: 'lazy-imports-external',
      setup(b) {
        b.onResolve({ filter: /.*/ }, (args) => {
          // modules a page has already loaded (with `already`: dist/… paths) are not counted again
          const abs = args.path === '#platform' ? '/dist/platform/web.js' : args.path.startsWith('.') ? resolve(args.resolveDir, args.path) : '';
          if (abs.includes('/dist/') && already.has(abs.slice(abs.lastIndexOf('/dist/') + 1))) return { path: args.path, external: true };
          if (args.kind !== 'dynamic-import') return undefined;
          lazy.push(args.path);
          return { path: args.path, external: true };
        });
      },
    }],
  });
  const out = r.outputFiles[0]!.contents;
  const meta = r.metafile as Metafile;
  const included = Object.entries(Object.values(meta.outputs)[0]!.inputs).filter(([, v]) => v.bytesInOutput > 0).map(([k]) => k);
  return { meta, included, lazy, bytes: out.length, gzip: gzipSync(out, { level: 9 }).length, text: new TextDecoder().decode(out), warnings: r.warnings };
}

const WHOLE = `import { openDisk, openVolumeOf, readPartitionMap, verifyImage, openHfs, openSparseImage } from 'dmgkit';
globalThis.dmgkit = { openDisk, openVolumeOf, readPartitionMap, verifyImage, openHfs, openSparseImage };`;
const ZLIB_ONLY = `import { UdifImage, CHUNK_ZLIB, zlibCodec } from 'dmgkit/core';
globalThis.open = (f) => UdifImage.open(f, { codecs: [[CHUNK_ZLIB, zlibCodec]] });`;

describe('package shape', () => {
  it('the browser entry bundles with no plugin or polyfill and its import graph has no node: module', async () => {
    const b = await bundle('whole', WHOLE);
    const inputs = Object.keys(b.meta.inputs);
    expect(inputs.some((p) => p.includes('dist/platform/web.js'))).toBe(true);
    expect(inputs.filter((p) => p.startsWith('node:') || p.includes('dist/platform/node.js') || p.includes('file-source') || p.includes('sparsebundle') || p.includes('extract'))).toEqual([]);
    const imports = Object.values(b.meta.inputs).flatMap((i) => i.imports.map((x) => x.path));
    expect(imports.filter((p) => p.startsWith('node:') || p === 'fs' || p === 'path' || p === 'buffer')).toEqual([]);
    expect(b.text).not.toMatch(/\bBuffer\./);
    // every decoder is in the whole reader: bundled, or imported on first use (the codec table's lazy import)
    for (const c of DECODERS) expect(b.included.some((p) => p.endsWith(`dist/codecs/${c}.js`)) || b.lazy.includes(`./${c}.js`), c).toBe(true);
  });

  it(`size budget: the whole reader <= ${BUDGET.wholeReader / 1024} KB (${BUDGET.withEveryDecoder / 1024} KB with every decoder it imports on use) and zlib-only UDIF reading <= ${BUDGET.zlibOnlyUdif / 1024} KB gzipped`, async () => {
    const entry = await bundle('whole', WHOLE);
    // The whole reader: the entry's static graph plus each decoder it imports on first use, without the modules
    // the entry already holds.
    const loaded = new Set(entry.included.filter((p) => p.includes('dist/')).map((p) => p.slice(p.lastIndexOf('dist/'))));
    let lazyGzip = 0;
    for (const c of DECODERS) {
      if (loaded.has(`dist/codecs/${c}.js`)) continue;
      lazyGzip += (await bundle(`lazy-${c}`, `export * from ${JSON.stringify(join(repoRoot, 'dist', 'codecs', `${c}.js`))};`, 'browser', 'esm', loaded)).gzip;
    }
    const whole = { ...entry, bytes: entry.bytes, gzip: entry.gzip + lazyGzip };
    const zlib = await bundle('zlib', ZLIB_ONLY);
    const one = await bundle('one', `import { decodeLzfse } from 'dmgkit'; globalThis.d = decodeLzfse;`);
    console.log(`browser bundles (minified / gzip -9): whole reader ${whole.bytes} / ${whole.gzip} (entry ${entry.gzip} + decoders imported on use ${lazyGzip}); zlib-only UDIF ${zlib.bytes} / ${zlib.gzip}; decodeLzfse alone ${one.bytes} / ${one.gzip}`);
    expect(entry.gzip).toBeLessThanOrEqual(BUDGET.wholeReader);
    expect(whole.gzip).toBeLessThanOrEqual(BUDGET.withEveryDecoder);
    expect(zlib.gzip).toBeLessThanOrEqual(BUDGET.zlibOnlyUdif);
    // one codec imported: one codec bundled
    const oneInputs = one.included;
    expect(oneInputs.filter((p) => /dist\/codecs\/(zlib|adc|bzip2|xz|lzma)\.js$/.test(p))).toEqual([]);
    expect(oneInputs.some((p) => p.includes('pako'))).toBe(false);
    const zlibInputs = zlib.included;
    expect(zlibInputs.filter((p) => /dist\/codecs\/(adc|bzip2|xz|lzma|lzfse)\.js$|dist\/hfs\//.test(p))).toEqual([]);
  });

  it('the Node entry has no top-level await (bundles as CommonJS) and exports resolve: import, require, subpaths', async () => {
    const cjs = await bundle('node-cjs', `const m = require('dmgkit'); module.exports = m;`, 'node', 'cjs');
    expect(Object.keys(cjs.meta.inputs).some((p) => p.includes('dist/platform/node.js'))).toBe(true);
    const script = `
      const esm = await import('dmgkit');
      const node = await import('dmgkit/node');
      const core = await import('dmgkit/core');
      const { createRequire } = await import('node:module');
      const require = createRequire(import.meta.url);
      const cjs = require('dmgkit');
      const pkg = require('dmgkit/package.json');
      console.log(JSON.stringify({
        esm: typeof esm.openDisk, extract: typeof esm.extractVolume, node: node.openDisk === esm.openDisk,
        core: typeof core.UdifImage, coreHasCodecSet: 'ALL_CHUNK_CODECS' in core, cjs: cjs.openUdif === esm.openUdif, name: pkg.name,
      }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ esm: 'function', extract: 'function', node: true, core: 'function', coreHasCodecSet: false, cjs: true, name: 'dmgkit' });
  });

  it('the declarations type-check for a strict consumer (skipLibCheck off): a Node project and a DOM-only project', () => {
    writeFileSync(
      join(dir, 'dom.ts'),
      `import { openDisk, readPartitionMap, DmgkitError, type ByteSource } from 'dmgkit';
import { UdifImage, CHUNK_ZLIB, zlibCodec } from 'dmgkit/core';
export async function f(file: Blob, src: ByteSource): Promise<string> {
  const d = await openDisk(file);
  const img = await UdifImage.open(src, { codecs: [[CHUNK_ZLIB, zlibCodec]] });
  const s: ReadableStream<Uint8Array> = img.stream();
  return (await readPartitionMap(d.disk)).scheme + String(s) + String(new DmgkitError('IO_ERROR', 'x').code);
}
`,
    );
    writeFileSync(
      join(dir, 'node.ts'),
      `import { openDisk, extractVolume, openSparseBundle, openUdif } from 'dmgkit';
import { FileSource } from 'dmgkit/node';
export async function f(p: string): Promise<string> {
  const img = await openUdif(p);
  img.createReadStream().pipe(process.stdout);
  return (await openDisk(p)).kind + typeof extractVolume + typeof openSparseBundle + typeof FileSource;
}
`,
    );
    const base = { target: 'ES2022', strict: true, skipLibCheck: false, noEmit: true };
    writeFileSync(join(dir, 'tsconfig.dom.json'), JSON.stringify({ compilerOptions: { ...base, module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [] }, files: ['dom.ts'] }));
    writeFileSync(
      join(dir, 'tsconfig.node.json'),
      JSON.stringify({ compilerOptions: { ...base, module: 'NodeNext', moduleResolution: 'NodeNext', types: ['node'], typeRoots: [join(repoRoot, 'node_modules', '@types')] }, files: ['node.ts'] }),
    );
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const cfg of ['tsconfig.dom.json', 'tsconfig.node.json']) {
      const r = spawnSync(process.execPath, [tsc, '-p', cfg], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
      expect(r.stdout + r.stderr, cfg).toBe('');
      expect(r.status, cfg).toBe(0);
    }
  });

  it('Vite builds a three-line consumer page with no plugin or polyfill', () => {
    const page = join(dir, 'vite-page');
    mkdirSync(page, { recursive: true });
    writeFileSync(join(page, 'index.html'), '<!doctype html><input type="file" id="f"><pre id="o"></pre><script type="module" src="./main.js"></script>\n');
    writeFileSync(
      join(page, 'main.js'),
      `import { openImage } from 'dmgkit';\ndocument.getElementById('f').onchange = async (e) => {\n  document.getElementById('o').textContent = JSON.stringify(await (await openImage(e.target.files[0])).info(), null, 1);\n};\n`,
    );
    const vite = join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js');
    const r = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn', '--outDir', join(dir, 'vite-out')], { cwd: page, encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr.replace(/\s+/g, ' ')).not.toMatch(/error|externalized|node:/i);
    expect(r.status).toBe(0);
    const assets = readdirSync(join(dir, 'vite-out', 'assets')).filter((f) => f.endsWith('.js'));
    // the page and the lazily imported codec modules (src/codecs/table.ts), each a chunk of its own
    expect(assets.length).toBeGreaterThanOrEqual(1);
    const js = assets.map((a) => readFileSync(join(dir, 'vite-out', 'assets', a), 'utf8')).join('\n');
    expect(js).not.toMatch(/from\s*["']node:|import\(["']node:|require\(["']node:|\bBuffer\./);
    expect(js).toContain('koly');
  });

  it('only runtime dependencies are dependencies, and sideEffects names the modules with side effects (codec and pool-task registration)', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Record<string, Record<string, string> | string[]>;
    expect(Object.keys(pkg.dependencies ?? {})).toEqual(['pako']);
    expect(pkg.sideEffects).toEqual([
      './dist/udif/all-codecs.js', './src/udif/all-codecs.ts', './dist/pool/tasks.js', './src/pool/tasks.ts', './dist/udif/batch-task.js', './src/udif/batch-task.ts',
      './dist/udif/native-batch.js', './src/udif/native-batch.ts', './dist/udif/write/native-encode.js', './src/udif/write/native-encode.ts',
      './dist/udif/write/encode-task.js', './src/udif/write/encode-task.ts',
    ]);
  });
});
