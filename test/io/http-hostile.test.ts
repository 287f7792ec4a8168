/**
 * Hostile HTTP servers (real sockets on 127.0.0.1): one that never answers, one that stalls mid-body, and
 * redirects to another port (another origin) or within the same origin. A stalled server fails the read with
 * HTTP_ERROR after `timeoutMs` (set short here; the default is DEFAULT_HTTP_TIMEOUT_MS) instead of the runtime's
 * 300 s; a redirect to another origin is refused unless `allowCrossOriginRedirects`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_HTTP_TIMEOUT_MS, HttpSource } from '../../src/io/http-source.js';

const data = new Uint8Array(4096).map((_, i) => i & 0xff);
const servers: Server[] = [];
const sockets = new Set<Socket>();
let main = '';
let other = '';

function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s = createServer(handler);
  s.on('connection', (c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
  });
  servers.push(s);
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
}

/** Serves `data` with Range support. */
function ranged(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
  if (!m) {
    res.writeHead(200, { 'content-length': data.length });
    res.end(data);
    return;
  }
  const a = Number(m[1]);
  const b = Math.min(Number(m[2]), data.length - 1);
  res.writeHead(206, { 'content-range': `bytes ${a}-${b}/${data.length}`, 'content-length': b - a + 1 });
  res.end(data.subarray(a, b + 1));
}

beforeAll(async () => {
  other = await serve(ranged);
  main = await serve((req, res) => {
    if (req.url === '/stall-headers') return; // never answers
    if (req.url === '/stall-body') {
      const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
      if (m && m[1] === '0' && m[2] === '0') {
        res.writeHead(206, { 'content-range': `bytes 0-0/${data.length}`, 'content-length': 1 });
        res.end(data.subarray(0, 1));
        return;
      }
      res.writeHead(206, { 'content-range': `bytes ${m![1]}-${m![2]}/${data.length}`, 'content-length': Number(m![2]) - Number(m![1]) + 1 });
      res.write(data.subarray(0, 10)); // then silence
      return;
    }
    if (req.url === '/elsewhere') {
      res.writeHead(302, { location: `${other}/image` });
      res.end();
      return;
    }
    if (req.url === '/same') {
      res.writeHead(301, { location: '/image' });
      res.end();
      return;
    }
    ranged(req, res);
  });
});
afterAll(async () => {
  for (const c of sockets) c.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

describe('HTTP source against hostile servers', () => {
  it('has a default timeout of at most 30 s', () => {
    expect(DEFAULT_HTTP_TIMEOUT_MS).toBeGreaterThan(0);
    expect(DEFAULT_HTTP_TIMEOUT_MS).toBeLessThanOrEqual(30_000);
  });

  it('a server that never sends headers fails with HTTP_ERROR naming the timeout', async () => {
    const e = await HttpSource.open(`${main}/stall-headers`, { timeoutMs: 300 }).catch((x) => x);
    expect(e).toMatchObject({ code: 'HTTP_ERROR' });
    expect(e.message).toMatch(/no response from the server within 0\.3 s \(timeout; the timeoutMs option, dmgkit --timeout S, changes it\)/);
  }, 20_000);

  it('a server that stalls mid-body fails the read with HTTP_ERROR', async () => {
    const src = await HttpSource.open(`${main}/stall-body`, { timeoutMs: 300 });
    const e = await src.read(0, 1000).catch((x) => x);
    expect(e).toMatchObject({ code: 'HTTP_ERROR' });
    expect(e.message).toMatch(/the server sent nothing for 0\.3 s after 10 bytes/);
  }, 20_000);

  it('a redirect to another origin is refused by default, followed with allowCrossOriginRedirects', async () => {
    const e = await HttpSource.open(`${main}/elsewhere`).catch((x) => x);
    expect(e).toMatchObject({ code: 'HTTP_ERROR' });
    expect(e.message).toContain(`redirected to ${other}/image, another origin`);
    const src = await HttpSource.open(`${main}/elsewhere`, { allowCrossOriginRedirects: true });
    expect(src.size).toBe(data.length);
    expect(Array.from(await src.read(100, 4))).toEqual([100, 101, 102, 103]);
  });

  it('a redirect within the same origin is followed', async () => {
    const src = await HttpSource.open(`${main}/same`);
    expect(src.size).toBe(data.length);
    expect(Array.from(await src.read(4000, 3))).toEqual([4000 & 0xff, 4001 & 0xff, 4002 & 0xff]);
  });
});
