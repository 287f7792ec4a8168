import { DmgkitError, at } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { CHUNK_RAW, chunkTypeName, isZeroFill } from './chunk-types.js';
import { decoderFor, requireCodec } from './chunk-codecs.js';
import type { ChunkRef, UdifPartition } from './layout.js';

/** Where to run a chunk decoder: on this thread, or handed to a pool (worker threads / libuv). */
export interface DecodeExecutor {
  decode(type: number, input: Uint8Array, outLength: number): Promise<Uint8Array>;
  close?(): Promise<void>;
}

export function chunkWhere(ref: ChunkRef, partitions: readonly UdifPartition[]): string {
  const p = partitions[ref.partition];
  return `partition ${ref.partition}${p?.name ? ` (${p.name})` : ''}, chunk ${ref.index} (${chunkTypeName(ref.type)}) ${at(ref.inOffset)}`;
}

/** Re-throws a decoder failure as a DmgkitError naming the partition, chunk and file offset. */
export function chunkError(e: unknown, ref: ChunkRef, partitions: readonly UdifPartition[]): DmgkitError {
  const where = chunkWhere(ref, partitions);
  if (e instanceof DmgkitError) {
    if (e.code === 'CORRUPT_CHUNK' || e.code === 'UNSUPPORTED_CODEC') {
      return new DmgkitError(e.code, `${where}: ${e.message}`, { ...e.details, partition: ref.partition, chunk: ref.index, offset: ref.inOffset }, { cause: e });
    }
    return e;
  }
  return new DmgkitError('CORRUPT_CHUNK', `${where}: ${(e as Error)?.message ?? String(e)}`, {
    partition: ref.partition, chunk: ref.index, offset: ref.inOffset,
  }, { cause: e });
}

export function damagedChunk(ref: ChunkRef): DmgkitError {
  return new DmgkitError('CORRUPT_TABLE', ref.damage ?? 'damaged chunk', { partition: ref.partition, chunk: ref.index, offset: ref.inOffset });
}

/** Decodes synchronously on the calling thread. */
export function decodeSync(type: number, input: Uint8Array, outLength: number): Uint8Array {
  const codec = requireCodec(type, 'decoder');
  if (codec.decodeNew) return codec.decodeNew(input, outLength);
  const out = new Uint8Array(outLength);
  codec.decode(input, out);
  return out;
}

export const syncExecutor: DecodeExecutor = {
  async decode(type, input, outLength) {
    await decoderFor(type, 'decoder'); // imported on first use
    return decodeSync(type, input, outLength);
  },
};

/** Uses a codec's own off-thread variant (node:zlib on the libuv pool) where it has one. */
export const asyncExecutor: DecodeExecutor = {
  async decode(type, input, outLength) {
    const codec = await decoderFor(type, 'decoder');
    if (codec.decodeAsync) return codec.decodeAsync(input, outLength);
    const out = new Uint8Array(outLength);
    codec.decode(input, out);
    return out;
  },
};

/** Reads and decodes one data-bearing chunk (raw or compressed). */
export async function loadChunk(
  src: ByteSource,
  ref: ChunkRef,
  partitions: readonly UdifPartition[],
  executor: DecodeExecutor,
): Promise<Uint8Array> {
  if (isZeroFill(ref.type)) return new Uint8Array(ref.outLength);
  if (ref.damage) throw damagedChunk(ref);
  try {
    if (ref.type === CHUNK_RAW) return await src.read(ref.inOffset, ref.outLength);
    const input = await src.read(ref.inOffset, ref.inLength);
    return await executor.decode(ref.type, input, ref.outLength);
  } catch (e) {
    throw chunkError(e, ref, partitions);
  }
}
