/**
 * Properties on arbitrary bytes for every parser: each one returns or throws a DmgkitError — never a TypeError,
 * RangeError or anything else. The random bytes get the structure's signature (and, where one is checked first,
 * a plausible size or CRC) planted so the parsers go past their first check. Pure random bytes for the partition
 * maps, sparse image and the codecs' own junk inputs are covered by their owners' tests (test/disk/damaged,
 * test/container/sparseimage, test/codecs/*); here the inputs are shaped.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DmgkitError, isDmgkitError } from '../../src/errors.js';
import { parseKoly } from '../../src/udif/koly.js';
import { parseMish } from '../../src/udif/mish.js';
import { parseXmlPlist } from '../../src/udif/xml-plist.js';
import { parseResourceFork } from '../../src/udif/rsrc-fork.js';
import { UdifImage } from '../../src/udif/image.js';
import '../../src/udif/all-codecs.js'; // UdifImage.open brings no codec: register them all
import { BufferSource } from '../../src/io/buffer-source.js';
import { readPartitionMap, openPartition } from '../../src/disk/partition-map.js';
import { sniffFilesystem } from '../../src/disk/filesystem.js';
import { openSparseImage } from '../../src/container/sparseimage.js';
import { openHfs } from '../../src/hfs/volume.js';
import { decodeAdc } from '../../src/codecs/adc.js';
import { decodeBzip2 } from '../../src/codecs/bzip2.js';
import { decodeLzfse } from '../../src/codecs/lzfse.js';
import { decodeLzvn } from '../../src/codecs/lzvn.js';
import { decodeXz } from '../../src/codecs/xz.js';
import { inflateInto } from '../../src/codecs/zlib.js';
import { crc32 } from '../../src/util/crc32.js';
import { MASKED_BUG } from './harness.js';
import { codecFor } from '../../src/udif/chunk-codecs.js';
import { chunkTypeName } from '../../src/udif/chunk-types.js';
import { loadSeed, mutate, Rng } from './mutate.js';
import { seedPaths } from './seeds.js';

const RUNS = process.env.FUZZ_ITERATIONS ? Math.min(3000, Math.max(300, Math.floor(Number(process.env.FUZZ_ITERATIONS) / 8))) : 500;

/** Runs f; anything thrown must be a DmgkitError. */
async function onlyDmgkit(f: () => unknown): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (!isDmgkitError(e)) throw new Error(`non-DmgkitError escaped: ${(e as Error)?.stack ?? String(e)}`);
    if (MASKED_BUG.test(e.message)) throw new Error(`a JavaScript runtime error behind a DmgkitError: ${e.message}\n${(e.cause as Error)?.stack ?? ''}`);
  }
}

