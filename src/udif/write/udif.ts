/**
 * The streaming UDIF writer: data fork chunk by chunk, then the XML plist, then the `koly` trailer — one pass, so
 * the output can go to a pipe. Memory holds the chunks in flight (bounded by the window) and the block tables.
 *
 * This thread reads the disk in chunk-sized cells, in order; each cell is done end to end by the 'udif.encode'
 * task (./encode-task.ts: its CRC-32, its zero runs, its encoding) on the pool's threads; this thread then takes
 * the results in disk order, lays out the chunks and combines the CRCs (crc32Combine: nothing is read twice), so
 * the bytes written do not depend on the thread count. With a fixed or content-derived segment ID the whole file
 * is deterministic.
 */
import { DmgkitError } from '../../errors.js';
import type { ByteSource } from '../../io/source.js';
import { crc32, crc32Combine, crc32Zeros } from '../../util/crc32.js';
import { sha256 } from '../../util/sha256.js';
import { lend } from '../../util/lent.js';
import { canEncode, codecEntry } from '../../codecs/table.js';
import { crc32Checksum, type UdifChecksum } from '../checksum.js';
import { CHUNK_IGNORE, CHUNK_RAW, CHUNK_TERMINATOR, CHUNK_ZERO } from '../chunk-types.js';
import { flattenedKoly } from '../koly.js';
import { type MishChunk, serializeMish } from '../mish.js';
import type { Resource, ResourceFork } from '../resources.js';
import { SECTOR } from '../layout.js';
import { InlinePool, orderedMap, type TaskPool } from '../../pool/index.js';
import { checkPlan, HDIUTIL_ATTRIBUTES, type ImagePlan, type RunKind, type TablePlan } from './plan.js';
import { serializeResources } from './resources.js';
import { ENCODE_TASK, encodeCell, type EncodeCellArgs, type EncodeCellResult, MIN_ZERO_SPLIT_SECTORS } from './encode-task.js';

export { MIN_ZERO_SPLIT_SECTORS };
/** A source chunk kept as one chunk up to this size (hdiutil's UDRO chunks can exceed 2048 sectors). */
export const MAX_KEPT_SECTORS = 16384;
/** Most chunk sectors accepted (64 MiB chunks: the reader's default chunk limit). */
export const MAX_CHUNK_SECTORS = 131072;

/** Encodes one chunk on the calling thread (pre-encoded chunks, an external tool); `sector`: its first disk sector. */
export type ChunkEncodeFn = (data: Uint8Array, sector: number) => Uint8Array;

export interface UdifWriteOptions {
  /** Chunk type of stored data: CHUNK_RAW (UDRO/UDRW) or a codec type of src/codecs/table.ts. */
  chunkType: number;
  /** Codec level; default: the codec's default. */
  level?: number;
  /** Sectors per chunk; default: the codec's (2048 = 1 MiB). */
  chunkSectors?: number;
  /**
   * Where cells are encoded: a pool that runs the 'udif.encode' task (./encode-pool.ts makes one in Node; an
   * InlinePool works anywhere since this module registers the task); default: this thread.
   */
  pool?: TaskPool;
  /**
   * Encode chunks with this function on the calling thread instead of the codec's encoder (no pool; the chunk
   * type is still `chunkType`; a result not smaller than its input is stored raw).
   */
  encoder?: ChunkEncodeFn;
  /**
   * Chunks in flight; default 4 × the pool's threads (3 inline): room for the calling thread to go on while the
   * oldest chunk is on a worker still starting (the encode pool gives a starting worker its first jobs).
   */
  window?: number;
  /** 16-byte segment ID, or 'content' for one derived from the image's tables and checksums; default random. */
  segmentId?: Uint8Array | 'content';
  /** The consumer gives each yielded piece back with releasePiece (src/write/image.ts) once it has written it. */
  reusePieces?: boolean;
  /** Decoded bytes done so far / total, after each chunk is written. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

interface Job {
  table: number;
  /** CHUNK_ZERO or CHUNK_IGNORE for runs not read; the stored type for a cell. */
  type: number;
  sectorStart: number;
  sectorCount: number;
  /** A cell read: its bytes, to encode (zero runs split off unless `stored`). */
  cell?: Uint8Array;
  /** The cell is free space: all zeros becomes an ignore chunk (merged with the ignore chunk before it). */
  free?: boolean;
  /** The cell is a source chunk kept as it is: no zero split. */
  stored?: boolean;
  /** The cell's buffer is the writer's: reused for a later cell once this one is done. */
  own?: boolean;
  /** Ignore chunks of a free run merge with the ignore chunk before them. */
  merge?: boolean;
}

