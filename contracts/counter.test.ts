/** counter.ts in the sandbox on an in-process chain. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ContractChain, contractChain } from '../test/vm/harness.ts';

describe('contracts/counter.ts', () => {
  let c: ContractChain;
  before(async () => {
    c = await contractChain();
    const r = await c.deploy('counter', 'contracts/counter.ts');
    assert.equal(r.status, 'ok', r.message);
    assert.deepEqual((r.result as { methods: string[] }).methods, ['get', 'increment']);
  });
  after(() => c.close());

  test('starts at 0 and increments by 1 or by a given step', async () => {
    assert.equal(c.query('counter', 'get'), 0);
    const r1 = await c.send(c.client, 'counter', 'increment');
    assert.equal(r1.status, 'ok', r1.message);
    assert.equal(r1.result, 1);
    assert.deepEqual(r1.events, [
      { contract: 'counter', name: 'Incremented', data: { by: 1, count: 1 } },
    ]);
    const r2 = await c.send(c.client, 'counter', 'increment', { by: 5 });
    assert.equal(r2.result, 6);
    assert.equal(c.query('counter', 'get'), 6);
  });

  test('a bad step reverts with its message and changes nothing', async () => {
    const before = c.query('counter', 'get');
    const r = await c.send(c.client, 'counter', 'increment', { by: -1 });
    assert.equal(r.status, 'error');
    assert.equal(r.code, 'CONTRACT_REVERTED');
    assert.equal(r.message, 'by must be a positive integer');
    assert.deepEqual(r.events, []);
    assert.equal(c.query('counter', 'get'), before);
  });

  test('a query cannot increment', () => {
    assert.throws(() => c.query('counter', 'increment'), { code: 'CONTRACT_READ_ONLY' });
  });
});
