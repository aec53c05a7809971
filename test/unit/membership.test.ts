/**
 * Membership governance on an in-process tbft chain: organizations and nodes change from the
 * next block, validator power from two blocks after the executing block.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Chain } from '../../src/chain/chain.ts';
import { CommitSchema, create } from '../../src/codec/index.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import { createTlsCa } from '../../src/p2p/tls-certs.ts';
import { GOVERNANCE_KINDS } from '../../src/sdk/governance.ts';
import { buildChain } from '../../src/node/build-chain.ts';
import { ChainStore } from '../../src/storage/chain-store.ts';
import { validateGenesis } from '../../src/types/genesis.ts';
import { hex } from '../../src/types/hex.ts';
import { buildTx } from '../../src/types/tx.ts';
import { PROPOSAL_KINDS } from '../../src/vm/native/governance.ts';
import { makeFixture, makeOrg, type Member } from './chain-fixture.ts';

const profile = getProfile('standard');
const nodeKeys = Array.from({ length: 6 }, () => profile.generateKeyPair());
const validators = [1, 2, 3, 4].map((i) => ({
  name: `node${i}`,
  org: `org${i}`,
  publicKey: hex(nodeKeys[i - 1].publicKey),
  power: 10,
}));

const fx = makeFixture('standard', { orgs: 4, genesis: { consensus: 'tbft', validators } });
after(() => fx.cleanup());
const admins = fx.orgs.map((o) => o.admin);

/** Propose as org1 and approve as org2 and org3 (MAJORITY of four), all in one block. */
async function pass(chain: Chain, kind: string, args: unknown): Promise<number> {
  const ids = [await send(admins[0], chain, 'propose', { kind, args })];
  const before = (chain.query('governance', 'list', {}, false).result as unknown[]).length;
  const id = before + 1;
  ids.push(await send(admins[1], chain, 'approve', { id }));
  ids.push(await send(admins[2], chain, 'approve', { id }));
  const block = fx.commit(chain, Date.now());
  assert.equal(
    block.result.configChanged,
    chain.config,
    'the chain takes the config the block stored',
  );
  for (const t of ids) {
    const r = chain.getTx(t).receipt;
    assert.equal(r.status, 'ok', `${kind}: ${r.code} ${r.message}`);
  }
  const p = chain.query('governance', 'get', { id }, false).result as { status: string };
  assert.equal(p.status, 'executed');
  return chain.height;
}

function send(m: Member, chain: Chain, method: string, args: unknown): Promise<string> {
  return m.send(chain, { contract: 'governance', method, args });
}

/** Propose as org1 and return the receipt (the tx is committed in its own block). */
async function proposeReceipt(chain: Chain, kind: string, args: unknown) {
  const id = await send(admins[0], chain, 'propose', { kind, args });
  fx.commit(chain, Date.now());
  return chain.getTx(id).receipt;
}

const names = (chain: Chain, h: number) => chain.validatorsAt(h).map((v) => v.name);

