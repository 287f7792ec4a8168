/**
 * MBR partition type bytes and their names. Sources: Andries Brouwer's "Partition types" list, the 7-Zip
 * MbrHandler table, Apple (0xAF HFS/HFS+, 0xAB Apple boot), UEFI (0xEE protective, 0xEF EFI system).
 */
export const MBR_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, 'Empty'],
  [0x01, 'FAT12'],
  [0x04, 'FAT16 (<32 MB)'],
  [0x05, 'Extended'],
  [0x06, 'FAT16'],
  [0x07, 'NTFS/exFAT/HPFS'],
  [0x0b, 'FAT32'],
  [0x0c, 'FAT32 (LBA)'],
  [0x0e, 'FAT16 (LBA)'],
  [0x0f, 'Extended (LBA)'],
  [0x11, 'Hidden FAT12'],
  [0x14, 'Hidden FAT16 (<32 MB)'],
  [0x16, 'Hidden FAT16'],
  [0x17, 'Hidden NTFS/exFAT'],
  [0x1b, 'Hidden FAT32'],
  [0x1c, 'Hidden FAT32 (LBA)'],
  [0x1e, 'Hidden FAT16 (LBA)'],
  [0x27, 'Windows recovery'],
  [0x42, 'Windows dynamic'],
  [0x82, 'Linux swap / Solaris'],
  [0x83, 'Linux'],
  [0x85, 'Linux extended'],
  [0x8e, 'Linux LVM'],
  [0xa5, 'FreeBSD'],
  [0xa6, 'OpenBSD'],
  [0xa8, 'Apple UFS'],
  [0xa9, 'NetBSD'],
  [0xab, 'Apple boot'],
  [0xaf, 'Apple HFS/HFS+'],
  [0xbe, 'Solaris boot'],
  [0xbf, 'Solaris'],
  [0xee, 'GPT protective'],
  [0xef, 'EFI System'],
  [0xfd, 'Linux RAID'],
]);

/** Extended-partition container types whose first sector is an EBR. */
export const MBR_EXTENDED_TYPES: ReadonlySet<number> = new Set([0x05, 0x0f, 0x85]);

export const MBR_PROTECTIVE_TYPE = 0xee;

export function mbrTypeName(type: number): string {
  return MBR_TYPE_NAMES.get(type) ?? `Unknown (0x${type.toString(16).padStart(2, '0')})`;
}

export function mbrTypeHex(type: number): string {
  return '0x' + type.toString(16).padStart(2, '0').toUpperCase();
}
