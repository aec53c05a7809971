/**
 * The attested client (docs/BRIDGE.md): an island of four validators of unequal power
 * (40/30/20/10) holds a client of an EVM chain whose facts its validators attest. Facts with
 * 2/3 of the power or less are not recorded (and a transfer from the EVM mints nothing);
 * non-validators, bad signatures, duplicates and replays are refused; conflicting values are
 * kept apart with evidence, and two values passing 2/3 freeze the client; acks and timeouts
 * attested settle transfers from the island.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getProfile } from '../../src/crypto/profile.ts';
import {
  type AttestorTarget,
  attestArgs,
  type Observation,
  signAttestation,
} from '../../src/evm/attestor.ts';
import type { ReceiptJson } from '../../src/types/block.ts';
import { hex } from '../../src/types/hex.ts';
import {
  attestationBytes,
  attestationDigest,
  type FactKind,
} from '../../src/vm/native/ibc/attestation-digest.ts';
import {
  type Ack,
  ackCommitment,
  type Packet,
  packetCommitment,
} from '../../src/vm/native/ibc/keys.ts';
import { initSandbox } from '../../src/vm/sandbox/host.ts';
import { newValidator, POWERS, propose, unequalIsland, validator } from '../evm/evm-fixture.ts';
import { type Island, type IslandValidator, makeIsland, ok, runTx } from './ibc-fixture.ts';

const CLIENT = 'evm-31337';
const BRIDGE = `0x${'ab'.repeat(20)}`;
/** The bridge's own client id: what its packets name as sourceClient. */
const BRIDGE_CLIENT = 'arch-att';
const sha256 = (d: Uint8Array) => getProfile('standard').hash(d);

