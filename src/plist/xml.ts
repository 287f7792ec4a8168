import { DmgkitError, at } from '../errors.js';
import { Base64Error, decodeBase64Bytes, encodeBase64Bytes } from './base64.js';

/**
 * A purpose-built reader and writer for Apple XML property lists (the `plist` DTD 1.0), over bytes, with no DOM
 * and no recursion: the parser keeps an explicit stack bounded by `maxDepth`, so no input drives the call stack.
 *
 * Bounded by construction:
 * - depth (`maxDepth`), values kept (`maxValues`), size of one string/data/key (`maxValueBytes`);
 * - only the predefined entities (`&lt;` `&gt;` `&amp;` `&quot;` `&apos;`) and character references are
 *   understood; a DOCTYPE with an internal subset is refused, so there is no entity expansion at all (a
 *   reference is never longer decoded than written);
 * - `keep` selects the dictionary entries to materialise: everything else is scanned for well-formedness and
 *   dropped without decoding, so a plist full of unknown keys costs time linear in its size and no memory.
 *
 * Values: `<dict>` → Map (document order; a repeated key keeps its last value), `<array>` → array, `<string>`
 * → string, `<integer>` → number (or bigint beyond 2^53), `<real>` → number, `<true/>`/`<false/>` → boolean,
 * `<date>` → Date, `<data>` → Uint8Array. Serialising writes a number that is an integer as `<integer>`, so a
 * `<real>` with an integral value reads back as the same number but is written as `<integer>`; dates are
 * written to the second, as Apple writes them.
 *
 * Every failure is a DmgkitError (`CORRUPT_HEADER`, or `LIMIT_EXCEEDED` for a limit) naming the byte offset.
 */

export type PlistValue = string | number | bigint | boolean | Date | Uint8Array | PlistValue[] | PlistDict;
export type PlistDict = Map<string, PlistValue>;

export interface PlistParseOptions {
  /** File offset of byte 0, for messages. Default 0. */
  offset?: number;
  /** What the messages call the document. Default "XML plist". */
  what?: string;
  /** Deepest nesting of dict/array (kept or skipped). Default 64. */
  maxDepth?: number;
  /** Most values materialised (containers and scalars). Default 262144. */
  maxValues?: number;
  /** Largest single string, key or data text, in bytes as written. Default 64 MiB. */
  maxValueBytes?: number;
  /**
   * Whether to keep the value of the dictionary entry at `path` (dictionary keys from the root; an array level
   * adds `[]`). Called only inside kept containers. Default: keep everything.
   */
  keep?: (path: readonly string[]) => boolean;
}

export const PLIST_DEFAULT_MAX_DEPTH = 64;
export const PLIST_DEFAULT_MAX_VALUES = 1 << 18;
export const PLIST_DEFAULT_MAX_VALUE_BYTES = 64 * 1024 * 1024;

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const AMP = 0x26;

const utf8 = new TextDecoder('utf-8', { fatal: false });

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x3a || c === 0x2e;
}

interface Frame {
  kind: 'dict' | 'array';
  /** The container being filled; null when skipped. */
  value: PlistDict | PlistValue[] | null;
  /** dict: the key waiting for its value. */
  key: string | null;
  /** dict: whether the pending key's value is kept. */
  keepNext: boolean;
  /** Offset of the opening tag. */
  start: number;
}

interface Tag {
  name: string;
  close: boolean;
  empty: boolean;
  start: number;
}

class Reader {
  p = 0;
  private values = 0;
  private readonly base: number;
  private readonly what: string;
  private readonly maxDepth: number;
  private readonly maxValues: number;
  private readonly maxValueBytes: number;
  private readonly keep: ((path: readonly string[]) => boolean) | undefined;

