import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlockPacer } from '../../src/consensus/tbft/block-pacer.ts';

test('before any sample only the time budget bounds a block', () => {
  const p = new BlockPacer();
  assert.deepEqual(p.limits(3000, 0), { budgetMs: 1000, maxTxs: Number.POSITIVE_INFINITY });
});

test('the tx cap fits the budget at the cost learned from blocks built or validated, round 0 with slack', () => {
  const p = new BlockPacer();
  p.observe(2000, 1000); // 0.5 ms a tx
  // Round 0: 1.25 times the 1,000 ms budget at 0.5 ms a tx.
  assert.deepEqual(p.limits(3000, 0), { budgetMs: 1000, maxTxs: 2500 });
  assert.deepEqual(p.limits(3000, 1), { budgetMs: 500, maxTxs: 1000 });
  // A slower block moves the running cost toward it, not all the way.
  p.observe(1000, 1000); // 1 ms a tx: 0.7 * 0.5 + 0.3 * 1 = 0.65
  assert.equal(p.limits(3000, 1).maxTxs, Math.floor(500 / 0.65));
});

test('each failed round halves the budget and the cap, down to a floor', () => {
  const p = new BlockPacer();
  p.observe(1000, 500);
  assert.deepEqual(p.limits(3000, 1), { budgetMs: 500, maxTxs: 1000 });
  assert.deepEqual(p.limits(3000, 2), { budgetMs: 250, maxTxs: 500 });
  // Rounds past 6 keep the round-6 budget; the cap never starves the chain.
  assert.deepEqual(p.limits(3000, 6), p.limits(3000, 60));
  p.observe(100, 100_000);
  assert.equal(p.limits(3000, 6).maxTxs, 100);
});

test('small blocks and nonsense timings teach nothing', () => {
  const p = new BlockPacer();
  p.observe(10, 10_000);
  p.observe(1000, Number.NaN);
  p.observe(1000, -5);
  assert.equal(p.limits(3000, 1).maxTxs, Number.POSITIVE_INFINITY);
});
