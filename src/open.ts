import { DmgkitError } from './errors.js';
import type { Limits } from './limits.js';
import type { ByteSource } from './io/source.js';
import { type SourceInput, openSource } from './io/open-source.js';
import { UdifImage } from './udif/image.js';
import type { DecodeExecutor } from './udif/decode.js';

export type ContainerKind = 'udif' | 'sparseimage' | 'sparsebundle' | 'raw';

export interface OpenOptions {
  limits?: Partial<Limits>;
  threads?: number;
  executor?: DecodeExecutor;
  /** Accept input that is no known container as a raw disk image (default true). */
  allowRaw?: boolean;
}

/** Any container opened into one block-device view: the whole decoded disk as a ByteSource. */
export interface OpenedDisk {
  kind: ContainerKind;
  disk: ByteSource;
  /** Set when kind is 'udif'. */
  udif?: UdifImage;
  /** The underlying file/bytes. */
  source: ByteSource;
  warnings: readonly string[];
  close(): Promise<void>;
}

/** Opens a UDIF image, sparse image, sparse bundle or raw disk image, detected from its bytes. */
export async function openDisk(input: SourceInput, opts: OpenOptions = {}): Promise<OpenedDisk> {
  const source = await openSource(input);
  const owns = source !== input;
  try {
    try {
      const udif = await UdifImage.open(source, opts);
      return {
        kind: 'udif', disk: udif, udif, source, warnings: udif.warnings,
        close: async () => {
          await udif.close();
          if (owns) await source.close?.();
        },
      };
    } catch (e) {
      if (!(e instanceof DmgkitError) || e.code !== 'NOT_AN_IMAGE') throw e;
      if (opts.allowRaw === false) throw e;
    }
    return { kind: 'raw', disk: source, source, warnings: [], close: async () => { if (owns) await source.close?.(); } };
  } catch (e) {
    if (owns) await source.close?.();
    throw e;
  }
}