  constructor(private readonly b: Uint8Array, o: PlistParseOptions) {
    this.base = o.offset ?? 0;
    this.what = o.what ?? 'XML plist';
    this.maxDepth = o.maxDepth ?? PLIST_DEFAULT_MAX_DEPTH;
    this.maxValues = o.maxValues ?? PLIST_DEFAULT_MAX_VALUES;
    this.maxValueBytes = o.maxValueBytes ?? PLIST_DEFAULT_MAX_VALUE_BYTES;
    this.keep = o.keep;
  }

  fail(pos: number, why: string): never {
    const off = this.base + pos;
    throw new DmgkitError('CORRUPT_HEADER', `${this.what} ${at(this.base)} does not parse: ${why} ${at(off)}`, { offset: off });
  }

  limit(pos: number, why: string): never {
    const off = this.base + pos;
    throw new DmgkitError('LIMIT_EXCEEDED', `${this.what} ${at(this.base)}: ${why} ${at(off)}`, { offset: off });
  }

  private indexOf(seq: string, from: number): number {
    const b = this.b;
    const c0 = seq.charCodeAt(0);
    outer: for (let i = b.indexOf(c0, from); i >= 0; i = b.indexOf(c0, i + 1)) {
      if (i + seq.length > b.length) return -1;
      for (let j = 1; j < seq.length; j++) if (b[i + j] !== seq.charCodeAt(j)) continue outer;
      return i;
    }
    return -1;
  }

  private startsWith(seq: string, pos: number): boolean {
    if (pos + seq.length > this.b.length) return false;
    for (let j = 0; j < seq.length; j++) if (this.b[pos + j] !== seq.charCodeAt(j)) return false;
    return true;
  }

  /** Skips whitespace, comments and processing instructions; stops at the next other markup or text. */
  private skipMisc(): void {
    const b = this.b;
    for (;;) {
      while (this.p < b.length && isSpace(b[this.p]!)) this.p++;
      if (this.startsWith('<!--', this.p)) {
        const e = this.indexOf('-->', this.p + 4);
        if (e < 0) this.fail(this.p, 'unterminated comment');
        this.p = e + 3;
      } else if (this.startsWith('<?', this.p)) {
        const e = this.indexOf('?>', this.p + 2);
        if (e < 0) this.fail(this.p, 'unterminated processing instruction');
        this.p = e + 2;
      } else return;
    }
  }

  /** Reads the tag at `p` (which is at '<'). Attributes are skipped (quoted values may hold '>'). */
  private tag(): Tag {
    const b = this.b;
    const start = this.p;
    if (b[start] !== LT) this.fail(start, b.length <= start ? 'the document ends early' : 'text where a tag was expected');
    let i = start + 1;
    const close = b[i] === SLASH;
    if (close) i++;
    const n0 = i;
    while (i < b.length && isNameChar(b[i]!)) i++;
    if (i === n0) this.fail(start, 'a malformed tag');
    const name = utf8.decode(b.subarray(n0, i));
    let quote = 0;
    for (; i < b.length; i++) {
      const c = b[i]!;
      if (quote) {
        if (c === quote) quote = 0;
      } else if (c === 0x22 || c === 0x27) quote = c;
      else if (c === GT) break;
    }
    if (i >= b.length) this.fail(start, `an unterminated <${name}> tag`);
    const empty = !close && b[i - 1] === SLASH;
    this.p = i + 1;
    return { name, close, empty, start };
  }

  /** The next tag after whitespace and comments; text other than whitespace is an error. */
  private nextTag(): Tag {
    this.skipMisc();
    if (this.p >= this.b.length) this.fail(this.p, 'the document ends early');
    return this.tag();
  }

