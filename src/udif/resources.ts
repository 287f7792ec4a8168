/** One resource of a UDIF resource fork, from the XML plist or the binary resource fork. */
export interface Resource {
  /** Four-character type: 'blkx', 'plst', 'cSum', 'nsiz', 'size', 'LPic', 'STR#', 'TEXT', 'styl', … */
  type: string;
  id: number;
  name: string;
  attributes: number;
  /** CFName, present in XML plists written by newer hdiutil. */
  cfName?: string;
  data: Uint8Array;
}

export type ResourceFork = Map<string, Resource[]>;

export function addResource(fork: ResourceFork, r: Resource): void {
  const list = fork.get(r.type);
  if (list) list.push(r);
  else fork.set(r.type, [r]);
}
