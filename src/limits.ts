/**
 * Resource limits applied to every image. Each one bounds an allocation or a loop that a header field could
 * otherwise drive. All are overridable through the `limits` option of the open functions; exceeding one is a
 * `LIMIT_EXCEEDED` DmgkitError. Documented in docs/security.md.
 */
export interface Limits {
  /** Largest compressed or decoded UDIF chunk, in bytes. hdiutil writes ≤ 1 MiB decoded chunks. */
  maxChunkBytes: number;
  /**
   * Largest XML plist or binary resource fork, in bytes. hdiutil's plist costs ~60 bytes per chunk (measured on
   * the fixtures: 57–67 bytes per chunk past a ~3 KB base), so the default (16 MiB) describes ~270 K chunks: a
   * ~270 GiB image of 1 MiB chunks (a 12 GB NetBoot image of 1 MiB chunks needs ~0.7 MB).
   */
  maxPlistBytes: number;
  /**
   * Most chunks in all blkx tables together. Opening 1 Mi chunks peaks at ~0.5 GB RSS (the plist's parse) and
   * keeps ~150–175 MiB of heap (measured, docs/security.md); 1 Mi chunks of 1 MiB is a 1 TiB hdiutil image.
   */
  maxChunks: number;
  /** Largest B-tree node, in bytes (HFS+ allows up to 32 KiB). */
  maxNodeBytes: number;
  /** Largest extended attribute value read into memory, in bytes. */
  maxAttributeBytes: number;
  /** Largest decmpfs-compressed file decoded in one piece / largest file read whole, in bytes. */
  maxFileBytes: number;
  /** Largest ratio of decoded to compressed size for one chunk. */
  maxCompressionRatio: number;
  /** Bytes of decoded chunks kept by the random-access cache. */
  cacheBytes: number;
  /** Most symlink hops followed when resolving a path. */
  maxSymlinkHops: number;
  /** Most B-tree nodes visited by one operation. */
  maxTreeNodesVisited: number;
  /** Most extents-overflow records followed for one fork. */
  maxExtentRecords: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxChunkBytes: 64 * 1024 * 1024,
  maxPlistBytes: 16 * 1024 * 1024,
  maxChunks: 1024 * 1024,
  maxNodeBytes: 32 * 1024,
  maxAttributeBytes: 64 * 1024 * 1024,
  maxFileBytes: 2 * 1024 * 1024 * 1024,
  maxCompressionRatio: 100_000,
  cacheBytes: 64 * 1024 * 1024,
  maxSymlinkHops: 40,
  maxTreeNodesVisited: 10_000_000,
  maxExtentRecords: 1_000_000,
});

export function resolveLimits(partial?: Partial<Limits>): Limits {
  return { ...DEFAULT_LIMITS, ...(partial ?? {}) };
}
