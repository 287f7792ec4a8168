import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DmgkitError, at } from '../errors.js';
import { HDR_BAND_SLOTS, IDX_BAND_SLOTS, SPARSE_NODE_SIZE, SPARSE_SECTOR } from '../container/sparseimage.js';
import {
  DEFAULT_BAND_SECTORS, IDENTITY_BYTES, parseHeader, parseIndexNode, serializeHeader, serializeIndexNode,
} from './shadow-format.js';

interface Node {
  /** File offset of the node; its slot k's band is stored at offset + 4096 + k × bandBytes. */
  offset: number;
  header: boolean;
  number: number;
  nextNode: number;
  slots: Uint32Array;
  /** Slots handed out (committed or being written). */
  used: number;
  dirty: boolean;
}

function ioError(what: string, path: string, e: unknown): DmgkitError {
  const err = e as NodeJS.ErrnoException;
  return new DmgkitError('IO_ERROR', `${what} ${path}: ${err?.code ?? err?.message ?? String(e)}`, { path }, { cause: e });
}

export interface ShadowFileOptions {
  /** Virtual size of the served device, in bytes. */
  size: number;
  /** Identity of the base image (16 bytes, see identity.ts). */
  identity: Uint8Array;
  /** Sectors per band for a new shadow (default 512: 256 KiB). */
  bandSectors?: number;
  /** An older form of the base's identity, also accepted when opening (the header records `identity` when next written). */
  legacyIdentity?: () => Promise<Uint8Array>;
}

/**
 * A shadow file opened for reading and writing (format: shadow-format.ts, docs/formats/shadow.md).
 *
 * Crash safety: band data goes to its place first; a band's slot is set in the in-memory node only once its data
 * write has completed; `sync()` snapshots the changed nodes, fdatasyncs the data, writes the snapshots (newest
 * node first, so a link never names an unwritten node) and fsyncs. A slot on disk therefore always names data
 * that was durable before the slot was written. On open, every node's CRC is checked, and every band a slot names
 * must lie wholly inside the file: a shadow cut short is refused, never read as zeros.
 */
