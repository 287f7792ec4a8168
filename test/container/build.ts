/**
 * Test-side writers for sparse images and sparse bundles, written from the format notes (libmodi "Mac OS disk
 * image types", apfs-fuse DeviceSparseImage.cpp) with literal offsets, independently of src/container.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function be32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
function be64(b: Uint8Array, o: number, v: number): void {
  be32(b, o, Math.floor(v / 2 ** 32));
  be32(b, o + 4, v >>> 0);
}

/**
 * A .sparseimage of `disk` (size a multiple of 512) with `sectorsPerBand`. `stored` lists the 0-based logical
 * bands in file order; bands not listed are absent. Slots beyond the header's 1008 go to index nodes (4096 bytes,
 * band numbers from byte 56, 1010 per node, next-node offset at 12), each followed by its bands.
 */
export function buildSparseImage(disk: Uint8Array, sectorsPerBand: number, stored: number[]): Uint8Array {
  const bandBytes = sectorsPerBand * 512;
  const headerSlots = 1008;
  const indexSlots = 1010;
  const groups: number[][] = [stored.slice(0, headerSlots)];
  for (let i = headerSlots; i < stored.length; i += indexSlots) groups.push(stored.slice(i, i + indexSlots));
  let total = 0;
  for (const g of groups) total += 4096 + g.length * bandBytes;
  const out = new Uint8Array(total);
  // header node
  out.set([0x73, 0x70, 0x72, 0x73], 0); // 'sprs'
  be32(out, 4, 3); // version
  be32(out, 8, sectorsPerBand);
  be32(out, 12, 1); // flags
  const sectors = disk.length / 512;
  be32(out, 16, sectors); // total sectors, u32
  be64(out, 28, sectors); // total sectors, u64
  let nodeAt = 0;
  for (let gi = 0; gi < groups.length; gi++) {
    const g = groups[gi];
    const first = gi === 0 ? 64 : 56;
    g.forEach((band, k) => {
      be32(out, nodeAt + first + k * 4, band + 1);
      const start = band * bandBytes;
      out.set(disk.subarray(start, Math.min(disk.length, start + bandBytes)), nodeAt + 4096 + k * bandBytes);
    });
    const next = nodeAt + 4096 + g.length * bandBytes;
    if (gi + 1 < groups.length) {
      be64(out, nodeAt + (gi === 0 ? 20 : 12), next);
      out.set([0x73, 0x70, 0x72, 0x73], next); // index node magic (value not checked by readers)
      be32(out, next + 4, gi + 1);
    }
    nodeAt = next;
  }
  return out;
}

/** The disk as a reader must see it: `disk` with every band not in `stored` zeroed. */
export function expectedWithMissing(disk: Uint8Array, bandBytes: number, stored: number[]): Uint8Array {
  const out = new Uint8Array(disk.length);
  for (const b of stored) {
    const s = b * bandBytes;
    out.set(disk.subarray(s, Math.min(disk.length, s + bandBytes)), s);
  }
  return out;
}

/**
 * A sparse bundle directory for `disk`: Info.plist as literal XML, bands/<hex>. `bands` maps band index to the
 * number of bytes written for it (a short band), or is absent for missing bands.
 */
export function writeSparseBundle(dir: string, disk: Uint8Array, bandSize: number, bands: Map<number, number>): void {
  mkdirSync(join(dir, 'bands'), { recursive: true });
  const info = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>CFBundleInfoDictionaryVersion</key>
	<string>6.0</string>
	<key>band-size</key>
	<integer>${bandSize}</integer>
	<key>bundle-backingstore-version</key>
	<integer>1</integer>
	<key>diskimage-bundle-type</key>
	<string>com.apple.diskimage.sparsebundle</string>
	<key>size</key>
	<integer>${disk.length}</integer>
</dict>
</plist>
`;
  writeFileSync(join(dir, 'Info.plist'), info);
  writeFileSync(join(dir, 'Info.bckup'), info);
  writeFileSync(join(dir, 'token'), new Uint8Array(0));
  for (const [index, len] of bands) {
    const s = index * bandSize;
    writeFileSync(join(dir, 'bands', index.toString(16)), disk.subarray(s, Math.min(disk.length, s + len)));
  }
}
