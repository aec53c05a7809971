/** registry.ts: names owned by accounts, with events for every change. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ContractChain, contractChain } from '../test/vm/harness.ts';

describe('contracts/registry.ts', () => {
  let c: ContractChain;
  before(async () => {
    c = await contractChain();
    assert.equal((await c.deploy('registry', 'contracts/registry.ts')).status, 'ok');
  });
  after(() => c.close());

  test('register, look up and list', async () => {
    const r = await c.send(c.client, 'registry', 'register', {
      name: 'alice.example',
      value: { url: 'https://a.example', n: 1 },
    });
    assert.equal(r.status, 'ok', r.message);
    assert.deepEqual(r.events, [
      {
        contract: 'registry',
        name: 'Registered',
        data: { name: 'alice.example', owner: c.client.address },
      },
    ]);
    await c.send(c.admin, 'registry', 'register', { name: 'bob' });
    const entry = c.query('registry', 'lookup', { name: 'alice.example' }) as any;
    assert.equal(entry.owner, c.client.address);
    assert.deepEqual(entry.value, { n: 1, url: 'https://a.example' });
    assert.deepEqual(c.query('registry', 'list', {}), [
      { name: 'alice.example', owner: c.client.address },
      { name: 'bob', owner: c.admin.address },
    ]);
    assert.deepEqual(c.query('registry', 'list', { prefix: 'b' }), [
      { name: 'bob', owner: c.admin.address },
    ]);
    assert.equal(c.query('registry', 'lookup', { name: 'carol' }), null);
  });

  test('a taken name cannot be registered again', async () => {
    const r = await c.send(c.admin, 'registry', 'register', { name: 'alice.example' });
    assert.equal(r.code, 'CONTRACT_REVERTED');
    assert.match(r.message, /already registered/);
  });

  test('only the owner updates, transfers or releases', async () => {
    const denied = await c.send(c.admin, 'registry', 'update', { name: 'alice.example', value: 2 });
    assert.equal(denied.code, 'CONTRACT_REVERTED');
    assert.match(denied.message, /belongs to/);
    const u = await c.send(c.client, 'registry', 'update', { name: 'alice.example', value: 2 });
    assert.deepEqual(
      u.events.map((e) => e.name),
      ['Updated'],
    );
    const t = await c.send(c.client, 'registry', 'transfer', {
      name: 'alice.example',
      to: c.admin.address,
    });
    assert.deepEqual(t.events[0].data, {
      name: 'alice.example',
      from: c.client.address,
      to: c.admin.address,
    });
    const rel = await c.send(c.admin, 'registry', 'release', { name: 'alice.example' });
    assert.deepEqual(
      rel.events.map((e) => e.name),
      ['Released'],
    );
    assert.equal(c.query('registry', 'lookup', { name: 'alice.example' }), null);
  });
});
