/**
 * The EVM bridge on a real Hardhat node with packets from a real Archipelago chain: a transfer
 * proven under a header the light client verified mints the ERC-20 voucher; a replayed packet,
 * an altered packet and a proof that does not match the state root are refused; the contract's
 * SMT verifier answers exactly as Archipelago's `verifyProof` on real and tampered proofs;
 * vouchers burned to go back produce the packet Archipelago's `ibc`/`token` take, refunded on a
 * proven timeout; after a validator-set change the old set alone cannot move funds.
 *
 * Archipelago can only send over a client of the EVM chain; the attestation client of part 2
 * does not exist yet, so a stand-in island plays the EVM chain's client on Archipelago: the
 * packets, commitments and proofs are Archipelago's own either way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Contract, Interface } from 'ethers';
import { getProfile } from '../../src/crypto/profile.ts';
import { artifact, EvmBridge, EvmLightClient } from '../../src/evm/bridge.ts';
import { packetArg as evmPacketArg, proofArg } from '../../src/evm/encode.ts';
import { proofFromJson, type StateProofJson, verifyProof } from '../../src/state/proof.ts';
import { hex, unhex } from '../../src/types/hex.ts';
import { utf8Bytes } from '../../src/types/json.ts';
import type { IbcPacket } from '../../src/types/rpc-json.ts';
import { fullKey, keys, packetCommitment } from '../../src/vm/native/ibc/keys.ts';
import { packetArg as archiPacketArg } from '../../src/vm/native/ibc/packets.ts';
import { transferData } from '../../src/vm/native/token-transfer.ts';
import { HandRelay, type Island, makeIsland, ok, runTx } from '../vm/ibc-fixture.ts';
import {
  commitBy,
  headerInput,
  newValidator,
  nextSet,
  propose,
  unequalIsland,
} from './evm-fixture.ts';
import { type HardhatNode, startHardhatNode } from './hardhat-node.ts';

const sha256 = getProfile('standard').hash;
/** Archipelago's client of the EVM chain, and the bridge's id there. */
const ARCHI_CLIENT = 'evm-31337';
const BRIDGE_ID = 'archi';

let node: HardhatNode;
let island: Island;
let standIn: Island;
let lc: EvmLightClient;
let bridge: EvmBridge;
let alice: string; // EVM account receiving vouchers
const errors = new Interface([
  ...(artifact('ArchipelagoBridge').abi as never[]),
  ...(artifact('ArchipelagoLightClient').abi as never[]).filter(
    (f: { type: string }) => f.type === 'error',
  ),
]);

/** The custom error a call reverted with (the bridge's or the light client's beneath it). */
async function revertName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const err = e as {
      data?: string;
      info?: { error?: { data?: string } };
      revert?: { name: string };
    };
    if (err.revert?.name) return err.revert.name;
    const data = err.data ?? err.info?.error?.data;
    const parsed = data ? errors.parseError(data) : null;
    if (parsed) return parsed.name;
    throw e;
  }
  throw new Error('the call did not revert');
}

/** Brings the light client to `height` by adjacent updates (sending new sets along). */
async function syncTo(height: number): Promise<void> {
  for (let h = (await lc.latestHeight()) + 1; h <= height; h++) {
    await lc.update(headerInput(island, h), h - 1, { nextValidators: nextSet(island, h) });
  }
}

/** `token.sendTransfer` on the island by its client; the packet it committed. */
async function sendFromArchi(receiver: string, amount: string): Promise<IbcPacket> {
  const r = ok(
    await runTx(island, 'token', 'sendTransfer', {
      client: ARCHI_CLIENT,
      receiver,
      amount,
      timeoutTime: Date.now() + 3_600_000,
    }),
  );
  const { sequence } = r.result as { sequence: number };
  return island.chain.query('ibc', 'packet', { client: ARCHI_CLIENT, sequence }, false)
    .result as IbcPacket;
}

