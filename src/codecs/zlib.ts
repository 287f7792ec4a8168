import { corrupt } from './errors.js';
import type { Codec } from './types.js';
import { PakoInflate, zlibLanes, zlibNode } from '#platform';

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
function inflatePako(input: Uint8Array, outLength: number, raw: boolean, Inflate = PakoInflate): Uint8Array {
  const codec = raw ? 'deflate' : 'zlib';
  if (!Inflate) throw new Error('zlib: no synchronous inflater on this platform'); // (Node uses node:zlib)
  const inf = new Inflate({ raw, chunkSize: Math.max(1024, outLength + 1) });
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

/**
 * Inflating straight into the caller's buffer through one reused node:zlib handle per thread (its synchronous
 * writeSync, which inflateSync itself uses): no output allocation, so no fresh pages to fault in and no copy per
 * chunk (the 1 MiB buffer inflateSync allocates per chunk cost ~16k page faults per 64 MiB, measured). The
 * handle's shape is checked once; without it inflateInto falls back to inflateSync plus a copy.
 */
interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
  onerror: (message: string, errno: number) => void;
}
let direct: { h: ZlibHandle; state: Uint32Array; error: string | null; finish: number } | null | undefined;
function directInflater(z: NodeZlib): typeof direct {
  try {
    const inf = z.createInflate() as unknown as { _handle?: ZlibHandle; _writeState?: Uint32Array };
    const h = inf._handle;
    const state = inf._writeState;
    if (!h || typeof h.writeSync !== 'function' || typeof h.reset !== 'function' || !(state instanceof Uint32Array)) return null;
    const d = { h, state, error: null as string | null, finish: z.constants.Z_FINISH };
    h.onerror = (message) => {
      d.error = message;
    };
    return d;
  } catch {
    return null;
  }
}
const ONE = new Uint8Array(1);
/** True when done (output filled exactly, else CORRUPT_CHUNK thrown); false when the direct path is unavailable. */
function inflateDirect(z: NodeZlib, input: Uint8Array, output: Uint8Array): boolean {
  if (direct === undefined) direct = directInflater(z);
  const d = direct;
  if (!d || output.length === 0) return false; // (zlib makes no progress into an empty buffer: the usual path)
  d.error = null;
  try {
    d.h.writeSync(d.finish, input, 0, input.length, output, 0, output.length);
    if (d.error) throw corrupt('zlib', d.error);
    const produced = output.length - d.state[0];
    if (produced !== output.length) throw corrupt('zlib', `decoded ${produced} bytes where ${output.length} were declared`);
    // Output full: the stream must end here (one more byte would be too many; a missing trailer is an error).
    const left = d.state[1];
    d.h.writeSync(d.finish, input, input.length - left, left, ONE, 0, 1);
    if (d.error) throw corrupt('zlib', d.error);
    if (d.state[0] === 0) throw corrupt('zlib', `output larger than the declared ${output.length} bytes`);
    return true;
  } finally {
    d.h.reset();
  }
}

export function inflateInto(input: Uint8Array, output: Uint8Array): void {
  if (nodeZlib && inflateDirect(nodeZlib, input, output)) return;
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

/** Inflate lanes (Node: src/platform/zlib-lanes.ts), tried once on a known stream: exact output, and an overflow noticed. */
const L = zlibLanes;
const inflateLanes =
  nodeZlib &&
  L &&
  new L.LanePool(
    () => L.makeLane(nodeZlib, () => nodeZlib.createInflate()),
    async (lane) => {
      const plain = new Uint8Array(70000);
      for (let i = 0; i < plain.length; i++) plain[i] = (i * 7 + (i >> 9)) & 0xff;
      const packed = nodeZlib.deflateSync(plain);
      const out = new Uint8Array(plain.length);
      const whole = await lane(packed, out);
      const short = await lane(packed, new Uint8Array(plain.length - 1));
      return whole.produced === plain.length && !whole.over && short.over && L.sameBytes(out, plain);
    },
  );

/**
 * Inflates `input` into `output` (exactly output.length bytes, else CORRUPT_CHUNK) off the calling thread: on
 * libuv's thread pool in Node, without allocating (a lane of src/platform/zlib-lanes.ts), elsewhere as inflateAsync does,
 * plus a copy.
 */
export async function inflateIntoAsync(input: Uint8Array, output: Uint8Array): Promise<void> {
  if (inflateLanes && output.length > 0) {
    let r: Awaited<ReturnType<typeof inflateLanes.run>>;
    try {
      r = await inflateLanes.run(input, output);
    } catch (e) {
      throw corrupt('zlib', (e as Error).message);
    }
    if (r) {
      if (r.over) throw corrupt('zlib', `output larger than the declared ${output.length} bytes`);
      check(r.produced, output.length, 'zlib');
      return;
    }
  }
  output.set(await inflateAsync(input, output.length));
}

/** The pako path, exported for benchmarks and tests (Node never loads pako: they pass pako's Inflate). */
export function inflateWithPako(input: Uint8Array, output: Uint8Array, Inflate = PakoInflate): void {
  output.set(inflatePako(input, output.length, false, Inflate));
}

/** The DecompressionStream path, exported for tests. */
export function inflateWithStream(input: Uint8Array, outLength: number): Promise<Uint8Array> {
  return inflateStream(input, outLength);
}

export const zlibCodec: Codec = { name: 'zlib', decode: inflateInto, decodeNew: inflateNew, decodeAsync: inflateAsync };
