import type { Socket } from 'node:net';

/** The peer closed the connection (or it failed) while a message was expected. */
export class ConnectionClosed extends Error {
  constructor(message = 'connection closed by the client') {
    super(message);
    this.name = 'ConnectionClosed';
  }
}

/** Bytes buffered before the socket is paused, unless a pending read needs more. */
const HIGH_WATER = 4 << 20;

/**
 * Exact-length reads from a socket, with backpressure: the socket is paused while more than HIGH_WATER bytes are
 * buffered and nobody waits for them. `skip` discards bytes without buffering them all.
 */
export class SocketReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private head = 0; // offset into chunks[0]
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.buffered += d.length;
      if (this.waiter && this.buffered >= this.waiter.n) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(this.take(w.n));
      }
      if (this.buffered > HIGH_WATER && !this.waiter) socket.pause();
    });
    const fail = (e?: Error) => {
      if (this.failure) return;
      this.failure = new ConnectionClosed(e?.message ? `connection failed: ${e.message}` : undefined);
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w.reject(this.failure);
      }
    };
    socket.on('end', () => fail());
    socket.on('close', () => fail());
    socket.on('error', (e) => fail(e));
  }

  get closed(): boolean {
    return this.failure !== null;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    let out: Buffer;
    if (first && first.length - this.head >= n) {
      out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
    } else {
      out = Buffer.allocUnsafe(n);
      let done = 0;
      while (done < n) {
        const c = this.chunks[0];
        const k = Math.min(n - done, c.length - this.head);
        c.copy(out, done, this.head, this.head + k);
        done += k;
        this.head += k;
        if (this.head === c.length) {
          this.chunks.shift();
          this.head = 0;
        }
      }
    }
    this.buffered -= n;
    if (this.buffered <= HIGH_WATER && this.socket.isPaused()) this.socket.resume();
    return out;
  }

  /** Exactly n bytes (a view into the received data when possible). */
  read(n: number): Promise<Buffer> {
    if (this.buffered >= n) return Promise.resolve(this.take(n));
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error('SocketReader: concurrent reads'));
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
      if (this.socket.isPaused()) this.socket.resume();
    });
  }

  /** Discards n bytes (a write payload the server refuses), in pieces. */
  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const k = Math.min(left, 1 << 20);
      await this.read(k);
      left -= k;
    }
  }
}
