/**
 * System error codes in plain words, for messages meant for people: "no such file or directory (ENOENT)" rather
 * than a bare "ENOENT". Node only in practice, but free of Node imports.
 */
const WORDS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'file exists',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ENOTEMPTY: 'directory not empty',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EROFS: 'read-only file system',
  EPIPE: 'broken pipe',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  EBUSY: 'device or resource busy',
  ETXTBSY: 'text file busy',
  EXDEV: 'cross-device link',
  EINVAL: 'invalid argument',
  ENXIO: 'no such device or address',
  ENODEV: 'no such device',
  ENOMEM: 'out of memory',
  EAGAIN: 'resource temporarily unavailable',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ETIMEDOUT: 'timed out',
  ENOTFOUND: 'host not found',
  EADDRINUSE: 'address already in use',
};

/** "no such file or directory (ENOENT)" for an errno code; the code itself when unknown. */
export function errnoWords(code: string | undefined): string {
  if (!code) return 'unknown error';
  const w = WORDS[code];
  return w ? `${w} (${code})` : code;
}

/** The plain-words reason of a thrown value: its errno code in words, else its message. */
export function errorReason(e: unknown): string {
  const err = e as { code?: unknown; message?: string } | null | undefined;
  if (err && typeof err.code === 'string' && /^E[A-Z0-9]+$/.test(err.code)) return errnoWords(err.code);
  return err?.message ?? String(e);
}
