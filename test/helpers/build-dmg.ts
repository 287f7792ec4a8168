/**
 * Test-only builder of minimal UDIF images (one blkx partition), shaped like hdiutil's output, so that the
 * encoders' chunks can be fed to 7-Zip (whole images: writeUdifImage, src/udif/write/udif.ts).
 *
 * Layout: [data fork: chunk payloads][XML plist][koly 512 B]. Offsets follow /work/shared/GUIDE.md §1.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from '../../src/util/crc32.js';

export const SECTOR = 512;

export interface BuildChunk {
  /** UDIF chunk type, e.g. 0x80000004 (ADC), 0x80000007 (LZFSE), 1 (raw), 0 (zero fill). */
  type: number;
  /** Stored bytes (empty for zero fill). */
  payload: Uint8Array;
  /** Decoded bytes of this chunk; its length must be a multiple of 512. */
  decoded: Uint8Array;
  /** Hostile tables: the chunk points at the stored bytes of chunk number `sharesWith` (its own payload is not stored). */
  sharesWith?: number;
}

function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
function putU64(b: Uint8Array, o: number, v: number): void {
  putU32(b, o, Math.floor(v / 2 ** 32));
  putU32(b, o + 4, v >>> 0);
}

const MISH_HEADER = 204;
const MISH_RUN = 40;
const CHECKSUM_CRC32 = 2;

function mishTable(chunks: BuildChunk[], partitionCrc: number): Uint8Array {
  const b = new Uint8Array(MISH_HEADER + (chunks.length + 1) * MISH_RUN);
  let sectors = 0;
  let maxSectors = 0;
  for (const c of chunks) {
    sectors += c.decoded.length / SECTOR;
    maxSectors = Math.max(maxSectors, c.decoded.length / SECTOR);
  }
  b.set([0x6d, 0x69, 0x73, 0x68], 0); // 'mish'
  putU32(b, 4, 1); // version
  putU64(b, 8, 0); // first sector
  putU64(b, 16, sectors);
  putU64(b, 24, 0); // data start
  putU32(b, 32, maxSectors + 8); // decompress buffer requested
  putU32(b, 36, 0); // blocks descriptor
  putU32(b, 64, CHECKSUM_CRC32);
  putU32(b, 68, 32);
  putU32(b, 72, partitionCrc);
  putU32(b, 200, chunks.length + 1);
  let o = MISH_HEADER;
  let sec = 0;
  let off = 0;
  const at: number[] = [];
  for (const c of chunks) {
    const n = c.decoded.length / SECTOR;
    const shared = c.sharesWith !== undefined;
    at.push(shared ? at[c.sharesWith!] : off);
    putU32(b, o, c.type);
    putU64(b, o + 8, sec);
    putU64(b, o + 16, n);
    putU64(b, o + 24, at[at.length - 1]);
    putU64(b, o + 32, shared ? chunks[c.sharesWith!].payload.length : c.payload.length);
    sec += n;
    if (!shared) off += c.payload.length;
    o += MISH_RUN;
  }
  putU32(b, o, 0xffffffff); // terminator
  putU64(b, o + 8, sec);
  putU64(b, o + 24, off);
  return b;
}

function plist(name: string, mish: Uint8Array): string {
  const b64 = Buffer.from(mish).toString('base64');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>resource-fork</key>
	<dict>
		<key>blkx</key>
		<array>
			<dict>
				<key>Attributes</key>
				<string>0x0050</string>
				<key>CFName</key>
				<string>${name}</string>
				<key>Data</key>
				<data>
				${b64}
				</data>
				<key>ID</key>
				<string>0</string>
				<key>Name</key>
				<string>${name}</string>
			</dict>
		</array>
	</dict>
</dict>
</plist>
`;
}

/**
 * Build a one-partition UDIF image whose chunks are `chunks`, in order. `partitionCrc` given: written as the table's
 * checksum instead of computing it (bombs that describe gigabytes).
 */
export function buildDmg(chunks: BuildChunk[], name = 'disk image (Apple_HFS : 1)', partitionCrc?: number): Uint8Array {
  let partCrc = partitionCrc ?? 0;
  let sectors = 0;
  for (const c of chunks) {
    if (c.decoded.length % SECTOR !== 0) throw new Error('decoded chunk length must be a multiple of 512');
    if (c.type !== 2 && partitionCrc === undefined) partCrc = crc32(c.decoded, partCrc); // ignore (free-space) chunks are not in the checksum
    sectors += c.decoded.length / SECTOR;
  }
  const dataLen = chunks.reduce((a, c) => a + (c.sharesWith === undefined ? c.payload.length : 0), 0);
  const xml = new TextEncoder().encode(plist(name, mishTable(chunks, partCrc)));
  const file = new Uint8Array(dataLen + xml.length + 512);
  let o = 0;
  for (const c of chunks) {
    if (c.sharesWith !== undefined) continue;
    file.set(c.payload, o);
    o += c.payload.length;
  }
  file.set(xml, o);
  const k = o + xml.length;
  const crcBytes = new Uint8Array(4);
  putU32(crcBytes, 0, partCrc);
  file.set([0x6b, 0x6f, 0x6c, 0x79], k); // 'koly'
  putU32(file, k + 4, 4); // version
  putU32(file, k + 8, 512); // header size
  putU32(file, k + 12, 1); // flags: flattened
  putU64(file, k + 24, 0); // data fork offset
  putU64(file, k + 32, dataLen);
  putU32(file, k + 60, 1); // segment count
  putU32(file, k + 56, 1); // segment number
  putU32(file, k + 80, CHECKSUM_CRC32); // data fork checksum
  putU32(file, k + 84, 32);
  putU32(file, k + 88, crc32(file.subarray(0, dataLen)));
  putU64(file, k + 216, o); // xml offset
  putU64(file, k + 224, xml.length);
  putU32(file, k + 352, CHECKSUM_CRC32); // master checksum
  putU32(file, k + 356, 32);
  putU32(file, k + 360, crc32(crcBytes));
  putU32(file, k + 488, 1); // image variant: device
  putU64(file, k + 492, sectors);
  return file;
}

/**
 * Extract every partition of `image` with 7-Zip (`7zz x -tdmg`) and return them by 7-Zip's item name
 * (e.g. "0.hfs"), plus 7-Zip's stderr/stdout text for diagnostics. Throws when 7-Zip reports an error.
 */
export function sevenZipPartitions(bin: string, image: Uint8Array): Map<string, Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'dmgkit-7z-'));
  try {
    const file = join(dir, 'image.dmg');
    writeFileSync(file, image);
    const out = join(dir, 'out');
    const r = spawnSync(bin, ['x', '-tdmg', '-y', `-o${out}`, file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`7-Zip failed (${r.status}): ${r.stdout}\n${r.stderr}`);
    if (/error|warning/i.test(r.stdout.replace(/Everything is Ok/, ''))) {
      throw new Error(`7-Zip reported a problem: ${r.stdout}`);
    }
    const parts = new Map<string, Buffer>();
    for (const name of readdirSync(out)) parts.set(name, readFileSync(join(out, name)));
    return parts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