describe('membership governance (four orgs, tbft, MAJORITY)', () => {
  const org5 = makeOrg(profile, 'org5');
  const tls5 = createTlsCa('org5');
  const addOrg = { id: 'org5', caCert: org5.caCertPem, tlsCaCert: tls5.certPem };
  const node5 = {
    name: 'node5',
    org: 'org5',
    publicKey: hex(nodeKeys[4].publicKey),
    address: '127.0.0.1:7005',
    power: 10,
  };

  test('bad membership proposals are refused at propose time and change nothing', async () => {
    const chain = fx.open();
    const gmCa = makeOrg(getProfile('gm'), 'org5').caCertPem;
    const cases: Array<[string, unknown, RegExp]> = [
      ['add_org', { ...addOrg, id: 'org1' }, /already a member/],
      ['add_org', { ...addOrg, caCert: fx.orgs[0].caCertPem }, /names organization "org1"/],
      ['add_org', { ...addOrg, caCert: gmCa }, /not a self-signed standard CA/],
      ['add_org', { ...addOrg, caCert: 'garbage' }, /not a readable certificate/],
      ['add_org', { id: 'org5', caCert: org5.caCertPem }, /tlsCaCert must be a PEM/],
      ['add_org', { ...addOrg, tlsCaCert: createTlsCa('org6').certPem }, /names organization/],
      ['add_org', { ...addOrg, colour: 'red' }, /unknown field "colour"/],
      ['add_node', { ...node5 }, /org5 is not a member organization/],
      ['add_node', { ...node5, org: 'org1', name: 'node1' }, /already a member/],
      ['add_node', { ...node5, org: 'org1', publicKey: validators[0].publicKey }, /publicKey/],
      ['add_node', { ...node5, org: 'org1', publicKey: '04ab' }, /65-byte/],
      ['add_node', { ...node5, org: 'org1', publicKey: `04${'11'.repeat(64)}` }, /not a point/],
      ['add_node', { ...node5, org: 'org1', address: 'nowhere' }, /host:port/],
      ['add_node', { ...node5, org: 'org1', power: -1 }, /power must be an integer/],
      ['remove_org', { id: 'org1' }, /still has nodes \(node1\)/],
      ['remove_org', { id: 'org9' }, /not a member organization/],
      ['remove_node', { name: 'node9' }, /not a member node/],
      ['set_validator_power', { name: 'node1', power: 10 }, /already has power 10/],
      ['set_validator_power', { name: 'node9', power: 1 }, /add_node first/],
    ];
    for (const [kind, args, why] of cases) {
      const r = await proposeReceipt(chain, kind, args);
      assert.equal(r.code, 'INVALID_ARGS', `${kind} ${JSON.stringify(args)}: ${r.message}`);
      assert.match(r.message, why);
    }
    assert.deepEqual(chain.query('governance', 'list', {}, false).result, []);
    assert.deepEqual(names(chain, chain.height + 1), ['node1', 'node2', 'node3', 'node4']);
    await chain.close();
  });

  test('org5 joins, node5 becomes a validator at H+2, node2 leaves at H+2, org2 is removed', async () => {
    const chain = fx.open();
    assert.equal(chain.config.orgs[0].tlsCaCert.length, 0);

    // An organization's members can send from the block after the one that admits it.
    const refused = await org5.admin.send(chain, { contract: 'kv', method: 'get', args: {} }).then(
      () => 'admitted',
      (e: { code: string }) => e.code,
    );
    assert.equal(refused, 'TX_UNKNOWN_SENDER');
    await pass(chain, 'add_org', addOrg);
    assert.deepEqual(
      chain.config.orgs.map((o) => o.id),
      ['org1', 'org2', 'org3', 'org4', 'org5'],
    );
    assert.equal(chain.config.orgs[4].tlsCaCert.length > 0, true);
    await org5.admin.send(chain, { contract: 'kv', method: 'put', args: { key: 'k', value: 5 } });
    fx.commit(chain, Date.now());

    // node5 with power 10: a member node at once, a validator from H+2.
    const h = await pass(chain, 'add_node', node5);
    assert.equal(chain.config.nodes.at(-1)?.address, '127.0.0.1:7005');
    assert.deepEqual(
      chain.config.pendingValidators.map((u) => Number(u.height)),
      [h + 2],
    );
    assert.deepEqual(names(chain, h + 1), ['node1', 'node2', 'node3', 'node4']);
    const hashBefore = chain.getBlock(h).header.validatorsHash;
    const promoting = fx.commit(chain, Date.now()); // h + 1: still the old set; the new one is stored at its end
    assert.deepEqual(
      promoting.result.validatorsChanged?.map((v) => v.name),
      ['node1', 'node2', 'node3', 'node4', 'node5'],
    );
    assert.equal(chain.getBlock(h + 1).header.validatorsHash, hashBefore);
    assert.deepEqual(names(chain, h + 2), ['node1', 'node2', 'node3', 'node4', 'node5']);
    // Each header names the next height's set: h's the old one, h + 1's the new one.
    const setHash = (i: number) => hex(chain.hashValidators(chain.validatorsAt(i)));
    assert.equal(chain.getBlock(h).header.nextValidatorsHash, setHash(h + 1));
    assert.equal(chain.getBlock(h + 1).header.nextValidatorsHash, setHash(h + 2));
    assert.notEqual(setHash(h + 1), setHash(h + 2));
    assert.equal(chain.config.pendingValidators.length, 0);
    const first = fx.commit(chain, Date.now()); // h + 2: the first block of the new set
    assert.equal(first.result.configChanged, undefined);
    assert.equal(first.result.validatorsChanged, undefined);
    assert.notEqual(chain.getBlock(h + 2).header.validatorsHash, hashBefore);
    assert.equal(
      chain.getBlock(h + 2).header.validatorsHash,
      hex(chain.hashValidators(chain.validatorsAt(h + 2))),
    );
    // Past heights keep their sets.
    assert.deepEqual(names(chain, h), ['node1', 'node2', 'node3', 'node4']);

    // Two changes in consecutive blocks queue up; each applies two blocks after its own.
    const h1 = await pass(chain, 'set_validator_power', { name: 'node2', power: 0 });
    const h2 = await pass(chain, 'set_validator_power', { name: 'node3', power: 30 });
    assert.equal(h2, h1 + 1);
    // The first was promoted at the end of h2 (= h1 + 1); the second still waits.
    assert.deepEqual(
      chain.config.pendingValidators.map((u) => Number(u.height)),
      [h2 + 2],
    );
    assert.deepEqual(names(chain, h1 + 2), ['node1', 'node3', 'node4', 'node5']);
    fx.commit(chain, Date.now());
    fx.commit(chain, Date.now());
    const powers = chain.validatorsAt(h2 + 2).map((v) => [v.name, Number(v.power)]);
    assert.deepEqual(powers, [
      ['node1', 10],
      ['node3', 30],
      ['node4', 10],
      ['node5', 10],
    ]);

    // org2 still has node2 (a member, no longer a validator): remove it, then the org.
    const r = await proposeReceipt(chain, 'remove_org', { id: 'org2' });
    assert.match(r.message, /still has nodes \(node2\)/);
    await pass(chain, 'remove_node', { name: 'node2' });
    await pass(chain, 'remove_org', { id: 'org2' });
    assert.deepEqual(
      chain.config.orgs.map((o) => o.id),
      ['org1', 'org3', 'org4', 'org5'],
    );
    const gone = await fx.orgs[1].admin
      .send(chain, { contract: 'kv', method: 'get', args: {} })
      .then(
        () => 'admitted',
        (e: { code: string }) => e.code,
      );
    assert.equal(gone, 'TX_UNKNOWN_SENDER');
    await chain.close();
  });
});

