/** HFS+ / HFSX reader: public entry points. */
export { openHfs, HfsVolume, hfsDate, PRIVATE_DATA_NAME, PRIVATE_DIR_DATA_NAME } from './volume.js';
export type { HfsEntry, OpenHfsOptions, ReadOptions } from './volume.js';
export type { HfsStat, HfsVolumeInfo, HfsEntryType } from './types.js';
export { DECMPFS_TYPE_NAMES } from './decmpfs.js';
export { publicFinderInfo } from './finder-info.js';
