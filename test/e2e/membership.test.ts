/**
 * Membership by governance on real node processes, under a steady tx load: a 4-org network
 * admits org5 (`archi org new` + add_org) and makes node5 a validator by MAJORITY; node5
 * syncs and then signs commits from the activation height; later node2 loses its power, is
 * removed (the others drop its connections), org2 is removed, and the chain goes on. A node
 * restarted with a node.json that predates org5 learns its CA and node5's address on chain.
 * Every node reports the same validator set for each height (matching the header), no fork,
 * every load tx committed. Then a lower block-size limit is
 * honoured from its activation height, and an expired proposal cannot be approved.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { address, getProfile } from '../../src/crypto/profile.ts';
import { ArchiClient } from '../../src/sdk/client.ts';
import { Governance, type GovernanceKind } from '../../src/sdk/governance.ts';
import { Identity } from '../../src/sdk/identity.ts';
import { LightClient } from '../../src/sdk/light-client.ts';
import type { CommittedAnswer } from '../../src/sdk/types.ts';
import { unhex } from '../../src/types/hex.ts';
import { archi, archiJson, removeDir, stopAll, tempDir } from './harness.ts';
import {
  block,
  crash,
  initNetwork,
  logLines,
  logMark,
  type NetNode,
  sameChain,
  startNode,
  status,
  waitHeight,
  waitUntil,
} from './network.ts';

let dir: string;
let nodes: NetNode[];
before(async () => {
  dir = tempDir('archi-members-');
  nodes = await initNetwork(dir, 4);
  await Promise.all(nodes.map(startNode));
});
after(async () => {
  await stopAll();
  removeDir(dir);
});

const profile = getProfile('standard');
const user = (org: string, name: string) =>
  Identity.fromUserDir('standard', org, join(dir, 'orgs', org, 'users', name));

/** Sends kv puts through the given nodes, a few at a time, until stopped. */
function startLoad(targets: () => NetNode[]) {
  const client = user('org1', 'client');
  const results: Array<{ txId: string; height: number; status: string }> = [];
  const errors: string[] = [];
  let running = true;
  let n = 0;
  const worker = async (w: number) => {
    while (running) {
      const list = targets();
      const rpc = new ArchiClient(list[n++ % list.length].rpc);
      try {
        const a = (await rpc.send(
          client,
          { contract: 'kv', method: 'put', args: { key: `load-${w}-${n}`, value: n } },
          { wait: true, timeoutMs: 30_000 },
        )) as CommittedAnswer;
        results.push({ txId: a.txId, height: a.height, status: a.receipt.status });
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  };
  const workers = [0, 1, 2, 3].map(worker);
  return {
    results,
    errors,
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

/** Addresses of the validators whose signatures a block's commit carries. */
async function signers(n: NetNode, h: number): Promise<string[]> {
  const b = await block(n, h);
  return (b.commit?.signatures ?? []).map((s: { validator: string }) => s.validator);
}

test('org5 joins and node5 validates; node2 leaves; same validator sets everywhere, no fork', async () => {
  const load = startLoad(() => [nodes[0], nodes[3]]);
  const admin = (org: string) => user(org, 'admin');
  const gov = new Governance(new ArchiClient(nodes[0].rpc));
  /** Propose as org1, approve as the given orgs; returns the executing height. */
  const pass = async (kind: GovernanceKind, args: Record<string, unknown>, approvers: string[]) => {
    const p = await gov.propose(admin('org1'), kind, args);
    let last = p;
    for (const org of approvers) last = await gov.approve(admin(org), p.proposal.id);
    assert.equal(last.proposal.status, 'executed', `${kind}: ${JSON.stringify(last.proposal)}`);
    return last.height;
  };

  // The new organization is made outside the network; nothing on chain changes yet.
  // node3's node.json as it was before org5 existed: the chain alone must teach it the rest.
  const node3Json = readFileSync(nodes[2].config, 'utf8');
  const made = await archiJson(['org', 'new', '--dir', dir, '--name', 'org5', '--json']);
  assert.notEqual(readFileSync(nodes[2].config, 'utf8'), node3Json);
  assert.equal(made.org, 'org5');
  const node5: NetNode = {
    name: made.node,
    rpc: made.rpc,
    p2p: made.p2p,
    config: join(dir, 'nodes', made.node, 'node.json'),
  };
  const [addOrg, addNode] = made.proposals;
  assert.equal(addOrg.kind, 'add_org');
  assert.equal(addNode.kind, 'add_node');
  // node5 starts before it is a member: it dials every member (its node.json lists them), and
  // each refuses the TLS handshake, as no member trusts org5's TLS CA yet. Every member must
  // have refused it twice (a dial and a redial), and then node5 has no peer and no block.
  const marks = nodes.map(logMark);
  await startNode(node5);
  const certRefusals = (n: NetNode, i: number) =>
    logLines(n, 'p2p: inbound handshake failed', marks[i]).filter(
      (l) => typeof l.reason === 'string',
    ).length;
  await waitUntil(
    () => nodes.every((n, i) => certRefusals(n, i) >= 2),
    'every member to refuse node5 twice',
  );
  const s5 = await status(node5);
  assert.equal(s5.height, 0);
  assert.ok(
    s5.peers.length === 4 && s5.peers.every((p: { connected: boolean }) => !p.connected),
    JSON.stringify(s5.peers),
  );
  for (const n of nodes) {
    const peers = (await status(n)).peers as Array<{ name: string; connected: boolean }>;
    assert.ok(!peers.some((p) => p.name === node5.name && p.connected), `${n.name} took node5 in`);
  }

  // Two approvals short of MAJORITY change nothing.
  // add_org through the CLI, its PEM-laden args read from the file `org new` wrote.
  const p = await archiJson([
    'gov',
    'propose',
    'add_org',
    '--args',
    `@${join(dir, 'orgs', 'org5', 'add_org.json')}`,
    '--as',
    'org1/admin',
    '--dir',
    dir,
    '--json',
  ]);
  assert.deepEqual(p.args, addOrg.args);
  await gov.approve(admin('org2'), p.id);
  assert.equal((await new ArchiClient(nodes[3].rpc).config()).orgs.length, 4);
  const orgAdded = (await gov.approve(admin('org3'), p.id)).height;
  assert.ok(orgAdded > 0);

  // MAJORITY of five now takes three approvals.
  const h = await pass('add_node', addNode.args, ['org2', 'org5']);
  for (const n of nodes) {
    const cfg = await new ArchiClient(n.rpc).config();
    await waitHeight(n, h);
    assert.deepEqual(
      cfg.pendingValidators.map((u) => u.height),
      cfg.pendingValidators.length ? [h + 2] : [],
    );
  }
  const v5 = address(profile, unhex(addNode.args.publicKey));
  await waitHeight(node5, h + 4, 60_000);
  const set = await new ArchiClient(node5.rpc).validators(h + 2);
  assert.deepEqual(
    set.validators.map((v) => v.name),
    ['node1', 'node2', 'node3', 'node4', 'node5'],
  );
  assert.equal((await new ArchiClient(node5.rpc).validators(h + 1)).validators.length, 4);
  assert.equal((await status(node5)).validator, true);
  // No commit before the activation height carries node5; one soon after does.
  assert.ok(!(await signers(nodes[0], h + 1)).includes(v5));
  let signed = 0;
  for (let i = h + 2; i <= h + 12 && !signed; i++) {
    await waitHeight(nodes[0], i + 1);
    if ((await signers(nodes[0], i)).includes(v5)) signed = i;
  }
  assert.ok(signed > 0, 'node5 signed a commit within 10 blocks of its activation');

  // node3 restarts with its old node.json (no org5 TLS CA, no node5 peer): it trusts and
  // dials node5 from the chain config and keeps up.
  await crash(nodes[2]);
  writeFileSync(nodes[2].config, node3Json);
  await startNode(nodes[2]);
  const now = (await status(nodes[0])).height;
  await waitHeight(nodes[2], now + 2);
  const deadline = Date.now() + 15_000;
  let peer5: { connected: boolean } | undefined;
  while (!peer5?.connected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    peer5 = (await status(nodes[2])).peers.find((p: { name: string }) => p.name === node5.name);
  }
  assert.equal(peer5?.connected, true, 'restarted node3 connects to node5');

  // node2 loses its power two blocks after the executing block, then is stopped.
  const h2 = await pass('set_validator_power', { name: 'node2', power: 0 }, ['org3', 'org5']);
  const rest = [nodes[0], nodes[2], nodes[3], node5];
  await Promise.all(rest.map((n) => waitHeight(n, h2 + 3)));
  const client5 = new ArchiClient(node5.rpc);
  assert.ok((await client5.validators(h2 + 1)).validators.some((v) => v.name === 'node2'));
  assert.deepEqual(
    (await client5.validators(h2 + 2)).validators.map((v) => v.name),
    ['node1', 'node3', 'node4', 'node5'],
  );
  const cli = await archiJson([
    'validators',
    String(h2 + 1),
    '--dir',
    dir,
    '--node',
    'node1',
    '--json',
  ]);
  assert.equal(cli.totalPower, 50);
  assert.equal(cli.hash, (await block(nodes[0], h2 + 1)).header.validatorsHash);
  const text = await archi(['validators', '--dir', dir, '--node', 'node1']);
  assert.match(text.stdout, /total power 40\n {2}node1 +org1 +power 10/);
  const bad = await archi(['validators', 'latest', '--dir', dir]);
  assert.match(bad.stderr, /^error: INVALID_ARGS: /);
  // Removing node2 as a member makes every other node drop it: it stops following the chain.
  const h4 = await pass('remove_node', { name: 'node2' }, ['org3', 'org4']);
  await Promise.all(rest.map((n) => waitHeight(n, h4 + 3)));
  const dropped = await status(nodes[1]);
  assert.ok(
    dropped.peers.every((p: { connected: boolean }) => !p.connected),
    JSON.stringify(dropped.peers),
  );
  await Promise.all(rest.map((n) => waitHeight(n, h4 + 6)));
  // Each member drops node2 as it commits h4, before it starts h4 + 1, so node2 can never
  // receive a message of h4 + 1 or later: the block that removed it is the last it can hold.
  const final = (await status(nodes[1])).height;
  assert.ok(final <= h4 && final >= dropped.height, `node2 at ${final}, removed at ${h4}`);
  // Without nodes, org2 can be removed; its admin is refused from the next block.
  await pass('remove_org', { id: 'org2' }, ['org3', 'org4']);
  await assert.rejects(gov.propose(admin('org2'), 'set_params', { maxBlockTxs: 5 }), {
    code: 'TX_UNKNOWN_SENDER',
  });
  await crash(nodes[1]);
  const stoppedAt = Math.max(
    ...(await Promise.all(rest.map(async (n) => (await status(n)).height))),
  );
  await Promise.all(rest.map((n) => waitHeight(n, stoppedAt + 5, 60_000)));
  await load.stop();

  // Every tx of the load committed, and all nodes agree on blocks and validator sets.
  assert.ok(load.results.length > 20, `load committed ${load.results.length} txs`);
  assert.deepEqual(load.errors, []);
  assert.ok(load.results.every((r) => r.status === 'ok'));
  const top = Math.min(...(await Promise.all(rest.map(async (n) => (await status(n)).height))));
  await sameChain(rest, top);
  for (let i = 1; i <= top; i++) {
    const sets = await Promise.all(rest.map((n) => new ArchiClient(n.rpc).validators(i)));
    const header = (await block(rest[0], i)).header;
    for (const s of sets) {
      assert.equal(s.hash, sets[0].hash, `validator sets differ at height ${i}`);
      assert.equal(s.hash, header.validatorsHash, `height ${i}: set does not match the header`);
    }
  }
  const hashes = new Set<string>();
  for (let i = 1; i <= top; i++) hashes.add((await block(rest[0], i)).header.validatorsHash);
  assert.equal(hashes.size, 3, 'three validator sets over the run');

  // A lower block-size limit holds from the block after the one that executes it.
  const h3 = await pass('set_params', { maxBlockTxs: 3 }, ['org3', 'org4']);
  const burst = user('org3', 'client');
  const rpc = new ArchiClient(nodes[2].rpc);
  const sent = await Promise.all(
    Array.from(
      { length: 24 },
      (_, i) =>
        rpc.send(
          burst,
          { contract: 'kv', method: 'put', args: { key: `b${i}`, value: i } },
          {
            wait: true,
            timeoutMs: 60_000,
          },
        ) as Promise<CommittedAnswer>,
    ),
  );
  const last = Math.max(...sent.map((s) => s.height));
  assert.ok(sent.every((s) => s.height > h3));
  for (let i = h3 + 1; i <= last; i++) {
    assert.ok((await block(nodes[2], i)).txs.length <= 3, `block ${i} holds more than 3 txs`);
  }

  // A light client trusting only the genesis validators follows the three sets and checks a
  // state proof through node5; a node lying about a validator set is caught.
  const genesis = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8'));
  const source = new ArchiClient(node5.rpc);
  let fetched = 0;
  const counting = {
    getBlock: (h: number) => {
      fetched++;
      return source.getBlock(h);
    },
    validators: (h: number) => source.validators(h),
  };
  const light = new LightClient(profile, genesis.chainId, {
    height: 1,
    validators: genesis.validators,
  });
  const state = await source.getState('kv', 'b0');
  const verified = await light.verifyState(counting, state, 'kv/b0');
  assert.equal(verified.height, state.height);
  assert.ok(state.value !== null);
  assert.ok(fetched >= h2 + 2, `walked the headers across the changes (${fetched} fetched)`);
  // No change since: the next height is reached by skipping, with one block fetched.
  await waitHeight(node5, state.height + 3);
  fetched = 0;
  await light.verifyBlock(counting, state.height + 3);
  assert.equal(fetched, 1);
  const liar = {
    getBlock: (h: number) => source.getBlock(h),
    validators: async (h: number) => ({
      ...(await source.validators(h)),
      validators: genesis.validators,
    }),
  };
  const fooled = new LightClient(profile, genesis.chainId, {
    height: 1,
    validators: genesis.validators,
  });
  await assert.rejects(fooled.verifyState(liar, state, 'kv/b0'), {
    code: 'PROOF_INVALID',
    message: /validator set for height \d+ is not the one block \d+ names/,
  });

  // An expired proposal cannot be approved.
  const short = await archiJson([
    'gov',
    'propose',
    'set_kv_write_roles',
    '--args',
    '{"roles":["admin"]}',
    '--expires',
    '1',
    '--as',
    'org1/admin',
    '--node',
    'node1',
    '--dir',
    dir,
    '--json',
  ]);
  await waitHeight(nodes[0], short.height + 2);
  await assert.rejects(gov.approve(admin('org3'), short.id), { code: 'PROPOSAL_EXPIRED' });
  assert.equal((await gov.get(short.id)).status, 'expired');
  assert.deepEqual((await rpc.config()).kvWriteRoles, ['admin', 'client']);
});
