/**
 * TypeScript contracts on a real node through the CLI and SDK: build, deploy -> invoke ->
 * query with a verified proof; contract events over the WebSocket; hostile contracts each
 * ending in an error receipt while the next ordinary tx commits; upgrade keeps state;
 * frozen and revoked contracts are refused with their codes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ArchiClient } from '../../src/sdk/client.ts';
import { Identity } from '../../src/sdk/identity.ts';
import type { EventPush } from '../../src/sdk/types.ts';
import { archi, archiJson, removeDir, stopAll, tempDir, up } from './harness.ts';

describe('TypeScript contracts on a real node', () => {
  let dir: string;
  let rpc: string;
  let client: ArchiClient;
  let admin: Identity;
  let user: Identity;

  const cli = (...args: string[]) => archiJson([...args, '--dir', dir]);

  before(async () => {
    dir = tempDir('archi-contracts-');
    ({ rpc } = await up(dir, ['--nodes', '1']));
    client = new ArchiClient(rpc);
    const net = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'));
    const load = (u: string) =>
      Identity.fromUserDir(net.crypto, 'org1', join(dir, 'orgs/org1/users', u), net.identityMode);
    admin = load('admin');
    user = load('client');
  });
  after(async () => {
    await stopAll();
    removeDir(dir);
  });

  test('build refuses imports other than the contract API', async () => {
    const bad = await archi(['contract', 'build', 'test/vm/fixtures/bad-import.ts']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /CODE_INVALID: .*import "node:fs" is not allowed/);
    const ok = await archiJson(['contract', 'build', 'contracts/counter.ts']);
    assert.deepEqual(ok.methods, ['get', 'increment']);
    assert.match(ok.codeHash, /^[0-9a-f]{64}$/);
  });

  test('deploy -> tx send -> query --prove', async () => {
    const d = await cli('contract', 'deploy', 'counter', 'contracts/counter.ts');
    assert.equal(d.name, 'counter');
    assert.equal(d.version, 1);
    assert.equal(d.status, 'active');
    assert.deepEqual(d.methods, ['get', 'increment']);
    const r = await cli('tx', 'send', '--contract', 'counter', '--method', 'increment', '--wait');
    assert.equal(r.status, 'ok', JSON.stringify(r));
    assert.equal(r.result, 1);
    assert.deepEqual(r.events, [
      { contract: 'counter', name: 'Incremented', data: { by: 1, count: 1 } },
    ]);
    const q = await cli('query', '--contract', 'counter', '--method', 'get', '--prove');
    assert.equal(q.result, 1);
    assert.equal(q.verified, true);
    assert.deepEqual(
      q.proof.reads.map((x: { key: string }) => x.key),
      ['contract_manage/contract/counter', 'counter/count'],
    );
    const list = await cli('contract', 'list');
    assert.deepEqual(
      list.map((m: { name: string; version: number }) => [m.name, m.version]),
      [['counter', 1]],
    );
    const info = await cli('contract', 'info', 'counter');
    assert.equal(info.codeHash, d.codeHash);
  });

  test("the asset contract's events arrive on the WebSocket subscription", async () => {
    const events: EventPush[] = [];
    const off = await client.subscribe('events', { contract: 'asset' }, (e) => events.push(e));
    try {
      await cli('contract', 'deploy', 'asset', 'contracts/asset.ts');
      const issued = await client.send(
        admin,
        { contract: 'asset', method: 'issue', args: { to: user.address, amount: '1000' } },
        { wait: true },
      );
      assert.equal('receipt' in issued && issued.receipt.status, 'ok');
      const sent = await client.send(
        user,
        { contract: 'asset', method: 'transfer', args: { to: admin.address, amount: '250' } },
        { wait: true },
      );
      assert.equal('receipt' in sent && sent.receipt.status, 'ok');
      const deadline = Date.now() + 10_000;
      while (events.length < 2 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(
        events.map((e) => [e.contract, e.name, e.data, e.txId]),
        [
          ['asset', 'Issued', { to: user.address, amount: '1000', supply: '1000' }, issued.txId],
          [
            'asset',
            'Transfer',
            { from: user.address, to: admin.address, amount: '250' },
            sent.txId,
          ],
        ],
      );
    } finally {
      off();
    }
    assert.equal((await client.query('asset', 'balance', { owner: user.address })).result, '750');
  });

  test('hostile contracts end in error receipts and the node keeps committing', async () => {
    const d = await cli('contract', 'deploy', 'hostile', 'test/vm/fixtures/hostile.ts');
    assert.equal(d.status, 'active');
    const cases: Array<[string, string]> = [
      ['loop', 'OUT_OF_GAS'],
      ['recurse', 'STACK_OVERFLOW'],
      ['memoryBomb', 'OUT_OF_MEMORY'],
      ['hugeReturn', 'RETURN_TOO_LARGE'],
      ['hugeEvent', 'EVENT_TOO_LARGE'],
      ['dateNow', 'FORBIDDEN_API'],
      ['random', 'FORBIDDEN_API'],
      ['functionConstructor', 'FORBIDDEN_API'],
      ['escapeToHost', 'CONTRACT_ERROR'],
      ['reenter', 'REENTRANCY'],
    ];
    let count = (await client.query('counter', 'get', null)).result as number;
    for (const [method, code] of cases) {
      const bad = await client.send(user, { contract: 'hostile', method }, { wait: true });
      assert.ok('receipt' in bad);
      assert.equal(bad.receipt.status, 'error', method);
      assert.equal(bad.receipt.code, code, `${method}: ${bad.receipt.message}`);
      const good = await client.send(
        user,
        { contract: 'counter', method: 'increment' },
        { wait: true },
      );
      assert.ok('receipt' in good);
      assert.equal(good.receipt.status, 'ok', `after ${method}: ${good.receipt.message}`);
      assert.equal(good.receipt.result, ++count);
      assert.ok(good.height > bad.height);
    }
    // Through the CLI too: the receipt is printed and the command fails with its code.
    const r = await archi([
      'tx',
      'send',
      '--dir',
      dir,
      '--contract',
      'hostile',
      '--method',
      'dateNow',
      '--wait',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /code: FORBIDDEN_API/);
    assert.match(r.stderr, /FORBIDDEN_API: .*Date\.now is not available in contracts/);
    // Pollution in one call is gone in the next.
    await client.send(user, { contract: 'hostile', method: 'pollute' }, { wait: true });
    const clean = (await client.query('hostile', 'checkClean', null)).result;
    assert.deepEqual(clean, { polluted: null, leak: 'undefined', stringify: '{"a":1}', push: 1 });
  });

  test('upgrade keeps state; frozen and revoked contracts are refused with their codes', async () => {
    const before = (await client.query('counter', 'get', null)).result as number;
    const up2 = await cli('contract', 'upgrade', 'counter', 'test/vm/fixtures/counter-v2.ts');
    assert.equal(up2.version, 2);
    assert.deepEqual(up2.methods, ['double', 'get', 'increment']);
    assert.equal((await client.query('counter', 'get', null)).result, before);
    const doubled = await cli(
      'tx',
      'send',
      '--contract',
      'counter',
      '--method',
      'double',
      '--wait',
    );
    assert.equal(doubled.result, before * 2);

    const frozen = await cli('contract', 'freeze', 'counter');
    assert.equal(frozen.status, 'frozen');
    const refused = await archi([
      'tx',
      'send',
      '--contract',
      'counter',
      '--method',
      'increment',
      '--wait',
      '--dir',
      dir,
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /CONTRACT_FROZEN: contract counter is frozen/);
    assert.equal(
      (await client.query('counter', 'get', null)).result,
      before * 2,
      'queries still work',
    );
    await cli('contract', 'unfreeze', 'counter');
    const again = await client.send(
      user,
      { contract: 'counter', method: 'increment' },
      { wait: true },
    );
    assert.ok('receipt' in again && again.receipt.status === 'ok');

    const revoked = await cli('contract', 'revoke', 'counter');
    assert.equal(revoked.status, 'revoked');
    await assert.rejects(client.send(user, { contract: 'counter', method: 'increment' }), {
      code: 'CONTRACT_REVOKED',
    });
    await assert.rejects(client.query('counter', 'get', null), { code: 'CONTRACT_REVOKED' });
    const redeploy = await archi([
      'contract',
      'deploy',
      'counter',
      'contracts/counter.ts',
      '--dir',
      dir,
    ]);
    assert.equal(redeploy.code, 1);
    assert.match(redeploy.stderr, /CONTRACT_EXISTS: .*revoked/);
    const byClient = await archi([
      'contract',
      'deploy',
      'other',
      'contracts/counter.ts',
      '--as',
      'org1/client',
      '--dir',
      dir,
    ]);
    assert.equal(byClient.code, 1);
    assert.match(
      byClient.stderr,
      /TX_FORBIDDEN: .*only an organization admin may deploy a contract/,
    );
  });
});
