/**
 * Warm contract slots against cold calls (scenarios in warm-slot-scenarios.ts, run on a
 * thread whose native stack is as large as the sandbox thread's).
 */
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { describe, test } from 'node:test';

const results = await new Promise<Array<{ name: string; error?: string }>>((resolve, reject) => {
  const w = new Worker(new URL('./fixtures/warm-slot-worker.mjs', import.meta.url), {
    resourceLimits: { stackSizeMb: 64 },
  });
  w.once('message', (m) => {
    resolve(m);
    void w.terminate();
  });
  w.once('error', reject);
  w.once('exit', (code) => reject(new Error(`scenario thread exited with ${code}`)));
});

describe('warm contract slots', () => {
  for (const r of results) {
    test(r.name, () => {
      assert.equal(r.error, undefined, r.error);
    });
  }
  test('every scenario ran', () => assert.equal(results.length, 6));
});
