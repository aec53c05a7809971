/**
 * The EVM bridge end to end, as an operator runs it: one 4-node network (`archi init` +
 * `archi up`) and one real Hardhat node, everything through the CLI. `archi evm deploy` puts
 * the light client and the bridge on the EVM and makes the attested client by governance;
 * validators run `archi evm attest`, relayers `archi relay start --evm`; tokens go with
 * `archi bridge to-evm` / `from-evm` and both sides are read with `archi bridge status`.
 * Checked on the chains themselves: ERC-20 balances and supply, Archipelago's escrow and
 * balances, one `Minted` per packet whatever the relayers did, a deposit attested by less than
 * 2/3 of the power releasing nothing, the light client following a validator-set change and
 * refusing the retired set's headers.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Contract, Wallet } from 'ethers';
import { artifact, EvmBridge, EvmLightClient } from '../../src/evm/bridge.ts';
import { validatorSetHash } from '../../src/evm/encode.ts';
import { ArchiClient } from '../../src/sdk/client.ts';
import { fetchHeader, getSettled } from '../../src/sdk/ibc.ts';
import { commitOf, forgeHeader, nodeKey } from '../evm/forge.ts';
import { browserSkip, openBrowser } from './browser.ts';
import { type HardhatNode, startHardhatNode } from '../evm/hardhat-node.ts';
import {
  archi,
  archiJson,
  kill9,
  type Running,
  removeDir,
  startArchi,
  stopAll,
  tempDir,
  up,
} from './harness.ts';
import { initNetwork, waitUntil } from './network.ts';

/** Hardhat's well-known dev keys (accounts 0..3 of its default mnemonic), funded at start. */
const EVM_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
];
const alice = new Wallet(EVM_KEYS[1]).address;

let dir: string;
let hh: HardhatNode;
let client: ArchiClient;
/** org1/admin's address: it sends to the EVM and receives what comes back. */
let admin: string;
let record: any;
/** The console `archi up` serves, null when it could not build one. */
let consoleUrl: string | null = null;
/** The gm network of the gm test. */
let gmDir: string | undefined;

const fails = async (args: string[], re: RegExp): Promise<void> => {
  const r = await archi(args);
  assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
  assert.match(r.stderr, re);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
};

const status = (): Promise<any> =>
  archiJson(['bridge', 'status', '--dir', dir, '--address', admin, '--evm-address', alice]);

const attestor = (nodes: string): Running =>
  startArchi(['evm', 'attest', '--dir', dir, '--node', nodes, '--interval', '300']);

const relayer = (key: string): Running =>
  startArchi([
    'relay',
    'start',
    '--a',
    dir,
    '--evm',
    hh.url,
    '--evm-key',
    key,
    '--interval',
    '300',
  ]);

const toEvm = (amount: string, ...extra: string[]): Promise<any> =>
  archiJson(['bridge', 'to-evm', '--dir', dir, '--recipient', alice, '--amount', amount, ...extra]);

const fromEvm = (amount: string, ...extra: string[]): Promise<any> =>
  archiJson([
    'bridge',
    'from-evm',
    '--dir',
    dir,
    '--evm-key',
    EVM_KEYS[1],
    '--recipient',
    admin,
    '--amount',
    amount,
    ...extra,
  ]);

/** The bridge's events `name` about `sequence`. */
async function events(name: string, sequence: number): Promise<number> {
  const b = new EvmBridge(record.bridge, hh.provider).contract;
  return (await b.queryFilter(b.filters[name](sequence), 0)).length;
}

