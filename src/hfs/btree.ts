import { DmgkitError } from '../errors.js';
import type { Limits } from '../limits.js';
import { u16be, u32be } from '../util/bytes.js';
import type { Fork } from './fork.js';
import { Lru } from './lru.js';

/**
 * The generic HFS+ B-tree reader (TN1150 "B-Trees"): header node, node descriptors, record offset tables,
 * index descent and leaf chains. Used by the catalog, extents-overflow and attributes trees. Every node number
 * is range-checked, every walk bounded by Limits.maxTreeNodesVisited, and fLink/child cycles are CORRUPT_FS
 * errors naming the tree and node.
 */

/** BTNodeDescriptor (14 bytes). */
const ND = { fLink: 0, bLink: 4, kind: 8, height: 9, numRecords: 10, size: 14 } as const;
export const KIND_LEAF = -1;
export const KIND_INDEX = 0;
export const KIND_HEADER = 1;
export const KIND_MAP = 2;

/** BTHeaderRec (at 14 in node 0). */
const HR = {
  treeDepth: 14,
  rootNode: 16,
  leafRecords: 20,
  firstLeafNode: 24,
  lastLeafNode: 28,
  nodeSize: 32,
  maxKeyLength: 34,
  totalNodes: 36,
  freeNodes: 40,
  btreeType: 50,
  keyCompareType: 51,
  attributes: 52,
} as const;
export const BT_BIG_KEYS = 0x2;
export const BT_VARIABLE_INDEX_KEYS = 0x4;
/** Deepest tree accepted (HFS+ trees are at most 8 or so levels in practice). */
const MAX_TREE_DEPTH = 32;

export interface BTreeHeader {
  treeDepth: number;
  rootNode: number;
  leafRecords: number;
  firstLeafNode: number;
  lastLeafNode: number;
  nodeSize: number;
  maxKeyLength: number;
  totalNodes: number;
  freeNodes: number;
  btreeType: number;
  keyCompareType: number;
  attributes: number;
}

export interface BNode {
  readonly num: number;
  readonly fLink: number;
  readonly bLink: number;
  readonly kind: number;
  readonly height: number;
  readonly numRecords: number;
  readonly data: Uint8Array;
  /** numRecords+1 offsets: record i spans [offsets[i], offsets[i+1]). */
  readonly offsets: Uint16Array;
}

/** Compares the key stored at buf[keyOff, keyOff+keyLen) (after its length field) with a search key. */
export type KeyCompare<K> = (buf: Uint8Array, keyOff: number, keyLen: number, key: K) => number;

/** A located record: its node and index, with key and data spans. */
export interface RecordRef {
  node: BNode;
  index: number;
  keyOff: number;
  keyLen: number;
  dataOff: number;
  dataEnd: number;
}

/** A per-operation visit counter. */
export class Visits {
  n = 0;
  constructor(
    readonly max: number,
    readonly tree: string,
  ) {}
  tick(): void {
    if (++this.n > this.max) {
      throw new DmgkitError('LIMIT_EXCEEDED', `${this.tree} B-tree: more than ${this.max} nodes visited by one operation`, {
        tree: this.tree,
      });
    }
  }
}

/** Nodes read at once when following the leaf chain (a listing reads the leaves in order). */
const LEAF_READAHEAD_BYTES = 128 * 1024;

export class BTree<K> {
  private readonly cache = new Lru<number, BNode>(256);
  /** The last read-ahead window: raw bytes of nodes [windowFirst, windowFirst + windowCount). */
  private window: Uint8Array | null = null;
  private windowFirst = 0;
  private windowCount = 0;
  private constructor(
    readonly name: string,
    private readonly fork: Fork,
    readonly header: BTreeHeader,
    private readonly compare: KeyCompare<K>,
    private readonly limits: Limits,
  ) {}

