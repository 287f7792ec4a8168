/**
 * The streaming UDIF writer: data fork chunk by chunk, then the XML plist, then the `koly` trailer — one pass, so
 * the output can go to a pipe. Memory holds the chunks in flight (bounded by the window) and the block tables.
 *
 * Chunks are read in disk order on this thread (which also classifies zero runs and computes the tables' CRC32),
 * encoded by an EncodeRunner (possibly on several threads), and emitted in disk order, so the bytes written do not
 * depend on the thread count. With a fixed or content-derived segment ID the whole file is deterministic.
 */
import { DmgkitError } from '../../errors.js';
import type { ByteSource } from '../../io/source.js';
import { crc32, crc32Zeros } from '../../util/crc32.js';
import { sha256 } from '../../util/sha256.js';
import { canEncode, codecEntry } from '../../codecs/table.js';
import { crc32Checksum, type UdifChecksum } from '../checksum.js';
import { CHUNK_IGNORE, CHUNK_RAW, CHUNK_TERMINATOR, CHUNK_ZERO } from '../chunk-types.js';
import { flattenedKoly } from '../koly.js';
import { type MishChunk, serializeMish } from '../mish.js';
import type { Resource, ResourceFork } from '../resources.js';
import { SECTOR } from '../layout.js';
import { InlinePool, orderedMap, type TaskPool, type EncodeArgs } from '../../pool/index.js';
import { checkPlan, HDIUTIL_ATTRIBUTES, type ImagePlan, type RunKind, type TablePlan } from './plan.js';
import { serializeResources } from './resources.js';

/** Zero runs at least this long at the start or end of a chunk become zero-fill chunks of their own. */
export const MIN_ZERO_SPLIT_SECTORS = 32;
/** A source chunk kept as one chunk up to this size (hdiutil's UDRO chunks can exceed 2048 sectors). */
export const MAX_KEPT_SECTORS = 16384;
/** Most chunk sectors accepted (64 MiB chunks: the reader's default chunk limit). */
export const MAX_CHUNK_SECTORS = 131072;

export interface UdifWriteOptions {
  /** Chunk type of stored data: CHUNK_RAW (UDRO/UDRW) or a codec type of src/codecs/table.ts. */
  chunkType: number;
  /** Codec level; default: the codec's default. */
  level?: number;
  /** Sectors per chunk; default: the codec's (2048 = 1 MiB). */
  chunkSectors?: number;
  /** Where chunks are encoded (the ordered pool of src/pool, 'encode' task); default: this thread. */
  pool?: TaskPool;
  /** Chunks in flight; default: 2 × the pool's threads + 1. */
  window?: number;
  /** 16-byte segment ID, or 'content' for one derived from the image's tables and checksums; default random. */
  segmentId?: Uint8Array | 'content';
  /** Decoded bytes done so far / total, after each chunk is written. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

interface Job {
  table: number;
  type: number;
  sectorStart: number;
  sectorCount: number;
  /** The bytes to store (raw chunks). */
  stored?: Uint8Array;
  /** The bytes to encode (compressed types), kept to store them raw when encoding does not shrink them. */
  data?: Uint8Array;
  /** Ignore chunks of a free run merge with the ignore chunk before them. */
  merge?: boolean;
}

/** Index of the first sector in [from, to) of `d` that is not all zeros, or `to`. */
function firstNonZeroSector(d: Uint8Array, from: number, to: number): number {
  const aligned = d.byteOffset % 4 === 0;
  const w = aligned ? new Uint32Array(d.buffer, d.byteOffset, d.length >> 2) : null;
  for (let s = from; s < to; s++) {
    if (w) {
      for (let i = s * 128, e = i + 128; i < e; i++) if (w[i] !== 0) return s;
    } else {
      for (let i = s * SECTOR, e = i + SECTOR; i < e; i++) if (d[i] !== 0) return s;
    }
  }
  return to;
}

/** Index + 1 of the last sector in [from, to) that is not all zeros, or `from`. */
function lastNonZeroSector(d: Uint8Array, from: number, to: number): number {
  const aligned = d.byteOffset % 4 === 0;
  const w = aligned ? new Uint32Array(d.buffer, d.byteOffset, d.length >> 2) : null;
  for (let s = to - 1; s >= from; s--) {
    if (w) {
      for (let i = s * 128, e = i + 128; i < e; i++) if (w[i] !== 0) return s + 1;
    } else {
      for (let i = s * SECTOR, e = i + SECTOR; i < e; i++) if (d[i] !== 0) return s + 1;
    }
  }
  return from;
}

/** Throws the signal's reason (an AbortError by default), as web APIs do. */
function checkAbort(signal?: AbortSignal): void {
  signal?.throwIfAborted();
}