describe('attested client of an EVM chain', () => {
  let island: Island;
  let target: AttestorTarget;
  let node: (name: string) => IslandValidator;
  let evmBlock = 100;

  const query = (contract: string, method: string, args: unknown): any =>
    island.chain.query(contract, method, args, false).result;
  const ibc = (method: string, args: unknown) => query('ibc', method, args);
  const run = (contract: string, method: string, args: unknown): Promise<ReceiptJson> =>
    runTx(island, contract, method, args);
  const refused = async (r: Promise<ReceiptJson>, code: string) => {
    const receipt = await r;
    assert.equal(receipt.status, 'error', `expected ${code}`);
    assert.equal(receipt.code, code, receipt.message);
    return receipt;
  };

  /** An observation at a fresh EVM block (each call a later block). */
  function obs(kind: FactKind, sequence: number, value: Uint8Array | string): Observation {
    evmBlock += 1;
    return {
      kind,
      sequence,
      value: typeof value === 'string' ? value : hex(value),
      evmBlockNumber: evmBlock,
      evmBlockHash: `0x${evmBlock.toString(16).padStart(64, '0')}`,
      evmTime: island.time + 5000,
    };
  }

  /** `ibc.attest` of `o` signed by `signers` (each at the observation's block). */
  function attestTx(o: Observation, signers: IslandValidator[]) {
    const list = signers.map((v) => signAttestation(island.fx.profile, v.signer, target, o));
    return run('ibc', 'attest', attestArgs(target, o, list));
  }

  /** A transfer packet as the EVM bridge commits to it (sequence `seq` of the bridge). */
  function evmPacket(seq: number, denom: string, amount: string): Packet {
    return {
      sequence: seq,
      sourceClient: BRIDGE_CLIENT,
      destClient: CLIENT,
      timeoutHeight: 0,
      timeoutTime: island.time + 600_000,
      sourcePort: 'token',
      destPort: 'token',
      data: {
        denom,
        amount,
        sender: `0x${'12'.repeat(20)}`,
        receiver: island.fx.client.address,
        memo: '',
      },
    };
  }

  const voucher = `transfer/${CLIENT}/weth`;
  /** A balance; 0 for a voucher this chain has never minted (IBC_DENOM_UNKNOWN). */
  const balance = (owner: string, denom?: string): bigint => {
    try {
      return BigInt(query('token', 'balanceOf', denom ? { owner, denom } : { owner }));
    } catch (e) {
      if ((e as { code?: string }).code === 'IBC_DENOM_UNKNOWN') return 0n;
      throw e;
    }
  };

  before(async () => {
    await initSandbox();
    island = await unequalIsland('arch-att');
    node = (name) => validator(island, name);
    target = { chainId: island.chainId, clientId: CLIENT, evmChainId: 31337n, bridge: BRIDGE };
    await propose(island, 'ibc_create_client', {
      type: 'attested',
      clientId: CLIENT,
      chainId: '31337',
      counterpartyClientId: BRIDGE_CLIENT,
      bridge: BRIDGE,
      confirmations: 2,
    });
    ok(
      await runTx(
        island,
        'token',
        'mint',
        { to: island.fx.client.address, amount: '1000' },
        island.fx.admin,
      ),
    );
  });
  after(async () => {
    await island?.cleanup();
  });

  test('governance creates it; it takes no headers', async () => {
    const c = ibc('client', { clientId: CLIENT });
    assert.equal(c.type, 'attested');
    assert.equal(c.status, 'active');
    assert.equal(c.bridge, BRIDGE);
    assert.equal(c.confirmations, 2);
    assert.equal(c.chainId, '31337');
    await refused(
      run('ibc', 'updateClient', {
        clientId: CLIENT,
        header: '00',
        commit: '00',
        validators: [],
        trustedHeight: 1,
        trustedValidators: [],
      }),
      'IBC_CLIENT_TYPE_MISMATCH',
    );
    const bad = await runTx(
      island,
      'governance',
      'propose',
      {
        kind: 'ibc_create_client',
        args: {
          type: 'attested',
          clientId: 'evm-2',
          chainId: '0x1',
          counterpartyClientId: 'x',
          bridge: BRIDGE,
          confirmations: 1,
        },
      },
      island.fx.admin,
    );
    assert.equal(bad.code, 'INVALID_ARGS');
  });

  test('a deposit attested by 2/3 of the power or less mints nothing; above 2/3 it mints', async () => {
    const packet = evmPacket(1, 'weth', '5');
    const commitment = packetCommitment(sha256, packet);
    await refused(run('ibc', 'recvPacket', { packet }), 'IBC_ATTESTATION_MISSING');
    // node1 (40) and node3 (20): 60 of 100.
    const o = obs('commitment', 1, commitment);
    const r1 = ok(await attestTx(o, [node('node1'), node('node3')]));
    assert.equal((r1.result as any).recorded, false);
    assert.equal((r1.result as any).power, '60');
    assert.equal(ibc('fact', { clientId: CLIENT, kind: 'commitment', sequence: 1 }), null);
    await refused(run('ibc', 'recvPacket', { packet }), 'IBC_ATTESTATION_MISSING');
    assert.equal(balance(island.fx.client.address, voucher), 0n, 'nothing minted at 60/100');
    // node4 (10) in a tx of its own, from its own view (another block): 70 > 66.67.
    const r2 = ok(await attestTx(obs('commitment', 1, commitment), [node('node4')]));
    assert.equal((r2.result as any).recorded, true);
    const fact = ibc('fact', { clientId: CLIENT, kind: 'commitment', sequence: 1 });
    assert.equal(fact.value, hex(commitment));
    assert.equal(fact.power, '70');
    assert.equal(fact.totalPower, '100');
    const recv = ok(await run('ibc', 'recvPacket', { packet }));
    assert.deepEqual((recv.result as { ack: Ack }).ack, { result: { denom: voucher } });
    assert.equal(balance(island.fx.client.address, voucher), 5n);
    // Replays: the same attestations again, and the packet again.
    await refused(attestTx(o, [node('node1'), node('node3')]), 'IBC_ATTESTATION_DUPLICATE');
    await refused(run('ibc', 'recvPacket', { packet }), 'IBC_PACKET_ALREADY_RECEIVED');
    // A late attestor still counts (no error): node2 adds its 30.
    const late = ok(await attestTx(obs('commitment', 1, commitment), [node('node2')]));
    assert.equal((late.result as any).power, '100');
    assert.equal(balance(island.fx.client.address, voucher), 5n);
  });

  test('a packet differing from the attested commitment is refused', async () => {
    const packet = evmPacket(2, 'weth', '7');
    ok(
      await attestTx(obs('commitment', 2, packetCommitment(sha256, packet)), [
        node('node1'),
        node('node2'),
      ]),
    );
    const forged = { ...packet, data: { ...(packet.data as object), amount: '700' } };
    await refused(run('ibc', 'recvPacket', { packet: forged }), 'IBC_ATTESTATION_MISMATCH');
    ok(await run('ibc', 'recvPacket', { packet }));
    assert.equal(balance(island.fx.client.address, voucher), 12n);
  });

  test('non-validators and bad signatures are refused; nothing is counted', async () => {
    const packet = evmPacket(3, 'weth', '1');
    const commitment = packetCommitment(sha256, packet);
    const outsider = newValidator('node9', 50);
    await refused(
      attestTx(obs('commitment', 3, commitment), [node('node1'), outsider]),
      'IBC_ATTESTATION_NOT_VALIDATOR',
    );
    // node2 signs another value; the tx claims it for this one.
    const o = obs('commitment', 3, commitment);
    const good = signAttestation(island.fx.profile, node('node1').signer, target, o);
    const other = signAttestation(island.fx.profile, node('node2').signer, target, {
      ...o,
      value: 'ff'.repeat(32),
    });
    await refused(
      run('ibc', 'attest', attestArgs(target, o, [good, other])),
      'IBC_ATTESTATION_BAD_SIGNATURE',
    );
    // Signed for another chain id: its digest differs.
    const elsewhere = signAttestation(
      island.fx.profile,
      node('node2').signer,
      { ...target, chainId: 'other' },
      o,
    );
    await refused(
      run('ibc', 'attest', attestArgs(target, o, [elsewhere])),
      'IBC_ATTESTATION_BAD_SIGNATURE',
    );
    // node1's own signature under node2's address.
    await refused(
      run('ibc', 'attest', attestArgs(target, o, [{ ...good, validator: node('node2').address }])),
      'IBC_ATTESTATION_BAD_SIGNATURE',
    );
    assert.equal(
      ibc('attestation', {
        clientId: CLIENT,
        kind: 'commitment',
        sequence: 3,
        validator: node('node1').address,
      }),
      null,
    );
    await refused(
      run('ibc', 'attest', attestArgs(target, { ...o, value: '00'.repeat(32) }, [good])),
      'IBC_ATTESTATION_INVALID',
    );
  });

  test('conflicting values are kept apart, with evidence; two values past 2/3 freeze the client', async () => {
    const a = packetCommitment(sha256, evmPacket(4, 'weth', '1'));
    const b = packetCommitment(sha256, evmPacket(4, 'weth', '1000'));
    // node1 + node3 (60) say a, node2 + node4 (40) say b: neither is recorded.
    ok(await attestTx(obs('commitment', 4, a), [node('node1'), node('node3')]));
    const rb = ok(await attestTx(obs('commitment', 4, b), [node('node2'), node('node4')]));
    assert.equal((rb.result as any).power, '40');
    assert.equal(ibc('fact', { clientId: CLIENT, kind: 'commitment', sequence: 4 }), null);
    // node3 now signs b as well: evidence, and b has 60, still not recorded.
    const r = ok(await attestTx(obs('commitment', 4, b), [node('node3')]));
    assert.deepEqual((r.result as any).conflicts, [node('node3').address]);
    assert.ok(r.events.some((e) => e.name === 'AttestationConflict'));
    const ev = ibc('attestationEvidence', {
      clientId: CLIENT,
      kind: 'commitment',
      sequence: 4,
      validator: node('node3').address,
    });
    assert.equal(ev.first.value, hex(a));
    assert.equal(ev.second.value, hex(b));
    assert.equal(ibc('fact', { clientId: CLIENT, kind: 'commitment', sequence: 4 }), null);
    assert.equal(ibc('client', { clientId: CLIENT }).status, 'active');
    // A separate client for the freeze, so the transfers below keep theirs.
    await propose(island, 'ibc_create_client', {
      type: 'attested',
      clientId: 'evm-freeze',
      chainId: '31337',
      counterpartyClientId: BRIDGE_CLIENT,
      bridge: BRIDGE,
      confirmations: 0,
    });
    const t2 = { ...target, clientId: 'evm-freeze' };
    const both = (o: Observation, vs: IslandValidator[]) =>
      run(
        'ibc',
        'attest',
        attestArgs(
          t2,
          o,
          vs.map((v) => signAttestation(island.fx.profile, v.signer, t2, o)),
        ),
      );
    const first = ok(await both(obs('commitment', 1, a), [node('node1'), node('node2')]));
    assert.equal((first.result as any).recorded, true);
    const second = ok(await both(obs('commitment', 1, b), [node('node1'), node('node2')]));
    assert.equal((second.result as any).frozen, true);
    assert.equal(ibc('client', { clientId: 'evm-freeze' }).status, 'frozen');
    await refused(both(obs('commitment', 2, a), [node('node1')]), 'IBC_CLIENT_FROZEN');
  });

  test('an ack attested settles a transfer to the EVM; an error ack refunds', async () => {
    const alice = island.fx.client.address;
    const send = async (amount: string) => {
      const r = ok(
        await run('token', 'sendTransfer', {
          client: CLIENT,
          receiver: `0x${'34'.repeat(20)}`,
          amount,
          timeoutHeight: 10_000,
        }),
      );
      return (r.result as { sequence: number }).sequence;
    };
    const before = balance(alice);
    const s1 = await send('100');
    const s2 = await send('50');
    assert.equal(balance(alice), before - 150n);
    const packet1: Packet = ibc('packet', { client: CLIENT, sequence: s1 });
    const packet2: Packet = ibc('packet', { client: CLIENT, sequence: s2 });
    const okAck: Ack = { result: { denom: `transfer/${BRIDGE_CLIENT}/${island.chainId}` } };
    const errAck: Ack = { error: 'IBC_PACKET_INVALID: receiver' };
    await refused(
      run('ibc', 'acknowledgePacket', { packet: packet1, ack: okAck }),
      'IBC_ATTESTATION_MISSING',
    );
    ok(
      await attestTx(obs('ack', s1, ackCommitment(sha256, okAck)), [node('node1'), node('node2')]),
    );
    await refused(
      run('ibc', 'acknowledgePacket', { packet: packet1, ack: errAck }),
      'IBC_ATTESTATION_MISMATCH',
    );
    ok(await run('ibc', 'acknowledgePacket', { packet: packet1, ack: okAck }));
    assert.equal(ibc('settled', { client: CLIENT, sequence: s1 }).status, 'acked');
    assert.equal(BigInt(query('token', 'escrowOf', { client: CLIENT })), 150n - 0n - 0n);
    ok(
      await attestTx(obs('ack', s2, ackCommitment(sha256, errAck)), [
        node('node1'),
        node('node2'),
        node('node4'),
      ]),
    );
    ok(await run('ibc', 'acknowledgePacket', { packet: packet2, ack: errAck }));
    assert.equal(balance(alice), before - 100n, 'the error ack refunded 50');
    assert.equal(BigInt(query('token', 'escrowOf', { client: CLIENT })), 100n);
  });

  test('a receipt absent past the timeout, attested, refunds; before the timeout it is refused', async () => {
    const alice = island.fx.client.address;
    const before = balance(alice);
    const r = ok(
      await run('token', 'sendTransfer', {
        client: CLIENT,
        receiver: `0x${'34'.repeat(20)}`,
        amount: '30',
        timeoutHeight: 5000,
      }),
    );
    const seq = (r.result as { sequence: number }).sequence;
    const packet: Packet = ibc('packet', { client: CLIENT, sequence: seq });
    const early = { ...obs('receipt-absent', seq, ''), evmBlockNumber: 4999 };
    await refused(attestTx(early, [node('node1'), node('node2')]), 'IBC_TIMEOUT_NOT_REACHED');
    await refused(run('ibc', 'timeoutPacket', { packet }), 'IBC_ATTESTATION_MISSING');
    const past = { ...obs('receipt-absent', seq, ''), evmBlockNumber: 5000 };
    ok(await attestTx(past, [node('node2'), node('node3')]));
    await refused(run('ibc', 'timeoutPacket', { packet }), 'IBC_ATTESTATION_MISSING');
    // node1 attested an ack of this packet first: its absence attestation is evidence.
    ok(await attestTx(obs('ack', seq, ackCommitment(sha256, { result: null })), [node('node1')]));
    const withEvidence = ok(await attestTx({ ...past, evmBlockNumber: 5001 }, [node('node1')]));
    assert.deepEqual((withEvidence.result as any).conflicts, [node('node1').address]);
    assert.equal((withEvidence.result as any).recorded, true);
    ok(await run('ibc', 'timeoutPacket', { packet }));
    assert.equal(ibc('settled', { client: CLIENT, sequence: seq }).status, 'timed-out');
    assert.equal(balance(alice), before, 'refunded');
    await refused(
      attestTx({ ...past, evmBlockNumber: 5002 }, [node('node4')]),
      'IBC_PACKET_UNKNOWN',
    );
  });

  test('power counts as the set holds it at each attestation', async () => {
    const packet = evmPacket(5, 'weth', '2');
    const commitment = packetCommitment(sha256, packet);
    // node1 (40) attests; then governance gives node4 200 of 290 (from two blocks on).
    ok(await attestTx(obs('commitment', 5, commitment), [node('node1')]));
    await propose(island, 'set_validator_power', { name: 'node4', power: 200 });
    island.commit();
    island.commit();
    // node2 + node3 (50): 90 of 290 is not above 2/3 of the set now ruling.
    const r = ok(await attestTx(obs('commitment', 5, commitment), [node('node2'), node('node3')]));
    assert.equal((r.result as any).totalPower, '290');
    assert.equal((r.result as any).recorded, false);
    const r4 = ok(await attestTx(obs('commitment', 5, commitment), [node('node4')]));
    assert.equal((r4.result as any).power, '290');
    assert.equal((r4.result as any).recorded, true);
    assert.deepEqual(POWERS, [40, 30, 20, 10]);
  });

  test('an ack and a receipt absence of one packet both past 2/3 freeze the client', async () => {
    const id = 'evm-exclusive';
    await propose(island, 'ibc_create_client', {
      type: 'attested',
      clientId: id,
      chainId: '31337',
      counterpartyClientId: BRIDGE_CLIENT,
      bridge: BRIDGE,
      confirmations: 0,
    });
    const t = { ...target, clientId: id };
    const attestAs = (o: Observation, vs: IslandValidator[]) =>
      run(
        'ibc',
        'attest',
        attestArgs(
          t,
          o,
          vs.map((v) => signAttestation(island.fx.profile, v.signer, t, o)),
        ),
      );
    const r = ok(
      await run('token', 'sendTransfer', {
        client: id,
        receiver: `0x${'34'.repeat(20)}`,
        amount: '1',
        timeoutHeight: 7000,
      }),
    );
    const seq = (r.result as { sequence: number }).sequence;
    // node4 holds 200 of 290 since the test above.
    const both = [node('node1'), node('node4')];
    const acked = ok(
      await attestAs(obs('ack', seq, ackCommitment(sha256, { result: null })), both),
    );
    assert.equal((acked.result as any).recorded, true);
    const absent = ok(
      await attestAs({ ...obs('receipt-absent', seq, ''), evmBlockNumber: 7000 }, both),
    );
    assert.deepEqual(
      (absent.result as any).conflicts,
      both.map((v) => v.address),
    );
    assert.equal((absent.result as any).frozen, true);
    assert.equal(ibc('client', { clientId: id }).status, 'frozen');
    const packet: Packet = ibc('packet', { client: id, sequence: seq });
    await refused(
      run('ibc', 'acknowledgePacket', { packet, ack: { result: null } }),
      'IBC_CLIENT_FROZEN',
    );
  });

  test('attest and recvPacket in one relay batch', async () => {
    const packet = evmPacket(6, 'weth', '3');
    const o = obs('commitment', 6, packetCommitment(sha256, packet));
    const list = ['node1', 'node2', 'node3', 'node4'].map((n) =>
      signAttestation(island.fx.profile, node(n).signer, target, o),
    );
    const before = balance(island.fx.client.address, voucher);
    const r = ok(
      await run('ibc', 'relay', {
        msgs: [
          { method: 'attest', args: attestArgs(target, o, list) },
          { method: 'recvPacket', args: { packet } },
        ],
      }),
    );
    assert.deepEqual(
      (r.result as any).results.map((x: { ok: boolean }) => x.ok),
      [true, true],
    );
    assert.equal(balance(island.fx.client.address, voucher), before + 3n);
  });
});

