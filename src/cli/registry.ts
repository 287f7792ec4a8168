/**
 * The table of dmgkit's commands: name, usage, options, argument count and a lazy loader. `dmgkit --help`,
 * `dmgkit help CMD` and option checking read only this table, so no command module (and no codec or XML parser)
 * is loaded until a command runs.
 *
 * Adding a command: one entry here (keep `usage` and `options` in step with what the command reads) and a module
 * under commands/ exporting a `CommandFn`.
 */
import type { CommandFn } from './runner.js';

/** 'flag' takes no value, 'value' takes one (`--name V`, `--name=V`, or `-x V` for one-letter names). */
export type OptionKind = 'flag' | 'value';

export interface CommandSpec {
  name: string;
  /** One line for `dmgkit --help`. */
  summary: string;
  /** Full usage for `dmgkit help CMD` and `CMD --help`: the synopsis line(s) first. */
  usage: string;
  /** Accepted options by the name the parser records: the long name without dashes, or the letter of `-x`. */
  options: Record<string, OptionKind>;
  /** How many positional arguments the command takes. */
  args: [min: number, max: number];
  load(): Promise<CommandFn>;
}

/** Options every command accepts. */
export const COMMON_OPTIONS: Record<string, OptionKind> = { debug: 'flag', help: 'flag', h: 'flag' };

/**
 * How an image is opened (CommandContext.sourceOptions): an http(s) URL's timeout and redirects, UDIF chunks that
 * share stored bytes refused.
 */
const SOURCE_OPTIONS: Record<string, OptionKind> = { timeout: 'value', 'allow-cross-origin-redirects': 'flag', 'reject-overlapping-chunks': 'flag' };
const SOURCE_HELP = `  --timeout S      an http(s) IMAGE: seconds to wait for a response or between two pieces of one (default 30)
  --allow-cross-origin-redirects  an http(s) IMAGE: follow redirects to another scheme, host or port (default: refused)
  --reject-overlapping-chunks     refuse a UDIF image whose chunks share stored bytes (default: a warning)`;

/** Options of every command that opens an image. */
const IMAGE_OPTIONS: Record<string, OptionKind> = { threads: 'value', ...SOURCE_OPTIONS };
const VOLUME_OPTIONS: Record<string, OptionKind> = { ...IMAGE_OPTIONS, partition: 'value' };

/** Options of the commands that write an image (convert --format, create). */
const WRITE_OPTIONS: Record<string, OptionKind> = { format: 'value', level: 'value', 'chunk-sectors': 'value', 'segment-id': 'value', deterministic: 'flag', 'discard-free-space': 'flag' };
const WRITE_HELP = `  --format F       UDZO (zlib), UDCO (ADC), ULFO (LZFSE), UDBZ (bzip2), ULMO (LZMA/XZ), UDRO/UDRW (raw chunks),
                   UDSP (sparse image), UDSB (sparse bundle folder) or raw (the plain disk)
  --level N        compression level (UDZO: 1..9, default 6; UDBZ: 1..9 = block size, default 9; ULMO: 0..9 = xz preset, default 6)
  --chunk-sectors N  sectors per chunk (default hdiutil's: 2048 = 1 MiB) or per UDSP band
  --threads N      encode on N threads (default: the number of cores); the output is the same for every N
  --deterministic  segment ID derived from the content: the same input gives the same bytes
  --segment-id ID  the trailer's segment ID (a UUID)
  --discard-free-space  leave out the bytes of free blocks inside HFS+ volumes (they read back as zeros; default:
                   kept, the image decodes to the input disk byte for byte)
  -o OUT           the image (- for standard output; not UDSB); --force replaces an existing OUT`;
const THREADS_HELP = '  --threads N      decode on N threads (default: the number of cores; 1: on the calling thread only)';
const PARTITION_HELP = '  --partition N    the volume in partition-map entry N (default: the first HFS+/HFSX volume)';

