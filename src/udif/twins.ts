/**
 * Twin chunks: chunks that repeat an earlier chunk exactly — same type, same stored range, same decoded length — so
 * they decode to the same bytes. hdiutil never writes them; a hostile table does, to describe a huge disk with few
 * stored bytes (60,000 chunks of 1 MiB on one 1 KiB zlib stream: a 60 GiB disk in a 3 MB file). Whoever only needs
 * a CRC of the decoded bytes (verify) decodes the first chunk once and reuses its CRC for its twins.
 *
 * Only exact twins are found: chunks whose stored ranges merely overlap may decode differently and are decoded
 * (layout.ts's checkOverlaps warns about both, and refuses them under rejectOverlappingChunks).
 */
import { isZeroFill } from './chunk-types.js';
import type { ChunkRef } from './layout.js';

/** A run of consecutive twins is skipped only when it describes at least this many decoded bytes. */
export const MIN_TWIN_RUN_BYTES = 1 << 20;

export type TwinStep =
  /** Decode [start, end) of the disk. */
  | { kind: 'decode'; start: number; end: number }
  /** chunks[from..to) are twins, back to back on the disk: each one's bytes are those of chunks[firstOf[k]]. */
  | { kind: 'twins'; from: number; to: number };

export interface TwinPlan {
  steps: TwinStep[];
  /** For each chunk (index in `chunks`), the index of the chunk it repeats, or -1. */
  firstOf: Int32Array;
  /** The chunks that some skipped twin repeats: their results must be kept when they are decoded. */
  firsts: Set<ChunkRef>;
}

/**
 * Plans a pass over [0, size) of the disk that decodes each distinct chunk once: null when no run of twins is
 * worth skipping (every hdiutil image: one pass over the chunks, nothing allocated). `chunks` is sorted by
 * outOffset (UdifImage.chunks). Each decode step but the last ends where skipped twins begin, and a skipped run
 * describes at least MIN_TWIN_RUN_BYTES, so the number of steps is bounded by the decoded bytes saved.
 */
export function planTwins(chunks: readonly ChunkRef[], size: number): TwinPlan | null {
  const eligible = (c: ChunkRef) => !isZeroFill(c.type) && !c.damage && c.inLength > 0 && c.outLength > 0 && c.outOffset + c.outLength <= size;
  // stored ranges increasing with the disk offset (hdiutil): no two chunks can share one
  let prevEnd = -1;
  let ordered = true;
  for (const c of chunks) {
    if (!eligible(c)) continue;
    if (c.inOffset < prevEnd) {
      ordered = false;
      break;
    }
    prevEnd = c.inOffset + c.inLength;
  }
  if (ordered) return null;

  const order: number[] = [];
  for (let i = 0; i < chunks.length; i++) if (eligible(chunks[i])) order.push(i);
  const key = (a: ChunkRef, b: ChunkRef) => a.inOffset - b.inOffset || a.inLength - b.inLength || a.type - b.type || a.outLength - b.outLength;
  order.sort((x, y) => key(chunks[x], chunks[y]) || x - y);
  const firstOf = new Int32Array(chunks.length).fill(-1);
  let twins = 0;
  for (let k = 1, first = order[0]; k < order.length; k++) {
    if (key(chunks[order[k]], chunks[first]) === 0) {
      firstOf[order[k]] = first;
      twins++;
    } else first = order[k];
  }
  if (!twins) return null;

  const steps: TwinStep[] = [];
  const firsts = new Set<ChunkRef>();
  let pos = 0; // disk offset decoded (or planned) so far
  for (let i = 0; i < chunks.length; ) {
    if (firstOf[i] < 0) {
      i++;
      continue;
    }
    // a run of twins back to back
    let j = i + 1;
    let bytes = chunks[i].outLength;
    while (j < chunks.length && firstOf[j] >= 0 && chunks[j].outOffset === chunks[j - 1].outOffset + chunks[j - 1].outLength) bytes += chunks[j++].outLength;
    if (bytes >= MIN_TWIN_RUN_BYTES) {
      if (chunks[i].outOffset > pos) steps.push({ kind: 'decode', start: pos, end: chunks[i].outOffset });
      steps.push({ kind: 'twins', from: i, to: j });
      for (let k = i; k < j; k++) firsts.add(chunks[firstOf[k]]);
      pos = chunks[j - 1].outOffset + chunks[j - 1].outLength;
    }
    i = j;
  }
  if (!firsts.size) return null;
  if (pos < size) steps.push({ kind: 'decode', start: pos, end: size });
  return { steps, firstOf, firsts };
}
