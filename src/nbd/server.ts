import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { DmgkitError } from '../errors.js';
import type { BlockDevice } from '../blockdev/types.js';
import * as P from './protocol.js';
import { ConnectionClosed, SocketReader } from './reader.js';

export type NbdLimits = { -readonly [K in keyof typeof P.NBD_LIMITS]: number };

export interface ServeNbdOptions {
  /** TCP port (default 10809; 0 picks a free one, see `NbdServer.port`). */
  port?: number;
  /** Address to listen on (default 127.0.0.1: loopback only). */
  host?: string;
  /** A Unix socket path instead of TCP. */
  socket?: string;
  /** A server the caller created and listens with; serveNbd only handles its connections (and never closes it). */
  server?: Server;
  /** Export name clients may ask for besides the default "" (default: none). */
  exportName?: string;
  /** Free-form text for NBD_INFO_DESCRIPTION. */
  description?: string;
  /** Called with one line per notable event (connections, per-connection errors). */
  log?: (line: string) => void;
  limits?: Partial<NbdLimits>;
}

export interface NbdServer {
  /** The TCP port listened on (undefined for a Unix socket or a caller's server). */
  readonly port?: number;
  readonly address: string;
  /** Connections open now. */
  readonly connections: number;
  /** Stops accepting, lets in-flight requests finish (ESHUTDOWN for new ones), closes every connection. */
  close(): Promise<void>;
}

const be = {
  u16(v: number) {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(v);
    return b;
  },
  u32(v: number) {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v >>> 0);
    return b;
  },
  u64(v: number | bigint) {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(BigInt(v));
    return b;
  },
};

/** Maps a failure to an NBD error value and a message for the client. */
function errno(e: unknown): { code: number; message: string } {
  if (e instanceof DmgkitError) {
    switch (e.code) {
      case 'OUT_OF_RANGE':
      case 'INVALID_ARGUMENT':
        return { code: P.EINVAL, message: e.message };
      case 'UNSUPPORTED':
        return { code: P.EPERM, message: e.message };
      case 'LIMIT_EXCEEDED':
        return { code: P.EOVERFLOW, message: e.message };
      default:
        return { code: P.EIO, message: e.message };
    }
  }
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOSPC' || err?.code === 'EDQUOT' || err?.code === 'EFBIG') return { code: P.ENOSPC, message: err.message };
  return { code: P.EIO, message: err?.message ?? String(e) };
}

