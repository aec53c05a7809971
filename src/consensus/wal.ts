/**
 * Write-ahead log of the consensus inputs of the current height. Every input the state
 * machine sees is appended before it is handled, and the log is fsynced before this node
 * signs anything, so after a crash replaying the log rebuilds the same locks and votes.
 * When a height commits the log starts afresh (the block store has everything older).
 *
 * File format (version 2): the 8 bytes "ARCHWAL" 0x02, then records. A record is a uint32 BE
 * body length, the uint32 BE CRC-32 (IEEE) of the body, and the body: a uint32 BE length of
 * a JSON header {height, kind, ...}, the header, then the record's raw payload bytes (a
 * message or a block), kept binary because proposals carry whole blocks.
 *
 * Opening checks every record. A damaged or incomplete record with no intact record after
 * it is what a crash in the middle of an append leaves behind: the file is cut at the end of
 * the last intact record and fsynced before anything is appended (otherwise new records would
 * sit behind the torn bytes, where no replay reaches them). Damage with intact records after
 * it is not a crash artefact: opening refuses (ArchiError) rather than drop those records,
 * which may hold this node's lock and its own signed votes; the message says how to go on.
 *
 * A file of the first format (no magic, records without checksum; a WAL holds one height,
 * so such a file exists only across an upgrade) is read as before, up to its first incomplete
 * or unreadable record, and rewritten atomically in version 2 on open, so the lock and votes
 * of the height in progress survive the upgrade.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import * as zlib from 'node:zlib';
import { ArchiError } from '../types/errors.ts';

export interface WalRecord {
  height: number;
  kind: string;
  /** Raw payload: an encoded consensus message or block. */
  data?: Uint8Array;
  [field: string]: unknown;
}

/** What opening the WAL had to do to the file, for the node's log. */
export type WalRecovery =
  | {
      action: 'truncated';
      /** Where the cut was made: the end of the last intact record. */
      offset: number;
      /** Bytes removed after it. */
      bytes: number;
      reason: string;
      records: number;
    }
  | { action: 'migrated'; fromVersion: 1; records: number; droppedBytes: number };

/** "ARCHWAL" and the format version. A first-format file starts with a record length instead. */
const MAGIC = Buffer.from('ARCHWAL\x02', 'latin1');
/** Body length and CRC in front of every record's body. */
const FRAME = 8;
/** Smallest body: the header length field and "{}". */
const MIN_BODY = 6;

// --- CRC-32 (IEEE, as zlib): native where the runtime has it (Node >= 20.15), else a table ---

let table: Uint32Array | undefined;

