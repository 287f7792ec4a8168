import { DmgkitError, at } from '../errors.js';
import { type PlistDict, type PlistValue, looksLikeXmlPlist, parsePlistXml, serializePlistXml } from '../plist/xml.js';
import { type Resource, type ResourceFork, addResource } from './resources.js';

/**
 * The XML property list of a UDIF image: `resource-fork` → { blkx: [ {Attributes, CFName, Data, ID, Name} ],
 * plst, cSum, nsiz, size, … }. Trailing bytes after `</plist>` are tolerated. Only `resource-fork` and the five
 * fields of each resource are kept (src/plist/xml.ts skips everything else without decoding it).
 */

/** Fields of one resource entry that UDIF uses. */
const RESOURCE_FIELDS = new Set(['Attributes', 'CFName', 'Data', 'ID', 'Name']);
/** Most values kept from a UDIF plist: ~6 per resource, far above any real image (one blkx per partition). */
export const MAX_PLIST_VALUES = 1 << 18;

function keepUdif(path: readonly string[]): boolean {
  switch (path.length) {
    case 1:
      return path[0] === 'resource-fork';
    case 2: // a resource type → its array
      return true;
    case 4: // resource-fork / type / [] / field
      return path[2] === '[]' && RESOURCE_FIELDS.has(path[3]!);
    default:
      return false;
  }
}

function toInt(v: PlistValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    const t = v.trim().toLowerCase();
    const n = t.startsWith('0x') ? parseInt(t, 16) : parseInt(t, 10);
    return Number.isFinite(n) ? n : 0;
  }
  return 0;
}

/** True when the bytes look like the start of an XML plist. */
export function looksLikeXml(b: Uint8Array): boolean {
  return looksLikeXmlPlist(b);
}

export function parseXmlPlist(bytes: Uint8Array, fileOffset: number): ResourceFork {
  const root = parsePlistXml(bytes, { offset: fileOffset, what: 'XML plist', keep: keepUdif, maxValues: MAX_PLIST_VALUES });
  if (!(root instanceof Map)) {
    throw new DmgkitError('CORRUPT_HEADER', `XML plist ${at(fileOffset)} is not a dictionary`, { offset: fileOffset });
  }
  const rf = root.get('resource-fork');
  if (!(rf instanceof Map)) {
    throw new DmgkitError('CORRUPT_HEADER', `XML plist ${at(fileOffset)} has no resource-fork dictionary`, {
      offset: fileOffset,
    });
  }
  const fork: ResourceFork = new Map();
  for (const [type, list] of rf) {
    if (!Array.isArray(list)) continue;
    list.forEach((entry, i) => {
      if (!(entry instanceof Map)) return;
      const data = entry.get('Data');
      if (!(data instanceof Uint8Array)) {
        throw new DmgkitError('CORRUPT_HEADER', `XML plist ${at(fileOffset)}: resource ${type}[${i}] has no Data`, {
          offset: fileOffset,
        });
      }
      const name = entry.get('Name');
      const cfName = entry.get('CFName');
      const r: Resource = { type, id: toInt(entry.get('ID')), name: typeof name === 'string' ? name : '', attributes: toInt(entry.get('Attributes')), data };
      if (typeof cfName === 'string') r.cfName = cfName;
      addResource(fork, r);
    });
  }
  return fork;
}

/** The plist value hdiutil writes for a resource fork (Attributes as 0x hex text, ID as decimal text). */
export function resourceForkToPlist(fork: ResourceFork): PlistDict {
  const rf: PlistDict = new Map();
  for (const [type, list] of fork) {
    rf.set(
      type,
      list.map((r) => {
        const d: PlistDict = new Map();
        d.set('Attributes', `0x${r.attributes.toString(16).padStart(4, '0')}`);
        if (r.cfName !== undefined) d.set('CFName', r.cfName);
        d.set('Data', r.data);
        d.set('ID', String(r.id));
        d.set('Name', r.name);
        return d;
      }),
    );
  }
  return new Map([['resource-fork', rf]]);
}

/** Builds an hdiutil-style XML plist for the given resources (used by the writer). */
export function buildXmlPlist(fork: ResourceFork): Uint8Array {
  return serializePlistXml(resourceForkToPlist(fork));
}
