import { open, type FileHandle } from 'node:fs/promises';
import { DmgkitError, at } from '../errors.js';
import type { ByteSource } from './source.js';
import { errorReason } from './errno.js';
import { checkRange } from './source.js';

/** A local file read with positional reads through a FileHandle; the file is never loaded whole. */
export class FileSource implements ByteSource {
  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly name: string,
  ) {}

  static async open(path: string): Promise<FileSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new DmgkitError('IO_ERROR', `cannot open ${path}: ${errorReason(err)}`, { path, errno: err?.code }, { cause: e });
    }
    let st: Awaited<ReturnType<FileHandle['stat']>>;
    try {
      st = await handle.stat();
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw new DmgkitError('IO_ERROR', `cannot stat ${path}: ${errorReason(e)}`, { path }, { cause: e });
    }
    if (st.isDirectory()) {
      await handle.close();
      throw new DmgkitError('IO_ERROR', `${path} is a directory`, { path });
    }
    return new FileSource(handle, st.size, path);
  }

  /** The open file descriptor (for positional reads on other threads; owned by this source, never close it). */
  get fd(): number {
    return this.handle.fd;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    await this.readInto(offset, out);
    return out;
  }

  async readInto(offset: number, out: Uint8Array): Promise<void> {
    const length = out.length;
    checkRange(this, offset, length);
    let done = 0;
    while (done < length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(out, done, length - done, offset + done));
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new DmgkitError('IO_ERROR', `${this.name}: read ${at(offset + done)} failed: ${errorReason(err)}`, { offset: offset + done, errno: err?.code }, { cause: e });
      }
      if (bytesRead === 0) {
        throw new DmgkitError('TRUNCATED', `${this.name} ended early while reading ${at(offset + done)}`, {
          offset: offset + done,
        });
      }
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