export class ShadowFile {
  readonly bandBytes: number;
  private readonly nodes: Node[];
  /** Logical band (0-based) → file offset of its data, for committed bands. */
  private readonly bands = new Map<number, number>();
  private syncChain: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    readonly size: number,
    sectorsPerBand: number,
    nodes: Node[],
    /** The file's length when opened (or created). */
    private readonly openedSize: number,
  ) {
    this.bandBytes = sectorsPerBand * SPARSE_SECTOR;
    this.nodes = nodes;
    for (const n of nodes) {
      for (let k = 0; k < n.slots.length; k++) {
        if (n.slots[k]) this.bands.set(n.slots[k] - 1, n.offset + SPARSE_NODE_SIZE + k * this.bandBytes);
      }
    }
  }

  get storedBands(): number {
    return this.bands.size;
  }

  /** File offset of a committed band's data, or undefined. */
  location(band: number): number | undefined {
    return this.bands.get(band);
  }

  /** Creates a new shadow (the file must not exist), durable (file and directory fsynced) on return. */
  static async create(path: string, opts: ShadowFileOptions): Promise<ShadowFile> {
    const sectorsPerBand = opts.bandSectors ?? DEFAULT_BAND_SECTORS;
    if (!Number.isInteger(sectorsPerBand) || sectorsPerBand < 8 || sectorsPerBand > 1 << 21) {
      throw new DmgkitError('INVALID_ARGUMENT', `shadow band of ${sectorsPerBand} sectors: use 8..2097152`);
    }
    let fh: FileHandle;
    try {
      fh = await open(path, 'wx+');
    } catch (e) {
      throw ioError('cannot create the shadow file', path, e);
    }
    try {
      const totalSectors = Math.ceil(opts.size / SPARSE_SECTOR);
      const header: Node = { offset: 0, header: true, number: 0, nextNode: 0, slots: new Uint32Array(HDR_BAND_SLOTS), used: 0, dirty: false };
      const bytes = serializeHeader({ sectorsPerBand, totalSectors, nextNode: 0, identity: opts.identity, slots: header.slots });
      await fh.write(bytes, 0, bytes.length, 0);
      await fh.sync();
      await syncDirectory(dirname(path));
      return new ShadowFile(fh, path, totalSectors * SPARSE_SECTOR, sectorsPerBand, [header], bytes.length);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e instanceof DmgkitError ? e : ioError('cannot write the shadow file', path, e);
    }
  }

  /** Opens an existing shadow and checks it against the base (size, identity) and for damage. */
  static async open(path: string, opts: ShadowFileOptions): Promise<ShadowFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r+');
    } catch (e) {
      throw ioError('cannot open the shadow file', path, e);
    }
    try {
      const fileSize = (await fh.stat()).size;
      const head = new Uint8Array(Math.min(SPARSE_NODE_SIZE, fileSize));
      await readFully(fh, head, 0, path);
      const h = parseHeader(head, path);
      const totalSectors = Math.ceil(opts.size / SPARSE_SECTOR);
      if (h.totalSectors !== totalSectors) {
        throw new DmgkitError('INVALID_ARGUMENT', `${path} is a shadow of a ${h.totalSectors * SPARSE_SECTOR}-byte disk; this image serves ${totalSectors * SPARSE_SECTOR} bytes: it was made for another image`, { path });
      }
      if (!equalBytes(h.identity, opts.identity.subarray(0, IDENTITY_BYTES)) && !(opts.legacyIdentity && equalBytes(h.identity, (await opts.legacyIdentity()).subarray(0, IDENTITY_BYTES)))) {
        throw new DmgkitError('INVALID_ARGUMENT', `${path} was made for another base image (its recorded identity ${hexOf(h.identity)} is not this image's ${hexOf(opts.identity.subarray(0, IDENTITY_BYTES))})`, { path });
      }
      const bandBytes = h.sectorsPerBand * SPARSE_SECTOR;
      const bandCount = Math.ceil((totalSectors * SPARSE_SECTOR) / bandBytes);
      const nodes: Node[] = [{ offset: 0, header: true, number: 0, nextNode: h.nextNode, slots: h.slots, used: lastUsed(h.slots), dirty: false }];
      const seen = new Set<number>();
      const checkSlots = (n: Node) => {
        for (let k = 0; k < n.slots.length; k++) {
          const b = n.slots[k];
          if (!b) continue;
          const where = n.offset + (n.header ? 64 : 56) + 4 * k;
          if (b > bandCount) throw new DmgkitError('CORRUPT_HEADER', `${path}: slot ${k} names band ${b}, beyond the ${bandCount} bands of the disk ${at(where)}`, { offset: where });
          if (seen.has(b)) throw new DmgkitError('CORRUPT_HEADER', `${path}: band ${b} is stored twice ${at(where)}`, { offset: where });
          seen.add(b);
          const dataEnd = n.offset + SPARSE_NODE_SIZE + (k + 1) * bandBytes;
          if (dataEnd > fileSize) {
            throw new DmgkitError('TRUNCATED', `${path} is cut short: band ${b} ends ${at(dataEnd)} but the file has ${fileSize} bytes (a crash or a partial copy); refusing to read it as zeros`, { offset: dataEnd });
          }
        }
      };
      checkSlots(nodes[0]);
      // Index nodes: each must sit right after the previous node's full run of bands (where dmgkit puts it).
      let next = h.nextNode;
      while (next !== 0) {
        const prev = nodes[nodes.length - 1];
        const expected = prev.offset + SPARSE_NODE_SIZE + prev.slots.length * bandBytes;
        if (next !== expected) throw new DmgkitError('CORRUPT_HEADER', `${path}: index node link ${at(next)} is not where the previous node's bands end (${expected})`, { offset: next });
        if (next + SPARSE_NODE_SIZE > fileSize) {
          throw new DmgkitError('TRUNCATED', `${path} is cut short: index node ${at(next)} lies past the end of the ${fileSize}-byte file`, { offset: next });
        }
        const buf = new Uint8Array(SPARSE_NODE_SIZE);
        await readFully(fh, buf, next, path);
        const idx = parseIndexNode(buf, next, path);
        const node: Node = { offset: next, header: false, number: idx.number, nextNode: idx.nextNode, slots: idx.slots, used: lastUsed(idx.slots), dirty: false };
        if (prev.used < prev.slots.length) prev.used = prev.slots.length; // never hand out slots before a later node
        checkSlots(node);
        nodes.push(node);
        next = idx.nextNode;
      }
      return new ShadowFile(fh, path, totalSectors * SPARSE_SECTOR, h.sectorsPerBand, nodes, fileSize);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e instanceof DmgkitError ? withAdvice(e, path) : ioError('cannot read the shadow file', path, e);
    }
  }

  /** Reads `length` bytes of file data at `fileOffset` (inside a committed band). */
  async readAt(fileOffset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    await readFully(this.fh, out, fileOffset, this.path);
    return out;
  }

  /** Writes into a committed band's data. */
  async writeAt(fileOffset: number, data: Uint8Array): Promise<void> {
    this.checkOpen();
    try {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await this.fh.write(data, done, data.length - done, fileOffset + done);
        done += bytesWritten;
      }
    } catch (e) {
      throw ioError('cannot write the shadow file', this.path, e);
    }
  }

  /** The next free slot (a new index node when the last is full) and its data's file offset. */
  private claimSlot(): { node: Node; slot: number; fileOffset: number } {
    this.checkOpen();
    let node = this.nodes[this.nodes.length - 1];
    if (node.used >= node.slots.length) {
      const offset = node.offset + SPARSE_NODE_SIZE + node.slots.length * this.bandBytes;
      const fresh: Node = { offset, header: false, number: this.nodes.length, nextNode: 0, slots: new Uint32Array(IDX_BAND_SLOTS), used: 0, dirty: true };
      node.nextNode = offset;
      node.dirty = true;
      this.nodes.push(fresh);
      node = fresh;
    }
    const slot = node.used++;
    return { node, slot, fileOffset: node.offset + SPARSE_NODE_SIZE + slot * this.bandBytes };
  }

  /** Commits a slot whose data write completed (durable after the next sync()). */
  private commit(node: Node, slot: number, band: number, fileOffset: number): number {
    node.slots[slot] = band + 1;
    node.dirty = true;
    this.bands.set(band, fileOffset);
    return fileOffset;
  }

  /**
   * Stores a new band (full `bandBytes` of content) and commits it in memory; durable after the next sync().
   * The caller makes sure one band is allocated once (see ShadowDevice).
   */
  async allocate(band: number, content: Uint8Array): Promise<number> {
    if (content.length !== this.bandBytes) throw new DmgkitError('INVALID_ARGUMENT', `band content must be ${this.bandBytes} bytes`);
    const { node, slot, fileOffset } = this.claimSlot();
    await this.writeAt(fileOffset, content);
    return this.commit(node, slot, band, fileOffset);
  }

  /**
   * Stores a new band of zeros (TRIM, WRITE_ZEROES). A slot past what the file held when opened was never written
   * (slots are handed out in file order), so writing the band's last byte suffices: the rest stays a hole that
   * reads as zeros (and the file's length, made durable by sync's fdatasync, covers the band). A slot inside the
   * opened file may hold bytes of a write that a crash left uncommitted: it is written with zeros.
   */
  async allocateZero(band: number): Promise<number> {
    const { node, slot, fileOffset } = this.claimSlot();
    const bb = this.bandBytes;
    if (fileOffset < this.openedSize) await this.writeAt(fileOffset, new Uint8Array(bb));
    else await this.writeAt(fileOffset + bb - 1, new Uint8Array(1));
    return this.commit(node, slot, band, fileOffset);
  }

  /** Makes every completed write and allocation durable (see the class comment for the order). */
  sync(): Promise<void> {
    const run = this.syncChain.then(() => this.syncOnce());
    this.syncChain = run.catch(() => undefined);
    return run;
  }

  private async syncOnce(): Promise<void> {
    if (this.closed) return;
    const snapshots: { offset: number; bytes: Uint8Array }[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (!n.dirty) continue;
      n.dirty = false;
      snapshots.push({ offset: n.offset, bytes: this.serialize(n) });
    }
    try {
      await this.fh.datasync();
      if (snapshots.length === 0) return;
      for (const s of snapshots) await this.writeAt(s.offset, s.bytes);
      await this.fh.sync();
    } catch (e) {
      for (const n of this.nodes) n.dirty = true; // write them again next time
      throw e instanceof DmgkitError ? e : ioError('cannot sync the shadow file', this.path, e);
    }
  }

  private headerCache: { sectorsPerBand: number; totalSectors: number; identity: Uint8Array } | null = null;

  private serialize(n: Node): Uint8Array {
    if (n.header) {
      const h = this.headerCache!;
      return serializeHeader({ ...h, nextNode: n.nextNode, slots: n.slots });
    }
    return serializeIndexNode({ number: n.number, nextNode: n.nextNode, slots: n.slots });
  }

  /** Called once by the factory functions. */
  setHeaderFields(identity: Uint8Array): this {
    this.headerCache = { sectorsPerBand: this.bandBytes / SPARSE_SECTOR, totalSectors: this.size / SPARSE_SECTOR, identity: identity.slice(0, IDENTITY_BYTES) };
    return this;
  }

  private checkOpen(): void {
    if (this.closed) throw new DmgkitError('IO_ERROR', `the shadow file ${this.path} is closed`, { path: this.path });
  }

  /** Syncs and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.sync();
    } finally {
      this.closed = true;
      await this.fh.close().catch(() => undefined);
    }
  }
}

export async function openShadowFile(path: string, opts: ShadowFileOptions & { create?: boolean }): Promise<ShadowFile> {
  const { stat } = await import('node:fs/promises');
  const exists = await stat(path).then(() => true, () => false);
  const f = exists ? await ShadowFile.open(path, opts) : opts.create === false
    ? (() => { throw new DmgkitError('NOT_FOUND', `shadow file ${path} does not exist`, { path }); })()
    : await ShadowFile.create(path, opts);
  return f.setHeaderFields(opts.identity);
}

/** Codes of a shadow refused as damaged (cut short, bad CRC, inconsistent nodes). */
const DAMAGE_CODES = new Set(['TRUNCATED', 'CORRUPT_HEADER', 'CHECKSUM_MISMATCH']);