  /**
   * Finds the end of a scalar element's character data (`</name>`), checking that only text, CDATA sections and
   * comments come before it, and moves past the end tag. Returns the content's range.
   */
  private content(t: Tag): [number, number] {
    if (t.empty) return [this.p, this.p];
    const b = this.b;
    const close = `</${t.name}`;
    const start = this.p;
    for (let i = start; ; ) {
      const lt = b.indexOf(LT, i);
      if (lt < 0) this.fail(t.start, `an unterminated <${t.name}>`);
      if (lt - start > this.maxValueBytes) this.limit(t.start, `a <${t.name}> longer than ${this.maxValueBytes} bytes`);
      if (this.startsWith(close, lt)) {
        let e = lt + close.length;
        while (e < b.length && isSpace(b[e]!)) e++;
        if (b[e] !== GT) this.fail(lt, `a malformed </${t.name}>`);
        this.p = e + 1;
        return [start, lt];
      }
      const cdata = this.startsWith('<![CDATA[', lt);
      if (cdata || this.startsWith('<!--', lt)) {
        const e = cdata ? this.indexOf(']]>', lt + 9) : this.indexOf('-->', lt + 4);
        if (e < 0) this.fail(lt, cdata ? 'an unterminated CDATA section' : 'an unterminated comment');
        i = e + 3;
        continue;
      }
      this.fail(lt, `markup inside <${t.name}> (expected </${t.name}>)`);
    }
  }

  /**
   * Decodes character data checked by content(): UTF-8 with entity and character references resolved, CDATA
   * sections taken as they are, comments dropped. One output buffer no longer than the input (a reference is
   * never shorter than its UTF-8), one string: no per-reference allocation.
   */
  private decodeText(start: number, end: number): string {
    const b = this.b;
    let i = start;
    while (i < end && b[i] !== AMP && b[i] !== LT) i++;
    if (i === end) return utf8.decode(b.subarray(start, end));
    const out = new Uint8Array(end - start);
    out.set(b.subarray(start, i));
    let o = i - start;
    while (i < end) {
      const c = b[i]!;
      if (c === AMP) {
        let semi = i + 1;
        while (semi < end && semi - i <= 12 && b[semi] !== 0x3b) semi++;
        if (semi >= end || b[semi] !== 0x3b) this.fail(i, 'an unterminated entity reference');
        o = this.entity(i + 1, semi, out, o);
        i = semi + 1;
      } else if (c === LT) {
        if (this.startsWith('<![CDATA[', i)) {
          const e = this.indexOf(']]>', i + 9);
          out.set(b.subarray(i + 9, e), o);
          o += e - i - 9;
          i = e + 3;
        } else {
          i = this.indexOf('-->', i + 4) + 3; // a comment (checked by content())
        }
      } else {
        out[o++] = c;
        i++;
      }
    }
    return utf8.decode(out.subarray(0, o));
  }

  /** Writes the UTF-8 of the reference `&name;` (name at [s, e)) to out at o; returns the new o. */
  private entity(s: number, e: number, out: Uint8Array, o: number): number {
    const b = this.b;
    let cp = -1;
    if (b[s] === 0x23) {
      // &#123; or &#x1F600;
      const hex = b[s + 1] === 0x78;
      let i = hex ? s + 2 : s + 1;
      if (i < e && e - i <= (hex ? 6 : 7)) {
        cp = 0;
        for (; i < e; i++) {
          const c = b[i]!;
          const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : hex && c >= 0x61 && c <= 0x66 ? c - 0x57 : hex && c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
          if (d < 0) {
            cp = -1;
            break;
          }
          cp = cp * (hex ? 16 : 10) + d;
        }
      }
    } else {
      const n = e - s;
      const c0 = b[s];
      if (n === 2 && b[s + 1] === 0x74 && (c0 === 0x6c || c0 === 0x67)) cp = c0 === 0x6c ? 0x3c : 0x3e; // lt gt
      else if (n === 3 && c0 === 0x61 && b[s + 1] === 0x6d && b[s + 2] === 0x70) cp = 0x26; // amp
      else if (n === 4 && c0 === 0x71 && b[s + 1] === 0x75 && b[s + 2] === 0x6f && b[s + 3] === 0x74) cp = 0x22; // quot
      else if (n === 4 && c0 === 0x61 && b[s + 1] === 0x70 && b[s + 2] === 0x6f && b[s + 3] === 0x73) cp = 0x27; // apos
    }
    if (!(cp > 0 && cp <= 0x10ffff) || (cp >= 0xd800 && cp <= 0xdfff)) {
      const name = String.fromCharCode(...b.subarray(s, e)).replace(/[^\x20-\x7e]/g, '?');
      this.fail(s - 1, `an unknown or invalid entity reference &${name};`);
    }
    if (cp < 0x80) out[o++] = cp;
    else if (cp < 0x800) {
      out[o++] = 0xc0 | (cp >> 6);
      out[o++] = 0x80 | (cp & 63);
    } else if (cp < 0x10000) {
      out[o++] = 0xe0 | (cp >> 12);
      out[o++] = 0x80 | ((cp >> 6) & 63);
      out[o++] = 0x80 | (cp & 63);
    } else {
      out[o++] = 0xf0 | (cp >> 18);
      out[o++] = 0x80 | ((cp >> 12) & 63);
      out[o++] = 0x80 | ((cp >> 6) & 63);
      out[o++] = 0x80 | (cp & 63);
    }
    return o;
  }

