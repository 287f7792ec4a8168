/**
 * Test-side writers for GPT, MBR and APM structures, from the UEFI specification and Inside Macintosh, with
 * literal offsets and Node's own zlib.crc32 (independent of src/util/crc32 and src/disk).
 */
import { crc32 } from 'node:zlib';

export interface GptPart {
  type: string;
  unique: string;
  first: number;
  last: number;
  name: string;
  attributes?: bigint;
}

function guidBytes(text: string): Uint8Array {
  const h = text.replace(/-/g, '');
  const b = Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));
  return Uint8Array.from([b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], ...b.subarray(8)]);
}

const le32 = (b: Uint8Array, o: number, v: number): void => new DataView(b.buffer, b.byteOffset).setUint32(o, v >>> 0, true);
const le64 = (b: Uint8Array, o: number, v: number | bigint): void => new DataView(b.buffer, b.byteOffset).setBigUint64(o, BigInt(v), true);

/** Writes the protective MBR, both headers and both entry arrays (128 slots of 128 bytes) into `disk`. */
export function writeGpt(disk: Uint8Array, ss: number, parts: GptPart[], diskGuid = '11111111-2222-3333-4444-555555555555'): void {
  const lastLba = disk.length / ss - 1;
  const count = 128;
  const esize = 128;
  const tableSectors = (count * esize) / ss;
  const table = new Uint8Array(count * esize);
  parts.forEach((p, i) => {
    const o = i * esize;
    table.set(guidBytes(p.type), o);
    table.set(guidBytes(p.unique), o + 16);
    le64(table, o + 32, p.first);
    le64(table, o + 40, p.last);
    le64(table, o + 48, p.attributes ?? 0n);
    for (let k = 0; k < p.name.length && k < 36; k++) {
      table[o + 56 + 2 * k] = p.name.charCodeAt(k) & 0xff;
      table[o + 57 + 2 * k] = p.name.charCodeAt(k) >> 8;
    }
  });
  // protective MBR
  disk.fill(0, 0, 512);
  const m = 446;
  disk[m + 4] = 0xee;
  le32(disk, m + 8, 1);
  le32(disk, m + 12, Math.min(lastLba, 0xffffffff));
  disk[510] = 0x55;
  disk[511] = 0xaa;
  const header = (myLba: number, altLba: number, entriesLba: number): Uint8Array => {
    const h = new Uint8Array(ss);
    h.set(new TextEncoder().encode('EFI PART'), 0);
    le32(h, 8, 0x00010000);
    le32(h, 12, 92);
    le64(h, 24, myLba);
    le64(h, 32, altLba);
    le64(h, 40, 2 + tableSectors);
    le64(h, 48, lastLba - 1 - tableSectors);
    h.set(guidBytes(diskGuid), 56);
    le64(h, 72, entriesLba);
    le32(h, 80, count);
    le32(h, 84, esize);
    le32(h, 88, crc32(table));
    le32(h, 16, crc32(h.subarray(0, 92)));
    return h;
  };
  disk.set(header(1, lastLba, 2), ss);
  disk.set(table, 2 * ss);
  disk.set(table, (lastLba - tableSectors) * ss);
  disk.set(header(lastLba, 1, lastLba - tableSectors), lastLba * ss);
}

/** Recomputes the header CRC of the GPT header at byte `at` (after a test edits it). */
export function fixGptHeaderCrc(disk: Uint8Array, at: number): void {
  const size = new DataView(disk.buffer, disk.byteOffset).getUint32(at + 12, true);
  le32(disk, at + 16, 0);
  le32(disk, at + 16, crc32(disk.subarray(at, at + size)));
}

export function fixGptTableCrc(disk: Uint8Array, headerAt: number, ss: number): void {
  const dv = new DataView(disk.buffer, disk.byteOffset);
  const entriesLba = Number(dv.getBigUint64(headerAt + 72, true));
  const bytes = dv.getUint32(headerAt + 80, true) * dv.getUint32(headerAt + 84, true);
  le32(disk, headerAt + 88, crc32(disk.subarray(entriesLba * ss, entriesLba * ss + bytes)));
  fixGptHeaderCrc(disk, headerAt);
}

export interface MbrPart {
  type: number;
  lba: number;
  count: number;
  status?: number;
}

/** Writes a 4-entry table + 0x55AA into the sector at byte `at`. */
export function writeMbrTable(disk: Uint8Array, at: number, parts: MbrPart[]): void {
  parts.forEach((p, i) => {
    const o = at + 446 + i * 16;
    disk[o] = p.status ?? 0;
    // CHS: a harmless non-zero sector field, as 7-Zip expects (sector != 0 unless all zero)
    disk[o + 1] = 0;
    disk[o + 2] = 1;
    disk[o + 3] = 0;
    disk[o + 4] = p.type;
    disk[o + 5] = 0;
    disk[o + 6] = 1;
    disk[o + 7] = 0;
    le32(disk, o + 8, p.lba);
    le32(disk, o + 12, p.count);
  });
  disk[at + 510] = 0x55;
  disk[at + 511] = 0xaa;
}

export interface ApmPart {
  name: string;
  type: string;
  start: number;
  count: number;
  status?: number;
}

/** Writes an APM with 512-byte blocks: DDM at 0, entries from block 1 (first entry = the map itself). */
export function writeApm(disk: Uint8Array, parts: ApmPart[], mapCount?: number): void {
  const dv = new DataView(disk.buffer, disk.byteOffset);
  disk[0] = 0x45; // 'E'
  disk[1] = 0x52; // 'R'
  dv.setUint16(2, 512);
  dv.setUint32(4, disk.length / 512);
  const all: ApmPart[] = [{ name: 'Apple', type: 'Apple_partition_map', start: 1, count: 63, status: 3 }, ...parts];
  all.forEach((p, i) => {
    const o = 512 * (i + 1);
    disk[o] = 0x50; // 'P'
    disk[o + 1] = 0x4d; // 'M'
    dv.setUint32(o + 4, mapCount ?? all.length);
    dv.setUint32(o + 8, p.start);
    dv.setUint32(o + 12, p.count);
    disk.set(new TextEncoder().encode(p.name), o + 16);
    disk.set(new TextEncoder().encode(p.type), o + 48);
    dv.setUint32(o + 0x50, 0);
    dv.setUint32(o + 0x54, p.count);
    dv.setUint32(o + 0x58, p.status ?? 0x33);
  });
}
