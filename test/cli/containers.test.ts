import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveFixtures, synthetic } from '../helpers/fixtures.js';
import { buildSparseImage, writeSparseBundle } from '../container/build.js';
import { main } from '../../src/cli/main.js';
import { collect, memoryIO } from '../helpers/cli.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function run(...argv: string[]) {
  const io = memoryIO();
  const code = await main(argv, io);
  return { code, out: collect(io.out), err: collect(io.err), raw: collect(io.out, true) };
}

/** Ground truth for synthetic/lzfse-mbr.img: path → sha256 from lzfse.expected.tsv. */
function truth(): Map<string, string> {
  const rows = readFileSync(synthetic('lzfse.expected.tsv'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  return new Map(rows.map((l) => l.split('\t')).filter((c) => c[1] === 'f').map((c) => [c[0], c[6]]));
}

describe.runIf(haveFixtures())('every container opens into the same disk (CLI)', () => {
  const disk = haveFixtures() ? new Uint8Array(readFileSync(synthetic('lzfse-mbr.img'))) : new Uint8Array(0);

  async function check(path: string, kind: string) {
    const info = JSON.parse((await run('info', path, '--json')).out);
    expect(info.container).toBe(kind);
    expect(info.size).toBe(disk.length);
    expect(info.partitionMap.scheme).toBe('mbr');
    expect(info.partitionMap.entries.some((e: { filesystem: { type: string } }) => e.filesystem.type === 'hfsplus')).toBe(true);
    const conv = await run('convert', path, '-o', '-');
    expect(conv.code).toBe(0);
    expect(sha(conv.raw)).toBe(sha(disk));
    for (const [p, hash] of truth()) {
      const cat = await run('cat', path, '/' + p);
      expect(cat.code, p).toBe(0);
      expect(sha(cat.raw), p).toBe(hash);
    }
  }

  it('a raw disk image (MBR + HFS+ with LZFSE/LZVN-compressed files)', async () => {
    await check(synthetic('lzfse-mbr.img'), 'raw');
  });

  it('a sparse image with bands stored out of order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-c-'));
    try {
      const bandBytes = 64 * 512;
      const bands = Array.from({ length: Math.ceil(disk.length / bandBytes) }, (_, i) => i).reverse();
      writeFileSync(join(dir, 'x.sparseimage'), buildSparseImage(disk, 64, bands));
      await check(join(dir, 'x.sparseimage'), 'sparseimage');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a sparse bundle with an all-zero band left out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-c-'));
    try {
      const bandSize = 65536;
      const bands = new Map<number, number>();
      for (let i = 0; i * bandSize < disk.length; i++) {
        const band = disk.subarray(i * bandSize, (i + 1) * bandSize);
        if (band.some((b) => b !== 0)) bands.set(i, band.length);
      }
      expect(bands.size).toBeLessThan(Math.ceil(disk.length / bandSize)); // some band really is missing
      writeSparseBundle(join(dir, 'x.sparsebundle'), disk, bandSize, bands);
      await check(join(dir, 'x.sparsebundle'), 'sparsebundle');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an encrypted image is refused plainly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmgkit-c-'));
    try {
      const bytes = new Uint8Array(8192);
      bytes.set(new TextEncoder().encode('encrcdsa'), 0);
      bytes[11] = 2;
      writeFileSync(join(dir, 'secret.dmg'), bytes);
      const r = await run('info', join(dir, 'secret.dmg'));
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^dmgkit: .*encrypted/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
