import { DmgkitError } from '../errors.js';
import type { OpenedDisk } from '../open.js';

/** The byte range of the whole disk, of a partition-map entry (--partition) or of a UDIF block table (--blkx). */
export async function selectRange(opened: OpenedDisk, partition?: number, blkx?: number): Promise<[number, number, string]> {
  if (blkx !== undefined) {
    if (!opened.udif) throw new DmgkitError('INVALID_ARGUMENT', '--blkx applies to UDIF images only');
    const p = opened.udif.partitions[blkx];
    if (!p) throw new DmgkitError('OUT_OF_RANGE', `no block table ${blkx} (the image has ${opened.udif.partitions.length})`);
    return [p.offset, p.offset + p.size, `block table ${blkx} (${p.name})`];
  }
  if (partition !== undefined) {
    const { readPartitionMap } = await import('../disk/partition-map.js');
    const map = await readPartitionMap(opened.disk);
    const e = map.entries.find((x) => x.index === partition);
    if (!e) throw new DmgkitError('OUT_OF_RANGE', `no partition ${partition} in the ${map.scheme} partition map (${map.entries.length} entries)`);
    return [e.offset, Math.min(opened.disk.size, e.offset + e.size), `partition ${partition} (${e.name || e.typeName})`];
  }
  return [0, opened.disk.size, 'the whole disk'];
}
