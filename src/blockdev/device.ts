import { createHash } from 'node:crypto';
import { DmgkitError, at } from '../errors.js';
import type { Limits } from '../limits.js';
import type { ByteSource } from '../io/source.js';
import type { SourceInput } from '../io/open-source.js';
import { openDisk, type OpenedDisk, type OpenOptions } from '../open.js';
import type { TaskPool } from '../pool/pool.js';
import { type BaseDisk, PlainBase, type ReadParts, UdifBase, checkDeviceRange } from './base.js';
import { IDENTITY_BYTES } from './shadow-format.js';
import type { UdifImage } from '../udif/image.js';
import { KOLY_SIZE } from '../udif/koly.js';
import { type ShadowFile, openShadowFile } from './shadow.js';
import type { BlockDevice, Extent, WriteOptions } from './types.js';

export interface OpenBlockDeviceOptions {
  /** A shadow file: writes go there, reads merge it over the image (created when missing). */
  shadow?: string;
  /** Refuse writes even with a shadow (reads still merge it). Default: read-only without a shadow. */
  readOnly?: boolean;
  /** Serve one partition-map entry (its `index` as `dmgkit info` lists it) instead of the whole disk. */
  partition?: number;
  /** Decoder threads for compressed chunks (default 1: on the calling thread). */
  threads?: number;
  /**
   * A pool to decode on, whose workers load the 'udif.batch' task (`decodePool` of udif/to-file.ts without
   * callerRuns); else one of `threads` workers is made and closed with the device.
   */
  pool?: TaskPool;
  /** Sectors per band of a new shadow (default 512 = 256 KiB). */
  bandSectors?: number;
  limits?: Partial<Limits>;
  /** How the image is opened (an http(s) URL's timeout and redirects, overlapping chunks refused). */
  open?: Pick<OpenOptions, 'http' | 'rejectOverlappingChunks'>;
}

/** Size of the base-image prefix and suffix hashed into the shadow's identity. */
export const IDENTITY_SPAN = 1 << 20;

/**
 * The base image's identity recorded in a shadow: SHA-256 (first 16 bytes) over a label, the image file's size,
 * the served range, its first and last MiB, and for UDIF the koly trailer and the whole chunk table (the XML plist
 * or resource fork it names: every chunk's type, place and checksum, which identifies the content cheaply even
 * when the table is larger than a MiB). `legacy`: the identity dmgkit recorded before the table was hashed (v1:
 * no table), still accepted when opening an older shadow.
 */
export async function baseIdentity(file: ByteSource, start: number, size: number, udif?: UdifImage, legacy = false): Promise<Uint8Array> {
  const h = createHash('sha256');
  h.update(udif && !legacy ? 'dmgkit shadow base v2\0' : 'dmgkit shadow base v1\0');
  h.update(`${file.size}:${start}:${size}\0`);
  const head = Math.min(IDENTITY_SPAN, file.size);
  h.update(await file.read(0, head));
  const tailStart = Math.max(head, file.size - IDENTITY_SPAN);
  if (tailStart < file.size) h.update(await file.read(tailStart, file.size - tailStart));
  if (udif && !legacy && udif.source === file) {
    h.update(await file.read(udif.kolyOffset, KOLY_SIZE));
    const k = udif.koly;
    // the table was read and bounded when the image was opened (limits.maxPlistBytes)
    const [off, len] = k.xmlLength > 0 ? [k.xmlOffset, k.xmlLength] : [k.rsrcForkOffset, k.rsrcForkLength];
    if (len > 0 && off + len <= file.size) h.update(await file.read(off, len));
  }
  return new Uint8Array(h.digest().subarray(0, IDENTITY_BYTES));
}

/** The served byte range: the whole disk or one partition-map entry. */
async function selectExport(opened: OpenedDisk, partition?: number): Promise<{ start: number; size: number; what: string }> {
  if (partition === undefined) return { start: 0, size: opened.disk.size, what: 'the whole disk' };
  const { readPartitionMap } = await import('../disk/partition-map.js');
  const map = await readPartitionMap(opened.disk);
  const e = map.entries.find((x) => x.index === partition);
  if (!e) throw new DmgkitError('OUT_OF_RANGE', `no partition ${partition} in the ${map.scheme} partition map (${map.entries.length} entries)`);
  if (e.offset >= opened.disk.size) throw new DmgkitError('OUT_OF_RANGE', `partition ${partition} starts ${at(e.offset)}, past the end of the ${opened.disk.size}-byte disk`, { offset: e.offset });
  return { start: e.offset, size: Math.min(e.size, opened.disk.size - e.offset), what: `partition ${partition} (${e.name || e.typeName})` };
}