/** Adds what to do to a refusal: dmgkit never repairs a shadow (a guess could serve a wrong disk). */
function withAdvice(e: DmgkitError, path: string): DmgkitError {
  let advice: string | null = null;
  if (DAMAGE_CODES.has(e.code)) {
    advice = `the shadow is damaged and dmgkit does not repair shadows. The image itself is unchanged: move ${path} aside (keep it: as a sparse image it still holds the bands it stored) and serve with a new --shadow file, or restore it from a copy`;
  } else if (e.code === 'INVALID_ARGUMENT' && /another (base )?image/.test(e.message)) {
    advice = `serve the image this shadow was made for, or give a new --shadow file for this one`;
  }
  return advice ? new DmgkitError(e.code, `${e.message}. ${advice}`, e.details, { cause: e }) : e;
}

function lastUsed(slots: Uint32Array): number {
  for (let k = slots.length - 1; k >= 0; k--) if (slots[k]) return k + 1;
  return 0;
}

async function readFully(fh: FileHandle, out: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < out.length) {
    const { bytesRead } = await fh.read(out, done, out.length - done, position + done);
    if (bytesRead === 0) {
      throw new DmgkitError('TRUNCATED', `${path} ends ${at(position + done)}, inside data it records`, { offset: position + done });
    }
    done += bytesRead;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // some platforms cannot fsync a directory; the file itself is synced
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hexOf(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
