import { DmgkitError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import type { SourceInput } from '../io/open-source.js';
import { type OpenOptions, type OpenedDisk, openDisk } from '../open.js';
import type { ContainerKind } from '../container/detect.js';
import type { UdifImage, Piece, PieceOptions } from '../udif/image.js';
import { type PartitionEntry, type PartitionMap, openPartition, readPartitionMap } from '../disk/partition-map.js';
import type { HfsVolume } from '../hfs/volume.js';
import { openVolumeOf } from '../volume.js';
import { type DiskDescription, describeDisk } from './describe.js';
import { type ImageInfo, infoJson } from './info.js';
import { selectRange } from './select.js';
import { diskPieces } from './pieces.js';
import { type VerifyOptions, type VerifyReport, verifyImage } from '../udif/verify.js';
import type { TaskPool } from '../pool/pool.js';

/**
 * The one way in: `openImage(input)` opens any container dmgkit reads (UDIF, sparse image, sparse bundle in
 * Node, raw disk), detected from its bytes, reads its partition map, and hands back one object that says what was
 * found. The per-layer functions (openUdif, openDisk, readPartitionMap, openHfs, …) stay for those who need them.
 *
 * Ownership: the caller owns the image and closes it (`close()`), which closes everything it opened (the file,
 * the decoder pool it was given is the caller's own); volumes from `volume()` read through the image and need no
 * closing of their own.
 */
export interface DiskImage {
  /** The container found: 'udif' | 'sparseimage' | 'sparsebundle' | 'raw'. */
  readonly kind: ContainerKind;
  /** The decoded disk (random access). */
  readonly disk: ByteSource;
  /** Disk size in bytes. */
  readonly size: number;
  /** The UDIF image (block tables, checksums, resources) when kind is 'udif'. */
  readonly udif?: UdifImage;
  /** The partition map: scheme 'none' when the disk has none (or it does not parse: see warnings). */
  readonly partitionMap: PartitionMap;
  /** The partition-map entries (empty for scheme 'none'). */
  readonly partitions: readonly PartitionEntry[];
  /** Everything found odd while opening (container and partition map). */
  readonly warnings: readonly string[];
  /** The opened disk in the per-layer shape (for functions that take an OpenedDisk). */
  readonly opened: OpenedDisk;
  /** A partition's bytes as a ByteSource (clamped to the disk). */
  partition(index: number): ByteSource;
  /** The HFS+/HFSX volume: of partition `index`, else the first one found. */
  volume(index?: number): Promise<HfsVolume>;
  /** The partition map with the file system found in each entry. */
  describe(): Promise<DiskDescription>;
  /** The `dmgkit info --json` description. */
  info(): Promise<ImageInfo>;
  /** Checks the UDIF checksums (data fork, each block table, master); UNSUPPORTED for other containers. */
  verify(opts?: PieceOptions & VerifyOptions): Promise<VerifyReport>;
  /** The byte range of the whole disk, a partition or a UDIF block table, clamped to the disk (see selectRange). */
  range(sel?: { partition?: number; blkx?: number }): Promise<{ start: number; end: number; what: string; warning?: string }>;
  /** The decoded bytes of [start, end) in order (zero runs of UDIF images as `data: null`). */
  pieces(start?: number, end?: number, opts?: PieceOptions): AsyncGenerator<Piece>;
  close(): Promise<void>;
}

export async function openImage(input: SourceInput, opts: OpenOptions = {}): Promise<DiskImage> {
  const opened = await openDisk(input, opts);
  try {
    let partitionMap: PartitionMap;
    const warnings = [...opened.warnings];
    try {
      partitionMap = await readPartitionMap(opened.disk);
    } catch (e) {
      if (!(e instanceof DmgkitError)) throw e;
      partitionMap = { scheme: 'none', blockSize: 512, entries: [], warnings: [e.message] };
    }
    warnings.push(...partitionMap.warnings);
    const disk = opened.disk;
    const image: DiskImage = {
      kind: opened.kind,
      disk,
      size: disk.size,
      ...(opened.udif ? { udif: opened.udif } : {}),
      partitionMap,
      partitions: partitionMap.entries,
      warnings,
      opened,
      partition(index) {
        const e = partitionMap.entries.find((x) => x.index === index);
        if (!e) throw new DmgkitError('OUT_OF_RANGE', `no partition ${index} in the ${partitionMap.scheme} partition map (${partitionMap.entries.length} entries)`);
        return openPartition(disk, e);
      },
      async volume(index) {
        return (await openVolumeOf(opened, { ...(index === undefined ? {} : { partition: index }), limits: opts.limits })).volume;
      },
      describe: () => describeDisk(opened),
      info: () => infoJson(opened),
      async verify(vopts = {}) {
        if (!opened.udif) throw new DmgkitError('UNSUPPORTED', `a ${opened.kind} image has no checksums to verify`);
        // an executor that is also a pool (WebWorkerPoolExecutor) runs the verify pipeline's batches too
        const ex = opts.executor as (typeof opts.executor & Partial<TaskPool>) | undefined;
        const pool = vopts.pool ?? (ex && typeof ex.run === 'function' ? (ex as TaskPool) : undefined);
        return verifyImage(opened.udif, pool ? { ...vopts, pool } : vopts);
      },
      async range(sel = {}) {
        const [start, end, what, warning] = await selectRange(opened, sel.partition, sel.blkx);
        return warning === undefined ? { start, end, what } : { start, end, what, warning };
      },
      pieces: (start = 0, end = disk.size, popts = {}) => diskPieces(opened, start, end, popts),
      close: () => opened.close(),
    };
    return image;
  } catch (e) {
    await opened.close();
    throw e;
  }
}
