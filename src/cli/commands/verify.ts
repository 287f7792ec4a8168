import { DmgkitError } from '../../errors.js';
import { openDisk } from '../../open.js';
import { verifyImage } from '../../udif/verify.js';
import { decodePool, threadsFor } from '../../udif/to-file.js';
import { type ParsedArgs } from '../args.js';
import { type CliIO, write } from '../context.js';
import { threadsOption, makeExecutor } from '../threads.js';

export async function verifyCommand(args: ParsedArgs, io: CliIO): Promise<number> {
  const [image] = args.positional;
  if (!image) throw new DmgkitError('INVALID_ARGUMENT', 'usage: dmgkit verify IMAGE [--threads N] [--json]');
  const threads = threadsOption(args);
  const executor = await makeExecutor(threads);
  const opened = await openDisk(image, { threads, executor });
  try {
    if (!opened.udif) {
      await write(io.out, `${image}: ${opened.kind} image: no checksums to verify\n`);
      return 0;
    }
    const pool = decodePool(threadsFor(opened.udif, threads));
    let report;
    try {
      report = await verifyImage(opened.udif, { pool });
    } finally {
      await pool.close();
    }
    if (args.flags.has('json')) {
      await write(io.out, JSON.stringify(report, null, 2) + '\n');
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
  } finally {
    await opened.close();
  }
}
