import { DmgkitError, at } from '../errors.js';
import { ascii, u16be, u32be } from '../util/bytes.js';
import { type ResourceFork, addResource } from './resources.js';

/**
 * The classic Mac OS resource file format, as old UDIF images (and the licence resources of newer ones) carry it
 * in the koly rsrcFork range. Layout (Inside Macintosh: More Macintosh Toolbox, "Resource Manager"):
 * header { dataOffset u32, mapOffset u32, dataLength u32, mapLength u32 }; map { header copy 16, next map 4,
 * file ref 2, attributes 2, typeListOffset u16, nameListOffset u16 }; type list { count-1 u16, entries of
 * { type[4], count-1 u16, refListOffset u16 } }; reference { id s16, nameOffset u16, attributes u8,
 * dataOffset u24, handle u32 }; data { length u32, bytes }.
 */
const HDR_DATA_OFFSET = 0;
const HDR_MAP_OFFSET = 4;
const HDR_DATA_LENGTH = 8;
const HDR_MAP_LENGTH = 12;
const MAP_TYPE_LIST_OFFSET = 24;
const MAP_NAME_LIST_OFFSET = 26;
const TYPE_ENTRY_SIZE = 8;
const REF_ENTRY_SIZE = 12;

export function parseResourceFork(b: Uint8Array, fileOffset: number): ResourceFork {
  const bad = (what: string, rel: number) =>
    new DmgkitError('CORRUPT_HEADER', `resource fork: ${what} ${at(fileOffset + rel)}`, { offset: fileOffset + rel });
  if (b.length < 16) throw bad('shorter than its 16-byte header', 0);
  const dataOffset = u32be(b, HDR_DATA_OFFSET);
  const mapOffset = u32be(b, HDR_MAP_OFFSET);
  const dataLength = u32be(b, HDR_DATA_LENGTH);
  const mapLength = u32be(b, HDR_MAP_LENGTH);
  if (dataOffset + dataLength > b.length || mapOffset + mapLength > b.length || mapLength < 30) {
    throw bad(`data [${dataOffset}, +${dataLength}) or map [${mapOffset}, +${mapLength}) outside the fork of ${b.length} bytes`, 0);
  }
  const map = b.subarray(mapOffset, mapOffset + mapLength);
  const typeList = u16be(map, MAP_TYPE_LIST_OFFSET);
  const nameList = u16be(map, MAP_NAME_LIST_OFFSET);
  if (typeList + 2 > map.length) throw bad('type list outside the map', mapOffset + MAP_TYPE_LIST_OFFSET);
  const typeCount = (u16be(map, typeList) + 1) & 0xffff;
  const fork: ResourceFork = new Map();
  for (let t = 0; t < typeCount; t++) {
    const te = typeList + 2 + t * TYPE_ENTRY_SIZE;
    if (te + TYPE_ENTRY_SIZE > map.length) throw bad(`type entry ${t} outside the map`, mapOffset + te);
    const type = ascii(map, te, 4);
    const count = u16be(map, te + 4) + 1;
    const refList = typeList + u16be(map, te + 6);
    for (let r = 0; r < count; r++) {
      const re = refList + r * REF_ENTRY_SIZE;
      if (re + REF_ENTRY_SIZE > map.length) throw bad(`reference ${r} of type '${type}' outside the map`, mapOffset + re);
      const id = (u16be(map, re) << 16) >> 16;
      const nameOff = u16be(map, re + 2);
      const attributes = map[re + 4];
      const dataRel = (map[re + 5] << 16) | (map[re + 6] << 8) | map[re + 7];
      const at0 = dataOffset + dataRel;
      if (at0 + 4 > dataOffset + dataLength) throw bad(`data of '${type}' ${id} outside the data area`, at0);
      const len = u32be(b, at0);
      if (at0 + 4 + len > dataOffset + dataLength) throw bad(`data of '${type}' ${id} (${len} bytes) runs past the data area`, at0);
      let name = '';
      if (nameOff !== 0xffff) {
        const no = nameList + nameOff;
        if (no < map.length) {
          const n = map[no];
          if (no + 1 + n <= map.length) name = new TextDecoder('macintosh').decode(map.subarray(no + 1, no + 1 + n));
        }
      }
      addResource(fork, { type, id, name, attributes, data: b.slice(at0 + 4, at0 + 4 + len) });
    }
  }
  return fork;
}

