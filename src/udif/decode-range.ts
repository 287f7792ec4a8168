/**
 * The decode pipeline's core (browser-safe): a range of the decoded disk, chunk runs handed to a TaskPool as
 * 'udif.batch' jobs (see batch-task.ts), results taken in disk order with a bounded number in flight. The threads
 * read the stored bytes and write the decoded bytes themselves where they can (a file descriptor in, a file
 * descriptor out); the calling thread only coordinates: it orders the results, combines CRCs, fills zero runs,
 * reports progress and lost ranges. With an InlinePool everything runs on the calling thread, the same way.
 */
import { DmgkitError } from '../errors.js';
import { InlinePool, type TaskPool } from '../pool/pool.js';
import { orderedMap } from '../pool/ordered.js';
import { fromWireError } from '../pool/registry.js';
import { BufferSource } from '../io/buffer-source.js';
import { checkRange } from '../io/source.js';
import { isZeroFill } from './chunk-types.js';
import { chunkError, damagedChunk } from './decode.js';
import type { ChunkRef } from './layout.js';
import type { UdifImage } from './image.js';
import { BATCH_FIELDS, type BatchArgs, type BatchResult } from './batch-task.js';
import { isShared, toShared } from '../util/shared.js';

/** Where decoded bytes go. */
export type RangeSink =
  /** Positional writes on a descriptor by whichever thread decoded; position = disk offset - start + base. */
  | { kind: 'fd'; fd: number; base?: number; zeros: 'hole' | 'write' }
  /** In order on the calling thread; `write` must be done with the bytes when its promise resolves (they are reused). */
  | { kind: 'stream'; write: (bytes: Uint8Array) => Promise<void> }
  /** Nowhere (CRC only: verify). */
  | { kind: 'none' };

/** One piece of the range, reported in disk order once its bytes are written. */
export interface RangePiece {
  offset: number;
  length: number;
  /** The chunk it comes from; absent for a gap between chunks. */
  chunk?: ChunkRef;
  /** No stored data: a zero-fill chunk or a gap (written as a hole or zeros). */
  zero: boolean;
  /** CRC-32 of the piece's bytes (with opts.crc; for zero pieces use crc32Zeros). */
  crc?: number;
  /** Set when the chunk failed (keepGoing): the piece reads as zeros. */
  lost?: DmgkitError;
}

export interface DecodeRangeOptions {
  /** Default: an InlinePool (the calling thread). The caller owns (closes) its pool. */
  pool?: TaskPool;
  sink: RangeSink;
  crc?: boolean;
  /** On a chunk that fails to decode: report it (onPiece .lost, onLost) and go on; else throw at its place. */
  keepGoing?: boolean;
  onLost?: (range: { offset: number; length: number; error: DmgkitError }) => void;
  /** Called in disk order for every piece, after its bytes were handed to the sink. */
  onPiece?: (piece: RangePiece) => void;
  /** Decoded bytes per job (chunks are not split; default 2 MiB). */
  batchBytes?: number;
  /**
   * Jobs in flight (default 4 per pool thread, at least 2): a worker holds two (one running, one queued), and the
   * calling thread (callerRuns) must still find jobs to run while the head of the order is on a worker.
   */
  maxInFlight?: number;
  signal?: AbortSignal;
}

const ZERO_BLOCK = 1 << 20;

type Unit =
  | { kind: 'zero'; offset: number; length: number; chunk?: ChunkRef }
  | { kind: 'damaged'; offset: number; length: number; chunk: ChunkRef }
  | { kind: 'batch'; refs: ChunkRef[]; from: number[]; to: number[]; outBytes: number };

