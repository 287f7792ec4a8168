import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, haveFixtures, repoRoot } from '../helpers/fixtures.js';

/** `dmgkit inspect IMAGE` as a child process: serves the page and the image (Range) on 127.0.0.1, stops on SIGTERM. */
describe('dmgkit inspect', () => {
  it('serves the page and the image given, on loopback, and exits 0 on SIGTERM', async () => {
    if (!haveFixtures()) return;
    const image = fixture('udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg');
    const child = spawn(process.execPath, [join(repoRoot, 'dist', 'cli', 'main.js'), 'inspect', image], { stdio: ['ignore', 'pipe', 'pipe'] });
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /dmgkit inspector: (http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code} before printing its URL: ${out}`)));
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('dmgkit inspector');
      const imagePath = decodeURIComponent(new URL(url).searchParams.get('url')!);
      const r = await fetch(new URL(imagePath, url), { headers: { range: 'bytes=100-163' } });
      expect(r.status).toBe(206);
      expect(new Uint8Array(await r.arrayBuffer())).toEqual(new Uint8Array(readFileSync(image).subarray(100, 164)));
      expect((await fetch(new URL('/../../package.json', url))).status).toBe(404);
      const code = await new Promise<number | null>((resolve) => {
        child.once('exit', (c) => resolve(c));
        child.kill('SIGTERM');
      });
      expect(code).toBe(0);
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
  });
});
