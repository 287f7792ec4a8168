import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { BufferSource } from '../../src/io/buffer-source.js';
import { writeUdifImage } from '../../src/udif/write/udif.js';
import { wholeDiskPlan } from '../../src/udif/write/plan.js';
import { fileSha, haveTools, killServers, qemuImgRead, startServer } from './helpers.js';

/**
 * A 512-byte x86 boot sector, assembled here by hand (16-bit real mode, loaded at 0x7C00):
 * set up segments and stack, keep the BIOS boot drive, initialise COM1 (0x3F8: 38400 8N1), print a line,
 * fill a buffer at 0x8000 with a marker string and 0xA5, write it to CHS 0/0/3 (LBA 2) with INT 13h AH=03h,
 * print "done" (or "fail"), halt.
 */
function bootSector(): Uint8Array {
  type Item = number[] | { label: string } | { rel8: string } | { rel16: string } | { abs16: string };
  const hello = 'dmgkit boot sector says hello\r\n';
  const done = 'dmgkit wrote LBA 2: done\r\n';
  const fail = 'dmgkit INT 13h write: fail\r\n';
  const marker = 'DMGKIT-SHADOW-WRITE';
  const lo = (v: number) => v & 0xff;
  const hi = (v: number) => (v >> 8) & 0xff;
  const outb = (port: number, v: number): number[] => [0xba, lo(port), hi(port), 0xb0, v, 0xee]; // mov dx,port; mov al,v; out dx,al
  const str = (s: string) => [...Buffer.from(s + '\0', 'latin1')];
  const prog: Item[] = [
    [0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0, 0xbc, 0x00, 0x7c, 0xfb], // cli; xor ax,ax; ds=es=ss=0; sp=7c00; sti
    [0xfc], // cld
    [0x88, 0x16], { abs16: 'drive' }, // mov [drive], dl
    outb(0x3f9, 0x00), outb(0x3fb, 0x80), outb(0x3f8, 0x03), outb(0x3f9, 0x00), outb(0x3fb, 0x03), outb(0x3fa, 0xc7), outb(0x3fc, 0x0b),
    [0xbe], { abs16: 'hello' }, [0xe8], { rel16: 'print' }, // mov si,hello; call print
    [0xbf, 0x00, 0x80, 0xb9, 0x00, 0x02, 0xb0, 0xa5, 0xf3, 0xaa], // mov di,8000h; mov cx,512; mov al,A5h; rep stosb
    [0xbe], { abs16: 'marker' }, [0xbf, 0x00, 0x80, 0xb9, lo(marker.length), hi(marker.length), 0xf3, 0xa4], // rep movsb
    [0xb8, 0x01, 0x03, 0xb9, 0x03, 0x00, 0xb6, 0x00], // mov ax,0301h; mov cx,0003h; mov dh,0
    [0x8a, 0x16], { abs16: 'drive' }, // mov dl,[drive]
    [0xbb, 0x00, 0x80, 0xcd, 0x13], // mov bx,8000h; int 13h
    [0x72], { rel8: 'failed' }, // jc failed
    [0xbe], { abs16: 'done' }, [0xe8], { rel16: 'print' }, [0xeb], { rel8: 'halt' },
    { label: 'failed' }, [0xbe], { abs16: 'fail' }, [0xe8], { rel16: 'print' },
    { label: 'halt' }, [0xfa, 0xf4], [0xeb], { rel8: 'halt' }, // cli; hlt; jmp halt
    // print: SI = NUL-terminated string; waits for the transmitter holding register (LSR bit 5) per byte
    { label: 'print' }, [0xac, 0x84, 0xc0], [0x74], { rel8: 'ret' }, // lodsb; test al,al; jz ret
    [0x50, 0xba, 0xfd, 0x03], { label: 'wait' }, [0xec, 0xa8, 0x20], [0x74], { rel8: 'wait' }, // push ax; mov dx,3FDh; in; test al,20h; jz wait
    [0x58, 0xba, 0xf8, 0x03, 0xee], [0xeb], { rel8: 'print' }, // pop ax; mov dx,3F8h; out dx,al; jmp print
    { label: 'ret' }, [0xc3],
    { label: 'drive' }, [0],
    { label: 'hello' }, str(hello), { label: 'done' }, str(done), { label: 'fail' }, str(fail), { label: 'marker' }, str(marker),
  ];
  const size = (it: Item) => (Array.isArray(it) ? it.length : 'label' in it ? 0 : 'rel8' in it ? 1 : 2);
  const labels = new Map<string, number>();
  let pc = 0x7c00;
  for (const it of prog) {
    if (!Array.isArray(it) && 'label' in it) labels.set(it.label, pc);
    pc += size(it);
  }
  const out = new Uint8Array(512);
  let o = 0;
  pc = 0x7c00;
  for (const it of prog) {
    const n = size(it);
    if (Array.isArray(it)) out.set(it, o);
    else if ('rel8' in it) {
      const d = labels.get(it.rel8)! - (pc + 1);
      if (d < -128 || d > 127) throw new Error(`rel8 to ${it.rel8} out of range`);
      out[o] = d & 0xff;
    } else if ('rel16' in it) {
      const d = (labels.get(it.rel16)! - (pc + 2)) & 0xffff;
      out[o] = lo(d);
      out[o + 1] = hi(d);
    } else if ('abs16' in it) {
      const a = labels.get(it.abs16)!;
      out[o] = lo(a);
      out[o + 1] = hi(a);
    }
    o += n;
    pc += n;
  }
  if (o > 510) throw new Error(`boot sector code is ${o} bytes`);
  out[510] = 0x55;
  out[511] = 0xaa;
  return out;
}

