/**
 * The one error class dmgkit throws for bad input, with a stable machine-readable code.
 * Messages name what was wrong and where (file offset, partition, chunk, B-tree node).
 */
export type ErrorCode =
  | 'NOT_AN_IMAGE'
  | 'TRUNCATED'
  | 'CORRUPT_HEADER'
  | 'CORRUPT_TABLE'
  | 'CORRUPT_CHUNK'
  | 'CHECKSUM_MISMATCH'
  | 'UNSUPPORTED_CODEC'
  | 'UNSUPPORTED'
  | 'ENCRYPTED'
  | 'CORRUPT_FS'
  | 'CORRUPT_PARTITION_MAP'
  | 'LIMIT_EXCEEDED'
  | 'NOT_FOUND'
  | 'NOT_A_DIRECTORY'
  | 'IS_A_DIRECTORY'
  | 'OUT_OF_RANGE'
  | 'IO_ERROR'
  | 'HTTP_ERROR'
  | 'UNSAFE_PATH'
  | 'INVALID_ARGUMENT'
  /** An output path names an existing file (replaced only when forced). */
  | 'OUTPUT_EXISTS'
  /** An output path is one of the inputs (same device and inode) or lies inside an input folder. */
  | 'SAME_FILE'
  /** The image carries warnings (damage the reader worked around) and the operation needs it intact. */
  | 'DAMAGED';

export interface ErrorDetails {
  /** Absolute byte offset in the file where the problem was found. */
  offset?: number;
  [key: string]: unknown;
}

export class DmgkitError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DmgkitError';
    this.code = code;
    this.details = details;
  }
  get offset(): number | undefined {
    return this.details.offset;
  }
}

export function isDmgkitError(e: unknown): e is DmgkitError {
  return e instanceof DmgkitError;
}

/** Formats a byte offset the way every message does: decimal plus hex. */
export function at(offset: number): string {
  return `at offset ${offset} (0x${offset.toString(16)})`;
}
