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
    let res: Response;
    try {
      res = await f(url, { headers: { ...opts.headers, Range: 'bytes=0-0' } });
    } catch (e) {
      throw new DmgkitError('HTTP_ERROR', `cannot fetch ${url}: ${(e as Error).message}`, { url }, { cause: e });
    }
    if (res.status === 206) {
      const cr = res.headers.get('content-range') ?? '';
      await res.body?.cancel();
      const m = /\/(\d+)\s*$/.exec(cr);
      if (!m) throw new DmgkitError('HTTP_ERROR', `${url}: 206 response without a usable Content-Range (${cr})`, { url });
      return new HttpSource(url, Number(m[1]), opts, true);
    }
    if (res.status === 200) {
      const len = Number(res.headers.get('content-length') ?? NaN);
      const max = opts.maxFullDownloadBytes ?? 16 * 1024 * 1024;
      if (!Number.isFinite(len) || len > max) {
        await res.body?.cancel();
        throw new DmgkitError(
          'HTTP_ERROR',
          `${url}: the server ignores Range requests and the file is ${Number.isFinite(len) ? `${len} bytes` : 'of unknown size'}, more than the ${max}-byte limit for a full download`,
          { url },
        );
      }
      const body = new Uint8Array(await res.arrayBuffer());
      const src = new HttpSource(url, body.length, opts, false);
      src.whole = body;
      return src;
    }
    await res.body?.cancel();
    throw new DmgkitError('HTTP_ERROR', `${url}: HTTP ${res.status}`, { url, status: res.status });
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    if (length === 0) return new Uint8Array(0);
    if (!this.rangeOk) return this.whole!.subarray(offset, offset + length);
    const f = this.opts.fetch ?? fetch;
    const res = await f(this.name, {
      headers: { ...this.opts.headers, Range: `bytes=${offset}-${offset + length - 1}` },
    });
    if (res.status !== 206) {
      await res.body?.cancel();
      throw new DmgkitError('HTTP_ERROR', `${this.name}: range request ${at(offset)} answered HTTP ${res.status}`, {
        offset,
      });
    }
    const body = new Uint8Array(await res.arrayBuffer());
    if (body.length !== length) {
      throw new DmgkitError('TRUNCATED', `${this.name}: range request ${at(offset)} returned ${body.length} of ${length} bytes`, {
        offset,
      });
    }
    return body;
  }
}