  /** Opens a tree; `compare` may be chosen from the header (the catalog's keyCompareType). */
  static async open<K>(
    name: string,
    fork: Fork,
    compare: KeyCompare<K> | ((h: BTreeHeader) => KeyCompare<K>),
    limits: Limits,
    isFactory = false,
  ): Promise<BTree<K>> {
    const fail = (msg: string) => new DmgkitError('CORRUPT_FS', `${name} B-tree header node: ${msg}`, { tree: name, node: 0 });
    if (fork.size < 512) throw fail(`tree file is ${fork.size} bytes, smaller than one 512-byte node`);
    const first = await fork.read(0, 512);
    const kind = (first[ND.kind] << 24) >> 24;
    if (kind !== KIND_HEADER) throw fail(`node 0 has kind ${kind}, not a header node (1)`);
    const h: BTreeHeader = {
      treeDepth: u16be(first, HR.treeDepth),
      rootNode: u32be(first, HR.rootNode),
      leafRecords: u32be(first, HR.leafRecords),
      firstLeafNode: u32be(first, HR.firstLeafNode),
      lastLeafNode: u32be(first, HR.lastLeafNode),
      nodeSize: u16be(first, HR.nodeSize),
      maxKeyLength: u16be(first, HR.maxKeyLength),
      totalNodes: u32be(first, HR.totalNodes),
      freeNodes: u32be(first, HR.freeNodes),
      btreeType: first[HR.btreeType],
      keyCompareType: first[HR.keyCompareType],
      attributes: u32be(first, HR.attributes),
    };
    const ns = h.nodeSize;
    if (ns < 512 || ns > 32768 || (ns & (ns - 1)) !== 0) throw fail(`node size ${ns} is not a power of two in 512..32768`);
    if (ns > limits.maxNodeBytes) {
      throw new DmgkitError('LIMIT_EXCEEDED', `${name} B-tree: node size ${ns} exceeds the limit of ${limits.maxNodeBytes}`, { tree: name });
    }
    if (h.totalNodes === 0 || h.totalNodes * ns > fork.size) {
      throw fail(`${h.totalNodes} nodes of ${ns} bytes do not fit in the ${fork.size}-byte tree file`);
    }
    if (h.treeDepth > MAX_TREE_DEPTH) throw fail(`tree depth ${h.treeDepth} is absurd`);
    if (h.rootNode >= h.totalNodes) throw fail(`root node ${h.rootNode} is out of range (${h.totalNodes} nodes)`);
    if (h.treeDepth > 0 && h.rootNode === 0) throw fail(`tree depth ${h.treeDepth} with root node 0`);
    if (h.firstLeafNode >= h.totalNodes) throw fail(`first leaf node ${h.firstLeafNode} is out of range`);
    if ((h.attributes & BT_BIG_KEYS) === 0) throw fail(`attributes 0x${h.attributes.toString(16)} lack kBTBigKeysMask (HFS+ trees use 16-bit key lengths)`);
    const cmp = isFactory ? (compare as (h: BTreeHeader) => KeyCompare<K>)(h) : (compare as KeyCompare<K>);
    return new BTree(name, fork, h, cmp, limits);
  }

  get isEmpty(): boolean {
    return this.header.treeDepth === 0 || this.header.rootNode === 0;
  }

  newVisits(): Visits {
    return new Visits(this.limits.maxTreeNodesVisited, this.name);
  }

  private fail(node: number, msg: string): DmgkitError {
    return new DmgkitError('CORRUPT_FS', `${this.name} B-tree node ${node}: ${msg}`, { tree: this.name, node });
  }

