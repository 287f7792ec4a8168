/**
 * Every failure the fuzzer found, as the minimal input that triggered it: a byte patch applied to a named fixture
 * (read in place, never copied) or a tiny inline input. Each case runs through the same harness as the fuzzer,
 * so a hang fails the run (the watchdog names the case) instead of blocking it.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Harness, writeCase } from './harness.js';
import { synthetic, haveFixtures, repoRoot } from '../helpers/fixtures.js';
import { basename, dirname, join } from 'node:path';
import { parseXmlPlist as parsePlist, buildXmlPlist } from '../../src/udif/xml-plist.js';
import { replaceXml } from './mutate.js';
import { HttpSource } from '../../src/io/http-source.js';
import { openHfs } from '../../src/hfs/volume.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import { findHfs } from './mutate.js';
import { FileSource } from '../../src/io/file-source.js';
import { BlobSource } from '../../src/io/blob-source.js';
import { openSource } from '../../src/io/open-source.js';
import { openSparseBundle } from '../../src/container/sparsebundle.js';
import { mkdirSync } from 'node:fs';
import { parseXmlPlist } from '../../src/udif/xml-plist.js';
import { DmgkitError } from '../../src/errors.js';

interface Patch {
  /** Absolute byte offset in the fixture. */
  at: number;
  /** The bytes expected there before patching (guards against a changed fixture). */
  was: number[];
  now: number[];
}

/** The fixture's bytes with the patches applied (after checking each patch's original bytes). */
function patched(path: string, patches: Patch[]): Uint8Array {
  const b = new Uint8Array(readFileSync(path));
  for (const p of patches) {
    expect([...b.subarray(p.at, p.at + p.was.length)], `fixture bytes at ${p.at}`).toEqual(p.was);
    b.set(p.now, p.at);
  }
  return b;
}

const h = new Harness({ timeoutMs: 30_000, hardMs: 60_000, rssBytes: 1536 * 2 ** 20, outCap: 192 * 2 ** 20 });
h.baselineRss = process.memoryUsage().rss;
h.baselineHeap = process.memoryUsage().heapUsed;
afterAll(() => h.close());

describe.runIf(haveFixtures() && existsSync(synthetic('features.hfs')))('fuzzer regressions', () => {
  /**
   * Found by the fuzzer (features.hfs, mutant c:340, recipe `catalogNode@3694592.rec[4].folderID=2`): a folder
   * record whose folderID is the root's (2) makes that folder list the root again. `ls -R` and `extract` stopped at
   * the loop; `tree` recursed forever (each level resolved from cache, so the microtask queue never let a timer
   * fire: a hang the event loop could not interrupt). Fixed in src/cli/commands/files.ts: tree keeps the CNIDs
   * of the directories being listed and does not descend into one of them again.
   */
  it('a folder whose ID is the root: tree, ls -R and extract finish, the loop is named', async () => {
    const bytes = patched(synthetic('features.hfs'), [{ at: 3695360, was: [0, 0, 0, 16], now: [0, 0, 0, 2] }]);
    const file = writeCase(h.root, bytes, '.img');
    const tree = await h.run('tree', ['tree', file], 'regression folderID=2', true);
    expect(tree.problem).toBeUndefined();
    expect(tree.code).toBe(0);
    expect(tree.stdout).toMatch(/\[directory loop: not followed\]/);
    const ls = await h.run('ls', ['ls', file, '-R'], 'regression folderID=2');
    expect(ls.problem).toBeUndefined();
    expect(ls.code).toBe(0);
    const ex = await h.extract(file, 'regression folderID=2');
    expect(ex.problem).toBeUndefined();
    expect(ex.stderr).toMatch(/loop/);
  });

  /**
   * Found by the fuzzer (campaign 3, a features.hfs mutant that gave the 255-character file in /unicode Finder info):
   * "._" + a 255-byte name is past NAME_MAX, ENAMETOOLONG became IO_ERROR and the whole extraction stopped at that
   * one AppleDouble file. Fixed in src/extract/extract.ts: a name too long for the destination is skipped and
   * reported (files, directories, symlinks and AppleDouble files alike). Minimal input: fdType 'TEXT' in that
   * file's catalog record.
   */
  it("a 255-character file with Finder info: its '._' file gets a shortened name (no skip), everything extracted", async () => {
    const bytes = patched(synthetic('features.hfs'), [{ at: 3793756, was: [0, 0, 0, 0], now: [0x54, 0x45, 0x58, 0x54] }]);
    const file = writeCase(h.root, bytes, '.img');
    const ex = await h.extract(file, 'regression long AppleDouble name');
    expect(ex.problem).toBeUndefined();
    expect(ex.stderr).not.toMatch(/skipped/);
    expect(ex.stderr).toMatch(/extracted 328 files \(2009487 bytes\).*; 1 note$/m);
    // the shortened name is a note on stderr, and in --json
    expect(ex.stderr).toMatch(/^dmgkit: note: \/.{200,}: its AppleDouble file is \._.* \(\._ \+ the name is too long\), recorded in \.dmgkit-appledouble-names\.jsonl$/m);
    const dest = join(h.root, 'long-name-json');
    const js = await h.run('extract-json', ['extract', file, dest, '--json'], 'regression long AppleDouble name --json', true);
    expect(js.code).toBe(0);
    const report = JSON.parse(js.stdout!) as { files: number; skipped: unknown[]; notes: { path: string; note: string }[]; warnings: string[] };
    expect(report.files).toBe(328);
    expect(report.skipped).toEqual([]);
    expect(report.notes).toHaveLength(1);
    expect(report.notes[0].path.length).toBeGreaterThan(200);
    expect(report.notes[0].note).toMatch(/recorded in \.dmgkit-appledouble-names\.jsonl/);
    const manifest = readFileSync(join(dest, dirname(report.notes[0].path), '.dmgkit-appledouble-names.jsonl'), 'utf8');
    expect(manifest).toContain(JSON.stringify(basename(report.notes[0].path)));
  });
});