/** The commitment's proof at the island's latest height, with the client brought there. */
async function commitmentProof(p: IbcPacket) {
  const proven = island.prove(fullKey(keys.commitment(p.sourceClient, p.sequence)));
  assert.equal(proven.value, hex(packetCommitment(sha256, p)));
  await syncTo(proven.height);
  return proven;
}

before(async () => {
  node = await startHardhatNode();
  alice = await node.signers[1].getAddress();
  island = await unequalIsland('archi-bridge');
  standIn = makeIsland('evm-standin', 'standard');
  standIn.commit();
  await new HandRelay().createClient(island, ARCHI_CLIENT, standIn, BRIDGE_ID);
  ok(
    await runTx(
      island,
      'token',
      'mint',
      { to: island.fx.client.address, amount: '1000000' },
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
});

after(async () => {
  await node?.stop();
  await island?.cleanup();
  await standIn?.cleanup();
});

const voucher = () => `transfer/${BRIDGE_ID}/${island.chainId}`;

describe('Archipelago to EVM', () => {
  test('a proven transfer mints the voucher; a replay is refused', async () => {
    const p = await sendFromArchi(alice, '100');
    const proven = await commitmentProof(p);
    const r = await bridge.recvPacket(p, proven.proof, proven.height);
    assert.deepEqual(r.ack, { result: { denom: voucher() } });
    assert.equal(await bridge.balanceOf(voucher(), alice), 100n);
    const token = new Contract(
      (await bridge.tokenOf(voucher()))!,
      artifact('BridgedToken').abi,
      node.provider,
    );
    assert.equal(await token.decimals(), 0n);
    assert.equal(await token.name(), voucher());
    assert.ok(await bridge.received(p.sequence));
    // The ack commitment is Archipelago's: sha256 of the ack's canonical JSON.
    const ackJson = `{"result":{"denom":${JSON.stringify(voucher())}}}`;
    assert.equal(await bridge.contract.acks(p.sequence), `0x${hex(sha256(utf8Bytes(ackJson)))}`);
    assert.equal(
      await revertName(bridge.recvPacket(p, proven.proof, proven.height)),
      'PacketAlreadyReceived',
    );
    assert.equal(await bridge.balanceOf(voucher(), alice), 100n);
  });

  test('an altered packet, a tampered proof or another height does not match the state root', async () => {
    const before = island.chain.height;
    const p = await sendFromArchi(alice, '7');
    const proven = await commitmentProof(p);
    const tries: Array<[string, IbcPacket, StateProofJson, number]> = [];
    const more = { ...p, data: { ...(p.data as object), amount: '7000' } };
    tries.push(['amount', more, proven.proof, proven.height]);
    const other = { ...p, data: { ...(p.data as object), receiver: alice.toLowerCase() } };
    if (other.data.receiver !== (p.data as { receiver: string }).receiver) {
      tries.push(['receiver', other, proven.proof, proven.height]);
    }
    const flip = (h: string) => (h[0] === '0' ? `1${h.slice(1)}` : `0${h.slice(1)}`);
    const sib = structuredClone(proven.proof);
    sib.siblings[sib.siblings.length - 1] = flip(sib.siblings[sib.siblings.length - 1]);
    tries.push(['sibling', p, sib, proven.height]);
    const leaf = structuredClone(proven.proof);
    if (leaf.leaf) leaf.leaf.valueHash = flip(leaf.leaf.valueHash);
    tries.push(['value hash', p, leaf, proven.height]);
    const short = structuredClone(proven.proof);
    short.siblings.pop();
    tries.push(['dropped sibling', p, short, proven.height]);
    // A height the client holds, before the packet was committed: the key is absent there.
    tries.push(['older root', p, proven.proof, before]);
    for (const [what, packet, proof, height] of tries) {
      assert.equal(
        await revertName(bridge.recvPacket(packet, proof, height)),
        'ProofInvalid',
        what,
      );
    }
    assert.equal(
      await revertName(bridge.recvPacket(p, proven.proof, proven.height + 50)),
      'ConsensusNotFound',
    );
    assert.equal(await bridge.balanceOf(voucher(), alice), 100n);
    assert.equal(await bridge.received(p.sequence), false);
    await bridge.recvPacket(p, proven.proof, proven.height);
    assert.equal(await bridge.balanceOf(voucher(), alice), 107n);
  });

  test('a receiver that is no EVM address gets an error ack and nothing is minted', async () => {
    const p = await sendFromArchi(island.fx.client.address, '5');
    const proven = await commitmentProof(p);
    const r = await bridge.recvPacket(p, proven.proof, proven.height);
    assert.match((r.ack as { error: string }).error, /^IBC_PACKET_INVALID: .*receiver/);
    assert.ok(await bridge.received(p.sequence));
    assert.equal(await bridge.balanceOf(voucher(), alice), 107n);
  });

  test("the contract's SMT verifier answers as verifyProof on real and tampered proofs", async () => {
    for (let i = 0; i < 24; i++) {
      await island.fx.admin.send(island.chain, {
        contract: 'kv',
        method: 'put',
        args: { key: `k${i}`, value: i },
      });
    }
    island.commit();
    const root = `0x${island.chain.getBlock(island.chain.height).header.stateRoot}`;
    const cases: Array<{ key: string; value: Uint8Array | null; proof: StateProofJson }> = [];
    for (let i = 0; i < 24; i++) {
      const present = island.prove(`kv/k${i}`);
      assert.ok(present.value);
      cases.push({ key: `kv/k${i}`, value: unhex(present.value), proof: present.proof });
      const absent = island.prove(`kv/absent${i}`);
      assert.equal(absent.value, null);
      cases.push({ key: `kv/absent${i}`, value: null, proof: absent.proof });
    }
    const rnd = (n: number) => Math.floor(Math.random() * n);
    const tamper = (c: (typeof cases)[number]): (typeof cases)[number] => {
      const proof = structuredClone(c.proof);
      const flipHex = (h: string) => {
        const i = rnd(h.length);
        return (
          h.slice(0, i) +
          ((Number.parseInt(h[i], 16) ^ (1 + rnd(15))) & 15).toString(16) +
          h.slice(i + 1)
        );
      };
      switch (rnd(6)) {
        case 0:
          if (proof.siblings.length) {
            const i = rnd(proof.siblings.length);
            proof.siblings[i] = flipHex(proof.siblings[i]);
          }
          break;
        case 1:
          proof.siblings.pop();
          break;
        case 2:
          if (proof.leaf) proof.leaf.path = flipHex(proof.leaf.path);
          break;
        case 3:
          if (proof.leaf) proof.leaf.valueHash = flipHex(proof.leaf.valueHash);
          else proof.leaf = { path: hex(sha256(utf8Bytes(c.key))), valueHash: '00'.repeat(32) };
          break;
        case 4:
          if (proof.leaf) delete proof.leaf;
          break;
        default:
          return { ...c, value: c.value ? null : utf8Bytes('1') };
      }
      return { ...c, proof };
    };
    const all = [...cases, ...cases.map(tamper), ...cases.map(tamper)];
    let accepted = 0;
    await Promise.all(
      all.map(async (c) => {
        const expected = verifyProof(
          sha256,
          unhex(root.slice(2)),
          utf8Bytes(c.key),
          c.value,
          proofFromJson(c.proof),
        );
        const got = await lc.contract.verifyProof(
          root,
          utf8Bytes(c.key),
          c.value !== null,
          c.value ?? new Uint8Array(0),
          proofArg(c.proof),
        );
        assert.equal(got, expected, `${c.key} ${JSON.stringify(c.proof)}`);
        if (got) accepted++;
      }),
    );
    assert.ok(accepted >= cases.length, 'every real proof verifies');
  });
});

describe('EVM to Archipelago', () => {
  test('burning vouchers commits to the packet Archipelago takes; a proven timeout refunds', async () => {
    const asAlice = new EvmBridge(await bridge.address(), node.signers[1]);
    const receiver = island.fx.client.address;
    const timeoutHeight = island.chain.height + 3;
    const sent = await asAlice.sendTransfer({
      denom: voucher(),
      amount: 40n,
      receiver,
      timeoutHeight,
      memo: 'back "home"\n',
    });
    assert.equal(await bridge.balanceOf(voucher(), alice), 67n);
    const p = sent.packet;
    // What Archipelago's ibc and token would check: the packet shape, the transfer data, the
    // commitment (the same function), the voucher's path going home over the bridge's id.
    assert.deepEqual(archiPacketArg(p), p);
    const data = transferData(p.data);
    assert.equal(data.denom, voucher());
    assert.ok(data.denom.startsWith(`transfer/${p.sourceClient}/`));
    assert.equal(data.amount, '40');
    assert.equal(data.sender, alice.toLowerCase());
    assert.equal(data.receiver, receiver);
    assert.equal(p.destClient, ARCHI_CLIENT);
    assert.equal(sent.commitment, `0x${hex(packetCommitment(sha256, p))}`);
    assert.equal(await bridge.contract.packetCommitment(evmPacketArg(p)), sent.commitment);
    assert.deepEqual(
      (await bridge.sentPackets()).map((s) => s.packet),
      [p],
    );
    assert.ok(await bridge.pending(p.sequence));

    // Not received on Archipelago; not yet timed out there either.
    const receiptKey = fullKey(keys.receipt(ARCHI_CLIENT, p.sequence));
    let absent = island.prove(receiptKey);
    assert.equal(absent.value, null);
    await syncTo(absent.height);
    assert.equal(
      await revertName(bridge.timeoutPacket(p, absent.proof, absent.height)),
      'TimeoutNotReached',
    );
    while (island.chain.height < timeoutHeight) island.commit();
    absent = island.prove(receiptKey);
    await syncTo(absent.height);
    // A membership-shaped proof of the absent receipt does not pass for an absence.
    const fake = structuredClone(absent.proof);
    fake.leaf = {
      path: hex(sha256(utf8Bytes(receiptKey))),
      valueHash: hex(sha256(Uint8Array.of(1))),
    };
    assert.equal(await revertName(bridge.timeoutPacket(p, fake, absent.height)), 'ProofInvalid');
    await bridge.timeoutPacket(p, absent.proof, absent.height);
    assert.equal(await bridge.balanceOf(voucher(), alice), 107n);
    assert.equal(await bridge.pending(p.sequence), false);
    assert.equal(
      await revertName(bridge.timeoutPacket(p, absent.proof, absent.height)),
      'PacketUnknown',
    );
  });
});

describe('validator-set change', () => {
  test('after the change the old set alone cannot move funds', async () => {
    await syncTo(island.chain.height);
    const old = island.validators.slice(0, 4);
    const node5 = newValidator('node5', 300);
    await propose(island, 'add_node', {
      name: 'node5',
      org: 'org1',
      publicKey: node5.publicKey,
      power: 300,
    });
    island.commit();
    island.validators.push(node5);
    island.commit();
    await syncTo(island.chain.height); // the client follows the new set
    const p = await sendFromArchi(alice, '1000');
    const proven = island.prove(fullKey(keys.commitment(p.sourceClient, p.sequence)));
    const trusted = await lc.latestHeight();
    for (let h = trusted + 1; h <= proven.height; h++) {
      const oldOnly = { ...headerInput(island, h), commit: commitBy(island, h, old) };
      assert.equal(await revertName(lc.update(oldOnly, h - 1)), 'InsufficientPower');
      // The real commit of h - 1 must go in before h can be tried adjacent.
      if (h < proven.height) await lc.update(headerInput(island, h), h - 1);
    }
    assert.equal(
      await revertName(bridge.recvPacket(p, proven.proof, proven.height)),
      'ConsensusNotFound',
    );
    assert.equal(await bridge.balanceOf(voucher(), alice), 107n);
    // With node5's signature the header goes in, and so does the packet.
    await syncTo(proven.height);
    await bridge.recvPacket(p, proven.proof, proven.height);
    assert.equal(await bridge.balanceOf(voucher(), alice), 1107n);
  });
});
