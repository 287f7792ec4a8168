import { DmgkitError, at } from '../errors.js';
import { buildPlist, parsePlist, type PlistDict } from '../util/plist.js';
import { type Resource, type ResourceFork, addResource } from './resources.js';

/**
 * The XML property list of a UDIF image: `resource-fork` → { blkx: [ {Attributes, CFName, Data, ID, Name} ],
 * plst, cSum, nsiz, size, … }. Trailing bytes after `</plist>` are tolerated.
 */

const decoder = new TextDecoder('utf-8', { fatal: false });

function toBytes(v: unknown): Uint8Array | null {
  if (v instanceof Uint8Array) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string') {
    // plist in browsers may hand back base64 text
    try {
      const bin = atob(v.replace(/\s+/g, ''));
      const out = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
      return out;
    } catch {
      return null;
    }
  }
  return null;
}

function toInt(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const n = v.trim().toLowerCase().startsWith('0x') ? parseInt(v, 16) : parseInt(v, 10);
    return Number.isFinite(n) ? n : 0;
  }
  return 0;
}

/** True when the bytes look like the start of an XML plist. */
export function looksLikeXml(b: Uint8Array): boolean {
  const head = decoder.decode(b.subarray(0, Math.min(b.length, 64))).trimStart();
  return head.startsWith('<?xml') || head.startsWith('<!DOCTYPE') || head.startsWith('<plist');
}

export function parseXmlPlist(bytes: Uint8Array, fileOffset: number): ResourceFork {
  let text = decoder.decode(bytes);
  const end = text.lastIndexOf('</plist>');
  if (end < 0) {
    throw new DmgkitError('CORRUPT_HEADER', `XML plist ${at(fileOffset)} has no closing </plist>`, { offset: fileOffset });
  }
  text = text.slice(0, end + '</plist>'.length);
  let root: unknown;
  try {
    root = parsePlist(text);
  } catch (e) {
    throw new DmgkitError('CORRUPT_HEADER', `XML plist ${at(fileOffset)} does not parse: ${(e as Error).message}`, {
      offset: fileOffset,
    });
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    throw new DmgkitError('CORRUPT_HEADER', `XML plist ${at(fileOffset)} is not a dictionary`, { offset: fileOffset });
  }
  const rf = (root as Record<string, unknown>)['resource-fork'];
  if (typeof rf !== 'object' || rf === null || Array.isArray(rf)) {
    throw new DmgkitError('CORRUPT_HEADER', `XML plist ${at(fileOffset)} has no resource-fork dictionary`, {
      offset: fileOffset,
    });
  }
  const fork: ResourceFork = new Map();
  for (const [type, list] of Object.entries(rf as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue;
    list.forEach((entry, i) => {
      if (typeof entry !== 'object' || entry === null) return;
      const e = entry as Record<string, unknown>;
      const data = toBytes(e.Data);
      if (!data) {
        throw new DmgkitError('CORRUPT_HEADER', `XML plist ${at(fileOffset)}: resource ${type}[${i}] has no Data`, {
          offset: fileOffset,
        });
      }
      const r: Resource = {
        type,
        id: toInt(e.ID),
        name: typeof e.Name === 'string' ? e.Name : '',
        attributes: toInt(e.Attributes),
        data,
      };
      if (typeof e.CFName === 'string') r.cfName = e.CFName;
      addResource(fork, r);
    });
  }
  return fork;
}

/** Builds an hdiutil-style XML plist for the given resources (used by the writer). */
export function buildXmlPlist(fork: ResourceFork): Uint8Array {
  const rf: PlistDict = {};
  for (const [type, list] of fork) {
    rf[type] = list.map((r) => {
      const d: PlistDict = {
        Attributes: `0x${r.attributes.toString(16).padStart(4, '0')}`,
        Data: r.data,
        ID: String(r.id),
        Name: r.name,
      };
      if (r.cfName !== undefined) d.CFName = r.cfName;
      return d;
    });
  }
  const xml = buildPlist({ 'resource-fork': rf });
  return new TextEncoder().encode(xml + '\n');
}
