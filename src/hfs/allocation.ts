/**
 * The allocation file (TN1150 "Allocation File"): one bit per allocation block, most significant bit of each
 * byte first, set = in use. Read here to find a volume's free blocks (the image writer leaves them out, as
 * hdiutil does).
 */
import type { Fork } from './fork.js';
import type { Extent } from './volume-header.js';

/** kHFSAllocationFileID. */
export const CNID_ALLOCATION = 6;

export interface FreeRunOptions {
  /** Shorter free runs are not reported (default 1 block). */
  minBlocks?: number;
  /** Most runs reported; the scan stops there (default 65536): bounds memory whatever the bitmap holds. */
  maxRuns?: number;
}

/** The free runs of blocks [0, totalBlocks), in order, from the allocation file `fork` (read 1 MiB at a time). */
export async function freeRuns(fork: Fork, totalBlocks: number, opts: FreeRunOptions = {}): Promise<Extent[]> {
  const minBlocks = Math.max(1, opts.minBlocks ?? 1);
  const maxRuns = opts.maxRuns ?? 65536;
  const bits = Math.min(totalBlocks, fork.size * 8);
  const out: Extent[] = [];
  let runStart = -1;
  const close = (end: number): boolean => {
    if (runStart >= 0 && end - runStart >= minBlocks) out.push({ startBlock: runStart, blockCount: end - runStart });
    runStart = -1;
    return out.length >= maxRuns;
  };
  const piece = 1 << 20;
  for (let byteOff = 0; byteOff * 8 < bits; byteOff += piece) {
    const n = Math.min(piece, Math.ceil(bits / 8) - byteOff);
    const b = await fork.read(byteOff, n);
    for (let i = 0; i < n; i++) {
      const v = b[i];
      const block = (byteOff + i) * 8;
      if (v === 0 && runStart >= 0) continue; // inside a free run
      if (v === 0xff && runStart < 0) continue; // inside a used run
      for (let k = 0; k < 8 && block + k < bits; k++) {
        const used = (v & (0x80 >> k)) !== 0;
        if (!used && runStart < 0) runStart = block + k;
        else if (used && runStart >= 0 && close(block + k)) return out;
      }
    }
  }
  close(bits);
  return out;
}
