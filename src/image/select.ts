import { DmgkitError, at } from '../errors.js';
import type { OpenedDisk } from '../open.js';
import { readPartitionMap } from '../disk/partition-map.js';

/**
 * The byte range [start, end) of the whole disk, of a partition-map entry (`partition`) or of a UDIF block table
 * (`blkx`), its description, and a warning when the entry runs past the end of the disk: the range is then
 * clamped to the disk's end (an entry starting past the end is OUT_OF_RANGE).
 */
export async function selectRange(opened: OpenedDisk, partition?: number, blkx?: number): Promise<[number, number, string, string?]> {
  if (blkx !== undefined) {
    if (!opened.udif) throw new DmgkitError('INVALID_ARGUMENT', '--blkx applies to UDIF images only');
    const p = opened.udif.partitions[blkx];
    if (!p) throw new DmgkitError('OUT_OF_RANGE', `no block table ${blkx} (the image has ${opened.udif.partitions.length})`);
    return [p.offset, p.offset + p.size, `block table ${blkx} (${p.name})`];
  }
  if (partition !== undefined) {
    const map = await readPartitionMap(opened.disk);
    const e = map.entries.find((x) => x.index === partition);
    if (!e) throw new DmgkitError('OUT_OF_RANGE', `no partition ${partition} in the ${map.scheme} partition map (${map.entries.length} entries)`);
    const what = `partition ${partition} (${e.name || e.typeName})`;
    const size = opened.disk.size;
    if (e.offset >= size) {
      throw new DmgkitError('OUT_OF_RANGE', `${what} starts ${at(e.offset)}, past the end of the ${size}-byte disk`, { offset: e.offset });
    }
    if (e.offset + e.size > size) {
      const missing = e.offset + e.size - size;
      return [e.offset, size, what, `${what} ends ${missing} bytes past the end of the ${size}-byte disk: only its first ${size - e.offset} bytes exist`];
    }
    return [e.offset, e.offset + e.size, what];
  }
  return [0, opened.disk.size, 'the whole disk'];
}
