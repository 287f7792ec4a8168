import type { OpenedDisk } from '../open.js';
import type { Piece, PieceOptions } from '../udif/image.js';
import { plainPieces } from '../container/pieces.js';

/** Size of the plain reads of containers other than UDIF, and of the zero buffers written for holes. */
export { PLAIN_PIECE } from '../container/pieces.js';

/** The decoded disk in order: UDIF pieces (zero runs as pieces without data), or plain reads for other containers. */
export async function* diskPieces(opened: OpenedDisk, start: number, end: number, opts: PieceOptions): AsyncGenerator<Piece> {
  if (opened.udif) {
    yield* opened.udif.pieces(start, end, opts);
    return;
  }
  yield* plainPieces(opened.disk, start, end, opts);
}
