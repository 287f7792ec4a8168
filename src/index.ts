export { DmgkitError, isDmgkitError } from './errors.js';
export type { ErrorCode, ErrorDetails } from './errors.js';
export { DEFAULT_LIMITS, resolveLimits } from './limits.js';
export type { Limits } from './limits.js';

// io: byte sources
export type { ByteSource } from './io/source.js';
export { SliceSource } from './io/source.js';
export { BufferSource } from './io/buffer-source.js';
export { BlobSource } from './io/blob-source.js';
export { HttpSource } from './io/http-source.js';
export type { HttpSourceOptions } from './io/http-source.js';
export { openSource } from './io/open-source.js';
export type { SourceInput } from './io/open-source.js';
export { crc32, crc32Zeros } from './util/crc32.js';

// codecs
export type { Codec, DecodeInto } from './codecs/types.js';
export { inflateInto } from './codecs/zlib.js';
export { deflateZlib } from './codecs/deflate.js';
export { decodeAdc } from './codecs/adc.js';
export { decodeBzip2 } from './codecs/bzip2.js';
export { decodeLzfse } from './codecs/lzfse.js';
export { decodeLzvn } from './codecs/lzvn.js';
export { decodeXz } from './codecs/xz.js';
export { encodeXz } from './codecs/xz-encode.js';
export type { XzCheck, XzEncodeOptions } from './codecs/xz-encode.js';

// udif: the container
export { UdifImage, openUdif } from './udif/image.js';
export type { UdifOpenOptions, Piece, PieceOptions } from './udif/image.js';
export type { UdifPartition, ChunkRef } from './udif/layout.js';
export type { Koly } from './udif/koly.js';
export { parseKoly, serializeKoly } from './udif/koly.js';
export type { MishTable, MishChunk } from './udif/mish.js';
export { parseMish, serializeMish } from './udif/mish.js';
export type { Resource, ResourceFork } from './udif/resources.js';
export * from './udif/chunk-types.js';
export { registerChunkCodec } from './udif/chunk-codecs.js';
export { verifyImage } from './udif/verify.js';
export type { VerifyReport, ChecksumResult, ChecksumStatus } from './udif/verify.js';
export { writeUdif, rawEncoder } from './udif/writer.js';
export type { ChunkEncoder, WriteOptions, WritePartition } from './udif/writer.js';

// any container
export { openDisk } from './open.js';
export type { OpenedDisk, OpenOptions, ContainerKind } from './open.js';

// disk: partition maps and file-system sniffing
export { readPartitionMap, openPartition } from './disk/partition-map.js';
export type { PartitionMap, PartitionEntry, PartitionScheme } from './disk/partition-map.js';
export { sniffFilesystem } from './disk/filesystem.js';
export type { FilesystemInfo, FilesystemType } from './disk/filesystem.js';

// hfs: the file system, and extraction (Node)
export { openHfs, HfsVolume } from './hfs/volume.js';
export type { HfsEntry, OpenHfsOptions, ReadOptions } from './hfs/volume.js';
export type { HfsStat, HfsVolumeInfo, HfsEntryType } from './hfs/types.js';
export { openVolume, openVolumeOf } from './volume.js';
export type { OpenedVolume, OpenVolumeOptions } from './volume.js';
export { extractVolume } from './extract/extract.js';
export type { ExtractOptions, ExtractResult } from './extract/extract.js';

// container: sparse images and bundles, encrypted images, raw detection
export { openSparseImage, isSparseImage } from './container/sparseimage.js';
export type { SparseImage, SparseImageOptions } from './container/sparseimage.js';
export type { SparseBundle, SparseBundleOptions } from './container/sparsebundle.js';
/** Opens a sparse bundle directory (Node only: loaded on first use so browser bundles don't pull node:fs). */
export async function openSparseBundle(
  ...args: Parameters<typeof import('./container/sparsebundle.js').openSparseBundle>
): ReturnType<typeof import('./container/sparsebundle.js').openSparseBundle> {
  return (await import('./container/sparsebundle.js')).openSparseBundle(...args);
}
export { detectEncryption, encryptedError } from './container/encrypted.js';
export type { EncryptionInfo } from './container/encrypted.js';
export { detectContainer, describeRaw } from './container/raw.js';
export { FILESYSTEM_NAMES } from './disk/filesystem.js';
export { formatGuid, gptTypeName } from './disk/guid.js';
export { mbrTypeName } from './disk/mbr-types.js';

