import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveNbd, type NbdServer } from '../../src/nbd/server.js';
import { baseIdentity, openBlockDevice } from '../../src/blockdev/device.js';
import { ShadowFile } from '../../src/blockdev/shadow.js';
import { openDisk } from '../../src/open.js';
import type { BlockDevice } from '../../src/blockdev/types.js';
import { SocketReader } from '../../src/nbd/reader.js';
import { openSparseImage } from '../../src/container/sparseimage.js';
import { FileSource } from '../../src/io/file-source.js';
import { fixture, haveFixtures } from '../helpers/fixtures.js';
import { haveTools, sha, toolAsync } from './helpers.js';

/** A device of the test's own: bytes in memory, every write kept. */
function memoryDevice(size: number, readOnly = false): BlockDevice & { bytes: Uint8Array } {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 9)) & 0xff;
  return {
    bytes, size, readOnly, name: 'memory',
    async read(o, n) {
      if (o + n > size) throw new Error('range');
      return bytes.slice(o, o + n);
    },
    async write(o, d) {
      bytes.set(d, o);
    },
    async flush() {},
    async close() {},
  };
}

const IHAVEOPT = Buffer.from('IHAVEOPT');

class RawClient {
  readonly sock: Socket;
  readonly r: SocketReader;
  private constructor(sock: Socket) {
    this.sock = sock;
    this.r = new SocketReader(sock);
  }
  static async connect(port: number): Promise<RawClient> {
    const sock = connect(port, '127.0.0.1');
    await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
    sock.on('error', () => undefined);
    return new RawClient(sock);
  }
  async greet(): Promise<Buffer> {
    const g = await this.r.read(18);
    this.sock.write(Buffer.from([0, 0, 0, 3]));
    return g;
  }
  option(opt: number, data: Buffer = Buffer.alloc(0)): void {
    const h = Buffer.alloc(16);
    IHAVEOPT.copy(h, 0);
    h.writeUInt32BE(opt, 8);
    h.writeUInt32BE(data.length, 12);
    this.sock.write(Buffer.concat([h, data]));
  }
  async optReply(): Promise<{ opt: number; type: number; data: Buffer }> {
    const h = await this.r.read(20);
    expect(h.readBigUInt64BE(0)).toBe(0x3e889045565a9n);
    const len = h.readUInt32BE(16);
    return { opt: h.readUInt32BE(8), type: h.readUInt32BE(12), data: len ? Buffer.from(await this.r.read(len)) : Buffer.alloc(0) };
  }
  static goData(name = '', infos: number[] = []): Buffer {
    const n = Buffer.from(name);
    const b = Buffer.alloc(4 + n.length + 2 + 2 * infos.length);
    b.writeUInt32BE(n.length, 0);
    n.copy(b, 4);
    b.writeUInt16BE(infos.length, 4 + n.length);
    infos.forEach((t, i) => b.writeUInt16BE(t, 6 + n.length + 2 * i));
    return b;
  }
  static metaData(queries: string[], name = ''): Buffer {
    const parts = [Buffer.alloc(4), Buffer.from(name), Buffer.alloc(4)];
    parts[0].writeUInt32BE(Buffer.byteLength(name));
    parts[2].writeUInt32BE(queries.length);
    for (const q of queries) {
      const l = Buffer.alloc(4);
      l.writeUInt32BE(Buffer.byteLength(q));
      parts.push(l, Buffer.from(q));
    }
    return Buffer.concat(parts);
  }
  /** Structured replies + base:allocation + GO, then returns the export size and flags. */
  async negotiate(structured = true): Promise<{ size: bigint; flags: number }> {
    await this.greet();
    if (structured) {
      this.option(8);
      expect((await this.optReply()).type).toBe(1);
      this.option(10, RawClient.metaData(['base:allocation']));
      const m = await this.optReply();
      expect(m.type).toBe(4);
      expect(m.data.subarray(4).toString()).toBe('base:allocation');
      expect((await this.optReply()).type).toBe(1);
    }
    this.option(7, RawClient.goData());
    let size = 0n;
    let flags = 0;
    for (;;) {
      const rep = await this.optReply();
      if (rep.type === 1) break;
      expect(rep.type).toBe(3);
      if (rep.data.readUInt16BE(0) === 0) {
        size = rep.data.readBigUInt64BE(2);
        flags = rep.data.readUInt16BE(10);
      }
    }
    return { size, flags };
  }
  request(type: number, offset: number, length: number, flags = 0, handle = 7n, payload?: Buffer): void {
    const h = Buffer.alloc(28);
    h.writeUInt32BE(0x25609513, 0);
    h.writeUInt16BE(flags, 4);
    h.writeUInt16BE(type, 6);
    h.writeBigUInt64BE(handle, 8);
    h.writeBigUInt64BE(BigInt(offset), 16);
    h.writeUInt32BE(length, 24);
    this.sock.write(payload ? Buffer.concat([h, payload]) : h);
  }
  /** One structured chunk. */
  async chunk(): Promise<{ flags: number; type: number; handle: bigint; data: Buffer }> {
    const h = await this.r.read(20);
    expect(h.readUInt32BE(0)).toBe(0x668e33ef);
    const len = h.readUInt32BE(16);
    return { flags: h.readUInt16BE(4), type: h.readUInt16BE(6), handle: h.readBigUInt64BE(8), data: len ? Buffer.from(await this.r.read(len)) : Buffer.alloc(0) };
  }
  async simple(): Promise<{ error: number; handle: bigint }> {
    const h = await this.r.read(16);
    expect(h.readUInt32BE(0)).toBe(0x67446698);
    return { error: h.readUInt32BE(4), handle: h.readBigUInt64BE(8) };
  }
  /** Resolves when the server closes the connection. */
  closed(): Promise<void> {
    return new Promise((res) => {
      if (this.sock.destroyed || this.sock.readableEnded) return res();
      this.sock.once('close', () => res());
    });
  }
}

