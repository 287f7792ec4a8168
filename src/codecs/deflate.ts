/** zlib compression for the writer: node:zlib in Node (the `#platform` import), pako elsewhere. */
import { deflate as pakoDeflate } from 'pako';
import { zlibLanes, zlibNode } from '#platform';
import { lend as lendView } from '../util/lent.js';

type LanePool = InstanceType<NonNullable<typeof zlibLanes>['LanePool']>;

/**
 * node:zlib's memLevel for levels 4..9. Node's zlib (Chromium's) keeps its hash at 15 bits whatever memLevel is,
 * so memLevel only sets the block size (8K symbols at 7, 16K at 8): on the bench's mixed data, 7 writes 0.7 %
 * less than the default 8 for 2 % more time at level 6 (within 0.4 % of pigz -6's size; 8 is 1 % above it).
 * Levels 1..3 keep 8 (speed first).
 */
const MEM_LEVEL_DENSE = 7;

/**
 * node:zlib's options for `data`: one output buffer as large as the input (plus the stored-block overhead, rarely
 * reached: such a chunk is stored raw), so the result comes in one piece, handed out as it is (a view, no copy).
 */
const nodeOptions = (data: Uint8Array, level: number) => ({ level, memLevel: level >= 4 ? MEM_LEVEL_DENSE : 8, chunkSize: Math.max(1024, data.length + 64) });

export function deflateZlib(data: Uint8Array, level = 6): Uint8Array {
  if (zlibNode) {
    const out = zlibNode.deflateSync(data, nodeOptions(data, level));
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
  return pakoDeflate(data, { level: level as 6 });
}

/** Deflate lanes per level (Node: src/platform/zlib-lanes.ts), each kind tried once against inflateSync. */
const deflateLanes = new Map<number, LanePool>();
function lanesFor(level: number): LanePool | null {
  const z = zlibNode;
  const L = zlibLanes;
  if (!z || !L) return null;
  let p = deflateLanes.get(level);
  if (!p) {
    const opts = nodeOptions(new Uint8Array(0), level);
    p = new L.LanePool(
      () => L.makeLane(z, () => z.createDeflate({ level: opts.level, memLevel: opts.memLevel })),
      async (lane) => {
        const plain = new Uint8Array(70000);
        for (let i = 0; i < plain.length; i++) plain[i] = (i * 7 + (i >> 9)) & 0xff;
        const out = new Uint8Array(plain.length);
        const r = await lane(plain, out);
        const tight = await lane(plain, new Uint8Array(r.produced - 1));
        return !r.over && tight.over && L.sameBytes(z.inflateSync(out.subarray(0, r.produced)), plain);
      },
    );
    deflateLanes.set(level, p);
  }
  return p;
}

/** Output buffers of finished jobs (one per job in flight), reused. */
const scratch: Uint8Array[] = [];
/** Takes a job's output buffer back for a later job (at most 16 kept). */
const keep = (whole: Uint8Array): void => {
  if (scratch.length < 16) scratch.push(whole);
};

/**
 * deflateZlib on libuv's thread pool (Node only): the same bytes, off the calling thread, or null when the
 * result would not be smaller than `data` (store it raw). One reused stream per job in flight, its output copied
 * out at its exact size, or with `lend` handed out as a view of the job's buffer, for the caller to give back
 * (giveBack, src/util/lent.ts) once it has written it: no copy and no new buffer per chunk (a new 350 KB buffer
 * and its copy cost ~1.3 ms of CPU here, mostly page faults: ~5 % of a 1 MiB chunk's deflate at level 6).
 */
export async function deflateZlibAsync(data: Uint8Array, level = 6, lend = false): Promise<Uint8Array | null> {
  const lanes = lanesFor(level);
  if (lanes && data.length > 0) {
    let buf = scratch.pop();
    if (!buf || buf.length < data.length) buf = new Uint8Array(data.length);
    let handed = false;
    try {
      const r = await lanes.run(data, buf.subarray(0, data.length - 1));
      if (r && lend && !r.over) {
        // A view of the job's buffer, no copy: the caller gives it back (util/lent.ts) once written.
        handed = true;
        return lendView(buf.subarray(0, r.produced), keep);
      }
      if (r) return r.over ? null : buf.slice(0, r.produced);
    } finally {
      if (!handed) keep(buf);
    }
  }
  const z = zlibNode;
  const out = z
    ? await new Promise<Uint8Array>((resolve, reject) =>
        z.deflate(data, nodeOptions(data, level), (err, b) => (err ? reject(err) : resolve(new Uint8Array(b.buffer, b.byteOffset, b.length)))),
      )
    : deflateZlib(data, level);
  return out.length < data.length ? out : null;
}

