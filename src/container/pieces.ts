import { DmgkitError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import type { Piece, PieceOptions } from '../udif/image.js';

/** Bytes read at a time from a plain (non-UDIF) disk. */
export const PLAIN_PIECE = 4 << 20;
/** With keepGoing, a piece that fails is read again in pieces of this size, so one lost band loses no more. */
export const RETRY_PIECE = 4096;

/**
 * The bytes [start, end) of a plain disk (sparse image or bundle, raw disk) in order, as pieces. A read that
 * fails (a band lost to truncation, a refused band file) throws, or with `keepGoing` is read again in
 * RETRY_PIECE pieces: each one that still fails is reported to `onLost` and yielded as zeros (data null).
 * IO_ERROR (the machine, not the image) always throws.
 */
export async function* plainPieces(disk: ByteSource, start: number, end: number, opts: PieceOptions = {}): AsyncGenerator<Piece> {
  // adjacent lost pieces are reported as one range (with the first one's error)
  let lost: { offset: number; length: number; error: DmgkitError } | null = null;
  const flush = () => {
    if (lost) opts.onLost?.(lost);
    lost = null;
  };
  for (let o = start; o < end; ) {
    // holes the container knows of (absent bands) are one piece without data, never read: a sparse disk of
    // petabytes costs what it stores
    const next = disk.nextData ? Math.min(end, Math.max(o, disk.nextData(o))) : o;
    if (next > o) {
      flush();
      yield { offset: o, length: next - o, data: null };
      o = next;
      continue;
    }
    const n = Math.min(PLAIN_PIECE, end - o);
    o += n;
    const at = o - n;
    try {
      const data = await disk.read(at, n);
      flush();
      yield { offset: at, length: n, data };
      continue;
    } catch (e) {
      if (!opts.keepGoing || !(e instanceof DmgkitError) || e.code === 'IO_ERROR') throw e;
    }
    for (let p = at; p < at + n; p += RETRY_PIECE) {
      const m = Math.min(RETRY_PIECE, at + n - p);
      let data: Uint8Array | null = null;
      try {
        data = await disk.read(p, m);
        flush();
      } catch (e) {
        if (!(e instanceof DmgkitError) || e.code === 'IO_ERROR') throw e;
        const l = lost as { offset: number; length: number; error: DmgkitError } | null;
        if (l && l.offset + l.length === p) l.length += m;
        else {
          flush();
          lost = { offset: p, length: m, error: e };
        }
      }
      yield { offset: p, length: m, data };
    }
  }
  flush();
}
