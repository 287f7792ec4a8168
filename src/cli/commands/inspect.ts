import { startInspectServer } from '../../inspect/server.js';
import type { ParsedArgs } from '../args.js';
import { type CliIO, write } from '../context.js';

/** `dmgkit inspect [IMAGE] [--port N]`: serves the inspector page on 127.0.0.1 and prints its URL. */
export async function inspectCommand(args: ParsedArgs, io: CliIO): Promise<number> {
  const [image] = args.positional;
  const port = args.flags.get('port');
  const s = await startInspectServer({ image, port: typeof port === 'string' ? Number(port) : 0 });
  await write(io.out, `dmgkit inspector: ${s.url}\n(Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => void s.close().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
