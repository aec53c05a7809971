/**
 * The README's "Using it" commands, run as written (bash, one line after the other) against
 * `archi up` with no flags, which is what `npm start` runs, in a fresh directory: status
 * with peers connected of total, the kv and tx commands, the token example (the address
 * `id show` prints is the one the chain credits and debits), contracts, `gov propose`
 * saying what happens next, `org new`, validators and bench. `npx` is a shim that runs
 * bin/archi.js as `npx archi` does in the repository (test/cli/newcomer.test.ts checks that
 * the real `npx archi` resolves there).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { outputOf, ReadmeWorkspace, readmeBlocks } from './readme-harness.ts';

/** The README's bench line asks for 20000 txs; a few hundred show the same command works. */
const BENCH_TXS = 300;

let ws: ReadmeWorkspace;
before(() => {
  ws = new ReadmeWorkspace();
});
after(() => ws.close());

test("the README's commands work as written against `archi up`", async () => {
  // As `npm start`, without the web console (newcomer-console.test.ts starts that).
  const started = await ws.startUp(['--no-console']);
  assert.match(started, /^ {2}node4 {2}rpc /m);
  const [block] = readmeBlocks();
  assert.match(block, /^npx archi status/m, 'the first block holds the commands');
  assert.doesNotMatch(block, /^archi /m, 'every command is written as npx archi');
  assert.match(block, /--txs 20000/);
  const outputs = await ws.runBlock(block.replace('--txs 20000', `--txs ${BENCH_TXS}`));
  const of = (fragment: string) => outputOf(outputs, fragment);

  // status: peers as connected of total; everyone answers.
  const status = of('npx archi status');
  for (const n of ['node1', 'node2', 'node3', 'node4']) {
    assert.match(status, new RegExp(`^${n} .* up .* 3/3 +yes$`, 'm'));
  }
  assert.match(status, /^4 of 4 nodes answer$/m);
  assert.match(of('"value":"MA.156.1301.02"'), /^status: ok$/m);
  assert.match(of('--method get --args \'{"key":"city"}\' --prove'), /^verified: true /m);
  assert.match(of('tx get $txid --wait'), /^call: kv\.put\(\{"key":"town","value":"Fez"\}\)$/m);

  // The token example: id show's address is the one the chain gives the sender.
  const shown = of('id show --as org1/client  ');
  const address = /^address +([0-9a-f]{40})$/m.exec(shown)?.[1];
  assert.ok(address, shown);
  assert.match(shown, /^role +client$/m);
  assert.match(shown, /^certificate +valid \(notBefore /m);
  assert.match(of('--method mint'), /^status: ok$/m);
  assert.match(of('--method balanceOf'), /^"1000"$/m);
  // org1/client spends from the balance minted to that address.
  assert.match(of('--method transfer'), /^status: ok$/m);
  const left = await ws.archiJson([
    'query',
    '--contract',
    'token',
    '--method',
    'balanceOf',
    '--args',
    `{"owner":"${address}"}`,
  ]);
  assert.equal(left.result, '750');

  assert.match(of('contract deploy counter'), /^deployed counter v1/m);
  assert.match(of('--method increment'), /^result: 2$/m);

  // gov propose, piped: the id on stdout, what happens next on stderr.
  const proposed = of('gov propose set_kv_write_roles');
  assert.match(
    proposed,
    /^proposal 1: set_kv_write_roles \{"roles":\["admin"\]\} proposed by org1 in block \d+ \(policy MAJORITY: 1 of 4 orgs approved, 3 needed\); open for votes until block \d+\.$/m,
  );
  assert.match(
    proposed,
    /^Others \(org2, org3, org4\) approve with: npx archi gov approve 1 --as ORG\/admin$/m,
  );
  assert.match(proposed, /^1$/m);
  assert.match(
    of('gov approve 1 --as org2/admin'),
    /^approved proposal 1 in block \d+: executed$/m,
  );
  assert.match(of('gov list'), /^1 +set_kv_write_roles +executed /m);
  assert.match(of('org new --name org5'), /^ {2}npx archi gov propose add_org /m);
  assert.match(of('npx archi validators  '), /total power 40/);
  assert.match(of('bench --workload transfer'), new RegExp(`"committed":${BENCH_TXS}`));
});
