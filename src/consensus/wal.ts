/**
 * Write-ahead log of the consensus inputs of the current height. Every input the state
 * machine sees is appended before it is handled, and the log is fsynced before this node
 * signs anything, so after a crash replaying the log rebuilds the same locks and votes.
 * When a height commits the log starts afresh (the block store has everything older).
 *
 * Record format: uint32 BE length, then JSON {h: height, k: kind, d: hex payload?, ...}.
 * A torn last record (crash mid-write) is ignored on replay.
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
        const rec = JSON.parse(buf.subarray(off + 4, off + 4 + len).toString('utf8')) as WalRecord;
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
    const body = Buffer.from(JSON.stringify(rec), 'utf8');
    const frame = Buffer.allocUnsafe(4 + body.length);
    frame.writeUInt32BE(body.length, 0);
    body.copy(frame, 4);
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
