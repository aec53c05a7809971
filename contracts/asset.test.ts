/** asset.ts: issue, transfer, balances as bigint in state, events. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ContractChain, contractChain } from '../test/vm/harness.ts';

describe('contracts/asset.ts', () => {
  let c: ContractChain;
  before(async () => {
    c = await contractChain();
    assert.equal((await c.deploy('asset', 'contracts/asset.ts')).status, 'ok');
  });
  after(() => c.close());

  test('an admin issues; amounts beyond 2^53 stay exact', async () => {
    const big = '123456789012345678901234567890';
    const r = await c.send(c.admin, 'asset', 'issue', { to: c.client.address, amount: big });
    assert.equal(r.status, 'ok', r.message);
    assert.deepEqual(r.events, [
      {
        contract: 'asset',
        name: 'Issued',
        data: { to: c.client.address, amount: big, supply: big },
      },
    ]);
    assert.equal(c.query('asset', 'balance', { owner: c.client.address }), big);
    assert.equal(c.query('asset', 'supply'), big);
    // Stored as tagged bigint JSON.
    const raw = c.chain.stateWithProof('asset', `balance/${c.client.address}`).value;
    assert.equal(Buffer.from(raw!, 'hex').toString(), `{"$bigint":"${big}"}`);
  });

  test('only admins issue', async () => {
    const r = await c.send(c.client, 'asset', 'issue', { to: c.client.address, amount: '1' });
    assert.equal(r.code, 'CONTRACT_REVERTED');
    assert.match(r.message, /only an organization admin/);
  });

  test('transfer moves value and emits Transfer; overdraft reverts', async () => {
    const before = BigInt(c.query('asset', 'balance', { owner: c.client.address }) as string);
    const r = await c.send(c.client, 'asset', 'transfer', { to: c.admin.address, amount: 40 });
    assert.equal(r.status, 'ok', r.message);
    assert.deepEqual(r.events[0], {
      contract: 'asset',
      name: 'Transfer',
      data: { from: c.client.address, to: c.admin.address, amount: '40' },
    });
    assert.equal(c.query('asset', 'balance', { owner: c.admin.address }), '40');
    assert.equal(
      c.query('asset', 'balance', { owner: c.client.address }),
      (before - 40n).toString(),
    );
    const over = await c.send(c.admin, 'asset', 'transfer', { to: c.client.address, amount: 41 });
    assert.equal(over.code, 'CONTRACT_REVERTED');
    assert.match(over.message, /insufficient balance: 40 < 41/);
    assert.equal(c.query('asset', 'balance', { owner: c.admin.address }), '40');
  });

  test('bad arguments revert with a clear message', async () => {
    for (const args of [{ to: 'nope', amount: 1 }, { to: c.admin.address, amount: -1 }, null]) {
      const r = await c.send(c.client, 'asset', 'transfer', args);
      assert.equal(r.code, 'CONTRACT_REVERTED', JSON.stringify(args));
    }
  });
});
