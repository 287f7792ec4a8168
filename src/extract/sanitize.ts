import { DmgkitError } from '../errors.js';

/**
 * Turns one volume entry name into one safe path component for the destination. Names come from the catalog
 * already swapped to POSIX (catalog '/' → ':'); a '/' can only come from a catalog ':' (never written by macOS)
 * and is replaced, as is NUL. Empty names, '.' and '..' can never be a safe component: UNSAFE_PATH.
 */
/** `where` is the volume path of the folder holding the name ('' for the root). */
export function safeComponent(name: string, where: string): string {
  if (name === '' || name === '.' || name === '..') {
    throw new DmgkitError('UNSAFE_PATH', `refusing entry name ${JSON.stringify(name)} in /${where}`, { name, where });
  }
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    out += c === 0x2f || c === 0 ? '_' : name[i];
  }
  if (out === '.' || out === '..') throw new DmgkitError('UNSAFE_PATH', `refusing entry name ${JSON.stringify(name)} in /${where}`);
  return out;
}

/** Splits a user-supplied volume path for `extractVolume({ path })`; '..' and '.' are refused, not resolved. */
export function splitVolumePath(p: string): string[] {
  const parts = p.split('/').filter((s) => s !== '');
  for (const s of parts) {
    if (s === '.' || s === '..') throw new DmgkitError('UNSAFE_PATH', `refusing volume path ${JSON.stringify(p)} with '${s}'`);
  }
  return parts;
}

export const SETID_BITS = 0o7000;

/** Permission bits to apply: setuid/setgid/sticky stripped unless kept. */
export function safeMode(mode: number, keepSetuid: boolean): number {
  const perm = mode & 0o7777;
  return keepSetuid ? perm : perm & ~SETID_BITS;
}
