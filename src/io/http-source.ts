import { concatBytes } from '../util/bytes.js';
import { DmgkitError, at } from '../errors.js';
import type { ByteSource } from './source.js';
import { checkRange } from './source.js';

export interface HttpSourceOptions {
  headers?: Record<string, string>;
  /** When the server ignores Range, a body up to this size is downloaded once and served from memory. */
  maxFullDownloadBytes?: number;
  fetch?: typeof fetch;
  /**
   * Milliseconds to wait for the response headers of a request (connecting included), and between two pieces of a
   * response body; a server silent for longer fails the read with HTTP_ERROR. Default DEFAULT_HTTP_TIMEOUT_MS.
   */
  timeoutMs?: number;
  /**
   * Follow redirects to another origin (scheme, host or port). Default false: a redirect is followed only within
   * the origin of the URL opened, and one elsewhere fails with HTTP_ERROR naming it.
   */
  allowCrossOriginRedirects?: boolean;
}

/** Default of HttpSourceOptions.timeoutMs. */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
/** Redirects followed for one request. */
export const MAX_REDIRECTS = 10;

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
    const res = await request(opts, url, { ...opts.headers, Range: 'bytes=0-0' });
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
      const body = await readBody(res, max, `${url}: full download`, 'LIMIT_EXCEEDED', timeoutOf(opts));
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
    const res = await request(this.opts, this.name, { ...this.opts.headers, Range: `bytes=${offset}-${offset + length - 1}` });
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
    const body = await readBody(res, length, `${this.name}: range request ${at(offset)}`, 'TRUNCATED', timeoutOf(this.opts));
    if (body.length !== length) {
      throw new DmgkitError('TRUNCATED', `${this.name}: range request ${at(offset)} returned ${body.length} of ${length} bytes`, {
        offset,
      });
    }
    return body;
  }
}

const timeoutOf = (opts: HttpSourceOptions) => opts.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
const seconds = (ms: number) => `${ms / 1000} s`;
const inBrowser = typeof process === 'undefined' || !process.versions?.node;

/**
 * One request: fetch with a timeout until the headers arrive, and redirects followed here (Node: redirect
 * 'manual') only within the origin of `url` unless allowCrossOriginRedirects. In a browser, redirects are followed
 * by the browser and a response from another origin is refused afterwards.
 */
async function request(opts: HttpSourceOptions, url: string, headers: Record<string, string>): Promise<Response> {
  const origin = new URL(url).origin;
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await fetchOrFail(opts, current, { headers, redirect: inBrowser ? 'follow' : 'manual' });
    if (inBrowser) {
      if (res.redirected && res.url && new URL(res.url).origin !== origin && !opts.allowCrossOriginRedirects) {
        await cancelBody(res);
        throw new DmgkitError('HTTP_ERROR', `${url}: redirected to ${res.url}, another origin; refused (allowCrossOriginRedirects, dmgkit --allow-cross-origin-redirects, allows it)`, { url });
      }
      return res;
    }
    if (res.status < 300 || res.status >= 400 || res.status === 304) return res;
    const loc = res.headers.get('location');
    await cancelBody(res);
    if (!loc) throw new DmgkitError('HTTP_ERROR', `${current}: HTTP ${res.status} redirect without a Location`, { url: current, status: res.status });
    let next: URL;
    try {
      next = new URL(loc, current);
    } catch (e) {
      throw new DmgkitError('HTTP_ERROR', `${current}: HTTP ${res.status} redirect to an invalid Location ${JSON.stringify(loc)}`, { url: current }, { cause: e });
    }
    if (next.origin !== origin && !opts.allowCrossOriginRedirects) {
      throw new DmgkitError(
        'HTTP_ERROR',
        `${url}: redirected to ${next.href}, another origin (scheme, host or port); refused (the allowCrossOriginRedirects option, dmgkit --allow-cross-origin-redirects, allows it)`,
        { url, location: next.href },
      );
    }
    if (hop + 1 > MAX_REDIRECTS) throw new DmgkitError('HTTP_ERROR', `${url}: more than ${MAX_REDIRECTS} redirects`, { url });
    current = next.href;
  }
}

/** fetch, with a network failure (a TypeError from fetch) as HTTP_ERROR and no headers within the timeout as well. */
async function fetchOrFail(opts: HttpSourceOptions, url: string, init: RequestInit): Promise<Response> {
  const f = opts.fetch ?? fetch;
  const ms = timeoutOf(opts);
  const ctl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, ms);
  try {
    return await f(url, { ...init, signal: ctl.signal });
  } catch (e) {
    if (timedOut) {
      throw new DmgkitError('HTTP_ERROR', `${url}: no response from the server within ${seconds(ms)} (timeout; the timeoutMs option, dmgkit --timeout S, changes it)`, { url }, { cause: e });
    }
    throw new DmgkitError('HTTP_ERROR', `cannot fetch ${url}: ${(e as Error)?.message ?? String(e)}`, { url }, { cause: e });
  } finally {
    clearTimeout(timer);
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
async function readBody(res: Response, max: number, what: string, overCode: 'TRUNCATED' | 'LIMIT_EXCEEDED', timeoutMs: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    for (;;) {
      // a server that stops sending mid-body is waited on for timeoutMs, not for the runtime's default
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new DmgkitError('HTTP_ERROR', `${what}: the server sent nothing for ${seconds(timeoutMs)} after ${n} bytes (timeout; the timeoutMs option, dmgkit --timeout S, changes it)`)),
          timeoutMs,
        );
      });
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await Promise.race([reader.read(), idle]);
      } finally {
        clearTimeout(timer);
      }
      if (r.done) break;
      const value = r.value;
      n += value.length;
      if (n > max) {
        await reader.cancel().catch(() => undefined);
        throw new DmgkitError(overCode, `${what}: the server sent more than the ${max} bytes expected`);
      }
      parts.push(value);
    }
  } catch (e) {
    if (e instanceof DmgkitError) {
      reader.cancel().catch(() => undefined); // not awaited: a stalled connection is dropped, not waited on
      throw e;
    }
    throw new DmgkitError('HTTP_ERROR', `${what}: the response failed after ${n} bytes: ${(e as Error)?.message ?? String(e)}`, {}, { cause: e });
  }
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}