function crc32Js(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
const crc32: (data: Uint8Array) => number =
  typeof nativeCrc32 === 'function' ? (d) => nativeCrc32(d) >>> 0 : crc32Js;

// --- encoding ----------------------------------------------------------------------------

function encodeRecord(rec: WalRecord): Buffer {
  const { data, ...meta } = rec;
  const header = Buffer.from(JSON.stringify(meta), 'utf8');
  const payload = data ?? new Uint8Array(0);
  const frame = Buffer.allocUnsafe(FRAME + 4 + header.length + payload.length);
  const body = frame.subarray(FRAME);
  body.writeUInt32BE(header.length, 0);
  header.copy(body, 4);
  body.set(payload, 4 + header.length);
  frame.writeUInt32BE(body.length, 0);
  frame.writeUInt32BE(crc32(body), 4);
  return frame;
}

/** Header and payload of a record body (`body` as stored, without the frame). */
function decodeBody(body: Buffer, headerLen: number): WalRecord | string {
  let rec: WalRecord;
  try {
    rec = JSON.parse(body.subarray(4, 4 + headerLen).toString('utf8')) as WalRecord;
  } catch {
    return 'unreadable header';
  }
  if (typeof rec !== 'object' || rec === null || typeof rec.height !== 'number')
    return 'header lacks a height';
  if (typeof rec.kind !== 'string') return 'header lacks a kind';
  // A copy: the record outlives the file buffer, which may be large.
  if (body.length > 4 + headerLen) rec.data = new Uint8Array(body.subarray(4 + headerLen));
  return rec;
}

/** The version-2 record at `off`, or why there is none. */
function readRecord(buf: Buffer, off: number): { rec: WalRecord; next: number } | string {
  if (buf.length - off < FRAME) return 'incomplete record frame';
  const len = buf.readUInt32BE(off);
  if (len < MIN_BODY) return `impossible record length ${len}`;
  const end = off + FRAME + len;
  if (end > buf.length) return `record of ${len} bytes runs past the end of the file`;
  const body = buf.subarray(off + FRAME, end);
  if (crc32(body) !== buf.readUInt32BE(off + 4)) return 'checksum mismatch';
  const headerLen = body.readUInt32BE(0);
  if (headerLen < 2 || 4 + headerLen > len) return `impossible header length ${headerLen}`;
  const rec = decodeBody(body, headerLen);
  return typeof rec === 'string' ? rec : { rec, next: end };
}

/** A cheap test that a record could start at `off`, before its checksum is computed. */
function plausibleAt(buf: Buffer, off: number): boolean {
  if (buf.length - off < FRAME + MIN_BODY) return false;
  const len = buf.readUInt32BE(off);
  if (len < MIN_BODY || off + FRAME + len > buf.length) return false;
  const headerLen = buf.readUInt32BE(off + FRAME);
  if (headerLen < 2 || 4 + headerLen > len) return false;
  const h = off + FRAME + 4;
  return buf[h] === 0x7b && buf[h + headerLen - 1] === 0x7d; // '{' ... '}'
}

/** The intact records found after damage at `bad`: where the first starts and how many follow in a row. */
function intactAfter(buf: Buffer, bad: number): { offset: number; records: number } | undefined {
  for (let p = bad + 1; p + FRAME + MIN_BODY <= buf.length; p++) {
    if (!plausibleAt(buf, p)) continue;
    let r = readRecord(buf, p);
    if (typeof r === 'string') continue;
    let records = 0;
    while (typeof r !== 'string') {
      records++;
      r = readRecord(buf, r.next);
    }
    return { offset: p, records };
  }
  return undefined;
}

interface Scan {
  records: WalRecord[];
  /** End of the last intact record: everything before it is good. */
  end: number;
  /** The first damaged or incomplete record, if any. */
  damage?: { offset: number; reason: string };
}

function scan(buf: Buffer, from: number): Scan {
  const records: WalRecord[] = [];
  let off = from;
  while (off < buf.length) {
    const r = readRecord(buf, off);
    if (typeof r === 'string') return { records, end: off, damage: { offset: off, reason: r } };
    records.push(r.rec);
    off = r.next;
  }
  return { records, end: off };
}

/** Records of a first-format file: no magic, no checksum; reading stops at the first bad one. */
function scanVersion1(buf: Buffer): { records: WalRecord[]; end: number } {
  const records: WalRecord[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt32BE(off);
    if (len < 4 || off + 4 + len > buf.length) break;
    const body = buf.subarray(off + 4, off + 4 + len);
    const headerLen = body.readUInt32BE(0);
    if (4 + headerLen > len) break;
    const rec = decodeBody(body, headerLen);
    if (typeof rec === 'string') break;
    records.push(rec);
    off += 4 + len;
  }
  return { records, end: off };
}

// --- durable file operations ---------------------------------------------------------------

function fsyncDir(path: string): void {
  const dfd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

/** Replace `path` by a version-2 file holding `records`: temp file, fsync, rename, fsync dir. */
function writeFresh(path: string, records: WalRecord[]): number {
  const tmp = `${path}.new`;
  const fd = openSync(tmp, 'w', 0o600);
  let size = 0;
  try {
    for (const bytes of [MAGIC, ...records.map(encodeRecord)]) {
      writeAll(fd, bytes);
      size += bytes.length;
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(path);
  return size;
}

function corrupt(path: string, at: number, reason: string, kept: number, after: number): never {
  throw new ArchiError(
    'CONFIG_INVALID',
    `consensus WAL ${path} is damaged at byte ${at} (${reason}) and ${after} intact record(s) ` +
      `follow the damage: refusing to start, since replaying only the ${kept} record(s) before it ` +
      `could make this node forget its lock or the votes it signed in this height. Keep a copy ` +
      `of the file, then either cut it at the damage (truncate -s ${at} '${path}'), which keeps ` +
      `those ${kept} record(s), or remove it; the double-sign guard still refuses to sign ` +
      `anything that conflicts with what this node signed before.`,
  );
}

/**
 * Check the file and make it safe to append to: create it if missing, migrate a first-format
 * file, cut a torn tail (fsynced), refuse on damage in the middle. Returns the file's size.
 */
function prepare(path: string): { size: number; recovery?: WalRecovery } {
  if (!existsSync(path)) return { size: writeFresh(path, []) };
  const buf = readFileSync(path);
  if (buf.length >= MAGIC.length && buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    const s = scan(buf, MAGIC.length);
    if (!s.damage) return { size: buf.length };
    const later = intactAfter(buf, s.damage.offset);
    if (later) corrupt(path, s.damage.offset, s.damage.reason, s.records.length, later.records);
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, s.end);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return {
      size: s.end,
      recovery: {
        action: 'truncated',
        offset: s.end,
        bytes: buf.length - s.end,
        reason: s.damage.reason,
        records: s.records.length,
      },
    };
  }
  // Empty (the first format's reset left empty files) or a prefix of the magic (cannot be
  // written by this version, which creates files by rename): nothing to keep.
  if (buf.length < MAGIC.length && MAGIC.subarray(0, buf.length).equals(buf))
    return { size: writeFresh(path, []) };
  // A version-2 file whose magic got damaged is not a first-format file.
  if (typeof readRecord(buf, MAGIC.length) !== 'string')
    corrupt(path, 0, 'damaged file header', 0, scan(buf, MAGIC.length).records.length);
  const v1 = scanVersion1(buf);
  return {
    size: writeFresh(path, v1.records),
    recovery: {
      action: 'migrated',
      fromVersion: 1,
      records: v1.records.length,
      droppedBytes: buf.length - v1.end,
    },
  };
}

/** The WAL as the driver uses it (the file log below, or the simulator's in-memory one). */
export interface ConsensusWal {
  /** What opening had to repair or convert, if anything. */
  readonly recovery: WalRecovery | undefined;
  /** Records for `height` in the order written. */
  replay(height: number): WalRecord[];
  /** Append a record; durable only after sync(). */
  append(rec: WalRecord): void;
  /** Make everything appended so far durable. */
  sync(): void;
  /** Start an empty log for a new height. */
  reset(): void;
}

export class Wal implements ConsensusWal {
  private fd: number;
  private size: number;
  private dirty = false;

  /** What opening had to repair or convert, if anything (the driver logs it). */
  readonly recovery: WalRecovery | undefined;

  private constructor(private readonly path: string) {
    const { size, recovery } = prepare(path);
    this.size = size;
    this.recovery = recovery;
    this.fd = openSync(path, 'a');
  }

  /**
   * Open the WAL in `dir`, cutting a torn last record off (and fsyncing) so that appends
   * follow the last intact record. Throws ArchiError if records are damaged before intact ones.
   */
  static open(dir: string): Wal {
    return new Wal(join(dir, 'consensus.wal'));
  }

  /** Records for `height` in the order written (others are stale and skipped). */
  replay(height: number): WalRecord[] {
    const buf = readFileSync(this.path);
    const s = scan(buf, MAGIC.length);
    if (s.damage) {
      // Open cut the file at its last intact record and appends are whole records (a failed
      // one is cut off again), so this is damage done since: the same rules as on open.
      const later = intactAfter(buf, s.damage.offset);
      if (later)
        corrupt(this.path, s.damage.offset, s.damage.reason, s.records.length, later.records);
      ftruncateSync(this.fd, s.end);
      fsyncSync(this.fd);
      this.size = s.end;
    }
    return s.records.filter((r) => r.height === height);
  }

  /** Append a record (buffered by the OS until sync()). */
  append(rec: WalRecord): void {
    const frame = encodeRecord(rec);
    try {
      writeAll(this.fd, frame);
    } catch (e) {
      // Never leave half a record in front of the next one.
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // the next open cuts it
      }
      throw e;
    }
    this.size += frame.length;
    this.dirty = true;
  }

  /** Make everything appended so far durable. */
  sync(): void {
    if (!this.dirty) return;
    fsyncSync(this.fd);
    this.dirty = false;
  }

  /** Start an empty log for a new height (atomically and durably replaces the old one). */
  reset(): void {
    closeSync(this.fd);
    this.size = writeFresh(this.path, []);
    this.fd = openSync(this.path, 'a');
    this.dirty = false;
  }

  close(): void {
    closeSync(this.fd);
  }
}
