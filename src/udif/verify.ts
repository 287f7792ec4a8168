import { DmgkitError } from '../errors.js';
import { crc32, crc32Combine, crc32Zeros } from '../util/crc32.js';
import { type UdifChecksum, checksumHex, checksumTypeName, crc32Value, isPresent, CHECKSUM_CRC32 } from './checksum.js';
import { CHUNK_IGNORE } from './chunk-types.js';
import type { UdifImage } from './image.js';
import type { TaskPool } from '../pool/pool.js';
import type { ChunkRef } from './layout.js';
import type { RangePiece } from './decode-range.js';
import { planTwins } from './twins.js';

export interface VerifyOptions {
  /**
   * The pool that decodes (and CRCs) chunk runs; default: the calling thread. Node callers get one sized for the
   * image from decodePool(threadsFor(img, threads)) in ./to-file.ts, and close it.
   */
  pool?: TaskPool;
  /** Kept for callers of the earlier API; threads come from `pool`. */
  threads?: number;
  signal?: AbortSignal;
}

export type ChecksumStatus = 'ok' | 'mismatch' | 'absent' | 'unsupported' | 'unreadable';

export interface ChecksumResult {
  /** 'data fork', 'master', or 'partition N (name)'. */
  what: string;
  partition?: number;
  status: ChecksumStatus;
  type: string;
  expected?: string;
  actual?: string;
  /** For 'unreadable': why the covered data could not be read. */
  error?: string;
  /** An explanation that goes with the status (e.g. how a non-Apple writer computed a mismatching CRC). */
  note?: string;
}

