/**
 * XML property lists (Apple's PropertyList-1.0 DTD), read and written without an XML library: UDIF images carry
 * their block tables in one, sparse bundles their Info.plist. Only what a plist may hold is accepted: `plist`,
 * `dict` (key/value pairs), `array`, `string`, `key`, `data` (base64), `integer`, `real`, `true`, `false`, `date`,
 * plus the XML prolog, a DOCTYPE, comments and CDATA sections. Anything else is an error naming the position.
 *
 * Dictionaries are objects without a prototype (a `__proto__` key is an ordinary key). Nesting is bounded
 * (`maxDepth`), so hostile input cannot exhaust the stack. No dependencies; runs in browsers.
 *
 * `buildPlist` writes the layout the `plist` package wrote before (two-space indentation, `<string/>` for an
 * empty string, base64 on one line), so images written by earlier versions are reproduced byte for byte.
 */

export type PlistValue = string | number | boolean | Uint8Array | Date | PlistValue[] | PlistDict;
export interface PlistDict {
  [key: string]: PlistValue;
}

export class PlistSyntaxError extends Error {
  constructor(
    message: string,
    /** Character index in the text. */
    readonly position: number,
  ) {
    super(message);
    this.name = 'PlistSyntaxError';
  }
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

// --- base64 --------------------------------------------------------------------------------------------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int16Array(128).fill(-1);
for (let k = 0; k < 64; k++) B64_VALUE[B64.charCodeAt(k)] = k;

/** Decodes base64, ignoring whitespace; returns null on any other character outside the alphabet or bad padding. */
export function decodeBase64(s: string): Uint8Array | null {
  const clean = /[\s]/.test(s) ? s.replace(/\s+/g, '') : s;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return null;
  const body = clean.replace(/=+$/, '');
  if (body.length % 4 === 1) return null;
  const NodeBuffer = (globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array } }).Buffer;
  if (NodeBuffer) {
    const b = NodeBuffer.from(body, 'base64');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  const out = new Uint8Array((body.length * 3) >> 2);
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let k = 0; k < body.length; k++) {
    acc = (acc << 6) | B64_VALUE[body.charCodeAt(k)];
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

export function encodeBase64(b: Uint8Array): string {
  const NodeBuffer = (globalThis as { Buffer?: { from(a: ArrayBufferLike, o: number, l: number): { toString(enc: string): string } } }).Buffer;
  if (NodeBuffer) return NodeBuffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
  let s = '';
  let k = 0;
  for (; k + 2 < b.length; k += 3) {
    const v = (b[k] << 16) | (b[k + 1] << 8) | b[k + 2];
    s += B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + B64[v & 63];
  }
  if (k < b.length) {
    const v = (b[k] << 16) | ((k + 1 < b.length ? b[k + 1] : 0) << 8);
    s += B64[v >> 18] + B64[(v >> 12) & 63] + (k + 1 < b.length ? B64[(v >> 6) & 63] : '=') + '=';
  }
  return s;
}

// --- parsing -------------------------------------------------------------------------------------------------------

/** Parses an XML property list; throws PlistSyntaxError naming the character position. */
export function parsePlist(text: string, opts: { maxDepth?: number } = {}): PlistValue {
  const maxDepth = opts.maxDepth ?? 64;
  const n = text.length;
  let i = 0;

  const fail = (msg: string, at = i): never => {
    throw new PlistSyntaxError(`${msg} at character ${at}`, at);
  };

  /** Skips whitespace, comments, processing instructions and a DOCTYPE. */
  const skipMisc = () => {
    for (;;) {
      while (i < n && isSpace(text.charCodeAt(i))) i++;
      if (text.startsWith('<!--', i)) {
        const e = text.indexOf('-->', i + 4);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
      } else if (text.startsWith('<?', i)) {
        const e = text.indexOf('?>', i + 2);
        if (e < 0) fail('unterminated processing instruction');
        i = e + 2;
      } else if (text.startsWith('<!DOCTYPE', i)) {
        const close = text.indexOf('>', i);
        const bracket = text.indexOf('[', i);
        if (bracket >= 0 && (close < 0 || bracket < close)) {
          const e = text.indexOf(']', bracket);
          const e2 = e < 0 ? -1 : text.indexOf('>', e);
          if (e2 < 0) fail('unterminated DOCTYPE');
          i = e2 + 1;
        } else {
          if (close < 0) fail('unterminated DOCTYPE');
          i = close + 1;
        }
      } else return;
    }
  };

  /** Reads a start tag at i: its name and whether it is empty (`<x/>`). Attributes are skipped. */
  const openTag = (): { name: string; empty: boolean; at: number } => {
    const at = i;
    if (text.charCodeAt(i) !== 0x3c) fail(i >= n ? 'unexpected end of the text' : 'expected an element');
    if (text.charCodeAt(i + 1) === 0x2f) fail('unexpected closing tag');
    const e = text.indexOf('>', i);
    if (e < 0) fail('unterminated tag');
    let j = i + 1;
    while (j < e && !isSpace(text.charCodeAt(j)) && text.charCodeAt(j) !== 0x2f) j++;
    const name = text.slice(i + 1, j);
    if (!/^[A-Za-z_][\w.:-]*$/.test(name)) fail('malformed tag');
    const empty = text.charCodeAt(e - 1) === 0x2f;
    i = e + 1;
    return { name, empty, at };
  };

  /** Expects `</name>` at i (after optional whitespace). */
  const closeTag = (name: string) => {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (!text.startsWith('</', i)) fail(`expected </${name}>`);
    let j = i + 2;
    if (text.slice(j, j + name.length) !== name) fail(`expected </${name}>`);
    j += name.length;
    while (j < n && isSpace(text.charCodeAt(j))) j++;
    if (text.charCodeAt(j) !== 0x3e) fail(`expected </${name}>`);
    i = j + 1;
  };

  const decodeEntities = (s: string, at: number): string =>
    s.indexOf('&') < 0
      ? s
      : s.replace(/&([^;&\s]{1,10});/g, (m, ent: string) => {
          if (ent[0] === '#') {
            const code = ent[1] === 'x' || ent[1] === 'X' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
            if (!Number.isInteger(code) || code < 0 || code > 0x10ffff) fail(`bad character reference ${m}`, at);
            return String.fromCodePoint(code);
          }
          const v = ENTITIES[ent];
          if (v === undefined) fail(`unknown entity ${m}`, at);
          return v;
        });

  /** The text content up to `</name>` (entities decoded, CDATA kept as is, comments dropped). */
  const content = (name: string): string => {
    let out = '';
    for (;;) {
      const lt = text.indexOf('<', i);
      if (lt < 0) fail(`unterminated <${name}>`);
      if (lt > i) out += decodeEntities(text.slice(i, lt), i);
      i = lt;
      if (text.startsWith('<![CDATA[', i)) {
        const e = text.indexOf(']]>', i + 9);
        if (e < 0) fail('unterminated CDATA section');
        out += text.slice(i + 9, e);
        i = e + 3;
      } else if (text.startsWith('<!--', i)) {
        const e = text.indexOf('-->', i + 4);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
      } else {
        closeTag(name);
        return out;
      }
    }
  };

  const value = (depth: number): PlistValue => {
    if (depth > maxDepth) fail(`nesting deeper than ${maxDepth} levels`);
    skipMisc();
    const { name, empty, at } = openTag();
    switch (name) {
      case 'dict': {
        const d = Object.create(null) as PlistDict;
        if (empty) return d;
        for (;;) {
          skipMisc();
          if (text.startsWith('</', i)) {
            closeTag('dict');
            return d;
          }
          const k = openTag();
          if (k.name !== 'key') fail(`expected <key> in <dict>, found <${k.name}>`, k.at);
          const key = k.empty ? '' : content('key');
          d[key] = value(depth + 1);
        }
      }
      case 'array': {
        const a: PlistValue[] = [];
        if (empty) return a;
        for (;;) {
          skipMisc();
          if (text.startsWith('</', i)) {
            closeTag('array');
            return a;
          }
          a.push(value(depth + 1));
        }
      }
      case 'string':
        return empty ? '' : content('string');
      case 'data': {
        const b = decodeBase64(empty ? '' : content('data'));
        if (!b) fail('<data> is not base64', at);
        return b!;
      }
      case 'integer': {
        const s = (empty ? '' : content('integer')).trim();
        if (!/^[+-]?\d+$/.test(s)) fail(`<integer> ${JSON.stringify(s.slice(0, 40))} is not an integer`, at);
        return Number(s);
      }
      case 'real': {
        const s = (empty ? '' : content('real')).trim();
        const v = Number(s);
        if (s === '' || Number.isNaN(v)) fail(`<real> ${JSON.stringify(s.slice(0, 40))} is not a number`, at);
        return v;
      }
      case 'true':
      case 'false':
        if (!empty) closeTag(name);
        return name === 'true';
      case 'date': {
        const s = (empty ? '' : content('date')).trim();
        const d = new Date(s);
        if (Number.isNaN(d.getTime())) fail(`<date> ${JSON.stringify(s.slice(0, 40))} is not a date`, at);
        return d;
      }
      case 'key':
        return fail('<key> outside a <dict>', at);
      default:
        return fail(`unknown element <${name}>`, at);
    }
  };

  skipMisc();
  let root: PlistValue;
  if (text.startsWith('<plist', i) && /[\s/>]/.test(text[i + 6] ?? '')) {
    const p = openTag();
    if (p.empty) fail('empty <plist>', p.at);
    root = value(1);
    skipMisc();
    closeTag('plist');
  } else root = value(1);
  skipMisc();
  if (i < n) fail('content after the property list');
  return root;
}

// --- building ------------------------------------------------------------------------------------------------------

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#xD;');

function isoDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** An XML property list of `value`, laid out as Apple's tools and the `plist` package do (no trailing newline). */
export function buildPlist(value: PlistValue): string {
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
  ];
  const emit = (v: PlistValue, indent: string) => {
    if (typeof v === 'string') out.push(v === '' ? `${indent}<string/>` : `${indent}<string>${escapeText(v)}</string>`);
    else if (typeof v === 'number') out.push(Number.isInteger(v) ? `${indent}<integer>${v}</integer>` : `${indent}<real>${v}</real>`);
    else if (typeof v === 'boolean') out.push(`${indent}<${v}/>`);
    else if (v instanceof Uint8Array) out.push(v.length === 0 ? `${indent}<data/>` : `${indent}<data>${encodeBase64(v)}</data>`);
    else if (v instanceof Date) out.push(`${indent}<date>${isoDate(v)}</date>`);
    else if (Array.isArray(v)) {
      if (v.length === 0) out.push(`${indent}<array/>`);
      else {
        out.push(`${indent}<array>`);
        for (const x of v) emit(x, indent + '  ');
        out.push(`${indent}</array>`);
      }
    } else {
      const keys = Object.keys(v);
      if (keys.length === 0) out.push(`${indent}<dict/>`);
      else {
        out.push(`${indent}<dict>`);
        for (const k of keys) {
          out.push(k === '' ? `${indent}  <key/>` : `${indent}  <key>${escapeText(k)}</key>`);
          emit(v[k], indent + '  ');
        }
        out.push(`${indent}</dict>`);
      }
    }
  };
  emit(value, '  ');
  out.push('</plist>');
  return out.join('\n');
}