class RequestError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** One client connection: handshake, then transmission until DISC, a hard disconnect or shutdown. */
class Connection {
  private readonly reader: SocketReader;
  private structured = false;
  private noZeroes = false;
  private metaBaseAllocation = false;
  private inflight = 0;
  private queuedBytes = 0;
  private idleWaiters: (() => void)[] = [];
  private shuttingDown = false;
  readonly done: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly device: BlockDevice,
    private readonly opts: ServeNbdOptions,
    private readonly limits: NbdLimits,
    private readonly log: (line: string) => void,
    readonly id: number,
  ) {
    socket.setNoDelay(true);
    socket.on('error', () => undefined); // reported through the reader
    this.reader = new SocketReader(socket);
    this.done = this.run().catch((e) => {
      if (!(e instanceof ConnectionClosed)) this.log(`connection ${id}: ${(e as Error).message}`);
    }).finally(() => {
      socket.destroy();
    });
  }

  private get flags(): number {
    let f = P.FLAG_HAS_FLAGS | P.FLAG_SEND_FLUSH | P.FLAG_CAN_MULTI_CONN;
    if (this.device.readOnly) f |= P.FLAG_READ_ONLY;
    else f |= P.FLAG_SEND_FUA | P.FLAG_SEND_TRIM | P.FLAG_SEND_WRITE_ZEROES;
    if (this.structured) f |= P.FLAG_SEND_DF;
    return f;
  }

  private send(...parts: Buffer[]): void {
    const s = this.socket;
    if (s.destroyed || !s.writable) return;
    if (parts.length === 1) {
      s.write(parts[0]);
      return;
    }
    s.cork(); // one writev for the message
    for (const p of parts) s.write(p);
    s.uncork();
  }

  private async run(): Promise<void> {
    const timer = setTimeout(() => {
      this.log(`connection ${this.id}: handshake not finished in ${this.limits.handshakeTimeoutSeconds} s; closed`);
      this.socket.destroy();
    }, this.limits.handshakeTimeoutSeconds * 1000);
    timer.unref?.();
    let go: boolean;
    try {
      go = await this.handshake();
    } finally {
      clearTimeout(timer);
    }
    if (go) await this.transmission();
  }

  // ---------------------------------------------------------------- handshake

  private optReply(option: number, type: number, data: Buffer = Buffer.alloc(0)): void {
    this.send(be.u64(P.OPT_REPLY_MAGIC), be.u32(option), be.u32(type), be.u32(data.length), data);
  }

  private optError(option: number, type: number, message: string): void {
    this.optReply(option, type, Buffer.from(message.slice(0, 1024), 'utf8'));
  }

  private exportKnown(name: string): boolean {
    return name === '' || (this.opts.exportName !== undefined && name === this.opts.exportName);
  }

  /** Returns true to enter transmission, false when the client aborted. */
  private async handshake(): Promise<boolean> {
    this.send(be.u64(P.NBDMAGIC), be.u64(P.IHAVEOPT), be.u16(P.FLAG_FIXED_NEWSTYLE | P.FLAG_NO_ZEROES));
    const clientFlags = (await this.reader.read(4)).readUInt32BE(0);
    if (clientFlags & ~(P.FLAG_C_FIXED_NEWSTYLE | P.FLAG_C_NO_ZEROES)) {
      throw new Error(`unknown client flags 0x${clientFlags.toString(16)}`);
    }
    this.noZeroes = (clientFlags & P.FLAG_C_NO_ZEROES) !== 0;
    for (let n = 0; n < this.limits.maxOptions; n++) {
      const h = await this.reader.read(16);
      if (h.readBigUInt64BE(0) !== P.IHAVEOPT) throw new Error('bad option magic');
      const option = h.readUInt32BE(8);
      const len = h.readUInt32BE(12);
      if (len > this.limits.maxOptionBytes) {
        throw new Error(`option ${option} carries ${len} bytes (limit ${this.limits.maxOptionBytes}); disconnected`);
      }
      const data = len ? await this.reader.read(len) : Buffer.alloc(0);
      if (this.shuttingDown && option !== P.OPT_ABORT) {
        this.optError(option, P.REP_ERR_SHUTDOWN, 'server shutting down');
        continue;
      }
      switch (option) {
        case P.OPT_EXPORT_NAME: {
          const name = data.toString('utf8');
          if (!this.exportKnown(name)) throw new Error(`unknown export '${name.slice(0, 64)}' (EXPORT_NAME); disconnected`);
          this.send(be.u64(this.device.size), be.u16(this.flags));
          if (!this.noZeroes) this.send(Buffer.alloc(124));
          return true;
        }
        case P.OPT_ABORT:
          this.optReply(option, P.REP_ACK);
          this.socket.end();
          return false;
        case P.OPT_LIST: {
          if (len !== 0) {
            this.optError(option, P.REP_ERR_INVALID, 'NBD_OPT_LIST takes no data');
            break;
          }
          for (const name of this.opts.exportName ? ['', this.opts.exportName] : ['']) {
            const nb = Buffer.from(name, 'utf8');
            this.optReply(option, P.REP_SERVER, Buffer.concat([be.u32(nb.length), nb]));
          }
          this.optReply(option, P.REP_ACK);
          break;
        }
        case P.OPT_INFO:
        case P.OPT_GO:
          if (this.infoOrGo(option, data)) return true;
          break;
        case P.OPT_STRUCTURED_REPLY:
          if (len !== 0) this.optError(option, P.REP_ERR_INVALID, 'NBD_OPT_STRUCTURED_REPLY takes no data');
          else {
            this.structured = true;
            this.optReply(option, P.REP_ACK);
          }
          break;
        case P.OPT_LIST_META_CONTEXT:
        case P.OPT_SET_META_CONTEXT:
          this.metaContext(option, data);
          break;
        case P.OPT_STARTTLS:
          this.optError(option, P.REP_ERR_POLICY, 'TLS is not offered by this server');
          break;
        default:
          this.optError(option, P.REP_ERR_UNSUP, `option ${option} is not supported`);
      }
    }
    throw new Error(`more than ${this.limits.maxOptions} options; disconnected`);
  }

  /** NBD_OPT_INFO / NBD_OPT_GO; returns true when GO succeeded. */
  private infoOrGo(option: number, d: Buffer): boolean {
    if (d.length < 6) {
      this.optError(option, P.REP_ERR_INVALID, 'option data too short');
      return false;
    }
    const nameLen = d.readUInt32BE(0);
    if (nameLen > this.limits.maxStringBytes || 4 + nameLen + 2 > d.length) {
      this.optError(option, P.REP_ERR_INVALID, 'bad export name length');
      return false;
    }
    const name = d.subarray(4, 4 + nameLen).toString('utf8');
    const nInfo = d.readUInt16BE(4 + nameLen);
    if (4 + nameLen + 2 + 2 * nInfo !== d.length) {
      this.optError(option, P.REP_ERR_INVALID, 'bad information request count');
      return false;
    }
    if (!this.exportKnown(name)) {
      this.optError(option, P.REP_ERR_UNKNOWN, `no export named '${name.slice(0, 64)}'`);
      return false;
    }
    const wanted = new Set<number>();
    for (let i = 0; i < nInfo; i++) wanted.add(d.readUInt16BE(4 + nameLen + 2 + 2 * i));
    this.optReply(option, P.REP_INFO, Buffer.concat([be.u16(P.INFO_EXPORT), be.u64(this.device.size), be.u16(this.flags)]));
    if (wanted.has(P.INFO_NAME)) {
      this.optReply(option, P.REP_INFO, Buffer.concat([be.u16(P.INFO_NAME), Buffer.from(name, 'utf8')]));
    }
    if (wanted.has(P.INFO_DESCRIPTION) && this.opts.description) {
      this.optReply(option, P.REP_INFO, Buffer.concat([be.u16(P.INFO_DESCRIPTION), Buffer.from(this.opts.description.slice(0, 256), 'utf8')]));
    }
    if (wanted.has(P.INFO_BLOCK_SIZE)) {
      this.optReply(option, P.REP_INFO, Buffer.concat([be.u16(P.INFO_BLOCK_SIZE), be.u32(1), be.u32(4096), be.u32(this.limits.maxRequestBytes)]));
    }
    this.optReply(option, P.REP_ACK);
    return option === P.OPT_GO;
  }

  private metaContext(option: number, d: Buffer): void {
    if (!this.structured) {
      this.optError(option, P.REP_ERR_INVALID, 'negotiate structured replies first');
      return;
    }
    try {
      let o = 0;
      const need = (n: number) => {
        if (o + n > d.length) throw new Error('truncated');
      };
      need(4);
      const nameLen = d.readUInt32BE(o);
      o += 4;
      if (nameLen > this.limits.maxStringBytes) throw new Error('export name too long');
      need(nameLen);
      const name = d.subarray(o, o + nameLen).toString('utf8');
      o += nameLen;
      need(4);
      const nq = d.readUInt32BE(o);
      o += 4;
      const queries: string[] = [];
      for (let i = 0; i < nq; i++) {
        need(4);
        const ql = d.readUInt32BE(o);
        o += 4;
        if (ql > this.limits.maxStringBytes) throw new Error('query too long');
        need(ql);
        queries.push(d.subarray(o, o + ql).toString('utf8'));
        o += ql;
      }
      if (o !== d.length) throw new Error('trailing bytes');
      if (!this.exportKnown(name)) {
        this.optError(option, P.REP_ERR_UNKNOWN, `no export named '${name.slice(0, 64)}'`);
        return;
      }
      const list = option === P.OPT_LIST_META_CONTEXT;
      const match = (q: string) => q === P.META_BASE_ALLOCATION || (list && q === 'base:');
      const selected = list ? (nq === 0 || queries.some(match)) : queries.some(match);
      if (!list) this.metaBaseAllocation = selected;
      if (selected) {
        const nb = Buffer.from(P.META_BASE_ALLOCATION, 'utf8');
        this.optReply(option, P.REP_META_CONTEXT, Buffer.concat([be.u32(list ? 0 : 1), nb]));
      }
      this.optReply(option, P.REP_ACK);
    } catch (e) {
      this.optError(option, P.REP_ERR_INVALID, `malformed meta-context option: ${(e as Error).message}`);
    }
  }

  // ---------------------------------------------------------------- transmission

  private async waitIdle(maxInflight: number, maxBytes: number): Promise<void> {
    while (this.inflight > maxInflight || this.queuedBytes > maxBytes || this.socket.writableLength > this.limits.maxQueuedBytes) {
      if (this.socket.destroyed) throw new ConnectionClosed();
      await new Promise<void>((resolve) => {
        const done = () => {
          this.socket.off('drain', done);
          this.socket.off('close', done);
          resolve();
        };
        this.idleWaiters.push(done);
        if (this.socket.writableLength > this.limits.maxQueuedBytes) this.socket.once('drain', done);
        this.socket.once('close', done);
      });
    }
  }

  private finished(bytes: number): void {
    this.inflight--;
    this.queuedBytes -= bytes;
    const ws = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of ws) w();
  }

  private async transmission(): Promise<void> {
    for (;;) {
      await this.waitIdle(this.limits.maxInflight - 1, this.limits.maxQueuedBytes);
      let h: Buffer;
      try {
        h = await this.reader.read(P.REQUEST_HEADER_BYTES);
      } catch (e) {
        await this.drain();
        throw e;
      }
      if (h.readUInt32BE(0) !== P.REQUEST_MAGIC) {
        await this.drain();
        throw new Error(`bad request magic 0x${h.readUInt32BE(0).toString(16)}; disconnected`);
      }
      const flags = h.readUInt16BE(4);
      const type = h.readUInt16BE(6);
      const handle = Buffer.from(h.subarray(8, 16));
      const off64 = h.readBigUInt64BE(16);
      const offset = off64 > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(off64);
      const length = h.readUInt32BE(24);

      if (type === P.CMD_DISC) {
        await this.drain();
        this.socket.end();
        return;
      }
      let payload: Buffer | null = null;
      let refused: RequestError | null = null;
      if (type === P.CMD_WRITE) {
        if (length > this.limits.maxRequestBytes) {
          await this.reader.skip(length);
          refused = new RequestError(P.EINVAL, `write of ${length} bytes exceeds the server's limit of ${this.limits.maxRequestBytes}`);
        } else {
          await this.waitIdle(this.limits.maxInflight - 1, this.limits.maxQueuedBytes - length);
          payload = await this.reader.read(length);
        }
      }
      if (this.shuttingDown) refused = new RequestError(P.ESHUTDOWN, 'server shutting down');
      const cost = type === P.CMD_WRITE || type === P.CMD_READ ? Math.min(length, this.limits.maxRequestBytes) : 0;
      this.inflight++;
      this.queuedBytes += cost;
      void this.handle(type, flags, handle, offset, length, payload, refused).finally(() => this.finished(cost));
    }
  }

  /** Waits until no request is in flight. */
  private async drain(): Promise<void> {
    while (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
      });
    }
  }

  private checkFlags(type: number, flags: number): void {
    let allowed = P.CMD_FLAG_FUA;
    if (type === P.CMD_READ && this.structured) allowed |= P.CMD_FLAG_DF;
    if (type === P.CMD_WRITE_ZEROES) allowed |= P.CMD_FLAG_NO_HOLE | P.CMD_FLAG_FAST_ZERO;
    if (type === P.CMD_BLOCK_STATUS) allowed |= P.CMD_FLAG_REQ_ONE;
    if (flags & ~allowed) throw new RequestError(P.EINVAL, `command flags 0x${flags.toString(16)} are not valid for command ${type}`);
  }

  private checkRange(offset: number, length: number, errnoValue: number): void {
    if (offset > this.device.size || length > this.device.size - offset) {
      throw new RequestError(errnoValue, `${length} bytes at offset ${offset} lie outside the ${this.device.size}-byte export`);
    }
  }

  private async handle(type: number, flags: number, handle: Buffer, offset: number, length: number, payload: Buffer | null, refused: RequestError | null): Promise<void> {
    try {
      if (refused) throw refused;
      this.checkFlags(type, flags);
      const fua = (flags & P.CMD_FLAG_FUA) !== 0 && !this.device.readOnly;
      switch (type) {
        case P.CMD_READ: {
          if (length > this.limits.maxRequestBytes) throw new RequestError(P.EINVAL, `read of ${length} bytes exceeds the server's limit of ${this.limits.maxRequestBytes}`);
          this.checkRange(offset, length, P.EINVAL);
          if (length === 0) this.replyRead(handle, offset, [], 0);
          else if (this.device.readParts) {
            const r = await this.device.readParts(offset, length);
            this.replyRead(handle, offset, r.parts, length, r.release);
          } else this.replyRead(handle, offset, [await this.device.read(offset, length)], length);
          return;
        }
        case P.CMD_WRITE:
          if (this.device.readOnly) throw new RequestError(P.EPERM, 'the export is read-only');
          this.checkRange(offset, length, P.ENOSPC);
          if (length) await this.device.write(offset, payload!, { fua });
          break;
        case P.CMD_FLUSH:
          await this.device.flush();
          break;
        case P.CMD_TRIM:
          if (this.device.readOnly) throw new RequestError(P.EPERM, 'the export is read-only');
          this.checkRange(offset, length, P.ENOSPC);
          if (this.device.trim) await this.device.trim(offset, length, { fua });
          else if (fua) await this.device.flush();
          break;
        case P.CMD_WRITE_ZEROES: {
          if (this.device.readOnly) throw new RequestError(P.EPERM, 'the export is read-only');
          this.checkRange(offset, length, P.ENOSPC);
          if (!length) break;
          if (this.device.writeZeroes) await this.device.writeZeroes(offset, length, { fua });
          else {
            const step = Math.min(length, 1 << 20);
            const zeros = new Uint8Array(step);
            for (let o = 0; o < length; o += step) await this.device.write(offset + o, zeros.subarray(0, Math.min(step, length - o)));
            if (fua) await this.device.flush();
          }
          break;
        }
        case P.CMD_BLOCK_STATUS: {
          if (!this.structured || !this.metaBaseAllocation) throw new RequestError(P.EINVAL, 'no metadata context was negotiated');
          if (length === 0) throw new RequestError(P.EINVAL, 'block status of 0 bytes');
          this.checkRange(offset, length, P.EINVAL);
          await this.replyBlockStatus(handle, offset, length, (flags & P.CMD_FLAG_REQ_ONE) !== 0);
          return;
        }
        default:
          throw new RequestError(P.EINVAL, `unknown command ${type}`);
      }
      this.replyOk(handle);
    } catch (e) {
      const { code, message } = e instanceof RequestError ? { code: e.code, message: e.message } : errno(e);
      if (!(e instanceof RequestError)) this.log(`connection ${this.id}: command ${type} at ${offset} (+${length}): ${message}`);
      this.replyError(handle, type, code, message);
    }
  }

  private replyOk(handle: Buffer): void {
    this.send(Buffer.concat([be.u32(P.SIMPLE_REPLY_MAGIC), be.u32(0), handle]));
  }

  /**
   * A read's reply: the header and the data in one writev (corked), sent straight from the parts (views into the
   * chunk cache); `release` runs once the socket is done with them (sent, or the connection failed).
   */
  private replyRead(handle: Buffer, offset: number, parts: Uint8Array[], length: number, release?: () => void): void {
    const s = this.socket;
    if (s.destroyed || !s.writable) {
      release?.();
      return;
    }
    let header: Buffer;
    if (!this.structured) {
      header = Buffer.allocUnsafe(16);
      header.writeUInt32BE(P.SIMPLE_REPLY_MAGIC, 0);
      header.writeUInt32BE(0, 4);
      handle.copy(header, 8);
    } else if (length === 0) {
      header = this.chunkHeader(P.REPLY_FLAG_DONE, P.REPLY_TYPE_NONE, handle, 0);
    } else {
      header = Buffer.allocUnsafe(28);
      this.chunkHeader(P.REPLY_FLAG_DONE, P.REPLY_TYPE_OFFSET_DATA, handle, 8 + length).copy(header, 0);
      header.writeBigUInt64BE(BigInt(offset), 20);
    }
    s.cork();
    s.write(header);
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k];
      const b = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
      if (k === parts.length - 1 && release) s.write(b, () => release());
      else s.write(b);
    }
    if (parts.length === 0) release?.();
    s.uncork();
  }

  private chunkHeader(flags: number, type: number, handle: Buffer, length: number): Buffer {
    const b = Buffer.allocUnsafe(20);
    b.writeUInt32BE(P.STRUCTURED_REPLY_MAGIC, 0);
    b.writeUInt16BE(flags, 4);
    b.writeUInt16BE(type, 6);
    handle.copy(b, 8);
    b.writeUInt32BE(length, 16);
    return b;
  }

  private replyError(handle: Buffer, type: number, code: number, message: string): void {
    if (this.structured) {
      const msg = Buffer.from(message.slice(0, 512), 'utf8');
      this.send(this.chunkHeader(P.REPLY_FLAG_DONE, P.REPLY_TYPE_ERROR, handle, 6 + msg.length), be.u32(code), be.u16(msg.length), msg);
      return;
    }
    // A simple error reply carries no data, even for READ (the client knows no payload follows an error).
    void type;
    this.send(Buffer.concat([be.u32(P.SIMPLE_REPLY_MAGIC), be.u32(code), handle]));
  }

  private async replyBlockStatus(handle: Buffer, offset: number, length: number, one: boolean): Promise<void> {
    let ext = this.device.extents ? await this.device.extents(offset, length) : [{ offset, length, zero: false, hole: false }];
    if (ext.length === 0) ext = [{ offset, length, zero: false, hole: false }];
    const max = one ? 1 : this.limits.maxExtents;
    const n = Math.min(ext.length, max);
    const body = Buffer.allocUnsafe(4 + 8 * n);
    body.writeUInt32BE(1, 0);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const e = ext[i];
      const len = Math.min(e.length, length - total, 0xffffffff);
      body.writeUInt32BE(len, 4 + 8 * i);
      body.writeUInt32BE((e.hole ? P.STATE_HOLE : 0) | (e.zero ? P.STATE_ZERO : 0), 8 + 8 * i);
      total += len;
      if (total >= length) {
        this.send(this.chunkHeader(P.REPLY_FLAG_DONE, P.REPLY_TYPE_BLOCK_STATUS, handle, 4 + 8 * (i + 1)), body.subarray(0, 4 + 8 * (i + 1)));
        return;
      }
    }
    this.send(this.chunkHeader(P.REPLY_FLAG_DONE, P.REPLY_TYPE_BLOCK_STATUS, handle, body.length), body);
  }

  /** Shutdown: ESHUTDOWN for new requests and options, wait for the ones in flight, then close. */
  async shutdown(graceMs: number): Promise<void> {
    this.shuttingDown = true;
    const t = setTimeout(() => this.socket.destroy(), graceMs);
    try {
      await Promise.race([this.drain(), this.done]);
    } finally {
      clearTimeout(t);
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 200).unref?.();
    }
    await this.done;
  }
}

