import type { ByteSource } from './source.js';
import { checkRange } from './source.js';

/** A byte source over bytes already in memory. Reads return views, not copies. */
export class BufferSource implements ByteSource {
  readonly size: number;
  constructor(
    private readonly bytes: Uint8Array,
    readonly name = 'buffer',
  ) {
    this.size = bytes.length;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }
  /** Synchronous read for callers that hold a BufferSource directly. */
  readSync(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }
}
