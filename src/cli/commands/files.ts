import { DmgkitError } from '../../errors.js';
import type { OpenedVolume } from '../../volume.js';
import type { CommandContext } from '../runner.js';
import type { HfsEntry } from '../../hfs/volume.js';
import { intFlag, type ParsedArgs } from '../args.js';
import { type CliIO, write } from '../context.js';

/** The image's HFS+/HFSX volume (--partition), opened through the context, which closes it. */
async function withVolume<T>(args: ParsedArgs, ctx: CommandContext, fn: (v: OpenedVolume) => Promise<T>): Promise<T> {
  const [image] = args.positional;
  return fn(await ctx.openVolume(image, { partition: intFlag(args, 'partition') }));
}

const TYPE_CHAR: Record<string, string> = { file: '-', dir: 'd', symlink: 'l', fifo: 'p', char: 'c', block: 'b', socket: 's' };

export function modeString(e: { type: string; mode: number }): string {
  const m = e.mode;
  const rwx = (v: number, s: boolean, sc: string) => `${v & 4 ? 'r' : '-'}${v & 2 ? 'w' : '-'}${s ? (v & 1 ? sc : sc.toUpperCase()) : v & 1 ? 'x' : '-'}`;
  return (
    (TYPE_CHAR[e.type] ?? '?') +
    rwx((m >> 6) & 7, (m & 0o4000) !== 0, 's') +
    rwx((m >> 3) & 7, (m & 0o2000) !== 0, 's') +
    rwx(m & 7, (m & 0o1000) !== 0, 't')
  );
}

function dateString(d: Date): string {
  return d.toISOString().replace('T', ' ').slice(0, 16);
}

export function entryJson(e: HfsEntry) {
  return {
    path: '/' + e.path,
    name: e.name,
    type: e.type,
    size: e.size,
    rsrcSize: e.rsrcSize,
    mode: e.mode,
    modeString: modeString(e),
    uid: e.uid,
    gid: e.gid,
    flags: e.flags,
    nlink: e.nlink,
    cnid: e.cnid,
    createTime: e.createTime.toISOString(),
    modifyTime: e.modifyTime.toISOString(),
    changeTime: e.changeTime.toISOString(),
    accessTime: e.accessTime.toISOString(),
    backupTime: e.backupTime.toISOString(),
    fileType: e.fileType,
    creator: e.creator,
    ...(e.compressed ? { compressed: e.compressed } : {}),
    ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
    ...(e.hardLink ? { hardLink: e.hardLink } : {}),
  };
}

function longLine(e: HfsEntry, name: string): string {
  const target = e.type === 'symlink' && e.linkTarget !== undefined ? ` -> ${e.linkTarget}` : '';
  return `${modeString(e)} ${String(e.nlink).padStart(3)} ${String(e.uid).padEnd(5)} ${String(e.gid).padEnd(5)} ${String(e.size).padStart(10)} ${dateString(e.modifyTime)} ${name}${target}`;
}

const cleanPath = (p: string | undefined) => (p ?? '/').replace(/^\/+/, '').replace(/\/+$/, '');

async function ls(args: ParsedArgs, io: CliIO, ctx: CommandContext): Promise<number> {
  const path = cleanPath(args.positional[1]);
  const long = args.flags.has('l');
  const recursive = args.flags.has('R');
  const json = args.flags.has('json');
  return withVolume(args, ctx, async ({ volume }) => {
    const st = await volume.lstat(path);
    // An entry that cannot be described (damaged decmpfs header, unreadable link) is reported, not fatal.
    let skipped = 0;
    const onEntryError = (p: string, e: DmgkitError) => {
      skipped++;
      io.err.write(`dmgkit: skipped /${p}: ${e.message}\n`);
    };
    // Entries are printed as the catalog is read (a folder of a million files is never held in memory), in
    // batches of about 64 KiB of text.
    let buf = '';
    let count = 0;
    const out = async (text: string) => {
      buf += text;
      if (buf.length >= 65536) {
        await write(io.out, buf);
        buf = '';
      }
    };
    const base = path ? path + '/' : '';
    const emit = async (e: HfsEntry) => {
      if (json) {
        const j = JSON.stringify(entryJson(e), null, 2).replace(/\n/g, '\n  ');
        await out(count === 0 ? `[\n  ${j}` : `,\n  ${j}`);
      } else {
        const name = recursive || st.type !== 'dir' ? (e.path.startsWith(base) ? e.path.slice(base.length) : e.path) : e.name;
        await out((long ? longLine(e, name) : name) + '\n');
      }
      count++;
    };
    if (st.type !== 'dir') await emit(st);
    else for await (const e of recursive ? volume.walk(path, { onEntryError }) : volume.iterdir(path, { onEntryError })) await emit(e);
    if (json) buf += count === 0 ? '[]\n' : '\n]\n';
    if (buf) await write(io.out, buf);
    return skipped ? 1 : 0;
  });
}

