import { DmgkitError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { ascii, u32be } from '../util/bytes.js';

/**
 * Apple "CDSA encrypted encoding" (FileVault / hdiutil -encryption AES-128/AES-256), big-endian. Sources: keramics
 * keramics-formats/src/cdsaencr (container_header.rs, container_footer.rs, constants.rs), vfdecrypt / vilefault
 * (cencrypted_v1_header, cencrypted_v2_header), libyal libmodi.
 *
 * - v2 (Mac OS X 10.5+): header at offset 0: `'encrcdsa'`, then u32 version (2), IV size, mode, algorithm, key
 *   bits, PRNG, ..., UUID, block size (u32 at 48), data size (u64 at 52), data offset (u64 at 60).
 * - v1 (older): a 1276-byte footer at the end of the file; u32 format version (1) at footer+1264, signature
 *   `'cdsaencr'` at footer+1268, i.e. in the last 8 bytes of the file.
 *
 * The whole container (UDIF, sparse image or sparse bundle bands) is encrypted inside; dmgkit detects it and
 * refuses with ENCRYPTED.
 */

export const ENCRYPTED_V2_SIGNATURE = 'encrcdsa';
export const ENCRYPTED_V1_SIGNATURE = 'cdsaencr';
export const V2_OFF_VERSION = 8;
export const V2_OFF_BLOCK_SIZE = 48;
export const V1_FOOTER_SIZE = 1276;
export const V1_OFF_VERSION = 1264;
export const V1_OFF_SIGNATURE = 1268;

export interface EncryptionInfo {
  version: 1 | 2;
  /** Byte offset of the encryption header (v2: 0) or footer (v1: size − 1276, or 0 if the file is shorter). */
  offset: number;
  /** The format-version field as stored (2 for v2 headers, 1 for v1 footers); informational. */
  formatVersion?: number;
}

/** Looks for the v2 header at offset 0, then the v1 footer signature in the last 8 bytes. */
export async function detectEncryption(src: ByteSource): Promise<null | EncryptionInfo> {
  if (src.size < 8) return null;
  const head = await src.read(0, Math.min(src.size, V2_OFF_VERSION + 4));
  if (ascii(head, 0, 8) === ENCRYPTED_V2_SIGNATURE) {
    const info: EncryptionInfo = { version: 2, offset: 0 };
    if (head.length >= V2_OFF_VERSION + 4) info.formatVersion = u32be(head, V2_OFF_VERSION);
    return info;
  }
  const tail = await src.read(src.size - 8, 8);
  if (ascii(tail, 0, 8) === ENCRYPTED_V1_SIGNATURE) {
    const offset = Math.max(0, src.size - V1_FOOTER_SIZE);
    const info: EncryptionInfo = { version: 1, offset };
    if (src.size >= V1_FOOTER_SIZE) info.formatVersion = u32be(await src.read(offset + V1_OFF_VERSION, 4), 0);
    return info;
  }
  return null;
}

/** The error to throw for an encrypted image: code ENCRYPTED, a plain message. */
export function encryptedError(info: EncryptionInfo, name?: string): DmgkitError {
  const kind = info.version === 2 ? 'encrcdsa v2' : 'cdsaencr v1';
  const where = info.version === 2 ? 'header at offset 0' : 'trailer at the end of the file';
  return new DmgkitError(
    'ENCRYPTED',
    `${name ? `${name}: ` : ''}this image is encrypted (FileVault/AES, ${kind}); dmgkit cannot decrypt it yet`,
    { offset: info.offset, version: info.version, where },
  );
}