describe('fuzzer regressions on inline inputs', () => {
  /**
   * Found by every XML mutation of the fuzzer: a malformed plist made the XML parser under plist print
   * "[xmldom fatalError] …" on console.error (once per open: info, verify, convert … each printed it) before the
   * typed error was thrown. Fixed in src/udif/xml-plist.ts: the parser runs with console.error muted.
   */
  it('a malformed XML plist is a CORRUPT_HEADER naming the offset, and nothing is printed', () => {
    const xml = new TextEncoder().encode('<?xml version="1.0"?>\n<plist version="1.0"><dict><key>resource-fork</kex></dict>\n</plist>\n');
    const spy = vi.spyOn(console, 'error');
    try {
      let err: unknown;
      try {
        parseXmlPlist(xml, 4096);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DmgkitError);
      expect((err as DmgkitError).code).toBe('CORRUPT_HEADER');
      expect((err as DmgkitError).message).toMatch(/at offset 4096 \(0x1000\).*does not parse: .*key/);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  /** The same spray from a sparse bundle's damaged Info.plist (and its Info.bckup). Fixed in src/container/sparsebundle.ts. */
  it('a sparse bundle with a malformed Info.plist: a typed error, and nothing is printed', async () => {
    const dir = join(h.root, 'bad.sparsebundle');
    mkdirSync(dir, { recursive: true });
    const bad = '<?xml version="1.0"?>\n<plist version="1.0"><dict><key>band-size</kex></dict></plist>\n';
    writeFileSync(join(dir, 'Info.plist'), bad);
    writeFileSync(join(dir, 'Info.bckup'), bad);
    const spy = vi.spyOn(console, 'error');
    try {
      await expect(openSparseBundle(dir)).rejects.toMatchObject({ name: 'DmgkitError', code: 'CORRUPT_HEADER' });
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  /**
   * Found by the campaign (case 3470, `Info.plist:size=99999999999999999999, Info.bckup:band-size=4095`): an
   * integer beyond 2^53 is a bigint in the plist reader, and the message naming it went through JSON.stringify,
   * which throws on a bigint: every command exited 70 ("Do not know how to serialize a BigInt"). Fixed in
   * src/container/sparsebundle.ts (values named without JSON for bigints).
   */
  it('a sparse bundle whose size is 10^20 (a bigint): CORRUPT_HEADER naming the value, exit 1 on every command', async () => {
    const dir = join(h.root, 'bigint.sparsebundle');
    mkdirSync(join(dir, 'bands'), { recursive: true });
    const info = (band: string, size: string) =>
      `<?xml version="1.0"?>\n<plist version="1.0"><dict><key>band-size</key><integer>${band}</integer><key>diskimage-bundle-type</key>` +
      `<string>com.apple.diskimage.sparsebundle</string><key>size</key><integer>${size}</integer></dict></plist>\n`;
    writeFileSync(join(dir, 'Info.plist'), info('8388608', '99999999999999999999'));
    writeFileSync(join(dir, 'Info.bckup'), info('4095', '1048576'));
    await expect(openSparseBundle(dir)).rejects.toMatchObject({ code: 'CORRUPT_HEADER' });
    const results = await h.runAll(dir, 'bigint bundle');
    for (const r of results) {
      expect(r.problem, r.op).toBeUndefined();
      expect(r.code, r.op).toBe(1);
    }
    expect(results[0].stderr).toMatch(/size 99999999999999999999 is not a non-negative integer/);
  });
});

describe('convert --partition of an entry past the end of the disk', () => {
  /**
   * Found while probing what the fuzzer's null sink cannot see: an MBR entry starting past the end of the disk
   * made `convert --partition 0 -o FILE` print "wrote partition 0 (-50151424 bytes)" and exit 0, and an entry
   * running past the end was silently cut. Fixed in src/cli/select.ts + convert.ts: OUT_OF_RANGE naming the
   * offset, and for a cut entry the bytes that exist are written, the shortfall named, exit 1.
   * Input: 1 MiB of zeros with this partition table at offset 446 (entry 0: FAT32 at LBA 100000, 10 sectors;
   * entry 1: FAT32 at LBA 2040, 100 sectors; the disk has 2048).
   */
  function disk(): Uint8Array {
    const d = new Uint8Array(1 << 20);
    const hex = '000000000b000000a08601000a000000' + '000000000b000000f807000064000000' + '00'.repeat(32) + '55aa';
    d.set(Buffer.from(hex, 'hex'), 446);
    return d;
  }

  it('starting past the end: OUT_OF_RANGE naming the offset; running past the end: written short, named, exit 1', async () => {
    const file = writeCase(h.root, disk(), '.img');
    const out = `${h.root}/part.img`;
    const r0 = await h.run('convert-partition', ['convert', file, '-o', out, '--partition', '0'], 'regression mbr past end');
    expect(r0.problem).toBeUndefined();
    expect(r0.code).toBe(1);
    expect(r0.stderr).toMatch(/partition 0 .* starts at offset 51200000 \(0x30d4000\), past the end of the 1048576-byte disk/);
    const r1 = await h.run('convert-partition', ['convert', file, '-o', out, '--partition', '1'], 'regression mbr past end');
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/partition 1 .* ends 47104 bytes past the end of the 1048576-byte disk: only its first 4096 bytes exist/);
    expect(readFileSync(out).length).toBe(4096);
  });
});

describe('sizes beyond 2^53 bytes in the UDIF tables', () => {
  const sample = join(repoRoot, 'fixtures', 'sample.dmg');
  const be64 = (b: Uint8Array, o: number, v: bigint) => new DataView(b.buffer, b.byteOffset).setBigUint64(o, v);

  /**
   * Fuzzer recipe `koly.sectorCount=9007199254740991` (2^53 − 1, which the u64 reader accepts): the disk size became
   * 2^62 bytes, so every whole-disk read failed with "invalid read of 4611686018427387400 bytes" — verify and convert
   * of an otherwise intact image failed, naming no field. Fixed in src/udif/layout.ts: such a count is a warning
   * naming the koly offset and the block tables give the size.
   */
  it('koly sectorCount 2^53 − 1: a warning; verify, convert and the size are those of the block tables', async () => {
    const orig = new Uint8Array(readFileSync(sample));
    const b = orig.slice();
    be64(b, b.length - 512 + 492, 2n ** 53n - 1n);
    const file = writeCase(h.root, b, '.dmg');
    const info = await h.run('info', ['info', file, '--json'], 'regression koly sectorCount', true);
    expect(info.code).toBe(0);
    const j = JSON.parse(info.stdout!);
    expect(JSON.stringify(j)).toMatch(/koly sector count 9007199254740991 at offset \d+ \(0x[0-9a-f]+\) is beyond 2\^53 bytes; ignored/);
    const verify = await h.run('verify', ['verify', file], 'regression koly sectorCount', true);
    expect(verify.code).toBe(0);
    const out = `${h.root}/disk.img`;
    // the image carries a warning: convert refuses it without --keep-going, and converts it with
    const strict = await h.run('convert', ['convert', file, '-o', out], 'regression koly sectorCount');
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/is damaged \(1 warning: koly sector count 9007199254740991/);
    const conv = await h.run('convert', ['convert', file, '-o', out, '--keep-going'], 'regression koly sectorCount');
    expect(conv.code).toBe(1);
    expect(conv.stderr).toMatch(/^dmgkit: warning: koly sector count 9007199254740991/m);
    // the block tables of the sample cover 780 sectors (the same as the unpatched trailer says)
    expect(new DataView(orig.buffer).getBigUint64(orig.length - 512 + 492)).toBe(780n);
    expect(readFileSync(out).length).toBe(780 * 512);
  });

  /** A table whose first sector + sector count reach beyond 2^53 bytes is refused by name, not read. */
  it('a blkx table of 2^53 − 1 sectors: CORRUPT_TABLE naming the table', async () => {
    const b = new Uint8Array(readFileSync(sample));
    const k = b.length - 512;
    const dv = new DataView(b.buffer);
    const xmlOff = Number(dv.getBigUint64(k + 216));
    const xmlLen = Number(dv.getBigUint64(k + 224));
    const fork = parsePlist(b.subarray(xmlOff, xmlOff + xmlLen), xmlOff);
    const t = fork.get('blkx')![0];
    t.data = t.data.slice();
    be64(t.data, 16, 2n ** 53n - 1n); // mish sectorCount
    const file = writeCase(h.root, replaceXml(b, buildXmlPlist(fork)), '.dmg');
    const info = await h.run('info', ['info', file], 'regression mish sectorCount');
    expect(info.problem).toBeUndefined();
    expect(info.code).toBe(1);
    expect(info.stderr).toMatch(/partition 0 .*: sectors 0 \+ 9007199254740991 reach beyond 2\^53 bytes/);
  });
});

describe('hostile HTTP servers', () => {
  /** A body of `total` bytes served lazily in 64 KiB pieces, counting what was pulled; `failAfter` breaks it. */
  function body(total: number, failAfter = Infinity) {
    const stats = { pulled: 0 };
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (stats.pulled >= failAfter) return c.error(new TypeError('terminated'));
        if (stats.pulled >= total) return c.close();
        const n = Math.min(65536, total - stats.pulled);
        stats.pulled += n;
        c.enqueue(new Uint8Array(n));
      },
    });
    return { stream, stats };
  }
  const url = 'http://example.invalid/image.dmg';
  /** A server that answers the size probe properly, then `onRead` for every range request. */
  function server(size: number, onRead: (range: string) => Response | Promise<Response>): typeof fetch {
    return (async (_u: unknown, init?: RequestInit) => {
      const range = (init?.headers as Record<string, string>)?.Range ?? '';
      if (range === 'bytes=0-0') return new Response(new Uint8Array(1), { status: 206, headers: { 'content-range': `bytes 0-0/${size}` } });
      return onRead(range);
    }) as typeof fetch;
  }

  /**
   * Found reading src/io for the threat model (an untrusted site): a failing network in a range read, or a body
   * that breaks midway, escaped as fetch's TypeError ("fetch failed", "terminated") — exit 70 in the CLI.
   */
  it('a network failure or a broken body during a range read is HTTP_ERROR', async () => {
    const down = await HttpSource.open(url, { fetch: server(1 << 20, () => Promise.reject(new TypeError('fetch failed'))) });
    await expect(down.read(0, 512)).rejects.toMatchObject({ name: 'DmgkitError', code: 'HTTP_ERROR' });
    const broken = await HttpSource.open(url, {
      fetch: server(1 << 20, () => new Response(body(1 << 20, 65536).stream, { status: 206 })),
    });
    await expect(broken.read(0, 1 << 19)).rejects.toMatchObject({ name: 'DmgkitError', code: 'HTTP_ERROR' });
  });

  /** A server that sends far more than the range asked for was read to the end into memory before the check. */
  it('a range answered with 64 MiB is cut off after the bytes asked for: TRUNCATED', async () => {
    const b = body(64 << 20);
    const src = await HttpSource.open(url, { fetch: server(1 << 30, () => new Response(b.stream, { status: 206 })) });
    await expect(src.read(4096, 512)).rejects.toMatchObject({ code: 'TRUNCATED' });
    expect(b.stats.pulled).toBeLessThanOrEqual(3 * 65536);
  });

  it('a range answered with another range is HTTP_ERROR naming both', async () => {
    const src = await HttpSource.open(url, {
      fetch: server(1 << 20, () => new Response(new Uint8Array(512), { status: 206, headers: { 'content-range': 'bytes 0-511/1048576' } })),
    });
    await expect(src.read(4096, 512)).rejects.toThrow(/asked for bytes 4096-4607, the server sent 0-511/);
  });

  /** Without Range support a small Content-Length allowed a full download, which read whatever the body held. */
  it('no Range support, Content-Length 1000, a 64 MiB body: LIMIT_EXCEEDED after the limit, not the whole body', async () => {
    const b = body(64 << 20);
    const fetchNoRange = (async () => new Response(b.stream, { status: 200, headers: { 'content-length': '1000' } })) as typeof fetch;
    await expect(HttpSource.open(url, { fetch: fetchNoRange, maxFullDownloadBytes: 1 << 20 })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(b.stats.pulled).toBeLessThanOrEqual((1 << 20) + 2 * 65536);
  });
});

describe('byte sources fail with typed errors', () => {
  /** A failing positional read (here: the handle is closed) escaped as Node's raw error. */
  it('FileSource: a failing read is IO_ERROR naming the file and offset', async () => {
    const src = await FileSource.open(join(repoRoot, 'fixtures', 'sample.dmg'));
    await src.close();
    await expect(src.read(512, 16)).rejects.toMatchObject({ name: 'DmgkitError', code: 'IO_ERROR', message: expect.stringMatching(/sample\.dmg: read at offset 512 \(0x200\) failed/) });
  });

  /** A File that changed after it was picked rejects arrayBuffer() with a DOMException, which escaped. */
  it('BlobSource: a failing Blob read is IO_ERROR; a short one TRUNCATED', async () => {
    class Failing extends Blob {
      override slice(): Blob {
        return { arrayBuffer: () => Promise.reject(new DOMException('file changed', 'NotReadableError')) } as unknown as Blob;
      }
    }
    await expect(new BlobSource(new Failing([new Uint8Array(4096)]), 'picked.dmg').read(0, 16)).rejects.toMatchObject({ code: 'IO_ERROR' });
    class Short extends Blob {
      override slice(): Blob {
        return new Blob([new Uint8Array(3)]);
      }
    }
    await expect(new BlobSource(new Short([new Uint8Array(4096)])).read(0, 16)).rejects.toMatchObject({ code: 'TRUNCATED' });
  });

  /** file: URLs were opened by their raw pathname, so "a%20b.dmg" named a file that does not exist. */
  it('openSource: file: URLs are percent-decoded; a malformed escape is INVALID_ARGUMENT', async () => {
    const path = join(h.root, 'a b.dmg');
    writeFileSync(path, new Uint8Array(1234));
    const src = await openSource(pathToFileURL(path).href);
    expect(src.size).toBe(1234);
    await src.close?.();
    await expect(openSource('file:///tmp/%E0%A4%A.dmg')).rejects.toMatchObject({ name: 'DmgkitError', code: 'INVALID_ARGUMENT' });
  });
});

describe.runIf(haveFixtures() && existsSync(synthetic('deep-hfsx.hfs')))('one folder named by many entries', () => {
  /**
   * Found while checking the directory-cycle fix: entries that all name the same (non-ancestor) folder are not a
   * loop, so each was listed in full. Nested, that is an exponential tree from a few records (directory hard links
   * allow the same shape legitimately). Recipe on deep-hfsx.hfs: the first 200 file records of /many become folder
   * records whose folderID is /nested's (a 9-level chain). Fixed for `tree` in src/cli/commands/files.ts: a folder
   * already listed is shown once more as "[directory listed above]", not expanded again.
   */
  it('tree expands each folder once', async () => {
    const b = new Uint8Array(readFileSync(synthetic('deep-hfsx.hfs')));
    const vol = await openHfs(new BufferSource(b));
    const many = (await vol.stat('many')).cnid;
    const nested = (await vol.stat('nested')).cnid;
    const dv = new DataView(b.buffer);
    let changed = 0;
    for (const n of findHfs(b)[0].nodes.filter((x) => x.tree === 'catalog' && b[x.offset + 8] === 0xff)) {
      for (let i = 0; i < dv.getUint16(n.offset + 10) && changed < 200; i++) {
        const r = n.offset + dv.getUint16(n.offset + n.size - 2 * (i + 1));
        const d = r + 2 + dv.getUint16(r);
        if (dv.getUint32(r + 2) !== many || dv.getUint16(d) !== 2) continue;
        dv.setUint16(d, 1); // folder record
        dv.setUint32(d + 8, nested); // folderID
        changed++;
      }
    }
    expect(changed).toBe(200);
    const file = writeCase(h.root, b, '.img');
    const tree = await h.run('tree', ['tree', file], 'regression many names, one folder', true);
    expect(tree.problem).toBeUndefined();
    expect(tree.code).toBe(0);
    const lines = tree.stdout!.trimEnd().split('\n');
    expect(lines.filter((l) => l.endsWith('[directory listed above]'))).toHaveLength(200);
    // one line per catalog entry of the volume (deep.expected.tsv, 7-Zip-independent ground truth) + root, blank, summary
    const entries = readFileSync(synthetic('deep.expected.tsv'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).length;
    expect(lines.length).toBe(entries + 3);
  });
});

describe.runIf(haveFixtures() && existsSync(synthetic('features.hfs')))('one damaged file in an extraction', () => {
  /**
   * Found by the fuzzer: a file's resource-fork logical size set to 2^31 (CNID 303, /many/f00255.txt) stopped
   * `extract` at that file ("rsrc fork of CNID 303: logical size 2147483648 exceeds the 0 allocated blocks") and
   * nothing after it was written. Fixed in src/extract/extract.ts: the entry is skipped, its partial output and
   * AppleDouble file removed, and the CLI names it (`dmgkit: skipped …`, exit 1) after extracting the rest.
   */
  it('extract skips the file, names it, extracts everything else and exits 1', async () => {
    // u64 resource fork logicalSize at +168 of CNID 303's HFSPlusCatalogFile record
    const bytes = patched(synthetic('features.hfs'), [{ at: 3777382 + 168, was: [0, 0, 0, 0, 0, 0, 0, 0], now: [0, 0, 0, 0, 0x80, 0, 0, 0] }]);
    const file = writeCase(h.root, bytes, '.img');
    const ex = await h.extract(file, 'regression rsrc size 2^31');
    expect(ex.problem).toBeUndefined();
    expect(ex.code).toBe(1);
    const err = ex.stderr!.trimEnd().split('\n');
    expect(err.filter((l) => l.startsWith('dmgkit: '))).toEqual([
      'dmgkit: skipped /many/f00255.txt: rsrc fork of CNID 303: logical size 2147483648 exceeds the 0 allocated blocks of 4096 bytes', // the fork is streamed (iterateFile names the path once)
    ]);
    // every other regular file of the ground truth was written (hard2 is a hard link of hard1, counted apart)
    const files = readFileSync(synthetic('small.expected.tsv'), 'utf8')
      .split('\n')
      .filter((l) => l.split('\t')[1] === 'f').length;
    expect(err[err.length - 1]).toMatch(new RegExp(`^extracted ${files - 2} files .*, 1 hard links`));
  });
});

describe.runIf(haveFixtures() && existsSync(synthetic('deep-hfsx.hfs')))('one folder named by many entries: ls -R and extract', () => {
  /**
   * The same recipe as 'tree expands each folder once' (200 file records of /many made folder records carrying
   * /nested's ID): `extract` wrote 1,821 directories and `ls -R` listed /nested's 9-level chain 201 times. Fixed in
   * src/hfs/volume.ts (HfsVolume.descent, used by walk) and src/extract/extract.ts: a folder is followed only from
   * its own catalog record (the one its thread record names), or a directory hard link, bounded.
   */
  it('ls -R lists each catalog entry once; extract skips the 200 extra names (exit 1) and writes each directory once', async () => {
    const b = new Uint8Array(readFileSync(synthetic('deep-hfsx.hfs')));
    const vol = await openHfs(new BufferSource(b));
    const many = (await vol.stat('many')).cnid;
    const nested = (await vol.stat('nested')).cnid;
    const dv = new DataView(b.buffer);
    let changed = 0;
    for (const n of findHfs(b)[0].nodes.filter((x) => x.tree === 'catalog' && b[x.offset + 8] === 0xff)) {
      for (let i = 0; i < dv.getUint16(n.offset + 10) && changed < 200; i++) {
        const r = n.offset + dv.getUint16(n.offset + n.size - 2 * (i + 1));
        const d = r + 2 + dv.getUint16(r);
        if (dv.getUint32(r + 2) !== many || dv.getUint16(d) !== 2) continue;
        dv.setUint16(d, 1); // folder record
        dv.setUint32(d + 8, nested); // folderID
        changed++;
      }
    }
    expect(changed).toBe(200);
    const truth = readFileSync(synthetic('deep.expected.tsv'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    const file = writeCase(h.root, b, '.img');
    const ls = await h.run('ls', ['ls', file, '-R'], 'regression many names, one folder: ls -R');
    expect(ls.problem).toBeUndefined();
    expect(ls.code).toBe(0);
    // the same entries as the intact volume (200 of them now folders): about as many bytes, not /nested 201 times
    const intact = await h.run('ls', ['ls', synthetic('deep-hfsx.hfs'), '-R'], 'regression many names, one folder: ls -R intact');
    expect(intact.code).toBe(0);
    expect(Math.abs(ls.outBytes! - intact.outBytes!)).toBeLessThan(200 * 64);
    const ex = await h.extract(file, 'regression many names, one folder: extract');
    expect(ex.problem).toBeUndefined();
    expect(ex.code).toBe(1);
    const err = ex.stderr!.trimEnd().split('\n');
    expect(err.filter((l) => /^dmgkit: skipped \/many\/.*belongs to the record \(2, "nested"\)/.test(l))).toHaveLength(200);
    const dirs = truth.filter((l) => l.split('\t')[1] === 'd').length;
    expect(err[err.length - 1]).toMatch(new RegExp(`, ${dirs} directories,`));
  });
});

describe('many small chunks written to a JavaScript stream', () => {
  /**
   * Found by the campaign (case 6, `300,000 raw chunks of one sector sharing one stored sector`): `convert -o -
   * --keep-going` into a JavaScript Writable (the in-process harness; any library caller's stream) handed over one
   * copy, one promise and the stream's bookkeeping per 512-byte chunk: 1 GB peak in the worker, 6.8 s of CPU. The
   * pieces are now gathered into 1 MiB blocks (src/cli/context.ts gatheringWriter): 274 MB, 3.9 s. Checked here by
   * the number of writes the stream sees, and the bytes against 7-Zip's decoding of the same image.
   */
  it('4,000 one-sector raw chunks reach the stream in 1 MiB blocks, byte-exact', async () => {
    const { buildDmg } = await import('../helpers/build-dmg.js');
    const { main } = await import('../../src/cli/main.js');
    const { Writable } = await import('node:stream');
    const { sevenZipDisk } = await import('../helpers/oracles.js');
    const { sevenZip } = await import('../helpers/fixtures.js');
    const s = new Uint8Array(512).fill(0x41);
    const chunks = [{ type: 1, payload: s, decoded: s }, ...Array.from({ length: 3_999 }, (_, i) => ({ type: 1, payload: s, decoded: s, ...(i % 2 ? {} : { sharesWith: 0 }) }))];
    const file = writeCase(h.root, buildDmg(chunks, 'disk image (Apple_HFS : 1)'));
    const parts: Buffer[] = [];
    const out = new Writable({
      write(c: Buffer, _e, cb) {
        parts.push(c);
        cb();
      },
    });
    const err = new Writable({ write: (_c, _e, cb) => cb() });
    expect(await main(['convert', file, '-o', '-', '--keep-going', '--threads', '1'], { out, err })).toBe(1); // the overlap warning
    const disk = Buffer.concat(parts);
    expect(disk.length).toBe(4_000 * 512);
    expect(parts.length).toBeLessThanOrEqual(Math.ceil(disk.length / 2 ** 20));
    if (sevenZip()) expect(disk.equals(sevenZipDisk(file).disk)).toBe(true);
  });
});
