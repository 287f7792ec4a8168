/**
 * Test-only builder of tiny HFSX volumes (binary key order, so records sort by plain UTF-16 comparison), written
 * from TN1150's layouts independently of the reader: volume header, a catalog B-tree (header node + one leaf),
 * an optional attributes B-tree with inline records, and file data in whole blocks.
 */
export const BLOCK = 4096;
export const NODE = 8192;

export interface BFolder {
  kind: 'folder';
  parent: number;
  name: string;
  cnid: number;
  mode?: number;
}
export interface BFile {
  kind: 'file';
  parent: number;
  name: string;
  cnid: number;
  mode?: number;
  ownerFlags?: number;
  special?: number;
  type?: string;
  creator?: string;
  data?: Uint8Array;
  rsrc?: Uint8Array;
}
export type BItem = BFolder | BFile;
export interface BAttr {
  cnid: number;
  name: string;
  value: Uint8Array;
}

const put16 = (b: Uint8Array, o: number, v: number) => {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
};
const put32 = (b: Uint8Array, o: number, v: number) => {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
};
const units = (s: string) => [...s].flatMap((c) => {
  const u: number[] = [];
  for (let i = 0; i < c.length; i++) u.push(c.charCodeAt(i));
  return u;
});
const DATE = 1_600_000_000 + 2_082_844_800;