  /** A kept scalar's text, or null (checked and skipped) when not kept. */
  private text(t: Tag, keep: boolean): string | null {
    const [s, e] = this.content(t);
    return keep ? this.decodeText(s, e) : null;
  }

  private count(pos: number): void {
    if (++this.values > this.maxValues) this.limit(pos, `more than ${this.maxValues} values`);
  }

  /** Reads a scalar element whose start tag was just read. */
  private scalar(t: Tag, keep: boolean): PlistValue | null {
    switch (t.name) {
      case 'string':
        return this.text(t, keep);
      case 'integer': {
        const s = this.text(t, keep);
        if (s === null) return null;
        const v = s.trim();
        let n: bigint;
        if (/^[+-]?[0-9]{1,40}$/.test(v)) n = BigInt(v);
        else if (/^[+-]?0[xX][0-9a-fA-F]{1,32}$/.test(v)) n = v.startsWith('-') ? -BigInt(v.slice(1)) : BigInt(v.replace('+', ''));
        else this.fail(t.start, `<integer> ${JSON.stringify(v.slice(0, 40))} is not an integer`);
        return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
      }
      case 'real': {
        const s = this.text(t, keep);
        if (s === null) return null;
        const v = s.trim().toLowerCase();
        const n = v === 'nan' ? NaN : v === 'inf' || v === '+inf' || v === 'infinity' || v === '+infinity' ? Infinity : v === '-inf' || v === '-infinity' ? -Infinity : Number(v);
        if (v === '' || (Number.isNaN(n) && v !== 'nan')) this.fail(t.start, `<real> ${JSON.stringify(v.slice(0, 40))} is not a number`);
        return n;
      }
      case 'date': {
        const s = this.text(t, keep);
        if (s === null) return null;
        const v = s.trim();
        const d = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) ? new Date(v) : new Date(NaN);
        if (Number.isNaN(d.getTime())) this.fail(t.start, `<date> ${JSON.stringify(v.slice(0, 40))} is not an ISO 8601 UTC date`);
        return d;
      }
      case 'data': {
        const [s, e] = this.content(t);
        if (!keep) return null;
        try {
          return decodeBase64Bytes(this.b, s, e);
        } catch (err) {
          if (err instanceof Base64Error) this.fail(err.index, `<data>: ${err.message}`);
          throw err;
        }
      }
      case 'true':
      case 'false':
        if (!t.empty) {
          const c = this.nextTag();
          if (!c.close || c.name !== t.name) this.fail(c.start, `<${t.name}> must be empty`);
        }
        return keep ? t.name === 'true' : null;
      default:
        this.fail(t.start, `an unknown element <${t.name}>`);
    }
  }

  parse(): PlistValue {
    // prolog: XML declaration, comments, DOCTYPE (no internal subset)
    const b = this.b;
    if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) this.p = 3;
    for (;;) {
      this.skipMisc();
      if (this.startsWith('<!DOCTYPE', this.p)) {
        let i = this.p + 9;
        let quote = 0;
        for (; i < b.length; i++) {
          const c = b[i]!;
          if (quote) {
            if (c === quote) quote = 0;
          } else if (c === 0x22 || c === 0x27) quote = c;
          else if (c === 0x5b) this.fail(i, 'a DOCTYPE with an internal subset (entity declarations are not read)');
          else if (c === GT) break;
        }
        if (i >= b.length) this.fail(this.p, 'an unterminated DOCTYPE');
        this.p = i + 1;
        continue;
      }
      break;
    }
    const root = this.nextTag();
    if (root.close || root.name !== 'plist') this.fail(root.start, `the root element is <${root.close ? '/' : ''}${root.name}>, not <plist>`);
    if (root.empty) this.fail(root.start, '<plist/> holds no value');

    const path: string[] = [];
    const stack: Frame[] = [];
    let result: PlistValue | undefined;
    let haveResult = false;

    const place = (v: PlistValue | null, pos: number): void => {
      const top = stack[stack.length - 1];
      if (!top) {
        if (haveResult) this.fail(pos, '<plist> holds more than one value');
        result = v ?? undefined;
        haveResult = true;
        return;
      }
      if (top.kind === 'dict') {
        if (top.value && top.keepNext && v !== null) (top.value as PlistDict).set(top.key!, v);
        top.key = null;
        path.pop();
      } else if (top.value && v !== null) (top.value as PlistValue[]).push(v);
    };
    /** Whether a value read now is kept. */
    const keeping = (): boolean => {
      const top = stack[stack.length - 1];
      if (!top) return true;
      if (!top.value) return false;
      return top.kind === 'array' || top.keepNext;
    };

    for (;;) {
      const t = this.nextTag();
      const top = stack[stack.length - 1];
      if (t.close) {
        if (top && t.name === top.kind) {
          if (top.kind === 'dict' && top.key !== null) this.fail(t.start, `the key "${top.key.slice(0, 60)}" has no value`);
          stack.pop();
          if (top.kind === 'array') path.pop();
          place(top.value, top.start);
          continue;
        }
        if (!top && t.name === 'plist') {
          if (!haveResult) this.fail(t.start, '<plist> holds no value');
          return result!;
        }
        this.fail(t.start, `</${t.name}> where ${top ? `</${top.kind}> or a value` : 'a value or </plist>'} was expected`);
      }
      if (top?.kind === 'dict' && top.key === null) {
        if (t.name !== 'key') this.fail(t.start, `<${t.name}> where a <key> was expected in the <dict> ${at(this.base + top.start)}`);
        const k = this.text(t, true)!;
        top.key = k;
        path.push(k);
        top.keepNext = top.value !== null && (this.keep ? this.keep(path) : true);
        continue;
      }
      if (!top && haveResult) this.fail(t.start, '<plist> holds more than one value');
      const keep = keeping();
      if (t.name === 'dict' || t.name === 'array') {
        if (keep) this.count(t.start);
        const value = keep ? (t.name === 'dict' ? new Map<string, PlistValue>() : []) : null;
        if (t.empty) {
          place(value, t.start);
          continue;
        }
        if (stack.length >= this.maxDepth) this.limit(t.start, `nesting deeper than ${this.maxDepth} levels`);
        stack.push({ kind: t.name, value, key: null, keepNext: false, start: t.start });
        if (t.name === 'array') path.push('[]');
        continue;
      }
      if (t.name === 'key') this.fail(t.start, top ? '<key> inside an <array>' : '<key> outside a <dict>');
      if (keep) this.count(t.start);
      place(this.scalar(t, keep), t.start);
    }
  }
}