const be32 = (b: Uint8Array, o: number, v: number) => {
  if (o + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(o, v >>> 0);
};
const be64 = (b: Uint8Array, o: number, v: number) => {
  be32(b, o, Math.floor(v / 0x100000000));
  be32(b, o + 4, v % 0x100000000);
};
const put = (b: Uint8Array, o: number, s: string) => {
  for (let i = 0; i < s.length && o + i < b.length; i++) b[o + i] = s.charCodeAt(i);
};
/** Interesting 64-bit values: small, around 2^32, around 2^53, huge. */
const u64 = fc.oneof(
  fc.nat(4096),
  fc.constantFrom(0xffffffff, 0x100000000, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64 - 2 ** 11),
  fc.nat(),
);

describe('UDIF structure parsers on shaped random bytes', () => {
  it('parseKoly: any 512 bytes with the signature and header size', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.boolean(), fc.array(fc.tuple(fc.constantFrom(16, 24, 32, 40, 48, 216, 224, 296, 304, 492), u64)), async (b, sig, fields) => {
        if (sig) {
          put(b, 0, 'koly');
          be32(b, 8, 512);
        }
        for (const [o, v] of fields) be64(b, o, v);
        await onlyDmgkit(() => parseKoly(b, 1234));
      }),
      { numRuns: RUNS },
    );
  });

  it('parseMish: random tables with the signature, any chunk count, any limit', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 204 + 40 * 12 }), fc.oneof(fc.nat(20), fc.constantFrom(0xffffffff, 0x80000000, 1 << 24)), fc.constantFrom(Infinity, 0, 5, 1 << 20), async (b, count, limit) => {
        put(b, 0, 'mish');
        be32(b, 200, count);
        await onlyDmgkit(() => {
          const t = parseMish(b, 'fuzz table', limit);
          expect(t.chunks.length).toBeLessThanOrEqual(Math.min(count, limit));
        });
      }),
      { numRuns: RUNS },
    );
  });

  const plistDoc = (inner: string) =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n${inner}\n</plist>\n`;
  const fragment = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom('<true/>', '<false/>', '<integer>-1</integer>', '<integer>99999999999999999999</integer>', '<integer>1e999</integer>', '<data>!!</data>', '<data>bWlzaA==</data>', '<string>&amp;</string>', '<date>x</date>', '<real>NaN</real>', '', '<', '&x;', '</dict>'),
      fc.string({ maxLength: 20 }).map((s) => `<string>${s}</string>`),
      fc.tuple(fc.constantFrom('blkx', 'resource-fork', 'Data', 'Name', 'ID', 'Attributes', 'CFName', 'plst', ''), tie('node')).map(([k, v]) => `<dict><key>${k}</key>${v}</dict>`),
      fc.array(tie('node'), { maxLength: 4 }).map((a) => `<array>${a.join('')}</array>`),
    ),
  })).node;

  it('parseXmlPlist: arbitrary bytes and random plist trees', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fragment.map((f) => new TextEncoder().encode(plistDoc(`<dict><key>resource-fork</key><dict><key>blkx</key><array>${f}</array></dict></dict>`))),
          fragment.map((f) => new TextEncoder().encode(plistDoc(f))),
        ),
        async (b) => {
          await onlyDmgkit(() => parseXmlPlist(b, 77));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('parseResourceFork: random forks with plausible header offsets', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 700 }), fc.nat(700), fc.nat(700), fc.nat(700), fc.nat(700), fc.boolean(), async (b, dOff, mOff, dLen, mLen, shape) => {
        if (shape && b.length >= 16) {
          be32(b, 0, dOff % b.length);
          be32(b, 4, mOff % b.length);
          be32(b, 8, dLen % (b.length - (dOff % b.length) + 1));
          be32(b, 12, mLen % (b.length - (mOff % b.length) + 1));
        }
        await onlyDmgkit(() => parseResourceFork(b, 99));
      }),
      { numRuns: RUNS },
    );
  });

  it('UdifImage.open and a read: random files ending in a koly trailer', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 2000 }), u64, u64, u64, u64, async (body, xmlOff, xmlLen, sectors, dfLen) => {
        const b = new Uint8Array(body.length + 512);
        b.set(body);
        const k = body.length;
        put(b, k, 'koly');
        be32(b, k + 4, 4);
        be32(b, k + 8, 512);
        be64(b, k + 32, dfLen);
        be64(b, k + 216, xmlOff % (body.length + 1));
        be64(b, k + 224, xmlLen);
        be64(b, k + 492, sectors);
        await onlyDmgkit(async () => {
          const img = await UdifImage.open(new BufferSource(b), { threads: 1 });
          if (img.size > 0) await img.read(0, Math.min(img.size, 4096));
        });
      }),
      { numRuns: RUNS },
    );
  });
});

describe('disk and file-system parsers on shaped random bytes', () => {
  /** A random disk with a GPT header (its CRCs right), an APM entry or an MBR, then sniffing each partition. */
  it('readPartitionMap + sniffFilesystem: planted GPT/APM/MBR signatures with valid CRCs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 512, maxLength: 40 * 512 }), fc.constantFrom('gpt', 'apm', 'mbr'), fc.nat(), fc.nat(300), fc.nat(300), async (b, kind, x, count, size) => {
        if (kind === 'gpt' && b.length >= 1024) {
          put(b, 512, 'EFI PART');
          const dv = new DataView(b.buffer);
          dv.setUint32(512 + 12, 92, true);
          dv.setUint32(512 + 72, 2, true);
          dv.setUint32(512 + 76, 0, true);
          dv.setUint32(512 + 80, count, true);
          dv.setUint32(512 + 84, [128, 0, 1, 256, x][x % 5] >>> 0, true);
          const tlen = count * dv.getUint32(512 + 84, true);
          if (tlen > 0 && 1024 + tlen <= b.length) dv.setUint32(512 + 88, crc32(b.subarray(1024, 1024 + tlen)), true);
          dv.setUint32(512 + 16, 0, true);
          dv.setUint32(512 + 16, crc32(b.subarray(512, 512 + 92)), true);
        } else if (kind === 'apm' && b.length >= 1024) {
          put(b, 0, 'ER');
          be32(b, 2, (512 << 16) | (x & 0xffff));
          put(b, 512, 'PM');
          be32(b, 516, count);
          be32(b, 520, x % 64);
          be32(b, 524, size);
        } else {
          b[510] = 0x55;
          b[511] = 0xaa;
          b[446 + 4] = [0x05, 0x0f, 0xee, 0xaf, 0x07][x % 5];
          new DataView(b.buffer).setUint32(446 + 8, count % 40, true);
          new DataView(b.buffer).setUint32(446 + 12, size, true);
        }
        const src = new BufferSource(b);
        await onlyDmgkit(async () => {
          const map = await readPartitionMap(src);
          for (const e of map.entries.slice(0, 8)) await onlyDmgkit(() => sniffFilesystem(openPartition(src, e)));
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('sniffFilesystem: planted H+/HX/BD/ISO signatures', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 40 * 1024 }), fc.constantFrom('H+', 'HX', 'BD', 'CD001', 'NXSB'), fc.nat(), async (b, sig, x) => {
        if (sig === 'CD001') put(b, 32769, sig);
        else if (sig === 'NXSB') put(b, 32, sig);
        else {
          put(b, 1024, sig);
          if (sig === 'BD') {
            // an embedded HFS+ volume at a random place
            b[1024 + 0x7c] = 0x48;
            b[1024 + 0x7d] = 0x2b;
            be32(b, 1024 + 0x14, x);
          } else be32(b, 1024 + 40, [512, 4096, 0, 3, x][x % 5]);
        }
        await onlyDmgkit(() => sniffFilesystem(new BufferSource(b)));
      }),
      { numRuns: RUNS },
    );
  });

  it('openSparseImage: a signature with random band sizes, sector counts and index-node links', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 64, maxLength: 3 * 4096 + 600 }), fc.oneof(fc.nat(64), fc.constantFrom(0, 0xffffffff, 1 << 21, 2048)), u64, u64, async (b, spb, total, next) => {
        put(b, 0, 'sprs');
        be32(b, 4, 3);
        be32(b, 8, spb);
        be64(b, 28, total);
        be64(b, 20, next % (b.length + 8192));
        await onlyDmgkit(async () => {
          const img = await openSparseImage(new BufferSource(b));
          if (img.size > 0) await img.read(Math.max(0, img.size - 4096), Math.min(img.size, 4096));
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('openHfs + walk + reads: random volumes with a plausible header', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1024, maxLength: 24 * 1024 }),
        fc.constantFrom('H+', 'HX'),
        fc.constantFrom(512, 1024, 4096, 0, 3),
        fc.array(fc.tuple(fc.constantFrom(112, 192, 272, 352, 432), fc.nat(40), fc.nat(40), fc.oneof(fc.nat(30000), fc.constant(2 ** 53))), { maxLength: 5 }),
        async (b, sig, bs, forks) => {
          const v = new Uint8Array(Math.max(b.length, 2048));
          v.set(b);
          put(v, 1024, sig);
          v[1026] = 0;
          v[1027] = sig === 'H+' ? 4 : 5;
          be32(v, 1024 + 40, bs);
          be32(v, 1024 + 44, Math.floor(v.length / Math.max(bs, 1)));
          for (const [off, start, count, size] of forks) {
            be64(v, 1024 + off, size);
            be32(v, 1024 + off + 12, count);
            be32(v, 1024 + off + 16, start);
            be32(v, 1024 + off + 20, count);
          }
          await onlyDmgkit(async () => {
            const vol = await openHfs(new BufferSource(v), { limits: { maxTreeNodesVisited: 5000 } });
            let n = 0;
            for await (const e of vol.walk()) {
              if (++n > 200) break;
              if (e.type === 'file') await onlyDmgkit(() => vol.readFile(e));
              if (e.type === 'symlink') await onlyDmgkit(() => vol.readlink(e));
            }
          });
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('codecs on shaped junk with random declared output sizes', () => {
  const codecs: [string, (i: Uint8Array, o: Uint8Array) => void, number[]][] = [
    ['adc', decodeAdc, []],
    ['bzip2', decodeBzip2, [0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59]],
    ['lzfse', decodeLzfse, [0x62, 0x76, 0x78, 0x32]],
    ['lzfse-bvxn', decodeLzfse, [0x62, 0x76, 0x78, 0x6e]],
    ['lzvn', decodeLzvn, []],
    ['xz', decodeXz, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x01]],
    ['zlib', inflateInto, [0x78, 0x9c]],
    ['zlib-raw', inflateInto, [0x78, 0x01, 0x01]],
  ];
  for (const [name, decode, magic] of codecs) {
    it(`${name}: only DmgkitError for any input and declared size`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 1500 }), fc.oneof(fc.nat(70_000), fc.constantFrom(0, 1, 1 << 20)), fc.boolean(), (junk, size, withMagic) => {
          const input = withMagic ? new Uint8Array([...magic, ...junk]) : junk;
          try {
            decode(input, new Uint8Array(size));
          } catch (e) {
            if (!(e instanceof DmgkitError)) throw new Error(`${name}: ${(e as Error)?.stack ?? String(e)}`);
            if (MASKED_BUG.test(e.message)) throw new Error(`${name}: a JavaScript runtime error behind a DmgkitError: ${e.message}`);
          }
        }),
        { numRuns: RUNS },
      );
    });
  }
});

describe('codecs on mutated real chunks from the fixtures', () => {
  /**
   * Every compressed chunk type found in the seed images (ADC, zlib, bzip2, LZFSE/LZVN, LZMA), mutated (bit flips,
   * byte runs, truncation, extension) and decoded into its declared size: a DmgkitError or exactly that many bytes.
   */
  it('only DmgkitError, never a runtime error, for mutated chunks of every codec', async () => {
    const byType = new Map<number, Uint8Array[]>();
    const sizes = new Map<Uint8Array, number>();
    for (const p of seedPaths().filter((x) => x.endsWith('.dmg'))) {
      const seed = await loadSeed(p, { decode: false });
      for (const c of seed.chunks.slice(0, 6)) {
        if (c.offset + c.length > seed.bytes.length || c.outLength > 4 << 20) continue;
        const data = seed.bytes.subarray(c.offset, c.offset + c.length);
        const list = byType.get(c.type) ?? [];
        if (list.length < 8) {
          list.push(data);
          sizes.set(data, c.outLength);
          byType.set(c.type, list);
        }
      }
    }
    expect([...byType.keys()].map(chunkTypeName).sort()).toEqual(expect.arrayContaining(['adc', 'bzip2', 'lzfse', 'lzma', 'zlib']));
    const rng = new Rng(`codec-chunks:${process.env.FUZZ_SEED ?? '1'}`);
    const perType = Math.max(40, Math.floor(RUNS / 4));
    for (const [type, list] of byType) {
      const codec = codecFor(type)!;
      for (let i = 0; i < perType; i++) {
        const orig = list[i % list.length];
        let input = orig.slice();
        const kind = rng.int(5);
        if (kind === 0) for (let k = 1 + rng.int(6); k > 0; k--) input[rng.int(input.length)] ^= 1 << rng.int(8);
        else if (kind === 1) {
          const n = Math.min(input.length, 1 + rng.int(64));
          input.set(rng.bytes(n), rng.int(input.length - n + 1));
        }
        else if (kind === 2) input = input.slice(0, rng.int(input.length));
        else if (kind === 3) input = new Uint8Array([...input, ...rng.bytes(1 + rng.int(64))]);
        else input[rng.int(Math.min(16, input.length))] = rng.pick([0, 0xff, 0x80]);
        const declared = sizes.get(orig)! + rng.pick([0, 0, 0, -512, 512]);
        const out = new Uint8Array(Math.max(0, declared));
        try {
          codec.decode(input, out);
        } catch (e) {
          if (!(e instanceof DmgkitError)) throw new Error(`${codec.name}: ${(e as Error)?.stack ?? String(e)}`);
          if (MASKED_BUG.test(e.message)) throw new Error(`${codec.name}: a runtime error behind a DmgkitError: ${e.message}`);
        }
      }
    }
  });
});

describe('the HFS+ API on field-aware mutants of the synthetic volumes', () => {
  /**
   * Cheaper than the CLI fuzzer, so many more HFS+ mutants: B-tree nodes, records, names, extents, decmpfs headers
   * of the raw synthetic volumes, then open, walk, stat, read every file (data and resource forks), list and read
   * xattrs, read links. Only DmgkitError, never one carrying a runtime error's text; each mutant within 20 s.
   */
  it('open + walk + read everything: only DmgkitError', async () => {
    const seeds = [];
    for (const p of seedPaths().filter((x) => x.endsWith('.hfs'))) seeds.push(await loadSeed(p));
    if (!seeds.length) return;
    const n = process.env.FUZZ_ITERATIONS ? Math.floor(RUNS / 3) : 60;
    for (let i = 0; i < n; i++) {
      const seed = seeds[i % seeds.length];
      const id = `api:${process.env.FUZZ_SEED ?? '1'}:${Math.floor(i / seeds.length)}`;
      const m = await mutate(seed, id);
      const work = (async () => {
        await onlyDmgkit(async () => {
          const vol = await openHfs(new BufferSource(m.bytes), { limits: { maxFileBytes: 64 << 20 } });
          let k = 0;
          for await (const e of vol.walk()) {
            if (++k > 3000) break;
            await onlyDmgkit(() => vol.stat(e));
            if (e.type === 'file') {
              await onlyDmgkit(() => vol.readFile(e));
              if (e.rsrcSize > 0) await onlyDmgkit(() => vol.readFile(e, { fork: 'rsrc' }));
            }
            if (e.type === 'symlink') await onlyDmgkit(() => vol.readlink(e));
            await onlyDmgkit(async () => {
              for (const x of await vol.listXattrs(e)) await onlyDmgkit(() => vol.getXattr(e, x));
            });
          }
        });
      })();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([work.then(() => 'done'), new Promise((r) => (timer = setTimeout(() => r('timeout'), 20_000)))]);
      clearTimeout(timer);
      expect(outcome, `${seed.name} mutant ${id}: ${m.recipe.join(' ')}`).toBe('done');
    }
  });
});
