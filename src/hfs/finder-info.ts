/**
 * The Finder info that macOS exposes as com.apple.FinderInfo (xnu/hfs hfs_zero_hidden_fields): the catalog's
 * 32 bytes with the private words of the extended info zeroed — document_id and date_added (bytes 16..24) and
 * write_gen_counter (28..32) — and, for symlinks, the private fdType/fdCreator (0..8). All zeros means "none".
 */
const EXT_PRIVATE_A = [16, 24] as const;
const EXT_PRIVATE_B = [28, 32] as const;
const TYPE_CREATOR = [0, 8] as const;

export function publicFinderInfo(raw: Uint8Array, isSymlink: boolean): Uint8Array | null {
  const info = raw.slice(0, 32);
  info.fill(0, EXT_PRIVATE_A[0], EXT_PRIVATE_A[1]);
  info.fill(0, EXT_PRIVATE_B[0], EXT_PRIVATE_B[1]);
  if (isSymlink) info.fill(0, TYPE_CREATOR[0], TYPE_CREATOR[1]);
  return info.some((b) => b !== 0) ? info : null;
}
