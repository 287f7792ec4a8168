import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import plistPackage from 'plist';
import { buildPlist, decodeBase64, encodeBase64, parsePlist, PlistSyntaxError, type PlistValue } from '../../src/util/plist.js';
import { fixture, haveFixtures, listFixtures } from '../helpers/fixtures.js';

/** The XML plist of a UDIF file: [xmlOffset, +xmlLength) from the koly trailer. */
function udifXml(path: string): string {
  const b = readFileSync(path);
  const k = b.subarray(b.length - 512);
  if (k.toString('latin1', 0, 4) !== 'koly') return '';
  const off = Number(k.readBigUInt64BE(216));
  const len = Number(k.readBigUInt64BE(224));
  return len ? b.toString('utf8', off, off + len) : '';
}

/** Plain JSON-able form: Buffers/Uint8Arrays as hex, objects without prototypes as plain objects. */
function norm(v: unknown): unknown {
  if (v instanceof Uint8Array) return { hex: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
  if (v instanceof Date) return { date: v.toISOString() };
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

/** Python's plistlib (an independent reader) on each text, as JSON with data as hex. */
function pythonPlists(xmls: string[]): unknown[] {
  const py = `
import plistlib, sys, json, datetime
def n(v):
    if isinstance(v, bytes): return {"hex": v.hex()}
    if isinstance(v, datetime.datetime): return {"date": v.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    if isinstance(v, dict): return {k: n(x) for k, x in v.items()}
    if isinstance(v, list): return [n(x) for x in v]
    return v
print(json.dumps([n(plistlib.loads(x.encode())) for x in json.load(sys.stdin)]))`;
  const r = spawnSync('python3', ['-c', py], { input: JSON.stringify(xmls), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python3 plistlib failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('XML property lists', () => {
  it.runIf(haveFixtures())('reads every UDIF fixture plist as Python plistlib does', () => {
    const texts = listFixtures((n) => n.endsWith('.dmg'))
      .map((name) => udifXml(fixture(name)))
      .filter((xml) => xml.includes('<plist'))
      .map((xml) => xml.slice(0, xml.lastIndexOf('</plist>') + 8));
    expect(texts.length).toBeGreaterThan(10);
    const want = pythonPlists(texts);
    texts.forEach((text, k) => expect(JSON.stringify(norm(parsePlist(text)))).toBe(JSON.stringify(want[k])));
  });

  it('builds byte for byte what the plist package builds, and reads it back', () => {
    const key = fc.string({ maxLength: 12 }).filter((k) => k !== '__proto__');
    const leaf = fc.oneof(
      fc.string({ maxLength: 30 }).map((s) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/g, '')),
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      fc.boolean(),
      fc.uint8Array({ maxLength: 80 }),
    );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('tree'), { maxLength: 4 }), fc.dictionary(key, tie('tree'), { maxKeys: 4 })),
    }));
    fc.assert(
      fc.property(fc.dictionary(key, tree, { maxKeys: 5 }), (v) => {
        const ours = buildPlist(v as PlistValue);
        const toPkg = (x: unknown): unknown =>
          x instanceof Uint8Array ? Buffer.from(x) : Array.isArray(x) ? x.map(toPkg) : x && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, toPkg(y)])) : x;
        expect(ours).toBe(plistPackage.build(toPkg(v) as plistPackage.PlistValue));
        expect(norm(parsePlist(ours))).toEqual(norm(v));
      }),
      { numRuns: 300 },
    );
  });

  it('entities, CDATA, comments, attributes, empty elements, a DOCTYPE with an internal subset', () => {
    const xml = `<?xml version="1.0"?>
<!DOCTYPE plist [ <!ENTITY x "y"> ]>
<!-- a comment -->
<plist version="1.0"><dict>
  <key>a&amp;b</key><string>&lt;&#65;&#x42;&gt; <![CDATA[<raw & text>]]><!-- gone --></string>
  <key/><array/>
  <key>n</key><integer> -42 </integer>
  <key>r</key><real>1.5</real>
  <key>t</key><true/><key>f</key><false></false>
  <key>d</key><data>
    AAEC
    /w==
  </data>
  <key>e</key><dict/>
  <key>__proto__</key><string>just a key</string>
</dict></plist>
`;
    const v = parsePlist(xml) as Record<string, PlistValue>;
    expect(v['a&b']).toBe('<AB> <raw & text>');
    expect(v['']).toEqual([]);
    expect(v.n).toBe(-42);
    expect(v.r).toBe(1.5);
    expect(v.t).toBe(true);
    expect(v.f).toBe(false);
    expect([...(v.d as Uint8Array)]).toEqual([0, 1, 2, 255]);
    expect(Object.keys(v.e)).toEqual([]);
    expect(Object.getPrototypeOf(v)).toBeNull();
    expect(v['__proto__']).toBe('just a key');
  });

  it('refuses what is not a property list, naming the position', () => {
    const bad: [string, RegExp][] = [
      ['<plist><dict><string>x</string></dict></plist>', /expected <key> in <dict>, found <string> at character 13/],
      ['<plist><array><foo/></array></plist>', /unknown element <foo>/],
      ['<plist><string>abc</plist>', /expected <\/string>/],
      ['<plist><integer>12a</integer></plist>', /is not an integer/],
      ['<plist><data>AB$C</data></plist>', /<data> is not base64/],
      ['<plist><string>a &bogus; b</string></plist>', /unknown entity &bogus;/],
      ['<plist><dict><key>a</key>', /unexpected end of the text/],
      ['<plist><string>x</string></plist> trailing', /content after the property list/],
      ['<plist><key>x</key></plist>', /<key> outside a <dict>/],
      ['<plist>' + '<array>'.repeat(100), /nesting deeper than 64 levels/],
    ];
    for (const [xml, msg] of bad) {
      expect(() => parsePlist(xml), xml).toThrow(PlistSyntaxError);
      expect(() => parsePlist(xml), xml).toThrow(msg);
    }
  });

  it('base64 both ways, with and without Buffer', () => {
    const saved = (globalThis as { Buffer?: unknown }).Buffer;
    for (let len = 0; len < 20; len++) {
      const b = Uint8Array.from({ length: len }, (_, k) => (k * 37 + len) & 255);
      const ref = Buffer.from(b).toString('base64');
      expect(encodeBase64(b)).toBe(ref);
      expect([...decodeBase64(ref)!]).toEqual([...b]);
      try {
        (globalThis as { Buffer?: unknown }).Buffer = undefined;
        expect(encodeBase64(b)).toBe(ref);
        expect([...decodeBase64(ref.replace(/(.{3})/g, '$1\n '))!]).toEqual([...b]);
      } finally {
        (globalThis as { Buffer?: unknown }).Buffer = saved;
      }
    }
    expect(decodeBase64('A')).toBeNull();
    expect(decodeBase64('AB=C')).toBeNull();
  });
});
