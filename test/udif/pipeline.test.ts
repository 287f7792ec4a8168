/**
 * The decode pipeline (udif/decode-range.ts, udif/to-file.ts, udif/batch-task.ts): worker threads read the stored
 * bytes and write the decoded bytes themselves. Every output is checked against 7-Zip run live on the same image.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { recordTransferLists } from '../helpers/transfers.js';
import { join } from 'node:path';
import { openUdif } from '../../src/udif/open-udif.js';
import { BATCH_TASK_MODULE, decodePool, decodeToFile, decodeToStream, threadsFor } from '../../src/udif/to-file.js';
import { WorkerPool } from '../../src/pool/node.js';
import { decodeRange } from '../../src/udif/decode-range.js';
import { verifyImage } from '../../src/udif/verify.js';
import { encodeLzfse } from '../../src/codecs/lzfse-encode.js';
import { DmgkitError } from '../../src/errors.js';
import { buildDmg, type BuildChunk } from '../helpers/build-dmg.js';
import { repoRoot, sevenZip } from '../helpers/fixtures.js';
import { mixedData, textData } from '../codecs/data.js';

const seven = sevenZip();
const K = 1024;
const tool = (cmd: string, args: string[], input: Uint8Array) => new Uint8Array(execFileSync(cmd, args, { input, maxBuffer: 1 << 26 }));

/** Chunks of every kind the pipeline treats differently: compressed by the native tools, raw, zero fill, ignore. */
function chunks(): BuildChunk[] {
  const out: BuildChunk[] = [];
  const kinds = ['bzip2', 'zlib', 'raw', 'zero', 'xz', 'lzfse', 'bzip2', 'ignore', 'zlib', 'raw', 'xz', 'zlib'];
  kinds.forEach((k, i) => {
    const size = (64 + ((i * 37) % 5) * 48) * K;
    const decoded = k === 'zero' || k === 'ignore' ? new Uint8Array(size) : i % 2 ? mixedData(size, 100 + i) : textData(size, 100 + i);
    const payload =
      k === 'bzip2' ? tool('bzip2', ['-c'], decoded)
      : k === 'zlib' ? tool('pigz', ['-z', '-c'], decoded)
      : k === 'xz' ? tool('xz', ['-c', '--check=crc64'], decoded)
      : k === 'lzfse' ? encodeLzfse(decoded)
      : k === 'raw' ? decoded
      : new Uint8Array(0);
    const type = { bzip2: 0x80000006, zlib: 0x80000005, xz: 0x80000008, lzfse: 0x80000007, raw: 1, zero: 0, ignore: 2 }[k]!;
    out.push({ type, payload, decoded });
  });
  return out;
}

