import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { fixturesDir, haveFixtures, repoRoot, syntheticDir } from '../helpers/fixtures.js';
import { expectCode } from '../helpers/errors.js';
import { type PlistValue, parsePlistXml, serializePlistXml } from '../../src/plist/xml.js';
import { decodeBase64, encodeBase64 } from '../../src/plist/base64.js';
import { parseXmlPlist, buildXmlPlist } from '../../src/udif/xml-plist.js';
import { KOLY_SIZE, parseKoly } from '../../src/udif/koly.js';

/**
 * The plist reader/writer (src/plist) checked against Python's plistlib (expat underneath) run live on every
 * fixture's plist, round-tripped, and fed the three memory bombs of issue 10 in a child process with a small heap.
 */

/** Every UDIF image among the fixtures with an XML plist: [name, plist bytes cut at `</plist>`, file offset]. */
function fixturePlists(): [string, Uint8Array, number][] {
  if (!haveFixtures()) return [];
  const files = [
    ...readdirSync(fixturesDir).map((n) => join(fixturesDir, n)),
    ...readdirSync(syntheticDir).map((n) => join(syntheticDir, n)),
    join(repoRoot, 'fixtures', 'sample.dmg'),
  ].filter((f) => f.endsWith('.dmg') && existsSync(f));
  const out: [string, Uint8Array, number][] = [];
  for (const f of files) {
    const b = new Uint8Array(readFileSync(f));
    const tail = b.subarray(b.length - KOLY_SIZE);
    if (String.fromCharCode(...tail.subarray(0, 4)) !== 'koly') continue;
    const k = parseKoly(tail);
    if (k.xmlLength === 0) continue;
    out.push([f.slice(f.lastIndexOf('/') + 1), b.subarray(k.xmlOffset, k.xmlOffset + k.xmlLength), k.xmlOffset]);
  }
  return out;
}

/** Python's plistlib: the document as tagged JSON (order of dict keys kept). */
const PY = String.raw`
import sys, json, plistlib, base64, datetime
def tag(v):
    if isinstance(v, dict): return {'dict': [[k, tag(x)] for k, x in v.items()]}
    if isinstance(v, list): return {'array': [tag(x) for x in v]}
    if isinstance(v, bool): return {'bool': v}
    if isinstance(v, int): return {'integer': str(v)}
    if isinstance(v, float): return {'real': v}
    if isinstance(v, bytes): return {'data': base64.b64encode(v).decode()}
    if isinstance(v, datetime.datetime): return {'date': v.strftime('%Y-%m-%dT%H:%M:%SZ')}
    return {'string': v}
out = []
for path in sys.argv[1:]:
    out.append(tag(plistlib.loads(open(path, 'rb').read())))
print(json.dumps(out))
`;

function tag(v: PlistValue): unknown {
  if (v instanceof Map) return { dict: [...v].map(([k, x]) => [k, tag(x)]) };
  if (Array.isArray(v)) return { array: v.map(tag) };
  if (typeof v === 'boolean') return { bool: v };
  if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))) return { integer: String(v) };
  if (typeof v === 'number') return { real: v };
  if (v instanceof Uint8Array) return { data: encodeBase64(v) };
  if (v instanceof Date) return { date: v.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  return { string: v };
}

function python(): string {
  for (const bin of ['python3', 'python']) {
    if (spawnSync(bin, ['-c', 'import plistlib'], { stdio: 'ignore' }).status === 0) return bin;
  }
  throw new Error('python3 (with plistlib) is needed for the plist tests: .ci/run installs it');
}