export const COMMANDS: CommandSpec[] = [
  {
    name: 'info',
    summary: 'info IMAGE [--json]                 container, block tables, partition map, file systems',
    usage: `usage: dmgkit info IMAGE [--json]

Describes IMAGE (a UDIF .dmg, sparse image, sparse bundle folder or raw disk/ISO): the container, UDIF block
tables and checksums, the partition map and the file system in each entry.

  --json           the same as one JSON object (warnings included)
${SOURCE_HELP}`,
    options: { ...IMAGE_OPTIONS, json: 'flag' },
    args: [1, 1],
    load: async () => (await import('./commands/info.js')).infoCommand,
  },
  {
    name: 'verify',
    summary: 'verify IMAGE [--json]               check the data-fork, partition and master checksums',
    usage: `usage: dmgkit verify IMAGE [--json] [--threads N]

Checks the UDIF data-fork checksum, every block table's checksum and the master checksum. Exit 0 when every
checksum present matches, 1 on a mismatch or an unreadable chunk. Other containers carry no checksums.

  --json           the report as JSON (warnings included)
${THREADS_HELP}
${SOURCE_HELP}`,
    options: { ...IMAGE_OPTIONS, json: 'flag' },
    args: [1, 1],
    load: async () => (await import('./commands/verify.js')).verifyCommand,
  },
  {
    name: 'convert',
    summary: 'convert IMAGE -o OUT|- [--force]    write the raw disk (sparse when OUT is a file)',
    usage: `usage: dmgkit convert IMAGE -o OUT|- [--force] [--partition N | --blkx N] [--threads N] [--keep-going]
       dmgkit convert IMAGE -o OUT|- --format F [--level N] [--chunk-sectors N] [--threads N] [--force]

Writes the decoded raw disk (like dmg2img) to OUT, or to standard output with -o -. Zero runs become holes in a
file. OUT is written under a temporary name beside it and renamed when complete; it is never the input, and an
existing OUT is replaced only with --force. Ctrl-C removes the partial file.

  -o, --output OUT write to OUT (- for standard output)
  --force          replace an existing OUT
  --partition N    only partition-map entry N
  --blkx N         only UDIF block table N
  --keep-going     write what is readable (lost ranges as zeros, named; exit 1) instead of failing
${THREADS_HELP}
${SOURCE_HELP}

With --shadow FILE (a shadow written by dmgkit serve), the disk (or the --partition that was served) with the
shadow's writes applied; with --format too, as a new image.

With --format F, writes a new image of IMAGE in format F instead (hdiutil convert -format F): block tables laid
out as hdiutil does (a UDIF input keeps its own), chunks encoded on --threads threads. IMAGE - reads a raw disk
from standard input (one pass, one whole-disk table).

${WRITE_HELP}`,
    options: { ...IMAGE_OPTIONS, o: 'value', output: 'value', force: 'flag', partition: 'value', blkx: 'value', 'keep-going': 'flag', ...WRITE_OPTIONS, shadow: 'value' },
    args: [1, 1],
    load: async () => (await import('./commands/convert.js')).convertCommand,
  },
  {
    name: 'create',
    summary: 'create --from VOLUME -o OUT.dmg      wrap a file-system image in a partitioned disk image',
    usage: `usage: dmgkit create --from VOLUME [--scheme apm|gpt|mbr|none] [--volname NAME] [--format F] -o OUT [--force]

Wraps a raw file-system image (an HFS+ volume, a FAT image, an ISO) in a partitioned disk laid out the way hdiutil
lays one out (GPT: the volume at sector 40; APM: at block 64 after a 63-block map; MBR: from sector 1; none: the
volume alone) and writes it as an image of format F (default UDZO).

  --from VOLUME    the file-system image
  --scheme S       partition map: gpt (default), apm, mbr or none
  --volname NAME   the partition's name (default "disk image"; the file system's own label is not changed)
${WRITE_HELP}`,
    options: { threads: 'value', from: 'value', scheme: 'value', volname: 'value', o: 'value', output: 'value', force: 'flag', ...WRITE_OPTIONS },
    args: [0, 0],
    load: async () => (await import('./commands/write.js')).createCommand,
  },
  {
    name: 'ls',
    summary: 'ls IMAGE [PATH] [-l] [-R] [--json]  list files of the HFS+ volume',
    usage: `usage: dmgkit ls IMAGE [PATH] [-l] [-R] [--json] [--partition N]

Lists a folder of the image's HFS+/HFSX volume (default: its root).

  -l               long listing: mode, links, owner, size, date
  -R               recursively
  --json           entries as JSON
${PARTITION_HELP}
${SOURCE_HELP}`,
    options: { ...VOLUME_OPTIONS, l: 'flag', R: 'flag', json: 'flag' },
    args: [1, 2],
    load: async () => (await import('./commands/files.js')).commands.ls,
  },
  {
    name: 'tree',
    summary: 'tree IMAGE [PATH]                   print the directory tree',
    usage: `usage: dmgkit tree IMAGE [PATH] [--partition N]

Prints the folder tree of the HFS+/HFSX volume below PATH (default: the root).

${PARTITION_HELP}
${SOURCE_HELP}`,
    options: { ...VOLUME_OPTIONS },
    args: [1, 2],
    load: async () => (await import('./commands/files.js')).commands.tree,
  },
  {
    name: 'stat',
    summary: "stat IMAGE PATH [--json]            show a file's metadata",
    usage: `usage: dmgkit stat IMAGE PATH [--json] [--partition N]

Shows the metadata of one file or folder of the HFS+/HFSX volume, extended attributes included.

  --json           as JSON
${PARTITION_HELP}
${SOURCE_HELP}`,
    options: { ...VOLUME_OPTIONS, json: 'flag' },
    args: [2, 2],
    load: async () => (await import('./commands/files.js')).commands.stat,
  },
  {
    name: 'cat',
    summary: "cat IMAGE PATH [--rsrc]             write a file's data (or resource) fork to standard output",
    usage: `usage: dmgkit cat IMAGE PATH [--rsrc] [--partition N]

Writes a file's data fork (or resource fork) to standard output, decompressing HFS+ compression.

  --rsrc           the resource fork
${PARTITION_HELP}
${SOURCE_HELP}`,
    options: { ...VOLUME_OPTIONS, rsrc: 'flag' },
    args: [2, 2],
    load: async () => (await import('./commands/files.js')).commands.cat,
  },
  {
    name: 'extract',
    summary: "extract IMAGE DEST [PATH]           extract the volume's files under DEST",
    usage: `usage: dmgkit extract IMAGE DEST [PATH] [--no-forks] [--keep-setuid] [--json] [--partition N]

Writes the files, folders, links and metadata of the volume (or of PATH in it) under DEST. Names that would leave
DEST are refused; a damaged file is skipped and named (exit 1). Notes (e.g. a '._' name shortened and recorded in
a manifest) are printed on stderr and do not change the exit code.

  --no-forks       no AppleDouble (._name) files for resource forks and Finder info
  --keep-setuid    keep set-user-ID and set-group-ID bits
  --json           the report as JSON on standard output (counts, skipped, notes, warnings)
${PARTITION_HELP}
${SOURCE_HELP}`,
    options: { ...VOLUME_OPTIONS, 'no-forks': 'flag', 'keep-setuid': 'flag', json: 'flag' },
    args: [2, 3],
    load: async () => (await import('./commands/files.js')).commands.extract,
  },
  {
    name: 'bench',
    summary: 'bench [--quick] [--json]            measure decoder throughput',
    usage: `usage: dmgkit bench [--quick] [--json] [--threads N]

Measures dmgkit's own decoders on generated mixed data in 1 MiB chunks, on one thread and on N threads.
(npm run bench compares them with the native tools.)

  --quick          8 MiB and one repetition instead of 32 MiB and three
  --json           the results as JSON
  --threads N      threads for the parallel measurement (default: the number of cores, at most 8)`,
    options: { threads: 'value', quick: 'flag', json: 'flag' },
    args: [0, 0],
    load: async () => (await import('./commands/bench.js')).benchCommand,
  },
];

