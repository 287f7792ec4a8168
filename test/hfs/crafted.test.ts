import { lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractVolume } from '../../src/extract/extract.js';
import { openHfs } from '../../src/hfs/volume.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import { buildHfsx, decmpfs, type BItem } from './builder.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const PRIV = '\0\0\0\0HFS+ Private Data';
const PRIVDIR = '.HFS+ Private Directory Data\r';

/** A hand-made HFSX volume exercising what the fixtures lack. */
function volume(splitCatalog = false): Uint8Array {
  const items: BItem[] = [
    { kind: 'folder', parent: 2, name: PRIV, cnid: 16 },
    { kind: 'file', parent: 16, name: 'iNode30', cnid: 30, data: enc('hard link content'), special: 2 },
    { kind: 'folder', parent: 2, name: PRIVDIR, cnid: 17 },
    { kind: 'folder', parent: 17, name: 'dir_40', cnid: 40 },
    { kind: 'file', parent: 40, name: 'inside.txt', cnid: 41, data: enc('inside a linked directory') },
    { kind: 'file', parent: 40, name: 'loop', cnid: 42, type: 'fdrp', creator: 'MACS', special: 40 },
    { kind: 'folder', parent: 2, name: 'a', cnid: 18 },
    { kind: 'file', parent: 18, name: 'dlink', cnid: 19, type: 'fdrp', creator: 'MACS', special: 40 },
    { kind: 'file', parent: 18, name: 'dlink2', cnid: 20, type: 'fdrp', creator: 'MACS', special: 40 },
    { kind: 'file', parent: 2, name: 'h1', cnid: 21, type: 'hlnk', creator: 'hfs+', special: 30 },
    { kind: 'file', parent: 2, name: 'h2', cnid: 31, type: 'hlnk', creator: 'hfs+', special: 30 },
    { kind: 'file', parent: 2, name: 'raw1.txt', cnid: 22, ownerFlags: 0x20 },
    { kind: 'file', parent: 2, name: 'raw9.txt', cnid: 23, ownerFlags: 0x20 },
    { kind: 'file', parent: 2, name: 'evil:name', cnid: 24, data: enc('colon in the catalog') },
    { kind: 'file', parent: 2, name: 'fifo', cnid: 25, mode: 0o010644 },
    { kind: 'file', parent: 2, name: 'suid', cnid: 26, mode: 0o104755, data: enc('#!/bin/sh\n') },
    { kind: 'file', parent: 2, name: 'nomode', cnid: 27, mode: 0, data: enc('x') },
    { kind: 'file', parent: 2, name: 'lzbitmap', cnid: 28, ownerFlags: 0x20 },
    { kind: 'file', parent: 2, name: '.journal', cnid: 32, data: enc('a user file, not the journal') },
    { kind: 'file', parent: 2, name: 'abs', cnid: 29, mode: 0o120755, type: 'slnk', creator: 'rhap', data: enc('/Applications') },
  ];
  return buildHfsx(items, [
    { cnid: 22, name: 'com.apple.decmpfs', value: decmpfs(1, 11, enc('raw, type 1')) },
    { cnid: 23, name: 'com.apple.decmpfs', value: decmpfs(9, 11, new Uint8Array([0xcc, ...enc('raw, type 9')])) },
    { cnid: 28, name: 'com.apple.decmpfs', value: decmpfs(13, 4, new Uint8Array([1, 2, 3])) },
    { cnid: 24, name: 'user.note', value: enc('an xattr') },
  ], { splitCatalog });
}

