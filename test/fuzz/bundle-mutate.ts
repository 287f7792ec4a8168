/**
 * Field-aware mutations of a sparse bundle folder (used by bundle.test.ts and the fuzz campaign,
 * scripts/fuzz-campaign.mjs): see bundle.test.ts for the list.
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BAND = 65536;

export function rng(seed: string): () => number {
  let s = 2166136261;
  for (let i = 0; i < seed.length; i++) s = Math.imul(s ^ seed.charCodeAt(i), 16777619);
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const pick = <T,>(r: () => number, a: readonly T[]): T => a[Math.floor(r() * a.length)];
const NUMBERS = ['0', '1', '511', '4095', '4096', String(2 ** 30), String(2 ** 30 + 4096), String(2 ** 53), '-1', '1.5', '99999999999999999999'];

function plistText(bandSize: string, size: string, type = 'com.apple.diskimage.sparsebundle', tag = 'integer'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>CFBundleInfoDictionaryVersion</key><string>6.0</string>
<key>band-size</key><${tag}>${bandSize}</${tag}>
<key>bundle-backingstore-version</key><integer>1</integer>
<key>diskimage-bundle-type</key><string>${type}</string>
<key>size</key><integer>${size}</integer>
</dict></plist>
`;
}

const mkfifo = (p: string) => spawnSync('mkfifo', [p]).status === 0;
/** Only regular files are read or resized by the mutator (a FIFO an earlier mutation made would block it). */
const isFile = (p: string) => {
  try {
    return lstatSync(p).isFile();
  } catch {
    return false;
  }
};

/** Writes a file afresh (never through a FIFO or symlink an earlier mutation left there). */
const put = (p: string, data: string | Uint8Array) => {
  rmSync(p, { recursive: true, force: true });
  writeFileSync(p, data);
};

/** Applies one mutation to the bundle at dir; returns its name. */
export function mutateBundle(dir: string, r: () => number, diskSize: number, bands: number): string {
  const plists = ['Info.plist', 'Info.bckup'];
  const band = (i: number) => join(dir, 'bands', i.toString(16));
  const which = pick(r, plists);
  const replace = (p: string, make: () => void) => {
    rmSync(p, { recursive: true, force: true });
    make();
  };
  switch (Math.floor(r() * 15)) {
    case 0: {
      const v = pick(r, NUMBERS);
      put(join(dir, which), plistText(v, String(diskSize)));
      return `${which}:band-size=${v}`;
    }
    case 1: {
      const v = pick(r, NUMBERS);
      put(join(dir, which), plistText(String(BAND), v));
      return `${which}:size=${v}`;
    }
    case 2:
      put(join(dir, which), plistText('x', String(diskSize), 'com.apple.diskimage.sparsebundle', 'string'));
      return `${which}:band-size-string`;
    case 3:
      put(join(dir, which), plistText(String(BAND), String(diskSize), 'com.example.other'));
      return `${which}:type`;
    case 4:
      rmSync(join(dir, which), { force: true });
      return `${which}:removed`;
    case 5: {
      if (!isFile(join(dir, which))) return `${which}:not truncated`;
      const t = readFileSync(join(dir, which), 'utf8');
      put(join(dir, which), t.slice(0, Math.floor(r() * t.length)));
      return `${which}:truncated`;
    }
    case 6:
      put(join(dir, which), plistText(String(BAND), String(diskSize)) + ' '.repeat(2 << 20));
      return `${which}:2MiB`;
    case 7:
      replace(join(dir, which), () => symlinkSync('/dev/zero', join(dir, which)));
      return `${which}:symlink-dev-zero`;
    case 8:
      replace(join(dir, which), () => mkfifo(join(dir, which)));
      return `${which}:fifo`;
    case 9: {
      const i = Math.floor(r() * bands);
      const how = pick(r, ['removed', 'truncated', 'grown', 'symlink', 'fifo', 'dir'] as const);
      const p = band(i);
      if (how === 'removed') rmSync(p, { recursive: true, force: true });
      else if (how === 'truncated' && isFile(p)) truncateSync(p, Math.floor(r() * BAND));
      else if (how === 'grown' && isFile(p)) truncateSync(p, BAND + Math.floor(r() * 3 * BAND));
      else if (how === 'symlink') replace(p, () => symlinkSync('/etc/passwd', p));
      else if (how === 'fifo') replace(p, () => mkfifo(p));
      else if (how === 'dir') replace(p, () => mkdirSync(p));
      return `band ${i}:${how}`;
    }
    case 10:
      if (lstatSync(join(dir, 'bands')).isSymbolicLink()) return 'no band past the disk';
      put(band(bands + Math.floor(r() * 4)), new Uint8Array(BAND).fill(0x5a));
      return 'band past the disk';
    case 11: {
      const elsewhere = `${dir}-elsewhere`;
      mkdirSync(elsewhere, { recursive: true });
      rmSync(join(dir, 'bands'), { recursive: true, force: true });
      symlinkSync(elsewhere, join(dir, 'bands'));
      return 'bands/ symlink';
    }
    case 12: {
      const t = new Uint8Array(4096);
      t.set(new TextEncoder().encode('encrcdsa'), 0);
      put(join(dir, 'token'), t);
      return 'token:encrcdsa';
    }
    case 13:
      replace(join(dir, 'token'), () => mkfifo(join(dir, 'token')));
      return 'token:fifo';
    default: {
      // a band whose bytes are another band's (damage inside the volume)
      const a = Math.floor(r() * bands);
      const b = Math.floor(r() * bands);
      if (isFile(band(a)) && isFile(band(b))) put(band(b), readFileSync(band(a)));
      return `band ${b}:copy of ${a}`;
    }
  }
}

