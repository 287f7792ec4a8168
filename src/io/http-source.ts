import { concatBytes } from '../util/bytes.js';
import { DmgkitError, at } from '../errors.js';
import type { ByteSource } from './source.js';
import { checkRange } from './source.js';

export interface HttpSourceOptions {
  headers?: Record<string, string>;
  /** When the server ignores Range, a body up to this size is downloaded once and served from memory. */
  maxFullDownloadBytes?: number;
  fetch?: typeof fetch;
}

/**
 * An HTTP(S) URL read with Range requests. The size comes from a HEAD (or a `bytes=0-0` range) request. A server
 * that ignores Range is tolerated for small files (downloaded once) and refused clearly for large ones.
 */
export class HttpSource implements ByteSource {
  private whole?: Uint8Array;
  private constructor(
    readonly name: string,
    readonly size: number,
    private readonly opts: HttpSourceOptions,
    private readonly rangeOk: boolean,
  ) {}

  static async open(url: string, opts: HttpSourceOptions = {}): Promise<HttpSource> {
    const f = opts.fetch ?? fetch;
    const res = await fetchOrFail(f, url, { headers: { ...opts.headers, Range: 'bytes=0-0' } });
    if (res.status === 206) {
      const cr = res.headers.get('content-range') ?? '';
      await cancelBody(res);
      const m = /\/(\d+)\s*$/.exec(cr);
      if (!m || !Number.isSafeInteger(Number(m[1]))) throw new DmgkitError('HTTP_ERROR', `${url}: 206 response without a usable Content-Range (${cr})`, { url });
      return new HttpSource(url, Number(m[1]), opts, true);
    }
    if (res.status === 200) {
      const len = Number(res.headers.get('content-length') ?? NaN);
      const max = opts.maxFullDownloadBytes ?? 16 * 1024 * 1024;
      if (!Number.isFinite(len) || len > max) {
        await cancelBody(res);
        throw new DmgkitError(
          'HTTP_ERROR',
          `${url}: the server ignores Range requests and the file is ${Number.isFinite(len) ? `${len} bytes` : 'of unknown size'}, more than the ${max}-byte limit for a full download`,
          { url },
        );
      }
      // Content-Length is the server's word: the body is read up to the limit and no further.
      const body = await readBody(res, max, `${url}: full download`, 'LIMIT_EXCEEDED');
      const src = new HttpSource(url, body.length, opts, false);
      src.whole = body;
      return src;
    }
    await cancelBody(res);
    throw new DmgkitError('HTTP_ERROR', `${url}: HTTP ${res.status}`, { url, status: res.status });
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    if (length === 0) return new Uint8Array(0);
    if (!this.rangeOk) return this.whole!.subarray(offset, offset + length);
    const res = await fetchOrFail(this.opts.fetch ?? fetch, this.name, {
      headers: { ...this.opts.headers, Range: `bytes=${offset}-${offset + length - 1}` },
    });
    if (res.status !== 206) {
      await cancelBody(res);
      throw new DmgkitError('HTTP_ERROR', `${this.name}: range request ${at(offset)} answered HTTP ${res.status}`, {
        offset,
      });
    }
    const cr = /^\s*bytes\s+(\d+)-(\d+)\//i.exec(res.headers.get('content-range') ?? '');
    if (cr && (Number(cr[1]) !== offset || Number(cr[2]) !== offset + length - 1)) {
      await cancelBody(res);
      throw new DmgkitError('HTTP_ERROR', `${this.name}: asked for bytes ${offset}-${offset + length - 1}, the server sent ${cr[1]}-${cr[2]}`, {
        offset,
      });
    }
    // At most `length` bytes are read: a server sending more (or a compressed body that expands) is cut off.
    const body = await readBody(res, length, `${this.name}: range request ${at(offset)}`, 'TRUNCATED');
    if (body.length !== length) {
      throw new DmgkitError('TRUNCATED', `${this.name}: range request ${at(offset)} returned ${body.length} of ${length} bytes`, {
        offset,
      });
    }
    return body;
  }
}

/** fetch, with a network failure (a TypeError from fetch) as HTTP_ERROR. */
async function fetchOrFail(f: typeof fetch, url: string, init: RequestInit): Promise<Response> {
  try {
    return await f(url, init);
  } catch (e) {
    throw new DmgkitError('HTTP_ERROR', `cannot fetch ${url}: ${(e as Error)?.message ?? String(e)}`, { url }, { cause: e });
  }
}

async function cancelBody(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // the connection is being dropped anyway
  }
}

/**
 * Reads a response body, at most `max` bytes: one byte more cancels the body and throws `overCode` (the server
 * sent more than asked, or more than the limit). A body that fails midway is HTTP_ERROR.
 */
async function readBody(res: Response, max: number, what: string, overCode: 'TRUNCATED' | 'LIMIT_EXCEEDED'): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.length;
      if (n > max) {
        await reader.cancel().catch(() => undefined);
        throw new DmgkitError(overCode, `${what}: the server sent more than the ${max} bytes expected`);
      }
      parts.push(value);
    }
  } catch (e) {
    if (e instanceof DmgkitError) throw e;
    throw new DmgkitError('HTTP_ERROR', `${what}: the response failed after ${n} bytes: ${(e as Error)?.message ?? String(e)}`, {}, { cause: e });
  }
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}
