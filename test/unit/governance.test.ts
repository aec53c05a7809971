/** The governance contract on an in-process chain: proposals, votes, policies, expiry and config changes. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Chain } from '../../src/chain/chain.ts';
import { hex } from '../../src/types/hex.ts';
import { policyMet } from '../../src/vm/native/governance.ts';
import { buildContract } from '../../src/vm/sandbox/build.ts';
import { initSandbox } from '../../src/vm/sandbox/host.ts';
import { type Fixture, makeFixture, type Member } from './chain-fixture.ts';

const propose = (m: Member, chain: Chain, args: unknown) =>
  m.send(chain, { contract: 'governance', method: 'propose', args });
const approve = (m: Member, chain: Chain, id: number) =>
  m.send(chain, { contract: 'governance', method: 'approve', args: { id } });
const reject = (m: Member, chain: Chain, id: number) =>
  m.send(chain, { contract: 'governance', method: 'reject', args: { id } });
const proposal = (chain: Chain, id: number) =>
  chain.query('governance', 'get', { id }, false).result as Record<string, any>;

/** Commit the pool in one block and return the receipts of `ids`. */
function commitReceipts(fx: Fixture, chain: Chain, ids: string[]) {
  fx.commit(chain, Date.now());
  return ids.map((id) => chain.getTx(id).receipt);
}

test('policyMet: ANY, MAJORITY, ALL and n/m over the member orgs', () => {
  assert.equal(policyMet('ANY', 1, 4), true);
  assert.equal(policyMet('ANY', 0, 4), false);
  assert.equal(policyMet('MAJORITY', 2, 4), false);
  assert.equal(policyMet('MAJORITY', 3, 4), true);
  assert.equal(policyMet('MAJORITY', 1, 1), true);
  assert.equal(policyMet('ALL', 3, 4), false);
  assert.equal(policyMet('ALL', 4, 4), true);
  assert.equal(policyMet('2/3', 2, 4), false); // 2*3 < 2*4
  assert.equal(policyMet('2/3', 3, 4), true); // 3*3 >= 2*4
  assert.equal(policyMet('1/2', 2, 4), true);
});

