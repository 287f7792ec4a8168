/**
 * extract writes a file's resource fork into its AppleDouble file as a stream (src/extract/extract.ts): a 512 MiB
 * fork of zero-fill chunks in a 1.1 MB UDIF image once peaked at 1.1 GB (the fork read whole, then copied into the
 * AppleDouble buffer); 87 MB now (docs/security.md). Shown here by a fork larger than `maxFileBytes`, which bounds
 * whole reads only: it is extracted in full. The AppleDouble file is checked by hand from the format's layout
 * (magic, entry table, resource-fork entry last), not by the project's own parser.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractVolume } from '../../src/extract/extract.js';
import { openHfs } from '../../src/hfs/volume.js';
import { BufferSource } from '../../src/io/buffer-source.js';
import { buildHfsx } from '../hfs/builder.js';

const dir = mkdtempSync(join(tmpdir(), 'dmgkit-rsrc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a resource fork larger than maxFileBytes', () => {
  it('is streamed into the AppleDouble file in full; readFile of it is still refused', async () => {
    const rsrc = new Uint8Array(3 * 2 ** 20 + 123);
    for (let i = 0; i < rsrc.length; i++) rsrc[i] = (i * 7 + (i >> 12)) & 0xff;
    const vol = await openHfs(new BufferSource(buildHfsx([{ kind: 'file', parent: 2, name: 'app', cnid: 16, data: new Uint8Array([1, 2, 3]), rsrc }])), {
      limits: { maxFileBytes: 1 << 20 },
    });
    await expect(vol.readFile('/app', { fork: 'rsrc' })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    const dest = join(dir, 'dest');
    const res = await extractVolume(vol, dest);
    expect(res.skipped).toEqual([]);
    expect(res.appleDouble).toBe(1);
    const ad = readFileSync(join(dest, '._app'));
    const v = new DataView(ad.buffer, ad.byteOffset, ad.byteLength);
    expect(v.getUint32(0)).toBe(0x00051607); // AppleDouble magic
    const entries = v.getUint16(24);
    let fork: [number, number] | null = null;
    for (let i = 0; i < entries; i++) if (v.getUint32(26 + 12 * i) === 2) fork = [v.getUint32(26 + 12 * i + 4), v.getUint32(26 + 12 * i + 8)];
    expect(fork).not.toBeNull();
    const [at, len] = fork!;
    expect(len).toBe(rsrc.length);
    expect(at + len).toBe(ad.length); // the fork is the last entry
    expect(Buffer.from(ad.subarray(at)).equals(Buffer.from(rsrc))).toBe(true);
    expect(readFileSync(join(dest, 'app'))).toEqual(Buffer.from([1, 2, 3]));
  });
});
