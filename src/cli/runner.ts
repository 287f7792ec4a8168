/**
 * The command runner: the one owner of everything a command opens. A command asks its context for the decode
 * executor, images, volumes and output files; the runner closes them all (last opened first) when the command
 * ends — on success, on error, and (for output files) on SIGINT/SIGTERM through src/io/cleanup.ts. Commands never
 * close what the context gave them.
 *
 * The runner also shows every warning the opened images carry (stderr, once each), whatever the command.
 */
import { DmgkitError } from '../errors.js';
import type { OpenedDisk, OpenOptions } from '../open.js';
import type { OpenedVolume, OpenVolumeOptions } from '../volume.js';
import type { SafeOutput } from '../io/safe-output.js';
import type { TaskPool } from '../pool/pool.js';
import type { UdifImage } from '../udif/image.js';
import { parseArgs, type ParsedArgs } from './args.js';
import { type CliIO, write } from './context.js';
import { COMMON_OPTIONS, type CommandSpec } from './registry.js';
import { makeExecutor, threadsOption, type LazyExecutor } from './threads.js';

/**
 * A command: reads its arguments, does its work through `ctx`, returns the exit code (0 success, 1 failure).
 * Errors thrown become one line on stderr (DmgkitError: its message; INVALID_ARGUMENT exits 2).
 */
export type CommandFn = (args: ParsedArgs, io: CliIO, ctx: CommandContext) => Promise<number>;

export class CommandContext {
  private readonly closers: { what: string; close: () => Promise<void> }[] = [];
  private readonly disks: OpenedDisk[] = [];
  private readonly shown = new Set<string>();
  private executorValue: LazyExecutor | undefined | null = null;
  private threadsValue: number | undefined;

  constructor(
    readonly spec: CommandSpec,
    readonly args: ParsedArgs,
    readonly io: CliIO,
  ) {}

  /** Registers something to close when the command ends (last registered, first closed). */
  own(what: string, close: () => Promise<void> | void): void {
    this.closers.push({ what, close: async () => close() });
  }

  /** --threads N, default the number of cores. */
  get threads(): number {
    return (this.threadsValue ??= threadsOption(this.args));
  }

  /** The decode executor for --threads (none for one thread); its workers start on first use. */
  get executor(): LazyExecutor | undefined {
    if (this.executorValue === null) {
      this.executorValue = makeExecutor(this.threads);
      const ex = this.executorValue;
      if (ex) this.own('decoder threads', () => ex.close());
    }
    return this.executorValue;
  }

  private decodePoolValue: Promise<TaskPool> | undefined;

  /**
   * The pool to decode [start, end) of `img` on, closed when the command ends: one of as many threads as the work pays for (threadsFor: one for a small image).
   */
  async decodePool(img: UdifImage, start = 0, end = img.size): Promise<TaskPool> {
    if (this.decodePoolValue) return this.decodePoolValue;
    const { decodePool, threadsFor } = await import('../udif/to-file.js');
    const pool = decodePool(threadsFor(img, this.threads, start, end));
    this.own('decoder pool', () => pool.close());
    this.decodePoolValue = Promise.resolve(pool);
    return pool;
  }

  /**
   * How images are opened, from the command line: --timeout S and --allow-cross-origin-redirects (an http(s)
   * IMAGE), --reject-overlapping-chunks (UDIF).
   */
  sourceOptions(): Pick<OpenOptions, 'http' | 'rejectOverlappingChunks'> {
    const out: Pick<OpenOptions, 'http' | 'rejectOverlappingChunks'> = {};
    const t = this.args.flags.get('timeout');
    const allow = this.args.flags.has('allow-cross-origin-redirects');
    if (t !== undefined || allow) {
      out.http = {};
      if (t !== undefined) {
        const s = Number(t);
        if (t === true || t === '' || !Number.isFinite(s) || s <= 0 || s * 1000 > 2 ** 31 - 1) {
          throw new DmgkitError('INVALID_ARGUMENT', `--timeout needs a number of seconds above 0 (at most ${Math.floor((2 ** 31 - 1) / 1000)}), not '${t}'`);
        }
        out.http.timeoutMs = Math.max(1, Math.round(s * 1000));
      }
      if (allow) out.http.allowCrossOriginRedirects = true;
    }
    if (this.args.flags.has('reject-overlapping-chunks')) out.rejectOverlappingChunks = true;
    return out;
  }