async function tree(args: ParsedArgs, io: CliIO, ctx: CommandContext): Promise<number> {
  const path = cleanPath(args.positional[1]);
  return withVolume(args, ctx, async ({ volume }) => {
    await write(io.out, (path ? '/' + path : '/') + '\n');
    let dirs = 0;
    let files = 0;
    // Directories being listed, by CNID: a damaged catalog can make a folder list one of its ancestors. And every
    // directory listed so far: entries naming an already listed folder (directory hard links, or a damaged catalog
    // naming one folder many times, which nests into an exponential tree) are shown once.
    const onStack = new Set<number>();
    const listed = new Set<number>();
    const visit = async (dir: string | HfsEntry, prefix: string): Promise<void> => {
      const list = await volume.readdir(dir);
      for (let i = 0; i < list.length; i++) {
        const e = list[i];
        const lastOne = i === list.length - 1;
        const target = e.type === 'symlink' ? ` -> ${e.linkTarget ?? ''}` : '';
        const loop = e.type === 'dir' && onStack.has(e.cnid);
        const again = e.type === 'dir' && !loop && listed.has(e.cnid);
        const note = loop ? '  [directory loop: not followed]' : again ? '  [directory listed above]' : '';
        await write(io.out, `${prefix}${lastOne ? '└── ' : '├── '}${e.name}${target}${note}\n`);
        if (e.type === 'dir' && !e.hardLink && !loop && !again) {
          dirs++;
          listed.add(e.cnid);
          onStack.add(e.cnid);
          await visit(e, prefix + (lastOne ? '    ' : '│   '));
          onStack.delete(e.cnid);
        } else files++;
      }
    };
    onStack.add((await volume.stat(path)).cnid);
    await visit(path, '');
    await write(io.out, `\n${dirs} directories, ${files} files\n`);
    return 0;
  });
}

async function stat(args: ParsedArgs, io: CliIO, ctx: CommandContext): Promise<number> {
  const path = cleanPath(args.positional[1]);
  if (args.positional[1] === undefined) throw new DmgkitError('INVALID_ARGUMENT', 'usage: dmgkit stat IMAGE PATH [--json]');
  return withVolume(args, ctx, async ({ volume }) => {
    const e = await volume.lstat(path);
    const xattrs = await volume.listXattrs(e);
    const j = { ...entryJson(e), xattrs };
    if (args.flags.has('json')) {
      await write(io.out, JSON.stringify(j, null, 2) + '\n');
      return 0;
    }
    const lines = Object.entries(j).map(([k, v]) => `${k.padEnd(12)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
    await write(io.out, lines.join('\n') + '\n');
    return 0;
  });
}

async function cat(args: ParsedArgs, io: CliIO, ctx: CommandContext): Promise<number> {
  if (args.positional[1] === undefined) throw new DmgkitError('INVALID_ARGUMENT', 'usage: dmgkit cat IMAGE PATH [--rsrc]');
  const path = cleanPath(args.positional[1]);
  return withVolume(args, ctx, async ({ volume }) => {
    for await (const chunk of volume.iterateFile(path, { fork: args.flags.has('rsrc') ? 'rsrc' : 'data' })) await write(io.out, chunk);
    return 0;
  });
}

async function extract(args: ParsedArgs, io: CliIO, ctx: CommandContext): Promise<number> {
  const [, dest, sub] = args.positional;
  if (!dest) throw new DmgkitError('INVALID_ARGUMENT', 'usage: dmgkit extract IMAGE DEST [PATH] [--no-forks] [--keep-setuid]');
  const { extractVolume } = await import('../../extract/extract.js');
  return withVolume(args, ctx, async ({ volume }) => {
    const report = await extractVolume(volume, dest, {
      path: sub ? cleanPath(sub) : undefined,
      forks: !args.flags.has('no-forks'),
      keepSetuid: args.flags.has('keep-setuid'),
    });
    for (const s of report.skipped) await write(io.err, `dmgkit: skipped /${s.path}: ${s.reason}\n`);
    for (const n of report.notes) await write(io.err, `dmgkit: note: /${n.path}: ${n.note}\n`);
    if (args.flags.has('json')) {
      await write(io.out, JSON.stringify({ dest, ...report, warnings: ctx.warnings() }, null, 2) + '\n');
    } else {
      await write(
        io.err,
        `extracted ${report.files} files (${report.bytes} bytes), ${report.dirs} directories, ${report.symlinks} symlinks, ${report.hardLinks} hard links, ${report.appleDouble} AppleDouble files to ${dest}` +
          `${report.skipped.length ? `; ${report.skipped.length} skipped` : ''}${report.notes.length ? `; ${report.notes.length} note${report.notes.length > 1 ? 's' : ''}` : ''}\n`,
      );
    }
    return report.skipped.length ? 1 : 0;
  });
}

export const commands = { ls, tree, stat, cat, extract };
