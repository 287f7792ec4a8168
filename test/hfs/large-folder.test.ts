/**
 * A valid HFSX volume with 140,000 files in one folder (a catalog of several thousand nodes, three levels, built
 * here from TN1150's layouts): `ls` once failed with "Maximum call stack size exceeded" (a spread of the whole
 * listing) and `ls -R` held every entry in memory. Listing streams now: the CLI lists them all (exit 0), and
 * `iterdir` yields them one at a time in catalog order.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openHfs } from '../../src/hfs/volume.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import { repoRoot } from '../helpers/fixtures.js';

const BLOCK = 4096;
const NODE = 8192;
const DATE = 1_600_000_000 + 2_082_844_800;
const put16 = (b: Uint8Array, o: number, v: number) => {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
};
const put32 = (b: Uint8Array, o: number, v: number) => {
  put16(b, o, v >>> 16);
  put16(b, o + 2, v & 0xffff);
};
function key(parent: number, name: string): Uint8Array {
  const k = new Uint8Array(8 + 2 * name.length);
  put16(k, 0, 6 + 2 * name.length);
  put32(k, 2, parent);
  put16(k, 6, name.length);
  for (let i = 0; i < name.length; i++) put16(k, 8 + 2 * i, name.charCodeAt(i));
  return k;
}
function folder(cnid: number, valence: number): Uint8Array {
  const d = new Uint8Array(88);
  put16(d, 0, 1);
  put32(d, 4, valence);
  put32(d, 8, cnid);
  for (let k = 12; k < 32; k += 4) put32(d, k, DATE);
  put16(d, 42, 0o40755);
  return d;
}
function file(cnid: number): Uint8Array {
  const d = new Uint8Array(248);
  put16(d, 0, 2);
  put32(d, 8, cnid);
  for (let k = 12; k < 32; k += 4) put32(d, k, DATE);
  put16(d, 42, 0o100644);
  return d;
}
function thread(parent: number, name: string): Uint8Array {
  const d = new Uint8Array(10 + 2 * name.length);
  put16(d, 0, 3);
  put32(d, 4, parent);
  put16(d, 8, name.length);
  for (let i = 0; i < name.length; i++) put16(d, 10 + 2 * i, name.charCodeAt(i));
  return d;
}

/** Packs [key, data] records (sorted) into nodes of one level; returns the nodes and each node's first key. */
function packLevel(records: [Uint8Array, Uint8Array][], kind: number, height: number, firstNode: number): { nodes: Uint8Array[]; firsts: Uint8Array[] } {
  const nodes: Uint8Array[] = [];
  const firsts: Uint8Array[] = [];
  let cur: Uint8Array | null = null;
  let o = 0;
  let count = 0;
  const close = () => {
    if (!cur) return;
    put16(cur, 10, count);
    put16(cur, NODE - 2 * (count + 1), o);
  };
  for (const [k, d] of records) {
    const len = k.length + d.length + (d.length & 1);
    if (!cur || o + len > NODE - 2 * (count + 2)) {
      close();
      cur = new Uint8Array(NODE);
      cur[8] = kind;
      cur[9] = height;
      nodes.push(cur);
      firsts.push(k);
      o = 14;
      count = 0;
    }
    put16(cur, NODE - 2 * (count + 1), o);
    cur.set(k, o);
    cur.set(d, o + k.length);
    o += len;
    count++;
  }
  close();
  // sibling links (node numbers are consecutive from firstNode)
  nodes.forEach((n, i) => {
    put32(n, 0, i + 1 < nodes.length ? firstNode + i + 1 : 0);
    put32(n, 4, i > 0 ? firstNode + i - 1 : 0);
  });
  return { nodes, firsts };
}

