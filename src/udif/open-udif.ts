/**
 * Opening a UDIF image with every chunk codec (zlib, ADC, bzip2, LZFSE/LZVN, LZMA/XZ). The class itself lives in
 * ./image.ts, which brings no codec: the lean `dmgkit/core` entry uses it, so that a bundle holds only the codecs
 * it passes in `codecs`.
 */
import { ALL_CHUNK_CODECS } from './all-codecs.js';
import type { SourceInput } from '../io/open-source.js';
import { UdifImage, type UdifOpenOptions } from './image.js';

export { ALL_CHUNK_CODECS } from './all-codecs.js';

/** Opens a UDIF image (a path in Node, a URL, a Blob, bytes or a ByteSource) with every chunk codec. */
export function openUdif(input: SourceInput, options: UdifOpenOptions = {}): Promise<UdifImage> {
  return UdifImage.open(input, { codecs: ALL_CHUNK_CODECS, ...options });
}