/** The range cut into zero runs, damaged chunks and batches of data chunks, in disk order. */
function* units(img: UdifImage, start: number, end: number, batchBytes: number): Generator<Unit> {
  const chunks = img.chunks;
  let i = img.chunkIndexAt(start);
  let pos = start;
  let batch: Extract<Unit, { kind: 'batch' }> | null = null;
  const flush = function* () {
    if (batch) yield batch;
    batch = null;
  };
  for (; i < chunks.length && chunks[i].outOffset < end; i++) {
    const c = chunks[i];
    if (c.outOffset > pos) {
      yield* flush();
      const gapEnd = Math.min(c.outOffset, end);
      yield { kind: 'zero', offset: pos, length: gapEnd - pos };
      pos = gapEnd;
    }
    const from = Math.max(pos, c.outOffset);
    const to = Math.min(end, c.outOffset + c.outLength);
    if (to <= from) continue;
    if (isZeroFill(c.type)) {
      yield* flush();
      yield { kind: 'zero', offset: from, length: to - from, chunk: c };
    } else if (c.damage) {
      yield* flush();
      yield { kind: 'damaged', offset: from, length: to - from, chunk: c };
    } else {
      if (batch && batch.outBytes + c.outLength > batchBytes) yield* flush();
      batch ??= { kind: 'batch', refs: [], from: [], to: [], outBytes: 0 };
      batch.refs.push(c);
      batch.from.push(from - c.outOffset);
      batch.to.push(to - c.outOffset);
      batch.outBytes += c.outLength;
    }
    pos = to;
  }
  yield* flush();
  if (pos < end) yield { kind: 'zero', offset: pos, length: end - pos };
}

/**
 * Decodes [start, end) of the disk into `opts.sink`. Resolves when every byte was handed to the sink (and every
 * job has settled); rejects with the first chunk's error in disk order (without keepGoing).
 */
