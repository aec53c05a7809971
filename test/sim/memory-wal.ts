/**
 * The WAL on a simulated disk. Records are kept as appended; a crash keeps everything up to
 * the last sync() and a random part of what came after (the OS may have written some of it),
 * as a power cut does to the file WAL. Reading back after the crash is the driver's real
 * replay path.
 */
import type { ConsensusWal, WalRecord } from '../../src/consensus/wal.ts';
import type { Prng } from './prng.ts';

export class MemoryWal implements ConsensusWal {
  readonly recovery = undefined;
  private records: WalRecord[] = [];
  private synced = 0;

  replay(height: number): WalRecord[] {
    return this.records.filter((r) => r.height === height);
  }

  append(rec: WalRecord): void {
    this.records.push(rec);
  }

  sync(): void {
    this.synced = this.records.length;
  }

  reset(): void {
    this.records = [];
    this.synced = 0;
  }

  /** Records held now (for tests). */
  get size(): number {
    return this.records.length;
  }

  /** A crash: the unsynced tail is cut at a random point when `lossy`; what is left is on disk. */
  crash(prng: Prng, lossy: boolean): void {
    if (lossy) this.records.length = prng.int(this.synced, this.records.length);
    this.synced = this.records.length;
  }
}
