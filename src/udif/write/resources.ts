/**
 * Serializing the resources of a written image: the one place the writer turns a resource fork into the XML
 * plist (src/udif/xml-plist.ts), with the resource types in the order Apple's plist writer sorts them.
 */
import type { ResourceFork } from '../resources.js';
import { buildXmlPlist } from '../xml-plist.js';

export function serializeResources(fork: ResourceFork): Uint8Array {
  const sorted: ResourceFork = new Map([...fork].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return buildXmlPlist(sorted);
}
