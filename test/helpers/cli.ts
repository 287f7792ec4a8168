import { PassThrough } from 'node:stream';
import type { CliIO } from '../../src/cli/context.js';

type Captured = PassThrough & { captured: Buffer[] };

/** In-memory stdout/stderr for running the CLI in-process. */
export function memoryIO(): CliIO {
  const mk = (): Captured => {
    const s = new PassThrough() as Captured;
    s.captured = [];
    s.on('data', (d: Buffer) => s.captured.push(d));
    return s;
  };
  return { out: mk(), err: mk() };
}

export function collect(stream: object): string;
export function collect(stream: object, binary: true): Buffer;
export function collect(stream: object, binary = false): string | Buffer {
  const buf = Buffer.concat((stream as Captured).captured);
  return binary ? buf : buf.toString('utf8');
}
