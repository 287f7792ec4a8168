// moved: src/container/detect.ts is the one container-detection module
export { detectContainer, describeRaw } from './detect.js';
export type { ContainerKind, DetectedContainer, RawDescription } from './detect.js';