describe('governance (one org: the proposer alone meets MAJORITY)', () => {
  const fx = makeFixture('standard');
  after(() => fx.cleanup());

  test('a client cannot propose; bad kinds and args are refused at propose time', async () => {
    const chain = fx.open();
    const cases: Array<[Member, unknown, string, RegExp?]> = [
      [fx.client, { kind: 'set_tx_roles', args: { roles: ['admin'] } }, 'TX_FORBIDDEN'],
      [
        fx.admin,
        { kind: 'add_validator', args: {} },
        'INVALID_ARGS',
        /unknown proposal kind.*set_validator_power/,
      ],
      [fx.admin, { kind: 'add_org', args: {} }, 'INVALID_ARGS', /add_org: id must be/],
      [fx.admin, { kind: 'nope', args: {} }, 'INVALID_ARGS', /supported kinds/],
      [fx.admin, { kind: 'set_kv_write_roles', args: { roles: ['boss'] } }, 'INVALID_ARGS'],
      [
        fx.admin,
        { kind: 'set_kv_write_roles', args: { roles: ['admin', 'admin'] } },
        'INVALID_ARGS',
      ],
      [fx.admin, { kind: 'set_tx_roles', args: { roles: ['client'] } }, 'INVALID_ARGS'],
      [fx.admin, { kind: 'set_params', args: {} }, 'INVALID_ARGS'],
      [fx.admin, { kind: 'set_params', args: { maxTxBytes: 10 } }, 'INVALID_ARGS'],
      [fx.admin, { kind: 'set_params', args: { maxBlockTxs: 1.5 } }, 'INVALID_ARGS'],
      [fx.admin, { kind: 'set_params', args: { gasPrice: 1 } }, 'INVALID_ARGS'],
      [
        fx.admin,
        { kind: 'set_params', args: { maxBlockGas: 999_999 } },
        'INVALID_ARGS',
        /maxBlockGas must be an integer in 1000000\.\.1000000000000/,
      ],
      [fx.admin, { kind: 'set_params', args: { maxBlockGas: 0 } }, 'INVALID_ARGS'],
      [fx.admin, { kind: 'set_params', args: { maxBlockGas: 1e12 + 1 } }, 'INVALID_ARGS'],
      [fx.admin, { kind: 'set_params', args: { maxBlockGas: '20000000' } }, 'INVALID_ARGS'],
      [
        fx.admin,
        { kind: 'set_params', args: { maxTxBytes: 100_000, maxBlockBytes: 50_000 } },
        'INVALID_ARGS',
      ],
      [fx.admin, { kind: 'set_policy', args: { which: 'x', policy: 'ANY' } }, 'INVALID_ARGS'],
      [
        fx.admin,
        { kind: 'set_policy', args: { which: 'governance', policy: '3/2' } },
        'INVALID_ARGS',
      ],
      [
        fx.admin,
        { kind: 'set_policy', args: { which: 'lifecycle', policy: 'SOME' } },
        'INVALID_ARGS',
      ],
      [fx.admin, { kind: 'revoke_cert', args: { certHash: 'abc' } }, 'INVALID_ARGS'],
      [
        fx.admin,
        { kind: 'set_tx_roles', args: { roles: ['admin'] }, expiresInBlocks: 100_001 },
        'INVALID_ARGS',
      ],
    ];
    const ids = [];
    for (const [m, args] of cases) ids.push(await propose(m, chain, args));
    const receipts = commitReceipts(fx, chain, ids);
    receipts.forEach((r, i) => {
      assert.equal(r.status, 'error', JSON.stringify(cases[i][1]));
      assert.equal(r.code, cases[i][2], `${JSON.stringify(cases[i][1])}: ${r.message}`);
      if (cases[i][3]) assert.match(r.message, cases[i][3]!);
    });
    assert.deepEqual(chain.query('governance', 'list', {}, false).result, []);
    await chain.close();
  });

  test('a revoked client cert is refused in execution from the next block, then at admission', async () => {
    const chain = fx.open();
    // Two txs per block, so the client's second tx waits for the block after the revocation.
    const setParams = await propose(fx.admin, chain, {
      kind: 'set_params',
      args: { maxBlockTxs: 2 },
    });
    const [r0] = commitReceipts(fx, chain, [setParams]);
    assert.equal(r0.status, 'ok', r0.message);
    assert.deepEqual(
      r0.events.map((e) => e.name),
      ['Proposed', 'Executed'],
    );
    assert.equal(chain.config.params!.maxBlockTxs, 2);

    const certHash = hex(fx.profile.hash(fx.client.cert));
    const revoke = await propose(fx.admin, chain, { kind: 'revoke_cert', args: { certHash } });
    const sameBlock = await fx.client.send(chain, {
      contract: 'kv',
      method: 'put',
      args: { key: 'a', value: 1 },
    });
    const nextBlock = await fx.client.send(chain, {
      contract: 'kv',
      method: 'put',
      args: { key: 'b', value: 2 },
    });
    fx.commit(chain, Date.now());
    assert.equal(chain.getBlock('latest').txs.length, 2, 'maxBlockTxs 2 is honoured');
    assert.equal(chain.getTx(revoke).receipt.status, 'ok');
    assert.equal(proposal(chain, 2).status, 'executed');
    assert.equal(
      chain.getTx(sameBlock).receipt.status,
      'ok',
      'identities resolve against the config at block start',
    );
    assert.ok(chain.config.revokedCerts.includes(certHash));
    fx.commit(chain, Date.now());
    const r = chain.getTx(nextBlock).receipt;
    assert.equal(r.code, 'CERT_REVOKED');
    await assert.rejects(
      fx.client.send(chain, { contract: 'kv', method: 'put', args: { key: 'c', value: 3 } }),
      { code: 'CERT_REVOKED' },
    );
    // The admin is unaffected, and the config survives a restart.
    const dir = fx.dirs[fx.dirs.length - 1];
    await chain.close();
    const reopened = fx.open(dir);
    assert.ok(reopened.config.revokedCerts.includes(certHash));
    await assert.rejects(
      fx.client.send(reopened, { contract: 'kv', method: 'put', args: { key: 'd', value: 4 } }),
      { code: 'CERT_REVOKED' },
    );
    await reopened.close();
  });

  test('a lowered maxTxBytes is honoured at admission after activation', async () => {
    const chain = fx.open();
    const big = { contract: 'kv', method: 'put', args: { key: 'big', value: 'x'.repeat(6000) } };
    const okBefore = await fx.client.send(chain, big);
    const change = await propose(fx.admin, chain, {
      kind: 'set_params',
      args: { maxTxBytes: 4096 },
    });
    const [r1, r2] = commitReceipts(fx, chain, [okBefore, change]);
    assert.equal(r1.status, 'ok');
    assert.equal(r2.status, 'ok', r2.message);
    assert.equal(chain.config.params!.maxTxBytes, 4096);
    assert.equal(
      (chain.query('chain_config', 'get', {}, false).result as any).params.maxTxBytes,
      4096,
    );
    await assert.rejects(fx.client.send(chain, big), { code: 'TX_TOO_LARGE' });
    await chain.close();
  });

  test('set_params gives a chain without one a block gas limit, shown in the config and honoured after activation', async () => {
    const chain = fx.open();
    const configParams = () =>
      (chain.query('chain_config', 'get', {}, false).result as any).params as Record<
        string,
        number
      >;
    assert.equal(chain.config.params!.maxBlockGas, 0n);
    assert.equal('maxBlockGas' in configParams(), false, 'no limit: absent, as before');
    const put = (key: string) =>
      fx.client.send(chain, { contract: 'kv', method: 'put', args: { key, value: 1 } });
    const change = await propose(fx.admin, chain, {
      kind: 'set_params',
      args: { maxBlockGas: 1_000_000 },
    });
    const [r1] = commitReceipts(fx, chain, [change]);
    assert.equal(r1.status, 'ok', r1.message);
    assert.equal(chain.config.params!.maxBlockGas, 1_000_000n);
    assert.equal(configParams().maxBlockGas, 1_000_000);
    // A kv put charges about 2,650 gas: 1,000,000 holds some 377 of them.
    const ids: string[] = [];
    for (let i = 0; i < 400; i++) ids.push(await put(`g${i}`));
    const p = fx.commit(chain, Date.now());
    const gas = p.result.receipts.reduce((n, r) => n + r.gasUsed, 0n);
    assert.ok(p.txs.length > 300 && p.txs.length < 400, `${p.txs.length} txs`);
    assert.ok(gas <= 1_000_000n, `block gas ${gas}`);
    assert.equal(chain.mempool.size, 400 - p.txs.length);
    // Other params changed later leave the limit as it is.
    const other = await propose(fx.admin, chain, {
      kind: 'set_params',
      args: { maxBlockTxs: 900 },
    });
    fx.commit(chain, Date.now());
    assert.equal(chain.getTx(other).receipt.status, 'ok');
    assert.equal(chain.config.params!.maxBlockTxs, 900);
    assert.equal(chain.config.params!.maxBlockGas, 1_000_000n);
    await chain.close();
  });

  test('changed kvWriteRoles and policies are honoured after activation', async () => {
    const chain = fx.open();
    const ids = [
      await propose(fx.admin, chain, { kind: 'set_kv_write_roles', args: { roles: ['admin'] } }),
      await propose(fx.admin, chain, {
        kind: 'set_policy',
        args: { which: 'lifecycle', policy: '2/3' },
      }),
      await fx.client.send(chain, { contract: 'kv', method: 'put', args: { key: 'k', value: 1 } }),
    ];
    const rs = commitReceipts(fx, chain, ids);
    assert.deepEqual(
      rs.map((r) => r.status),
      ['ok', 'ok', 'ok'],
      'the client still writes in the block that changed the roles',
    );
    assert.deepEqual(chain.config.kvWriteRoles, ['admin']);
    assert.equal(chain.config.lifecyclePolicy, '2/3');
    const client = await fx.client.send(chain, {
      contract: 'kv',
      method: 'put',
      args: { key: 'k', value: 2 },
    });
    const admin = await fx.admin.send(chain, {
      contract: 'kv',
      method: 'put',
      args: { key: 'k', value: 3 },
    });
    const [rc, ra] = commitReceipts(fx, chain, [client, admin]);
    assert.equal(rc.code, 'TX_FORBIDDEN');
    assert.equal(ra.status, 'ok');
    assert.equal(chain.query('kv', 'get', { key: 'k' }, false).result, 3);
    const list = chain.query('governance', 'list', { status: 'executed' }, false).result as any[];
    assert.deepEqual(
      list.map((p) => [p.id, p.kind]),
      [
        [1, 'set_kv_write_roles'],
        [2, 'set_policy'],
      ],
    );
    await chain.close();
  });
});

