import { DmgkitError } from '../errors.js';
import type { ByteSource } from './source.js';
import { BufferSource } from './buffer-source.js';
import { BlobSource } from './blob-source.js';
import { HttpSource, type HttpSourceOptions } from './http-source.js';
import { openPath } from '#platform';

export type SourceInput = ByteSource | Uint8Array | ArrayBuffer | Blob | string | URL;

function isByteSource(x: unknown): x is ByteSource {
  return typeof x === 'object' && x !== null && typeof (x as ByteSource).read === 'function' && typeof (x as ByteSource).size === 'number';
}

/**
 * Turns any supported input into a ByteSource: bytes, a Blob, an http(s) URL (read with `http`: timeout,
 * redirects, headers), or a local path (Node only).
 */
export async function openSource(input: SourceInput, opts: { http?: HttpSourceOptions } = {}): Promise<ByteSource> {
  if (isByteSource(input)) return input;
  if (input instanceof Uint8Array) return new BufferSource(input);
  if (input instanceof ArrayBuffer) return new BufferSource(new Uint8Array(input));
  if (typeof Blob !== 'undefined' && input instanceof Blob) return new BlobSource(input, (input as File).name || 'blob');
  const s = input instanceof URL ? input.href : String(input);
  if (/^https?:\/\//i.test(s)) return HttpSource.open(s, opts.http);
  let path = s;
  if (s.startsWith('file:')) {
    try {
      path = decodeURIComponent(new URL(s).pathname);
    } catch (e) {
      throw new DmgkitError('INVALID_ARGUMENT', `${s} is not a usable file: URL: ${(e as Error)?.message}`, {}, { cause: e });
    }
  }
  return openPath(path);
}