const servers: NbdServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('serveNbd: the handshake and bad client input', () => {
  it('speaks fixed newstyle: greeting, unknown options, LIST, INFO/GO errors, STARTTLS refused', async () => {
    const dev = memoryDevice(1 << 20, true);
    const srv = await serveNbd(dev, { port: 0, exportName: 'mem' });
    servers.push(srv);
    const c = await RawClient.connect(srv.port!);
    const g = await c.greet();
    expect(g.subarray(0, 8).toString()).toBe('NBDMAGIC');
    expect(g.subarray(8, 16).toString()).toBe('IHAVEOPT');
    expect(g.readUInt16BE(16)).toBe(3);
    c.option(11); // extended headers: not offered
    expect((await c.optReply()).type).toBe(0x80000001);
    c.option(5); // STARTTLS
    expect((await c.optReply()).type).toBe(0x80000002);
    c.option(3);
    const names: string[] = [];
    for (;;) {
      const r = await c.optReply();
      if (r.type === 1) break;
      expect(r.type).toBe(2);
      names.push(r.data.subarray(4, 4 + r.data.readUInt32BE(0)).toString());
    }
    expect(names).toEqual(['', 'mem']);
    c.option(3, Buffer.from('x')); // LIST with data
    expect((await c.optReply()).type).toBe(0x80000003);
    c.option(7, RawClient.goData('nope'));
    expect((await c.optReply()).type).toBe(0x80000006);
    c.option(7, Buffer.from([0, 0, 0, 9, 1])); // truncated
    expect((await c.optReply()).type).toBe(0x80000003);
    c.option(10, RawClient.metaData(['base:allocation'])); // before STRUCTURED_REPLY
    expect((await c.optReply()).type).toBe(0x80000003);
    c.option(6, RawClient.goData('mem', [1, 3]));
    const infos: number[] = [];
    for (;;) {
      const r = await c.optReply();
      if (r.type === 1) break;
      infos.push(r.data.readUInt16BE(0));
      if (r.data.readUInt16BE(0) === 0) {
        expect(r.data.readBigUInt64BE(2)).toBe(1048576n);
        expect(r.data.readUInt16BE(10) & 2).toBe(2); // read-only
      }
    }
    expect(infos).toEqual([0, 1, 3]);
    c.option(2); // ABORT
    expect((await c.optReply()).type).toBe(1);
    await c.closed();
  });

  it('answers bad requests with NBD errors and keeps the connection: out of range, oversized, unknown command, bad flags, read-only', async () => {
    const dev = memoryDevice(1 << 20, true);
    const srv = await serveNbd(dev, { port: 0 });
    servers.push(srv);
    const c = await RawClient.connect(srv.port!);
    const { size, flags } = await c.negotiate();
    expect(size).toBe(1048576n);
    expect(flags & 2).toBe(2);
    const err = async () => {
      const ch = await c.chunk();
      expect(ch.type).toBe(0x8001);
      expect(ch.flags & 1).toBe(1);
      return ch.data.readUInt32BE(0);
    };
    c.request(0, (1 << 20) - 10, 20);
    expect(await err()).toBe(22); // EINVAL past the end
    c.request(0, 0, 64 << 20);
    expect(await err()).toBe(22); // larger than maxRequestBytes
    c.request(0, 2 ** 53, 512);
    expect(await err()).toBe(22);
    c.request(99, 0, 512);
    expect(await err()).toBe(22); // unknown command
    c.request(0, 0, 512, 1 << 9);
    expect(await err()).toBe(22); // unknown flag
    c.request(1, 0, 4, 0, 7n, Buffer.from('abcd'));
    expect(await err()).toBe(1); // EPERM
    // still serving: a good read, then block status
    c.request(0, 1000, 3000, 0, 42n);
    const ch = await c.chunk();
    expect(ch.type).toBe(1);
    expect(ch.handle).toBe(42n);
    expect(ch.data.readBigUInt64BE(0)).toBe(1000n);
    expect(Buffer.compare(ch.data.subarray(8), Buffer.from(dev.bytes.subarray(1000, 4000)))).toBe(0);
    c.request(7, 0, 1 << 20);
    const bs = await c.chunk();
    expect(bs.type).toBe(5);
    expect(bs.data.readUInt32BE(0)).toBe(1);
    expect(bs.data.readUInt32BE(4)).toBe(1 << 20);
    c.request(2, 0, 0); // DISC
    await c.closed();
  });

  it('simple replies: an error carries no payload and the stream stays in step', async () => {
    const dev = memoryDevice(65536, true);
    const srv = await serveNbd(dev, { port: 0 });
    servers.push(srv);
    const c = await RawClient.connect(srv.port!);
    await c.negotiate(false);
    c.request(0, 65000, 1000, 0, 1n);
    expect(await c.simple()).toEqual({ error: 22, handle: 1n });
    c.request(7, 0, 512, 0, 2n); // block status without a meta context
    expect(await c.simple()).toEqual({ error: 22, handle: 2n });
    c.request(0, 512, 100, 0, 3n);
    expect(await c.simple()).toEqual({ error: 0, handle: 3n });
    expect(Buffer.compare(await c.r.read(100), Buffer.from(dev.bytes.subarray(512, 612)))).toBe(0);
  });

  it('drops a client that sends an oversized option, a bad magic, or vanishes mid-write; the server keeps serving others', async () => {
    const dev = memoryDevice(1 << 20);
    const logged: string[] = [];
    const srv = await serveNbd(dev, { port: 0, log: (l) => logged.push(l) });
    servers.push(srv);
    const a = await RawClient.connect(srv.port!);
    await a.greet();
    a.option(7, Buffer.alloc(70_000));
    await a.closed();
    const b = await RawClient.connect(srv.port!);
    await b.negotiate();
    b.sock.write(Buffer.alloc(28, 0x41)); // bad request magic
    await b.closed();
    const v = await RawClient.connect(srv.port!);
    await v.negotiate();
    v.request(1, 4096, 1 << 20, 0, 5n, Buffer.alloc(1000, 0xee)); // announces 1 MiB, sends 1000 bytes
    v.sock.destroy();
    const d = await RawClient.connect(srv.port!);
    await d.negotiate();
    d.request(0, 4096, 16, 0, 9n);
    const ch = await d.chunk();
    expect(ch.handle).toBe(9n);
    expect(ch.data.subarray(8).every((x, i) => x === ((4096 + i) * 31 + ((4096 + i) >> 9)) % 256)).toBe(true);
    expect(logged.join('\n')).toMatch(/70000 bytes|bad request magic/);
    // close() with a client still connected: it ends that connection
    const idle = await RawClient.connect(srv.port!);
    await idle.negotiate();
    await srv.close();
    await idle.closed();
  });
});

