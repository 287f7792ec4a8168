import { open } from 'node:fs/promises';
import { DmgkitError } from '../../errors.js';
import { openDisk, type OpenedDisk } from '../../open.js';
import type { Piece, PieceOptions } from '../../udif/image.js';
import { intFlag, type ParsedArgs } from '../args.js';
import { type CliIO, write } from '../context.js';
import { Progress } from '../progress.js';
import { makeExecutor, threadsOption } from '../threads.js';
import { selectRange } from '../select.js';

import { PLAIN_PIECE, diskPieces } from '../../image/pieces.js';
export { diskPieces };

export async function convertCommand(args: ParsedArgs, io: CliIO): Promise<number> {
  const [image] = args.positional;
  const outPath = args.flags.get('o') ?? args.flags.get('output');
  if (!image || typeof outPath !== 'string') {
    throw new DmgkitError('INVALID_ARGUMENT', 'usage: dmgkit convert IMAGE -o OUT|- [--partition N | --blkx N] [--threads N] [--keep-going]');
  }
  const threads = threadsOption(args);
  const executor = await makeExecutor(threads);
  const opened = await openDisk(image, { threads, executor });
  try {
    const [start, end, what, short] = await selectRange(opened, intFlag(args, 'partition'), intFlag(args, 'blkx'));
    const lost: { offset: number; length: number; error: DmgkitError }[] = [];
    const opts: PieceOptions = {
      threads,
      keepGoing: args.flags.has('keep-going'),
      onLost: (r) => lost.push(r),
    };
    const progress = new Progress(io.err, end - start, 'converting');
    if (outPath === '-') {
      for await (const p of diskPieces(opened, start, end, opts)) {
        if (p.data) await write(io.out, p.data);
        else for (let o = 0; o < p.length; o += PLAIN_PIECE) await write(io.out, new Uint8Array(Math.min(PLAIN_PIECE, p.length - o)));
        progress.update(p.offset + p.length - start);
      }
    } else {
      const fh = await open(outPath, 'w');
      try {
        const sparse = (await fh.stat()).isFile();
        let zeroBuf: Uint8Array | null = null;
        for await (const p of diskPieces(opened, start, end, opts)) {
          const pos = p.offset - start;
          if (p.data) await fh.write(p.data, 0, p.length, pos);
          else if (!sparse) {
            zeroBuf ??= new Uint8Array(PLAIN_PIECE);
            for (let o = 0; o < p.length; o += PLAIN_PIECE) await fh.write(zeroBuf, 0, Math.min(PLAIN_PIECE, p.length - o), pos + o);
          }
          progress.update(pos + p.length);
        }
        if (sparse) await fh.truncate(end - start);
      } finally {
        await fh.close();
      }
    }
    progress.done();
    if (outPath !== '-') await write(io.err, `wrote ${what} (${end - start} bytes) to ${outPath}\n`);
    for (const l of lost) await write(io.err, `dmgkit: lost bytes [${l.offset}, +${l.length}) written as zeros: ${l.error.message}\n`);
    if (short) await write(io.err, `dmgkit: ${short}\n`);
    return lost.length || short ? 1 : 0;
  } finally {
    await opened.close();
  }
}
