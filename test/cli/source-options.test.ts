/**
 * The library's image-opening options reachable from the command line (issue 10), through the built CLI as a
 * child process against real sockets on 127.0.0.1:
 * - --timeout S: a server that never answers fails after S seconds (HTTP_ERROR naming the bound), not after the
 *   default 30 s; a bad value is a usage error (exit 2);
 * - --allow-cross-origin-redirects: a redirect to another port is refused by default and followed with it, and the
 *   disk read through it is the one 7-Zip extracts from the same file;
 * - --reject-overlapping-chunks: an image whose 300 chunks share one stored range is a warning by default and
 *   refused (CORRUPT_TABLE) with it, by every command that opens an image;
 * - each command that opens an image lists the three in its help.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDmg, type BuildChunk } from '../helpers/build-dmg.js';
import { fixture, haveFixtures, sevenZip } from '../helpers/fixtures.js';
import { sevenZipPartitions } from '../helpers/build-dmg.js';
import { runCli } from './run.js';

const base = mkdtempSync(join(tmpdir(), 'dmgkit-source-options-'));
const servers: Server[] = [];
const sockets = new Set<Socket>();
let image: Uint8Array = new Uint8Array(0);
let main = '';
let other = '';

function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(handler);
  s.on('connection', (c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
  });
  servers.push(s);
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
}

function ranged(req: IncomingMessage, res: ServerResponse): void {
  const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
  if (req.method === 'HEAD') {
    res.writeHead(200, { 'content-length': image.length, 'accept-ranges': 'bytes' });
    res.end();
    return;
  }
  if (!m) {
    res.writeHead(200, { 'content-length': image.length });
    res.end(image);
    return;
  }
  const a = Number(m[1]);
  const b = Math.min(Number(m[2]), image.length - 1);
  res.writeHead(206, { 'content-range': `bytes ${a}-${b}/${image.length}`, 'content-length': b - a + 1 });
  res.end(image.subarray(a, b + 1));
}

const FIXTURE = 'udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg';

beforeAll(async () => {
  if (haveFixtures()) image = new Uint8Array(readFileSync(fixture(FIXTURE)));
  other = await serve(ranged);
  main = await serve((req, res) => {
    if (req.url === '/stall') return; // never answers
    if (req.url === '/elsewhere.dmg') {
      res.writeHead(302, { location: `${other}/image.dmg` });
      res.end();
      return;
    }
    ranged(req, res);
  });
});
afterAll(async () => {
  for (const c of sockets) c.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(base, { recursive: true, force: true });
});

describe('image-opening options on the command line', () => {
  it('--timeout S: a server that never answers fails after S seconds, named; a bad value exits 2', async () => {
    const r = await runCli(['info', `${main}/stall`, '--timeout', '0.5'], { timeoutMs: 60_000 });
    expect(r.hung).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^dmgkit: http:\/\/127\.0\.0\.1:\d+\/stall: no response from the server within 0\.5 s \(timeout; .*--timeout S, changes it\)\n$/);
    for (const bad of ['0', '-1', 'soon', '1e10']) {
      const b = await runCli(['verify', `${main}/stall`, `--timeout=${bad}`], { timeoutMs: 60_000 });
      expect(b.code).toBe(2);
      expect(b.stderr).toMatch(/--timeout needs a number of seconds above 0/);
    }
  }, 180_000);

  it.runIf(haveFixtures())('--allow-cross-origin-redirects: refused by default, followed with it; the disk is the one 7-Zip extracts', async () => {
    const url = `${main}/elsewhere.dmg`;
    const refused = await runCli(['info', url, '--threads', '1'], { timeoutMs: 60_000 });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/redirected to http:\/\/127\.0\.0\.1:\d+\/image\.dmg, another origin .*refused .*--allow-cross-origin-redirects/);
    const conv = await runCli(['convert', url, '-o', '-', '--allow-cross-origin-redirects', '--partition', '0', '--threads', '1'], { timeoutMs: 120_000 });
    expect(conv.stderr).toBe('');
    expect(conv.code).toBe(0);
    // 7-Zip's partitions of the same file: the HFS+ partition is one of them, byte for byte
    const parts = sevenZipPartitions(sevenZip()!, image);
    expect([...parts.values()].some((p) => p.length === conv.stdout.length && p.equals(conv.stdout))).toBe(true);
  }, 180_000);

  it('--reject-overlapping-chunks: chunks sharing stored bytes are a warning, and refused with the option by every command', async () => {
    const MiB = new Uint8Array(1 << 20);
    const z = new Uint8Array(deflateSync(MiB));
    const chunks: BuildChunk[] = [{ type: 0x80000005, payload: z, decoded: MiB }];
    for (let i = 1; i < 300; i++) chunks.push({ type: 0x80000005, payload: z, decoded: MiB, sharesWith: 0 });
    const path = join(base, 'shared.dmg');
    writeFileSync(path, buildDmg(chunks));
    const plain = await runCli(['info', path, '--json'], { timeoutMs: 60_000 });
    expect(plain.code).toBe(0);
    expect((JSON.parse(plain.stdout.toString()) as { warnings: string[] }).warnings.join('\n')).toMatch(/^299 chunks share stored bytes/m);
    for (const args of [['info', path], ['verify', path], ['convert', path, '-o', '-'], ['ls', path], ['extract', path, join(base, 'x')]]) {
      const r = await runCli([...args, '--reject-overlapping-chunks'], { timeoutMs: 60_000 });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/^dmgkit: .*299 chunks share stored bytes .*\(refused: rejectOverlappingChunks\)\n$/);
    }
  }, 180_000);

  it('every command that opens an image lists the options in its help', async () => {
    for (const cmd of ['info', 'verify', 'convert', 'ls', 'tree', 'stat', 'cat', 'extract', 'serve']) {
      const r = await runCli(['help', cmd], { timeoutMs: 30_000 });
      expect(r.code).toBe(0);
      const text = r.stdout.toString();
      for (const opt of ['--timeout S', '--allow-cross-origin-redirects', '--reject-overlapping-chunks']) expect(text, `${cmd} ${opt}`).toContain(opt);
    }
  }, 120_000);
});