const tools = haveTools('qemu-img', 'qemu-io');

describe.runIf(tools)('serveNbd and openBlockDevice from a program', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dmgkit-nbdlib-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves a device of its own to qemu-img and qemu-io (writes included)', async () => {
    const dev = memoryDevice(3 << 20);
    const srv = await serveNbd(dev, { port: 0 });
    servers.push(srv);
    const url = `nbd://127.0.0.1:${srv.port}`;
    await toolAsync('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', url, join(dir, 'mem.raw')]);
    expect(sha(readFileSync(join(dir, 'mem.raw')))).toBe(sha(dev.bytes));
    await toolAsync('qemu-io', ['-f', 'raw', url, '-c', 'write -P 0x3c 777 5000', '-c', 'write -z 100000 3000']);
    expect(dev.bytes.subarray(777, 5777).every((b) => b === 0x3c)).toBe(true);
    expect(dev.bytes.subarray(100000, 103000).every((b) => b === 0)).toBe(true);
  });

  it.runIf(haveFixtures())('openBlockDevice: writes land in a sparse image that dmgkit\'s sparse-image reader opens', async () => {
    const image = fixture('ulfo_gpt_hfsplus__keramics_hfsplus_lzfse.dmg');
    const shadow = join(dir, 'lib.shadow');
    const dev = await openBlockDevice(image, { shadow, threads: 2 });
    const base = await dev.read(0, dev.size);
    await dev.write(300_000, new Uint8Array(600_000).fill(0x61));
    await dev.write(5, new Uint8Array([1, 2, 3]), { fua: true });
    const expected = Buffer.from(base);
    expected.fill(0x61, 300_000, 900_000);
    expected.set([1, 2, 3], 5);
    expect(sha(await dev.read(0, dev.size))).toBe(sha(expected));
    await dev.close();
    // the shadow alone is a sparse image of the same size: written bands hold the merged bytes, the rest zeros
    const sparse = await openSparseImage(await FileSource.open(shadow));
    expect(sparse.size).toBe(expected.length);
    expect(sparse.bandBytes).toBe(256 * 1024);
    const raw = await sparse.read(0, sparse.size);
    for (let b = 0; b < Math.ceil(sparse.size / sparse.bandBytes); b++) {
      const from = b * sparse.bandBytes;
      const to = Math.min(sparse.size, from + sparse.bandBytes);
      const stored = b === 0 || (to > 300_000 && from < 900_000);
      const want = stored ? expected.subarray(from, to) : Buffer.alloc(to - from);
      expect(Buffer.compare(Buffer.from(raw.subarray(from, to)), want), `band ${b}`).toBe(0);
    }
    expect(sparse.warnings).toEqual([]);
    await sparse.close();
    expect(readFileSync(shadow).subarray(36, 40).toString()).toBe('dksh');
  });

  it.runIf(haveFixtures())('the base identity hashes the UDIF chunk table; a shadow with the older v1 identity still opens, another is refused', async () => {
    const image = fixture('udzo_gpt_hfsplus__keramics_hfsplus_zlib.dmg');
    const opened = await openDisk(image);
    const file = opened.source!;
    const size = opened.disk.size;
    const v2 = await baseIdentity(file, 0, size, opened.udif);
    const v1 = await baseIdentity(file, 0, size, opened.udif, true);
    // one byte of the plist changed: v2 differs (in this small file the hashed ends hold the plist too; in a large
    // one only the table hash sees it)
    const bytes = new Uint8Array(await file.read(0, file.size));
    const k = opened.udif!.koly;
    bytes[k.xmlOffset + Math.floor(k.xmlLength / 2)] ^= 0x20;
    const { BufferSource } = await import('../../src/io/buffer-source.js');
    const changed = new BufferSource(bytes);
    const v2changed = await baseIdentity(changed, 0, size, Object.assign(Object.create(Object.getPrototypeOf(opened.udif!)), opened.udif!, { source: changed }));
    await opened.close();
    expect(Buffer.from(v2).equals(Buffer.from(v1))).toBe(false);
    expect(Buffer.from(v2changed).equals(Buffer.from(v2))).toBe(false);
    for (const [name, identity, good] of [['v1', v1, true], ['other', new Uint8Array(16).fill(7), false]] as const) {
      const path = join(dir, `id-${name}.shadow`);
      const sh = await ShadowFile.create(path, { size, identity });
      await sh.close();
      const open = openBlockDevice(image, { shadow: path });
      if (good) await (await open).close();
      else await expect(open).rejects.toThrow(/another base image[^]*new --shadow file/);
    }
  });
});
