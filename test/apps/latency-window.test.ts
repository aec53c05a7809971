import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyWindow } from '../../src/apps/iot/latency-window.ts';

/** The same percentiles by sorting: what the window must agree with. */
function sorted(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: s[Math.floor(0.5 * s.length)], p99: s[Math.floor(0.99 * s.length)], max: s.at(-1) };
}

test('percentiles agree with sorting the latest samples, before and after the ring wraps', () => {
  const w = new LatencyWindow(1000);
  assert.equal(w.percentiles(), null);
  const all: number[] = [];
  let x = 7;
  for (let i = 0; i < 3500; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const ms = (x % 5000) + (i > 3000 ? 10_000 : 0); // the last 500 are much slower
    all.push(ms);
    w.add(ms);
    if (i === 10 || i === 999 || i === 2000 || i === 3499) {
      assert.deepEqual(w.percentiles(), sorted(all.slice(-1000)), `after ${i + 1} samples`);
    }
  }
});

test('fractions are rounded to whole ms, negatives count as 0, and the cap holds', () => {
  const w = new LatencyWindow(10);
  for (const ms of [-5, 0.4, 1.6, 500_000]) w.add(ms);
  assert.deepEqual(w.percentiles(), { p50: 2, p99: 120_000, max: 120_000 });
});
