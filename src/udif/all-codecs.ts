/** Registers every chunk codec dmgkit has with the chunk-type registry (side-effect import). */
import { registerChunkCodec } from './chunk-codecs.js';
import { CHUNK_ADC, CHUNK_BZIP2, CHUNK_LZFSE, CHUNK_LZMA, CHUNK_ZLIB } from './chunk-types.js';
import { zlibCodec } from '../codecs/zlib.js';
import { adcCodec } from '../codecs/adc.js';
import { bzip2Codec } from '../codecs/bzip2.js';
import { lzfseCodec } from '../codecs/lzfse.js';
import { xzCodec } from '../codecs/xz.js';

registerChunkCodec(CHUNK_ZLIB, zlibCodec);
registerChunkCodec(CHUNK_ADC, adcCodec);
registerChunkCodec(CHUNK_BZIP2, bzip2Codec);
registerChunkCodec(CHUNK_LZFSE, lzfseCodec);
registerChunkCodec(CHUNK_LZMA, xzCodec);