function bigFolderVolume(files: number): Uint8Array {
  const names: string[] = [];
  for (let i = 0; i < files; i++) names.push(`f${String(i).padStart(6, '0')}`);
  const recs: [Uint8Array, Uint8Array][] = [
    [key(1, 'Big'), folder(2, 1)],
    [key(2, ''), thread(1, 'Big')],
    [key(2, 'big'), folder(16, files)],
    [key(16, ''), thread(2, 'big')],
    ...names.map((n, i): [Uint8Array, Uint8Array] => [key(16, n), file(17 + i)]),
  ];
  // node 0 is the header; leaves from 1, then each index level above
  const levels: Uint8Array[][] = [];
  let level = packLevel(recs, 0xff, 1, 1);
  levels.push(level.nodes);
  let next = 1 + level.nodes.length;
  let height = 1;
  while (level.nodes.length > 1) {
    const first = next - level.nodes.length;
    const ptrs = level.firsts.map((k, i): [Uint8Array, Uint8Array] => {
      const p = new Uint8Array(4);
      put32(p, 0, first + i);
      return [k, p];
    });
    level = packLevel(ptrs, 0, ++height, next);
    levels.push(level.nodes);
    next += level.nodes.length;
  }
  const total = next;
  const cat = new Uint8Array(total * NODE);
  const h = cat;
  h[8] = 1;
  put16(h, 10, 3);
  put16(h, 14, height);
  put32(h, 16, total - 1); // root: the single node of the top level
  put32(h, 20, recs.length);
  put32(h, 24, 1);
  put32(h, 28, levels[0].length);
  put16(h, 32, NODE);
  put16(h, 34, 516);
  put32(h, 36, total);
  put32(h, 40, 0);
  h[51] = 0xbc; // HFSX binary compare
  put32(h, 52, 6); // big keys | variable index keys
  for (let i = 0; i < total; i++) h[248 + (i >> 3)] |= 0x80 >> (i & 7);
  for (const [i, o] of [14, 120, 248, NODE - 8].entries()) put16(h, NODE - 2 * (i + 1), o);
  let at = NODE;
  for (const lv of levels) for (const n of lv) (cat.set(n, at), (at += NODE));

  const catStart = 1;
  const catBlocks = cat.length / BLOCK;
  const totalBlocks = catStart + catBlocks + 1;
  const img = new Uint8Array(totalBlocks * BLOCK);
  img.set(cat, catStart * BLOCK);
  const vh = 1024;
  img[vh] = 0x48; // 'HX'
  img[vh + 1] = 0x58;
  put16(img, vh + 2, 5);
  put32(img, vh + 4, 0x100);
  for (let k = 16; k < 32; k += 4) put32(img, vh + k, DATE);
  put32(img, vh + 32, files);
  put32(img, vh + 36, 1);
  put32(img, vh + 40, BLOCK);
  put32(img, vh + 44, totalBlocks);
  put32(img, vh + 64, 17 + files);
  put32(img, vh + 272 + 4, cat.length); // catalog logicalSize
  put32(img, vh + 272 + 12, catBlocks);
  put32(img, vh + 272 + 16, catStart);
  put32(img, vh + 272 + 20, catBlocks);
  img.set(img.subarray(vh, vh + 512), img.length - 1024);
  return img;
}

const base = mkdtempSync(join(tmpdir(), 'dmgkit-bigdir-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const N = 140_000;

describe('a folder of 140,000 files', () => {
  it('ls lists every file (exit 0), ls -R too; iterdir streams them in order', async () => {
    const bytes = bigFolderVolume(N);
    const vol = await openHfs(new BufferSource(bytes));
    let count = 0;
    let last = '';
    for await (const e of vol.iterdir('big')) {
      expect(e.name > last).toBe(true);
      last = e.name;
      count++;
    }
    expect(count).toBe(N);
    const path = join(base, 'big.hfs');
    writeFileSync(path, bytes);
    const cli = (...a: string[]) =>
      spawnSync(process.execPath, [join(repoRoot, 'dist/cli/main.js'), ...a], { encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 28 });
    const ls = cli('ls', path, '/big');
    expect(ls.stderr).toBe('');
    expect(ls.status).toBe(0);
    const lines = ls.stdout.split('\n').filter(Boolean);
    expect(lines.length).toBe(N);
    expect(lines[0]).toBe('f000000');
    expect(lines[N - 1]).toBe(`f${String(N - 1).padStart(6, '0')}`);
    const r = cli('ls', '-R', path);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).length).toBe(N + 1);
  }, 240_000);
});