function plistlib(docs: Uint8Array[], dir: string): unknown[] {
  const tmp = mkdtempSync(join(dir, 'plist-'));
  try {
    const paths = docs.map((d, i) => {
      const p = join(tmp, `${i}.plist`);
      writeFileSync(p, d);
      return p;
    });
    const r = spawnSync(python(), ['-c', PY, ...paths], { encoding: 'utf8', maxBuffer: 1 << 28, timeout: 60_000 });
    if (r.status !== 0) throw new Error(`plistlib failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as unknown[];
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const cut = (b: Uint8Array): Uint8Array => {
  const t = new TextDecoder().decode(b);
  return new TextEncoder().encode(t.slice(0, t.lastIndexOf('</plist>') + 8));
};

describe('XML plist reader and writer', () => {
  const plists = fixturePlists();

  it('reads every fixture plist as plistlib does, and writes it back to the same values', () => {
    expect(plists.length).toBeGreaterThanOrEqual(20);
    const docs = plists.map(([, b]) => cut(b));
    const expected = plistlib(docs, tmpdir());
    const ours = docs.map((d) => parsePlistXml(d));
    docs.forEach((_, i) => expect(tag(ours[i]!), plists[i]![0]).toEqual(expected[i]));
    // parse → serialise → parse: equal; and the serialised form is what plistlib reads as the same document
    const written = ours.map((v) => serializePlistXml(v));
    written.forEach((w, i) => expect(tag(parsePlistXml(w)), plists[i]![0]).toEqual(expected[i]));
    expect(plistlib(written, tmpdir())).toEqual(expected);
  });

  it('the UDIF reader keeps resource-fork fields exactly as plistlib reads them, and buildXmlPlist is symmetric', () => {
    for (const [name, b, off] of plists) {
      const fork = parseXmlPlist(b, off);
      const doc = parsePlistXml(cut(b)) as Map<string, PlistValue>;
      const rf = doc.get('resource-fork') as Map<string, Map<string, PlistValue>[]>;
      expect([...fork.keys()], name).toEqual([...rf.keys()]);
      for (const [type, list] of rf) {
        const res = fork.get(type)!;
        expect(res.length).toBe(list.length);
        list.forEach((e, i) => {
          const r = res[i]!;
          expect(r.data).toEqual(e.get('Data'));
          expect(r.name).toBe(e.get('Name') ?? '');
          expect(r.cfName).toBe(e.get('CFName'));
          expect(r.id).toBe(Number(e.get('ID')));
          expect(r.attributes).toBe(Number(e.get('Attributes')));
        });
      }
      const again = parseXmlPlist(buildXmlPlist(fork), 0);
      expect(again, name).toEqual(fork);
    }
  });

  it('written plists read the same in plistlib (random trees)', () => {
    const key = fc.string({ maxLength: 8 });
    const leaf = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }).filter((n) => n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)),
      fc.boolean(),
      fc.uint8Array({ maxLength: 70 }),
      fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2999-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => new Date(Math.floor(d.getTime() / 1000) * 1000)),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
    );
    const tree = fc.letrec<{ v: PlistValue }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('v'), { maxLength: 4 }),
        fc.uniqueArray(fc.tuple(key, tie('v')), { maxLength: 4, selector: ([k]) => k }).map((e) => new Map(e)),
      ),
    })).v;
    const samples = fc.sample(tree.filter((v) => !(typeof v === 'string' && /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\ud800-\udfff]/.test(v))), { numRuns: 150, seed: 42 });
    // plistlib (expat) refuses control characters in text: keep trees whose strings are valid XML characters
    const valid = samples.filter((v) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff\r]/.test(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x instanceof Map ? [...x] : x)).replace(/\\u[0-9a-f]{4}/g, (m) => String.fromCharCode(parseInt(m.slice(2), 16)))));
    expect(valid.length).toBeGreaterThan(100);
    const written = valid.map((v) => serializePlistXml(v));
    const expected = plistlib(written, tmpdir());
    written.forEach((w, i) => {
      const back = parsePlistXml(w);
      expect(tag(back)).toEqual(expected[i]);
      expect(back).toEqual(valid[i]);
    });
  });

  it('base64 matches Node Buffer both ways (lengths 0..200, wrapped and unpadded input)', () => {
    for (let n = 0; n <= 200; n++) {
      const b = new Uint8Array(n).map((_, i) => (i * 151 + n * 7) & 0xff);
      const s = Buffer.from(b).toString('base64');
      expect(encodeBase64(b)).toBe(s);
      expect(decodeBase64(s)).toEqual(b);
      expect(decodeBase64(s.replace(/(.{44})/g, '$1\n\t\t\t'))).toEqual(b);
      expect(decodeBase64(s.replace(/=+$/, ''))).toEqual(new Uint8Array(Buffer.from(s.replace(/=+$/, ''), 'base64')));
    }
  });

  it('malformed documents are CORRUPT_HEADER naming the offset, never runtime text', () => {
    const bad = [
      '<plist><dict><key>a</key></dict></plist>',
      '<plist><dict><string>x</string></dict></plist>',
      '<plist><array><key>a</key></array></plist>',
      '<plist><dict><key>a</key><string>x</dict></plist>',
      '<plist><data>@@@@</data></plist>',
      '<plist><integer>1x</integer></plist>',
      '<plist><date>yesterday</date></plist>',
      '<plist><string>&bogus;</string></plist>',
      '<plist><string>&#xd800;</string></plist>',
      '<plist><string>a</string><string>b</string></plist>',
      '<plist><foo/></plist>',
      '<dict></dict>',
      '<plist><dict>',
      '<plist><string>abc',
      '<!DOCTYPE plist [<!ENTITY a "aaaa">]><plist><string>&a;</string></plist>',
      '',
    ];
    for (const doc of bad) {
      const e = expectCode(() => parsePlistXml(new TextEncoder().encode(doc), { offset: 1000 }), 'CORRUPT_HEADER', /^XML plist at offset 1000 \(0x3e8\) does not parse: .* at offset \d+ \(0x[0-9a-f]+\)$/);
      expect(e.details.offset).toBeGreaterThanOrEqual(1000);
    }
  });

  it('reads entities, character references, CDATA, comments and an empty dict/array', () => {
    const doc = '<?xml version="1.0"?><!-- c --><!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "x.dtd"><plist version="1.0"><dict><key>a&amp;b</key><string>&lt;&#233;&#x1F600;<![CDATA[<raw>&amp;]]><!-- x -->!</string><key>d</key><dict/><key>e</key><array/><key>t</key><true/><key>f</key><false></false></dict></plist>trailing';
    const v = parsePlistXml(new TextEncoder().encode(doc)) as Map<string, PlistValue>;
    expect([...v]).toEqual([
      ['a&b', '<é😀<raw>&amp;!'],
      ['d', new Map()],
      ['e', []],
      ['t', true],
      ['f', false],
    ]);
  });
});

/** Runs `code` (an ES module body with `bytes` and `parse` in scope) in a child with a 192 MiB old space. */
function inSmallHeap(build: string, code: string): { status: number | null; out: string } {
  const mod = join(repoRoot, 'dist', 'udif', 'xml-plist.js');
  const plist = join(repoRoot, 'dist', 'plist', 'xml.js');
  const script = `import { parseXmlPlist } from ${JSON.stringify(mod)};\nimport { parsePlistXml } from ${JSON.stringify(plist)};\n${build}\n${code}`;
  const r = spawnSync(process.execPath, ['--max-old-space-size=192', '--stack-size=984', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** Builds a plist in the child from pieces without holding it as one JS string. */
const BUILDER = String.raw`
function doc(head, unit, n, tail) {
  const enc = new TextEncoder();
  const h = enc.encode('<?xml version="1.0"?><plist version="1.0">' + head), u = enc.encode(unit), t = enc.encode(tail + '</plist>');
  const b = new Uint8Array(h.length + u.length * n + t.length);
  b.set(h, 0);
  for (let i = 0; i < n; i++) b.set(u, h.length + i * u.length);
  b.set(t, h.length + u.length * n);
  return b;
}
const BLKX = '<key>resource-fork</key><dict><key>blkx</key><array><dict><key>Data</key><data>bWlzaA==</data><key>Name</key><string>p</string></dict></array></dict>';
`;

describe('plist memory bombs (issue 10), in a child with a 192 MiB heap', () => {
  it('1.7 M unknown keys (62 MB): read in bounded memory, only resource-fork kept', () => {
    const r = inSmallHeap(
      BUILDER,
      `const b = doc('<dict>', '<key>k0000</key><integer>1</integer>', 1_700_000, BLKX + '</dict>');
       const f = parseXmlPlist(b, 0);
       console.log(b.length, [...f.keys()].join(), f.get('blkx').length);`,
    );
    expect(r.out).toMatch(/^\d{8} blkx 1\n$/);
    expect(Number(r.out.split(' ')[0])).toBeGreaterThan(60e6);
    expect(r.status).toBe(0);
  });

  it('1.7 M keys inside a resource entry are skipped; 1.7 M resources are LIMIT_EXCEEDED', () => {
    const r = inSmallHeap(
      BUILDER,
      `const a = doc('<dict><key>resource-fork</key><dict><key>blkx</key><array><dict><key>Data</key><data>bWlzaA==</data>', '<key>x0000000</key><integer>1</integer>', 1_700_000, '</dict></array></dict></dict>');
       console.log(parseXmlPlist(a, 0).get('blkx').length);
       const b = doc('<dict><key>resource-fork</key><dict><key>blkx</key><array>', '<dict/>', 1_700_000, '</array></dict></dict>');
       try { parseXmlPlist(b, 512); } catch (e) { console.log(e.code, e.message); }`,
    );
    expect(r.out).toMatch(/^1\nLIMIT_EXCEEDED XML plist at offset 512 \(0x200\): more than 262144 values at offset \d+/);
    expect(r.status).toBe(0);
  });

  it('3 M nested <array>: LIMIT_EXCEEDED at depth 64, naming the offset, no runtime text', () => {
    const r = inSmallHeap(
      BUILDER,
      `const b = doc('<dict>' + BLKX + '<key>x</key>', '<array>', 3_000_000, '');
       try { parseXmlPlist(b, 0); } catch (e) { console.log(e.code, e.message); }`,
    );
    expect(r.out).toMatch(/^LIMIT_EXCEEDED XML plist at offset 0 \(0x0\): nesting deeper than 64 levels at offset \d+ \(0x[0-9a-f]+\)\n$/);
    expect(r.status).toBe(0);
  });

  it('12 M entity references in a kept string and in a skipped one: decoded in one buffer', () => {
    const r = inSmallHeap(
      BUILDER,
      `const b = doc('<dict><key>resource-fork</key><dict><key>blkx</key><array><dict><key>Data</key><data>bWlzaA==</data><key>Name</key><string>', '&#65;', 12_000_000, '</string><key>Other</key><string>&lt;&lt;</string></dict></array></dict></dict>');
       const r = parseXmlPlist(b, 0).get('blkx')[0];
       console.log(r.name.length, r.name.slice(0, 3));
       const c = doc('<dict>' + BLKX + '<key>skipped</key><string>', '&#65;', 12_000_000, '</string></dict>');
       console.log(parseXmlPlist(c, 0).get('blkx').length);`,
    );
    expect(r.out).toBe('12000000 AAA\n1\n');
    expect(r.status).toBe(0);
  });

  it('an entity-expansion DOCTYPE (billion laughs) is refused', () => {
    const lol = '<!DOCTYPE plist [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><plist><string>&b;</string></plist>';
    expectCode(() => parsePlistXml(new TextEncoder().encode(lol)), 'CORRUPT_HEADER', /internal subset/);
  });
});
