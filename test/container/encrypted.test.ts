import { describe, expect, it } from 'vitest';
import { BufferSource } from '../../src/io/buffer-source.js';
import { FileSource } from '../../src/io/file-source.js';
import { detectEncryption, encryptedError } from '../../src/container/encrypted.js';
import { describeRaw, detectContainer } from '../../src/container/raw.js';
import { fixture, haveFixtures, synthetic } from '../helpers/fixtures.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** v2: 'encrcdsa', u32 BE version 2, IV size 16, ... (vfdecrypt cencrypted_v2_header), then encrypted data. */
function v2Image(): Uint8Array {
  const b = new Uint8Array(8192);
  b.set(ascii('encrcdsa'), 0);
  b.set([0, 0, 0, 2, 0, 0, 0, 16], 8);
  b[52 + 7] = 0x20; // data size
  for (let i = 4096; i < b.length; i++) b[i] = (i * 131) & 0xff;
  return b;
}

/** v1: data, then a 1276-byte footer: u32 BE format version 1 at +1264, 'cdsaencr' at +1268 (the last 8 bytes). */
function v1Image(): Uint8Array {
  const b = new Uint8Array(4096 + 1276);
  for (let i = 0; i < 4096; i++) b[i] = (i * 77) & 0xff;
  const f = 4096;
  b.set([0, 0, 0, 1], f + 1264);
  b.set(ascii('cdsaencr'), f + 1268);
  return b;
}

describe('encryption detection', () => {
  it('finds the v2 header at offset 0', async () => {
    expect(await detectEncryption(new BufferSource(v2Image()))).toEqual({ version: 2, offset: 0, formatVersion: 2 });
  });
  it('finds the v1 footer in the last 1276 bytes', async () => {
    const b = v1Image();
    expect(await detectEncryption(new BufferSource(b))).toEqual({ version: 1, offset: b.length - 1276, formatVersion: 1 });
  });
  it('says null for plain data, short input and near misses', async () => {
    expect(await detectEncryption(new BufferSource(new Uint8Array(0)))).toBeNull();
    expect(await detectEncryption(new BufferSource(ascii('encrcds')))).toBeNull();
    const near = v2Image();
    near[7] = 0x62; // 'encrcdsb'
    expect(await detectEncryption(new BufferSource(near))).toBeNull();
    const v1 = v1Image();
    v1[v1.length - 1] = 0x73; // 'cdsaencs'
    expect(await detectEncryption(new BufferSource(v1))).toBeNull();
    // The signature alone, shorter than a footer: still v1, offset clamped to 0.
    expect(await detectEncryption(new BufferSource(ascii('xxcdsaencr')))).toEqual({ version: 1, offset: 0 });
  });
  it('builds an ENCRYPTED error with a plain message', () => {
    const e = encryptedError({ version: 2, offset: 0 });
    expect(e.code).toBe('ENCRYPTED');
    expect(e.message).toContain('this image is encrypted (FileVault/AES, encrcdsa v2)');
    expect(e.message).toContain('dmgkit cannot decrypt it yet');
    const e1 = encryptedError({ version: 1, offset: 100 }, 'old.dmg');
    expect(e1.message).toMatch(/^old\.dmg: .*cdsaencr v1/);
    expect(e1.offset).toBe(100);
  });
});

describe('container detection', () => {
  it('names hand-built encrypted and sparse images', async () => {
    expect(await detectContainer(new BufferSource(v2Image()))).toBe('encrypted-v2');
    expect(await detectContainer(new BufferSource(v1Image()))).toBe('encrypted-v1');
    const sprs = new Uint8Array(4096);
    sprs.set(ascii('sprs'), 0);
    expect(await detectContainer(new BufferSource(sprs))).toBe('sparseimage');
    expect(await describeRaw(new BufferSource(new Uint8Array(1024)))).toEqual({ kind: 'raw', size: 1024, sectorAligned: true });
  });

  it.runIf(haveFixtures())('names the fixtures: UDIF .dmg files and raw .iso/.img files', async () => {
    for (const [path, kind] of [
      [fixture('udzo_gpt_hfsx__hdi-mac_test-disk-image-hfsp-c.dmg'), 'udif'],
      [synthetic('features-apm-zlib.dmg'), 'udif'],
      [fixture('broken_random_not_udif__etcher-sdk_invalid.dmg'), 'raw'],
      [fixture('hfsplus_raw_noattrbtree__isolyzer_hfsplus.iso'), 'raw'],
      [synthetic('lzfse-mbr.img'), 'raw'],
    ] as const) {
      const src = await FileSource.open(path);
      try {
        expect(await detectContainer(src), path).toBe(kind);
        expect(await detectEncryption(src)).toBeNull();
      } finally {
        await src.close();
      }
    }
  });
});
