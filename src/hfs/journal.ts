import type { ByteSource } from '../io/source.js';
import { u32be, u32le, u64be, u64le } from '../util/bytes.js';

/**
 * Journal state (hfs_journal.h; hfs-apm-format.md §6). JournalInfoBlock (big-endian) at
 * journalInfoBlock × blockSize: flags u32, device_signature[32], offset u64, size u64. The journal header at
 * `offset` is in the writer's byte order, told by its endian field: magic 'JNLx', endian 0x12345678, start u64,
 * end u64, size u64, ... The journal is empty when start == end.
 */
const JIB = { flags: 0, offset: 36, size: 44, bytes: 52 } as const;
const JIB_IN_FS = 0x1;
const JIB_ON_OTHER_DEVICE = 0x2;
const JH = { magic: 0, endian: 4, start: 8, end: 16, size: 24, bytes: 32 } as const;
const JOURNAL_MAGIC = 0x4a4e4c78; // 'JNLx'
const ENDIAN_MAGIC = 0x12345678;

export interface JournalState {
  infoBlockOffset: number;
  journalOffset?: number;
  journalSize?: number;
  empty?: boolean;
  /** Why the state could not be read, if so. */
  problem?: string;
}

export async function readJournalState(src: ByteSource, infoBlock: number, blockSize: number): Promise<JournalState> {
  const jibOff = infoBlock * blockSize;
  const st: JournalState = { infoBlockOffset: jibOff };
  if (infoBlock === 0 || jibOff + JIB.bytes > src.size) {
    st.problem = `journal info block ${infoBlock} lies outside the volume`;
    return st;
  }
  const jib = await src.read(jibOff, JIB.bytes);
  const flags = u32be(jib, JIB.flags);
  if (flags & JIB_ON_OTHER_DEVICE || !(flags & JIB_IN_FS)) {
    st.problem = `journal is on another device (flags 0x${flags.toString(16)})`;
    return st;
  }
  let off: number;
  let size: number;
  try {
    off = u64be(jib, JIB.offset, 'journal offset');
    size = u64be(jib, JIB.size, 'journal size');
  } catch {
    st.problem = 'journal offset or size out of range';
    return st;
  }
  st.journalOffset = off;
  st.journalSize = size;
  if (off + JH.bytes > src.size) {
    st.problem = `journal header at ${off} lies outside the volume`;
    return st;
  }
  const h = await src.read(off, JH.bytes);
  let le: boolean;
  if (u32be(h, JH.endian) === ENDIAN_MAGIC) le = false;
  else if (u32le(h, JH.endian) === ENDIAN_MAGIC) le = true;
  else {
    st.problem = 'journal header has no valid endian marker';
    return st;
  }
  const magic = le ? u32le(h, JH.magic) : u32be(h, JH.magic);
  if (magic !== JOURNAL_MAGIC) {
    st.problem = `journal header magic 0x${magic.toString(16)} is not 'JNLx'`;
    return st;
  }
  try {
    const start = le ? u64le(h, JH.start) : u64be(h, JH.start);
    const end = le ? u64le(h, JH.end) : u64be(h, JH.end);
    st.empty = start === end;
  } catch {
    st.problem = 'journal start/end out of range';
  }
  return st;
}
