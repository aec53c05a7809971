/**
 * A node made by `archi org new` on the next `archi up` (what `npm start` runs): it waits
 * for admission and says so (up's endpoint list, its log, `archi status`), the README's
 * admission vote, run as written, makes it a member and it syncs; then `archi status` with
 * a dead node shows peers connected of total and names the node that does not answer, and
 * exits non-zero once no node answers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initNetwork } from '../../src/cli/init-network.ts';
import { newOrg } from '../../src/cli/org-new.ts';
import { ArchiClient } from '../../src/sdk/client.ts';
import { Governance } from '../../src/sdk/governance.ts';
import { Identity } from '../../src/sdk/identity.ts';
import { outputOf, ReadmeWorkspace, readmeBlocks } from './readme-harness.ts';

const WAITING =
  'waiting for admission: this node is not yet a member of chain archipelago-local; a governance vote must admit org5/node5 (see docs/GOVERNANCE.md)';

let ws: ReadmeWorkspace;
before(() => {
  ws = new ReadmeWorkspace();
});
after(() => ws.close());

test('node5 waits for admission, the README vote admits it; status with dead and no nodes', async () => {
  // The network `npm start` makes, and org5 from `org new` before the next start. (The
  // README's own first block, which ends with `org new`, runs in newcomer-readme.test.ts.)
  const dir = ws.networkDir;
  await initNetwork({ dir, orgs: 4, chain: 'archipelago-local', consensus: 'tbft' });
  await newOrg({ dir, name: 'org5' });

  // As `npm start`, without the web console (newcomer-console.test.ts starts that).
  const started = await ws.startUp(['--no-console']);
  assert.match(started, /^ {2}node5 {2}rpc \S+ {2}pid \d+ {2}waiting for admission$/m);
  assert.match(started, /^ {2}node1 {2}rpc \S+ {2}pid \d+$/m);
  assert.ok(started.split('\n').includes(WAITING), started);
  const pid = (name: string) =>
    Number(new RegExp(`^ {2}${name} {2}rpc \\S+ {2}pid (\\d+)`, 'm').exec(started)?.[1]);
  const rpc = (name: string) =>
    new RegExp(`^ {2}${name} {2}rpc (\\S+)`, 'm').exec(started)?.[1] ?? '';
  const log5 = () => readFileSync(join(dir, 'nodes', 'node5', 'node.log'), 'utf8');
  assert.ok(log5().includes(`"msg":"${WAITING}"`), log5());

  const waiting = await ws.sh('npx archi status');
  assert.equal(waiting.code, 0, waiting.out);
  assert.match(waiting.out, /^node5 .* waiting for admission +0 .* 0\/4 +no$/m);
  assert.ok(
    waiting.out.includes(
      `node5 is waiting for admission: not yet a member of chain archipelago-local; a governance vote must admit org5/node5`,
    ),
    waiting.out,
  );
  assert.match(waiting.out, /^node1 .* up .* 3\/4 +yes$/m);

  // Proposal 1 as the README's first block makes it (the kv change), through the SDK.
  const admin = (org: string) =>
    Identity.fromUserDir('standard', org, join(dir, 'orgs', org, 'users', 'admin'));
  const gov = new Governance(new ArchiClient(rpc('node1')));
  const first = await gov.propose(admin('org1'), 'set_kv_write_roles', { roles: ['admin'] });
  assert.equal(first.proposal.id, 1);

  const vote = readmeBlocks().find((b) => b.includes('gov propose add_org'));
  assert.ok(vote, 'the README shows the admission vote');
  const outputs = await ws.runBlock(vote);
  assert.match(outputOf(outputs, 'gov propose add_org'), /^2$/m);
  assert.match(outputOf(outputs, 'gov approve 2 '), /: executed$/m);
  assert.match(outputOf(outputs, 'gov propose add_node'), /^3$/m);
  assert.match(outputOf(outputs, 'gov approve 3 '), /: executed$/m);

  // node5 is accepted, syncs past the block that admitted it, and says so once.
  const node5 = new ArchiClient(rpc('node5'));
  const node1 = new ArchiClient(rpc('node1'));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const [s5, s1] = await Promise.all([node5.status(), node1.status()]);
    if (s5.admission === 'member' && s5.height >= s1.height - 2) break;
    assert.ok(
      Date.now() < deadline,
      `node5 at ${s5.height} (${s5.admission}), node1 at ${s1.height}`,
    );
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.match(log5(), /"msg":"admitted: org5\/node5 is a member of chain archipelago-local"/);

  // node3 dies: the others count 3 of 4 links, status names it; exit 0 while some answer.
  process.kill(pid('node3'), 'SIGKILL');
  const gone = Date.now() + 30_000;
  while (
    ((await node1.status()).peers as Array<{ connected: boolean }>).filter((p) => p.connected)
      .length > 3
  ) {
    assert.ok(Date.now() < gone, 'node1 notices the lost link');
    await new Promise((r) => setTimeout(r, 250));
  }
  const dead = await ws.sh('npx archi status');
  assert.equal(dead.code, 0, dead.out);
  assert.match(dead.out, /^node3 +\S+ +DOWN /m);
  for (const n of ['node1', 'node2', 'node4', 'node5']) {
    assert.match(dead.out, new RegExp(`^${n} .* up .* 3/4 +yes$`, 'm'));
  }
  assert.match(dead.out, /^node3 does not answer: .*ECONNREFUSED/m);
  assert.match(dead.out, /^4 of 5 nodes answer$/m);
  assert.doesNotMatch(dead.out, /has no link|waiting for admission/);

  await ws.stopUp();
  const none = await ws.sh('npx archi status');
  assert.notEqual(none.code, 0);
  assert.match(none.out, /^0 of 5 nodes answer$/m);
  assert.match(
    none.out,
    /^error: NOT_READY: no node of .*\.archipelago answers; is the network up\? \(start it with "npx archi up"\)$/m,
  );
});