// blockdev + nbd: any image as a block device with a shadow, served over NBD (Node only: loaded on first use)
export type { BlockDevice, Extent as BlockExtent, WriteOptions as BlockWriteOptions } from './blockdev/types.js';
export type { OpenBlockDeviceOptions, ShadowDevice } from './blockdev/device.js';
export type { NbdServer, ServeNbdOptions } from './nbd/server.js';
/** Opens any image as a block device; with `{ shadow }` writes go to a crash-safe shadow file. */
export async function openBlockDevice(
  ...args: Parameters<typeof import('./blockdev/device.js').openBlockDevice>
): ReturnType<typeof import('./blockdev/device.js').openBlockDevice> {
  return (await import('./blockdev/device.js')).openBlockDevice(...args);
}
/** Serves a block device over NBD (loopback port 10809 unless told otherwise). */
export async function serveNbd(
  ...args: Parameters<typeof import('./nbd/server.js').serveNbd>
): ReturnType<typeof import('./nbd/server.js').serveNbd> {
  return (await import('./nbd/server.js')).serveNbd(...args);
}

// Decode pipeline and ordered job pool. decodeRange, orderedMap and the inline pool are browser-safe; file output
// and worker threads (Node) load on first use.
export { decodeRange } from './udif/decode-range.js';
export type { DecodeRangeOptions, RangeSink, RangePiece } from './udif/decode-range.js';
export { InlinePool } from './pool/pool.js';
export type { TaskPool, PoolOptions } from './pool/pool.js';
export { orderedMap } from './pool/ordered.js';
export type { OrderedOptions } from './pool/ordered.js';
export { registerTask, transfer } from './pool/registry.js';
export type { ToFileOptions } from './udif/to-file.js';
type ToFile = typeof import('./udif/to-file.js');
/** Decodes an image range into an open file / descriptor on as many threads as pay off (Node; see udif/to-file.ts). */
export const decodeToFile = async (...a: Parameters<ToFile['decodeToFile']>): Promise<void> => (await import('./udif/to-file.js')).decodeToFile(...a);
/** Decodes an image range in order to a writer (Node; see udif/to-file.ts). */
export const decodeToStream = async (...a: Parameters<ToFile['decodeToStream']>): Promise<void> => (await import('./udif/to-file.js')).decodeToStream(...a);
/** A worker pool for decodeRange / verifyImage: `threads` threads, the calling thread one of them (Node). */
export const decodePool = async (threads: number): Promise<import('./pool/pool.js').TaskPool> => (await import('./udif/to-file.js')).decodePool(threads);
/** Threads worth starting for a range of an image, at most `max` (1 when the work is small). */
export const threadsFor = async (...a: Parameters<ToFile['threadsFor']>): Promise<number> => (await import('./udif/to-file.js')).threadsFor(...a);

// write: new images (UDZO, UDCO, ULFO, UDRO, UDRW, UDSP, UDSB, raw) and create (a volume in a partitioned disk)
export { CODECS, codecEntry, codecForFormat } from './codecs/table.js';
export type { CodecEntry, ChunkEncode } from './codecs/table.js';
export { writeImage, writeImageStream, writeFormats, resolveFormat, planImage } from './write/image.js';
export type { WriteImageOptions, ImageInput, FormatInfo } from './write/image.js';
export { createDisk } from './write/create.js';
export type { CreateDiskOptions, CreateScheme } from './write/create.js';
export { writeUdifImage } from './udif/write/udif.js';
export type { UdifWriteOptions } from './udif/write/udif.js';
export type { ImagePlan, TablePlan, RunPlan, RunKind } from './udif/write/plan.js';
export { writeSparseImage } from './container/sparseimage-write.js';
/** Writes an image to a path (Node only: safe output, temporary name, sparse bundle folders). */
export async function writeImageFile(
  ...args: Parameters<typeof import('./write/node.js').writeImageFile>
): ReturnType<typeof import('./write/node.js').writeImageFile> {
  return (await import('./write/node.js')).writeImageFile(...args);
}
