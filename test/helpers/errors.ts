import { expect } from 'vitest';
import { DmgkitError, type ErrorCode } from '../../src/errors.js';

/** Runs `fn` and asserts it throws a DmgkitError with `code` (and a message matching `what`); returns it. */
export function expectCode(fn: () => unknown, code: ErrorCode = 'CORRUPT_CHUNK', what?: RegExp): DmgkitError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DmgkitError);
    expect((e as DmgkitError).code).toBe(code);
    if (what) expect((e as DmgkitError).message).toMatch(what);
    return e as DmgkitError;
  }
  throw new Error(`expected a ${code} error, nothing was thrown`);
}

/** expectCode for the decoders' CORRUPT_CHUNK. */
export const expectCorrupt = (fn: () => unknown, what?: RegExp): DmgkitError => expectCode(fn, 'CORRUPT_CHUNK', what);
