import { verifyImage } from '../../udif/verify.js';
import { type ParsedArgs } from '../args.js';
import { type CliIO, write } from '../context.js';
import type { CommandContext } from '../runner.js';
import { diskPieces } from '../../image/pieces.js';

/**
 * UDIF: every checksum present (data fork, block tables, master). Other containers carry no checksums: every byte
 * of the disk is read once, so a band or file that cannot be read fails here rather than later (absent bands of a
 * sparse image are zeros and not read: the cost is what the file stores, not the size it declares).
 */
export async function verifyCommand(args: ParsedArgs, io: CliIO, ctx: CommandContext): Promise<number> {
  const [image] = args.positional;
  const json = args.flags.has('json');
  const opened = await ctx.openDisk(image);
  if (!opened.udif) {
    let bytes = 0;
    let holes = 0; // absent bands: zeros the container knows of, not read
    for await (const p of diskPieces(opened, 0, opened.disk.size, { threads: ctx.threads })) {
      bytes += p.length;
      if (!p.data) holes += p.length;
    }
    const warnings = ctx.warnings();
    if (json) {
      await write(io.out, JSON.stringify({ ok: true, container: opened.kind, size: opened.disk.size, results: [], readable: bytes, absent: holes, warnings }, null, 2) + '\n');
    } else {
      await write(io.out, `${image}: ${opened.kind} image: no checksums to verify; all ${bytes} bytes of the disk read${holes ? ` (${holes} of them in absent bands: zeros)` : ''}\n`);
    }
    return 0;
  }
  const report = await verifyImage(opened.udif, { pool: await ctx.decodePool(opened.udif) });
  if (json) {
    const warnings = ctx.warnings();
    await write(io.out, JSON.stringify({ ...report, container: opened.kind, size: opened.disk.size, warnings }, null, 2) + '\n');
  } else {
    for (const r of report.results) {
      const detail =
        r.status === 'mismatch' ? ` (expected ${r.expected}, got ${r.actual})`
        : r.status === 'ok' ? ` (${r.actual})`
        : r.status === 'unsupported' ? ` (${r.type} not computed)`
        : r.error ? `: ${r.error}` : '';
      await write(io.out, `${r.status.toUpperCase().padEnd(11)} ${r.type.padEnd(6)} ${r.what}${detail}${r.note ? `\n            note: ${r.note}` : ''}\n`);
    }
    const failed = report.results.filter((r) => r.status === 'mismatch' || r.status === 'unreadable');
    await write(io.out, report.ok ? 'all present checksums match\n' : `${failed.length} checksum(s) failed: ${failed.map((r) => r.what).join(', ')}\n`);
  }
  return report.ok ? 0 : 1;
}
