import { createServer, type Server } from 'node:http';
import { open, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DmgkitError } from '../errors.js';

/**
 * The inspector page's server (Node): the built page (web/dist) and, at /image/<name>, the image given, with
 * HTTP Range support so the page reads only what it needs. Listens on loopback only.
 */

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.map': 'application/json', '.css': 'text/css' };

/** Where the built page is: web/dist next to dist/ (the package root). */
export function pageDir(): string {
  return fileURLToPath(new URL('../../web/dist/', import.meta.url));
}

export interface InspectServer {
  server: Server;
  /** The page's URL (with ?url= for the image when one was given). */
  url: string;
  /** Bytes of the image sent so far (for tests of how little the page reads). */
  readonly imageBytesServed: number;
  close(): Promise<void>;
}

export async function startInspectServer(opts: { image?: string; port?: number; host?: string; dir?: string } = {}): Promise<InspectServer> {
  const dir = opts.dir ?? pageDir();
  try {
    await stat(join(dir, 'index.html'));
  } catch {
    throw new DmgkitError('NOT_FOUND', `the inspector page is not built (${dir}): run npm run build:web`);
  }
  const image = opts.image;
  const imageName = image ? encodeURIComponent(basename(image)) : '';
  let served = 0;
  const server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      if (image && path === `/image/${decodeURIComponent(imageName)}`) {
        const size = (await stat(image)).size;
        const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
        let start = 0;
        let end = size - 1;
        if (m) {
          start = Number(m[1]);
          end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
          if (start >= size || start > end) {
            res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
            return;
          }
        }
        const len = end - start + 1;
        res.writeHead(m ? 206 : 200, {
          'accept-ranges': 'bytes',
          'content-length': String(len),
          'content-type': 'application/octet-stream',
          ...(m ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
        });
        if (req.method === 'HEAD') {
          res.end();
          return;
        }
        const fh = await open(image, 'r');
        try {
          const buf = new Uint8Array(Math.min(len, 1 << 20));
          for (let o = 0; o < len; ) {
            const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, len - o), start + o);
            if (bytesRead === 0) break;
            served += bytesRead;
            if (!res.write(buf.slice(0, bytesRead))) await new Promise((r) => res.once('drain', r));
            o += bytesRead;
          }
        } finally {
          await fh.close();
        }
        res.end();
        return;
      }
      const rel = normalize(path === '/' ? '/index.html' : path).replace(/^(\.\.[/\\])+/, '');
      const file = join(dir, rel);
      if (!file.startsWith(dir)) {
        res.writeHead(403).end();
        return;
      }
      try {
        const body = await readFile(file);
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
      } catch {
        res.writeHead(404).end('not found');
      }
    })().catch((e) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String((e as Error)?.message ?? e));
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const base = `http://${host}:${port}/`;
  return {
    server,
    url: image ? `${base}?url=${encodeURIComponent(`/image/${imageName}`)}` : base,
    get imageBytesServed() {
      return served;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
