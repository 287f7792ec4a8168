import { DmgkitError, at } from '../errors.js';
import type { ByteSource } from './source.js';
import { checkRange } from './source.js';

/** A Blob or File (browsers, and Node's Blob), read with slice().arrayBuffer(). */
export class BlobSource implements ByteSource {
  readonly size: number;
  constructor(
    private readonly blob: Blob,
    readonly name = 'blob',
  ) {
    this.size = blob.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    let buf: ArrayBuffer;
    try {
      buf = await this.blob.slice(offset, offset + length).arrayBuffer();
    } catch (e) {
      // a File changed or removed since it was picked (NotReadableError), a revoked Blob
      throw new DmgkitError('IO_ERROR', `${this.name}: read ${at(offset)} failed: ${(e as Error)?.message ?? String(e)}`, { offset }, { cause: e });
    }
    if (buf.byteLength !== length) {
      throw new DmgkitError('TRUNCATED', `${this.name}: read ${at(offset)} returned ${buf.byteLength} of ${length} bytes`, { offset });
    }
    return new Uint8Array(buf);
  }
}
