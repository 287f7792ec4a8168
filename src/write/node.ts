/**
 * Writing an image to a path (Node only), under the output-file rules of src/io/safe-output.ts: never onto the
 * input, never over an existing file without `force`, written under a temporary name and renamed when complete
 * (removed on error, abort or Ctrl-C).
 */
import { resolve } from 'node:path';
import { DmgkitError } from '../errors.js';
import { openSafeOutput } from '../io/safe-output.js';
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
  let pos = 0;
  try {
    for await (const piece of writeImage(input, { ...opts, reusePieces: true })) {
      await out.write(piece, pos);
      pos += piece.length;
      releasePiece(piece);
    }
    await out.commit();
    return pos;
  } finally {
    await out.abort();
  }
}