/** Throws the signal's reason (an AbortError by default), as web APIs do. */
function checkAbort(signal?: AbortSignal): void {
  signal?.throwIfAborted();
}

/**
 * A disk read once, in order, whose size is known only at its end (a pipe): `next(n)` resolves to the next n
 * bytes, fewer only at the end (then empty from there on).
 */
export interface SequentialInput {
  next(length: number): Promise<Uint8Array>;
}

function isSequential(d: ByteSource | SequentialInput): d is SequentialInput {
  return typeof (d as SequentialInput).next === 'function' && typeof (d as ByteSource).read !== 'function';
}

/** The UDIF image of `disk` laid out by `plan`, as a sequence of byte pieces (concatenate them for the file). */
export async function* writeUdifImage(disk: ByteSource | SequentialInput, plan: ImagePlan, opts: UdifWriteOptions): AsyncGenerator<Uint8Array> {
  const sequential = isSequential(disk);
  let diskSectors = 0;
  if (sequential) {
    // One table whose size is learnt at the end of the input; the tables follow the data, so it streams.
    if (plan.tables.length !== 1 || plan.tables[0].runs || plan.tables[0].firstSector !== 0) {
      throw new DmgkitError('INVALID_ARGUMENT', 'a disk read as a stream is written as one whole-disk table');
    }
  } else {
    if (disk.size % SECTOR !== 0) throw new DmgkitError('INVALID_ARGUMENT', `disk size ${disk.size} is not a multiple of 512`);
    diskSectors = disk.size / SECTOR;
    checkPlan(plan, diskSectors);
  }
  const type = opts.chunkType;
  const entry = type === CHUNK_RAW ? undefined : codecEntry(type);
  if (type !== CHUNK_RAW && !opts.encoder && !(entry && canEncode(entry))) {
    throw new DmgkitError('UNSUPPORTED_CODEC', `dmgkit cannot write ${entry ? `${entry.title} (${entry.format})` : `chunk type 0x${type.toString(16)}`} chunks yet`, { chunkType: type });
  }
  const level = opts.level ?? entry?.defaultLevel ?? 0;
  if (entry && (level < entry.minLevel || level > entry.maxLevel || !Number.isInteger(level))) {
    throw new DmgkitError('INVALID_ARGUMENT', `${entry.format} takes levels ${entry.minLevel}..${entry.maxLevel}, not ${level}`);
  }
  const chunkSectors = opts.chunkSectors ?? entry?.chunkSectors ?? 2048;
  if (!Number.isInteger(chunkSectors) || chunkSectors < 1 || chunkSectors > MAX_CHUNK_SECTORS) {
    throw new DmgkitError('INVALID_ARGUMENT', `chunk size of ${chunkSectors} sectors is outside 1..${MAX_CHUNK_SECTORS}`);
  }
  const pool = opts.encoder ? new InlinePool() : opts.pool ?? new InlinePool();
  const ownsPool = !!opts.encoder || !opts.pool;
  const window = Math.max(1, opts.window ?? (pool.threads > 1 ? 4 * pool.threads : 3));
  /** Cells read ahead of the one in turn (see jobs()). */
  const readAhead = Math.min(window, Math.max(2, 2 * pool.threads));
  // Cells are read into buffers of the writer's own when the source can (readInto), and go to other threads in
  // such buffers: a source's view may share its buffer with other data, which must not be cloned whole. Nothing is
  // transferred: detaching an ArrayBuffer (what a transfer does to the sender's) invalidates V8's
  // array-buffer-detaching protector for the whole thread, and from then on every typed-array access in optimised
  // code checks for a detached buffer (measured after one detach, steady state: the LZFSE encoder +20-25 % CPU,
  // bzip2 +13-15 %, the XZ decoder +24 % instructions). So the cells are shared memory where there is
  // SharedArrayBuffer (no copy either), else cloned; a shared cell of the writer's own takes its encoding back
  // (`intoCell`, ./encode-task.ts), other results are cloned.
  const copyCells = pool.threads > 1 && !opts.encoder;
  const sharedCells = copyCells && typeof SharedArrayBuffer !== 'undefined';
  const cellBytes = chunkSectors * SECTOR;
  const spares: Uint8Array[] = [];
  const ownBuffer = (n: number): Uint8Array =>
    n === cellBytes && spares.length ? spares.pop()! : new Uint8Array(sharedCells ? new SharedArrayBuffer(n) : new ArrayBuffer(n));
  /** A cell's bytes, and whether the buffer is the writer's (reusable once the cell is done). */
  const readCell = async (src: ByteSource, offset: number, n: number): Promise<{ cell: Uint8Array; own: boolean }> => {
    if (src.readInto) {
      const cell = ownBuffer(n);
      await src.readInto(offset, cell);
      return { cell, own: true };
    }
    return ownCopy(await src.read(offset, n));
  };
  const ownCopy = (data: Uint8Array): { cell: Uint8Array; own: boolean } => {
    if (!copyCells) return { cell: data, own: false };
    const cell = ownBuffer(data.length);
    cell.set(data);
    return { cell, own: true };
  };
  // Raw images: hdiutil writes decompressBufferRequested 0; compressed: chunk size + a per-codec margin (the
  // largest chunk when a kept source chunk is larger).
  const tableMax: number[] = [];
  const bufferRequested = (ti: number) => (entry ? Math.max(chunkSectors, tableMax[ti] ?? 0) + entry.bufferExtraSectors : 0);

  const tables = plan.tables.map((t) => ({ ...t }));
  const tableCrc: number[] = tables.map(() => 0);
  const chunks: MishChunk[][] = tables.map(() => []);
  const totalBytes = sequential ? 0 : (disk as ByteSource).size;
  let doneBytes = 0;

  /** The stream's cells in order; the table's (and disk's) size is set when the input ends. */
  async function* streamJobs(input: SequentialInput): AsyncGenerator<Job> {
    tableMax[0] = chunkSectors;
    let s = 0;
    for (;;) {
      checkAbort(opts.signal);
      const want = chunkSectors * SECTOR;
      let data = await input.next(want);
      if (data.length === 0) break;
      if (data.length % SECTOR !== 0) {
        // The last bytes of the stream, padded with zeros to a whole sector.
        const padded = new Uint8Array(Math.ceil(data.length / SECTOR) * SECTOR);
        padded.set(data);
        data = padded;
      }
      yield { table: 0, type, sectorStart: s, sectorCount: data.length / SECTOR, ...ownCopy(data) };
      s += data.length / SECTOR;
      if (data.length < want) break;
    }
    tables[0].sectorCount = s;
    diskSectors = s;
  }

  /** The jobs of the plan in disk order; a job to read carries `read` (the disk offset of its cell) instead of `cell`. */
  function* plannedJobs(): Generator<Job & { read?: number }> {
    for (let ti = 0; ti < tables.length; ti++) {
      const t = tables[ti];
      const runs = t.runs ?? (t.sectorCount ? [{ kind: 'data' as RunKind, sectorStart: 0, sectorCount: t.sectorCount }] : []);
      for (const run of runs) {
        const end = run.sectorStart + run.sectorCount;
        if (run.kind === 'ignore' || run.kind === 'zero') {
          yield { table: ti, type: run.kind === 'ignore' ? CHUNK_IGNORE : CHUNK_ZERO, sectorStart: run.sectorStart, sectorCount: run.sectorCount };
          continue;
        }
        // Chunks from the run's start (as hdiutil cuts them); a source chunk kept as it is stays whole up to 8 MiB.
        const step = run.kind === 'stored' && run.sectorCount <= MAX_KEPT_SECTORS ? run.sectorCount : chunkSectors;
        tableMax[ti] = Math.max(tableMax[ti] ?? 0, Math.min(step, run.sectorCount));
        for (let s = run.sectorStart; s < end; s += step) {
          const n = Math.min(end - s, step);
          yield { table: ti, type, sectorStart: s, sectorCount: n, read: (t.firstSector + s) * SECTOR, free: run.kind === 'free', stored: run.kind === 'stored' };
        }
      }
    }
  }

  /**
   * The jobs with their cells read, `readAhead` cells ahead: the reads of the next cells run while this thread
   * encodes or waits, so a job is queued for the pool as soon as a thread frees up (measured, 256 MiB to ULFO on
   * 2 threads: the calling thread found the queue empty after each of its jobs, and waited 1.3 ms on median for
   * the next read, without read-ahead; 0.6 ms with it, and writes not awaited one by one: src/write/node.ts). A
   * source that is slow to answer (HTTP) has that many requests in flight.
   */
  async function* jobs(): AsyncGenerator<Job> {
    if (sequential) {
      yield* streamJobs(disk as SequentialInput);
      return;
    }
    const src = disk as ByteSource;
    const planned = plannedJobs();
    const ahead: { job: Job & { read?: number }; cell?: Promise<{ cell: Uint8Array; own: boolean }> }[] = [];
    let more = true;
    let reading = 0;
    try {
      for (;;) {
        while (more && reading < readAhead) {
          const next = planned.next();
          if (next.done) {
            more = false;
            break;
          }
          const job = next.value;
          let cell: Promise<{ cell: Uint8Array; own: boolean }> | undefined;
          if (job.read !== undefined) {
            checkAbort(opts.signal);
            cell = readCell(src, job.read, job.sectorCount * SECTOR);
            cell.catch(() => undefined); // awaited in its turn below (or in finally)
            reading++;
          }
          ahead.push({ job, cell });
        }
        const a = ahead.shift();
        if (!a) return;
        const { read: _, ...job } = a.job;
        if (a.cell) {
          reading--;
          Object.assign(job, await a.cell);
        }
        yield job;
      }
    } finally {
      // Reads still running go into the writer's buffers: let them end before the writer returns.
      await Promise.allSettled(ahead.map((a) => a.cell));
    }
  }

  let pos = 0;
  let dataCrc = 0;
  const blkx: Resource[] = [];
  const checksums: UdifChecksum[] = [];
  let closed = 0;

  function closeTables(upTo: number): void {
    for (; closed < upTo; closed++) {
      const t = tables[closed];
      const list = chunks[closed];
      list.push({ type: CHUNK_TERMINATOR, comment: 0, sectorStart: t.sectorCount, sectorCount: 0, compressedOffset: pos, compressedLength: 0 });
      const checksum = crc32Checksum(tableCrc[closed]);
      checksums.push(checksum);
      blkx.push(blkxResource(t, checksum, list, bufferRequested(closed)));
      chunks[closed] = [];
    }
  }

  function push(list: MishChunk[], ctype: number, sectorStart: number, sectorCount: number, length = 0, merge = false): void {
    const prev = list[list.length - 1];
    if (merge && prev && prev.type === CHUNK_IGNORE && prev.sectorStart + prev.sectorCount === sectorStart) {
      prev.sectorCount += sectorCount;
      return;
    }
    list.push({ type: ctype, comment: 0, sectorStart, sectorCount, compressedOffset: pos, compressedLength: length });
  }

  /** Lays out a job's chunks in order; returns the bytes to write, if any. */
  function finish(job: Job, r: EncodeCellResult | null): Uint8Array | null {
    closeTables(job.table);
    const list = chunks[job.table];
    const ti = job.table;
    doneBytes += job.sectorCount * SECTOR;
    if (!r) {
      // Ignore chunks are left out of the table's CRC (hdiutil's), zero-fill chunks count as zeros.
      if (job.type === CHUNK_ZERO) tableCrc[ti] = crc32Zeros(job.sectorCount * SECTOR, tableCrc[ti]);
      push(list, job.type, job.sectorStart, job.sectorCount, 0, job.merge);
      return null;
    }
    const reusable = job.own && job.cell!.length === cellBytes;
    const spare = () => spares.length < window && spares.push(job.cell!);
    if (r.cellFree && reusable) spare();
    const n = job.sectorCount;
    if (r.a === r.b) {
      if (job.free) push(list, CHUNK_IGNORE, job.sectorStart, n, 0, true);
      else {
        tableCrc[ti] = crc32Combine(tableCrc[ti], r.crc, n * SECTOR);
        push(list, CHUNK_ZERO, job.sectorStart, n);
      }
      return null;
    }
    tableCrc[ti] = crc32Combine(tableCrc[ti], r.crc, n * SECTOR);
    const out = r.out!;
    if (r.a > 0) push(list, CHUNK_ZERO, job.sectorStart, r.a);
    push(list, r.type, job.sectorStart + r.a, r.b - r.a, out.length);
    if (r.b < n) push(list, CHUNK_ZERO, job.sectorStart + r.b, n - r.b);
    dataCrc = crc32Combine(dataCrc, r.outCrc, out.length);
    pos += out.length;
    // The stored bytes are in the cell (stored raw, or its encoding put there: ./encode-task.ts): the cell serves
    // again once the consumer has written them and gives the piece back.
    if (!r.cellFree && reusable && opts.reusePieces) lend(out, spare);
    return out;
  }

  const encode = async (job: Job): Promise<[Job, EncodeCellResult | null]> => {
    if (!job.cell) return [job, null];
    const args: EncodeCellArgs = { type, level, input: job.cell, split: !job.stored, lend: opts.reusePieces, intoCell: sharedCells && job.own };
    if (opts.encoder) {
      const enc = opts.encoder;
      const first = tables[job.table].firstSector + job.sectorStart;
      return [job, encodeCell(args, type === CHUNK_RAW ? null : (d) => enc(d, first + (d.byteOffset - job.cell!.byteOffset) / SECTOR))];
    }
    return [job, await pool.run<EncodeCellResult>(ENCODE_TASK, args)];
  };
  try {
    const done = orderedMap(jobs(), encode, {
      maxInFlight: window,
      weight: (j) => j.cell?.length ?? 0,
      maxWeight: window * chunkSectors * SECTOR,
      signal: opts.signal,
    });
    for await (const [job, result] of done) {
      const out = finish(job, result);
      if (out) yield out;
      opts.onProgress?.(doneBytes, totalBytes);
    }
  } finally {
    if (ownsPool) await pool.close();
  }
  closeTables(tables.length);

  const fork: ResourceFork = new Map();
  fork.set('blkx', blkx);
  for (const r of plan.resources ?? []) {
    if (r.type === 'blkx') continue;
    const list = fork.get(r.type);
    if (list) list.push(r);
    else fork.set(r.type, [r]);
  }
  if (!fork.has('plst')) fork.set('plst', [defaultPlst()]);
  const xml = serializeResources(fork);
  let master = 0;
  for (const c of checksums) master = crc32(c.data, master);
  const dataChecksum = crc32Checksum(dataCrc);
  const masterChecksum = crc32Checksum(master);
  let segmentId: Uint8Array;
  if (opts.segmentId instanceof Uint8Array) {
    if (opts.segmentId.length !== 16) throw new DmgkitError('INVALID_ARGUMENT', `segment ID must be 16 bytes, not ${opts.segmentId.length}`);
    segmentId = opts.segmentId;
  } else if (opts.segmentId === 'content') {
    segmentId = contentSegmentId(xml, dataChecksum.data, masterChecksum.data);
  } else {
    segmentId = crypto.getRandomValues(new Uint8Array(16));
    segmentId[6] = (segmentId[6] & 0x0f) | 0x40;
    segmentId[8] = (segmentId[8] & 0x3f) | 0x80;
  }
  yield xml;
  yield flattenedKoly({
    dataForkLength: pos,
    xmlLength: xml.length,
    segmentId,
    dataChecksum,
    masterChecksum,
    imageVariant: plan.variant,
    sectorCount: diskSectors,
  });
}

