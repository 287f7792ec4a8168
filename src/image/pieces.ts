import type { OpenedDisk } from '../open.js';
import type { Piece, PieceOptions } from '../udif/image.js';
import { plainPieces } from '../container/pieces.js';

/** Size of the plain reads of a non-UDIF container (and of zero buffers written for holes). */
export { PLAIN_PIECE } from '../container/pieces.js';

/**
 * The decoded disk [start, end) in order: UDIF pieces (zero runs as `data: null`, decoded ahead on
 * `opts.threads`), or plain reads for the other containers (src/container/pieces.ts).
 */
export async function* diskPieces(opened: OpenedDisk, start: number, end: number, opts: PieceOptions = {}): AsyncGenerator<Piece> {
  if (opened.udif) {
    yield* opened.udif.pieces(start, end, opts);
    return;
  }
  yield* plainPieces(opened.disk, start, end, opts);
}
