import { describe, expect, it } from 'vitest';
import { publicFinderInfo } from '../../src/hfs/finder-info.js';

describe('publicFinderInfo (what macOS exposes as com.apple.FinderInfo)', () => {
  it('zeroes document_id/date_added and write_gen_counter; all-zero means none', () => {
    const raw = new Uint8Array(32);
    raw.set([0, 0, 0, 7, 0x55, 0xea, 0xe9, 0xda], 16); // document_id, date_added
    raw.set([0, 0, 0, 9], 28); // write_gen_counter
    expect(publicFinderInfo(raw, false)).toBeNull();
    raw[8] = 0x40; // fdFlags: kIsInvisible (high byte)
    const pub = publicFinderInfo(raw, false)!;
    expect(pub[8]).toBe(0x40);
    expect([...pub.subarray(16, 24), ...pub.subarray(28, 32)].every((b) => b === 0)).toBe(true);
    expect(raw[20]).toBe(0x55); // the input is not modified
  });
  it("hides a symlink's private type/creator", () => {
    const raw = new Uint8Array(32);
    raw.set(new TextEncoder().encode('slnkrhap'), 0);
    expect(publicFinderInfo(raw, true)).toBeNull();
    expect(publicFinderInfo(raw, false)).not.toBeNull();
  });
});
