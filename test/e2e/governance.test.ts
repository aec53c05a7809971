/**
 * On-chain governance on a 4-organization BFT network through `archi gov` and the SDK:
 * a MAJORITY proposal executes on the third approval and applies from the next block on
 * every validator; only admins vote, once per organization; a revoked client certificate
 * is refused from the block after the revocation.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { getProfile } from '../../src/crypto/profile.ts';
import { ArchiClient } from '../../src/sdk/client.ts';
import { certHash, Governance } from '../../src/sdk/governance.ts';
import { Identity } from '../../src/sdk/identity.ts';
import type { CommittedAnswer } from '../../src/sdk/types.ts';
import { ArchiError } from '../../src/types/errors.ts';
import { archi, archiJson, removeDir, stopAll, tempDir } from './harness.ts';
import { initNetwork, type NetNode, sameChain, startNode, waitHeight } from './network.ts';

let dir: string;
let nodes: NetNode[];
before(async () => {
  dir = tempDir('archi-gov-');
  nodes = await initNetwork(dir, 4);
  await Promise.all(nodes.map(startNode));
});
after(async () => {
  await stopAll();
  removeDir(dir);
});

test('governance proposals change the chain config on all 4 validators', async () => {
  const genesis = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8'));
  const user = (org: string, name: string) =>
    Identity.fromUserDir(genesis.crypto, org, join(dir, 'orgs', org, 'users', name));
  const client1 = user('org1', 'client');
  const client2 = user('org2', 'client');
  const rpc = new ArchiClient(nodes[1].rpc);
  const gov = (args: string[]) => archi(['gov', ...args, '--dir', dir]);
  /** A committed tx's receipt, or the code of the error the node refused it with. */
  const put = async (who: Identity, key: string) => {
    try {
      const a = (await rpc.send(
        who,
        { contract: 'kv', method: 'put', args: { key, value: 1 } },
        { wait: true, timeoutMs: 30_000 },
      )) as CommittedAnswer;
      return { height: a.height, status: a.receipt.status, code: a.receipt.code };
    } catch (e) {
      if (!(e instanceof ArchiError)) throw e;
      return { height: -1, status: 'refused', code: e.code as string };
    }
  };
  const failsWith = (r: { code: number; stdout: string; stderr: string }, code: string) => {
    assert.notEqual(r.code, 0, r.stdout);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(`^error: ${code}: `));
  };

  // Bad input is refused before anything is sent.
  failsWith(await gov(['approve', 'abc', '--as', 'org2/admin']), 'INVALID_ARGS');
  failsWith(
    await gov(['propose', 'set_kv_write_roles', '--args', '{roles', '--as', 'org1/admin']),
    'INVALID_ARGS',
  );

  // org1 proposes; under MAJORITY of 4 orgs it needs 3 approvals.
  const proposed = await gov([
    'propose',
    'set_kv_write_roles',
    '--args',
    '{"roles":["admin"]}',
    '--as',
    'org1/admin',
    '--node',
    'node1',
  ]);
  assert.equal(proposed.code, 0, proposed.stderr);
  const id = Number(proposed.stdout.trim());
  assert.ok(Number.isSafeInteger(id) && id >= 1, proposed.stdout);

  const second = await archiJson([
    'gov',
    'approve',
    String(id),
    '--as',
    'org2/admin',
    '--dir',
    dir,
  ]);
  assert.equal(second.status, 'pending');
  assert.deepEqual(second.approvals, ['org1', 'org2']);
  assert.equal((await put(client1, 'before')).status, 'ok');

  failsWith(await gov(['approve', String(id), '--as', 'org2/admin']), 'ALREADY_VOTED');

  const third = await archiJson([
    'gov',
    'approve',
    String(id),
    '--as',
    'org3/admin',
    '--dir',
    dir,
    '--node',
    'node3',
  ]);
  assert.equal(third.status, 'executed');
  assert.equal(third.closedAt, third.height);

  // From the next block a client may no longer write kv.
  const after1 = await put(client1, 'after');
  assert.equal(after1.code, 'TX_FORBIDDEN', JSON.stringify(after1));
  assert.ok(after1.height > third.height);
  await Promise.all(nodes.map((n) => waitHeight(n, after1.height)));
  await sameChain(nodes, after1.height);

  // Only organization admins propose.
  failsWith(
    await gov(['propose', 'set_tx_roles', '--args', '{"roles":["admin"]}', '--as', 'org2/client']),
    'TX_FORBIDDEN',
  );

  // Revoke org2's client certificate; the contract wants hex of the profile's hash of the DER.
  const der = client2.sender.cert;
  assert.ok(der, 'cert mode identity');
  const hash = certHash(getProfile(genesis.crypto), der);
  const sdk = new Governance(rpc);
  const admin = (org: string) => user(org, 'admin');
  const revoke = await sdk.propose(admin('org1'), 'revoke_cert', { certHash: hash });
  assert.equal(revoke.proposal.status, 'pending');
  assert.equal((await sdk.approve(admin('org2'), revoke.proposal.id)).proposal.status, 'pending');
  const done = await sdk.approve(admin('org4'), revoke.proposal.id);
  assert.equal(done.proposal.status, 'executed');
  assert.deepEqual(done.proposal.approvals, ['org1', 'org2', 'org4']);
  await assert.rejects(sdk.approve(admin('org3'), revoke.proposal.id), {
    code: 'PROPOSAL_CLOSED',
  });

  const refused = await put(client2, 'revoked');
  assert.equal(refused.code, 'CERT_REVOKED', JSON.stringify(refused));

  const list = await archiJson(['gov', 'list', '--dir', dir, '--node', 'node4']);
  assert.deepEqual(
    list.map((p: { id: number; kind: string; status: string }) => [p.id, p.kind, p.status]),
    [
      [id, 'set_kv_write_roles', 'executed'],
      [revoke.proposal.id, 'revoke_cert', 'executed'],
    ],
  );
  const executed = await archiJson(['gov', 'list', '--status', 'executed', '--dir', dir]);
  assert.equal(executed.length, 2);
  const shown = await gov(['show', String(revoke.proposal.id)]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /status: executed/);
  assert.match(shown.stdout, new RegExp(`certHash":"${hash}`));
});
