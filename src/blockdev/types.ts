/** A run of the device with one allocation state (NBD `base:allocation`). */
export interface Extent {
  offset: number;
  length: number;
  /** Reads as zeros. */
  zero: boolean;
  /** Not stored anywhere (a zero-fill chunk of the image, a gap): writing there allocates. */
  hole: boolean;
}

export interface WriteOptions {
  /** Force unit access: the write is durable when the promise resolves (as after flush()). */
  fua?: boolean;
}

/**
 * A random-access block device: what `serveNbd` serves and `openBlockDevice` opens. Offsets and lengths are
 * bytes (no alignment needed); a range past `size` is an OUT_OF_RANGE DmgkitError.
 */
export interface BlockDevice {
  readonly size: number;
  readonly readOnly: boolean;
  readonly name?: string;
  /** Exactly `length` bytes (a fresh buffer the caller owns). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Like `read`, but as views (possibly into a cache shared with other readers, not to be modified) to use in
   * order, then `release()` once (after they were sent). Optional: the NBD server sends them without a copy.
   */
  readParts?(offset: number, length: number): Promise<{ parts: Uint8Array[]; release(): void }>;
  /** Writes `data` at `offset`; resolves when later reads see it (and, with `fua`, when it is durable). */
  write(offset: number, data: Uint8Array, opts?: WriteOptions): Promise<void>;
  /** Writes `length` zero bytes. Optional: without it the server writes zero buffers. */
  writeZeroes?(offset: number, length: number, opts?: WriteOptions): Promise<void>;
  /** A hint that the range is no longer needed; its contents are unspecified afterwards. Optional. */
  trim?(offset: number, length: number, opts?: WriteOptions): Promise<void>;
  /** Makes every completed write durable. */
  flush(): Promise<void>;
  /** Consecutive extents from `offset` covering at most `length` bytes (at least one). Optional. */
  extents?(offset: number, length: number): Promise<Extent[]>;
  close(): Promise<void>;
}
