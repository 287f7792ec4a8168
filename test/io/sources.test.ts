import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { BufferSource } from '../../src/io/buffer-source.js';
import { FileSource } from '../../src/io/file-source.js';
import { BlobSource } from '../../src/io/blob-source.js';
import { HttpSource } from '../../src/io/http-source.js';
import { SliceSource } from '../../src/io/source.js';
import { openSource } from '../../src/io/open-source.js';
import { openUdif } from '../../src/udif/open-udif.js';
import { fixture, haveFixtures, repoRoot } from '../helpers/fixtures.js';

const sample = readFileSync(join(repoRoot, 'fixtures', 'sample.dmg'));

let server: Server;
let base = '';
let rangeRequests = 0;
let bytesServed = 0;
const files: Record<string, Buffer> = {};
beforeAll(async () => {
  server = createServer((req, res) => {
    const name = Object.keys(files).find((n) => req.url?.endsWith(n));
    const body = req.url?.startsWith('/big') ? Buffer.alloc(20 * 1024 * 1024, 7) : name ? files[name] : sample;
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (req.url?.includes('norange') || !range) {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
      return;
    }
    rangeRequests++;
    const s = Number(range[1]);
    const e = Math.min(Number(range[2]), body.length - 1);
    bytesServed += e - s + 1;
    res.writeHead(206, { 'content-range': `bytes ${s}-${e}/${body.length}`, 'content-length': e - s + 1 });
    res.end(body.subarray(s, e + 1));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('byte sources read exactly or fail with the offset', () => {
  const data = new Uint8Array(10_000).map((_, i) => (i * 31) & 0xff);

  it('buffer, file, blob and slice sources agree and refuse reads past the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-io-'));
    try {
      writeFileSync(join(dir, 'f'), data);
      const file = await FileSource.open(join(dir, 'f'));
      const sources = [new BufferSource(data), file, new BlobSource(new Blob([data])), new SliceSource(new BufferSource(new Uint8Array([9, ...data, 9])), 1, data.length)];
      for (const s of sources) {
        expect(s.size).toBe(10_000);
        expect(Buffer.from(await s.read(4000, 1234)).equals(Buffer.from(data.subarray(4000, 5234)))).toBe(true);
        await expect(s.read(9000, 1001)).rejects.toMatchObject({ code: 'TRUNCATED', details: { offset: 9000 } });
        await expect(s.read(-1, 2)).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
      }
      await file.close();
      await expect(FileSource.open(join(dir, 'missing'))).rejects.toMatchObject({ code: 'IO_ERROR' });
      await expect(FileSource.open(dir)).rejects.toMatchObject({ code: 'IO_ERROR' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('HTTP range source', () => {
  it('opens a UDIF image over HTTP with range requests only', async () => {
    rangeRequests = 0;
    const img = await openUdif(`${base}/sample.dmg`);
    const local = await openUdif(new BufferSource(sample));
    expect(img.size).toBe(local.size);
    expect(Buffer.from(await img.read(0, img.size)).equals(Buffer.from(await local.read(0, local.size)))).toBe(true);
    expect(rangeRequests).toBeGreaterThan(2);
  });

  it('reads only the ranges it needs: trailer, plist, and the chunks a read touches', async () => {
    if (!haveFixtures()) return;
    const name = 'udbz_apm_hfsplus_sla__sparkle_SparkleTestCodeSignApp.dmg';
    files[name] = readFileSync(fixture(name));
    bytesServed = 0;
    const img = await openUdif(`${base}/${name}`);
    const k = img.koly;
    const opened = bytesServed;
    // opening costs the probe request, the trailer search window, the XML plist and the binary resource fork
    expect(opened).toBeLessThanOrEqual(1 + 1536 + k.xmlLength + k.rsrcForkLength);
    // one 4 KiB read inside the HFS+ partition fetches exactly the one bzip2 chunk holding it
    const hfs = img.partitions[2];
    const at = hfs.offset + 1024;
    const chunk = img.chunks.find((c) => c.outOffset <= at && at < c.outOffset + c.outLength)!;
    await img.read(at, 4096);
    expect(bytesServed - opened).toBe(chunk.inLength);
    expect(bytesServed).toBeLessThan(files[name].length / 4);
    await img.close();
  });

  it('serves a small file from one download when the server ignores Range, refuses a large one', async () => {
    const src = await openSource(`${base}/norange/sample.dmg`);
    expect(src.size).toBe(sample.length);
    expect(Buffer.from(await src.read(100, 50)).equals(sample.subarray(100, 150))).toBe(true);
    await expect(HttpSource.open(`${base}/big/norange`, { maxFullDownloadBytes: 1024 * 1024 })).rejects.toMatchObject({ code: 'HTTP_ERROR' });
    await expect(HttpSource.open(`http://127.0.0.1:1/x`)).rejects.toMatchObject({ code: 'HTTP_ERROR' });
  });
});
