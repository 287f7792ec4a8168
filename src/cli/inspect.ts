// moved to the library: src/image/describe.ts
export { describeDisk } from '../image/describe.js';
export type { DescribedEntry, DiskDescription } from '../image/describe.js';
