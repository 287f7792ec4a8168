import { DmgkitError } from './errors.js';
import type { Limits } from './limits.js';
import type { ByteSource } from './io/source.js';
import type { HttpSourceOptions } from './io/http-source.js';
import { type SourceInput, openSource } from './io/open-source.js';
import { UdifImage } from './udif/image.js';
import type { DecodeExecutor } from './udif/decode.js';
import { detectEncryption, encryptedError } from './container/encrypted.js';
import { isSparseImage, openSparseImage } from './container/sparseimage.js';
import { readPartitionMap } from './disk/partition-map.js';
import { sniffFilesystem } from './disk/filesystem.js';
import { directoryPath, openBundleDirectory } from '#platform';

import type { ContainerKind } from './container/detect.js';
export type { ContainerKind } from './container/detect.js';

export interface OpenOptions {
  limits?: Partial<Limits>;
  threads?: number;
  executor?: DecodeExecutor;
  /**
   * Input that is no known container is opened as a raw disk when it holds a partition map or a known file
   * system ('detect', the default), always ('always'), or never ('never').
   */
  raw?: 'detect' | 'always' | 'never';
  /** UDIF: refuse chunks that share stored bytes (see UdifOpenOptions.rejectOverlappingChunks). */
  rejectOverlappingChunks?: boolean;
  /** An http(s) URL input: its options (timeoutMs, allowCrossOriginRedirects, headers). */
  http?: HttpSourceOptions;
}

/** Any container opened into one block-device view: the whole decoded disk as a ByteSource. */
export interface OpenedDisk {
  kind: ContainerKind;
  disk: ByteSource;
  /** Set when kind is 'udif'. */
  udif?: UdifImage;
  /** The underlying file/bytes (the Info.plist directory has none for a sparse bundle). */
  source?: ByteSource;
  warnings: readonly string[];
  close(): Promise<void>;
}

/** True when the bytes hold a partition map or a file system dmgkit recognises. */
async function looksLikeDisk(src: ByteSource): Promise<boolean> {
  try {
    const map = await readPartitionMap(src);
    if (map.scheme !== 'none' && map.entries.length > 0) return true;
  } catch {
    // a damaged map is still a sign of a disk; fall through to the file-system check
  }
  try {
    return (await sniffFilesystem(src)).type !== 'unknown';
  } catch {
    return false;
  }
}

/**
 * Opens a UDIF image, sparse image, sparse bundle (a directory) or raw disk image, detected from its bytes, not
 * its name. Encrypted images are refused with an ENCRYPTED error.
 */
export async function openDisk(input: SourceInput, opts: OpenOptions = {}): Promise<OpenedDisk> {
  const dir = await directoryPath(input);
  if (dir) {
    const bundle = await openBundleDirectory(dir);
    return { kind: 'sparsebundle', disk: bundle, warnings: bundle.warnings, close: () => bundle.close() };
  }
  const source = await openSource(input, { http: opts.http });
  const owns = source !== input;
  const closeSource = async () => {
    if (owns) await source.close?.();
  };
  try {
    const enc = await detectEncryption(source);
    if (enc) throw encryptedError(enc, source.name);
    const head = await source.read(0, Math.min(source.size, 16));
    if (isSparseImage(head)) {
      const sparse = await openSparseImage(source);
      return { kind: 'sparseimage', disk: sparse, source, warnings: sparse.warnings, close: closeSource };
    }
    try {
      // Decoders are imported when a chunk of their type is first decoded (src/udif/chunk-codecs.ts decoderFor).
      const udif = await UdifImage.open(source, opts);
      return {
        kind: 'udif', disk: udif, udif, source, warnings: udif.warnings,
        close: async () => {
          await udif.close();
          await closeSource();
        },
      };
    } catch (e) {
      if (!(e instanceof DmgkitError) || e.code !== 'NOT_AN_IMAGE') throw e;
    }
    const mode = opts.raw ?? 'detect';
    if (mode === 'always' || (mode === 'detect' && (await looksLikeDisk(source)))) {
      return { kind: 'raw', disk: source, source, warnings: [], close: closeSource };
    }
    throw new DmgkitError(
      'NOT_AN_IMAGE',
      `${source.name ?? 'input'} is not a disk image: no UDIF 'koly' trailer, no sparse-image header, no partition map and no known file system`,
      { offset: 0 },
    );
  } catch (e) {
    await closeSource();
    throw e;
  }
}
