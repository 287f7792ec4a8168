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
    return new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
  }
}
