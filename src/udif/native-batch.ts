/**
 * The 'udif.batch' task's native variant (Node-only; see src/pool/native.ts): a run of zlib and raw chunks is read
 * (from the image's descriptor, or from memory), inflated and written by libuv's thread pool (node:fs and
 * node:zlib's asynchronous calls). The calling thread starts each step and, when asked, computes the CRC-32 of the
 * decoded bytes (node:zlib's native crc32). Results are those of runBatch in ./batch-task.ts, byte for byte.
 */
import { read, write } from 'node:fs';
import { DmgkitError, at } from '../errors.js';
import { registerNativeTask } from '../pool/native.js';
import { toWireError, type WireError } from '../pool/registry.js';
import { crc32Fast } from '../util/crc32-fast.js';
import { inflateIntoAsync } from '../codecs/zlib.js';
import { BATCH_FIELDS, F, type BatchArgs, type BatchResult } from './batch-task.js';
import { CHUNK_RAW, CHUNK_ZLIB } from './chunk-types.js';

/** Input buffers of finished jobs, reused by later ones (at most a few are alive: one per job in flight). */
const spare: Uint8Array[] = [];
const MAX_SPARE = 16;

function takeBuffer(n: number): Uint8Array {
  for (let i = spare.length - 1; i >= 0; i--) {
    if (spare[i].length >= n) return spare.splice(i, 1)[0].subarray(0, n);
  }
  return new Uint8Array(Math.max(n, 64 << 10)).subarray(0, n);
}

function giveBack(b: Uint8Array): void {
  if (spare.length < MAX_SPARE) spare.push(new Uint8Array(b.buffer)); // (our own buffers: views from offset 0)
}

function preadFully(fd: number, buf: Uint8Array, pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const step = (): void =>
      read(fd, buf, done, buf.length - done, pos + done, (err, n) => {
        if (err) return reject(err);
        if (n === 0) return reject(new DmgkitError('TRUNCATED', `the image ended early while reading ${at(pos + done)}`, { offset: pos + done }));
        done += n;
        if (done < buf.length) step();
        else resolve();
      });
    step();
  });
}

function pwriteFully(fd: number, buf: Uint8Array, pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const step = (): void =>
      write(fd, buf, done, buf.length - done, pos + done, (err, n) => {
        if (err) return reject(err);
        done += n;
        if (done < buf.length) step();
        else resolve();
      });
    if (buf.length === 0) resolve();
    else step();
  });
}

/**
 * The stored bytes [offset, offset + length) of chunk k: read from the descriptor into `into` or a reused buffer
 * (`own` true: give it back), or a view of bytes in memory.
 */
async function stored(a: BatchArgs, k: number, offset: number, length: number, into?: Uint8Array): Promise<{ bytes: Uint8Array; own: boolean }> {
  const input = a.input;
  if ('fd' in input) {
    const bytes = into ?? takeBuffer(length);
    await preadFully(input.fd, bytes, offset);
    return { bytes, own: !into };
  }
  const src = 'image' in input ? input.image.subarray(offset, offset + length) : input.bytes[k];
  if (src.length !== length) throw new DmgkitError('TRUNCATED', `stored bytes ${at(offset)} end early`, { offset });
  if (into) into.set(src);
  return { bytes: into ?? src, own: false };
}

/** Decodes chunk k; resolves to its decoded range [From, To) (`own`: a reused buffer to give back once written). */
async function oneChunk(a: BatchArgs, k: number): Promise<{ bytes: Uint8Array; own: boolean }> {
  const c = a.chunks;
  const b = k * BATCH_FIELDS;
  const from = c[b + F.From];
  const to = c[b + F.To];
  const sink = a.sink;
  if (c[b + F.Type] === CHUNK_RAW) {
    // Only the wanted range is read, straight into the slot when there is one.
    const into = sink && 'slot' in sink ? sink.slot.subarray(c[b + F.Dest], c[b + F.Dest] + to - from) : undefined;
    return stored(a, k, c[b + F.InOffset] + from, to - from, into);
  }
  const outLength = c[b + F.OutLength];
  const input = await stored(a, k, c[b + F.InOffset], c[b + F.InLength]);
  // Straight into the slot when the whole chunk is wanted, else into a reused buffer.
  const direct = sink && 'slot' in sink && from === 0 && to === outLength;
  const out = direct ? sink.slot.subarray(c[b + F.Dest], c[b + F.Dest] + outLength) : takeBuffer(outLength);
  try {
    await inflateIntoAsync(input.bytes, out);
  } catch (e) {
    if (!direct) giveBack(out);
    throw e;
  } finally {
    if (input.own) giveBack(input.bytes);
  }
  return { bytes: out.subarray(from, to), own: !direct };
}

export async function runBatchNative(a: BatchArgs): Promise<BatchResult> {
  const n = a.chunks.length / BATCH_FIELDS;
  const crcs: number[] = [];
  const errors: (WireError | null)[] = [];
  for (let k = 0; k < n; k++) {
    try {
      const { bytes: data, own } = await oneChunk(a, k);
      const dest = a.chunks[k * BATCH_FIELDS + F.Dest];
      const sink = a.sink;
      try {
        if (sink && 'fd' in sink) await pwriteFully(sink.fd, data, dest);
        else if (sink && 'slot' in sink && data.buffer !== sink.slot.buffer) sink.slot.set(data, dest);
        crcs.push(a.crc ? crc32Fast(data) : 0);
      } finally {
        if (own) giveBack(data);
      }
      errors.push(null);
    } catch (e) {
      crcs.push(0);
      errors.push(toWireError(e, 'CORRUPT_CHUNK'));
      if (!a.keepGoing) break;
    }
  }
  return { crcs, errors };
}

/** Runs of zlib and raw chunks (and nothing else). */
export function nativeBatchAccepts(a: BatchArgs): boolean {
  const c = a.chunks;
  for (let b = 0; b < c.length; b += BATCH_FIELDS) if (c[b + F.Type] !== CHUNK_ZLIB && c[b + F.Type] !== CHUNK_RAW) return false;
  return true;
}

registerNativeTask<BatchArgs, BatchResult>('udif.batch', { accepts: nativeBatchAccepts, run: runBatchNative });