/**
 * Serves a block device over NBD (fixed newstyle handshake; OPT_GO/INFO/LIST/ABORT/STRUCTURED_REPLY and the
 * base:allocation meta context; READ, WRITE, FLUSH, TRIM, WRITE_ZEROES, DISC, BLOCK_STATUS). Listens on
 * 127.0.0.1:10809 unless told otherwise. The device stays the caller's: close the server, then the device.
 */
export async function serveNbd(device: BlockDevice, opts: ServeNbdOptions = {}): Promise<NbdServer> {
  const limits: NbdLimits = { ...P.NBD_LIMITS, ...(opts.limits ?? {}) };
  const log = opts.log ?? (() => undefined);
  const conns = new Set<Connection>();
  let nextId = 1;
  let closing = false;
  const server = opts.server ?? createServer();
  const onConnection = (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    const c = new Connection(socket, device, opts, limits, log, nextId++);
    conns.add(c);
    void c.done.finally(() => conns.delete(c));
  };
  server.on('connection', onConnection);
  server.on('error', (e) => log(`server: ${e.message}`));
  if (!opts.server) {
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error) => reject(new DmgkitError('IO_ERROR', `cannot listen on ${opts.socket ?? `${opts.host ?? '127.0.0.1'}:${opts.port ?? P.DEFAULT_PORT}`}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, {}, { cause: e }));
      server.once('error', fail);
      const ready = () => {
        server.off('error', fail);
        resolve();
      };
      if (opts.socket) server.listen(opts.socket, ready);
      else server.listen(opts.port ?? P.DEFAULT_PORT, opts.host ?? '127.0.0.1', ready);
    });
  }
  const addr = server.address();
  const port = addr && typeof addr === 'object' ? (addr as AddressInfo).port : undefined;
  const address = typeof addr === 'string' ? addr : addr ? `${(addr as AddressInfo).address}:${(addr as AddressInfo).port}` : '';
  return {
    port: opts.server ? undefined : port,
    address,
    get connections() {
      return conns.size;
    },
    async close() {
      if (closing) return;
      closing = true;
      server.off('connection', onConnection);
      const stopped = opts.server ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...conns].map((c) => c.shutdown(5000)));
      await stopped;
    },
  };
}
