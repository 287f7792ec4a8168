import { DmgkitError } from '../errors.js';

/**
 * Thrown by every decoder on malformed input, output overrun or underrun. The udif layer catches it and adds
 * the partition, chunk index and file offset; standalone callers get the codec name and the position inside
 * the compressed input.
 */
export function corrupt(codec: string, what: string, inputPos?: number): DmgkitError {
  const where = inputPos === undefined ? '' : ` at input byte ${inputPos}`;
  return new DmgkitError('CORRUPT_CHUNK', `${codec}: ${what}${where}`, { codec, inputPos });
}
