/**
 * dmgkit's browser-safe entry (`import … from 'dmgkit'` in a bundler or browser). Node gets src/node.ts through
 * package.json's `node` condition: this API plus local files, sparse bundle directories, extraction and worker
 * threads. Nothing here imports a `node:` module (test/package.test.ts checks the bundle).
 */
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
export { UdifImage } from './udif/image.js';
export { openUdif } from './udif/open-udif.js';
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
export { WebWorkerPoolExecutor } from './udif/web-worker-pool.js';

// the front door: any image, one object
export { openImage } from './image/open-image.js';
export type { DiskImage } from './image/open-image.js';
export { describeDisk } from './image/describe.js';
export type { DescribedEntry, DiskDescription } from './image/describe.js';
export { infoJson, udifInfoJson } from './image/info.js';
export type { ImageInfo, UdifInfo } from './image/info.js';
export { selectRange } from './image/select.js';
export { diskPieces } from './image/pieces.js';

// any container
export { openDisk } from './open.js';
export type { OpenedDisk, OpenOptions, ContainerKind } from './open.js';

// disk: partition maps and file-system sniffing
export { readPartitionMap, openPartition } from './disk/partition-map.js';
export type { PartitionMap, PartitionEntry, PartitionScheme } from './disk/partition-map.js';
export { sniffFilesystem } from './disk/filesystem.js';
export type { FilesystemInfo, FilesystemType } from './disk/filesystem.js';

// hfs: the file system
export { openHfs, HfsVolume } from './hfs/volume.js';
export type { HfsEntry, OpenHfsOptions, ReadOptions } from './hfs/volume.js';
export type { HfsStat, HfsVolumeInfo, HfsEntryType } from './hfs/types.js';
export { openVolume, openVolumeOf } from './volume.js';
export type { OpenedVolume, OpenVolumeOptions } from './volume.js';

// container: sparse images and bundles, encrypted images, raw detection
export { openSparseImage, isSparseImage } from './container/sparseimage.js';
export type { SparseImage, SparseImageOptions } from './container/sparseimage.js';
export { detectEncryption, encryptedError } from './container/encrypted.js';
export type { EncryptionInfo } from './container/encrypted.js';
export { detectContainer, describeRaw } from './container/detect.js';
export type { DetectedContainer, RawDescription } from './container/detect.js';
export { FILESYSTEM_NAMES } from './disk/filesystem.js';
export { formatGuid, gptTypeName } from './disk/guid.js';
export { mbrTypeName } from './disk/mbr-types.js';

// Decode pipeline and ordered job pool (browser-safe; file output and worker threads: the Node entry, src/node.ts).
export { decodeRange } from './udif/decode-range.js';
export type { DecodeRangeOptions, RangeSink, RangePiece } from './udif/decode-range.js';
export { InlinePool } from './pool/pool.js';
export type { TaskPool, PoolOptions } from './pool/pool.js';
export { orderedMap } from './pool/ordered.js';
export type { OrderedOptions } from './pool/ordered.js';
export { registerTask, transfer } from './pool/registry.js';

// write: new images (UDZO, UDCO, ULFO, UDRO, UDRW, UDSP, UDSB, raw) and create (a volume in a partitioned disk)
export { CODECS, codecEntry, codecForFormat } from './codecs/table.js';
export type { CodecEntry, ChunkEncode } from './codecs/table.js';
export { writeImage, writeImageStream, writeFormats, resolveFormat, planImage } from './write/image.js';
export type { WriteImageOptions, ImageInput, FormatInfo } from './write/image.js';
export { createDisk } from './write/create.js';
export type { CreateDiskOptions, CreateScheme } from './write/create.js';
export { writeUdifImage } from './udif/write/udif.js';
export type { UdifWriteOptions, ChunkEncodeFn } from './udif/write/udif.js';
export { wholeDiskPlan } from './udif/write/plan.js';
export type { ImagePlan, TablePlan, RunPlan, RunKind } from './udif/write/plan.js';
export { writeSparseImage } from './container/sparseimage-write.js';
