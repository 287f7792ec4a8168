import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { fixture, haveFixtures, repoRoot, sevenZip } from '../helpers/fixtures.js';
import { startInspectServer, type InspectServer } from '../../src/inspect/server.js';

/**
 * The inspector page (web/) end to end in Debian's Chromium, driven by playwright-core, served on 127.0.0.1 by
 * src/inspect/server.ts. Screenshots of the main views go to test-output/web/.
 */

const CHROMIUM = '/usr/bin/chromium';
const shots = join(repoRoot, 'test-output', 'web');

function png(w: number, h: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const b = Buffer.alloc(12 + data.length);
    b.writeUInt32BE(data.length, 0);
    b.write(type, 4, 'latin1');
    Buffer.from(data).copy(b, 8);
    b.writeUInt32BE(crc32(b.subarray(4, 8 + data.length)), 8 + data.length);
    return b;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set([x * 8, y * 8, 200], y * (w * 3 + 1) + 1 + x * 3);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

let dir: string;
let server: InspectServer;
let ctx: BrowserContext;
let page: Page;
let hybrid: string;
let big: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) throw new Error('chromium is not installed: .ci/run must install the Debian package chromium');
  }
  dir = mkdtempSync(join(tmpdir(), 'dmgkit-web-'));
  // an APM + HFS+ disk (xorriso) with a text file and a PNG, and a 256 MiB one for the transfer test
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'docs'), { recursive: true });
  mkdirSync(join(tree, 'pics'));
  writeFileSync(join(tree, 'docs', 'readme.txt'), 'hello from dmgkit\nsecond line\n');
  writeFileSync(join(tree, 'pics', 'dot.png'), png(32, 24));
  hybrid = join(dir, 'hybrid.iso');
  execFileSync('xorriso', ['-as', 'mkisofs', '-hfsplus', '-V', 'WEBTEST', '-o', hybrid, tree], { stdio: 'ignore' });
  const bigTree = join(dir, 'bigtree');
  mkdirSync(join(bigTree, 'folder'), { recursive: true });
  writeFileSync(join(bigTree, 'folder', 'small.txt'), 'a small file\n');
  const blob = Buffer.alloc(256 << 20);
  for (let i = 0; i < blob.length; i += 4096) blob.writeUInt32LE(i * 2654435761 >>> 0, i);
  writeFileSync(join(bigTree, 'bulk.bin'), blob);
  big = join(dir, 'big.iso');
  execFileSync('xorriso', ['-as', 'mkisofs', '-hfsplus', '-V', 'BIG', '-o', big, bigTree], { stdio: 'ignore' });
  server = await startInspectServer({ image: big });
  mkdirSync(shots, { recursive: true });
  ctx = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1200, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
}, 180_000);

