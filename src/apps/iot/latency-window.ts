/**
 * Percentiles of the latest N latencies (whole milliseconds), kept as a ring of samples and
 * a histogram of them: adding a sample and asking for p50/p99/max cost the same however many
 * samples there are, where sorting 100,000 of them for every status line took ingest's main
 * thread about 12 ms.
 */

/** Latencies at or above this many ms count as this many (two minutes is already a failure). */
const CAP_MS = 120_000;

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

export class LatencyWindow {
  private readonly ring: Uint32Array;
  private readonly hist = new Uint32Array(CAP_MS + 1);
  private count = 0;

  constructor(readonly size: number) {
    this.ring = new Uint32Array(size);
  }

  /** Add one latency in ms; the oldest is dropped once `size` are kept. */
  add(ms: number): void {
    const v = Math.min(CAP_MS, Math.max(0, Math.round(ms)));
    const at = this.count % this.size;
    if (this.count >= this.size) this.hist[this.ring[at]]--;
    this.ring[at] = v;
    this.hist[v]++;
    this.count++;
  }

  /** p50, p99 and max of the kept samples (nearest rank); null when there are none. */
  percentiles(): Percentiles | null {
    const n = Math.min(this.count, this.size);
    if (n === 0) return null;
    // Ranks as sorting would give them: the sample at index floor(q * n) of the sorted list.
    const want = [Math.floor(0.5 * n), Math.min(n - 1, Math.floor(0.99 * n)), n - 1];
    const found: number[] = [];
    let seen = 0;
    for (let v = 0; v <= CAP_MS && found.length < want.length; v++) {
      seen += this.hist[v];
      while (found.length < want.length && seen > want[found.length]) found.push(v);
    }
    return { p50: found[0], p99: found[1], max: found[2] };
  }
}