export async function decodeRange(img: UdifImage, start: number, end: number, opts: DecodeRangeOptions): Promise<void> {
  checkRange(img, start, end - start);
  const pool = opts.pool ?? new InlinePool();
  const sink = opts.sink;
  const base = sink.kind === 'fd' ? (sink.base ?? 0) - start : 0;
  const batchBytes = opts.batchBytes ?? 2 << 20;
  const threaded = pool.threads > 1;
  const maxInFlight = opts.maxInFlight ?? Math.max(2, 4 * pool.threads);

  // How the threads get the stored bytes: the image's descriptor, shared memory, or bytes read here.
  const src = img.source;
  let input: BatchArgs['input'] | null = null;
  const fd = (src as { fd?: unknown }).fd; // a FileSource's descriptor (Node)
  if (typeof fd === 'number') input = { fd };
  else if (src instanceof BufferSource) {
    const whole = src.readSync(0, src.size);
    if (!threaded || isShared(whole)) input = { image: whole };
  }

  // Stream sink: each job in flight decodes into its own slot (shared memory when threads run it).
  let slots: Uint8Array[] = [];
  if (sink.kind === 'stream') {
    let most = 0;
    for (const u of units(img, start, end, batchBytes)) if (u.kind === 'batch') most = Math.max(most, u.to.reduce((s, t, k) => s + t - u.from[k], 0));
    slots = Array.from({ length: maxInFlight }, () => new Uint8Array(threaded ? new SharedArrayBuffer(most) : new ArrayBuffer(most)));
  }
  let zeroBlock: Uint8Array | null = null;
  const zeroWriter = async (offset: number, length: number) => {
    if (sink.kind === 'none' || (sink.kind === 'fd' && sink.zeros === 'hole')) return;
    zeroBlock ??= new Uint8Array(ZERO_BLOCK);
    for (let o = 0; o < length; o += ZERO_BLOCK) {
      const n = Math.min(ZERO_BLOCK, length - o);
      if (sink.kind === 'stream') await sink.write(zeroBlock.subarray(0, n));
      else await pool.run('udif.batch', zeroJob(sink.fd, base + offset + o, n));
    }
  };
  // Zeros for an fd sink go through the same positional-write path (a raw chunk of an all-zero in-memory image).
  const zeroJob = (fd: number, pos: number, n: number): BatchArgs => ({
    chunks: new Float64Array([1, 0, n, n, 0, n, pos]),
    input: { bytes: [zeroBlock!.subarray(0, n)] },
    sink: { fd },
    crc: false,
    keepGoing: false,
  });

  const lose = (offset: number, length: number, chunk: ChunkRef, error: DmgkitError): RangePiece => {
    if (!opts.keepGoing) throw error;
    opts.onLost?.({ offset, length, error });
    return { offset, length, chunk, zero: true, lost: error };
  };

  let slotIndex = 0;
  const run = async (u: Unit): Promise<{ u: Unit; r?: BatchResult; slot?: Uint8Array }> => {
    if (u.kind !== 'batch') return { u };
    const n = u.refs.length;
    const chunks = new Float64Array(n * BATCH_FIELDS);
    let dest = 0;
    const slot = sink.kind === 'stream' ? slots[slotIndex++ % slots.length] : undefined;
    for (let k = 0; k < n; k++) {
      const c = u.refs[k];
      const b = k * BATCH_FIELDS;
      chunks[b] = c.type;
      chunks[b + 1] = c.inOffset;
      chunks[b + 2] = c.inLength;
      chunks[b + 3] = c.outLength;
      chunks[b + 4] = u.from[k];
      chunks[b + 5] = u.to[k];
      chunks[b + 6] = slot ? dest : base + c.outOffset + u.from[k];
      dest += u.to[k] - u.from[k];
    }
    let jobInput: BatchArgs['input'] | null = input;
    if (!jobInput) {
      // Read here and hand over (sources without a descriptor or shared bytes: HTTP, Blob, nested containers).
      const bytes: Uint8Array[] = [];
      for (let k = 0; k < n; k++) {
        const c = u.refs[k];
        const raw = c.type === 1;
        let b: Uint8Array;
        try {
          b = await src.read(raw ? c.inOffset + u.from[k] : c.inOffset, raw ? u.to[k] - u.from[k] : c.inLength);
        } catch (e) {
          b = new Uint8Array(0); // the task reports it as truncated; keep the real reason below
          if (!opts.keepGoing) throw chunkError(e, c, img.partitions);
        }
        if (threaded) b = toShared(b); // (copied, not transferred: util/shared.ts)
        bytes.push(b);
      }
      jobInput = { bytes };
    }
    const args: BatchArgs = {
      chunks,
      input: jobInput,
      sink: sink.kind === 'fd' ? { fd: sink.fd } : slot ? { slot } : null,
      crc: !!opts.crc,
      keepGoing: !!opts.keepGoing,
    };
    return { u, r: await pool.run<BatchResult>('udif.batch', args), slot };
  };

  for await (const { u, r, slot } of orderedMap(units(img, start, end, batchBytes), run, {
    maxInFlight,
    signal: opts.signal,
  })) {
    if (u.kind === 'zero') {
      await zeroWriter(u.offset, u.length);
      opts.onPiece?.({ offset: u.offset, length: u.length, chunk: u.chunk, zero: true });
      continue;
    }
    if (u.kind === 'damaged') {
      const piece = lose(u.offset, u.length, u.chunk, damagedChunk(u.chunk));
      await zeroWriter(u.offset, u.length);
      opts.onPiece?.(piece);
      continue;
    }
    let o = 0;
    for (let k = 0; k < u.refs.length; k++) {
      const c = u.refs[k];
      const offset = c.outOffset + u.from[k];
      const length = u.to[k] - u.from[k];
      if (k >= r!.errors.length) break; // the job stopped at an earlier failure (thrown below)
      const err = r!.errors[k];
      if (err) {
        const piece = lose(offset, length, c, chunkError(fromWireError(err), c, img.partitions));
        if (sink.kind === 'stream' || (sink.kind === 'fd' && sink.zeros === 'write')) await zeroWriter(offset, length);
        opts.onPiece?.(piece);
      } else {
        if (slot && sink.kind === 'stream') await sink.write(slot.subarray(o, o + length));
        opts.onPiece?.({ offset, length, chunk: c, zero: false, crc: opts.crc ? r!.crcs[k] : undefined });
      }
      o += length;
    }
  }
}