/** A device over a read-only base, with an optional shadow that takes the writes. */
export class ShadowDevice implements BlockDevice {
  readonly size: number;
  readonly name: string;
  private readonly pending = new Map<number, Promise<void>>();
  private closed = false;

  constructor(
    private readonly base: BaseDisk,
    private readonly shadow: ShadowFile | null,
    readonly readOnly: boolean,
    private readonly onClose: () => Promise<void> = async () => undefined,
    /** What is served, for messages. */
    readonly what = 'the whole disk',
  ) {
    this.size = base.size;
    this.name = base.name;
  }

  /** Bands stored in the shadow (0 without one). */
  get shadowBands(): number {
    return this.shadow?.storedBands ?? 0;
  }

  /** The bytes as views to send, then release (no copy where the image's chunk cache holds them). */
  async readParts(offset: number, length: number): Promise<ReadParts> {
    this.checkOpen();
    const sh = this.shadow;
    if (this.base.readParts && (!sh || sh.storedBands === 0 || this.baseOnly(sh, offset, length))) return this.base.readParts(offset, length);
    return { parts: [await this.read(offset, length)], release: () => undefined };
  }

  /** Starts the decoder threads ahead of the first client (a server calls it once it listens). */
  warm(): void {
    this.base.warm?.();
  }

  /** True when no band of the range is stored in the shadow. */
  private baseOnly(sh: ShadowFile, offset: number, length: number): boolean {
    if (length === 0) return true;
    const last = Math.floor((offset + length - 1) / sh.bandBytes);
    for (let b = Math.floor(offset / sh.bandBytes); b <= last; b++) if (sh.location(b) !== undefined) return false;
    return true;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    this.checkOpen();
    checkDeviceRange(this.size, offset, length, 'read');
    const sh = this.shadow;
    if (!sh || sh.storedBands === 0) return this.base.read(offset, length);
    const bb = sh.bandBytes;
    const end = offset + length;
    // Runs of base / shadow bytes; a request inside one run needs no copy.
    const runs: { from: number; to: number; loc?: number }[] = [];
    for (let pos = offset; pos < end; ) {
      const band = Math.floor(pos / bb);
      const to = Math.min(end, (band + 1) * bb);
      const loc = sh.location(band);
      const last = runs[runs.length - 1];
      if (loc === undefined && last && last.loc === undefined) last.to = to;
      else runs.push({ from: pos, to, loc: loc === undefined ? undefined : loc + (pos - band * bb) });
      pos = to;
    }
    const fetch = (r: (typeof runs)[number]) => (r.loc === undefined ? this.base.read(r.from, r.to - r.from) : sh.readAt(r.loc, r.to - r.from));
    if (runs.length === 1) return fetch(runs[0]);
    const out = new Uint8Array(length);
    await Promise.all(runs.map((r) => fetch(r).then((b) => out.set(b, r.from - offset))));
    return out;
  }

  private writable(): ShadowFile {
    this.checkOpen();
    if (this.readOnly || !this.shadow) {
      throw new DmgkitError('UNSUPPORTED', `${this.name} is served read-only${this.shadow ? '' : ' (no shadow file)'}`);
    }
    return this.shadow;
  }

  async write(offset: number, data: Uint8Array, opts: WriteOptions = {}): Promise<void> {
    const sh = this.writable();
    checkDeviceRange(this.size, offset, data.length, 'write');
    const bb = sh.bandBytes;
    const end = offset + data.length;
    const jobs: Promise<void>[] = [];
    for (let pos = offset; pos < end; ) {
      const band = Math.floor(pos / bb);
      const to = Math.min(end, (band + 1) * bb);
      jobs.push(this.writeBand(sh, band, pos - band * bb, data.subarray(pos - offset, to - offset)));
      pos = to;
    }
    await Promise.all(jobs);
    if (opts.fua) await sh.sync();
  }

