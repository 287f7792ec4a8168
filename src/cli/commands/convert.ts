import { DmgkitError } from '../../errors.js';
import { errnoWords } from '../../io/errno.js';
import type { SafeOutput } from '../../io/safe-output.js';
import type { PieceOptions } from '../../udif/image.js';
import { decodeToFile, decodeToStream, fdWriter } from '../../udif/to-file.js';
import { intFlag, type ParsedArgs } from '../args.js';
import { type CliIO, gatheringWriter, write } from '../context.js';
import { diskPieces, PLAIN_PIECE } from '../../image/pieces.js';
import { Progress } from '../progress.js';
import type { CommandContext } from '../runner.js';
import { selectRange } from '../select.js';

export { diskPieces } from '../../image/pieces.js';

function damaged(image: string, warnings: readonly string[]): DmgkitError {
  return new DmgkitError(
    'DAMAGED',
    `${image} is damaged (${warnings.length} warning${warnings.length > 1 ? 's' : ''}: ${warnings[0]}${warnings.length > 1 ? '; …' : ''}); --keep-going converts what is readable`,
    { warnings },
  );
}

/**
 * A failure to write the output, named: "cannot write OUT: no space left on device (ENOSPC)". Write errors come
 * as Node errno errors (this thread) or as IO_ERROR carrying the errno from a decoder thread writing at its
 * offset; anything else (a damaged chunk, a read error of the image) is passed on unchanged.
 */
function asWriteError(e: unknown, name: string): unknown {
  const err = e as NodeJS.ErrnoException & { details?: { errno?: unknown } };
  const errno = e instanceof DmgkitError ? err.details?.errno : err?.code;
  const isWrite = e instanceof DmgkitError ? e.code === 'IO_ERROR' && /, (p?write|writev)$/.test(e.message) : err?.syscall === 'write';
  if (typeof errno !== 'string' || !/^E[A-Z]+$/.test(errno) || !isWrite) return e;
  return new DmgkitError('IO_ERROR', `cannot write ${name}: ${errnoWords(errno)}`, { errno, path: name }, { cause: e });
}

/**
 * The raw disk (or a partition / block table of it) to a file or standard output. A file is written through
 * src/io/safe-output.ts (never the input, never over a file without --force, temporary name until complete).
 * An image carrying warnings (damage the reader worked around) is refused without --keep-going. UDIF images decode
 * through the pipeline of src/udif/to-file.ts on a pool the runner owns.
 */
export async function convertCommand(args: ParsedArgs, io: CliIO, ctx: CommandContext): Promise<number> {
  if (args.flags.has('shadow')) return (await import('./serve.js')).convertShadowed(args, io, ctx);
  if (args.flags.has('format')) return (await import('./write.js')).convertFormatCommand(args, io, ctx);
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
  const onLost = (r: { offset: number; length: number; error: DmgkitError }) => lost.push(r);
  const progress = new Progress(io.err, end - start, 'converting');
  const out: SafeOutput | null = outPath === '-' ? null : await ctx.openOutput(outPath, [image]);
  const name = out ? out.path : 'standard output';
  try {
    if (opened.udif) {
      const pool = await ctx.decodePool(opened.udif, start, end);
      const udifOpts = { start, end, pool, keepGoing, onLost, onProgress: (n: number) => progress.update(n) };
      const outFd = (io.out as { fd?: unknown }).fd;
      if (out) await decodeToFile(opened.udif, out.handle, udifOpts);
      else if (typeof outFd === 'number') await decodeToStream(opened.udif, fdWriter(outFd), udifOpts); // in order to stdout's descriptor
      else {
        // Any other Writable keeps what it is given: hand it copies (the pipeline reuses its buffers), gathered.
        const w = gatheringWriter(io.out);
        await decodeToStream(opened.udif, w.write, udifOpts);
        await w.flush();
      }
    } else {
      const opts: PieceOptions = { threads: ctx.threads, keepGoing, onLost };
      let zeroBuf: Uint8Array | undefined;
      const zeros = (n: number) => (zeroBuf ??= new Uint8Array(PLAIN_PIECE)).subarray(0, n);
      for await (const p of diskPieces(opened, start, end, opts)) {
        const pos = p.offset - start;
        if (!out) {
          if (p.data) await write(io.out, p.data);
          else for (let o = 0; o < p.length; o += PLAIN_PIECE) await write(io.out, zeros(Math.min(PLAIN_PIECE, p.length - o)));
        } else if (p.data) await out.write(p.data, pos);
        else if (!out.regular) {
          for (let o = 0; o < p.length; o += PLAIN_PIECE) await out.write(zeros(Math.min(PLAIN_PIECE, p.length - o)), pos + o);
        }
        progress.update(pos + p.length);
      }
      await out?.truncate(end - start);
    }
  } catch (e) {
    throw asWriteError(e, name);
  }
  if (!keepGoing && ctx.warnings().length) throw damaged(image, ctx.warnings()); // found while reading
  await out?.commit();
  progress.done();
  await ctx.showWarnings(); // before the lost ranges and the summary, which come last
  for (const l of lost) await write(io.err, `dmgkit: lost bytes [${l.offset}, +${l.length}) written as zeros: ${l.error.message}\n`);
  if (short) await write(io.err, `dmgkit: ${short}\n`);
  // the summary comes last and says what was lost
  if (out || lost.length) {
    const lostBytes = lost.reduce((a, l) => a + l.length, 0);
    const whole = `${what} (${end - start} bytes) to ${out ? outPath : 'standard output'}`;
    const line = lost.length
      ? `wrote ${whole} with ${lostBytes} bytes lost in ${lost.length} range${lost.length > 1 ? 's' : ''} (written as zeros)`
      : `wrote ${whole}`;
    await write(io.err, `${line}\n`);
  }
  return lost.length || short || ctx.warnings().length ? 1 : 0;
}
