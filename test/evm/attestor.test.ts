/**
 * The attestation committee against a real Hardhat node: Archipelago (an in-process island of
 * four validators, powers 40/30/20/10) holds an attested client of the EVM chain; tokens go to
 * the EVM over the bridge's light client, come back by a real `sendTransfer`, and four
 * attestors (src/evm/attestor.ts, one per validator key) watching the bridge make the deposit
 * count on Archipelago only after N confirmations and only once more than 2/3 of the power
 * attested it. The same rounds attest the bridge's ack (settling Archipelago's transfer) and a
 * receipt's absence past a timeout (refunding one).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getProfile } from '../../src/crypto/profile.ts';
import {
  type AttestArgs,
  type AttestorChain,
  type AttestorOptions,
  attestRound,
  type RoundReport,
  runAttestor,
} from '../../src/evm/attestor.ts';
import { EvmBridge, EvmLightClient } from '../../src/evm/bridge.ts';
import { ArchiError, type ErrorCode } from '../../src/types/errors.ts';
import { hex } from '../../src/types/hex.ts';
import type { IbcPacket } from '../../src/types/rpc-json.ts';
import { fullKey, keys, packetCommitment } from '../../src/vm/native/ibc/keys.ts';
import { initSandbox } from '../../src/vm/sandbox/host.ts';
import { type Island, ok, runTx } from '../vm/ibc-fixture.ts';
import { headerInput, nextSet, propose, unequalIsland, validator } from './evm-fixture.ts';
import { type HardhatNode, startHardhatNode } from './hardhat-node.ts';

const sha256 = getProfile('standard').hash;
const ARCHI_CLIENT = 'evm-31337';
const BRIDGE_ID = 'archi';
const CONFIRMATIONS = 2;

let node: HardhatNode;
let island: Island;
let lc: EvmLightClient;
let bridge: EvmBridge;
let alice: string;

const ibc = (method: string, args: unknown): any =>
  island.chain.query('ibc', method, args, false).result;
const balance = (owner: string): bigint =>
  BigInt(island.chain.query('token', 'balanceOf', { owner }, false).result as string);

/** Txs one at a time: the island cuts a block per tx, so concurrent attestors take turns. */
let queue: Promise<unknown> = Promise.resolve();

/** Archipelago as the attestors see it: queries, and `attest` txs carried by the island's client. */
const chain: AttestorChain = {
  query: async (method, args) => ibc(method, args),
  attest: (args: AttestArgs) => {
    const next = queue.then(async () => {
      const r = await runTx(island, 'ibc', 'attest', args);
      if (r.status !== 'ok') throw new ArchiError(r.code as ErrorCode, r.message ?? '');
      return r.result;
    });
    queue = next.catch(() => undefined);
    return next;
  },
};

/** One attestor round of validator `name`. */
function round(name: string) {
  return attestRound(options(name));
}

/** The attestor settings of validator `name`. */
function options(name: string): AttestorOptions {
  return {
    provider: node.provider,
    bridge: bridge.contract,
    chain,
    target: {
      chainId: island.chainId,
      clientId: ARCHI_CLIENT,
      evmChainId: 31337n,
      bridge: bridgeAddress,
    },
    profile: island.fx.profile,
    signer: validator(island, name).signer,
    confirmations: CONFIRMATIONS,
  };
}
let bridgeAddress: string;

async function mine(blocks: number): Promise<void> {
  await node.provider.send('hardhat_mine', [`0x${blocks.toString(16)}`]);
  // Ethers serves a repeated request (the head block) from a 250 ms cache.
  await new Promise((r) => setTimeout(r, 300));
}

/** Brings the EVM light client to the island's `height` by adjacent updates. */
async function syncTo(height: number): Promise<void> {
  for (let h = (await lc.latestHeight()) + 1; h <= height; h++) {
    await lc.update(headerInput(island, h), h - 1, { nextValidators: nextSet(island, h) });
  }
}

/** `token.sendTransfer` to the EVM over the attested client; the packet. */
async function sendToEvm(amount: string, timeout: Record<string, number>): Promise<IbcPacket> {
  const r = ok(
    await runTx(island, 'token', 'sendTransfer', {
      client: ARCHI_CLIENT,
      receiver: alice,
      amount,
      ...timeout,
    }),
  );
  return ibc('packet', {
    client: ARCHI_CLIENT,
    sequence: (r.result as { sequence: number }).sequence,
  });
}

before(async () => {
  await initSandbox();
  node = await startHardhatNode();
  alice = await node.signers[1].getAddress();
  island = await unequalIsland('archi-att');
  ok(
    await runTx(
      island,
      'token',
      'mint',
      { to: island.fx.client.address, amount: '1000' },
      island.fx.admin,
    ),
  );
  const t = island.chain.height;
  lc = await EvmLightClient.deploy(node.signers[0], {
    chainId: island.chainId,
    trustingPeriodMs: 3_600_000,
    maxClockDriftMs: 600_000,
    header: headerInput(island, t),
    nextValidators: nextSet(island, t),
  });
  bridge = await EvmBridge.deploy(node.signers[0], await lc.address(), {
    clientId: BRIDGE_ID,
    counterpartyClientId: ARCHI_CLIENT,
  });
  bridgeAddress = await bridge.address();
  await propose(island, 'ibc_create_client', {
    type: 'attested',
    clientId: ARCHI_CLIENT,
    chainId: String((await node.provider.getNetwork()).chainId),
    counterpartyClientId: BRIDGE_ID,
    bridge: bridgeAddress,
    confirmations: CONFIRMATIONS,
  });
});

