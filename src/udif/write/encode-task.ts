/**
 * The writer's pool task ('udif.encode', browser-safe): one chunk-sized cell of the disk, end to end on one
 * thread — the CRC-32 of the whole cell (for the table checksum), its leading and trailing zero sectors found, the
 * rest encoded with the codec (stored raw when that does not shrink it) and the CRC-32 of the stored bytes (for
 * the data-fork checksum). The calling thread only reads cells, orders results, combines CRCs and writes.
 *
 * CRC-32 runs through the host's native one when there is one (util/crc32-fast.ts: node:zlib's), else
 * the JS table (src/util/crc32.ts).
 */
import { DmgkitError } from '../../errors.js';
import { codecEntry, loadEncoder, type CodecEntry } from '../../codecs/table.js';
import { registerTask } from '../../pool/registry.js';
import { crc32Fast } from '../../util/crc32-fast.js';
import { forClone, isShared } from '../../util/shared.js';
import { CHUNK_RAW } from '../chunk-types.js';
import { SECTOR } from '../layout.js';

/** The task kind (registered when this module loads). */
export const ENCODE_TASK = 'udif.encode';

/** Zero runs at least this long at the start or end of a cell become zero-fill chunks of their own. */
export const MIN_ZERO_SPLIT_SECTORS = 32;

export interface EncodeCellArgs {
  /** Chunk type of stored data: CHUNK_RAW or a codec type with an encoder (src/codecs/table.ts). */
  type: number;
  level: number;
  /** The cell's bytes (a multiple of 512). */
  input: Uint8Array;
  /** Find zero sectors: an all-zero cell, and zero runs of MIN_ZERO_SPLIT_SECTORS or more at either end. */
  split: boolean;
  /** The caller gives `out` back with releasePiece (src/write/image.ts) once written (native zlib: no copy out). */
  lend?: boolean;
  /**
   * `input` is shared memory the caller owns and does not read again: the encoding is put into it (`out` is then a
   * view of it), so that it crosses threads without a copy.
   */
  intoCell?: boolean;
}

export interface EncodeCellResult {
  /** CRC-32 of the whole cell. */
  crc: number;
  /** The stored part is sectors [a, b) of the cell; a === b: the cell is all zeros (nothing stored). */
  a: number;
  b: number;
  /** Chunk type of the stored part: the codec's, or CHUNK_RAW when encoding did not shrink it. */
  type: number;
  /** The stored bytes (null for an all-zero cell). */
  out: Uint8Array | null;
  /** CRC-32 of `out`. */
  outCrc: number;
  /** `out` does not use the input's bytes: the caller may reuse the cell's buffer. */
  cellFree: boolean;
}


/** Index of the first sector in [from, to) of `d` that is not all zeros, or `to`. */
export function firstNonZeroSector(d: Uint8Array, from: number, to: number): number {
  if (d.byteOffset % 4 === 0) {
    const w = new Uint32Array(d.buffer, d.byteOffset, d.length >> 2);
    for (let s = from; s < to; s++) for (let i = s * 128, e = i + 128; i < e; i++) if (w[i] !== 0) return s;
    return to;
  }
  for (let s = from; s < to; s++) for (let i = s * SECTOR, e = i + SECTOR; i < e; i++) if (d[i] !== 0) return s;
  return to;
}

/** Index + 1 of the last sector in [from, to) that is not all zeros, or `from`. */
export function lastNonZeroSector(d: Uint8Array, from: number, to: number): number {
  if (d.byteOffset % 4 === 0) {
    const w = new Uint32Array(d.buffer, d.byteOffset, d.length >> 2);
    for (let s = to - 1; s >= from; s--) for (let i = s * 128, e = i + 128; i < e; i++) if (w[i] !== 0) return s + 1;
    return from;
  }
  for (let s = to - 1; s >= from; s--) for (let i = s * SECTOR, e = i + SECTOR; i < e; i++) if (d[i] !== 0) return s + 1;
  return from;
}