describe('attestation digest and a gm chain', () => {
  test('the preimage is the documented layout, byte for byte', () => {
    const f = {
      chainId: 'arch',
      clientId: 'evm-1',
      evmChainId: 31337n,
      bridge: new Uint8Array(20).fill(0xab),
      kind: 'ack' as const,
      sequence: 7,
      value: new Uint8Array(32).fill(0x11),
      evmBlockNumber: 300,
      evmBlockHash: new Uint8Array(32).fill(0x22),
      evmTime: 1_700_000_000_000,
    };
    const u64 = (n: number | bigint) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(n));
      return b;
    };
    const expected = Buffer.concat([
      Buffer.from('archipelago/attestation/v1'),
      Buffer.from([0, 4]),
      Buffer.from('arch'),
      Buffer.from([0, 5]),
      Buffer.from('evm-1'),
      u64(31337),
      Buffer.alloc(20, 0xab),
      Buffer.from([2]),
      u64(7),
      Buffer.from([0, 32]),
      Buffer.alloc(32, 0x11),
      u64(300),
      Buffer.alloc(32, 0x22),
      u64(1_700_000_000_000),
    ]);
    assert.equal(hex(attestationBytes(f)), expected.toString('hex'));
    assert.equal(hex(attestationDigest(sha256, f)), hex(sha256(new Uint8Array(expected))));
    const absent = attestationBytes({ ...f, kind: 'receipt-absent', value: new Uint8Array(0) });
    assert.equal(absent.length, expected.length - 32);
  });

  test('on a gm chain validators attest with SM2 over an SM3 digest', async () => {
    await initSandbox();
    const gm = makeIsland('arch-gm', 'gm');
    try {
      gm.commit();
      ok(
        await runTx(
          gm,
          'governance',
          'propose',
          {
            kind: 'ibc_create_client',
            args: {
              type: 'attested',
              clientId: CLIENT,
              chainId: '31337',
              counterpartyClientId: BRIDGE_CLIENT,
              bridge: BRIDGE,
              confirmations: 1,
            },
          },
          gm.fx.admin,
        ),
      );
      const t: AttestorTarget = {
        chainId: gm.chainId,
        clientId: CLIENT,
        evmChainId: 31337n,
        bridge: BRIDGE,
      };
      const o: Observation = {
        kind: 'commitment',
        sequence: 1,
        value: '5a'.repeat(32),
        evmBlockNumber: 10,
        evmBlockHash: `0x${'01'.repeat(32)}`,
        evmTime: 1_000,
      };
      const sign = (vs: IslandValidator[]) =>
        attestArgs(
          t,
          o,
          vs.map((v) => signAttestation(gm.fx.profile, v.signer, t, o)),
        );
      const two = ok(await runTx(gm, 'ibc', 'attest', sign(gm.validators.slice(0, 2))));
      assert.equal((two.result as any).recorded, false, '20 of 40');
      const three = ok(await runTx(gm, 'ibc', 'attest', sign(gm.validators.slice(2, 3))));
      assert.equal((three.result as any).recorded, true, '30 of 40');
      // A P-256 signature put under a gm validator's address does not verify.
      const p256 = getProfile('standard');
      const kp = p256.generateKeyPair();
      const foreign = signAttestation(p256, p256.signerFromPem(kp.privateKeyPem), t, o);
      const r = await runTx(
        gm,
        'ibc',
        'attest',
        attestArgs(t, o, [{ ...foreign, validator: gm.validators[3].address }]),
      );
      assert.equal(r.code, 'IBC_ATTESTATION_BAD_SIGNATURE');
    } finally {
      await gm.cleanup();
    }
  });
});