after(async () => {
  await node?.stop();
  await island?.cleanup();
});

describe('attestors watching a real bridge', () => {
  test('a deposit on the EVM mints on Archipelago only past N confirmations and 2/3 of the power', async () => {
    const owner = island.fx.client.address;
    // Out to the EVM: escrowed here, received there under a header the light client verified.
    const out = await sendToEvm('100', { timeoutTime: Date.now() + 3_600_000 });
    const proven = island.prove(fullKey(keys.commitment(out.sourceClient, out.sequence)));
    assert.equal(proven.value, hex(packetCommitment(sha256, out)));
    await syncTo(proven.height);
    const recv = await bridge.recvPacket(out, proven.proof, proven.height);
    const voucher = `transfer/${BRIDGE_ID}/${island.chainId}`;
    assert.deepEqual(recv.ack, { result: { denom: voucher } });
    assert.equal(balance(owner), 900n);

    // Back: alice burns 40 on the EVM for the island's client.
    const asAlice = new EvmBridge(bridgeAddress, node.signers[1]);
    const sent = await asAlice.sendTransfer({
      denom: voucher,
      amount: 40n,
      receiver: owner,
      timeoutHeight: island.chain.height + 1000,
    });
    const back = sent.packet;
    const seqKey = { clientId: ARCHI_CLIENT, kind: 'commitment', sequence: back.sequence };

    // Not yet confirmed: the attestors sign nothing about it.
    const early = await round('node1');
    assert.ok(
      !early.submitted.some((o) => o.kind === 'commitment'),
      'nothing before N confirmations',
    );
    await mine(CONFIRMATIONS);

    // node1 (40) and node3 (20): 60 of 100. Their rounds also attest the EVM's ack of `out`.
    for (const n of ['node1', 'node3']) {
      const r = await round(n);
      assert.deepEqual(r.refused, []);
      assert.deepEqual(r.submitted.map((o) => o.kind).sort(), ['ack', 'commitment']);
    }
    assert.equal(ibc('fact', seqKey), null);
    const under = await runTx(island, 'ibc', 'recvPacket', { packet: back });
    assert.equal(under.code, 'IBC_ATTESTATION_MISSING');
    assert.equal(balance(owner), 900n, 'attested by 60 of 100: nothing released');

    // node4 (10): 70 of 100. The fact is the value in the bridge's storage.
    await round('node4');
    const fact = ibc('fact', seqKey);
    assert.equal(fact.value, sent.commitment.slice(2));
    assert.equal(fact.power, '70');
    ok(await runTx(island, 'ibc', 'recvPacket', { packet: back }));
    assert.equal(balance(owner), 940n);
    // The ack of `out` was attested in the same rounds: it settles.
    const ack = ibc('fact', { clientId: ARCHI_CLIENT, kind: 'ack', sequence: out.sequence });
    assert.ok(ack);
    ok(await runTx(island, 'ibc', 'acknowledgePacket', { packet: out, ack: recv.ack }));
    assert.equal(ibc('settled', { client: ARCHI_CLIENT, sequence: out.sequence }).status, 'acked');
    // A later round has nothing left to say about these.
    const again = await round('node1');
    assert.deepEqual(again.submitted, []);
  });

  test('a packet the EVM never received, attested absent past its timeout, is refunded', async () => {
    const owner = island.fx.client.address;
    const before = balance(owner);
    const head = await node.provider.getBlockNumber();
    const p = await sendToEvm('25', { timeoutHeight: head + 3 });
    assert.equal(balance(owner), before - 25n);
    for (const n of ['node1', 'node2']) {
      const r = await round(n);
      assert.ok(!r.submitted.some((o) => o.kind === 'receipt-absent'), 'not past the timeout yet');
    }
    await mine(3 + CONFIRMATIONS);
    for (const n of ['node1', 'node2']) {
      const r = await round(n);
      assert.deepEqual(
        r.submitted.map((o) => [o.kind, o.sequence]),
        [['receipt-absent', p.sequence]],
      );
    }
    ok(await runTx(island, 'ibc', 'timeoutPacket', { packet: p }));
    assert.equal(
      ibc('settled', { client: ARCHI_CLIENT, sequence: p.sequence }).status,
      'timed-out',
    );
    assert.equal(balance(owner), before);
  });

  test('four attestor loops make a deposit count without anyone driving them', async () => {
    const owner = island.fx.client.address;
    const before = balance(owner);
    const voucher = `transfer/${BRIDGE_ID}/${island.chainId}`;
    const sent = await new EvmBridge(bridgeAddress, node.signers[1]).sendTransfer({
      denom: voucher,
      amount: 5n,
      receiver: owner,
      timeoutHeight: island.chain.height + 1000,
    });
    const key = { clientId: ARCHI_CLIENT, kind: 'commitment', sequence: sent.packet.sequence };
    await mine(CONFIRMATIONS);
    const stop = new AbortController();
    const reports: Array<RoundReport | Error> = [];
    const loops = ['node1', 'node2', 'node3', 'node4'].map((n) =>
      runAttestor({
        ...options(n),
        intervalMs: 100,
        signal: stop.signal,
        onRound: (r) => reports.push(r),
      }),
    );
    const deadline = Date.now() + 30_000;
    while (!ibc('fact', key) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    stop.abort();
    await Promise.all(loops);
    assert.ok(ibc('fact', key), 'recorded by the loops');
    assert.deepEqual(
      reports.filter((r) => r instanceof Error || r.refused.length > 0),
      [],
    );
    ok(await runTx(island, 'ibc', 'recvPacket', { packet: sent.packet }));
    assert.equal(balance(owner), before + 5n);
  });
});
