/**
 * dmgkit's lean entry (`dmgkit/core`): the UDIF reader, the other containers, partition maps and HFS+ without
 * any chunk codec. Pass the codecs you need, so a bundle holds only those:
 *
 * ```ts
 * import { UdifImage, CHUNK_ZLIB, zlibCodec } from 'dmgkit/core';
 * const img = await UdifImage.open(file, { codecs: [[CHUNK_ZLIB, zlibCodec]] });
 * ```
 * A chunk of a codec not passed is an UNSUPPORTED_CODEC error naming it.
 */
export { DmgkitError, isDmgkitError } from './errors.js';
export type { ErrorCode, ErrorDetails } from './errors.js';
export { DEFAULT_LIMITS, resolveLimits } from './limits.js';
export type { Limits } from './limits.js';
export type { ByteSource } from './io/source.js';
export { SliceSource } from './io/source.js';
export { BufferSource } from './io/buffer-source.js';
export { BlobSource } from './io/blob-source.js';
export { HttpSource } from './io/http-source.js';
export type { Codec } from './codecs/types.js';
export { zlibCodec } from './codecs/zlib.js';
export { adcCodec } from './codecs/adc.js';
export { bzip2Codec } from './codecs/bzip2.js';
export { lzfseCodec } from './codecs/lzfse.js';
export { xzCodec } from './codecs/xz.js';
export { UdifImage } from './udif/image.js';
export type { UdifOpenOptions, Piece, PieceOptions } from './udif/image.js';
export type { UdifPartition, ChunkRef } from './udif/layout.js';
export * from './udif/chunk-types.js';
export { registerChunkCodec } from './udif/chunk-codecs.js';
export { verifyImage } from './udif/verify.js';
export type { VerifyReport } from './udif/verify.js';
export { readPartitionMap, openPartition } from './disk/partition-map.js';
export type { PartitionMap, PartitionEntry, PartitionScheme } from './disk/partition-map.js';
export { sniffFilesystem } from './disk/filesystem.js';
export { openHfs, HfsVolume } from './hfs/volume.js';
export type { HfsEntry } from './hfs/volume.js';