afterAll(async () => {
  await ctx?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function openFile(path: string): Promise<void> {
  await page.goto(server.url.replace(/\?.*$/, ''));
  await page.setInputFiles('#file', path);
  await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('opened') || document.querySelector('#error')?.textContent, undefined, { timeout: 60_000 });
}

describe('inspector page in Chromium', () => {
  it('opens a fixture of each codec by file input and shows its block tables and partitions', async () => {
    if (!haveFixtures()) return;
    const cases: [string, string, string][] = [
      ['udzo_gpt_hfsplus_nojournal__hdi-mac_test-disk-image-hfsp.dmg', 'UDZO', 'GPT'],
      ['udbz_apm_hfsplus_sla__sparkle_SparkleTestCodeSignApp.dmg', 'UDBZ', 'APM'],
      ['udco_gpt_hfsplus__keramics_hfsplus_adc.dmg', 'UDCO', 'GPT'],
      ['ulfo_gpt_hfsplus__keramics_hfsplus_lzfse.dmg', 'ULFO', 'GPT'],
      ['ulmo_gpt_hfsplus__keramics_hfsplus_lzma.dmg', 'ULMO', 'GPT'],
    ];
    for (const [name, format, scheme] of cases) {
      await openFile(fixture(name));
      expect(await page.textContent('#error'), name).toBe('');
      expect(await page.textContent('#summary')).toContain(format);
      expect(await page.textContent('#partitions')).toContain(`Partition map: ${scheme}`);
      expect(await page.textContent('#partitions')).toMatch(/HFS\+/);
      expect(await page.locator('#blocks tr').count()).toBeGreaterThan(1);
      expect(await page.locator('#files tr').count()).toBeGreaterThan(1);
    }
    await page.screenshot({ path: join(shots, 'summary.png'), fullPage: true });
  });

  it('browses into a folder, previews a text file and an image, downloads a file equal to 7-Zip extraction', async () => {
    if (!haveFixtures()) return;
    await openFile(hybrid);
    expect(await page.textContent('#summary')).toContain('raw');
    await page.click('#files a[data-path="docs"]');
    await page.waitForSelector('#files button[data-preview="docs/readme.txt"]');
    await page.click('#files button[data-preview="docs/readme.txt"]');
    await page.waitForSelector('#preview-text');
    expect(await page.textContent('#preview-text')).toBe('hello from dmgkit\nsecond line\n');
    await page.screenshot({ path: join(shots, 'files.png'), fullPage: true });
    await page.click('#crumbs a[data-path=""]');
    await page.click('#files a[data-path="pics"]');
    await page.click('#files button[data-preview="pics/dot.png"]');
    await page.waitForSelector('#preview-image');
    await page.waitForFunction(() => (document.querySelector('#preview-image') as HTMLImageElement)?.naturalWidth > 0);
    expect(await page.evaluate(() => [(document.querySelector('#preview-image') as HTMLImageElement).naturalWidth, (document.querySelector('#preview-image') as HTMLImageElement).naturalHeight])).toEqual([32, 24]);
    await page.screenshot({ path: join(shots, 'preview-image.png'), fullPage: true });

    // download from a UDZO image, compared with 7-Zip's extraction
    const seven = sevenZip();
    if (!seven) return;
    const name = 'udzo_gpt_hfsplus_nojournal__hdi-mac_test-disk-image-hfsp.dmg';
    const out = join(dir, '7z');
    execFileSync(seven, ['x', '-y', `-o${out}`, fixture(name)], { stdio: 'ignore' });
    await openFile(fixture(name));
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#files button[data-download="file-b.txt"]')]);
    const got = readFileSync((await dl.path())!);
    expect(got).toEqual(readFileSync(join(out, 'test-disk-image-hfsp', 'file-b.txt')));
  });

  it('verify runs to the end with its progress bar full', async () => {
    if (!haveFixtures()) return;
    await openFile(fixture('udbz_apm_hfsplus_sla__sparkle_SparkleTestCodeSignApp.dmg'));
    await page.click('#verify');
    await page.waitForFunction(() => document.querySelector('#verify-result')?.textContent, undefined, { timeout: 60_000 });
    expect(await page.textContent('#verify-result')).toBe('all checksums match');
    // the bzip2 chunks were decoded on the page's web workers
    expect(page.workers().length).toBeGreaterThanOrEqual(2);
    expect(Number(await page.evaluate(() => document.body.dataset.workerDecodes))).toBeGreaterThan(0);
    expect(await page.evaluate(() => (document.querySelector('#progress') as HTMLProgressElement).value)).toBe(1);
    await page.screenshot({ path: join(shots, 'verify.png'), fullPage: true });
  });

  it('a non-image and an encrypted image get the CLI one-line messages', async () => {
    if (!haveFixtures()) return;
    await openFile(fixture('broken_random_not_udif__etcher-sdk_invalid.dmg'));
    expect(await page.textContent('#error')).toMatch(/^dmgkit: .*is not a disk image/);
    const enc = join(dir, 'encrypted.dmg');
    const b = Buffer.alloc(8192);
    b.write('encrcdsa', 0, 'latin1');
    b.writeUInt32BE(2, 8);
    writeFileSync(enc, b);
    await openFile(enc);
    expect(await page.textContent('#error')).toMatch(/^dmgkit: .*encrypted/i);
  });

  it('opens by URL (Range requests): listing a folder and reading a small file of a 256 MiB image transfers < 2 %', async () => {
    await page.goto(server.url);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('opened') || document.querySelector('#error')?.textContent, undefined, { timeout: 60_000 });
    expect(await page.textContent('#error')).toBe('');
    await page.click('#files a[data-path="folder"]');
    await page.click('#files button[data-preview="folder/small.txt"]');
    await page.waitForSelector('#preview-text');
    expect(await page.textContent('#preview-text')).toBe('a small file\n');
    const size = statSync(big).size;
    expect(size).toBeGreaterThan(256 << 20);
    console.log(`URL open + list + read: ${server.imageBytesServed} of ${size} bytes served (${((100 * server.imageBytesServed) / size).toFixed(3)} %)`);
    expect(server.imageBytesServed).toBeLessThan(size * 0.02);
    await page.screenshot({ path: join(shots, 'url.png'), fullPage: true });
    if (existsSync(join(shots, 'files.png'))) copyFileSync(join(shots, 'files.png'), join(shots, 'readme.png'));
  });
});
