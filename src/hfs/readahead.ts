import type { ByteSource } from '../io/source.js';

/** Bytes read at once when small reads run sequentially through the volume. */
export const READAHEAD_WINDOW = 1 << 20;
/** Reads at least this long go straight to the source. */
const DIRECT_READ_BYTES = READAHEAD_WINDOW / 4;
/** A read starting at most this far past the end of the previous one counts as sequential. */
const SEQUENTIAL_GAP = 64 * 1024;

interface Window {
  start: number;
  end: number;
  /** The window's bytes, or null when reading the whole window failed (readers then read directly). */
  data: Promise<Uint8Array | null>;
}

/**
 * Sequential read-ahead over a ByteSource for file content: a listing-order extraction reads thousands of small
 * files whose blocks follow each other on the volume; after two small reads in a row (the second starting at
 * most SEQUENTIAL_GAP past the first's end), one READAHEAD_WINDOW read serves the following ones. Random and
 * large reads go straight to the source. Reads served from a window are VIEWS of it (no copy per small file):
 * the owner must copy before handing bytes to anyone who may keep or change them (`isShared` tells), and a
 * window read that fails (e.g. a damaged chunk of a compressed image somewhere else in the window) is not an
 * error: each reader then reads its own range directly, so it fails only if its own bytes are unreadable.
 * It does not own the source (no close).
 */
export class SequentialReadAhead implements ByteSource {
  readonly size: number;
  readonly name?: string;
  private window: Window | null = null;
  private lastEnd = -1;
  /** Buffers of the windows handed out (views of them must be copied before leaving the volume). */
  private readonly windowBuffers = new WeakSet<ArrayBufferLike>();

  constructor(private readonly source: ByteSource) {
    this.size = source.size;
    this.name = source.name;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const end = offset + length;
    const sequential = offset >= this.lastEnd && offset - this.lastEnd <= SEQUENTIAL_GAP && this.lastEnd >= 0;
    this.lastEnd = end;
    if (!(length > 0 && length < DIRECT_READ_BYTES && offset >= 0 && end <= this.size)) return this.source.read(offset, length);
    let w = this.window;
    if (!w || offset < w.start || end > w.end) {
      if (!sequential) return this.source.read(offset, length);
      const wEnd = Math.min(this.size, offset + READAHEAD_WINDOW);
      const data = this.source.read(offset, wEnd - offset).then(
        (b) => {
          this.windowBuffers.add(b.buffer);
          return b;
        },
        () => null,
      );
      w = this.window = { start: offset, end: wEnd, data };
    }
    const bytes = await w.data;
    if (!bytes) return this.source.read(offset, length);
    return bytes.subarray(offset - w.start, end - w.start);
  }

  /** True when `b` is a view of a read-ahead window (shared with other reads). */
  isShared(b: Uint8Array): boolean {
    return this.windowBuffers.has(b.buffer);
  }
}
