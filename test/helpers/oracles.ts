/**
 * Independent readers of written images, run live: 7-Zip (every UDIF codec, checks all CRCs), dmg2img (zlib,
 * bzip2, ADC, raw; correct for APM and MBR disks), qemu-img (UDZO and UDRO). Under CI a missing tool fails.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

export function haveTool(bin: string, probe: string[] = ['--version']): boolean {
  const r = spawnSync(bin, probe, { stdio: 'ignore' });
  const ok = !r.error;
  if (!ok && process.env.CI) throw new Error(`${bin} is not installed (CI is set: refusing to skip); .ci/run must install it`);
  return ok;
}

/** `7zz x -tdmg`: the disk 7-Zip decodes (its partitions concatenated in table order) and its report. */
export function sevenZipDisk(image: string): { disk: Buffer; ok: boolean; report: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dmgkit-w7z-'));
  try {
    const r = spawnSync('7zz', ['x', '-tdmg', '-y', `-o${dir}`, image], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const names = readdirSync(dir).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
    const disk = Buffer.concat(names.map((n) => readFileSync(join(dir, n))));
    const report = `${r.stdout}${r.stderr}`;
    const ok = r.status === 0 && /Everything is Ok/.test(r.stdout) && !/error|warning/i.test(r.stdout.replace(/Everything is Ok/, ''));
    return { disk, ok, report };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `dmg2img -s IMAGE OUT`: the disk dmg2img decodes. */
export function dmg2imgDisk(image: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'dmgkit-d2i-'));
  try {
    const out = join(dir, 'disk.img');
    const r = spawnSync('dmg2img', ['-s', image, out], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`dmg2img failed (${r.status}): ${r.stdout}${r.stderr}`);
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `qemu-img convert -f dmg -O raw`: the disk QEMU's dmg driver decodes. */
export function qemuDisk(image: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'dmgkit-qemu-'));
  try {
    const out = join(dir, 'disk.img');
    const r = spawnSync('qemu-img', ['convert', '-f', 'dmg', '-O', 'raw', image, out], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`qemu-img failed (${r.status}): ${r.stdout}${r.stderr}`);
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
