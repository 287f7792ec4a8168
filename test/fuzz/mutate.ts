/**
 * A seeded, reproducible mutation engine for disk images. Every mutant is a pure function of (seed image, mutant
 * seed): `mutate(img, seed)` always returns the same bytes and the same recipe (a human-readable list of what was
 * changed), so a failure is reproduced from the fixture name and the seed alone.
 *
 * Besides blind mutations (truncation, bit flips, byte runs) it knows the structures dmgkit parses, so mutants
 * get past the first checks and reach the deeper code: the koly trailer, the XML plist and its mish tables (the
 * plist is rebuilt and the koly fixed up), the chunk data of every codec, the APM/GPT/MBR partition maps (GPT CRCs
 * recomputed), and the HFS+ volume header and B-tree nodes of raw volumes (node descriptors, record offsets, keys,
 * child pointers, extents, catalog names such as "../..").
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { BufferSource } from '../../src/io/buffer-source.js';
import { parseKoly, type Koly } from '../../src/udif/koly.js';
import { parseXmlPlist, buildXmlPlist } from '../../src/udif/xml-plist.js';
import { parseMish } from '../../src/udif/mish.js';
import type { ResourceFork } from '../../src/udif/resources.js';
import { UdifImage } from '../../src/udif/image.js';
import '../../src/udif/all-codecs.js'; // UdifImage.open brings no codec: register them all
import { writeUdifImage } from '../../src/udif/write/udif.js';
import { wholeDiskPlan } from '../../src/udif/write/plan.js';
import { CHUNK_RAW, CHUNK_ZLIB } from '../../src/udif/chunk-types.js';
import { crc32 } from '../../src/util/crc32.js';
import { buildSparseImage } from '../container/build.js';

// ---------------------------------------------------------------------------------------------------------------
// PRNG

/** xorshift128+ style generator on 32-bit halves (sfc32), seeded by a string or number. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number | string) {
    let h = 1779033703 ^ String(seed).length;
    const s = String(seed);
    for (let i = 0; i < s.length; i++) {
      h = Math.imul(h ^ s.charCodeAt(i), 3432918353);
      h = (h << 13) | (h >>> 19);
    }
    const next = () => {
      h = Math.imul(h ^ (h >>> 16), 2246822507);
      h = Math.imul(h ^ (h >>> 13), 3266489909);
      return (h ^= h >>> 16) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (n <= 0) return 0;
    if (n <= 0x100000000) return Math.floor((this.u32() / 0x100000000) * n);
    return Math.floor((this.u32() * 0x100000000 + this.u32()) / 2 ** 64 * n);
  }
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Byte helpers (big-endian unless named)

const rd32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const rd16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const rd64 = (b: Uint8Array, o: number) => rd32(b, o) * 0x100000000 + rd32(b, o + 4);
function wr(b: Uint8Array, o: number, width: 1 | 2 | 4 | 8, v: bigint, le = false): void {
  const mask = (1n << BigInt(width * 8)) - 1n;
  let x = ((v % (mask + 1n)) + mask + 1n) & mask;
  for (let i = 0; i < width; i++) {
    const idx = le ? o + i : o + width - 1 - i;
    if (idx >= 0 && idx < b.length) b[idx] = Number(x & 0xffn);
    x >>= 8n;
  }
}
const rdLe32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const ascii = (b: Uint8Array, o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));

/** Boundary values for an integer field of `width` bytes whose current value is `orig`. */
function boundary(rng: Rng, width: 1 | 2 | 4 | 8, orig: number, fileSize: number): bigint {
  const max = (1n << BigInt(width * 8)) - 1n;
  const o = BigInt(Number.isFinite(orig) ? Math.max(0, Math.floor(orig)) : 0);
  const fs = BigInt(Number.isFinite(fileSize) ? Math.max(0, Math.floor(fileSize)) : 0);
  const common = [0n, 1n, 2n, max, max - 1n, max >> 1n, (max >> 1n) + 1n, o + 1n, o - 1n, o * 2n, o + 512n, o + 7n, fs, fs + 1n, fs - 1n, fs / 512n, fs / 512n + 1n];
  const wide = width >= 4 ? [0xffffffffn, 0x100000000n, 0x7fffffffn, 0x80000000n, 1n << 31n, 1n << 40n] : [];
  const huge = width === 8 ? [(1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 1n, 1n << 63n, (1n << 62n) + 3n] : [];
  const v = rng.pick([...common, ...wide, ...huge]);
  return v < 0n ? 0n : v & max;
}

// ---------------------------------------------------------------------------------------------------------------
// Seeds: an input image plus what we know about its structures

export interface MishInfo {
  /** blkx resource index in the fork (XML images) or file offset of the raw table (binary resource fork). */
  index: number;
  table: Uint8Array;
  /** Absolute file offset of the table's data (dataForkOffset + dataStart). */
  dataBase: number;
}
export interface HfsInfo {
  /** Byte offset of the volume (its header is at +1024). */
  volumeOffset: number;
  blockSize: number;
  /** Offsets (absolute) of B-tree nodes worth mutating, with the node size. */
  nodes: { offset: number; size: number; tree: string; index: number }[];
  /** Absolute offsets of decmpfs headers ('fpmc' = 'cmpf' little-endian) in the volume. */
  decmpfs: number[];
}
export interface FuzzSeed {
  name: string;
  bytes: Uint8Array;
  kind: 'udif' | 'raw' | 'sparse';
  koly?: Koly;
  fork?: ResourceFork;
  mish: MishInfo[];
  /** Compressed chunks: absolute offset, length, chunk type, decoded size in bytes, blkx table index. */
  chunks: { offset: number; length: number; type: number; outLength: number; table: number }[];
  hfs: HfsInfo[];
  /** The decoded disk (for UDIF seeds with a small disk): partition-map and HFS mutations re-wrapped as UDIF. */
  decoded?: FuzzSeed;
}

const HFS_SIG = new Set(['H+\x00\x04', 'HX\x00\x05']);

/** Finds HFS+/HFSX volumes at 512-byte boundaries and lists their B-tree nodes (first extents only). */
export function findHfs(b: Uint8Array): HfsInfo[] {
  const out: HfsInfo[] = [];
  for (let v = 0; v + 1024 + 512 <= b.length; v += 512) {
    if (!HFS_SIG.has(ascii(b, v + 1024, 4))) continue;
    const h = v + 1024;
    const blockSize = rd32(b, h + 40);
    if (blockSize < 512 || blockSize > 65536 || (blockSize & (blockSize - 1)) !== 0) continue;
    const info: HfsInfo = { volumeOffset: v, blockSize, nodes: [], decmpfs: [] };
    for (const [tree, forkAt] of [['extents', 192], ['catalog', 272], ['attributes', 352]] as const) {
      const start = rd32(b, h + forkAt + 16);
      const count = rd32(b, h + forkAt + 20);
      const first = v + start * blockSize;
      if (count === 0 || first + 512 > b.length) continue;
      const nodeSize = rd16(b, first + 14 + 18);
      if (nodeSize < 512 || nodeSize > 32768) continue;
      const end = Math.min(b.length, first + count * blockSize);
      for (let n = first; n + nodeSize <= end && info.nodes.length < 4096; n += nodeSize) {
        // keep nodes that are in use (a plausible descriptor kind) and the header node
        const kind = b[n + 8];
        if (n === first || kind === 0xff || kind === 0 || kind === 1 || kind === 2) {
          if (n === first || rd16(b, n + 10) > 0) info.nodes.push({ offset: n, size: nodeSize, tree, index: (n - first) / nodeSize });
        }
      }
    }
    const volEnd = Math.min(b.length, v + rd32(b, h + 44) * blockSize);
    for (let o = v; o + 16 <= volEnd && info.decmpfs.length < 256; o++) {
      if (b[o] === 0x66 && b[o + 1] === 0x70 && b[o + 2] === 0x6d && b[o + 3] === 0x63) info.decmpfs.push(o);
    }
    out.push(info);
    v += 1024; // skip past this header
  }
  return out;
}

function udifStructures(bytes: Uint8Array): Pick<FuzzSeed, 'koly' | 'fork' | 'mish' | 'chunks'> | null {
  if (bytes.length < 512 || ascii(bytes, bytes.length - 512, 4) !== 'koly') return null;
  let koly: Koly;
  try {
    koly = parseKoly(bytes.subarray(bytes.length - 512), bytes.length - 512);
  } catch {
    return null;
  }
  const mish: MishInfo[] = [];
  const chunks: FuzzSeed['chunks'] = [];
  let fork: ResourceFork | undefined;
  const addTable = (index: number, table: Uint8Array) => {
    try {
      const t = parseMish(table);
      const dataBase = koly.dataForkOffset + t.dataStart;
      mish.push({ index, table, dataBase });
      for (const c of t.chunks) {
        if (c.compressedLength > 0 && (c.type & 0x80000000) !== 0 && c.type !== 0x7ffffffe && c.type !== 0xffffffff) {
          chunks.push({ offset: dataBase + c.compressedOffset, length: c.compressedLength, type: c.type, outLength: c.sectorCount * 512, table: mish.length - 1 });
        }
      }
    } catch {
      // a seed whose own table does not parse simply gets no table mutations
    }
  };
  if (koly.xmlLength > 0 && koly.xmlOffset + koly.xmlLength <= bytes.length) {
    try {
      fork = parseXmlPlist(bytes.subarray(koly.xmlOffset, koly.xmlOffset + koly.xmlLength), koly.xmlOffset);
      (fork.get('blkx') ?? []).forEach((r, i) => addTable(i, r.data));
    } catch {
      fork = undefined;
    }
  }
  if (!fork && koly.rsrcForkLength > 0) {
    // binary resource fork: tables are stored raw; find them by signature
    const end = Math.min(bytes.length, koly.rsrcForkOffset + koly.rsrcForkLength);
    for (let o = koly.rsrcForkOffset; o + 204 <= end; o++) {
      if (bytes[o] === 0x6d && ascii(bytes, o, 4) === 'mish') addTable(o, bytes.subarray(o, end));
    }
  }
  return { koly, fork, mish, chunks };
}

const MAX_DECODED_SEED = 12 * 1024 * 1024;

/** Loads one image and finds its structures; UDIF images with a small disk also get their decoded disk. */
export async function loadSeed(path: string, opts: { decode?: boolean } = {}): Promise<FuzzSeed> {
  const bytes = new Uint8Array(readFileSync(path));
  const name = basename(path);
  const u = udifStructures(bytes);
  if (!u) return { name, bytes, kind: 'raw', mish: [], chunks: [], hfs: findHfs(bytes) };
  const seed: FuzzSeed = { name, bytes, kind: 'udif', ...u, hfs: [] };
  if (opts.decode === false) return seed;
  try {
    const img = await UdifImage.open(new BufferSource(bytes), { threads: 1 });
    if (img.size > 0 && img.size <= MAX_DECODED_SEED) {
      const disk = await img.read(0, img.size);
      seed.decoded = { name: `${name}#decoded`, bytes: disk, kind: 'raw', mish: [], chunks: [], hfs: findHfs(disk) };
    }
    await img.close();
  } catch {
    // undecodable seed (the broken fixture): blind and koly mutations only
  }
  return seed;
}

/**
 * A sparse image built from a raw disk (band order shuffled by a fixed rule, some bands absent), so the sparse
 * reader has a seed: no fixture is a sparse image.
 */
export function sparseSeed(from: FuzzSeed): FuzzSeed | null {
  const disk = from.decoded?.bytes ?? (from.kind === 'raw' ? from.bytes : null);
  if (!disk || disk.length % 512 || disk.length > MAX_DECODED_SEED) return null;
  const spb = 64;
  const bands = Math.ceil(disk.length / (spb * 512));
  const stored: number[] = [];
  for (let i = 0; i < bands; i++) {
    const band = (i * 7) % bands; // a permutation when gcd(7, bands) = 1, else some bands repeat: drop those
    if (!stored.includes(band)) stored.push(band);
  }
  const rng = new Rng(from.name);
  const keep = stored.filter((band) => band === 0 || !rng.chance(0.1));
  return { name: `${from.name}#sparse`, bytes: buildSparseImage(disk, spb, keep), kind: 'sparse', mish: [], chunks: [], hfs: [] };
}

// ---------------------------------------------------------------------------------------------------------------
// Mutations

export interface Mutant {
  bytes: Uint8Array;
  /** What was done, in order; enough to explain (with the seed) how the input was built. */
  recipe: string[];
}

type Op = (b: Uint8Array, rng: Rng, seed: FuzzSeed, recipe: string[]) => Uint8Array;

// --- blind -------------------------------------------------------------------------------------------------------

const truncate: Op = (b, rng, seed, recipe) => {
  // favour structure boundaries: the koly, the plist, a chunk, a sector
  const cuts = [0, 1, 511, 512, b.length - 512, b.length - 511, b.length - 1, rng.int(b.length)];
  if (seed.koly) cuts.push(seed.koly.xmlOffset, seed.koly.xmlOffset + (seed.koly.xmlLength >> 1), seed.koly.dataForkLength);
  for (const c of seed.chunks.slice(0, 4)) cuts.push(c.offset + (c.length >> 1));
  const at = Math.max(0, Math.min(b.length, rng.pick(cuts)));
  recipe.push(`truncate(${at})`);
  return b.slice(0, at);
};

const bitFlips: Op = (b, rng, _s, recipe) => {
  const n = 1 + rng.int(rng.chance(0.7) ? 4 : 64);
  const pos: number[] = [];
  for (let i = 0; i < n && b.length; i++) {
    const p = rng.int(b.length);
    const bit = rng.int(8);
    b[p] ^= 1 << bit;
    pos.push(p * 8 + bit);
  }
  recipe.push(`flipBits(${pos.join(',')})`);
  return b;
};

const byteRun: Op = (b, rng, _s, recipe) => {
  if (!b.length) return b;
  const at = rng.int(b.length);
  const len = Math.min(b.length - at, 1 + rng.int(rng.chance(0.5) ? 16 : 4096));
  const fill = rng.pick([0x00, 0xff, 0x80, 0x7f, -1]);
  if (fill < 0) b.set(rng.bytes(len), at);
  else b.fill(fill, at, at + len);
  recipe.push(`byteRun(${at},${len},${fill < 0 ? 'random' : '0x' + fill.toString(16)})`);
  return b;
};

const insertDelete: Op = (b, rng, _s, recipe) => {
  const at = rng.int(b.length + 1);
  const len = 1 + rng.int(64);
  if (rng.chance(0.5)) {
    const ins = rng.bytes(len);
    recipe.push(`insert(${at},${len})`);
    const out = new Uint8Array(b.length + len);
    out.set(b.subarray(0, at));
    out.set(ins, at);
    out.set(b.subarray(at), at + len);
    return out;
  }
  // no further than the end (a deletion near the end made a RangeError here: campaign case 16449)
  const n = Math.min(len, b.length - at);
  recipe.push(`delete(${at},${n})`);
  const out = new Uint8Array(b.length - n);
  out.set(b.subarray(0, at));
  out.set(b.subarray(at + n), at);
  return out;
};

// --- koly --------------------------------------------------------------------------------------------------------

/** Koly fields: [name, offset in the trailer, width]. */
export const KOLY_FIELDS: readonly [string, number, 4 | 8][] = [
  ['version', 4, 4],
  ['headerSize', 8, 4],
  ['flags', 12, 4],
  ['runningDataForkOffset', 16, 8],
  ['dataForkOffset', 24, 8],
  ['dataForkLength', 32, 8],
  ['rsrcForkOffset', 40, 8],
  ['rsrcForkLength', 48, 8],
  ['segmentNumber', 56, 4],
  ['segmentCount', 60, 4],
  ['dataChecksum.type', 80, 4],
  ['dataChecksum.bits', 84, 4],
  ['xmlOffset', 216, 8],
  ['xmlLength', 224, 8],
  ['codeSignatureOffset', 296, 8],
  ['codeSignatureLength', 304, 8],
  ['masterChecksum.type', 352, 4],
  ['masterChecksum.bits', 356, 4],
  ['imageVariant', 488, 4],
  ['sectorCount', 492, 8],
];

const kolyField: Op = (b, rng, seed, recipe) => {
  if (b.length < 512 || ascii(b, b.length - 512, 4) !== 'koly') return bitFlips(b, rng, seed, recipe);
  const k = b.length - 512;
  const [name, off, width] = rng.pick(KOLY_FIELDS);
  const orig = width === 8 ? rd64(b, k + off) : rd32(b, k + off);
  let v: bigint;
  if (name.endsWith('.type')) v = BigInt(rng.pick([0, 1, 2, 3, 4, 7, 9, 10, 0xffffffff]));
  else if (name.endsWith('.bits')) v = BigInt(rng.pick([0, 1, 31, 32, 33, 1024, 1025, 0xffffffff]));
  else v = boundary(rng, width, orig, b.length);
  wr(b, k + off, width, v);
  recipe.push(`koly.${name}=${v}`);
  return b;
};

/** The koly trailer moved: junk after it (it is no longer the last 512 bytes), or a copy at the start. */
const kolyPlace: Op = (b, rng, seed, recipe) => {
  if (b.length < 1024 || ascii(b, b.length - 512, 4) !== 'koly') return kolyField(b, rng, seed, recipe);
  if (rng.chance(0.6)) {
    const n = rng.pick([1, 511, 512, 513, 1024, 4096]);
    recipe.push(`kolyPlace.append(${n})`);
    const out = new Uint8Array(b.length + n);
    out.set(b);
    out.set(rng.chance(0.5) ? rng.bytes(n) : new Uint8Array(n), b.length);
    return out;
  }
  recipe.push('kolyPlace.copyToStart');
  b.copyWithin(0, b.length - 512, b.length);
  if (rng.chance(0.5)) {
    recipe.push('kolyPlace.eraseEnd');
    b.fill(0, b.length - 512, b.length - 508);
  }
  return b;
};

// --- XML plist ---------------------------------------------------------------------------------------------------

/** Replaces the XML plist (at the koly's xmlOffset) with `xml`, fixing the koly's xmlLength. */
export function replaceXml(b: Uint8Array, xml: Uint8Array): Uint8Array {
  const k = b.length - 512;
  const xmlOff = rd64(b, k + 216);
  const xmlLen = rd64(b, k + 224);
  if (xmlOff > k || xmlOff + xmlLen > k) return b;
  const out = new Uint8Array(xmlOff + xml.length + (k - xmlOff - xmlLen) + 512);
  out.set(b.subarray(0, xmlOff));
  out.set(xml, xmlOff);
  out.set(b.subarray(xmlOff + xmlLen, k), xmlOff + xml.length);
  const nk = out.length - 512;
  out.set(b.subarray(k), nk);
  wr(out, nk + 224, 8, BigInt(xml.length));
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Text-level XML mutations: delete/duplicate entries, change numbers, break the syntax. */
const xmlText: Op = (b, rng, seed, recipe) => {
  const k = seed.koly;
  if (!k || !k.xmlLength || b.length < 512) return kolyField(b, rng, seed, recipe);
  const kk = b.length - 512;
  const xmlOff = rd64(b, kk + 216);
  const xmlLen = rd64(b, kk + 224);
  if (xmlOff + xmlLen > kk) return kolyField(b, rng, seed, recipe);
  let t = dec.decode(b.subarray(xmlOff, xmlOff + xmlLen));
  const dicts = [...t.matchAll(/<dict>\s*<key>Attributes<\/key>[\s\S]*?<\/dict>/g)];
  const choice = rng.int(10);
  if (choice === 0 && dicts.length) {
    const d = rng.pick(dicts);
    t = t.slice(0, d.index) + t.slice(d.index! + d[0].length);
    recipe.push(`xml.deleteEntry(@${d.index})`);
  } else if (choice === 1 && dicts.length) {
    const d = rng.pick(dicts);
    const times = rng.pick([1, 2, 50]);
    t = t.slice(0, d.index) + d[0].repeat(times + 1) + t.slice(d.index! + d[0].length);
    recipe.push(`xml.duplicateEntry(@${d.index},x${times})`);
  } else if (choice === 2) {
    const ints = [...t.matchAll(/<integer>([^<]*)<\/integer>|<string>(-?\d+)<\/string>/g)];
    if (ints.length) {
      const m = rng.pick(ints);
      const v = rng.pick(['-1', '0', '99999999999999999999999', '9007199254740993', '1e400', 'NaN', '0x10', '', '4294967296', '-2147483649']);
      const repl = m[0].startsWith('<integer>') ? `<integer>${v}</integer>` : `<string>${v}</string>`;
      t = t.slice(0, m.index) + repl + t.slice(m.index! + m[0].length);
      recipe.push(`xml.number(@${m.index}=${v})`);
    }
  } else if (choice === 3) {
    const cut = rng.int(t.length);
    t = t.slice(0, cut) + (rng.chance(0.5) ? '</plist>' : '');
    recipe.push(`xml.truncate(${cut})`);
  } else if (choice === 4) {
    const junk = rng.pick(['<', '&bogus;', '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>', '</dict>', '<dict>', ']]>', '\u0000', '<data>', '<array>'.repeat(2000)]);
    const at = rng.int(t.length);
    t = t.slice(0, at) + junk + t.slice(at);
    recipe.push(`xml.insert(@${at},${JSON.stringify(junk.slice(0, 20))}${junk.length > 20 ? `x${junk.length}` : ''})`);
  } else if (choice === 5) {
    const datas = [...t.matchAll(/<data>([\s\S]*?)<\/data>/g)];
    if (datas.length) {
      const m = rng.pick(datas);
      const v = rng.pick(['', '!!!!', 'AAAA====', 'bWlzaA==', m[1].slice(0, m[1].length >> 1), Buffer.from(rng.bytes(rng.int(400))).toString('base64')]);
      t = t.slice(0, m.index) + `<data>${v}</data>` + t.slice(m.index! + m[0].length);
      recipe.push(`xml.data(@${m.index}=${JSON.stringify(v.slice(0, 16))})`);
    }
  } else if (choice === 6) {
    const keys = [...t.matchAll(/<key>(blkx|resource-fork|Data|Name|ID|Attributes|plst)<\/key>/g)];
    if (keys.length) {
      const m = rng.pick(keys);
      const v = rng.pick(['', 'blkx', 'Data', 'x']);
      t = t.slice(0, m.index) + `<key>${v}</key>` + t.slice(m.index! + m[0].length);
      recipe.push(`xml.key(@${m.index}:${m[1]}=${v})`);
    }
  } else if (choice === 7) {
    // swap the type of a value
    const vals = [...t.matchAll(/<(array|dict|data|string)>/g)];
    if (vals.length) {
      const m = rng.pick(vals);
      const v = rng.pick(['true/', 'string', 'integer', 'array', 'dict']);
      t = t.slice(0, m.index) + `<${v}>` + t.slice(m.index! + m[0].length);
      recipe.push(`xml.tag(@${m.index}:${m[1]}=${v})`);
    }
  } else {
    return mishField(b, rng, seed, recipe);
  }
  return replaceXml(b, enc.encode(t));
};

// --- mish tables -------------------------------------------------------------------------------------------------

export const CHUNK_TYPES = [0x00000000, 0x00000001, 0x00000002, 0x80000004, 0x80000005, 0x80000006, 0x80000007, 0x80000008, 0x7ffffffe, 0xffffffff, 0x80000009, 0x80000003, 0x12345678, 0x80000000];

/** Mutates one mish table in place (header fields, chunk count, chunk entries). */
export function mutateMishTable(t: Uint8Array, rng: Rng, fileSize: number, recipe: string[], others: Uint8Array[] = []): void {
  const count = t.length >= 204 ? rd32(t, 200) : 0;
  const nChunks = Math.max(0, Math.min(count, Math.floor((t.length - 204) / 40)));
  const what = rng.int(nChunks ? 10 : 3);
  if (what === 0) {
    const [name, off, width] = rng.pick([['firstSector', 8, 8], ['sectorCount', 16, 8], ['dataStart', 24, 8], ['bufferRequested', 32, 4], ['checksum.type', 64, 4], ['checksum.bits', 68, 4]] as const);
    const v = boundary(rng, width, width === 8 ? rd64(t, off) : rd32(t, off), fileSize);
    wr(t, off, width, v);
    recipe.push(`mish.${name}=${v}`);
  } else if (what === 3 && others.length) {
    // this table's sectors overlap another table's
    const o = rng.pick(others);
    const v = BigInt(rd64(o, 8) + rng.pick([0, 1, Math.floor(rd64(o, 16) / 2)]));
    wr(t, 8, 8, v);
    recipe.push(`mish.firstSector=${v}(overlap)`);
  } else if (what === 1 || what === 2) {
    const v = rng.pick([0, 1, count - 1, count + 1, count * 2, 0xffffffff, 0x7fffffff, 16 * 1024 * 1024 + 1, 100_000_000]);
    wr(t, 200, 4, BigInt(Math.max(0, v)));
    recipe.push(`mish.chunkCount=${Math.max(0, v)}`);
  } else {
    const i = rng.int(nChunks);
    const c = 204 + i * 40;
    const field = rng.int(6);
    if (field === 0) {
      const ty = rng.pick(CHUNK_TYPES);
      wr(t, c, 4, BigInt(ty));
      recipe.push(`mish.chunk[${i}].type=0x${ty.toString(16)}`);
    } else if (field === 1 && nChunks > 1) {
      // overlap / reorder: copy another chunk's sector range or compressed range
      const j = rng.int(nChunks);
      const src = 204 + j * 40;
      const off = rng.pick([8, 24]);
      t.copyWithin(c + off, src + off, src + off + 16);
      recipe.push(`mish.chunk[${i}].${off === 8 ? 'sectors' : 'compressed'}=chunk[${j}]`);
    } else {
      const [name, off] = rng.pick([['sectorStart', 8], ['sectorCount', 16], ['compressedOffset', 24], ['compressedLength', 32]] as const);
      const v = boundary(rng, 8, rd64(t, c + off), fileSize);
      wr(t, c + off, 8, v);
      recipe.push(`mish.chunk[${i}].${name}=${v}`);
    }
  }
}

const mishField: Op = (b, rng, seed, recipe) => {
  if (!seed.mish.length) return kolyField(b, rng, seed, recipe);
  const m = rng.pick(seed.mish);
  if (seed.fork) {
    // XML image: mutate a copy of the table, rebuild the plist
    const fork: ResourceFork = new Map([...seed.fork].map(([k, v]) => [k, v.map((r) => ({ ...r }))]));
    const blkx = fork.get('blkx')!;
    const t = blkx[m.index].data.slice();
    recipe.push(`blkx[${m.index}]:`);
    mutateMishTable(t, rng, b.length, recipe, blkx.filter((_, i) => i !== m.index).map((r) => r.data).filter((d) => d.length >= 204));
    if (rng.chance(0.15)) {
      const cut = rng.int(t.length);
      recipe.push(`mish.truncate(${cut})`);
      blkx[m.index].data = t.slice(0, cut);
    } else blkx[m.index].data = t;
    return replaceXml(b, buildXmlPlist(fork));
  }
  // binary resource fork: the table is in the file
  const view = b.subarray(m.index);
  recipe.push(`rsrc mish @${m.index}:`);
  mutateMishTable(view, rng, b.length, recipe);
  return b;
};

// --- chunk data ----------------------------------------------------------------------------------------------------

const chunkData: Op = (b, rng, seed, recipe) => {
  const inFile = seed.chunks.filter((c) => c.offset + c.length <= b.length);
  if (!inFile.length) return bitFlips(b, rng, seed, recipe);
  const c = rng.pick(inFile);
  const kind = rng.int(5);
  const tag = `chunk@${c.offset}+${c.length}(0x${c.type.toString(16)})`;
  if (kind === 0) {
    const n = 1 + rng.int(8);
    const pos: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = c.offset + rng.int(c.length);
      b[p] ^= 1 << rng.int(8);
      pos.push(p);
    }
    recipe.push(`${tag}.flip(${pos.join(',')})`);
  } else if (kind === 1) {
    // header bytes of the codec stream
    const p = c.offset + rng.int(Math.min(16, c.length));
    const v = rng.pick([0, 0xff, 0x80, 0x01, b[p] ^ 0x55]);
    b[p] = v;
    recipe.push(`${tag}.head(${p}=0x${v.toString(16)})`);
  } else if (kind === 2) {
    const at = c.offset + rng.int(c.length);
    const len = Math.min(c.offset + c.length - at, 1 + rng.int(256));
    b.set(rng.bytes(len), at);
    recipe.push(`${tag}.random(${at},${len})`);
  } else if (kind === 3) {
    // the tail (checksums, end markers)
    const p = c.offset + c.length - 1 - rng.int(Math.min(16, c.length));
    b[p] ^= 0xff;
    recipe.push(`${tag}.tail(${p})`);
  } else {
    // replace the chunk by another chunk's bytes (other codec or other content)
    const o = rng.pick(inFile);
    const len = Math.min(o.length, c.length);
    b.copyWithin(c.offset, o.offset, o.offset + len);
    recipe.push(`${tag}.copyFrom(${o.offset},${len})`);
  }
  return b;
};

// --- partition maps (raw disks) ----------------------------------------------------------------------------------

function fixGpt(b: Uint8Array, hdr: number, ss: number): void {
  if (hdr + 92 > b.length) return;
  const hsize = Math.min(Math.max(rdLe32(b, hdr + 12), 92), ss);
  const entriesLba = rd32le64(b, hdr + 72);
  const n = rdLe32(b, hdr + 80);
  const es = rdLe32(b, hdr + 84);
  const tableAt = entriesLba * ss;
  const tableLen = n * es;
  if (tableLen > 0 && tableLen <= 1 << 20 && tableAt + tableLen <= b.length) wr(b, hdr + 88, 4, BigInt(crc32(b.subarray(tableAt, tableAt + tableLen))), true);
  wr(b, hdr + 16, 4, 0n, true);
  if (hdr + hsize <= b.length) wr(b, hdr + 16, 4, BigInt(crc32(b.subarray(hdr, hdr + hsize))), true);
}
const rd32le64 = (b: Uint8Array, o: number) => rdLe32(b, o) + rdLe32(b, o + 4) * 0x100000000;

const GPT_FIELDS: readonly [string, number, 4 | 8][] = [
  ['headerSize', 12, 4], ['myLba', 24, 8], ['alternateLba', 32, 8], ['firstUsable', 40, 8], ['lastUsable', 48, 8],
  ['entriesLba', 72, 8], ['numEntries', 80, 4], ['entrySize', 84, 4],
];

const partitionMap: Op = (b, rng, seed, recipe) => {
  const gptAt = [512, 4096].find((o) => o + 92 <= b.length && ascii(b, o, 8) === 'EFI PART');
  const hasApm = b.length > 1024 && ascii(b, 512, 2) === 'PM';
  const hasMbr = b.length >= 512 && b[510] === 0x55 && b[511] === 0xaa;
  const options = [gptAt !== undefined && 'gpt', hasApm && 'apm', hasMbr && 'mbr'].filter(Boolean) as string[];
  if (!options.length) return hfsField(b, rng, seed, recipe);
  const which = rng.pick(options);
  if (which === 'gpt') {
    const hdr = gptAt!;
    const ss = hdr;
    if (rng.chance(0.6)) {
      const [name, off, width] = rng.pick(GPT_FIELDS);
      const orig = width === 8 ? rd32le64(b, hdr + off) : rdLe32(b, hdr + off);
      const v = boundary(rng, width, orig, b.length / ss);
      wr(b, hdr + off, width, v, true);
      recipe.push(`gpt.${name}=${v}`);
    } else {
      const tableAt = rd32le64(b, hdr + 72) * ss;
      const n = Math.min(rdLe32(b, hdr + 80), 128);
      const es = rdLe32(b, hdr + 84);
      if (es >= 56 && tableAt + n * es <= b.length && n > 0) {
        const i = rng.int(Math.min(n, 8));
        const e = tableAt + i * es;
        const [name, off] = rng.pick([['firstLba', 32], ['lastLba', 40], ['typeGuid', 0], ['attributes', 48]] as const);
        const v = off === 0 ? BigInt(rng.pick([0, 1])) : boundary(rng, 8, rd32le64(b, e + off), b.length / ss);
        wr(b, e + off, 8, v, true);
        recipe.push(`gpt.entry[${i}].${name}=${v}`);
      }
    }
    const fix = rng.chance(0.85);
    if (fix) fixGpt(b, hdr, ss);
    recipe.push(fix ? 'gpt.fixCrc' : 'gpt.staleCrc');
  } else if (which === 'apm') {
    const blk = rd16(b, 2) || 512;
    const e = blk * (1 + rng.int(4));
    if (rng.chance(0.2)) {
      const [name, off, w] = rng.pick([['ddm.blockSize', 2, 2], ['ddm.blockCount', 4, 4]] as const);
      const v = boundary(rng, w, w === 2 ? rd16(b, off) : rd32(b, off), b.length / 512);
      wr(b, off, w, v);
      recipe.push(`apm.${name}=${v}`);
    } else if (e + 512 <= b.length) {
      const [name, off] = rng.pick([['mapCount', 4], ['startBlock', 8], ['blockCount', 12], ['dataStart', 80], ['dataCount', 84]] as const);
      const v = boundary(rng, 4, rd32(b, e + off), b.length / blk);
      wr(b, e + off, 4, v);
      recipe.push(`apm[@${e}].${name}=${v}`);
    }
  } else {
    const i = rng.int(4);
    const e = 446 + i * 16;
    const f = rng.int(4);
    if (f === 0) {
      const ty = rng.pick([0x00, 0x05, 0x0f, 0x85, 0xee, 0xaf, 0x07, 0x0b]);
      b[e + 4] = ty;
      recipe.push(`mbr[${i}].type=0x${ty.toString(16)}`);
    } else if (f === 1) {
      // extended chain: point an extended entry at LBA 0 or at itself (a loop)
      b[e + 4] = rng.pick([0x05, 0x0f]);
      const v = BigInt(rng.pick([0, 1, rdLe32(b, e + 8)]));
      wr(b, e + 8, 4, v, true);
      wr(b, e + 12, 4, BigInt(Math.max(1, rdLe32(b, e + 12))), true);
      recipe.push(`mbr[${i}].extended@${v}`);
    } else {
      const [name, off] = rng.pick([['lbaStart', 8], ['lbaCount', 12]] as const);
      const v = boundary(rng, 4, rdLe32(b, e + off), b.length / 512);
      wr(b, e + off, 4, v, true);
      recipe.push(`mbr[${i}].${name}=${v}`);
    }
  }
  return b;
};

// --- HFS+ --------------------------------------------------------------------------------------------------------

const VH_FIELDS: readonly [string, number, 2 | 4 | 8][] = [
  ['version', 2, 2], ['attributes', 4, 4], ['journalInfoBlock', 12, 4], ['fileCount', 32, 4], ['folderCount', 36, 4],
  ['blockSize', 40, 4], ['totalBlocks', 44, 4], ['freeBlocks', 48, 4], ['nextCatalogID', 64, 4],
];
const FORKS = [['allocation', 112], ['extents', 192], ['catalog', 272], ['attributes', 352], ['startup', 432]] as const;

const hfsField: Op = (b, rng, seed, recipe) => {
  const vols = seed.hfs.filter((v) => v.volumeOffset + 1536 <= b.length);
  if (!vols.length) return bitFlips(b, rng, seed, recipe);
  const v = rng.pick(vols);
  const cmpf = v.decmpfs.filter((o) => o + 16 <= b.length);
  if (cmpf.length && rng.chance(0.15)) {
    const o = rng.pick(cmpf);
    const f = rng.int(3);
    if (f === 0) {
      const t = rng.pick([0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 0xffffffff]);
      wr(b, o + 4, 4, BigInt(t), true);
      recipe.push(`decmpfs@${o}.type=${t}`);
    } else if (f === 1) {
      const val = boundary(rng, 8, rdLe32(b, o + 8) + rdLe32(b, o + 12) * 0x100000000, b.length);
      wr(b, o + 8, 8, val, true);
      recipe.push(`decmpfs@${o}.size=${val}`);
    } else {
      const p = o + 16 + rng.int(48);
      if (p < b.length) b[p] ^= 1 << rng.int(8);
      recipe.push(`decmpfs@${o}.flip(${p})`);
    }
    return b;
  }
  if (v.nodes.length && rng.chance(0.7)) return btreeNode(b, rng, v, recipe);
  const h = v.volumeOffset + 1024;
  if (rng.chance(0.35)) {
    const [name, off, w] = rng.pick(VH_FIELDS);
    const orig = w === 2 ? rd16(b, h + off) : w === 4 ? rd32(b, h + off) : rd64(b, h + off);
    const val = name === 'blockSize' ? BigInt(rng.pick([0, 1, 256, 511, 513, 1024, 65536, 1 << 20, 0x80000000, 0xffffffff])) : boundary(rng, w, orig, b.length);
    wr(b, h + off, w, val);
    recipe.push(`hfs@${v.volumeOffset}.${name}=${val}`);
  } else {
    const [fork, at] = rng.pick(FORKS);
    const f = rng.int(4);
    if (f === 0) {
      const val = boundary(rng, 8, rd64(b, h + at), b.length);
      wr(b, h + at, 8, val);
      recipe.push(`hfs.${fork}.logicalSize=${val}`);
    } else if (f === 1) {
      const val = boundary(rng, 4, rd32(b, h + at + 12), b.length / v.blockSize);
      wr(b, h + at + 12, 4, val);
      recipe.push(`hfs.${fork}.totalBlocks=${val}`);
    } else {
      const x = rng.int(8);
      const which = rng.int(2);
      const off = h + at + 16 + x * 8 + which * 4;
      const val = boundary(rng, 4, rd32(b, off), b.length / v.blockSize);
      wr(b, off, 4, val);
      recipe.push(`hfs.${fork}.extent[${x}].${which ? 'blockCount' : 'startBlock'}=${val}`);
    }
  }
  return b;
};

/** Mutates one B-tree node: descriptor, record offsets, keys, child pointers, catalog records and names. */
function btreeNode(b: Uint8Array, rng: Rng, v: HfsInfo, recipe: string[]): Uint8Array {
  const node = rng.pick(v.nodes);
  const n = node.offset;
  const size = node.size;
  const tag = `${node.tree}Node@${n}`;
  const numRecords = rd16(b, n + 10);
  const kind = (b[n + 8] << 24) >> 24;
  const recOff = (i: number) => rd16(b, n + size - 2 * (i + 1));
  const pick = rng.int(numRecords > 0 ? 9 : 2);
  if (pick === 0) {
    const [name, off, w] = rng.pick([['fLink', 0, 4], ['bLink', 4, 4], ['kind', 8, 1], ['height', 9, 1], ['numRecords', 10, 2]] as const);
    const self = BigInt(rng.pick([node.index, node.index - 1, node.index + 1, 0]));
    const val = name === 'kind' ? BigInt(rng.pick([-1, 0, 1, 2, 3, 0x7f]) & 0xff) : (name === 'fLink' || name === 'bLink') && rng.chance(0.5) ? self : boundary(rng, w, w === 4 ? rd32(b, n + off) : w === 2 ? rd16(b, n + off) : b[n + off], v.nodes.length);
    wr(b, n + off, w, val);
    recipe.push(`${tag}.${name}=${val}`);
  } else if (pick === 1 && node.offset === v.nodes.find((x) => x.tree === node.tree)?.offset) {
    // header record of the header node
    const [name, off, w] = rng.pick([['treeDepth', 0, 2], ['rootNode', 2, 4], ['leafRecords', 6, 4], ['firstLeaf', 10, 4], ['lastLeaf', 14, 4], ['nodeSize', 18, 2], ['maxKeyLength', 20, 2], ['totalNodes', 22, 4], ['freeNodes', 26, 4], ['keyCompareType', 37, 1]] as const);
    const o = n + 14 + off;
    const val = name === 'nodeSize' ? BigInt(rng.pick([0, 1, 256, 512, 513, 4096, 32768, 65535])) : boundary(rng, w, w === 4 ? rd32(b, o) : w === 2 ? rd16(b, o) : b[o], v.nodes.length);
    wr(b, o, w, val);
    recipe.push(`${tag}.header.${name}=${val}`);
  } else if (pick === 2 || pick === 1) {
    const i = rng.int(numRecords + 1);
    const val = BigInt(rng.pick([0, 1, 13, 14, 15, size - 1, size, size + 2, 0xffff, recOff(Math.max(0, i - 1))]));
    wr(b, n + size - 2 * (i + 1), 2, val);
    recipe.push(`${tag}.recordOffset[${i}]=${val}`);
  } else {
    const i = rng.int(numRecords);
    const r = n + recOff(i);
    if (r + 8 > n + size) return b;
    const keyLen = rd16(b, r);
    if (pick === 3) {
      const val = BigInt(rng.pick([0, 1, 2, 5, 6, 255, 516, 0xffff, keyLen + 2]));
      wr(b, r, 2, val);
      recipe.push(`${tag}.rec[${i}].keyLength=${val}`);
    } else if (pick === 4 && kind === 0 && r + 2 + keyLen + 4 <= n + size) {
      // index record: the child pointer after the key
      const val = BigInt(rng.pick([0, 1, 0xffffffff, v.nodes.length + 5, node.index, Math.max(0, node.index - 1), rd32(b, n + recOff(0) + 2 + rd16(b, n + recOff(0)))]));
      wr(b, r + 2 + keyLen, 4, val);
      recipe.push(`${tag}.rec[${i}].child=${val}`);
    } else if (pick === 5 && node.tree === 'catalog' && keyLen >= 6) {
      // catalog key name: turn it into a path traversal or separators, keeping the lengths
      const nameLen = rd16(b, r + 6);
      const units = Math.min(nameLen, Math.floor((keyLen - 6) / 2));
      const pattern = rng.pick(['..', '../', '/', '..//etc/passwd', '\0', ':', '.', '/..', '\\..']);
      for (let u = 0; u < units; u++) wr(b, r + 8 + 2 * u, 2, BigInt(pattern.charCodeAt(u % pattern.length)));
      if (rng.chance(0.3) && units >= 2) {
        wr(b, r + 6, 2, 2n);
        wr(b, r + 8, 2, 0x2en);
        wr(b, r + 10, 2, 0x2en);
      }
      recipe.push(`${tag}.rec[${i}].name=${JSON.stringify(pattern)}*`);
    } else if (pick === 6 && node.tree === 'catalog' && kind === -1) {
      // catalog leaf data: record type, fork data (logical size, extents), link targets
      const d = r + 2 + keyLen + ((keyLen & 1) ? 1 : 0);
      if (d + 248 > n + size) return b;
      const type = rd16(b, d);
      if (type === 2 && rng.chance(0.8)) {
        const fork = rng.pick([88, 168]);
        const f = rng.int(3);
        const o = f === 0 ? d + fork : f === 1 ? d + fork + 12 : d + fork + 16 + rng.int(8) * 8 + rng.int(2) * 4;
        const w = f === 0 ? 8 : 4;
        const val = boundary(rng, w, w === 8 ? rd64(b, o) : rd32(b, o), b.length);
        wr(b, o, w, val);
        recipe.push(`${tag}.rec[${i}].file.${fork === 88 ? 'data' : 'rsrc'}.${['logicalSize', 'totalBlocks', 'extent'][f]}=${val}`);
      } else if (type === 1 && rng.chance(0.6)) {
        // a folder whose ID is its parent's (or the root's): listing it lists an ancestor again, a directory cycle
        const parent = rd32(b, r + 2);
        const val = BigInt(rng.chance(0.7) ? parent : 2);
        wr(b, d + 8, 4, val);
        recipe.push(`${tag}.rec[${i}].folderID=${val}`);
      } else if ((type === 3 || type === 4) && rng.chance(0.6)) {
        // a thread record pointing back at its own folder, or at the root
        const val = BigInt(rng.pick([rd32(b, r + 2), 1, 2, 0]));
        wr(b, d + 4, 4, val);
        recipe.push(`${tag}.rec[${i}].thread.parentID=${val}`);
      } else {
        const val = BigInt(rng.pick([0, 1, 2, 3, 4, 5, 0x7fff, 0xffff]));
        wr(b, d, 2, val);
        recipe.push(`${tag}.rec[${i}].recordType=${val}`);
      }
    } else if (pick === 7) {
      // Finder info / BSD info / flags region of a record: random field
      const o = r + 2 + keyLen + rng.int(Math.max(1, Math.min(200, n + size - (r + 2 + keyLen) - 4)));
      const val = boundary(rng, 4, rd32(b, o), b.length);
      wr(b, o, 4, val);
      recipe.push(`${tag}.rec[${i}].u32@${o - r}=${val}`);
    } else {
      const p = r + rng.int(Math.max(1, Math.min(64, n + size - r)));
      b[p] ^= 1 << rng.int(8);
      recipe.push(`${tag}.rec[${i}].flip(${p})`);
    }
  }
  return b;
}

// --- sparse image ------------------------------------------------------------------------------------------------

const SPARSE_FIELDS: readonly [string, number, 4 | 8][] = [
  ['version', 4, 4], ['sectorsPerBand', 8, 4], ['flags', 12, 4], ['totalSectors32', 16, 4], ['nextIndexNode', 20, 8], ['totalSectors64', 28, 8],
];

const sparseField: Op = (b, rng, seed, recipe) => {
  if (b.length < 4096 || ascii(b, 0, 4) !== 'sprs') return bitFlips(b, rng, seed, recipe);
  if (rng.chance(0.5)) {
    const [name, off, w] = rng.pick(SPARSE_FIELDS);
    const orig = w === 8 ? rd64(b, off) : rd32(b, off);
    const v = name === 'sectorsPerBand' ? BigInt(rng.pick([0, 1, 8, 63, 65, 2048, 1 << 21, 1 << 22, 0xffffffff])) : boundary(rng, w, orig, name === 'nextIndexNode' ? b.length : b.length / 512);
    wr(b, off, w, v);
    recipe.push(`sparse.${name}=${v}`);
  } else {
    // band slots: a band number past the disk, a duplicate, zero (absent), huge
    const used: number[] = [];
    for (let i = 0; i < 1008 && rd32(b, 64 + 4 * i) !== 0; i++) used.push(i);
    const i = used.length ? rng.pick(used) : 0;
    const v = BigInt(rng.pick([0, 1, 2, 0xffffffff, 0x80000000, used.length + 1, used.length + 100, rd32(b, 64 + 4 * rng.int(Math.max(1, used.length)))]));
    wr(b, 64 + 4 * i, 4, v);
    recipe.push(`sparse.band[${i}]=${v}`);
  }
  return b;
};

// ---------------------------------------------------------------------------------------------------------------

/** Re-wraps a (mutated) raw disk as a UDIF image with dmgkit's writer (zlib or raw chunks). */
export async function wrapUdif(disk: Uint8Array, rng: Rng, recipe: string[]): Promise<Uint8Array> {
  const useZlib = rng.chance(0.5);
  const chunkSectors = rng.pick([8, 64, 2048]);
  recipe.push(`writeUdifImage(${useZlib ? 'zlib' : 'raw'},${chunkSectors})`);
  const parts: Uint8Array[] = [];
  const padded = disk.length % 512 ? new Uint8Array(disk.length + 512 - (disk.length % 512)) : disk;
  if (padded !== disk) padded.set(disk);
  const opts = { chunkType: useZlib ? CHUNK_ZLIB : CHUNK_RAW, level: 1, chunkSectors, segmentId: new Uint8Array(16) };
  for await (const p of writeUdifImage(new BufferSource(padded), wholeDiskPlan(padded.length / 512), opts)) parts.push(p);
  return Buffer.concat(parts);
}

const UDIF_OPS: [Op, number][] = [[truncate, 1], [bitFlips, 2], [byteRun, 1], [insertDelete, 0.5], [kolyField, 3], [kolyPlace, 0.7], [xmlText, 3], [mishField, 4], [chunkData, 4]];
const SPARSE_OPS: [Op, number][] = [[truncate, 1], [bitFlips, 1], [byteRun, 0.5], [sparseField, 5]];
const RAW_OPS: [Op, number][] = [[truncate, 1], [bitFlips, 1.5], [byteRun, 1], [partitionMap, 3], [hfsField, 6]];

function pickOp(rng: Rng, ops: [Op, number][]): Op {
  const total = ops.reduce((s, [, w]) => s + w, 0);
  let x = (rng.u32() / 0x100000000) * total;
  for (const [op, w] of ops) if ((x -= w) < 0) return op;
  return ops[0][0];
}

/**
 * Builds mutant number `n` of a seed image. UDIF seeds with a decoded disk sometimes get a disk-level mutation
 * (partition map, HFS+) re-wrapped by the UDIF writer.
 */
export async function mutate(seed: FuzzSeed, n: number | string): Promise<Mutant> {
  const rng = new Rng(`${seed.name}/${n}`);
  const recipe: string[] = [];
  if (seed.decoded && rng.chance(0.3)) {
    const d = seed.decoded;
    let b: Uint8Array = d.bytes.slice();
    const steps = 1 + rng.int(3);
    recipe.push('decoded:');
    for (let i = 0; i < steps; i++) b = (rng.chance(0.5) ? partitionMap : hfsField)(b, rng, d, recipe);
    return { bytes: await wrapUdif(b, rng, recipe), recipe };
  }
  let b: Uint8Array = seed.bytes.slice();
  const steps = 1 + rng.int(rng.chance(0.7) ? 2 : 4);
  const ops = seed.kind === 'udif' ? UDIF_OPS : seed.kind === 'sparse' ? SPARSE_OPS : RAW_OPS;
  for (let i = 0; i < steps; i++) b = pickOp(rng, ops)(b, rng, seed, recipe);
  return { bytes: b, recipe };
}