const tmps: string[] = [];
afterAll(() => tmps.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('hand-made HFSX volume: directory hard links, raw decmpfs, hostile names', () => {
  it('reads what TN1150 describes', async () => {
    const vol = await openHfs(new BufferSource(volume()));
    expect(vol.info.signature).toBe('HX');
    expect(vol.info.volumeName).toBe('Built');
    const root = (await vol.readdir('')).map((e) => e.name);
    expect(root).not.toContain(PRIV);
    expect(root).not.toContain(PRIVDIR);
    expect(root).toContain('evil/name'); // catalog ':' is POSIX '/'
    expect(root).toContain('.journal'); // only fdType 'jrnl' / creator 'hfs+' journal files are hidden
    // directory hard links resolve to dir_40
    const dl = await vol.stat('a/dlink');
    expect(dl.type).toBe('dir');
    expect(dl.hardLink).toEqual({ kind: 'dir', id: 40 });
    expect(dec(await vol.readFile('a/dlink/inside.txt'))).toBe('inside a linked directory');
    expect(dec(await vol.readFile('a/dlink2/inside.txt'))).toBe('inside a linked directory');
    // walk does not loop through dir_40/loop → dir_40
    const paths: string[] = [];
    for await (const e of vol.walk()) paths.push(e.path);
    expect(paths).toContain('a/dlink/loop');
    expect(paths.filter((p) => p.endsWith('inside.txt')).length).toBe(2);
    expect(paths.some((p) => p.includes('loop/'))).toBe(false);
    // file hard links
    expect(dec(await vol.readFile('h1'))).toBe('hard link content');
    expect((await vol.stat('h2')).nlink).toBe(2);
    // decmpfs types 1 and 9 (0xCC marker); 13 listed but unsupported
    expect(dec(await vol.readFile('raw1.txt'))).toBe('raw, type 1');
    expect(dec(await vol.readFile('raw9.txt'))).toBe('raw, type 9');
    expect((await vol.stat('lzbitmap')).compressed).toEqual({ type: 13, size: 4 });
    expect(await vol.readFile('lzbitmap').catch((e) => e.code)).toBe('UNSUPPORTED_CODEC');
    // modes: FIFO typed, mode 0 → default, absolute symlink read but not followed
    expect((await vol.lstat('fifo')).type).toBe('fifo');
    expect((await vol.stat('nomode')).mode).toBe(0o100644);
    expect(await vol.readlink('abs')).toBe('/Applications');
    expect(await vol.stat('abs').catch((e) => e.code)).toBe('NOT_FOUND');
  });

  it('a catalog file continued in the extents-overflow tree is read through its overflow extent', async () => {
    const img = volume(true);
    const vol = await openHfs(new BufferSource(img));
    const names: string[] = [];
    for await (const e of vol.walk()) names.push(e.path);
    expect(names).toContain('a/dlink/inside.txt');
    expect(dec(await vol.readFile('raw9.txt'))).toBe('raw, type 9');
    // without the overflow tree the catalog is incomplete: a clear CORRUPT_FS, not garbage
    const broken = img.slice();
    broken.fill(0, 1024 + 192, 1024 + 272); // drop the extents file from the volume header
    const err = await openHfs(new BufferSource(broken)).then(async (v) => {
      for await (const e of v.walk()) void e;
    }).catch((e) => e);
    expect(err.code).toBe('CORRUPT_FS');
    expect(err.message).toMatch(/catalog file: extents cover 1 of 4 blocks/);
  });

  it('extracts safely: ":"-name sanitized, FIFO skipped, setuid stripped, dir links copied without looping', async () => {
    const vol = await openHfs(new BufferSource(volume()));
    const dest = mkdtempSync(join(tmpdir(), 'dmgkit-crafted-'));
    tmps.push(dest);
    const res = await extractVolume(vol, dest);
    // no FIFO, no unsupported-codec file; the xattr of "evil/name" goes to its AppleDouble file
    expect(readdirSync(dest).sort()).toEqual(['._evil_name', '.journal', 'a', 'abs', 'evil_name', 'h1', 'h2', 'nomode', 'raw1.txt', 'raw9.txt', 'suid']);
    expect(res.skipped.map((s) => s.path).sort()).toEqual(['a/dlink/loop', 'a/dlink2/loop', 'fifo', 'lzbitmap'].sort());
    expect(lstatSync(join(dest, 'abs')).isSymbolicLink()).toBe(true);
    expect(statSync(join(dest, 'suid')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(dest, 'h1')).ino).toBe(statSync(join(dest, 'h2')).ino);
    expect(readFileSync(join(dest, 'a/dlink2/inside.txt'), 'utf8')).toBe('inside a linked directory');
    expect(readFileSync(join(dest, 'raw9.txt'), 'utf8')).toBe('raw, type 9');
  });
});
