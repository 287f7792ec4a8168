import type { OpenedDisk } from '../open.js';
import type { Piece, PieceOptions } from '../udif/image-core.js';

/** Size of the plain reads of a non-UDIF container (and of zero buffers written for holes). */
export const PLAIN_PIECE = 4 << 20;

/**
 * The decoded disk [start, end) in order: UDIF pieces (zero runs as `data: null`, decoded ahead on
 * `opts.threads`), or plain reads of PLAIN_PIECE bytes for the other containers.
 */
export async function* diskPieces(opened: OpenedDisk, start: number, end: number, opts: PieceOptions = {}): AsyncGenerator<Piece> {
  if (opened.udif) {
    yield* opened.udif.pieces(start, end, opts);
    return;
  }
  for (let o = start; o < end; o += PLAIN_PIECE) {
    const n = Math.min(PLAIN_PIECE, end - o);
    yield { offset: o, length: n, data: await opened.disk.read(o, n) };
  }
}
