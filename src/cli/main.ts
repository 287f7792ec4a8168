#!/usr/bin/env node
/**
 * dmgkit's entry point: global options (--help, --version, --debug), `help CMD`, dispatch through the command
 * table (registry.ts, lazy loaders) to the runner (runner.ts, which owns what a command opens), and errors as one
 * line. Loads nothing beyond the table until a command runs.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DmgkitError } from '../errors.js';
import { errnoWords } from '../io/errno.js';
import { type CliIO, nameStream } from './context.js';
import { findCommand, globalUsage } from './registry.js';
import { runCommand } from './runner.js';

/** The version in dmgkit's package.json (found upwards from this module: dist/cli/ or a bundle in dist/). */
export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'dmgkit' && pkg.version) return pkg.version;
    } catch {
      // not here: one level up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** One line for an error; the exit code (2 for a usage error, 1 for a failure, 70 for a bug). */
function report(e: unknown, io: CliIO, debug: boolean): number {
  const say = (line: string, stack?: string) => {
    try {
      io.err.write(`dmgkit: ${line}\n`);
      if (debug && stack) io.err.write(stack + '\n');
    } catch {
      // stderr gone
    }
  };
  if (e instanceof DmgkitError) {
    say(e.message, e.stack);
    return e.code === 'INVALID_ARGUMENT' ? 2 : 1;
  }
  const err = e as NodeJS.ErrnoException;
  if (err?.code && err.syscall) {
    say(`${err.syscall}${err.path ? ` ${err.path}` : ''} failed: ${errnoWords(err.code)}`, err.stack);
    return 1;
  }
  say(`internal error: ${err?.message ?? String(e)}`, err?.stack);
  return 70;
}

/** Runs the CLI; returns the exit code. Errors become one line on stderr (a stack trace only with --debug). */
export async function main(argv: string[], io: CliIO = { out: process.stdout, err: process.stderr }): Promise<number> {
  const debug = argv.includes('--debug');
  const rest = argv.filter((a) => a !== '--debug');
  const [cmd, ...cmdArgs] = rest;
  nameStream(io.out, 'standard output');
  nameStream(io.err, 'standard error');
  // A write error that arrives after the last write was accepted (a pipe closed at the end) still fails the run.
  let outError: unknown;
  const onOutError = (e: unknown) => (outError ??= e);
  io.out.on('error', onOutError);
  try {
    if (!cmd || cmd === '--help' || cmd === '-h' || (cmd === 'help' && cmdArgs.length === 0)) {
      (cmd ? io.out : io.err).write(globalUsage());
      return cmd ? 0 : 2;
    }
    if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
      io.out.write(`dmgkit ${version()}\n`);
      return 0;
    }
    if (cmd === 'help') {
      const spec = findCommand(cmdArgs[0]);
      if (!spec) throw new DmgkitError('INVALID_ARGUMENT', `no command '${cmdArgs[0]}' (dmgkit --help lists them)`);
      io.out.write(spec.usage + '\n');
      return 0;
    }
    const spec = findCommand(cmd);
    if (!spec) {
      const what = cmd.startsWith('-') ? `unknown option ${cmd}` : `unknown command '${cmd}'`;
      throw new DmgkitError('INVALID_ARGUMENT', `${what} (dmgkit --help lists the commands)`);
    }
    let code = await runCommand(spec, cmdArgs, io);
    await new Promise((r) => setImmediate(r)); // let a late write error arrive
    if (outError !== undefined && code === 0) {
      const e = outError as NodeJS.ErrnoException;
      io.err.write(`dmgkit: cannot write standard output: ${errnoWords(e?.code ?? 'EPIPE')}\n`);
      code = 1;
    }
    return code;
  } catch (e) {
    return report(e, io, debug);
  } finally {
    io.out.off('error', onOutError);
  }
}

function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) {
  // Write failures reach the command through write() (src/cli/context.ts); these listeners only keep a late
  // EPIPE from becoming an uncaught exception.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`dmgkit: internal error: ${(e as Error)?.message ?? String(e)}\n`);
      process.exitCode = 70;
    },
  );
}
