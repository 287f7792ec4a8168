export type { BlockDevice, Extent, WriteOptions } from './types.js';
export { openBlockDevice, baseIdentity, devicePieces, ShadowDevice, type OpenBlockDeviceOptions } from './device.js';
export { ShadowFile, openShadowFile } from './shadow.js';