export interface VerifyReport {
  ok: boolean;
  results: ChecksumResult[];
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0');

function judge(what: string, c: UdifChecksum, actual: () => number | undefined): ChecksumResult {
  const type = checksumTypeName(c.type);
  if (!isPresent(c)) return { what, status: 'absent', type };
  const expected = crc32Value(c);
  if (c.type !== CHECKSUM_CRC32 || expected === null) return { what, status: 'unsupported', type, expected: checksumHex(c) };
  const a = actual();
  if (a === undefined) return { what, status: 'unreadable', type, expected: hex8(expected) };
  return { what, status: a === expected ? 'ok' : 'mismatch', type, expected: hex8(expected), actual: hex8(a) };
}

/** CRC32 of the stored data fork [dataForkOffset, +dataForkLength). */
export async function dataForkCrc(img: UdifImage): Promise<number> {
  const { dataForkOffset, dataForkLength } = img.koly;
  if (dataForkOffset + dataForkLength > img.source.size) {
    throw new DmgkitError('TRUNCATED', `data fork [${dataForkOffset}, +${dataForkLength}) runs past the end of the file`, { offset: dataForkOffset });
  }
  let crc = 0;
  const step = 4 << 20;
  for (let o = 0; o < dataForkLength; o += step) {
    crc = crc32(await img.source.read(dataForkOffset + o, Math.min(step, dataForkLength - o)), crc);
  }
  return crc;
}

/**
 * Verifies the data-fork CRC32, every partition's CRC32 (over decoded sectors of all chunks except type 2) and the
 * master CRC32 (over the partitions' stored checksums in table order). Partition data is decoded in one pass.
 */
export async function verifyImage(img: UdifImage, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const results: ChecksumResult[] = [];
  const k = img.koly;

  let dataCrc: number | undefined;
  let dataErr: string | undefined;
  // The data-fork CRC runs on this thread while the pool decodes (this thread only coordinates otherwise).
  const dataFork =
    isPresent(k.dataChecksum) && k.dataChecksum.type === CHECKSUM_CRC32
      ? dataForkCrc(img).then(
          (c) => void (dataCrc = c),
          (e) => void (dataErr = (e as Error).message),
        )
      : Promise.resolve();

  const parts = img.partitions;
  const crcs = new Array<number>(parts.length).fill(0);
  // The same CRC with free-space (type 2) sectors counted as zeros, as some non-Apple writers compute it.
  const withFree = new Array<number>(parts.length).fill(0);
  const failed = new Map<number, string>();
  const wanted = parts.map((p) => isPresent(p.checksum) && p.checksum.type === CHECKSUM_CRC32);
  if (wanted.some(Boolean)) {
    // Decode everything once, in disk order, CRCs computed where the bytes are decoded and combined here; a failing
    // chunk marks its partition unreadable and goes on. The pipeline is imported here, on first use, so that a
    // browser bundle that reads but never verifies leaves it out (the size budget of docs/browser.md).
    const { decodeRange } = await import('./decode-range.js');
    // Twin chunks (a hostile table's copies of one chunk, twins.ts) are decoded once: their CRC is their first's.
    const plan = planTwins(img.chunks, img.size);
    const firstCrc = new Map<ChunkRef, number | string>(); // a first's CRC, or why it could not be read
    const onPiece = (piece: RangePiece) => {
      const c = piece.chunk;
      if (c && plan?.firsts.has(c)) firstCrc.set(c, piece.lost ? piece.lost.message : piece.crc!);
      if (!c || !wanted[c.partition] || failed.has(c.partition)) return;
      const i = c.partition;
      if (c.type === CHUNK_IGNORE) {
        withFree[i] = crc32Zeros(piece.length, withFree[i]);
      } else if (!piece.zero) {
        crcs[i] = crc32Combine(crcs[i], piece.crc!, piece.length);
        withFree[i] = crc32Combine(withFree[i], piece.crc!, piece.length);
      } else {
        crcs[i] = crc32Zeros(piece.length, crcs[i]);
        withFree[i] = crc32Zeros(piece.length, withFree[i]);
      }
    };
    const decode = (start: number, end: number) =>
      decodeRange(img, start, end, {
        pool: opts.pool,
        sink: { kind: 'none' },
        crc: true,
        keepGoing: true,
        signal: opts.signal,
        onLost: ({ error }) => {
          const pi = error.details.partition as number | undefined;
          if (pi !== undefined && !failed.has(pi)) failed.set(pi, error.message);
        },
        onPiece,
      });
    if (!plan) await decode(0, img.size);
    else {
      for (const step of plan.steps) {
        opts.signal?.throwIfAborted();
        if (step.kind === 'decode') await decode(step.start, step.end);
        else {
          for (let k = step.from; k < step.to; k++) {
            const c = img.chunks[k];
            const crc = firstCrc.get(img.chunks[plan.firstOf[k]]);
            if (typeof crc === 'number') onPiece({ offset: c.outOffset, length: c.outLength, chunk: c, zero: false, crc });
            else if (typeof crc === 'string') void (failed.has(c.partition) || failed.set(c.partition, crc));
            else await decode(c.outOffset, c.outOffset + c.outLength); // not expected: the first is decoded before
          }
        }
      }
    }
  }
  await dataFork;
  const dr = judge('data fork', k.dataChecksum, () => dataCrc);
  if (dataErr) dr.error = dataErr;
  results.unshift(dr);

  parts.forEach((p, i) => {
    const r = judge(`partition ${i}${p.name ? ` (${p.name})` : ''}`, p.checksum, () => (failed.has(i) ? undefined : crcs[i]));
    r.partition = i;
    if (failed.has(i)) r.error = failed.get(i);
    if (r.status === 'mismatch' && withFree[i] !== crcs[i] && crc32Value(p.checksum) === withFree[i]) {
      r.note = `matches ${hex8(withFree[i])} when the free-space (type 2) sectors are counted as zeros, as some non-Apple writers compute it; the data itself is intact`;
    }
    results.push(r);
  });

  results.push(
    judge('master', k.masterChecksum, () => {
      let m = 0;
      for (const p of parts) m = crc32(p.checksum.data.subarray(0, Math.ceil(p.checksum.bits / 8)), m);
      return m;
    }),
  );
  return { ok: results.every((r) => r.status === 'ok' || r.status === 'absent'), results };
}