describe('governance (four orgs, MAJORITY)', () => {
  const fx = makeFixture('standard', { orgs: 4 });
  after(() => fx.cleanup());
  const [o1, o2, o3, o4] = fx.orgs;

  test('short of the threshold nothing changes; the 3rd org approval executes', async () => {
    const chain = fx.open();
    assert.equal(chain.config.governancePolicy, 'MAJORITY');
    const p = await propose(o1.admin, chain, {
      kind: 'set_kv_write_roles',
      args: { roles: ['admin'] },
    });
    const [rp] = commitReceipts(fx, chain, [p]);
    assert.equal(rp.status, 'ok', rp.message);
    assert.deepEqual(
      rp.events.map((e) => e.name),
      ['Proposed'],
    );
    assert.equal(proposal(chain, 1).status, 'pending');
    assert.deepEqual(proposal(chain, 1).approvals, ['org1']);

    const ids = [
      await approve(o2.admin, chain, 1),
      await approve(o1.admin, chain, 1), // org1 already approved by proposing
      await approve(o3.client, chain, 1), // a client cannot vote
      await propose(o2.client, chain, { kind: 'set_tx_roles', args: { roles: ['admin'] } }),
      await approve(o2.admin, chain, 1), // org2 twice
      await fx.client.send(chain, { contract: 'kv', method: 'put', args: { key: 'k', value: 1 } }),
    ];
    const rs = commitReceipts(fx, chain, ids);
    assert.equal(rs[0].status, 'ok', rs[0].message);
    assert.equal(rs[1].code, 'ALREADY_VOTED');
    assert.equal(rs[2].code, 'TX_FORBIDDEN');
    assert.equal(rs[3].code, 'TX_FORBIDDEN');
    assert.equal(rs[4].code, 'ALREADY_VOTED');
    assert.equal(rs[5].status, 'ok');
    assert.equal(proposal(chain, 1).status, 'pending', '2 of 4 is not a majority');
    assert.deepEqual(chain.config.kvWriteRoles, ['admin', 'client'], 'nothing changed');

    const third = await approve(o3.admin, chain, 1);
    const [r3] = commitReceipts(fx, chain, [third]);
    assert.equal(r3.status, 'ok', r3.message);
    assert.deepEqual(
      r3.events.map((e) => e.name),
      ['Voted', 'Executed'],
    );
    const done = proposal(chain, 1);
    assert.equal(done.status, 'executed');
    assert.deepEqual(done.approvals, ['org1', 'org2', 'org3']);
    assert.deepEqual(chain.config.kvWriteRoles, ['admin']);

    const late = await approve(o4.admin, chain, 1);
    const client = await o4.client.send(chain, {
      contract: 'kv',
      method: 'put',
      args: { key: 'k', value: 2 },
    });
    const [rl, rc] = commitReceipts(fx, chain, [late, client]);
    assert.equal(rl.code, 'PROPOSAL_CLOSED');
    assert.equal(rc.code, 'TX_FORBIDDEN', 'kvWriteRoles changed for every org');
    await chain.close();
  });

  test('rejections that make the policy unreachable reject the proposal', async () => {
    const chain = fx.open();
    await propose(o1.admin, chain, { kind: 'set_tx_roles', args: { roles: ['admin'] } });
    fx.commit(chain, Date.now());
    const ids = [await reject(o2.admin, chain, 1), await reject(o3.admin, chain, 1)];
    const [a, b] = commitReceipts(fx, chain, ids);
    assert.deepEqual(
      a.events.map((e) => e.name),
      ['Voted'],
    );
    assert.deepEqual(
      b.events.map((e) => e.name),
      ['Voted', 'Rejected'],
    );
    assert.equal(proposal(chain, 1).status, 'rejected');
    assert.deepEqual(proposal(chain, 1).rejections, ['org2', 'org3']);
    assert.deepEqual(chain.config.txRoles, ['admin', 'client', 'common']);
    const [late] = commitReceipts(fx, chain, [await approve(o4.admin, chain, 1)]);
    assert.equal(late.code, 'PROPOSAL_CLOSED');
    await chain.close();
  });

  test('an expired proposal cannot be approved and shows as expired', async () => {
    const chain = fx.open();
    const ids = [
      await propose(o1.admin, chain, {
        kind: 'set_params',
        args: { blockIntervalMs: 500 },
        expiresInBlocks: 1,
      }),
      await propose(o2.admin, chain, {
        kind: 'revoke_cert',
        args: { certHash: 'ab'.repeat(32) },
      }),
    ];
    commitReceipts(fx, chain, ids); // height 1: expiresAt 2 and 101
    assert.equal(proposal(chain, 1).expiresAt, 2);
    assert.equal(proposal(chain, 1).status, 'pending');
    fx.commit(chain, Date.now()); // height 2: the last block that could carry a vote
    assert.equal(proposal(chain, 1).status, 'expired');
    const [r] = commitReceipts(fx, chain, [await approve(o2.admin, chain, 1)]);
    assert.equal(r.code, 'PROPOSAL_EXPIRED');
    assert.equal(chain.config.params!.blockIntervalMs, fx.genesis.params.blockIntervalMs);
    const list = (s?: string) =>
      (chain.query('governance', 'list', s ? { status: s } : {}, false).result as any[]).map(
        (p) => [p.id, p.status],
      );
    assert.deepEqual(list(), [
      [1, 'expired'],
      [2, 'pending'],
    ]);
    assert.deepEqual(list('expired'), [[1, 'expired']]);
    assert.deepEqual(list('pending'), [[2, 'pending']]);
    assert.throws(() => chain.query('governance', 'list', { status: 'old' }, false), {
      code: 'INVALID_ARGS',
    });
    assert.throws(() => chain.query('governance', 'get', { id: 9 }, false), { code: 'NOT_FOUND' });
    await chain.close();
  });
});

