/**
 * Every chunk codec dmgkit has, by chunk type. Importing this module also registers them with the chunk-type
 * registry (its one side effect, declared in package.json's `sideEffects`), so `UdifImage.open` from
 * ./image.ts decodes every codec; `openUdif`/`openDisk` pass the list explicitly as well.
 */
import { registerChunkCodec } from './chunk-codecs.js';
import { CHUNK_ADC, CHUNK_BZIP2, CHUNK_LZFSE, CHUNK_LZMA, CHUNK_ZLIB } from './chunk-types.js';
import type { Codec } from '../codecs/types.js';
import { zlibCodec } from '../codecs/zlib.js';
import { adcCodec } from '../codecs/adc.js';
import { bzip2Codec } from '../codecs/bzip2.js';
import { lzfseCodec } from '../codecs/lzfse.js';
import { xzCodec } from '../codecs/xz.js';

export const ALL_CHUNK_CODECS: ReadonlyArray<readonly [number, Codec]> = [
  [CHUNK_ZLIB, zlibCodec],
  [CHUNK_ADC, adcCodec],
  [CHUNK_BZIP2, bzip2Codec],
  [CHUNK_LZFSE, lzfseCodec],
  [CHUNK_LZMA, xzCodec],
];

for (const [type, codec] of ALL_CHUNK_CODECS) registerChunkCodec(type, codec);
