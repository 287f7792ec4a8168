import { realpathSync } from 'node:fs';
import { DmgkitError } from '../../errors.js';
import { openBlockDevice } from '../../blockdev/device.js';
import { serveNbd } from '../../nbd/server.js';
import { DEFAULT_PORT } from '../../nbd/protocol.js';
import { intFlag, type ParsedArgs } from '../args.js';
import { type CliIO, write } from '../context.js';
import { threadsOption } from '../threads.js';

export const SERVE_USAGE = 'usage: dmgkit serve IMAGE [--port N | --socket PATH] [--bind ADDR] [--shadow FILE] [--partition N] [--read-only] [--threads N]';

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** `dmgkit serve`: the image as an NBD export until SIGINT/SIGTERM (then the shadow is flushed). */
export async function serveCommand(args: ParsedArgs, io: CliIO): Promise<number> {
  const [image] = args.positional;
  if (!image || args.positional.length > 1) throw new DmgkitError('INVALID_ARGUMENT', SERVE_USAGE);
  const str = (name: string): string | undefined => {
    const v = args.flags.get(name);
    if (v === true) throw new DmgkitError('INVALID_ARGUMENT', `option --${name} needs a value`);
    return v;
  };
  const shadow = str('shadow');
  const socket = str('socket');
  const bind = str('bind');
  const port = intFlag(args, 'port');
  if (socket !== undefined && (port !== undefined || bind !== undefined)) throw new DmgkitError('INVALID_ARGUMENT', '--socket excludes --port and --bind');
  if (port !== undefined && port > 65535) throw new DmgkitError('INVALID_ARGUMENT', '--port must be 0..65535');
  if (shadow && sameFile(shadow, image)) throw new DmgkitError('INVALID_ARGUMENT', 'the shadow file cannot be the image itself');
  const readOnly = args.flags.has('read-only') || !shadow;
  const threads = threadsOption(args);

  const device = await openBlockDevice(image, { shadow, readOnly, partition: intFlag(args, 'partition'), threads });
  let server: Awaited<ReturnType<typeof serveNbd>>;
  try {
    server = await serveNbd(device, {
      port: port ?? DEFAULT_PORT,
      host: bind ?? '127.0.0.1',
      socket,
      description: `${device.what} of ${image}`,
      log: (line) => void write(io.err, `dmgkit: ${line}\n`),
    });
  } catch (e) {
    await device.close();
    throw e;
  }
  const url = socket ? `nbd+unix:///?socket=${socket}` : `nbd://${(bind ?? '127.0.0.1').includes(':') ? `[${bind}]` : (bind ?? '127.0.0.1')}:${server.port}`;
  await write(io.err, `serving ${device.what} of ${image} (${device.size} bytes, ${readOnly ? 'read-only' : 'writable'}${shadow ? `, shadow ${shadow}` : ''}) at ${url}\n`);

  const signal = await new Promise<string>((resolve) => {
    const on = (s: string) => () => resolve(s);
    const onInt = on('SIGINT');
    const onTerm = on('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    void signalCleanup.push(() => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    });
  });
  for (const f of signalCleanup.splice(0)) f();
  await write(io.err, `dmgkit: ${signal}: closing connections${shadow && !readOnly ? ' and flushing the shadow' : ''}\n`);
  try {
    await server.close();
  } finally {
    await device.close();
  }
  return 0;
}

const signalCleanup: (() => void)[] = [];

/**
 * `dmgkit convert IMAGE --shadow FILE -o OUT`: the served disk (or `--partition N`, as it was served) with the
 * shadow's writes applied, as a raw disk; zero runs become holes. Written to a temporary name and renamed.
 */
export async function convertShadowed(args: ParsedArgs, io: CliIO): Promise<number> {
  const { open, rename, rm, stat } = await import('node:fs/promises');
  const { devicePieces } = await import('../../blockdev/device.js');
  const [image] = args.positional;
  const shadow = args.flags.get('shadow');
  const outPath = args.flags.get('o') ?? args.flags.get('output');
  if (!image || typeof shadow !== 'string' || typeof outPath !== 'string' || outPath === '-') {
    throw new DmgkitError('INVALID_ARGUMENT', 'usage: dmgkit convert IMAGE --shadow FILE -o OUT [--partition N] [--force]');
  }
  const format = args.flags.get('format');
  if (format !== undefined && format !== 'raw') {
    throw new DmgkitError('UNSUPPORTED', `convert --shadow writes raw disks only for now (--format ${String(format)})`);
  }
  if (args.flags.has('blkx')) throw new DmgkitError('INVALID_ARGUMENT', '--blkx cannot be combined with --shadow (a shadow covers what was served: the disk or a --partition)');
  if (sameFile(outPath, image) || sameFile(outPath, shadow)) throw new DmgkitError('INVALID_ARGUMENT', 'the output cannot be the image or the shadow');
  const exists = await stat(outPath).then(() => true, () => false);
  if (exists && !args.flags.has('force')) throw new DmgkitError('INVALID_ARGUMENT', `${outPath} exists (use --force to replace it)`);
  const device = await openBlockDevice(image, { shadow, readOnly: true, partition: intFlag(args, 'partition'), threads: threadsOption(args) });
  const tmp = `${outPath}.dmgkit-${process.pid}.tmp`;
  try {
    const fh = await open(tmp, 'wx');
    try {
      for await (const p of devicePieces(device)) {
        if (p.data) await fh.write(p.data, 0, p.length, p.offset);
      }
      await fh.truncate(device.size);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, outPath);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await device.close();
  }
  await write(io.err, `wrote ${device.what} with the writes of ${shadow} (${device.size} bytes) to ${outPath}\n`);
  return 0;
}
