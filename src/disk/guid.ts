/**
 * GUIDs as GPT stores them: 16 bytes, the first three fields little-endian (u32, u16, u16), the last 8 bytes in
 * order ("mixed-endian"). Text form is the canonical upper-case 8-4-4-4-12.
 */

const HEX = '0123456789ABCDEF';

function h(b: number): string {
  return HEX[b >>> 4] + HEX[b & 15];
}

export const GUID_BYTES = 16;

export function formatGuid(b: Uint8Array, o = 0): string {
  return (
    h(b[o + 3]) + h(b[o + 2]) + h(b[o + 1]) + h(b[o]) + '-' +
    h(b[o + 5]) + h(b[o + 4]) + '-' +
    h(b[o + 7]) + h(b[o + 6]) + '-' +
    h(b[o + 8]) + h(b[o + 9]) + '-' +
    h(b[o + 10]) + h(b[o + 11]) + h(b[o + 12]) + h(b[o + 13]) + h(b[o + 14]) + h(b[o + 15])
  );
}

/** The inverse of formatGuid (for tests and writers); throws a RangeError on malformed text (caller's bug). */
export function parseGuid(text: string): Uint8Array {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(text);
  if (!m) throw new RangeError(`not a GUID: ${text}`);
  const bytesOf = (s: string): number[] => s.match(/../g)!.map((x) => parseInt(x, 16));
  return Uint8Array.from([
    ...bytesOf(m[1]).reverse(),
    ...bytesOf(m[2]).reverse(),
    ...bytesOf(m[3]).reverse(),
    ...bytesOf(m[4]),
    ...bytesOf(m[5]),
  ]);
}

export function isZeroGuid(b: Uint8Array, o = 0): boolean {
  for (let i = 0; i < GUID_BYTES; i++) if (b[o + i] !== 0) return false;
  return true;
}

/**
 * Partition type GUIDs and their names. Sources: UEFI spec table 5.3.3 (EFI System, legacy MBR), Apple
 * (hfs_format.h / TN2166 "Secrets of the GPT"), Microsoft "PARTITION_INFORMATION_GPT", the Linux Discoverable
 * Partitions Specification, FreeBSD gpart(8).
 */
export const GPT_TYPE_NAMES: Readonly<Record<string, string>> = Object.freeze({
  '00000000-0000-0000-0000-000000000000': 'Unused',
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'EFI System',
  '024DEE41-33E7-11D3-9D69-0008C781F39F': 'MBR partition scheme',
  '21686148-6449-6E6F-744E-656564454649': 'BIOS boot',
  // Apple
  '48465300-0000-11AA-AA11-00306543ECAC': 'Apple HFS+',
  '48465800-0000-11AA-AA11-00306543ECAC': 'Apple HFSX',
  '7C3457EF-0000-11AA-AA11-00306543ECAC': 'Apple APFS',
  '426F6F74-0000-11AA-AA11-00306543ECAC': 'Apple Boot',
  '55465300-0000-11AA-AA11-00306543ECAC': 'Apple UFS',
  '52414944-0000-11AA-AA11-00306543ECAC': 'Apple RAID',
  '52414944-5F4F-11AA-AA11-00306543ECAC': 'Apple RAID (offline)',
  '4C616265-6C00-11AA-AA11-00306543ECAC': 'Apple Label',
  '5265636F-7665-11AA-AA11-00306543ECAC': 'Apple TV Recovery',
  '53746F72-6167-11AA-AA11-00306543ECAC': 'Apple Core Storage',
  '69646961-6700-11AA-AA11-00306543ECAC': 'Apple iBoot System Container',
  '52637672-7900-11AA-AA11-00306543ECAC': 'Apple iBoot Recovery',
  '6A898CC3-1DD2-11B2-99A6-080020736631': 'ZFS / Apple ZFS',
  // Microsoft
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': 'Microsoft basic data',
  'E3C9E316-0B5C-4DB8-817D-F92DF00215AE': 'Microsoft reserved',
  'DE94BBA4-06D1-4D40-A16A-BFD50179D6AC': 'Windows recovery environment',
  '5808C8AA-7E8F-42E0-85D2-E1E90434CFB3': 'Windows LDM metadata',
  'AF9B60A0-1431-4F62-BC68-3311714A69AD': 'Windows LDM data',
  'E75CAF8F-F680-4CEE-AFA3-B001E56EFC2D': 'Windows Storage Spaces',
  // Linux
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'Linux filesystem',
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': 'Linux swap',
  'E6D6D379-F507-44C2-A23C-238F2A3DF928': 'Linux LVM',
  'A19D880F-05FC-4D3B-A006-743F0F84911E': 'Linux RAID',
  '933AC7E1-2EB4-4F13-B844-0E14E2AEF915': 'Linux /home',
  '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709': 'Linux root (x86-64)',
  '44479540-F297-41B2-9AF7-D131D5F0458A': 'Linux root (x86)',
  'B921B045-1DF0-41C3-AF44-4C6F280D3FAE': 'Linux root (ARM64)',
  'BC13C2FF-59E6-4262-A352-B275FD6F7172': 'Linux extended boot',
  'CA7D7CCB-63ED-4C53-861C-1742536059CC': 'Linux LUKS',
  // BSD
  '516E7CB4-6ECF-11D6-8FF8-00022D09712B': 'FreeBSD data',
  '516E7CB5-6ECF-11D6-8FF8-00022D09712B': 'FreeBSD swap',
  '516E7CB6-6ECF-11D6-8FF8-00022D09712B': 'FreeBSD UFS',
  '516E7CBA-6ECF-11D6-8FF8-00022D09712B': 'FreeBSD ZFS',
  '83BD6B9D-7F41-11DC-BE0B-001560B84F0F': 'FreeBSD boot',
  // Others
  '3DE21764-95BD-54BD-A5C3-4ABE786F38A8': 'U-Boot environment',
  'FE3A2A5D-4F32-41A7-B725-ACCC3285A309': 'ChromeOS kernel',
  '3CB8E202-3B7E-47DD-8A3C-7FF2A13CFCEC': 'ChromeOS root',
});

export function gptTypeName(guid: string): string {
  return GPT_TYPE_NAMES[guid.toUpperCase()] ?? 'Unknown';
}
