/**
 * Writing an image to a path (Node only), under the output-file rules of src/io/safe-output.ts: never onto the
 * input, never over an existing file without `force`, written under a temporary name and renamed when complete
 * (removed on error, abort or Ctrl-C).
 */
import { resolve } from 'node:path';
import { DmgkitError } from '../errors.js';
import { openSafeOutput, type SafeOutput } from '../io/safe-output.js';
import { writeSparseBundle } from '../container/sparsebundle-write.js';
import { openDisk } from '../open.js';
import { type ImageInput, type WriteImageOptions, releasePiece, resolveFormat, writeImage } from './image.js';

export interface WriteImageFileOptions extends WriteImageOptions {
  /** Replace an existing file (or sparse bundle folder). */
  force?: boolean;
  /** Paths the output must not be (the inputs); a path `input` is added automatically. */
  inputs?: string[];
}

/** Writes the image of `input` to `path`; resolves to the number of bytes written (0 for a sparse bundle). */
export async function writeImageFile(input: ImageInput, path: string, opts: WriteImageFileOptions): Promise<number> {
  const format = resolveFormat(opts.format);
  const inputs = [...(opts.inputs ?? []), ...(typeof input === 'string' ? [input] : [])];
  if (format.name === 'UDSB') {
    const opened = typeof input === 'string' || input instanceof URL ? await openDisk(input, { raw: 'always' }) : null;
    try {
      const disk = opened ? opened.disk : 'disk' in (input as object) ? (input as { disk: import('../io/source.js').ByteSource }).disk : null;
      if (!disk) throw new DmgkitError('INVALID_ARGUMENT', 'a sparse bundle is written from a path or an opened disk');
      for (const i of inputs) {
        if (resolve(i) === resolve(path)) throw new DmgkitError('SAME_FILE', `refusing to write ${path}: it is the input ${i}`, { path, input: i });
      }
      await writeSparseBundle(disk, path, { bandSize: opts.chunkSectors ? opts.chunkSectors * 512 : undefined, force: opts.force, onProgress: opts.onProgress, signal: opts.signal });
      return 0;
    } finally {
      await opened?.close();
    }
  }
  const out = await openSafeOutput(path, { inputs, force: opts.force, forceHint: '--force' });
  try {
    const n = await writePieces(writeImage(input, { ...opts, reusePieces: true }), out);
    await out.commit();
    return n;
  } finally {
    await out.abort();
  }
}

/** Pieces written or waiting to be (writePieces). */
const WRITES_IN_FLIGHT = 4;

/**
 * Writes the pieces of writeImage({ reusePieces: true }) to `out` one after the other from offset 0, each given
 * back (releasePiece) once written; resolves to the bytes written. Up to WRITES_IN_FLIGHT pieces are taken before
 * the oldest is written: a seekable output writes them at once, each at its offset; any other (a pipe, a device)
 * one after the other, in order. So the next pieces are taken while earlier ones are written, rather than one
 * piece per turn of the event loop (measured, 256 MiB to ULFO on 2 threads: with each write awaited, the calling
 * thread, which also encodes, found no job queued after each of its own; see src/udif/write/udif.ts). A failed
 * write is thrown once the writes started have ended; no later piece is written.
 */
export async function writePieces(pieces: AsyncIterable<Uint8Array>, out: Pick<SafeOutput, 'write' | 'seekable'>): Promise<number> {
  const inFlight: Promise<void>[] = [];
  let last: Promise<void> = Promise.resolve();
  let pos = 0;
  try {
    for await (const piece of pieces) {
      const at = pos;
      const write = () => out.write(piece, at).then(() => releasePiece(piece));
      last = out.seekable ? write() : last.then(write);
      last.catch(() => undefined); // awaited below, in order
      inFlight.push(last);
      pos += piece.length;
      if (inFlight.length >= WRITES_IN_FLIGHT) await inFlight.shift();
    }
    while (inFlight.length) await inFlight.shift();
    return pos;
  } finally {
    await Promise.allSettled(inFlight);
  }
}
