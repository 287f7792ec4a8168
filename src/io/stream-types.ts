/**
 * The part of a Node Readable that dmgkit's API promises, declared without Node's types so that a DOM-only
 * TypeScript project type-checks dmgkit's declarations (a real node:stream Readable is returned in Node).
 */
export interface NodeReadableLike extends AsyncIterable<unknown> {
  pipe(destination: any, options?: { end?: boolean }): any;
  destroy(error?: Error): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
}
