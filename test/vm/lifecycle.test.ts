/**
 * contract_manage: deploy, upgrade, freeze/unfreeze, revoke; names; the lifecycle policy;
 * refusals at admission (frozen, revoked) and in receipts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChainConfig } from '../../src/codec/index.ts';
import type { CallContext } from '../../src/vm/context.ts';
import { contractManageContract, requiredOrgs } from '../../src/vm/native/contract-manage.ts';
import { unhex } from '../../src/types/hex.ts';
import { buildTx, decodeTx } from '../../src/types/tx.ts';
import type { Member } from '../unit/chain-fixture.ts';
import { bundle, type ContractChain, contractChain } from './harness.ts';

describe('contract lifecycle', () => {
  let c: ContractChain;
  before(async () => {
    c = await contractChain();
  });
  after(() => c.close());

  test('a contract deployed earlier in the same block can be called', async () => {
    const code = await bundle('contracts/counter.ts');
    const { profile } = c.fx;
    const tx = (m: Member, f: { contract: string; method: string; args: unknown }) =>
      decodeTx(
        profile,
        buildTx(profile, m.signer, {
          ...f,
          chainId: 'unit',
          sender: { org: 'org1', cert: m.cert },
          timestamp: Date.now(),
        }).bytes,
      );
    // Admission sees committed state only, so run the block through the executor directly.
    const res = c.chain.executor.executeBlock({
      height: c.chain.height + 1,
      time: Date.now(),
      config: c.chain.config,
      prevStateRoot: unhex(c.chain.latestHeader.stateRoot),
      txs: [
        tx(c.admin, {
          contract: 'contract_manage',
          method: 'deploy',
          args: { name: 'counter', code },
        }),
        tx(c.client, { contract: 'counter', method: 'increment', args: { by: 3 } }),
      ],
    });
    assert.deepEqual(
      res.receipts.map((r) => [r.status, r.code]),
      [
        [0, ''],
        [0, ''],
      ],
    );
    // Now for real, one block each.
    assert.equal((await c.deployCode('counter', code)).status, 'ok');
    assert.equal((await c.send(c.client, 'counter', 'increment', { by: 3 })).result, 3);
    const meta = c.query('contract_manage', 'info', { name: 'counter' }) as any;
    assert.equal(meta.version, 1);
    assert.equal(meta.status, 'active');
    assert.deepEqual(meta.deployer, { org: 'org1', id: c.admin.address });
    assert.match(meta.codeHash, /^[0-9a-f]{64}$/);
  });

  test('names: taken, native, malformed', async () => {
    const code = await bundle('contracts/counter.ts');
    for (const [name, code_] of [
      ['counter', 'CONTRACT_EXISTS'],
      ['kv', 'CONTRACT_EXISTS'],
      ['contract_manage', 'CONTRACT_EXISTS'],
      ['Bad-Name', 'INVALID_ARGS'],
      ['x', 'INVALID_ARGS'],
    ] as const) {
      const r = await c.deployCode(name, code);
      assert.equal(r.code, code_, `${name}: ${r.message}`);
    }
  });

  test('bad code is refused with CODE_INVALID, a module that never loads with OUT_OF_GAS', async () => {
    assert.equal((await c.deployCode('junk', 'this is not javascript')).code, 'CODE_INVALID');
    assert.equal((await c.deployCode('empty', 'return {};')).code, 'CODE_INVALID');
    assert.equal((await c.deployCode('nothing', '1 + 1')).code, 'CODE_INVALID');
    const looping = await c.deploy('looping', 'test/vm/fixtures/looping-module.ts');
    assert.equal(looping.code, 'OUT_OF_GAS');
    assert.throws(() => c.query('contract_manage', 'info', { name: 'looping' }), {
      code: 'CONTRACT_NOT_FOUND',
    });
  });

  test('only admins manage contracts', async () => {
    const r = await c.send(c.client, 'contract_manage', 'freeze', { name: 'counter' });
    assert.equal(r.code, 'TX_FORBIDDEN');
  });

  test('upgrade keeps state and bumps the version', async () => {
    const before = c.query('counter', 'get') as number;
    const r = await c.send(c.admin, 'contract_manage', 'upgrade', {
      name: 'counter',
      code: await bundle('test/vm/fixtures/counter-v2.ts'),
    });
    assert.equal(r.status, 'ok', r.message);
    assert.equal((r.result as any).version, 2);
    assert.deepEqual(
      r.events.map((e) => e.name),
      ['Upgraded'],
    );
    assert.equal(c.query('counter', 'get'), before);
    assert.equal((await c.send(c.client, 'counter', 'double')).result, before * 2);
  });

  test('frozen: txs refused at admission and in blocks, queries allowed', async () => {
    assert.equal(
      (await c.send(c.admin, 'contract_manage', 'freeze', { name: 'counter' })).status,
      'ok',
    );
    await assert.rejects(c.client.send(c.chain, { contract: 'counter', method: 'increment' }), {
      code: 'CONTRACT_FROZEN',
    });
    assert.equal(typeof c.query('counter', 'get'), 'number');
    assert.equal(
      (await c.send(c.admin, 'contract_manage', 'freeze', { name: 'counter' })).code,
      'CONTRACT_FROZEN',
    );
    // A contract calling a frozen one is refused too.
    await c.deploy('caller', 'test/vm/fixtures/caller.ts');
    const nested = await c.send(c.client, 'caller', 'call', {
      contract: 'counter',
      method: 'increment',
    });
    assert.equal(nested.code, 'CONTRACT_FROZEN');
    assert.equal(
      (await c.send(c.admin, 'contract_manage', 'unfreeze', { name: 'counter' })).status,
      'ok',
    );
    assert.equal((await c.send(c.client, 'counter', 'increment')).status, 'ok');
    assert.equal(
      (await c.send(c.admin, 'contract_manage', 'unfreeze', { name: 'counter' })).code,
      'INVALID_ARGS',
    );
  });

  test('revoked: txs and queries refused, the name is never reused', async () => {
    const r = await c.send(c.admin, 'contract_manage', 'revoke', { name: 'counter' });
    assert.equal(r.status, 'ok');
    assert.deepEqual(r.events, [
      { contract: 'contract_manage', name: 'Revoked', data: { name: 'counter', version: 2 } },
    ]);
    await assert.rejects(c.client.send(c.chain, { contract: 'counter', method: 'increment' }), {
      code: 'CONTRACT_REVOKED',
    });
    assert.throws(() => c.query('counter', 'get'), { code: 'CONTRACT_REVOKED' });
    for (const m of ['freeze', 'unfreeze', 'revoke', 'upgrade']) {
      const again = await c.send(c.admin, 'contract_manage', m, {
        name: 'counter',
        code: await bundle('contracts/counter.ts'),
      });
      assert.equal(again.code, 'CONTRACT_REVOKED', m);
    }
    const redeploy = await c.deploy('counter', 'contracts/counter.ts');
    assert.equal(redeploy.code, 'CONTRACT_EXISTS');
    assert.match(redeploy.message, /revoked/);
    const listed = c.query('contract_manage', 'list') as any[];
    assert.deepEqual(
      listed.map((m) => [m.name, m.status]),
      [
        ['caller', 'active'],
        ['counter', 'revoked'],
      ],
    );
    const kinds = c.chain.registry.list().map((x) => `${x.kind}:${x.name}`);
    assert.ok(kinds.includes('contract:caller') && kinds.includes('native:contract_manage'));
  });
});

describe('lifecycle policy', () => {
  test('organizations an admin set needs', () => {
    assert.equal(requiredOrgs('ANY', 4), 1);
    assert.equal(requiredOrgs('MAJORITY', 4), 3);
    assert.equal(requiredOrgs('MAJORITY', 1), 1);
    assert.equal(requiredOrgs('ALL', 4), 4);
    assert.equal(requiredOrgs('1/3', 4), 2);
    assert.equal(requiredOrgs('1/4', 4), 1);
    assert.equal(requiredOrgs('3/2', 4), 4);
  });

  test('a policy one admin cannot meet is refused with POLICY_NOT_MET', () => {
    const manage = contractManageContract(() => false);
    const ctx = (policy: string, orgs: number) =>
      ({
        contract: 'contract_manage',
        sender: { org: 'org1', role: 'admin', id: 'a'.repeat(40), name: 'admin' },
        config: { lifecyclePolicy: policy, orgs: Array.from({ length: orgs }, () => ({})) },
      }) as unknown as CallContext & { config: ChainConfig };
    for (const m of ['deploy', 'upgrade', 'freeze', 'unfreeze', 'revoke']) {
      assert.throws(
        () => manage.methods[m].run(ctx('MAJORITY', 3), { name: 'x' }),
        (e: any) => {
          assert.equal(e.code, 'POLICY_NOT_MET');
          assert.match(e.message, /MAJORITY needs admins of 2 of 3 organizations.*governance/);
          return true;
        },
      );
    }
    assert.throws(() => manage.methods.deploy.run(ctx('ALL', 2), { name: 'x' }), {
      code: 'POLICY_NOT_MET',
    });
  });
});