  /**
   * Writes inside one band: in place when stored, else copies the base's band into the shadow first. `zeroBand`:
   * `part` is zeros covering the whole band, stored (when not yet) as a band of zeros without writing its data.
   */
  private async writeBand(sh: ShadowFile, band: number, inBand: number, part: Uint8Array, zeroBand = false): Promise<void> {
    for (;;) {
      const loc = sh.location(band);
      if (loc !== undefined) return sh.writeAt(loc + inBand, part);
      const busy = this.pending.get(band);
      if (!busy) break;
      await busy.catch(() => undefined);
    }
    const alloc = (async () => {
      if (zeroBand) {
        await sh.allocateZero(band);
        return;
      }
      const bb = sh.bandBytes;
      const content = new Uint8Array(bb);
      const bandStart = band * bb;
      const inDisk = Math.min(bb, this.size - bandStart);
      if (!(inBand === 0 && part.length >= inDisk)) content.set(await this.base.read(bandStart, inDisk), 0);
      content.set(part, inBand);
      await sh.allocate(band, content);
    })();
    this.pending.set(band, alloc);
    try {
      await alloc;
    } finally {
      this.pending.delete(band);
    }
  }

  async writeZeroes(offset: number, length: number, opts: WriteOptions = {}): Promise<void> {
    const sh = this.writable();
    checkDeviceRange(this.size, offset, length, 'write zeroes');
    const bb = sh.bandBytes;
    const zeros = new Uint8Array(Math.min(bb, length));
    const end = offset + length;
    const jobs: Promise<void>[] = [];
    for (let pos = offset; pos < end; ) {
      const band = Math.floor(pos / bb);
      const to = Math.min(end, (band + 1) * bb);
      jobs.push(this.zeroBand(sh, band, pos, to, zeros));
      pos = to;
    }
    await Promise.all(jobs);
    if (opts.fua) await sh.sync();
  }

  private async zeroBand(sh: ShadowFile, band: number, from: number, to: number, zeros: Uint8Array): Promise<void> {
    const bandStart = band * sh.bandBytes;
    const whole = from === bandStart && to === Math.min(this.size, bandStart + sh.bandBytes);
    // A band that is not stored and reads as zeros in the base needs nothing.
    if (sh.location(band) === undefined && !this.pending.has(band)) {
      const ext = this.base.extents(from, to - from);
      if (ext.length === 1 && ext[0].zero && ext[0].length === to - from) return;
    }
    return this.writeBand(sh, band, from - bandStart, zeros.subarray(0, to - from), whole);
  }

  /**
   * TRIM: the range reads as zeros afterwards, recorded in the shadow like WRITE_ZEROES (crash-safe the same way,
   * durable after the next flush): whole bands not stored yet become bands of zeros that take no data writes (a
   * hole at the end of the shadow), stored bands and partial bands are zeroed in place, and bands that read as
   * zeros in the image need nothing.
   */
  async trim(offset: number, length: number, opts: WriteOptions = {}): Promise<void> {
    this.writable();
    checkDeviceRange(this.size, offset, length, 'trim');
    if (length > 0) await this.writeZeroes(offset, length, opts);
    else if (opts.fua) await this.shadow!.sync();
  }

  async flush(): Promise<void> {
    this.checkOpen();
    await this.shadow?.sync();
  }

  async extents(offset: number, length: number): Promise<Extent[]> {
    this.checkOpen();
    checkDeviceRange(this.size, offset, length, 'block status');
    const sh = this.shadow;
    if (!sh || sh.storedBands === 0) return this.base.extents(offset, length);
    const bb = sh.bandBytes;
    const end = offset + length;
    const out: Extent[] = [];
    const push = (e: Extent) => {
      const last = out[out.length - 1];
      if (last && last.zero === e.zero && last.hole === e.hole) last.length += e.length;
      else out.push({ ...e });
    };
    for (let pos = offset; pos < end && out.length < 4096; ) {
      const band = Math.floor(pos / bb);
      let to = Math.min(end, (band + 1) * bb);
      if (sh.location(band) !== undefined) {
        push({ offset: pos, length: to - pos, zero: false, hole: false });
      } else {
        // extend over following bands that are not stored either
        while (to < end && sh.location(Math.floor(to / bb)) === undefined) to = Math.min(end, to + bb);
        for (const e of this.base.extents(pos, to - pos)) push(e);
      }
      pos = to;
    }
    return out;
  }

