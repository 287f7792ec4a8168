import { DmgkitError } from '../../errors.js';
import type { PieceOptions } from '../../udif/image.js';
import { intFlag, type ParsedArgs } from '../args.js';
import { type CliIO, write } from '../context.js';
import { diskPieces, PLAIN_PIECE } from '../pieces.js';
import { Progress } from '../progress.js';
import type { CommandContext } from '../runner.js';
import { selectRange } from '../select.js';

export { diskPieces } from '../pieces.js';

function damaged(image: string, warnings: readonly string[]): DmgkitError {
  return new DmgkitError(
    'DAMAGED',
    `${image} is damaged (${warnings.length} warning${warnings.length > 1 ? 's' : ''}: ${warnings[0]}${warnings.length > 1 ? '; …' : ''}); --keep-going converts what is readable`,
    { warnings },
  );
}

/**
 * The raw disk (or a partition / block table of it) to a file or standard output. A file is written through
 * src/io/safe-output.ts (never the input, never over a file without --force, temporary name until complete).
 * An image carrying warnings (damage the reader worked around) is refused without --keep-going.
 */
export async function convertCommand(args: ParsedArgs, io: CliIO, ctx: CommandContext): Promise<number> {
  const [image] = args.positional;
  const outPath = args.flags.get('o') ?? args.flags.get('output');
  if (typeof outPath !== 'string' || outPath === '') {
    throw new DmgkitError('INVALID_ARGUMENT', 'convert needs -o OUT (or -o - for standard output)');
  }
  const keepGoing = args.flags.has('keep-going');
  const opened = await ctx.openDisk(image);
  const [start, end, what, short] = await selectRange(opened, intFlag(args, 'partition'), intFlag(args, 'blkx'));
  if (!keepGoing && ctx.warnings().length) throw damaged(image, ctx.warnings());

  const lost: { offset: number; length: number; error: DmgkitError }[] = [];
  const opts: PieceOptions = { threads: ctx.threads, keepGoing, onLost: (r) => lost.push(r) };
  const progress = new Progress(io.err, end - start, 'converting');
  const zeros = () => (zeroBuf ??= new Uint8Array(PLAIN_PIECE));
  let zeroBuf: Uint8Array | undefined;
  if (outPath === '-') {
    for await (const p of diskPieces(opened, start, end, opts)) {
      if (p.data) await write(io.out, p.data);
      else for (let o = 0; o < p.length; o += PLAIN_PIECE) await write(io.out, zeros().subarray(0, Math.min(PLAIN_PIECE, p.length - o)));
      progress.update(p.offset + p.length - start);
    }
    if (!keepGoing && ctx.warnings().length) throw damaged(image, ctx.warnings()); // found while reading
  } else {
    const out = await ctx.openOutput(outPath, [image]);
    for await (const p of diskPieces(opened, start, end, opts)) {
      const pos = p.offset - start;
      if (p.data) await out.write(p.data, pos);
      else if (!out.regular) {
        for (let o = 0; o < p.length; o += PLAIN_PIECE) await out.write(zeros().subarray(0, Math.min(PLAIN_PIECE, p.length - o)), pos + o);
      }
      progress.update(pos + p.length);
    }
    await out.truncate(end - start);
    if (!keepGoing && ctx.warnings().length) throw damaged(image, ctx.warnings()); // found while reading
    await out.commit();
  }
  progress.done();
  if (outPath !== '-') await write(io.err, `wrote ${what} (${end - start} bytes) to ${outPath}\n`);
  for (const l of lost) await write(io.err, `dmgkit: lost bytes [${l.offset}, +${l.length}) written as zeros: ${l.error.message}\n`);
  if (short) await write(io.err, `dmgkit: ${short}\n`);
  return lost.length || short || ctx.warnings().length ? 1 : 0;
}