/** Builds a resource file holding the given resources (the inverse of parseResourceFork). */
export function serializeResourceFork(fork: ResourceFork): Uint8Array {
  const types = [...fork.entries()].filter(([, l]) => l.length > 0);
  const enc = new TextEncoder();
  const names: Uint8Array[] = [];
  let nameBytes = 0;
  let dataBytes = 0;
  for (const [, list] of types) for (const r of list) dataBytes += 4 + r.data.length;
  const refCount = types.reduce((n, [, l]) => n + l.length, 0);
  const typeListSize = 2 + types.length * TYPE_ENTRY_SIZE + refCount * REF_ENTRY_SIZE;
  const MAP_HEADER = 28;
  const dataOffset = 256;
  const mapOffset = dataOffset + dataBytes;
  // names first pass
  const nameOffsets: number[] = [];
  for (const [, list] of types) {
    for (const r of list) {
      if (!r.name) {
        nameOffsets.push(0xffff);
        continue;
      }
      const n = enc.encode(r.name).subarray(0, 255);
      nameOffsets.push(nameBytes);
      const pstr = new Uint8Array(1 + n.length);
      pstr[0] = n.length;
      pstr.set(n, 1);
      names.push(pstr);
      nameBytes += pstr.length;
    }
  }
  const mapLength = MAP_HEADER + typeListSize + nameBytes;
  const out = new Uint8Array(mapOffset + mapLength);
  const dv = new DataView(out.buffer);
  dv.setUint32(HDR_DATA_OFFSET, dataOffset);
  dv.setUint32(HDR_MAP_OFFSET, mapOffset);
  dv.setUint32(HDR_DATA_LENGTH, dataBytes);
  dv.setUint32(HDR_MAP_LENGTH, mapLength);
  out.copyWithin(mapOffset, 0, 16);
  const typeList = MAP_HEADER;
  const nameList = MAP_HEADER + typeListSize;
  dv.setUint16(mapOffset + MAP_TYPE_LIST_OFFSET, typeList);
  dv.setUint16(mapOffset + MAP_NAME_LIST_OFFSET, nameList);
  dv.setUint16(mapOffset + typeList, (types.length - 1) & 0xffff);
  let refPos = 2 + types.length * TYPE_ENTRY_SIZE;
  let dataPos = 0;
  let k = 0;
  types.forEach(([type, list], t) => {
    const te = mapOffset + typeList + 2 + t * TYPE_ENTRY_SIZE;
    for (let i = 0; i < 4; i++) out[te + i] = type.charCodeAt(i);
    dv.setUint16(te + 4, list.length - 1);
    dv.setUint16(te + 6, refPos);
    for (const r of list) {
      const re = mapOffset + typeList + refPos;
      dv.setInt16(re, r.id);
      dv.setUint16(re + 2, nameOffsets[k++]);
      out[re + 4] = r.attributes & 0xff;
      out[re + 5] = (dataPos >>> 16) & 0xff;
      out[re + 6] = (dataPos >>> 8) & 0xff;
      out[re + 7] = dataPos & 0xff;
      dv.setUint32(dataOffset + dataPos, r.data.length);
      out.set(r.data, dataOffset + dataPos + 4);
      dataPos += 4 + r.data.length;
      refPos += REF_ENTRY_SIZE;
    }
  });
  let np = mapOffset + nameList;
  for (const n of names) {
    out.set(n, np);
    np += n.length;
  }
  return out;
}
