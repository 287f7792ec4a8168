import type { Writable } from 'node:stream';

export interface CliIO {
  out: Writable & { isTTY?: boolean };
  err: Writable & { isTTY?: boolean };
}

/** Writes to a stream, waiting for drain when it asks for backpressure. */
export function write(stream: Writable, chunk: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = stream.write(chunk, (e) => (e ? reject(e) : undefined));
    if (ok) resolve();
    else stream.once('drain', resolve);
  });
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** Renders rows as an aligned text table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd())
    .join('\n');
}