/** Parses an XML property list. See the module comment for limits and value types. */
export function parsePlistXml(bytes: Uint8Array, options: PlistParseOptions = {}): PlistValue {
  return new Reader(bytes, options).parse();
}

/** True when the bytes look like the start of an XML document (declaration, DOCTYPE, comment or `<plist`). */
export function looksLikeXmlPlist(b: Uint8Array): boolean {
  let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  while (i < b.length && i < 64 && isSpace(b[i]!)) i++;
  const head = utf8.decode(b.subarray(i, i + 9));
  return head.startsWith('<?xml') || head.startsWith('<!DOCTYPE') || head.startsWith('<plist') || head.startsWith('<!--');
}

// ---------------------------------------------------------------------------------------------------------------
// writer

const HEADER =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
  '<plist version="1.0">\n';

function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** Base64 characters per `<data>` line, as hdiutil writes them. */
const DATA_LINE = 44;

function isoSeconds(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new DmgkitError('INVALID_ARGUMENT', 'cannot write an invalid Date to a plist');
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Serialises a value as an XML property list in the layout hdiutil and CoreFoundation write (tab indentation,
 * `<data>` as base64 lines of 44 characters). Iterative: the depth of the value does not grow the call stack.
 */
export function serializePlistXml(value: PlistValue): Uint8Array {
  const out: string[] = [HEADER];
  type Item = { v: PlistValue; depth: number } | { end: string; depth: number } | { key: string; depth: number };
  const todo: Item[] = [{ v: value, depth: 0 }];
  while (todo.length) {
    const it = todo.pop()!;
    const ind = '\t'.repeat(it.depth);
    if ('end' in it) {
      out.push(`${ind}${it.end}\n`);
      continue;
    }
    if ('key' in it) {
      out.push(`${ind}<key>${escapeText(it.key)}</key>\n`);
      continue;
    }
    const v = it.v;
    if (v instanceof Map) {
      if (v.size === 0) {
        out.push(`${ind}<dict/>\n`);
        continue;
      }
      out.push(`${ind}<dict>\n`);
      todo.push({ end: '</dict>', depth: it.depth });
      const entries = [...v];
      for (let i = entries.length - 1; i >= 0; i--) {
        todo.push({ v: entries[i]![1], depth: it.depth + 1 }, { key: entries[i]![0], depth: it.depth + 1 });
      }
    } else if (Array.isArray(v)) {
      if (v.length === 0) {
        out.push(`${ind}<array/>\n`);
        continue;
      }
      out.push(`${ind}<array>\n`);
      todo.push({ end: '</array>', depth: it.depth });
      for (let i = v.length - 1; i >= 0; i--) todo.push({ v: v[i]!, depth: it.depth + 1 });
    } else if (v instanceof Uint8Array) {
      const b64 = encodeBase64Bytes(v);
      out.push(`${ind}<data>\n`);
      for (let i = 0; i < b64.length; i += DATA_LINE) {
        out.push(ind, String.fromCharCode(...b64.subarray(i, i + DATA_LINE)), '\n');
      }
      out.push(`${ind}</data>\n`);
    } else if (v instanceof Date) {
      out.push(`${ind}<date>${isoSeconds(v)}</date>\n`);
    } else if (typeof v === 'string') {
      out.push(`${ind}<string>${escapeText(v)}</string>\n`);
    } else if (typeof v === 'bigint') {
      out.push(`${ind}<integer>${v}</integer>\n`);
    } else if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) out.push(`${ind}<integer>${v}</integer>\n`);
      else out.push(`${ind}<real>${Number.isNaN(v) ? 'nan' : v === Infinity ? '+infinity' : v === -Infinity ? '-infinity' : String(v)}</real>\n`);
    } else if (typeof v === 'boolean') {
      out.push(`${ind}<${v}/>\n`);
    } else {
      throw new DmgkitError('INVALID_ARGUMENT', `cannot write a ${typeof v} to a plist`);
    }
  }
  out.push('</plist>\n');
  return new TextEncoder().encode(out.join(''));
}
