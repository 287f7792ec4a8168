import { DmgkitError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { u32be } from '../util/bytes.js';
import { KOLY_SIZE, type Koly, isKoly, parseKoly } from './koly.js';

/** How far before the end of the file a koly trailer is searched for (QEMU searches the last 515 bytes). */
export const KOLY_SEARCH_BYTES = 1024;

export interface LocatedKoly {
  koly: Koly;
  /** Absolute offset of the koly block in the file. */
  offset: number;
  position: 'end' | 'near-end' | 'start';
}

function validAt(b: Uint8Array, o: number): boolean {
  return isKoly(b, o) && b.length - o >= KOLY_SIZE && u32be(b, o + 8) === KOLY_SIZE;
}

/**
 * Finds the koly block: the last 512 bytes, then a trailer within the last KOLY_SEARCH_BYTES (files with a few
 * stray bytes appended), then a koly block at the start of the file (old "front koly" images).
 */
export async function locateKoly(src: ByteSource): Promise<LocatedKoly> {
  if (src.size < KOLY_SIZE) {
    throw new DmgkitError('NOT_AN_IMAGE', `${src.name ?? 'input'} is ${src.size} bytes, too small to be a UDIF image`, {
      offset: 0,
    });
  }
  const tailLen = Math.min(src.size, KOLY_SEARCH_BYTES + KOLY_SIZE);
  const tailStart = src.size - tailLen;
  const tail = await src.read(tailStart, tailLen);
  const endRel = tailLen - KOLY_SIZE;
  if (validAt(tail, endRel)) {
    return { koly: parseKoly(tail.subarray(endRel, endRel + KOLY_SIZE), tailStart + endRel), offset: tailStart + endRel, position: 'end' };
  }
  for (let o = endRel - 1; o >= 0; o--) {
    if (validAt(tail, o)) {
      return { koly: parseKoly(tail.subarray(o, o + KOLY_SIZE), tailStart + o), offset: tailStart + o, position: 'near-end' };
    }
  }
  const head = await src.read(0, KOLY_SIZE);
  if (validAt(head, 0)) return { koly: parseKoly(head, 0), offset: 0, position: 'start' };
  throw new DmgkitError(
    'NOT_AN_IMAGE',
    `${src.name ?? 'input'} is not a UDIF disk image: no 'koly' trailer in its last ${tailLen} bytes nor at its start`,
    { offset: src.size - KOLY_SIZE },
  );
}