function blkxResource(t: TablePlan, checksum: UdifChecksum, list: MishChunk[], bufferRequested: number): Resource {
  const data = serializeMish({
    version: 1,
    firstSector: t.firstSector,
    sectorCount: t.sectorCount,
    dataStart: 0,
    decompressBufferRequested: bufferRequested,
    blocksDescriptor: t.blocksDescriptor >>> 0,
    checksum,
    chunks: list,
  });
  const r: Resource = { type: 'blkx', id: t.id, name: t.name, attributes: t.attributes ?? HDIUTIL_ATTRIBUTES, data };
  if (t.cfName !== null) r.cfName = t.cfName ?? t.name;
  return r;
}

/** The `plst` resource hdiutil writes (1032 bytes, two 16-bit ones at 516 and 518), read off real images. */
export function defaultPlst(): Resource {
  const data = new Uint8Array(1032);
  data[517] = 1;
  data[519] = 1;
  return { type: 'plst', id: 0, name: '', attributes: HDIUTIL_ATTRIBUTES, data };
}

/** A UUID (version 8, RFC 9562 "custom") from SHA-256 of the plist and the data-fork and master checksums. */
function contentSegmentId(xml: Uint8Array, dataCrc: Uint8Array, masterCrc: Uint8Array): Uint8Array {
  const buf = new Uint8Array(xml.length + 8);
  buf.set(xml);
  buf.set(dataCrc, xml.length);
  buf.set(masterCrc, xml.length + 4);
  const id = sha256(buf).slice(0, 16);
  id[6] = (id[6] & 0x0f) | 0x80;
  id[8] = (id[8] & 0x3f) | 0x80;
  return id;
}