const ok = haveTools('qemu-system-x86_64', 'qemu-img');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmgkit-boot-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(killServers);

describe.runIf(ok)('QEMU boots a UDZO image served by dmgkit serve', () => {
  it('prints over serial, writes a sector through the BIOS into the shadow, and the image is unchanged', async () => {
    // a 2 MiB disk: the boot sector, then bytes that compress (UDZO chunks of 64 KiB)
    const disk = new Uint8Array(2 << 20);
    disk.set(bootSector(), 0);
    for (let i = 4096; i < disk.length; i++) disk[i] = (i * 7) >> 9;
    const parts: Uint8Array[] = [];
    const opts = { chunkType: 0x80000005, encoder: (d: Uint8Array) => new Uint8Array(deflateSync(d)), chunkSectors: 128 };
    for await (const p of writeUdifImage(new BufferSource(disk), wholeDiskPlan(disk.length / 512), opts)) parts.push(p);
    const image = join(dir, 'boot.dmg');
    writeFileSync(image, Buffer.concat(parts));
    const before = fileSha(image);
    const shadow = join(dir, 'boot.shadow');

    const s = await startServer([image, '--shadow', shadow]);
    const serial = join(dir, 'serial.log');
    const qemu = spawn('qemu-system-x86_64', [
      '-display', 'none', '-no-reboot', '-nodefaults', '-m', '32', '-monitor', 'none', '-boot', 'c',
      '-serial', `file:${serial}`,
      '-drive', `file=nbd://127.0.0.1:${s.port},format=raw,if=ide`,
    ], { stdio: 'ignore' });
    let log = '';
    try {
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline && !/done|fail/.test(log)) {
        await new Promise((r) => setTimeout(r, 250));
        log = existsSync(serial) ? readFileSync(serial, 'latin1') : '';
        if (qemu.exitCode !== null) break;
      }
    } finally {
      qemu.kill('SIGKILL');
    }
    expect(log).toContain('dmgkit boot sector says hello');
    expect(log).toContain('dmgkit wrote LBA 2: done');
    expect(await s.stop('SIGTERM')).toBe(0); // flushes the shadow

    // a fresh server over the same shadow, read by qemu-img: LBA 2 holds the sector the guest wrote
    const again = await startServer([image, '--shadow', shadow]);
    const seen = qemuImgRead(again.url, join(dir, 'after.raw'));
    const sector = seen.subarray(1024, 1536);
    expect(sector.subarray(0, 19).toString('latin1')).toBe('DMGKIT-SHADOW-WRITE');
    expect(sector.subarray(19).every((b) => b === 0xa5)).toBe(true);
    // everything else is the image's disk
    expect(Buffer.compare(seen.subarray(0, 1024), Buffer.from(disk.subarray(0, 1024)))).toBe(0);
    expect(Buffer.compare(seen.subarray(1536), Buffer.from(disk.subarray(1536)))).toBe(0);
    expect(fileSha(image)).toBe(before);
  }, 180_000);
});
