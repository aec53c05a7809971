/**
 * Write-ahead log of the consensus inputs of the current height. Every input the state
 * machine sees is appended before it is handled, and the log is fsynced before this node
 * signs anything, so after a crash replaying the log rebuilds the same locks and votes.
 * When a height commits the log starts afresh (the block store has everything older).
 *
 * Record format: uint32 BE total length, uint32 BE length of a JSON header {height, kind,
 * ...}, the header, then the record's raw payload bytes (a message or a block), kept binary
 * because proposals carry whole blocks. A torn last record (crash mid-write) is ignored.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export interface WalRecord {
  height: number;
  kind: string;
  /** Raw payload: an encoded consensus message or block. */
  data?: Uint8Array;
  [field: string]: unknown;
}

export class Wal {
  private fd: number;
  private dirty = false;

  private constructor(private readonly path: string) {
    this.fd = openSync(path, 'a');
  }

  /** Open the WAL in `dir`. */
  static open(dir: string): Wal {
    return new Wal(join(dir, 'consensus.wal'));
  }

  /** Records for `height` in the order written (others are stale and skipped). */
  replay(height: number): WalRecord[] {
    if (!existsSync(this.path)) return [];
    const buf = readFileSync(this.path);
    const out: WalRecord[] = [];
    let off = 0;
    while (off + 4 <= buf.length) {
      const len = buf.readUInt32BE(off);
      if (off + 4 + len > buf.length) break; // torn tail
      try {
        const body = buf.subarray(off + 4, off + 4 + len);
        const headerLen = body.readUInt32BE(0);
        const rec = JSON.parse(body.subarray(4, 4 + headerLen).toString('utf8')) as WalRecord;
        if (body.length > 4 + headerLen) rec.data = new Uint8Array(body.subarray(4 + headerLen));
        if (rec.height === height) out.push(rec);
      } catch {
        break; // a corrupt record ends the usable log
      }
      off += 4 + len;
    }
    return out;
  }

  /** Append a record (buffered by the OS until sync()). */
  append(rec: WalRecord): void {
    const { data, ...meta } = rec;
    const header = Buffer.from(JSON.stringify(meta), 'utf8');
    const payload = data ?? new Uint8Array(0);
    const frame = Buffer.allocUnsafe(8 + header.length + payload.length);
    frame.writeUInt32BE(4 + header.length + payload.length, 0);
    frame.writeUInt32BE(header.length, 4);
    header.copy(frame, 8);
    frame.set(payload, 8 + header.length);
    writeSync(this.fd, frame);
    this.dirty = true;
  }

  /** Make everything appended so far durable. */
  sync(): void {
    if (!this.dirty) return;
    fsyncSync(this.fd);
    this.dirty = false;
  }

  /** Start an empty log for a new height (atomically replaces the old one). */
  reset(): void {
    closeSync(this.fd);
    const tmp = `${this.path}.new`;
    closeSync(openSync(tmp, 'w'));
    renameSync(tmp, this.path);
    this.fd = openSync(this.path, 'a');
    this.dirty = false;
  }

  close(): void {
    closeSync(this.fd);
  }
}
