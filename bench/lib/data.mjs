// The benchmark data: deterministic mixed data (the generator of `dmgkit bench`, fed with real text), its 1 MiB
// chunks encoded per codec (cached in the temp directory), and a UDIF image of each codec built with writeUdifImage.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MiB, mixedData, packChunks, readBinaries, splitChunks } from '../../dist/cli/commands/bench.js';
import { writeUdifImage } from '../../dist/udif/write/udif.js';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..');
export const benchDir = join(here, '..');
export const cacheDir = join(tmpdir(), `dmgkit-bench-${userInfo().uid}`);
mkdirSync(cacheDir, { recursive: true });

/** Real text: TypeScript's bundled library declarations and sources (pinned by package-lock), name order. */
export function readText(max) {
  const dir = join(repoRoot, 'node_modules', 'typescript', 'lib');
  const parts = [];
  let total = 0;
  for (const n of readdirSync(dir).sort()) {
    if (total >= max) break;
    if (!/\.(d\.ts|js)$/.test(n)) continue;
    const b = readFileSync(join(dir, n));
    parts.push(b);
    total += b.length;
  }
  const out = Buffer.concat(parts);
  return new Uint8Array(out.buffer, out.byteOffset, Math.min(out.length, max));
}

export function sha(b) {
  return createHash('sha256').update(b).digest('hex').slice(0, 16);
}

/** The mixed data and its chunks. */
export function makeData(size) {
  const { data, shares } = mixedData(size, { text: readText(24 * MiB), binary: readBinaries(48 * MiB) });
  const chunks = splitChunks(data, MiB);
  return { data, shares, chunks, sizes: chunks.map((c) => c.length), hash: sha(data) };
}

function spawnEncode(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    let err = '';
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(new Uint8Array(Buffer.concat(out))) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code} ${err}`))));
    p.stdin.end(input);
  });
}

/** Encoders: the native tools per chunk (as hdiutil writes UDBZ and ULMO chunks), else the library's encoder. */
const TOOL_ENCODERS = {
  bzip2: ['bzip2', ['-9', '-c']],
  XZ: ['xz', ['-6', '-c', '--check=crc64']],
};

/**
 * The chunks of `d` encoded with `codec` (a BenchCodec from dist/cli/commands/bench.js), cached by data hash
 * and encoder; returns a ChunkSet. Tool encoders run two at a time.
 */
export async function encodeChunks(codec, d) {
  const tool = TOOL_ENCODERS[codec.name];
  const tag = tool ? tool.flat().join(' ') : sha(readFileSync(join(repoRoot, 'dist', 'codecs', encoderFile(codec.name))));
  const file = join(cacheDir, `${d.hash}-${codec.name}-${sha(tag)}.chunks`);
  if (existsSync(file)) {
    const meta = JSON.parse(readFileSync(file + '.json', 'utf8'));
    const buf = new Uint8Array(readFileSync(file));
    const enc = [];
    let o = 0;
    for (const n of meta.lengths) {
      enc.push(buf.subarray(o, o + n));
      o += n;
    }
    return { set: packChunks(enc, d.sizes), file, cached: true };
  }
  let enc;
  if (tool) {
    enc = new Array(d.chunks.length);
    let next = 0;
    const lane = async () => {
      while (next < d.chunks.length) {
        const i = next++;
        enc[i] = await spawnEncode(tool[0], tool[1], d.chunks[i]);
      }
    };
    await Promise.all([lane(), lane()]);
  } else {
    enc = d.chunks.map((c) => codec.encode(c));
  }
  const set = packChunks(enc, d.sizes);
  writeFileSync(file + '.json', JSON.stringify({ lengths: enc.map((c) => c.length) }));
  writeFileSync(file + '.tmp', set.chunks.length ? Buffer.from(set.chunks[0].buffer) : Buffer.alloc(0));
  renameSync(file + '.tmp', file);
  return { set, file, cached: false };
}

function encoderFile(name) {
  return { zlib: 'deflate.js', ADC: 'adc-encode.js', LZFSE: 'lzfse-encode.js' }[name];
}

/** Writes the concatenated chunk streams (for `bzip2 -dc` / `xz -dc`, which read concatenated streams). */
export function concatenatedFile(set, file) {
  const out = file + '.cat';
  if (!existsSync(out)) writeFileSync(out, Buffer.from(set.chunks[0].buffer, set.chunks[0].byteOffset, set.encodedBytes));
  return out;
}

/**
 * A UDIF image of the data with the given codec's pre-encoded chunks (writeUdifImage with them as its encoder;
 * chunk type = the codec's, 1 MiB chunks, all-zero ones as zero-fill, one block table). Returns the path.
 */
export async function buildDmg(codec, d, set, file) {
  const path = file + '.dmg';
  if (existsSync(path) && statSync(path).size > 0) return path;
  const disk = {
    size: d.data.length,
    name: 'bench data',
    async read(offset, length) {
      return d.data.subarray(offset, offset + length);
    },
  };
  const plan = unitPlan(d.chunks.length, (i) => d.chunks[i].every((b) => b === 0));
  const encoder = (_data, sector) => set.chunks[(sector * 512) / MiB];
  return writeImage(path, disk, plan, { chunkType: codec.type, encoder, chunkSectors: MiB / 512 });
}

/**
 * The plan of a disk of `units` 1 MiB units in one block table: each unit one chunk kept whole (a 'stored' run:
 * the writer's encoder is called once per unit, with its first sector), or a zero-fill run where `isZero(i)`.
 */
export function unitPlan(units, isZero) {
  const s = MiB / 512;
  const runs = Array.from({ length: units }, (_, i) => ({ kind: isZero(i) ? 'zero' : 'stored', sectorStart: i * s, sectorCount: s }));
  return { variant: 1, tables: [{ name: 'whole disk (Apple_HFS : 0)', id: -1, blocksDescriptor: 0, firstSector: 0, sectorCount: units * s, runs }] };
}

/** Writes a UDIF image of `disk` laid out by `plan` to `path` (through a temporary name), streaming. */
export async function writeImage(path, disk, plan, opts) {
  const ws = createWriteStream(path + '.tmp');
  for await (const piece of writeUdifImage(disk, plan, opts)) {
    if (!ws.write(piece)) await new Promise((r) => ws.once('drain', r));
  }
  await new Promise((resolve, reject) => ws.end((e) => (e ? reject(e) : resolve())));
  renameSync(path + '.tmp', path);
  return path;
}
