import { realpathSync } from 'node:fs';
import { DmgkitError } from '../../errors.js';
import { openBlockDevice } from '../../blockdev/device.js';
import { serveNbd } from '../../nbd/server.js';
import { DEFAULT_PORT } from '../../nbd/protocol.js';
import { intFlag, type ParsedArgs } from '../args.js';
import { type CliIO, write } from '../context.js';
import type { CommandContext } from '../runner.js';

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** `dmgkit serve`: the image as an NBD export until SIGINT/SIGTERM (then the shadow is flushed). */
export async function serveCommand(args: ParsedArgs, io: CliIO, ctx: CommandContext): Promise<number> {
  const [image] = args.positional;
  const shadow = str(args, 'shadow');
  const socket = str(args, 'socket');
  const bind = str(args, 'bind');
  const port = intFlag(args, 'port');
  if (socket !== undefined && (port !== undefined || bind !== undefined)) throw new DmgkitError('INVALID_ARGUMENT', '--socket excludes --port and --bind');
  if (port !== undefined && port > 65535) throw new DmgkitError('INVALID_ARGUMENT', '--port must be 0..65535');
  if (shadow && sameFile(shadow, image)) throw new DmgkitError('INVALID_ARGUMENT', 'the shadow file cannot be the image itself');
  const readOnly = args.flags.has('read-only') || !shadow;

  const cacheMiB = intFlag(args, 'cache-mib');
  const limits = cacheMiB === undefined ? undefined : { cacheBytes: cacheMiB * 1024 * 1024 };
  const device = await openBlockDevice(image, { shadow, readOnly, partition: intFlag(args, 'partition'), threads: ctx.threads, limits, open: ctx.sourceOptions() });
  ctx.own(shadow ?? image, () => device.close());
  const server = await serveNbd(device, {
    port: port ?? DEFAULT_PORT,
    host: bind ?? '127.0.0.1',
    socket,
    description: `${device.what} of ${image}`,
    log: (line) => void write(io.err, `dmgkit: ${line}\n`).catch(() => undefined),
  });
  ctx.own('NBD server', () => server.close());
  device.warm(); // the decoder threads start (and load their codec) before the first client asks
  const host = bind ?? '127.0.0.1';
  const url = socket ? `nbd+unix:///?socket=${socket}` : `nbd://${host.includes(':') ? `[${host}]` : host}:${server.port}`;
  await write(io.err, `serving ${device.what} of ${image} (${device.size} bytes, ${readOnly ? 'read-only' : 'writable'}${shadow ? `, shadow ${shadow}` : ''}) at ${url}\n`);

  const signal = await new Promise<string>((resolve) => {
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    const done = (s: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(s);
    };
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
  await write(io.err, `dmgkit: ${signal}: closing connections${shadow && !readOnly ? ' and flushing the shadow' : ''}\n`);
  await server.close();
  await device.close();
  return 0;
}

function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  if (v === true) throw new DmgkitError('INVALID_ARGUMENT', `option --${name} needs a value`);
  return v;
}

/**
 * `dmgkit convert IMAGE --shadow FILE -o OUT [--format F]`: the served disk (or `--partition N`, as it was
 * served) with the shadow's writes applied: a raw disk (zero runs become holes), or with --format a new image
 * written by src/write. OUT goes through the runner's safe output (never an input, never over a file without
 * --force, temporary name until complete).
 */
export async function convertShadowed(args: ParsedArgs, io: CliIO, ctx: CommandContext): Promise<number> {
  const { devicePieces } = await import('../../blockdev/device.js');
  const [image] = args.positional;
  const shadow = str(args, 'shadow')!;
  const outPath = args.flags.get('o') ?? args.flags.get('output');
  if (typeof outPath !== 'string' || outPath === '') throw new DmgkitError('INVALID_ARGUMENT', 'convert needs -o OUT (or -o - for standard output)');
  if (args.flags.has('blkx')) throw new DmgkitError('INVALID_ARGUMENT', '--blkx cannot be combined with --shadow (a shadow covers what was served: the disk or a --partition)');
  if (args.flags.has('keep-going')) throw new DmgkitError('INVALID_ARGUMENT', '--keep-going cannot be combined with --shadow');
  const device = await openBlockDevice(image, { shadow, readOnly: true, partition: intFlag(args, 'partition'), threads: ctx.threads, open: ctx.sourceOptions() });
  ctx.own(shadow, () => device.close());
  if (args.flags.has('format')) {
    const { writeOut } = await import('./write.js');
    const disk = { size: device.size, name: `${image} with ${shadow}`, read: (o: number, n: number) => device.read(o, n) };
    return writeOut({ kind: 'raw', disk, warnings: [], close: async () => undefined }, disk.size, [image, shadow], args, io, ctx, 'writing');
  }
  if (outPath === '-') {
    const zeros = new Uint8Array(4 << 20);
    for await (const p of devicePieces(device)) {
      if (p.data) await write(io.out, p.data);
      else for (let o = 0; o < p.length; o += zeros.length) await write(io.out, zeros.subarray(0, Math.min(zeros.length, p.length - o)));
    }
    return 0;
  }
  const out = await ctx.openOutput(outPath, [image, shadow]);
  for await (const p of devicePieces(device)) {
    if (p.data) await out.write(p.data, p.offset);
    else if (!out.regular) {
      const zeros = new Uint8Array(Math.min(p.length, 4 << 20));
      for (let o = 0; o < p.length; o += zeros.length) await out.write(zeros.subarray(0, Math.min(zeros.length, p.length - o)), p.offset + o);
    }
  }
  await out.truncate(device.size);
  await out.commit();
  await write(io.err, `wrote ${device.what} with the writes of ${shadow} (${device.size} bytes) to ${outPath}\n`);
  return 0;
}