describe('governance: contract lifecycle under lifecyclePolicy MAJORITY (four orgs)', () => {
  const fx = makeFixture('standard', { orgs: 4, genesis: { lifecyclePolicy: 'MAJORITY' } });
  after(() => fx.cleanup());
  const [o1, o2, o3] = fx.orgs;
  let code: string;
  before(async () => {
    await initSandbox();
    code = (await buildContract('contracts/counter.ts')).code;
  });
  const counterTx = (chain: Chain) =>
    o2.client.send(chain, { contract: 'counter', method: 'increment', args: { by: 2 } });

  test('a direct deploy is refused; contract_deploy executes on the 3rd approval; freeze by proposal', async () => {
    const chain = fx.open();
    assert.equal(chain.config.lifecyclePolicy, 'MAJORITY');
    const ids = [
      await o1.admin.send(chain, {
        contract: 'contract_manage',
        method: 'deploy',
        args: { name: 'counter', code },
      }),
      await propose(o1.admin, chain, { kind: 'contract_deploy', args: { name: 'counter', code } }),
      await propose(o1.admin, chain, { kind: 'contract_deploy', args: { name: 'Bad-Name', code } }),
      await propose(o1.admin, chain, { kind: 'contract_deploy', args: { name: 'nocode' } }),
      await propose(o1.admin, chain, {
        kind: 'contract_freeze',
        args: { name: 'counter', code },
      }),
    ];
    const [direct, rp, badName, noCode, extra] = commitReceipts(fx, chain, ids);
    assert.equal(direct.code, 'POLICY_NOT_MET');
    assert.match(direct.message, /archi gov propose contract_deploy/);
    assert.equal(rp.status, 'ok', rp.message);
    assert.deepEqual(
      rp.events.map((e) => e.name),
      ['Proposed'],
    );
    assert.equal(badName.code, 'INVALID_ARGS');
    assert.equal(noCode.code, 'INVALID_ARGS');
    assert.equal(extra.code, 'INVALID_ARGS');
    assert.throws(() => chain.query('contract_manage', 'info', { name: 'counter' }, false), {
      code: 'CONTRACT_NOT_FOUND',
    });

    const [r2] = commitReceipts(fx, chain, [await approve(o2.admin, chain, 1)]);
    assert.equal(r2.status, 'ok', r2.message);
    assert.equal(proposal(chain, 1).status, 'pending', '2 of 4 is not a majority');
    const [r3] = commitReceipts(fx, chain, [await approve(o3.admin, chain, 1)]);
    assert.equal(r3.status, 'ok', r3.message);
    assert.deepEqual(
      r3.events.map((e) => [e.contract, e.name]),
      [
        ['governance', 'Voted'],
        ['contract_manage', 'Deployed'],
        ['governance', 'Executed'],
      ],
    );
    assert.equal(proposal(chain, 1).status, 'executed');
    const meta = chain.query('contract_manage', 'info', { name: 'counter' }, false).result as any;
    assert.equal(meta.status, 'active');
    assert.deepEqual(meta.deployer, { org: 'org1', id: o1.admin.address });
    const [call] = commitReceipts(fx, chain, [await counterTx(chain)]);
    assert.equal(call.status, 'ok', call.message);
    assert.equal(call.result, 2);

    const freeze = await propose(o2.admin, chain, {
      kind: 'contract_freeze',
      args: { name: 'counter' },
    });
    const votes = [await approve(o1.admin, chain, 2), await approve(o3.admin, chain, 2)];
    const rs = commitReceipts(fx, chain, [freeze, ...votes]);
    assert.deepEqual(
      rs.map((r) => r.status),
      ['ok', 'ok', 'ok'],
    );
    assert.equal(proposal(chain, 2).status, 'executed');
    assert.equal(
      (chain.query('contract_manage', 'info', { name: 'counter' }, false).result as any).status,
      'frozen',
    );
    await assert.rejects(counterTx(chain), { code: 'CONTRACT_FROZEN' });
    await chain.close();
  });
});