  private checkOpen(): void {
    if (this.closed) throw new DmgkitError('IO_ERROR', `the block device ${this.name} is closed`);
  }

  /** Flushes and closes the shadow, then the image. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.pending.values()]);
    this.closed = true;
    try {
      await this.shadow?.close();
    } finally {
      await this.onClose();
    }
  }
}

/**
 * Opens any image dmgkit reads (UDIF of every codec, sparse image or bundle, raw disk) as a block device, the
 * whole disk or one partition. Without `shadow` it is read-only; with one, writes go to the shadow file
 * (docs/formats/shadow.md) and the image is never written.
 */
export async function openBlockDevice(image: SourceInput, opts: OpenBlockDeviceOptions = {}): Promise<ShadowDevice> {
  let pool = opts.pool;
  let ownPool = false;
  let opened: OpenedDisk | undefined;
  let shadow: ShadowFile | null = null;
  let base: BaseDisk | undefined;
  const release = async () => {
    (base as UdifBase | undefined)?.close?.();
    await opened?.close();
    if (ownPool) await pool!.close();
  };
  try {
    opened = await openDisk(image, { ...opts.open, limits: opts.limits });
    const { start, size, what } = await selectExport(opened, opts.partition);
    const threads = Math.max(1, opts.threads ?? 1);
    if (opened.udif && !pool) {
      // No caller-runs thread: the server's thread stays free for the sockets while the workers decode.
      const [{ createPool }, { BATCH_TASK_MODULE }] = await Promise.all([import('../pool/node.js'), import('../udif/to-file.js')]);
      pool = createPool(threads, { modules: [BATCH_TASK_MODULE] });
      ownPool = true;
    }
    base = opened.udif
      ? new UdifBase(opened.udif, start, size, pool!, Math.max(4, 2 * (pool!.threads ?? threads)))
      : new PlainBase(opened.disk, start, size);
    if (opts.shadow) {
      const file = opened.source ?? opened.disk;
      const identity = await baseIdentity(file, start, size, opened.udif);
      const legacy = opened.udif ? () => baseIdentity(file, start, size, opened!.udif, true) : undefined;
      shadow = await openShadowFile(opts.shadow, { size, identity, legacyIdentity: legacy, bandSectors: opts.bandSectors, create: !opts.readOnly });
    }
    return new ShadowDevice(base, shadow, opts.readOnly ?? !shadow, release, what);
  } catch (e) {
    await shadow?.close().catch(() => undefined);
    await release().catch(() => undefined);
    throw e;
  }
}

/** Largest piece `devicePieces` reads at once. */
const DEVICE_PIECE = 4 << 20;

/**
 * The device in order as pieces (`data` null for runs that read as zeros, from its extents), reading the next
 * piece while the caller consumes the current one: what `convert --shadow` writes.
 */
export async function* devicePieces(device: BlockDevice, start = 0, end = device.size): AsyncGenerator<{ offset: number; length: number; data: Uint8Array | null }> {
  checkDeviceRange(device.size, start, end - start, 'range');
  const plan: { offset: number; length: number; zero: boolean }[] = [];
  let planned = start;
  const more = async () => {
    if (planned >= end) return;
    const ext = device.extents ? await device.extents(planned, Math.min(end - planned, 1 << 30)) : [{ offset: planned, length: end - planned, zero: false, hole: false }];
    for (const e of ext) {
      for (let o = 0; o < e.length; o += DEVICE_PIECE) plan.push({ offset: e.offset + o, length: Math.min(DEVICE_PIECE, e.length - o), zero: e.zero });
      planned = e.offset + e.length;
    }
  };
  let next: Promise<Uint8Array | null> | null = null;
  const fetch = (p: (typeof plan)[number]) => (p.zero ? Promise.resolve(null) : device.read(p.offset, p.length));
  await more();
  let cur = plan.shift();
  if (cur) next = fetch(cur);
  while (cur) {
    if (plan.length === 0) await more();
    const following = plan.shift();
    const data = await next!;
    next = following ? fetch(following) : null;
    next?.catch(() => undefined);
    yield { offset: cur.offset, length: cur.length, data };
    cur = following;
  }
}
