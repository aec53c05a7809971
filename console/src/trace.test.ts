/** The verification page's view of an item, rebuilt from the reads its proof covers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BatchRecord, EventRecord, ItemRecord } from '../../src/apps/trace/rules.ts';
import { outcomeText, provenItem } from './trace.ts';

const item: ItemRecord = {
  serial: 'S1',
  batch: 'B1',
  commitment: 'ab'.repeat(32),
  producedAt: 5,
  producedTime: 1_765_000_000_000,
  producedBy: 'client',
  producedTx: 'aa',
  events: 1,
  stage: 'shipped',
  revealed: null,
  repeats: 0,
  lastRepeat: null,
};
const batch: BatchRecord = {
  id: 'B1',
  product: 'Valve',
  maker: 'org1',
  createdAt: 4,
  createdTime: 1_764_999_999_000,
  serials: 1,
  recall: null,
};
const event: EventRecord = {
  step: 'shipped',
  org: 'org2',
  by: 'client',
  height: 6,
  time: 1_765_000_001_000,
  txId: 'bb',
  place: 'Yangshan',
  note: null,
  readings: [],
};
const hex = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('hex');
const read = (key: string, value: unknown) => ({
  key: `trace/${key}`,
  value: value === null ? null : hex(value),
  proof: {},
});
const reads = [read('item/S1', item), read('batch/B1', batch), read('ev/S1/00000000', event)];

describe('provenItem', () => {
  it('rebuilds the timeline from the proven records', () => {
    const view = {
      serial: 'S1',
      batch: 'B1',
      product: 'Valve',
      maker: 'org1',
      commitment: item.commitment,
      stage: 'shipped',
      recalled: null,
      revealed: null,
      repeats: 0,
      lastRepeat: null,
      timeline: [
        {
          step: 'produced',
          org: 'org1',
          by: 'client',
          height: 5,
          time: item.producedTime,
          txId: 'aa',
          place: null,
          note: null,
          readings: [],
        },
        event,
      ],
    };
    assert.deepEqual(provenItem('S1', reads, view), { ok: true, item: view });
  });

  it('refuses an answer the records do not support, and reads the proof lacks', () => {
    const lied = provenItem('S1', reads, { serial: 'S1', stage: 'sold' });
    assert.equal(lied.ok, false);
    const missing = provenItem('S1', reads.slice(0, 2), null);
    assert.deepEqual(missing, {
      ok: false,
      reason: 'the proof does not cover trace/ev/S1/00000000',
    });
  });

  it('an item proven absent is null', () => {
    assert.deepEqual(provenItem('S9', [read('item/S9', null)], null), { ok: true, item: null });
  });
});

describe('outcomeText', () => {
  const first = { place: 'Beijing', by: 'c', height: 9, time: 0, txId: 'cc' };
  const base = { ok: true as const, height: 9, txId: 'cc', first, product: 'Valve', maker: 'org1' };
  it('words each verdict', () => {
    assert.equal(
      outcomeText({ ...base, verdict: 'authentic', repeats: 0, recalled: null }).title,
      'Authentic',
    );
    const fake = outcomeText({ ...base, verdict: 'counterfeit', repeats: 1, recalled: null });
    assert.equal(fake.good, false);
    assert.match(fake.detail, /first at Beijing/);
    const recall = { reason: 'defect', by: 'a', height: 8, time: 0, txId: 'dd' };
    assert.equal(
      outcomeText({ ...base, verdict: 'authentic', repeats: 0, recalled: recall }).title,
      'Authentic, but recalled',
    );
    const wrong = {
      ok: false as const,
      error: 'TRACE_NOT_AUTHENTIC',
      message: 'x',
      height: 9,
      txId: 'cc',
    };
    assert.equal(outcomeText(wrong).title, 'Not authentic');
  });
});