let dir: string;
let image: Uint8Array;
let path: string;
let want: Buffer; // the disk as 7-Zip decodes it

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmgkit-pipeline-'));
  image = buildDmg(chunks());
  path = join(dir, 'image.dmg');
  writeFileSync(path, image);
  want = seven ? execFileSync(seven, ['x', '-tdmg', '-so', path], { maxBuffer: 1 << 26 }) : Buffer.alloc(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(seven)('decode pipeline', () => {
  it.each([1, 2, 3])('decodeToFile on %i thread(s) writes the disk 7-Zip writes, zero runs as holes', async (threads) => {
    const img = await openUdif(path);
    const pool = decodePool(threads);
    const out = join(dir, `out-${threads}.img`);
    writeFileSync(out, Buffer.alloc(3 * 1024 * K, 0xee)); // old content must go
    const fh = await open(out, 'r+');
    let progress = 0;
    try {
      await decodeToFile(img, fh, { pool, onProgress: (n) => (progress = n) });
    } finally {
      await fh.close();
      await pool.close();
      await img.close();
    }
    const got = readFileSync(out);
    expect(got.length).toBe(want.length);
    expect(got.equals(want)).toBe(true);
    expect(progress).toBe(want.length);
    expect(statSync(out).blocks * 512).toBeLessThan(got.length);
  });

  it('decodes a range that starts and ends inside chunks, to a file and in order to a stream', async () => {
    const img = await openUdif(path);
    const pool = decodePool(2);
    const start = 100 * K + 512 * 3;
    const end = want.length - 70 * K - 512;
    try {
      const out = join(dir, 'range.img');
      const fh = await open(out, 'w');
      await decodeToFile(img, fh, { pool, start, end });
      await fh.close();
      expect(readFileSync(out).equals(want.subarray(start, end))).toBe(true);
      const parts: Buffer[] = [];
      await decodeToStream(img, async (b) => void parts.push(Buffer.from(b)), { pool, start, end });
      expect(Buffer.concat(parts).equals(want.subarray(start, end))).toBe(true);
    } finally {
      await pool.close();
      await img.close();
    }
  });

  it.each([
    ['an ordinary buffer (bytes handed over)', () => image.slice()],
    ['shared memory (read in place by the workers)', () => {
      const s = new Uint8Array(new SharedArrayBuffer(image.length));
      s.set(image);
      return s;
    }],
  ])('decodes an image held in %s on worker threads, with no transfer list (a transfer detaches a buffer)', async (_, bytes) => {
    const img = await openUdif(bytes());
    // Workers only (no calling thread, no native zlib jobs), so that every batch crosses threads.
    const pool = new WorkerPool(2, { modules: [BATCH_TASK_MODULE] });
    const { lists, restore } = recordTransferLists();
    try {
      const parts: Buffer[] = [];
      await decodeToStream(img, async (b) => void parts.push(Buffer.from(b)), { pool });
      expect(Buffer.concat(parts).equals(want)).toBe(true);
      const report = await verifyImage(img, { pool });
      expect(report.ok).toBe(true);
      expect(report.results.find((r) => r.partition === 0)?.status).toBe('ok');
    } finally {
      restore();
      await pool.close();
      await img.close();
    }
    expect(lists.length).toBeGreaterThan(0);
    expect(lists.filter((n) => n > 0)).toEqual([]);
  });

  it('a damaged chunk: fails in disk order naming the chunk, or with keepGoing reads as zeros and is reported', async () => {
    const bad = image.slice();
    const img0 = await openUdif(bad);
    const victim = img0.chunks.filter((c) => c.type === 0x80000006)[1];
    await img0.close();
    bad.fill(0x41, victim.inOffset + 20, victim.inOffset + 60);
    const badPath = join(dir, 'bad.dmg');
    writeFileSync(badPath, bad);
    const img = await openUdif(badPath);
    const pool = decodePool(2);
    try {
      const out = join(dir, 'bad.img');
      let fh = await open(out, 'w');
      let progress = 0;
      const e = await decodeToFile(img, fh, { pool, onProgress: (n) => (progress = n) }).then(() => null, (x: unknown) => x);
      await fh.close();
      expect(e).toBeInstanceOf(DmgkitError);
      expect((e as DmgkitError).code).toBe('CORRUPT_CHUNK');
      expect((e as DmgkitError).details).toMatchObject({ partition: victim.partition, chunk: victim.index, offset: victim.inOffset });
      expect(progress).toBe(victim.outOffset); // everything before it was done, in order

      const lost: { offset: number; length: number }[] = [];
      fh = await open(out, 'w');
      await decodeToFile(img, fh, { pool, keepGoing: true, onLost: (r) => lost.push({ offset: r.offset, length: r.length }) });
      await fh.close();
      expect(lost).toEqual([{ offset: victim.outOffset, length: victim.outLength }]);
      const got = readFileSync(out);
      const expected = Buffer.from(want);
      expected.fill(0, victim.outOffset, victim.outOffset + victim.outLength);
      expect(got.equals(expected)).toBe(true);

      const report = await verifyImage(img, { pool });
      expect(report.results.find((r) => r.partition === 0)?.status).toBe('unreadable');
      expect(spawnSync(seven!, ['t', '-tdmg', badPath]).status).not.toBe(0); // 7-Zip agrees it is damaged
    } finally {
      await pool.close();
      await img.close();
    }
  });

  it('decodeRange with no sink gives per-piece CRCs that combine to the partition checksum', async () => {
    const img = await openUdif(path);
    const pool = decodePool(2);
    const { crc32, crc32Combine, crc32Zeros } = await import('../../src/util/crc32.js');
    let crc = 0;
    try {
      await decodeRange(img, 0, img.size, {
        pool,
        sink: { kind: 'none' },
        crc: true,
        onPiece: (p) => (crc = p.zero ? crc32Zeros(p.length, crc) : crc32Combine(crc, p.crc!, p.length)),
      });
    } finally {
      await pool.close();
      await img.close();
    }
    expect(crc).toBe(crc32(want));
  });

  it('starts no threads for a small image', async () => {
    const img = await openUdif(path);
    expect(threadsFor(img, 8)).toBe(1);
    expect(threadsFor(img, 2)).toBe(1); // bzip2, XZ and LZFSE chunks: workers, too few to pay for them
    await img.close();
  });

  it('decodes a zlib image natively on 2 and 3 threads (libuv, no worker): the disk 7-Zip writes, CRCs checked', async () => {
    const zc = chunks().filter((c) => c.type === 0x80000005 || c.type === 1 || c.type === 0);
    const zpath = join(dir, 'zlib-only.dmg');
    writeFileSync(zpath, buildDmg([...zc, ...zc, ...zc]));
    const zwant = execFileSync(seven!, ['x', '-tdmg', '-so', zpath], { maxBuffer: 1 << 26 });
    const img = await openUdif(zpath);
    try {
      for (const threads of [2, 3]) {
        expect(threadsFor(img, threads)).toBe(threads); // nothing to start: even a small zlib image uses them
        const pool = decodePool(threads);
        const out = join(dir, `zlib-${threads}.raw`);
        const fh = await open(out, 'w+');
        try {
          await decodeToFile(img, fh, { pool });
          const report = await verifyImage(img, { pool });
          expect(report.ok).toBe(true);
          expect(report.results.filter((r) => r.status === 'ok').length).toBeGreaterThan(0);
        } finally {
          await fh.close();
          await pool.close();
        }
        expect(Buffer.compare(readFileSync(out), zwant)).toBe(0);
      }
    } finally {
      await img.close();
    }
  });

  it('the CLI converts to a pipe on 2 threads and verifies on 2 threads (child process)', () => {
    const cli = join(repoRoot, 'dist', 'cli', 'main.js');
    const r = spawnSync(process.execPath, [cli, 'convert', path, '-o', '-', '--threads', '2'], { maxBuffer: 1 << 26, timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(Buffer.compare(r.stdout, want)).toBe(0);
    const v = spawnSync(process.execPath, [cli, 'verify', path, '--threads', '2'], { encoding: 'utf8', timeout: 60_000 });
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/all present checksums match/);
  });
});
