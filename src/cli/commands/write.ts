/**
 * `dmgkit convert IMAGE -o OUT --format F` and `dmgkit create --from VOLUME --scheme S --format F -o OUT`: write a
 * new image (src/write). OUT goes through the runner's safe output (temporary name, renamed when complete, never
 * the input, never over a file without --force); `-o -` streams UDIF, UDSP and raw output to standard output.
 */
import { DmgkitError } from '../../errors.js';
import type { OpenedDisk } from '../../open.js';
import type { ByteSource } from '../../io/source.js';
import { resolveFormat, writeImage, type ImageInput, type WriteImageOptions } from '../../write/image.js';
import { intFlag, type ParsedArgs } from '../args.js';
import { type CliIO, write } from '../context.js';
import { Progress } from '../progress.js';
import type { CommandContext } from '../runner.js';

function segmentIdFlag(args: ParsedArgs): Uint8Array | undefined {
  const v = args.flags.get('segment-id');
  if (v === undefined) return undefined;
  const hex = typeof v === 'string' ? v.replace(/-/g, '') : '';
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new DmgkitError('INVALID_ARGUMENT', '--segment-id needs a UUID (32 hex digits, dashes allowed)');
  return Uint8Array.from(hex.match(/../g)!.map((x) => parseInt(x, 16)));
}

/** Writes `input` (an opened disk) as `args`' --format to -o. */
export async function writeOut(input: ImageInput, diskSize: number, inputs: string[], args: ParsedArgs, io: CliIO, ctx: CommandContext, label: string): Promise<number> {
  const outPath = args.flags.get('o') ?? args.flags.get('output');
  if (typeof outPath !== 'string' || outPath === '') throw new DmgkitError('INVALID_ARGUMENT', `${ctx.spec.name} needs -o OUT (or -o - for standard output)`);
  const fmtFlag = args.flags.get('format');
  if (typeof fmtFlag !== 'string') throw new DmgkitError('INVALID_ARGUMENT', '--format needs a format name (UDZO, UDCO, ULFO, UDBZ, UDRO, UDRW, UDSP, UDSB, raw)');
  const format = resolveFormat(fmtFlag);
  const progress = new Progress(io.err, diskSize, label);
  const opts: WriteImageOptions = {
    format: format.name,
    level: intFlag(args, 'level'),
    chunkSectors: intFlag(args, 'chunk-sectors'),
    segmentId: segmentIdFlag(args),
    deterministic: args.flags.has('deterministic'),
    discardFreeSpace: args.flags.has('discard-free-space'),
    onProgress: (done) => progress.update(done),
  };
  if (format.name === 'UDSB') {
    if (outPath === '-') throw new DmgkitError('INVALID_ARGUMENT', 'a sparse bundle is a folder: it cannot go to standard output');
    const { writeImageFile } = await import('../../write/node.js');
    await writeImageFile(input, outPath, { ...opts, force: args.flags.has('force'), inputs });
    progress.done();
    await write(io.err, `wrote ${format.name} (${diskSize} bytes of disk) to ${outPath}\n`);
    return 0;
  }
  // writeImage makes (and closes) its pool: as many of these threads as the image's work pays for.
  opts.threads = ctx.threads;
  let bytes = 0;
  if (outPath === '-') {
    for await (const piece of writeImage(input, opts)) {
      await write(io.out, piece);
      bytes += piece.length;
    }
  } else {
    const out = await ctx.openOutput(outPath, inputs);
    // (a file: each piece is given back once written, so its buffer can serve again; not so for the stream above,
    // whose write may return before the bytes are out)
    const { writePieces } = await import('../../write/node.js');
    bytes = await writePieces(writeImage(input, { ...opts, reusePieces: true }), out);
    await out.commit();
  }
  progress.done();
  if (outPath !== '-') await write(io.err, `wrote ${format.name} (${bytes} bytes${diskSize ? `, ${diskSize} bytes of disk` : ''}) to ${outPath}\n`);
  return 0;
}

export async function convertFormatCommand(args: ParsedArgs, io: CliIO, ctx: CommandContext): Promise<number> {
  const [image] = args.positional;
  for (const f of ['partition', 'blkx', 'keep-going']) {
    if (args.flags.has(f)) throw new DmgkitError('INVALID_ARGUMENT', `--${f} is for the raw disk; it does not go with --format`);
  }
  if (image === '-') {
    // Standard input: a raw byte stream, read once (one whole-disk table; UDIF formats and raw only).
    return writeOut(process.stdin, 0, [], args, io, ctx, 'writing');
  }
  const opened = await ctx.openDisk(image, { raw: 'always' });
  if (ctx.warnings().length) {
    throw new DmgkitError('DAMAGED', `${image} is damaged (${ctx.warnings()[0]}); convert it to raw with --keep-going first`, { warnings: ctx.warnings() });
  }
  return writeOut(opened, opened.disk.size, [image], args, io, ctx, 'writing');
}

export async function createCommand(args: ParsedArgs, io: CliIO, ctx: CommandContext): Promise<number> {
  const from = args.flags.get('from');
  if (typeof from !== 'string' || from === '') throw new DmgkitError('INVALID_ARGUMENT', 'create needs --from VOLUME (a raw file-system image)');
  const scheme = args.flags.get('scheme') ?? 'gpt';
  if (scheme !== 'apm' && scheme !== 'gpt' && scheme !== 'mbr' && scheme !== 'none') {
    throw new DmgkitError('INVALID_ARGUMENT', `--scheme is apm, gpt, mbr or none, not '${String(scheme)}'`);
  }
  const volname = args.flags.get('volname');
  const { openSource } = await import('../../io/open-source.js');
  const volume: ByteSource = await openSource(from);
  ctx.own(from, async () => volume.close?.());
  const { createDisk } = await import('../../write/create.js');
  const disk = await createDisk(volume, { scheme, name: typeof volname === 'string' ? volname : undefined });
  const opened: OpenedDisk = { kind: 'raw', disk, warnings: [], close: async () => undefined };
  if (!args.flags.has('format')) args.flags.set('format', 'UDZO');
  return writeOut(opened, disk.size, [from], args, io, ctx, 'creating');
}