type Encode = (input: Uint8Array, level: number) => Uint8Array;

const encoders = new Map<number, Encode>();

/** The encoder of a chunk type, imported on first use. */
export async function loadCellEncoder(type: number): Promise<Encode | null> {
  if (type === CHUNK_RAW) return null;
  let e = encoders.get(type);
  if (!e) {
    const entry: CodecEntry | undefined = codecEntry(type);
    const fn = entry && (entry.encode ?? (await loadEncoder(entry)));
    if (!fn) throw new DmgkitError('UNSUPPORTED_CODEC', `no encoder for chunk type 0x${type.toString(16)}`, { chunkType: type });
    e = fn;
    encoders.set(type, e);
  }
  return e;
}

/** A cell's CRC and the part of it to store, sectors [a, b) (`part` null: the cell is all zeros). */
export interface CellPart {
  crc: number;
  a: number;
  b: number;
  part: Uint8Array | null;
}

/** The first half of a cell's work: its CRC-32 and its zero runs. */
export function cellPart(a: EncodeCellArgs): CellPart {
  const input = a.input;
  const n = input.length / SECTOR;
  const crc = crc32Fast(input);
  let s0 = 0;
  let s1 = n;
  if (a.split) {
    s0 = firstNonZeroSector(input, 0, n);
    if (s0 === n) return { crc, a: n, b: n, part: null };
    s1 = lastNonZeroSector(input, s0, n);
    if (s0 < MIN_ZERO_SPLIT_SECTORS) s0 = 0;
    if (n - s1 < MIN_ZERO_SPLIT_SECTORS) s1 = n;
  }
  return { crc, a: s0, b: s1, part: s0 === 0 && s1 === n ? input : input.subarray(s0 * SECTOR, s1 * SECTOR) };
}

/** The second half: the result, given the stored part's encoding (`enc`; null for raw chunks). */
export function cellResult(a: EncodeCellArgs, p: CellPart, enc: Uint8Array | null): EncodeCellResult {
  const input = a.input;
  const part = p.part;
  if (!part) return { crc: p.crc, a: p.a, b: p.b, type: a.type, out: null, outCrc: 0, cellFree: true };
  if (enc && enc.length < part.length) {
    const cellFree = enc.buffer !== input.buffer; // (an encoder that answers with a view of its input)
    return { crc: p.crc, a: p.a, b: p.b, type: a.type, out: enc, outCrc: crc32Fast(enc), cellFree };
  }
  const outCrc = part === input ? p.crc : crc32Fast(part);
  return { crc: p.crc, a: p.a, b: p.b, type: CHUNK_RAW, out: part, outCrc, cellFree: false };
}

/** Does one cell with `encode` (null: raw chunks) on this thread. */
export function encodeCell(a: EncodeCellArgs, encode: Encode | null): EncodeCellResult {
  const p = cellPart(a);
  return cellResult(a, p, p.part && encode ? encode(p.part, a.level) : null);
}

registerTask<EncodeCellArgs, EncodeCellResult>(
  ENCODE_TASK,
  async (a) => {
    const r = encodeCell(a, await loadCellEncoder(a.type));
    if (r.out && r.cellFree && a.intoCell && isShared(a.input)) {
      // A shared cell takes its own encoding (never longer than the part of it encoded, which has been read):
      // the result then crosses back without a copy, where a clone copied it twice and allocated it on both
      // sides (measured, ULFO: 0.63 ms per 1 MiB cell for postMessage alone, 5 % of the cell's encoding).
      a.input.set(r.out);
      r.out = a.input.subarray(0, r.out.length);
      r.cellFree = false;
    } else if (r.out) {
      // The result is cloned, not transferred (util/shared.ts: a detached buffer slows every typed-array access
      // of this thread from then on).
      r.out = forClone(r.out);
    }
    return r;
  },
  { fallbackCode: 'INVALID_ARGUMENT' },
);
