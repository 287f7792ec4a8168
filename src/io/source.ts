import { DmgkitError, at } from '../errors.js';

/**
 * The one byte-source interface every layer reads through: a file, a buffer, a Blob, an HTTP URL, a decoded
 * UDIF disk, a partition of it. `read` returns exactly `length` bytes or throws: a read past the end is a
 * `TRUNCATED` error naming the offset, never a short silent read.
 */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Optional: reads exactly `into.length` bytes at `offset` into `into` (no allocation), same errors as `read`. */
  readInto?(offset: number, into: Uint8Array): Promise<void>;
  /** Releases what the source holds (file handles). Optional. */
  close?(): Promise<void>;
  /**
   * The first offset at or after `offset` that may hold data: every byte of [offset, result) is known to read as
   * zero without reading it (a sparse container's absent bands). Optional; `size` when the rest is all holes.
   */
  nextData?(offset: number): number;
  /** A short description for messages (file name, URL). */
  readonly name?: string;
}

export function checkRange(src: { size: number; name?: string }, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new DmgkitError('OUT_OF_RANGE', `invalid read of ${length} bytes ${at(offset)}`, { offset });
  }
  if (offset + length > src.size) {
    throw new DmgkitError(
      'TRUNCATED',
      `read of ${length} bytes ${at(offset)} goes past the end of ${src.name ?? 'the source'} (${src.size} bytes)`,
      { offset, length, size: src.size },
    );
  }
}

/** A window [start, start+size) of another source, addressed from 0. */
export class SliceSource implements ByteSource {
  readonly name?: string;
  constructor(
    private readonly parent: ByteSource,
    readonly start: number,
    readonly size: number,
    name?: string,
  ) {
    if (start < 0 || size < 0 || start + size > parent.size) {
      throw new DmgkitError(
        'OUT_OF_RANGE',
        `slice [${start}, +${size}) lies outside ${parent.name ?? 'its source'} (${parent.size} bytes)`,
        { offset: start },
      );
    }
    this.name = name ?? parent.name;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    return this.parent.read(this.start + offset, length);
  }
  nextData(offset: number): number {
    if (!this.parent.nextData) return offset;
    return Math.max(offset, Math.min(this.size, this.parent.nextData(this.start + offset) - this.start));
  }
}
