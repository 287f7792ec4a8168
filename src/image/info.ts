import type { OpenedDisk } from '../open.js';
import { checksumHex, checksumTypeName, isPresent } from '../udif/checksum.js';
import type { UdifImage } from '../udif/image.js';
import { describeDisk } from './describe.js';

/**
 * The JSON shapes of `dmgkit info --json` (and the inspector page): what an image is, its UDIF trailer, block
 * tables, checksums and resources, and its partition map with each entry's file system.
 */

function checksumJson(c: { type: number; bits: number; data: Uint8Array }) {
  return isPresent(c) ? { type: checksumTypeName(c.type), bits: c.bits, value: checksumHex(c) } : { type: 'none' };
}

/** The UDIF part: format, koly fields, block tables with chunk counts, checksums, resources, warnings. */
export function udifInfoJson(img: UdifImage) {
  const k = img.koly;
  return {
    format: img.format,
    sectorCount: img.size / 512,
    size: img.size,
    koly: {
      position: img.kolyPosition,
      offset: img.kolyOffset,
      version: k.version,
      flags: k.flags,
      imageVariant: k.imageVariant,
      sectorCount: k.sectorCount,
      dataForkOffset: k.dataForkOffset,
      dataForkLength: k.dataForkLength,
      rsrcForkOffset: k.rsrcForkOffset,
      rsrcForkLength: k.rsrcForkLength,
      xmlOffset: k.xmlOffset,
      xmlLength: k.xmlLength,
      codeSignatureOffset: k.codeSignatureOffset,
      codeSignatureLength: k.codeSignatureLength,
      segmentNumber: k.segmentNumber,
      segmentCount: k.segmentCount,
    },
    tableSource: img.layout.tableSource,
    partitions: img.partitions.map((p) => ({
      index: p.index,
      name: p.name,
      cfName: p.cfName,
      id: p.id,
      attributes: p.attributes,
      firstSector: p.firstSector,
      sectorCount: p.sectorCount,
      checksum: checksumJson(p.checksum),
      chunks: p.chunks,
    })),
    checksums: { dataFork: checksumJson(k.dataChecksum), master: checksumJson(k.masterChecksum) },
    resources: Object.fromEntries(img.resourceTypes.map((t) => [t, img.resources(t).map((r) => ({ id: r.id, name: r.name, bytes: r.data.length }))])),
    warnings: [...img.warnings],
  };
}

/** The whole description of an opened image (any container). */
export async function infoJson(opened: OpenedDisk) {
  const base = { container: opened.kind, size: opened.disk.size };
  const inner = opened.udif ? udifInfoJson(opened.udif) : { sectorCount: Math.floor(opened.disk.size / 512), warnings: [...opened.warnings] };
  return { ...base, ...inner, ...(await describeDisk(opened)) };
}

export type UdifInfo = ReturnType<typeof udifInfoJson>;
export type ImageInfo = Awaited<ReturnType<typeof infoJson>>;