COMMANDS.push({
  name: 'serve',
  summary: 'serve IMAGE [--shadow FILE]         serve the disk over NBD (writes go to the shadow)',
  usage: `usage: dmgkit serve IMAGE [--shadow FILE] [--port N | --socket PATH] [--bind ADDR] [--partition N] [--read-only] [--threads N]

Serves the disk of IMAGE (any image dmgkit reads) over NBD until Ctrl-C (SIGINT/SIGTERM), for QEMU
(-drive file=nbd://127.0.0.1:10809,format=raw), nbd-client, qemu-img or nbdcopy. Read-only unless a shadow is
given: then writes go to FILE (a sparse image, created when missing, crash-safe after FLUSH) and IMAGE is never
written. docs/formats/shadow.md.

  --shadow FILE    keep writes in FILE; reads merge it over the image
  --port N         TCP port (default 10809; 0 picks a free one, printed)
  --bind ADDR      listen on ADDR (default 127.0.0.1: loopback only)
  --socket PATH    listen on a Unix socket instead
  --partition N    serve partition-map entry N instead of the whole disk
  --read-only      refuse writes even with a shadow
  --cache-mib N    decoded chunks kept in memory (default 64 MiB)
${THREADS_HELP}
${SOURCE_HELP}`,
  options: { ...IMAGE_OPTIONS, shadow: 'value', port: 'value', socket: 'value', bind: 'value', partition: 'value', 'read-only': 'flag', 'cache-mib': 'value' },
  args: [1, 1],
  load: async () => (await import('./commands/serve.js')).serveCommand,
});

COMMANDS.push({
  name: 'inspect',
  summary: 'inspect [IMAGE] [--port N]          serve the inspector page on 127.0.0.1 (opens IMAGE in it)',
  usage: `usage: dmgkit inspect [IMAGE] [--port N]

Serves the web inspector (web/) on 127.0.0.1 and prints its URL; with IMAGE, the page opens it (served with
Range requests). Ctrl-C stops the server.

  --port N         TCP port (default: a free one)`,
  options: { port: 'value' },
  args: [0, 1],
  load: async () => (await import('./commands/inspect.js')).inspectCommand,
});

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export function globalUsage(): string {
  return `usage: dmgkit <command> [options]

${COMMANDS.map((c) => `  ${c.summary}`).join('\n')}

dmgkit help COMMAND (or COMMAND --help) shows a command's options. Common: --threads N, --debug (stack traces).
dmgkit --version prints the version.
`;
}