  /**
   * Reads and validates node `num` (cached). With `readAhead`, a miss reads the following nodes too (up to
   * LEAF_READAHEAD_BYTES, within the tree file), kept raw until asked for: one read per window, not per node.
   */
  async node(num: number, visits: Visits, readAhead = false): Promise<BNode> {
    visits.tick();
    if (!Number.isInteger(num) || num <= 0 || num >= this.header.totalNodes) {
      throw this.fail(num, `node number out of range (1..${this.header.totalNodes - 1})`);
    }
    const hit = this.cache.get(num);
    if (hit) return hit;
    const ns = this.header.nodeSize;
    let data: Uint8Array;
    if (this.window && num >= this.windowFirst && num < this.windowFirst + this.windowCount) {
      const o = (num - this.windowFirst) * ns;
      data = this.window.slice(o, o + ns); // a copy: a cached node must not pin the whole window
    } else if (readAhead) {
      const count = Math.max(1, Math.min(Math.floor(LEAF_READAHEAD_BYTES / ns), this.header.totalNodes - num, Math.floor(this.fork.size / ns) - num));
      this.window = await this.fork.read(num * ns, count * ns);
      this.windowFirst = num;
      this.windowCount = count;
      data = this.window.slice(0, ns);
    } else {
      data = await this.fork.read(num * ns, ns);
    }
    const kind = (data[ND.kind] << 24) >> 24;
    const height = data[ND.height];
    const numRecords = u16be(data, ND.numRecords);
    if (kind !== KIND_LEAF && kind !== KIND_INDEX && kind !== KIND_HEADER && kind !== KIND_MAP) {
      throw this.fail(num, `unknown node kind ${kind}`);
    }
    const tableBytes = 2 * (numRecords + 1);
    if (ND.size + tableBytes > ns) throw this.fail(num, `${numRecords} records cannot fit in a ${ns}-byte node`);
    const offsets = new Uint16Array(numRecords + 1);
    let prev = ND.size - 1;
    const limit = ns - tableBytes;
    for (let i = 0; i <= numRecords; i++) {
      const o = u16be(data, ns - 2 * (i + 1));
      if (o <= prev) throw this.fail(num, `record offset ${i} (${o}) is not after the previous one (${prev})`);
      if (o > limit) throw this.fail(num, `record offset ${i} (${o}) runs into the offset table (limit ${limit})`);
      offsets[i] = o;
      prev = o;
    }
    const n: BNode = { num, fLink: u32be(data, ND.fLink), bLink: u32be(data, ND.bLink), kind, height, numRecords, data, offsets };
    this.cache.set(num, n);
    return n;
  }

  /** The key and data spans of record i of a leaf or index node. */
  record(node: BNode, i: number): RecordRef {
    return this.recordInto(node, i, { node, index: i, keyOff: 0, keyLen: 0, dataOff: 0, dataEnd: 0 });
  }

  /** record(), filling `out` instead of allocating. */
  private recordInto(node: BNode, i: number, out: RecordRef): RecordRef {
    const start = node.offsets[i];
    const end = node.offsets[i + 1];
    if (end - start < 2) throw this.fail(node.num, `record ${i} is too short for its key length`);
    let keyLen = u16be(node.data, start);
    if (node.kind === KIND_INDEX && (this.header.attributes & BT_VARIABLE_INDEX_KEYS) === 0) keyLen = this.header.maxKeyLength;
    if (keyLen > this.header.maxKeyLength && this.header.maxKeyLength > 0) {
      throw this.fail(node.num, `record ${i} key length ${keyLen} exceeds the tree's maximum ${this.header.maxKeyLength}`);
    }
    const keyOff = start + 2;
    let dataOff = keyOff + keyLen;
    if (dataOff & 1) dataOff++;
    if (dataOff > end) throw this.fail(node.num, `record ${i} key (${keyLen} bytes) overruns the record (${end - start} bytes)`);
    out.node = node;
    out.index = i;
    out.keyOff = keyOff;
    out.keyLen = keyLen;
    out.dataOff = dataOff;
    out.dataEnd = end;
    return out;
  }

  /** Child pointer of an index record. */
  childOf(r: RecordRef): number {
    if (r.dataEnd - r.dataOff < 4) throw this.fail(r.node.num, `index record ${r.index} has no child pointer`);
    return u32be(r.node.data, r.dataOff);
  }

  /**
   * Descends to the leaf where `key` is or would be. Returns the leaf and the index of the last record whose key
   * is ≤ key (−1 if the key sorts before every record in that leaf).
   */
  async seek(key: K, visits: Visits, readAheadLeaf = false): Promise<{ leaf: BNode; index: number } | null> {
    if (this.isEmpty) return null;
    let num = this.header.rootNode;
    let expectHeight = this.header.treeDepth;
    for (let level = 0; ; level++) {
      if (level > MAX_TREE_DEPTH) throw this.fail(num, 'index descent deeper than the tree depth allows');
      const node = await this.node(num, visits, readAheadLeaf && expectHeight === 1);
      if (node.height !== expectHeight && expectHeight > 0) {
        throw this.fail(num, `height ${node.height} where ${expectHeight} was expected on the way down`);
      }
      if (node.numRecords === 0) throw this.fail(num, 'node on the search path has no records');
      const idx = this.lastLE(node, key);
      if (node.kind === KIND_LEAF) {
        if (expectHeight !== 1) throw this.fail(num, `leaf reached at height ${expectHeight}`);
        return { leaf: node, index: idx };
      }
      if (node.kind !== KIND_INDEX) throw this.fail(num, `node of kind ${node.kind} on the search path (expected index or leaf)`);
      if (expectHeight <= 1) throw this.fail(num, 'index node at leaf height');
      const child = this.childOf(this.record(node, Math.max(0, idx)));
      num = child;
      expectHeight--;
    }
  }