function catKey(parent: number, name: number[]): Uint8Array {
  const k = new Uint8Array(2 + 6 + 2 * name.length);
  put16(k, 0, 6 + 2 * name.length);
  put32(k, 2, parent);
  put16(k, 6, name.length);
  name.forEach((c, i) => put16(k, 8 + 2 * i, c));
  return k;
}
function cmpUnits(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
function forkData(b: Uint8Array, o: number, size: number, start: number, blocks: number): void {
  put32(b, o + 4, size); // logicalSize (low 32 bits)
  put32(b, o + 12, blocks);
  put32(b, o + 16, start);
  put32(b, o + 20, blocks);
}

/** One B-tree file: header node + one leaf holding `records` ([key, data] sorted). */
function tree(records: [Uint8Array, Uint8Array][], maxKeyLength: number, compareType: number): Uint8Array {
  const t = new Uint8Array(2 * NODE);
  // header node
  t[8] = 1;
  put16(t, 10, 3);
  put16(t, 14, 1); // depth
  put32(t, 16, 1); // root
  put32(t, 20, records.length);
  put32(t, 24, 1);
  put32(t, 28, 1);
  put16(t, 32, NODE);
  put16(t, 34, maxKeyLength);
  put32(t, 36, 2);
  put32(t, 40, 0);
  t[51] = compareType;
  put32(t, 52, 6); // big keys | variable index keys
  t[248] = 0xc0; // map: nodes 0 and 1 in use
  for (const [i, o] of [14, 120, 248, NODE - 8].entries()) put16(t, NODE - 2 * (i + 1), o);
  // leaf node
  const L = NODE;
  t[L + 8] = 0xff;
  t[L + 9] = 1;
  put16(t, L + 10, records.length);
  let o = 14;
  records.forEach(([k, d], i) => {
    put16(t, L + NODE - 2 * (i + 1), o);
    t.set(k, L + o);
    o += k.length;
    if (o & 1) o++;
    t.set(d, L + o);
    o += d.length;
    if (o & 1) o++;
  });
  put16(t, L + NODE - 2 * (records.length + 1), o);
  if (o > NODE - 2 * (records.length + 1)) throw new Error('builder: leaf overflow');
  return t;
}

export interface BuildOptions {
  volumeName?: string;
  /**
   * Store the catalog file in two pieces: its first block where it would be, the rest at the end of the volume,
   * described by an extents-overflow record (fileID 4) in an extents B-tree.
   */
  splitCatalog?: boolean;
}

export function buildHfsx(items: BItem[], attrs: BAttr[] = [], opts: BuildOptions = {}): Uint8Array {
  const volumeName = opts.volumeName ?? 'Built';
  const blocksFor = (n: number) => Math.ceil(n / BLOCK);
  const catBlocks = blocksFor(2 * NODE);
  let next = 1;
  const catStart = next;
  next += opts.splitCatalog ? 1 : catBlocks;
  const extStart = next;
  if (opts.splitCatalog) next += blocksFor(2 * NODE);
  const attrStart = next;
  if (attrs.length) next += blocksFor(2 * NODE);
  const placed = new Map<BFile, { d: number; r: number }>();
  for (const it of items) {
    if (it.kind !== 'file') continue;
    const d = next;
    next += blocksFor(it.data?.length ?? 0);
    const r = next;
    next += blocksFor(it.rsrc?.length ?? 0);
    placed.set(it, { d, r });
  }
  const catTail = next;
  if (opts.splitCatalog) next += catBlocks - 1;
  const totalBlocks = next + 1;
  const img = new Uint8Array(totalBlocks * BLOCK);

  const recs: [number[], number, Uint8Array, Uint8Array][] = [];
  const thread = (type: number, cnid: number, parent: number, name: number[]) => {
    const d = new Uint8Array(10 + 2 * name.length);
    put16(d, 0, type);
    put32(d, 4, parent);
    put16(d, 8, name.length);
    name.forEach((c, i) => put16(d, 10 + 2 * i, c));
    recs.push([[], cnid, catKey(cnid, []), d]);
  };
  const root: BFolder = { kind: 'folder', parent: 1, name: volumeName, cnid: 2 };
  for (const it of [root, ...items]) {
    const name = units(it.name);
    if (it.kind === 'folder') {
      const d = new Uint8Array(88);
      put16(d, 0, 1);
      put32(d, 4, items.filter((x) => x.parent === it.cnid).length);
      put32(d, 8, it.cnid);
      for (let k = 12; k < 32; k += 4) put32(d, k, DATE);
      put16(d, 42, it.mode ?? 0o40755);
      recs.push([name, it.parent, catKey(it.parent, name), d]);
      thread(3, it.cnid, it.parent, name);
    } else {
      const d = new Uint8Array(248);
      put16(d, 0, 2);
      put32(d, 8, it.cnid);
      for (let k = 12; k < 32; k += 4) put32(d, k, DATE);
      d[41] = it.ownerFlags ?? 0;
      put16(d, 42, it.mode ?? 0o100644);
      put32(d, 44, it.special ?? 0);
      const fourcc = (s: string, o: number) => [...s].forEach((c, i) => (d[o + i] = c.charCodeAt(0)));
      fourcc(it.type ?? '\0\0\0\0', 48);
      fourcc(it.creator ?? '\0\0\0\0', 52);
      const p = placed.get(it)!;
      const dl = it.data?.length ?? 0;
      const rl = it.rsrc?.length ?? 0;
      if (dl) {
        forkData(d, 88, dl, p.d, blocksFor(dl));
        img.set(it.data!, p.d * BLOCK);
      }
      if (rl) {
        forkData(d, 168, rl, p.r, blocksFor(rl));
        img.set(it.rsrc!, p.r * BLOCK);
      }
      recs.push([name, it.parent, catKey(it.parent, name), d]);
    }
  }
  recs.sort((a, b) => (a[1] !== b[1] ? a[1] - b[1] : cmpUnits(a[0], b[0])));
  const cat = tree(recs.map((r) => [r[2], r[3]]), 516, 0xbc);
  if (opts.splitCatalog) {
    img.set(cat.subarray(0, BLOCK), catStart * BLOCK);
    img.set(cat.subarray(BLOCK), catTail * BLOCK);
    const k = new Uint8Array(12);
    put16(k, 0, 10);
    k[2] = 0; // data fork
    put32(k, 4, 4); // catalog file
    put32(k, 8, 1); // starts at file block 1
    const d = new Uint8Array(64);
    put32(d, 0, catTail);
    put32(d, 4, catBlocks - 1);
    const ext = tree([[k, d]], 10, 0);
    put32(ext, 52, 2); // extents tree: big keys only, fixed-size index keys
    img.set(ext, extStart * BLOCK);
  } else {
    img.set(cat, catStart * BLOCK);
  }

  if (attrs.length) {
    const ar = attrs
      .map((a) => {
        const n = units(a.name);
        const k = new Uint8Array(2 + 12 + 2 * n.length);
        put16(k, 0, 12 + 2 * n.length);
        put32(k, 4, a.cnid);
        put16(k, 12, n.length);
        n.forEach((c, i) => put16(k, 14 + 2 * i, c));
        const d = new Uint8Array(16 + a.value.length);
        put32(d, 0, 0x10);
        put32(d, 12, a.value.length);
        d.set(a.value, 16);
        return { a, n, k, d };
      })
      .sort((x, y) => (x.a.cnid !== y.a.cnid ? x.a.cnid - y.a.cnid : cmpUnits(x.n, y.n)));
    img.set(tree(ar.map((r) => [r.k, r.d]), 266, 0), attrStart * BLOCK);
  }

  const vh = 1024;
  img[vh] = 0x48; // 'HX'
  img[vh + 1] = 0x58;
  put16(img, vh + 2, 5);
  put32(img, vh + 4, 0x100);
  for (let k = 16; k < 32; k += 4) put32(img, vh + k, DATE);
  put32(img, vh + 32, items.filter((i) => i.kind === 'file').length);
  put32(img, vh + 36, items.filter((i) => i.kind === 'folder').length);
  put32(img, vh + 40, BLOCK);
  put32(img, vh + 44, totalBlocks);
  put32(img, vh + 64, 100);
  forkData(img, vh + 272, 2 * NODE, catStart, opts.splitCatalog ? 1 : catBlocks);
  if (opts.splitCatalog) {
    put32(img, vh + 272 + 12, catBlocks); // totalBlocks covers the overflow extent too
    forkData(img, vh + 192, 2 * NODE, extStart, blocksFor(2 * NODE));
  }
  if (attrs.length) forkData(img, vh + 352, 2 * NODE, attrStart, blocksFor(2 * NODE));
  img.set(img.subarray(vh, vh + 512), img.length - 1024);
  return img;
}

/** decmpfs xattr value: 'cmpf' header (little-endian) + payload. */
export function decmpfs(type: number, size: number, payload: Uint8Array): Uint8Array {
  const v = new Uint8Array(16 + payload.length);
  v.set([0x66, 0x70, 0x6d, 0x63], 0);
  v[4] = type;
  v[8] = size & 0xff;
  v[9] = (size >>> 8) & 0xff;
  v[10] = (size >>> 16) & 0xff;
  v[11] = (size >>> 24) & 0xff;
  v.set(payload, 16);
  return v;
}
