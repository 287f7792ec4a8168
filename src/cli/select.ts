// moved to the library: src/image/select.ts
export { selectRange } from '../image/select.js';
