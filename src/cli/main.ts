#!/usr/bin/env node
import { DmgkitError } from '../errors.js';
import { parseArgs } from './args.js';
import type { CliIO } from './context.js';
import { infoCommand } from './commands/info.js';
import { convertCommand } from './commands/convert.js';
import { verifyCommand } from './commands/verify.js';

const USAGE = `usage: dmgkit <command> [options]

  info IMAGE [--json]                 container, block tables, partition map, file systems
  convert IMAGE -o OUT|-              write the raw disk (sparse when OUT is a file)
          [--partition N] [--blkx N] [--threads N] [--keep-going]
  verify IMAGE [--json]               check the data-fork, partition and master checksums
  ls IMAGE [PATH] [-l] [-R] [--json]  list files of the HFS+ volume
  tree IMAGE [PATH]                   print the directory tree
  stat IMAGE PATH [--json]            show a file's metadata
  cat IMAGE PATH [--rsrc]             write a file's data (or resource) fork to standard output
  extract IMAGE DEST [PATH] [--no-forks]  extract the volume's files under DEST
  bench [--quick]                     measure decoder throughput
  inspect [IMAGE] [--port N]          serve the inspector page on 127.0.0.1 (opens IMAGE in it)

common options: --debug (stack traces), --partition N (volume to use), --threads N
`;

type Command = (args: ReturnType<typeof parseArgs>, io: CliIO) => Promise<number>;

const VALUED = ['-o', 'output', 'threads', 'partition', 'blkx', 'limit', 'port'];

async function loadCommand(name: string): Promise<Command | undefined> {
  switch (name) {
    case 'info':
      return infoCommand;
    case 'convert':
      return convertCommand;
    case 'verify':
      return verifyCommand;
    case 'ls':
    case 'tree':
    case 'stat':
    case 'cat':
    case 'extract': {
      const m = await import('./commands/files.js');
      return m.commands[name];
    }
    case 'bench': {
      const m = await import('./commands/bench.js');
      return m.benchCommand;
    }
    case 'inspect': {
      const m = await import('./commands/inspect.js');
      return m.inspectCommand;
    }
    default:
      return undefined;
  }
}

/** Runs the CLI; returns the exit code. Errors become one line on stderr (a stack trace only with --debug). */
export async function main(argv: string[], io: CliIO = { out: process.stdout, err: process.stderr }): Promise<number> {
  const debug = argv.includes('--debug');
  const rest = argv.filter((a) => a !== '--debug');
  const [cmd, ...cmdArgs] = rest;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    io.out.write(USAGE);
    return cmd ? 0 : 2;
  }
  try {
    const command = await loadCommand(cmd);
    if (!command) {
      io.err.write(`dmgkit: unknown command '${cmd}'\n${USAGE}`);
      return 2;
    }
    return await command(parseArgs(cmdArgs, VALUED), io);
  } catch (e) {
    if (e instanceof DmgkitError) {
      io.err.write(`dmgkit: ${e.message}\n`);
      if (debug && e.stack) io.err.write(e.stack + '\n');
      return e.code === 'INVALID_ARGUMENT' ? 2 : 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (err?.code === 'EPIPE') return 0;
    if (err?.code && err.syscall) {
      io.err.write(`dmgkit: ${err.syscall} ${err.path ?? ''}: ${err.code}\n`);
      if (debug && err.stack) io.err.write(err.stack + '\n');
      return 1;
    }
    io.err.write(`dmgkit: internal error: ${err?.message ?? String(e)}\n`);
    if (debug && err?.stack) io.err.write(err.stack + '\n');
    return 70;
  }
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${(await import('node:fs')).realpathSync(process.argv[1])}`).href;
if (isMain) {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