test('a solo chain refuses validator changes but takes non-validator nodes', async () => {
  const solo = makeFixture('standard');
  try {
    const chain = solo.open();
    const add = async (power: number) => {
      const id = await solo.admin.send(chain, {
        contract: 'governance',
        method: 'propose',
        args: {
          kind: 'add_node',
          args: { name: 'full1', org: 'org1', publicKey: hex(nodeKeys[5].publicKey), power },
        },
      });
      solo.commit(chain, Date.now());
      return chain.getTx(id).receipt;
    };
    const r = await add(5);
    assert.equal(r.code, 'INVALID_ARGS');
    assert.match(r.message, /solo chain/);
    assert.equal((await add(0)).status, 'ok');
    assert.deepEqual(
      chain.config.nodes.map((n) => n.name),
      ['node1', 'full1'],
    );
    await chain.close();
  } finally {
    await solo.cleanup();
  }
});

test('the SDK knows every proposal kind the contract takes', () => {
  assert.deepEqual([...GOVERNANCE_KINDS].sort(), [...PROPOSAL_KINDS].sort());
});

test('key mode: add_org registers the new org keys; its admin can vote from the next block', async () => {
  const gm = getProfile('gm');
  const key = () => {
    const kp = gm.generateKeyPair();
    return { signer: gm.signerFromPem(kp.privateKeyPem), publicKey: kp.publicKey };
  };
  const admin1 = key();
  const admin2 = key();
  const node = key();
  const dir = mkdtempSync(join(tmpdir(), 'archi-unit-'));
  const genesis = validateGenesis({
    chainId: 'unit',
    genesisTime: 1_700_000_000_000,
    crypto: 'gm',
    identityMode: 'key',
    consensus: 'tbft',
    orgs: [
      { id: 'org1', keys: [{ name: 'admin', role: 'admin', publicKey: hex(admin1.publicKey) }] },
    ],
    validators: [{ name: 'node1', org: 'org1', publicKey: hex(node.publicKey), power: 1 }],
    governancePolicy: 'ANY',
  });
  const chain = buildChain({ profile: gm, store: ChainStore.open(dir), genesis });
  const send = (k: ReturnType<typeof key>, org: string, method: string, args: unknown) =>
    chain.submitTx(
      buildTx(gm, k.signer, {
        chainId: 'unit',
        sender: { org, publicKey: k.publicKey },
        contract: 'governance',
        method,
        args,
        timestamp: Date.now(),
      }).bytes,
    );
  const commit = () => {
    const p = chain.proposeBlock(Date.now(), new Uint8Array(20));
    chain.commitBlock(
      p,
      create(CommitSchema, { height: BigInt(p.height), blockHash: p.blockHash }),
    );
  };
  try {
    const keys = [{ name: 'admin', role: 'admin', publicKey: hex(admin2.publicKey) }];
    const tlsCaCert = createTlsCa('org2').certPem;
    // Key mode needs keys; on tbft a TLS CA; the caCert stays optional.
    const bad = await send(admin1, 'org1', 'propose', {
      kind: 'add_org',
      args: { id: 'org2', tlsCaCert },
    });
    commit();
    assert.match(chain.getTx(bad).receipt.message, /keys must be a list/);
    const ok = await send(admin1, 'org1', 'propose', {
      kind: 'add_org',
      args: { id: 'org2', tlsCaCert, keys },
    });
    commit();
    assert.equal(chain.getTx(ok).receipt.status, 'ok', chain.getTx(ok).receipt.message);
    assert.deepEqual(
      chain.config.orgs[1].keys.map((k) => [k.name, k.role, hex(k.publicKey)]),
      [['admin', 'admin', hex(admin2.publicKey)]],
    );
    const vote = await send(admin2, 'org2', 'propose', {
      kind: 'set_params',
      args: { maxBlockTxs: 7 },
    });
    commit();
    assert.equal(chain.getTx(vote).receipt.status, 'ok', chain.getTx(vote).receipt.message);
    assert.equal(chain.config.params?.maxBlockTxs, 7);
  } finally {
    await chain.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
