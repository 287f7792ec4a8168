import { corrupt } from './errors.js';
import type { Codec } from './types.js';
import { Inflate as PakoInflate } from 'pako';
import { zlibNode } from '#platform';

/**
 * zlib (RFC 1950) decoding into a preallocated buffer. In Node (the `#platform` import's `node` condition):
 * node:zlib, told the exact output size (~1.5x faster). Elsewhere: DecompressionStream for asynchronous decoding
 * (the path image reads take) and pako for synchronous decoding. Output size is checked exactly.
 */

type NodeZlib = NonNullable<typeof zlibNode>;
const nodeZlib: NodeZlib | null = zlibNode;

function check(produced: number, expected: number, codec: string): void {
  if (produced !== expected) throw corrupt(codec, `decoded ${produced} bytes where ${expected} were declared`);
}

/** Inflates to a buffer of its own, checked to be exactly `outLength` bytes. */
function inflatePako(input: Uint8Array, outLength: number, raw: boolean): Uint8Array {
  const codec = raw ? 'deflate' : 'zlib';
  const inf = new PakoInflate({ raw, chunkSize: Math.max(1024, outLength + 1) });
  inf.push(input, true);
  if (inf.err) throw corrupt(codec, `pako: ${inf.msg || inf.err}`);
  const res = inf.result as Uint8Array;
  check(res.length, outLength, codec);
  return res;
}

function inflateNode(z: NodeZlib, input: Uint8Array, outLength: number, raw: boolean): Uint8Array {
  const codec = raw ? 'deflate' : 'zlib';
  let res: Buffer;
  try {
    const opts = { chunkSize: Math.max(64, outLength + 1), maxOutputLength: outLength + 1 };
    res = raw ? z.inflateRawSync(input, opts) : z.inflateSync(input, opts);
  } catch (e) {
    const msg = (e as Error).message;
    throw corrupt(codec, /maxOutputLength|buffer/i.test(msg) ? `output larger than the declared ${outLength} bytes` : msg);
  }
  check(res.length, outLength, codec);
  return new Uint8Array(res.buffer, res.byteOffset, res.byteLength);
}

function viaPako(input: Uint8Array, output: Uint8Array, raw: boolean): void {
  output.set(inflatePako(input, output.length, raw));
}

function viaNode(z: NodeZlib, input: Uint8Array, output: Uint8Array, raw: boolean): void {
  output.set(inflateNode(z, input, output.length, raw));
}

/** zlib into a new buffer of exactly `outLength` bytes (node:zlib's own output: no copy). */
export function inflateNew(input: Uint8Array, outLength: number): Uint8Array {
  return nodeZlib ? inflateNode(nodeZlib, input, outLength, false) : inflatePako(input, outLength, false);
}

export function inflateInto(input: Uint8Array, output: Uint8Array): void {
  if (nodeZlib) viaNode(nodeZlib, input, output, false);
  else viaPako(input, output, false);
}

export function inflateRawInto(input: Uint8Array, output: Uint8Array): void {
  if (nodeZlib) viaNode(nodeZlib, input, output, true);
  else viaPako(input, output, true);
}

/** DecompressionStream('deflate') (the zlib format), stopped as soon as the output passes `outLength`. */
async function inflateStream(input: Uint8Array, outLength: number): Promise<Uint8Array> {
  const out = new Uint8Array(outLength);
  let n = 0;
  const ds = new DecompressionStream('deflate');
  const writer = ds.writable.getWriter();
  writer.write(input as Uint8Array<ArrayBuffer>).catch(() => undefined);
  writer.close().catch(() => undefined);
  const reader = ds.readable.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (n + value.length > outLength) {
        await reader.cancel().catch(() => undefined);
        throw corrupt('zlib', `output larger than the declared ${outLength} bytes`);
      }
      out.set(value, n);
      n += value.length;
    }
  } catch (e) {
    if ((e as { code?: string })?.code === 'CORRUPT_CHUNK') throw e;
    throw corrupt('zlib', `not a valid zlib stream (${(e as Error)?.name ?? 'error'})`);
  }
  check(n, outLength, 'zlib');
  return out;
}

/**
 * Inflates off the calling thread: on the libuv thread pool in Node (the result is node:zlib's own buffer),
 * through DecompressionStream elsewhere, pako where neither exists.
 */
export function inflateAsync(input: Uint8Array, outLength: number): Promise<Uint8Array> {
  const z = nodeZlib;
  if (!z) {
    if (typeof DecompressionStream === 'function') return inflateStream(input, outLength);
    return Promise.resolve().then(() => inflatePako(input, outLength, false));
  }
  return new Promise((resolve, reject) => {
    z.inflate(input, { chunkSize: Math.max(64, outLength + 1), maxOutputLength: outLength + 1 }, (err, res) => {
      if (err) {
        reject(corrupt('zlib', /maxOutputLength|buffer/i.test(err.message) ? `output larger than the declared ${outLength} bytes` : err.message));
      } else if (res.length !== outLength) {
        reject(corrupt('zlib', `decoded ${res.length} bytes where ${outLength} were declared`));
      } else {
        resolve(new Uint8Array(res.buffer, res.byteOffset, res.byteLength));
      }
    });
  });
}

/** The pako path, exported for benchmarks and tests. */
export function inflateWithPako(input: Uint8Array, output: Uint8Array): void {
  viaPako(input, output, false);
}

/** The DecompressionStream path, exported for tests. */
export function inflateWithStream(input: Uint8Array, outLength: number): Promise<Uint8Array> {
  return inflateStream(input, outLength);
}

export const zlibCodec: Codec = { name: 'zlib', decode: inflateInto, decodeNew: inflateNew, decodeAsync: inflateAsync };
