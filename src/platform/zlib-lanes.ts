/**
 * node:zlib on libuv's thread pool into the caller's buffers (Node only: the codecs reach it as `zlibLanes` of
 * `#platform`, null in browsers).
 *
 * zlib.inflate and zlib.deflate make a new stream per call (~0.6 ms here: zlib's own init and the stream
 * machinery), allocate its output (1 MiB: another ~0.6 ms, then a page fault per 4 KiB written), and join the
 * pieces with a copy. A lane keeps one stream and drives its handle with `handle.write`, the call the stream itself
 * makes: the result lands in the caller's buffer and the handle is reset for the next job. Measured on 64 MiB of
 * 1 MiB zlib chunks, 2 at a time: 107-112 ms of CPU to inflate against 344-400 ms through zlib.inflate.
 *
 * The handle reports through the stream's internal callback, which reads a few of the stream's fields; lanes rely
 * on their names (Node 20-24). So the shape is checked, and each kind of lane is tried once on a known input
 * (`checked`): on any mismatch, or no answer within a second, callers take the public API.
 */

type NodeZlib = typeof import('node:zlib');

interface Handle {
  write(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
  onerror: (message: string, errno: number) => void;
  buffer: unknown;
  cb: (() => void) | null;
  inOff: number;
  availInBefore: number;
  availOutBefore: number;
  flushFlag: number;
}

/** What one job gave: bytes written into `output`, or `over` when the stream holds more than it has room for. */
export interface LaneResult {
  produced: number;
  over: boolean;
}

/** One stream's handle, one job at a time: `input` whole (Z_FINISH) into `output`. Rejects with zlib's message. */
export type Lane = (input: Uint8Array, output: Uint8Array) => Promise<LaneResult>;

/** A lane over a new stream from `create` (z.createInflate, or z.createDeflate with its options), or null. */
export function makeLane(z: NodeZlib, create: () => unknown): Lane | null {
  const stream = create() as Record<string, unknown> & { _handle?: Handle };
  const h = stream._handle;
  if (!h || typeof h.write !== 'function' || typeof h.reset !== 'function' || !('_outBuffer' in stream) || !('_chunkSize' in stream)) return null;
  let produced = 0;
  let room = 0;
  let over = false;
  let error: string | null = null;
  let settle: (() => void) | null = null;
  // The stream's callback hands each piece of output to push(); past the caller's buffer it stops (`destroyed`).
  stream.push = (piece: Uint8Array | null) => {
    if (piece) produced += piece.length;
    if (produced > room) over = true;
    return true;
  };
  Object.defineProperty(stream, 'destroyed', { get: () => over, configurable: true });
  const finish = () => {
    const s = settle;
    settle = null;
    s?.();
  };
  h.onerror = (message) => {
    error = message;
    finish();
  };
  const FINISH = z.constants.Z_FINISH;
  return (input, output) =>
    new Promise<LaneResult>((resolve, reject) => {
      produced = 0;
      room = output.length;
      over = false;
      error = null;
      settle = () => {
        h.reset();
        if (error) reject(new Error(error));
        else resolve({ produced: Math.min(produced, room), over });
      };
      const out = Buffer.from(output.buffer, output.byteOffset, output.length);
      // Once the caller's buffer is full the stream goes on into buffers of _chunkSize bytes: one byte is enough
      // to learn whether there is more.
      stream._outBuffer = out;
      stream._outOffset = 0;
      stream._chunkSize = 1;
      h.buffer = input;
      h.cb = finish;
      h.inOff = 0;
      h.availInBefore = input.length;
      h.availOutBefore = output.length;
      h.flushFlag = FINISH;
      h.write(FINISH, input, 0, input.length, out, 0, output.length);
    });
}

/**
 * Lanes of one kind, reused: `run` takes an idle lane (or makes one) for a job. The first job waits for a trial of
 * `trial` (true: lanes work); when it fails, `run` resolves to null and callers use the public API from then on.
 */
export class LanePool {
  private idle: Lane[] = [];
  private ok: Promise<boolean> | null = null;

  constructor(
    private readonly make: () => Lane | null,
    private readonly trial: (lane: Lane) => Promise<boolean>,
  ) {}

  private check(): Promise<boolean> {
    const lane = this.make();
    if (!lane) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1000);
      this.trial(lane).then(
        (good) => {
          clearTimeout(timer);
          if (good) this.idle.push(lane);
          resolve(good);
        },
        () => {
          clearTimeout(timer);
          resolve(false);
        },
      );
    });
  }

  /** Runs one job on a lane; null when lanes do not work on this Node. */
  async run(input: Uint8Array, output: Uint8Array): Promise<LaneResult | null> {
    if (!(await (this.ok ??= this.check()))) return null;
    const lane = this.idle.pop() ?? this.make();
    if (!lane) return null;
    try {
      return await lane(input, output);
    } finally {
      this.idle.push(lane);
    }
  }
}

/** Whether two byte arrays hold the same bytes (for the lanes' trials). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