  /** Opens an image (any container), decoding on --threads threads; closed when the command ends. */
  async openDisk(input: string, opts: OpenOptions = {}): Promise<OpenedDisk> {
    const { openDisk } = await import('../open.js');
    const opened = await openDisk(input, { threads: this.threads, executor: this.executor, ...this.sourceOptions(), ...opts });
    this.own(input, () => opened.close());
    this.disks.push(opened);
    return opened;
  }

  /** Opens an image and its HFS+/HFSX volume (--partition); closed when the command ends. */
  async openVolume(input: string, opts: OpenVolumeOptions = {}): Promise<OpenedVolume> {
    const { openVolumeOf } = await import('../volume.js');
    const disk = await this.openDisk(input, opts);
    const v = await openVolumeOf(disk, opts);
    return { ...v, disk, close: async () => undefined };
  }

  /**
   * Opens an output file safely (src/io/safe-output.ts): never one of `inputs`, never over an existing file
   * without --force, written under a temporary name. The command calls commit() when the output is complete;
   * anything not committed when the command ends is removed.
   */
  async openOutput(path: string, inputs: readonly string[]): Promise<SafeOutput> {
    const { openSafeOutput } = await import('../io/safe-output.js');
    const out = await openSafeOutput(path, { inputs, force: this.args.flags.has('force'), forceHint: '--force' });
    this.own(path, () => out.abort());
    return out;
  }

  /** Every warning of the images opened so far (the container's, recorded while opening or reading). */
  warnings(): string[] {
    const all: string[] = [];
    for (const d of this.disks) for (const w of d.warnings) if (!all.includes(w)) all.push(w);
    return all;
  }

  /** Marks warnings as already shown to the user (e.g. in `info`'s report), so the runner does not repeat them. */
  markShown(ws: Iterable<string>): void {
    for (const w of ws) this.shown.add(w);
  }

  /** Writes the warnings not shown yet to stderr, one line each. */
  async showWarnings(): Promise<void> {
    for (const w of this.warnings()) {
      if (this.shown.has(w)) continue;
      this.shown.add(w);
      await write(this.io.err, `dmgkit: warning: ${w}\n`);
    }
  }

  /** Closes everything the command opened, last first. The first close error is thrown after all ran. */
  async close(): Promise<void> {
    let first: unknown;
    while (this.closers.length) {
      const c = this.closers.pop()!;
      try {
        await c.close();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  }
}

/** Parses the arguments against the command's table, runs it, shows warnings, closes what it opened. */
export async function runCommand(spec: CommandSpec, argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { ...COMMON_OPTIONS, ...spec.options }, spec.name);
  if (args.flags.has('help') || args.flags.has('h')) {
    await write(io.out, spec.usage + '\n');
    return 0;
  }
  const [min, max] = spec.args;
  if (args.positional.length > max) {
    throw new DmgkitError('INVALID_ARGUMENT', `unexpected argument '${args.positional[max]}' for ${spec.name} (${spec.usage.split('\n')[0]})`);
  }
  if (args.positional.length < min) {
    throw new DmgkitError('INVALID_ARGUMENT', `missing argument for ${spec.name} (${spec.usage.split('\n')[0]})`);
  }
  const ctx = new CommandContext(spec, args, io);
  let failed = true;
  try {
    const command = await spec.load();
    const code = await command(args, io, ctx);
    failed = false;
    return code;
  } finally {
    try {
      await ctx.showWarnings();
    } catch {
      // stderr is gone: nothing more to tell
    }
    try {
      await ctx.close();
    } catch (e) {
      if (!failed) throw e; // a failure to close is the result only when nothing failed before
    }
  }
}