describe('the EVM bridge through the CLI: a 4-node network and a Hardhat node', () => {
  const relayers: Running[] = [];
  let attA: Running;
  let attB: Running;

  before(async () => {
    dir = tempDir('archi-evm-');
    await initNetwork(dir, 4);
    // One after the other: both starts are CPU-heavy, and up() waits a bounded time.
    const started = await up(dir);
    const { rpc } = started;
    consoleUrl = started.console;
    hh = await startHardhatNode();
    // A chain that makes blocks on its own, as real ones do: confirmations keep coming.
    await hh.provider.send('evm_setIntervalMining', [500]);
    client = new ArchiClient(rpc);
    admin = (await archi(['id', 'show', '--dir', dir, '--address'])).stdout.trim();
    const minted = await archiJson([
      'tx',
      'send',
      '--dir',
      dir,
      '--contract',
      'token',
      '--method',
      'mint',
      '--args',
      JSON.stringify({ to: admin, amount: '1000' }),
      '--wait',
    ]);
    assert.equal(minted.status, 'ok');
  });

  after(async () => {
    await stopAll();
    await hh?.stop();
    if (dir) removeDir(dir);
    if (gmDir) removeDir(gmDir);
  });

  test('deploy: bad input gets one code and changes nothing; then contracts, attested client, evm.json', async () => {
    const base = ['evm', 'deploy', '--dir', dir];
    await Promise.all([
      fails([...base, '--evm', 'http://127.0.0.1:1'], /NOT_READY: no EVM node answers/),
      fails([...base, '--evm', hh.url, '--evm-key', 'zz'], /INVALID_ARGS: --evm-key/),
      fails(
        [...base, '--evm', hh.url, '--evm-key', `0x${'11'.repeat(32)}`],
        /INSUFFICIENT_BALANCE: the --evm-key account/,
      ),
      fails(['bridge', 'status', '--dir', dir], /IBC_CLIENT_NOT_FOUND: no EVM bridge/),
    ]);
    assert.ok(!existsSync(join(dir, 'evm.json')), 'nothing recorded');

    record = await archiJson([
      ...base,
      '--evm',
      hh.url,
      '--evm-key',
      EVM_KEYS[0],
      '--confirmations',
      '2',
    ]);
    assert.equal(record.status, 'deployed');
    assert.equal(record.client, 'created', 'four local admins voted');
    assert.equal(record.archiClientId, 'evm-31337');
    assert.equal(record.evmChainId, '31337');
    const file = JSON.parse(readFileSync(join(dir, 'evm.json'), 'utf8'));
    assert.equal(file.bridges[record.chainId].bridge, record.bridge);
    const clients = await archiJson(['ibc', 'clients', '--dir', dir]);
    const c = clients.find((x: any) => x.clientId === 'evm-31337');
    assert.equal(c.type, 'attested');
    assert.equal(c.confirmations, 2);
    assert.equal(c.bridge, record.bridge.toLowerCase());
    await fails(
      [...base, '--evm', hh.url],
      /IBC_CLIENT_EXISTS: chain .* already has an EVM bridge/,
    );
  });

  test('100 to the EVM (ERC-20 100, escrow 100), 40 back (ERC-20 60, escrow 60)', async () => {
    attA = attestor('node1,node2');
    attB = attestor('node3');
    relayers.push(relayer(EVM_KEYS[0]));
    const out = await toEvm('100', '--wait');
    assert.equal(out.status, 'acked', JSON.stringify(out));
    assert.match(out.evmToken, /^0x[0-9a-fA-F]{40}$/);
    assert.equal(out.evmBalance, '100');
    assert.match(out.evmTxHash, /^0x[0-9a-f]{64}$/);
    const erc20 = new Contract(out.evmToken, artifact('BridgedToken').abi, hh.provider);
    assert.equal(await erc20.balanceOf(alice), 100n);
    let s = await status();
    assert.equal(s.escrow, '100');
    assert.equal(s.evmSupply, '100');
    assert.equal(s.balances[admin], '900');
    assert.equal(s.evmToken, out.evmToken);

    const back = await fromEvm('40', '--wait');
    assert.equal(back.status, 'acked', JSON.stringify(back));
    assert.equal(back.evmToken, out.evmToken);
    assert.equal(back.evmBalance, '60');
    assert.equal(back.balance, '940');
    s = await status();
    assert.equal(s.escrow, '60');
    assert.equal(s.evmSupply, '60');
    assert.equal(s.evmBalances[alice], '60');
    assert.deepEqual(s.pending, { toEvm: 0, fromEvm: 0 });
  });

  test('a relayer killed mid-transfer, then two relayers at once: nothing minted or released twice', async () => {
    const out = await toEvm('10');
    assert.equal(out.status, 'pending');
    const victim = relayers[0];
    await kill9(victim.child.pid as number);
    await victim.exited;
    relayers.splice(0, 1, relayer(EVM_KEYS[2]), relayer(EVM_KEYS[3]));
    const back = await fromEvm('5');
    const bridge = new EvmBridge(record.bridge, hh.provider);
    await waitUntil(
      () => getSettled(client, record.archiClientId, out.sequence),
      'the transfer to the EVM settled',
      90_000,
      300,
    );
    await waitUntil(
      async () => !(await bridge.pending(back.sequence)),
      'the EVM deposit settled',
      90_000,
      300,
    );
    assert.equal(await events('Minted', out.sequence), 1);
    assert.equal(await events('RecvPacket', out.sequence), 1);
    assert.equal(await events('AckPacket', back.sequence), 1);
    const s = await status();
    assert.equal(s.evmSupply, '65');
    assert.equal(s.escrow, '65');
    assert.equal(s.balances[admin], '935');
    assert.equal(s.evmBalances[alice], '65');
    // Both relayers worked: each logged rounds, and what one did the other met as a race.
    const races = relayers.map((r) => /"races":[1-9]/.test(r.out));
    assert.ok(relayers.every((r) => r.out.includes('evm relayer started')));
    assert.ok(
      races.some(Boolean) || relayers.every((r) => r.out.includes('"relayed"')),
      'both took part',
    );
    await relayers.pop()?.stop();
  });

  test('an EVM deposit attested by less than 2/3 of the power releases nothing until a third validator attests', async () => {
    await attB.stop();
    const before = (await status()).balances[admin];
    const dep = await fromEvm('7');
    const key = { clientId: record.archiClientId, kind: 'commitment', sequence: dep.sequence };
    // node1 and node2 (20 of 40) attest it; past that, nothing is recorded.
    const attested = new RegExp(`"kind":"commitment","sequence":${dep.sequence},`, 'g');
    await waitUntil(
      () => (attA.out.match(attested) ?? []).length >= 2,
      'node1 and node2 attested',
      60_000,
      200,
    );
    const mark = relayers[0].out.length;
    // Nothing is to happen: give the relayer and the attestors several rounds (300 ms each).
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(
      (await client.query('ibc', 'fact', key)).result,
      null,
      'no fact at 50% of the power',
    );
    let s = await status();
    assert.equal(s.balances[admin], before, 'nothing released');
    assert.equal(s.pending.fromEvm, 1);
    assert.equal(relayers[0].out.slice(mark).includes('"method":"recvPacket"'), false);

    attB = attestor('node3');
    await waitUntil(
      async () => (await status()).balances[admin] === String(BigInt(before) + 7n),
      'released after node3 attests',
      60_000,
      300,
    );
    s = await status();
    assert.equal(s.escrow, '58');
    assert.equal(s.evmSupply, '58');
  });

  test('a validator-set change: the EVM light client follows it and refuses the retired set', async () => {
    const oldHeight = (await client.status()).height;
    const oldSet = (await client.validators(oldHeight)).validators;
    const id = (
      await archi([
        'gov',
        'propose',
        'set_validator_power',
        '--dir',
        dir,
        '--args',
        '{"name":"node4","power":40}',
      ])
    ).stdout.trim();
    assert.match(id, /^[0-9]+$/);
    for (const org of ['org2', 'org3']) {
      const r = await archiJson(['gov', 'approve', id, '--dir', dir, '--as', `${org}/admin`]);
      assert.ok(r, `${org} approved`);
    }
    const changed = await waitUntil(async () => {
      const h = (await client.status()).height;
      const set = (await client.validators(h)).validators;
      return set.find((v: any) => v.name === 'node4')?.power === 40 ? h : 0;
    }, 'node4 at 40');
    // node1..node3 hold 30 of 70 now: the attested client needs node4's attestor too.
    const att4 = attestor('node4');
    const out = await toEvm('10', '--wait');
    assert.equal(out.status, 'acked');
    assert.equal(out.evmBalance, '68');
    const lc = new EvmLightClient(record.lightClient, hh.signers[0]);
    const latest = await lc.latestHeight();
    assert.ok(latest >= changed, `light client at ${latest}, the change ruled from ${changed}`);
    const newSet = (await client.validators(latest + 1)).validators;
    assert.equal(
      (await lc.consensusState(latest)).nextValidatorsHash,
      `0x${validatorSetHash(newSet)}`,
    );
    assert.notEqual(validatorSetHash(newSet), validatorSetHash(oldSet));

    // The retired set (four equal powers, all signing) forges the next header naming itself.
    await relayers[0].stop();
    await att4.stop();
    const top = await lc.latestHeight();
    const real = await fetchHeader(client, top + 1);
    const oldKeys = ['node1', 'node2', 'node3', 'node4'].map((n) => nodeKey(dir, n));
    const forged = forgeHeader(real.header, oldSet, oldKeys);
    await assert.rejects(lc.update(forged, top, { nextValidators: oldSet }), (e: any) => {
      assert.equal(e.revert?.name, 'HeaderInvalid', String(e.message));
      return true;
    });
    // The real next header, signed only by node1..node3 (30 of 70): not enough power.
    const weak = {
      header: real.header,
      commit: commitOf(real.header, oldKeys.slice(0, 3)),
      validators: real.validators,
    };
    await assert.rejects(lc.update(weak, top), (e: any) => {
      assert.equal(e.revert?.name, 'InsufficientPower', String(e.message));
      return true;
    });
    assert.equal(await lc.latestHeight(), top, 'nothing stored');
    // With the real commit it goes through.
    const ok = await lc.update(real, top, {
      nextValidators: (await client.validators(top + 2)).validators,
    });
    assert.equal(ok.result, 'updated');
  });
  test('a gm chain reaches the EVM through this chain: a voucher of a voucher, there and back', async () => {
    // SM2 cannot be checked on the EVM: island-gm's tokens travel over the interchain packets
    // to this (standard) chain first, then over the bridge.
    gmDir = tempDir('archi-evm-gm-');
    await initNetwork(gmDir, 1, ['--chain', 'island-gm', '--crypto', 'gm']);
    await up(gmDir);
    const gmAdmin = (await archi(['id', 'show', '--dir', gmDir, '--address'])).stdout.trim();
    const minted = await archiJson([
      'tx',
      'send',
      '--dir',
      gmDir,
      '--contract',
      'token',
      '--method',
      'mint',
      '--args',
      JSON.stringify({ to: gmAdmin, amount: '100' }),
      '--wait',
    ]);
    assert.equal(minted.status, 'ok');
    await fails(
      ['evm', 'deploy', '--dir', gmDir, '--evm', hh.url],
      /INVALID_ARGS: chain island-gm signs with SM2/,
    );
    const connected = await archiJson(['ibc', 'connect', '--a', dir, '--b', gmDir]);
    assert.equal(connected.a.status, 'created');
    assert.equal(connected.b.status, 'created');
    startArchi(['relay', 'start', '--a', dir, '--b', gmDir, '--interval', '300']);
    relayers.push(relayer(EVM_KEYS[0]));
    attestor('node4');

    const hop1 = await archiJson([
      'ibc',
      'transfer',
      '--dir',
      gmDir,
      '--to-chain',
      record.chainId,
      '--receiver',
      admin,
      '--amount',
      '50',
      '--wait',
    ]);
    assert.equal(hop1.status, 'acked', JSON.stringify(hop1));
    const voucher = hop1.destDenom;
    assert.equal(voucher, 'transfer/island-gm/island-gm');
    const out = await toEvm('50', '--denom', voucher, '--wait');
    assert.equal(out.status, 'acked', JSON.stringify(out));
    assert.equal(out.evmDenom, `transfer/${record.bridgeClientId}/${voucher}`);
    assert.equal(out.evmBalance, '50');
    const erc20 = new Contract(out.evmToken, artifact('BridgedToken').abi, hh.provider);
    assert.equal(await erc20.balanceOf(alice), 50n);

    const back = await fromEvm('20', '--denom', voucher, '--wait');
    assert.equal(back.status, 'acked', JSON.stringify(back));
    assert.equal(back.denom, voucher);
    assert.equal(back.balance, '20');
    const s = await archiJson([
      'bridge',
      'status',
      '--dir',
      dir,
      '--denom',
      voucher,
      '--evm-address',
      alice,
    ]);
    assert.equal(s.escrow, '30');
    assert.equal(s.evmSupply, '30');
    const home = await archiJson([
      'ibc',
      'transfer',
      '--dir',
      dir,
      '--to-chain',
      'island-gm',
      '--receiver',
      gmAdmin,
      '--amount',
      '20',
      '--denom',
      voucher,
      '--wait',
    ]);
    assert.equal(home.status, 'acked');
    const gm = new ArchiClient(
      JSON.parse(readFileSync(join(gmDir, 'network.json'), 'utf8')).nodes[0].rpc,
    );
    assert.equal((await gm.query('token', 'balanceOf', { owner: gmAdmin })).result, '70');
  });
  test('the console bridge page shows both sides as the CLI does', {
    skip: browserSkip,
  }, async () => {
    assert.ok(consoleUrl, 'archi up served a console');
    const s = await status();
    const browser = await openBrowser();
    try {
      const { page } = browser;
      // The EVM node the page reads, as a person enters it once (remembered by the browser).
      await page.addInitScript((url) => {
        (globalThis as any).localStorage.setItem('archi.bridge.evmUrl', url);
      }, hh.url);
      await page.goto(`${consoleUrl}#/bridge`);
      const card = page.getByTestId('bridge-evm-31337');
      const shows = (id: string, text: string) =>
        card
          .getByTestId(id)
          .filter({ hasText: new RegExp(`^${text}$`) })
          .waitFor({ timeout: 60_000 });
      await shows('bridge-escrow', s.escrow);
      await shows('bridge-supply', s.evmSupply);
      await card
        .getByTestId('bridge-lc')
        .filter({ hasText: /height \d+/ })
        .waitFor();
      const rows = card.locator('[data-testid="bridge-transfers"] tr[data-direction]');
      await rows.first().waitFor();
      const seen = await rows.evaluateAll((trs) =>
        trs.map((tr: any) => [
          tr.getAttribute('data-direction'),
          tr.querySelector('[data-col="amount"]')?.textContent,
        ]),
      );
      for (const want of [
        ['to-evm', '100'],
        ['from-evm', '40'],
        ['to-evm', '50'],
        ['from-evm', '20'],
      ]) {
        assert.ok(
          seen.some((r) => r[0] === want[0] && r[1] === want[1]),
          `${want}: ${JSON.stringify(seen)}`,
        );
      }
      await card.getByLabel('address').fill(alice);
      await card.getByRole('button', { name: 'Balance' }).click();
      await card
        .getByTestId('bridge-balance')
        .filter({ hasText: new RegExp(`^${s.evmBalances[alice]} `) })
        .waitFor();
      await card.getByLabel('address').fill(admin);
      await card.getByRole('button', { name: 'Balance' }).click();
      await card
        .getByTestId('bridge-balance')
        .filter({ hasText: new RegExp(`^${s.balances[admin]} `) })
        .waitFor();
      assert.deepEqual(browser.problems, []);
    } finally {
      await browser.close();
    }
  });
});