  /** Binary search: index of the last record with key ≤ search key, or −1. */
  private lastLE(node: BNode, key: K): number {
    let lo = 0;
    let hi = node.numRecords - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.record(node, mid);
      const c = this.compare(node.data, r.keyOff, r.keyLen, key);
      if (c <= 0) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  /** The leaf following `leaf` in the chain, checking for cycles and node kinds. */
  async nextLeaf(leaf: BNode, visits: Visits, seen: Set<number>): Promise<BNode | null> {
    const next = leaf.fLink;
    if (next === 0) return null;
    if (seen.has(next) || next === leaf.num) {
      throw this.fail(leaf.num, `leaf chain loops back to node ${next}`);
    }
    seen.add(next);
    if (seen.size > this.header.totalNodes) throw this.fail(next, 'leaf chain longer than the tree');
    const n = await this.node(next, visits, true);
    if (n.kind !== KIND_LEAF) throw this.fail(next, `kind ${n.kind} in the leaf chain (expected leaf, −1)`);
    if (n.bLink !== leaf.num) {
      throw this.fail(next, `bLink ${n.bLink} does not point back to node ${leaf.num}, whose fLink leads here (broken or looping leaf chain)`);
    }
    return n;
  }

  /**
   * Iterates leaf records from the first record with key ≥ `key` (or from the very first leaf when key is
   * null), following fLinks. The consumer stops by returning.
   */
  async *from(key: K | null, visits: Visits = this.newVisits()): AsyncGenerator<RecordRef> {
    if (this.isEmpty) return;
    let leaf: BNode | null;
    let i: number;
    if (key === null) {
      leaf = await this.node(this.header.firstLeafNode, visits);
      if (leaf.kind !== KIND_LEAF) throw this.fail(leaf.num, `first leaf node has kind ${leaf.kind}`);
      i = 0;
    } else {
      const s = await this.seek(key, visits, true);
      if (!s) return;
      leaf = s.leaf;
      i = s.index;
      if (i >= 0) {
        const r = this.record(leaf, i);
        if (this.compare(leaf.data, r.keyOff, r.keyLen, key) < 0) i++;
      } else i = 0;
    }
    const seen = new Set<number>([leaf.num]);
    while (leaf) {
      for (; i < leaf.numRecords; i++) yield this.record(leaf, i);
      leaf = await this.nextLeaf(leaf, visits, seen);
      i = 0;
    }
  }

  /**
   * Like `from(key)`, without a generator: calls `visit` for each leaf record from the first with key ≥ `key`
   * until it returns false (or the leaves end). Only reading the next leaf awaits, so a scan of a folder's
   * records costs no promise per record. The RecordRef passed is reused: `visit` must not keep it.
   */
  async scan(key: K, visit: (r: RecordRef) => boolean, visits: Visits = this.newVisits()): Promise<void> {
    const s = await this.seek(key, visits, true);
    if (!s) return;
    let leaf: BNode | null = s.leaf;
    let i = s.index;
    if (i >= 0) {
      const r = this.record(leaf, i);
      if (this.compare(leaf.data, r.keyOff, r.keyLen, key) < 0) i++;
    } else i = 0;
    const seen = new Set<number>([leaf.num]);
    const ref: RecordRef = { node: leaf, index: 0, keyOff: 0, keyLen: 0, dataOff: 0, dataEnd: 0 };
    while (leaf) {
      for (; i < leaf.numRecords; i++) {
        this.recordInto(leaf, i, ref);
        if (!visit(ref)) return;
      }
      leaf = await this.nextLeaf(leaf, visits, seen);
      i = 0;
    }
  }

  /** Exact lookup: the leaf record whose key compares equal, or null. */
  async find(key: K, visits: Visits = this.newVisits()): Promise<RecordRef | null> {
    const s = await this.seek(key, visits);
    if (!s || s.index < 0) return null;
    const r = this.record(s.leaf, s.index);
    return this.compare(s.leaf.data, r.keyOff, r.keyLen, key) === 0 ? r : null;
  }
}
