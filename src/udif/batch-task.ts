/**
 * The pool task that does a run of consecutive chunks end to end on one thread (registered as 'udif.batch'):
 * read the stored bytes itself (positional reads on the image's file descriptor, a shared view of in-memory
 * bytes, or bytes handed over), decode into reusable buffers, CRC-32 the decoded range, and write it at its
 * offset (positional writes on the output's descriptor) or into a shared slot the caller writes out in order.
 * Node's fs is used only for descriptors (browsers hand bytes over and use slots), so this module is browser-safe.
 */
import { DmgkitError, at } from '../errors.js';
import { crc32Fast } from '../util/crc32-fast.js';
import { registerTask, toWireError, type WireError } from '../pool/registry.js';
import { CHUNK_RAW } from './chunk-types.js';
import { loadDecoders, requireCodec } from './chunk-codecs.js';
import { fsSync } from '#platform';

const fs = fsSync;

/** Numbers per chunk in BatchArgs.chunks. */
export const BATCH_FIELDS = 7;
/** Field order: type, stored offset, stored length, decoded length, first and end byte wanted (within the decoded chunk), destination. */
export const enum F {
  Type = 0,
  InOffset = 1,
  InLength = 2,
  OutLength = 3,
  From = 4,
  To = 5,
  Dest = 6,
}

export interface BatchArgs {
  /** BATCH_FIELDS numbers per chunk (see F). Dest: file position (fd sink) or offset in the slot (slot sink). */
  chunks: Float64Array;
  /**
   * Where the stored bytes are: a descriptor, a (shared) view of the whole image file, or one array per chunk
   * (a raw chunk's: only its wanted range [From, To)).
   */
  input: { fd: number } | { image: Uint8Array } | { bytes: Uint8Array[] };
  /** Where the decoded range goes; null: nowhere (CRC only). */
  sink: { fd: number } | { slot: Uint8Array } | null;
  crc: boolean;
  /** Go on after a chunk fails (its range is left unwritten: zeros in a new sparse file); else stop there. */
  keepGoing: boolean;
}

export interface BatchResult {
  /** Per chunk done: the CRC-32 of its decoded range (0 unless crc). */
  crcs: number[];
  /** Per chunk done: null, or why it failed. */
  errors: (WireError | null)[];
}

let inBuf = new Uint8Array(0);
let outBuf = new Uint8Array(0);
function scratch(kind: 'in' | 'out', n: number): Uint8Array {
  if (kind === 'in') {
    if (inBuf.length < n) inBuf = new Uint8Array(Math.max(n, inBuf.length * 2));
    return inBuf.subarray(0, n);
  }
  if (outBuf.length < n) outBuf = new Uint8Array(Math.max(n, outBuf.length * 2));
  return outBuf.subarray(0, n);
}

function preadFully(fd: number, buf: Uint8Array, pos: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = fs!.readSync(fd, buf, done, buf.length - done, pos + done);
    if (n === 0) throw new DmgkitError('TRUNCATED', `the image ended early while reading ${at(pos + done)}`, { offset: pos + done });
    done += n;
  }
}

function pwriteFully(fd: number, buf: Uint8Array, pos: number): void {
  let done = 0;
  while (done < buf.length) done += fs!.writeSync(fd, buf, done, buf.length - done, pos + done);
}

function storedBytes(a: BatchArgs, k: number, offset: number, length: number, into?: Uint8Array): Uint8Array {
  const input = a.input;
  if ('fd' in input) {
    if (!fs) throw new DmgkitError('UNSUPPORTED', 'file descriptors need Node');
    const buf = into ?? scratch('in', length);
    preadFully(input.fd, buf, offset);
    return buf;
  }
  const src = 'image' in input ? input.image.subarray(offset, offset + length) : input.bytes[k];
  if (src.length !== length) throw new DmgkitError('TRUNCATED', `stored bytes ${at(offset)} end early`, { offset });
  if (into) into.set(src);
  return src;
}

/** Decodes one chunk; returns the decoded range [From, To). */
function oneChunk(a: BatchArgs, k: number): Uint8Array {
  const c = a.chunks;
  const b = k * BATCH_FIELDS;
  const type = c[b + F.Type];
  const inOffset = c[b + F.InOffset];
  const inLength = c[b + F.InLength];
  const outLength = c[b + F.OutLength];
  const from = c[b + F.From];
  const to = c[b + F.To];
  const sink = a.sink;
  // Decode straight into the slot when the whole chunk is wanted, else into the reusable buffer.
  const direct = sink && 'slot' in sink && from === 0 && to === outLength ? sink.slot.subarray(c[b + F.Dest], c[b + F.Dest] + outLength) : null;
  if (type === CHUNK_RAW) return storedBytes(a, k, inOffset + from, to - from, direct ?? undefined); // read only the range
  const codec = requireCodec(type, 'decoder');
  const input = storedBytes(a, k, inOffset, inLength);
  let out: Uint8Array;
  if (direct) {
    out = direct;
    codec.decode(input, out);
  } else {
    out = scratch('out', outLength);
    codec.decode(input, out);
  }
  return out.subarray(from, to);
}

export function runBatch(a: BatchArgs): BatchResult {
  const n = a.chunks.length / BATCH_FIELDS;
  const crcs: number[] = [];
  const errors: (WireError | null)[] = [];
  for (let k = 0; k < n; k++) {
    try {
      const data = oneChunk(a, k);
      const dest = a.chunks[k * BATCH_FIELDS + F.Dest];
      const sink = a.sink;
      if (sink && 'fd' in sink) pwriteFully(sink.fd, data, dest);
      else if (sink && 'slot' in sink && data.buffer !== sink.slot.buffer) sink.slot.set(data, dest);
      crcs.push(a.crc ? crc32Fast(data) : 0);
      errors.push(null);
    } catch (e) {
      crcs.push(0);
      errors.push(toWireError(e, 'CORRUPT_CHUNK'));
      if (!a.keepGoing) break;
    }
  }
  return { crcs, errors };
}

registerTask<BatchArgs, BatchResult>('udif.batch', async (a) => {
  // decoders this thread has not registered yet (a worker) are imported once, through the codec table
  const types = new Set<number>();
  for (let k = 0; k < a.chunks.length; k += BATCH_FIELDS) types.add(a.chunks[k + F.Type]);
  await loadDecoders(types);
  return runBatch(a);
});