/** The UDIF image of `disk` laid out by `plan`, as a sequence of byte pieces (concatenate them for the file). */
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
  if (type !== CHUNK_RAW && !(entry && canEncode(entry))) {
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
  const pool = opts.pool ?? new InlinePool();
  const window = Math.max(1, opts.window ?? 2 * pool.threads + 1);
  // Raw images: hdiutil writes decompressBufferRequested 0; compressed: chunk size + a per-codec margin (the
  // largest chunk when a kept source chunk is larger).
  const tableMax: number[] = [];
  const bufferRequested = (ti: number) => (entry ? Math.max(chunkSectors, tableMax[ti] ?? 0) + entry.bufferExtraSectors : 0);

  const tables = plan.tables.map((t) => ({ ...t }));
  const tableCrc: number[] = tables.map(() => 0);
  const chunks: MishChunk[][] = tables.map(() => []);
  const totalBytes = sequential ? 0 : (disk as ByteSource).size;
  let doneBytes = 0;

  function* zeroJob(ti: number, sectorStart: number, sectorCount: number): Generator<Job> {
    tableCrc[ti] = crc32Zeros(sectorCount * SECTOR, tableCrc[ti]);
    yield { table: ti, type: CHUNK_ZERO, sectorStart, sectorCount };
  }

  /** The jobs of one chunk-sized cell of `data` already read, split into zero and stored pieces. */
  function* dataJobs(ti: number, cellStart: number, data: Uint8Array, kind: RunKind): Generator<Job> {
    const n = data.length / SECTOR;
    let a = 0;
    let b = n;
    if (kind !== 'stored') {
      a = firstNonZeroSector(data, 0, n);
      if (a === n) {
        tableCrc[ti] = crc32Zeros(data.length, tableCrc[ti]);
        yield { table: ti, type: CHUNK_ZERO, sectorStart: cellStart, sectorCount: n };
        return;
      }
      b = lastNonZeroSector(data, a, n);
      if (a < MIN_ZERO_SPLIT_SECTORS) a = 0;
      if (n - b < MIN_ZERO_SPLIT_SECTORS) b = n;
      if (a > 0) yield { table: ti, type: CHUNK_ZERO, sectorStart: cellStart, sectorCount: a };
    }
    tableCrc[ti] = crc32(data, tableCrc[ti]);
    const part = a === 0 && b === n ? data : data.subarray(a * SECTOR, b * SECTOR);
    if (type === CHUNK_RAW) yield { table: ti, type, sectorStart: cellStart + a, sectorCount: b - a, stored: part };
    else yield { table: ti, type, sectorStart: cellStart + a, sectorCount: b - a, data: part };
    if (b < n) yield { table: ti, type: CHUNK_ZERO, sectorStart: cellStart + b, sectorCount: n - b };
  }

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
      yield* dataJobs(0, s, data, 'data');
      s += data.length / SECTOR;
      if (data.length < want) break;
    }
    tables[0].sectorCount = s;
    diskSectors = s;
  }

  async function* jobs(): AsyncGenerator<Job> {
    if (sequential) {
      yield* streamJobs(disk as SequentialInput);
      return;
    }
    const src = disk as ByteSource;
    for (let ti = 0; ti < tables.length; ti++) {
      const t = tables[ti];
      const runs = t.runs ?? (t.sectorCount ? [{ kind: 'data' as RunKind, sectorStart: 0, sectorCount: t.sectorCount }] : []);
      for (const run of runs) {
        const end = run.sectorStart + run.sectorCount;
        if (run.kind === 'ignore') {
          yield { table: ti, type: CHUNK_IGNORE, sectorStart: run.sectorStart, sectorCount: run.sectorCount };
          continue;
        }
        if (run.kind === 'zero') {
          yield* zeroJob(ti, run.sectorStart, run.sectorCount);
          continue;
        }
        // Chunks from the run's start (as hdiutil cuts them); a source chunk kept as it is stays whole up to 8 MiB.
        const step = run.kind === 'stored' && run.sectorCount <= MAX_KEPT_SECTORS ? run.sectorCount : chunkSectors;
        tableMax[ti] = Math.max(tableMax[ti] ?? 0, Math.min(step, run.sectorCount));
        for (let s = run.sectorStart; s < end; ) {
          checkAbort(opts.signal);
          const cellEnd = Math.min(end, s + step);
          const data = await src.read((t.firstSector + s) * SECTOR, (cellEnd - s) * SECTOR);
          if (run.kind === 'free' && firstNonZeroSector(data, 0, cellEnd - s) === cellEnd - s) {
            yield { table: ti, type: CHUNK_IGNORE, sectorStart: s, sectorCount: cellEnd - s, merge: true };
          } else {
            yield* dataJobs(ti, s, data, run.kind);
          }
          s = cellEnd;
        }
      }
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

  function finish(job: Job, encoded: Uint8Array | null): Uint8Array | null {
    closeTables(job.table);
    const list = chunks[job.table];
    let stored: Uint8Array | null = null;
    let ctype = job.type;
    if (encoded) {
      stored = encoded;
      if (stored.length >= job.data!.length) {
        stored = job.data!;
        ctype = CHUNK_RAW;
      }
    } else if (job.stored) stored = job.stored;
    const prev = list[list.length - 1];
    if (job.merge && prev && prev.type === CHUNK_IGNORE && prev.sectorStart + prev.sectorCount === job.sectorStart) {
      prev.sectorCount += job.sectorCount;
    } else {
      list.push({
        type: ctype, comment: 0, sectorStart: job.sectorStart, sectorCount: job.sectorCount,
        compressedOffset: pos, compressedLength: stored ? stored.length : 0,
      });
    }
    if (stored) {
      dataCrc = crc32(stored, dataCrc);
      pos += stored.length;
    }
    doneBytes += job.sectorCount * SECTOR;
    return stored;
  }

  const encode = async (job: Job): Promise<[Job, Uint8Array | null]> => {
    if (!job.data) return [job, null];
    const args: EncodeArgs = { codec: type, level, input: job.data };
    return [job, await pool.run<Uint8Array>('encode', args)];
  };
  try {
    const done = orderedMap(jobs(), encode, {
      maxInFlight: window,
      weight: (j) => j.data?.length ?? j.stored?.length ?? 0,
      maxWeight: window * chunkSectors * SECTOR,
      signal: opts.signal,
    });
    for await (const [job, encoded] of done) {
      const out = finish(job, encoded);
      if (out) yield out;
      opts.onProgress?.(doneBytes, totalBytes);
    }
  } finally {
    if (!opts.pool) await pool.close();
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
