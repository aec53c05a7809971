/**
 * Islands for interchain tests: in-process chains on real LMDB files whose blocks carry real
 * precommits of their validators, so headers, commits and state proofs are what a relayer would
 * carry between two networks. Each island has its own chain id and crypto profile. HandRelay
 * does a relayer's work between islands one tx at a time: clients created by governance and
 * updated, packets received and acknowledged with their proofs.
 */
import assert from 'node:assert/strict';
import type { Chain } from '../../src/chain/chain.ts';
import { CommitSchema, create, encode, VoteType } from '../../src/codec/index.ts';
import { address, type Signer } from '../../src/crypto/profile.ts';
import type { ReceiptJson } from '../../src/types/block.ts';
import { hex, unhex } from '../../src/types/hex.ts';
import type { ValidatorJson } from '../../src/types/rpc-json.ts';
import { voteBodyBytes } from '../../src/types/vote.ts';
import { type Ack, fullKey, keys, type Packet } from '../../src/vm/native/ibc/keys.ts';
import { type Fixture, type Member, makeFixture } from '../unit/chain-fixture.ts';

export interface IslandValidator {
  name: string;
  org: string;
  signer: Signer;
  publicKey: string;
  address: string;
  power: number;
}

/** What a relayer carries to update a client: the header and commit of one height, and its set. */
export interface HeaderAt {
  height: number;
  /** Hex of the encoded header (its hash is the block hash). */
  header: string;
  /** Hex of the encoded commit (+2/3 precommits of the block). */
  commit: string;
  /** The height's own validator set. */
  validators: ValidatorJson[];
}

export interface Island {
  fx: Fixture;
  chain: Chain;
  chainId: string;
  validators: IslandValidator[];
  /** Block time of the next commit; each commit moves it one second on. */
  time: number;
  /**
   * Cut and commit one block from the pool, signed by `signers` (default: every validator;
   * give fewer to make a commit without +2/3 for a refusal test). Returns its height.
   */
  commit(signers?: IslandValidator[]): number;
  /** Header, commit and validator set of a committed height (default: the latest). */
  headerAt(height?: number): HeaderAt;
  /** The value (hex or null) of a full state key at the latest height, with its proof. */
  prove(fullKey: string): ReturnType<Chain['stateWithProof']>;
  cleanup(): Promise<void>;
}

/**
 * Block times start at the wall clock: members stamp txs with Date.now() and a block refuses a
 * tx outside the chain's window (10 minutes) around its own time, so tests may move `time` on
 * by minutes, not days.
 */
const startTime = (): number => Math.floor(Date.now() / 1000) * 1000;

/** An island of `validators` validators (power 10 each) under `chainId` and `profile`. */
export function makeIsland(
  chainId: string,
  profileName: 'standard' | 'gm',
  opts: { validators?: number; orgs?: number; genesis?: Record<string, unknown> } = {},
): Island {
  const count = opts.validators ?? 4;
  // The fixture's own generator gives the keys the genesis needs; names follow node1..nodeN.
  const probe = makeFixture(profileName);
  const profile = probe.profile;
  void probe.cleanup();
  const validators: IslandValidator[] = Array.from({ length: count }, (_, i) => {
    const kp = profile.generateKeyPair();
    return {
      name: `node${i + 1}`,
      org: 'org1',
      signer: profile.signerFromPem(kp.privateKeyPem),
      publicKey: hex(kp.publicKey),
      address: address(profile, kp.publicKey),
      power: 10,
    };
  });
  const fx = makeFixture(profileName, {
    orgs: opts.orgs,
    genesis: {
      chainId,
      consensus: 'tbft',
      validators: validators.map((v) => ({
        name: v.name,
        org: v.org,
        publicKey: v.publicKey,
        power: v.power,
      })),
      ...opts.genesis,
    },
  });
  return islandOn(fx, fx.open(), chainId, validators, startTime());
}

/**
 * A second island with the same genesis, validators and members as `island`, on a chain of its
 * own whose blocks are `offsetMs` later: from its first block on its headers conflict with
 * `island`'s at every height, all signed by the same keys (misbehaviour, as a client sees it).
 */
export function twinIsland(island: Island, offsetMs = 500): Island {
  return islandOn(
    island.fx,
    island.fx.open(),
    island.chainId,
    island.validators,
    island.time + offsetMs,
  );
}

function islandOn(
  fx: Fixture,
  chain: Chain,
  chainId: string,
  validators: IslandValidator[],
  time: number,
): Island {
  const island: Island = {
    fx,
    chain,
    chainId,
    validators,
    time,
    commit(signers = validators) {
      const time = island.time;
      island.time += 1000;
      const p = chain.proposeBlock(
        time,
        unhex(validators[0].address),
        chain.seenCommitAt(chain.height),
      );
      const signatures = [...signers]
        .sort((a, b) => (a.address < b.address ? -1 : 1))
        .map((v) => {
          const validator = unhex(v.address);
          const body = voteBodyBytes(
            chainId,
            VoteType.PRECOMMIT,
            p.height,
            0,
            p.blockHash,
            time,
            validator,
          );
          return { validator, timestamp: BigInt(time), signature: v.signer.sign(body) };
        });
      chain.commitBlock(
        p,
        create(CommitSchema, {
          height: BigInt(p.height),
          round: 0,
          blockHash: p.blockHash,
          signatures,
        }),
      );
      return p.height;
    },
    headerAt(height = chain.height) {
      const block = chain.getBlock(height);
      const commit = chain.seenCommitAt(height);
      if (!commit) throw new Error(`no commit held for height ${height}`);
      return {
        height,
        header: block.headerBytes,
        commit: hex(encode(CommitSchema, commit)),
        validators: validatorSetAt(island, height),
      };
    },
    prove(fullKey) {
      const slash = fullKey.indexOf('/');
      return chain.stateWithProof(fullKey.slice(0, slash), fullKey.slice(slash + 1));
    },
    cleanup: () => fx.cleanup(),
  };
  return island;
}

/** The validator set ruling `height` of `island`, as a relayer carries it. */
export function validatorSetAt(island: Island, height: number): ValidatorJson[] {
  return island.chain.validatorsAt(height).map((v) => ({
    name: v.name,
    org: v.org,
    publicKey: hex(v.publicKey),
    power: Number(v.power),
  }));
}

/** updateClient args: `src`'s header at `height`, trusted from `trustedHeight`. */
export function updateClientArgs(
  clientId: string,
  src: Island,
  height: number,
  trustedHeight: number,
) {
  const h = src.headerAt(height);
  return {
    clientId,
    header: h.header,
    commit: h.commit,
    validators: h.validators,
    trustedHeight,
    trustedValidators: validatorSetAt(src, trustedHeight + 1),
  };
}

/** The `ibc_create_client` args of a client of `src` trusting its header at `height`. */
export function createClientArgs(
  clientId: string,
  src: Island,
  height: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const h = src.headerAt(height);
  return {
    clientId,
    chainId: src.chainId,
    profile: src.fx.profile.name,
    counterpartyClientId: 'counterparty',
    trustingPeriodMs: 3_600_000,
    // Islands' clocks move one second per block, so they drift apart in long tests.
    maxClockDriftMs: 600_000,
    header: h.header,
    validators: h.validators,
    ...extra,
  };
}

/** Asserts that a tx succeeded (its code and message otherwise); returns its receipt. */
export function ok(r: ReceiptJson): ReceiptJson {
  assert.equal(r.status, 'ok', `${r.code}: ${r.message}`);
  return r;
}

/** Sends one tx on `island` as `who`, commits it in a block and resolves to its receipt. */
export type RunTx = (
  island: Island,
  contract: string,
  method: string,
  args: unknown,
  who?: Member,
) => Promise<ReceiptJson>;

/** The plain RunTx: `who` (default the island's client) sends, the island commits a block. */
export async function runTx(
  island: Island,
  contract: string,
  method: string,
  args: unknown,
  who: Member = island.fx.client,
  gasLimit?: bigint,
): Promise<ReceiptJson> {
  const id = await who.send(island.chain, { contract, method, args, gasLimit });
  island.commit();
  return island.chain.getTx(id).receipt;
}

/** A state proof of a full key, as Island.prove gives it. */
export type Proven = ReturnType<Island['prove']>;

const ibcQuery = (island: Island, method: string, args: unknown): any =>
  island.chain.query('ibc', method, args, false).result;

/**
 * A relayer's steps done by hand, each tx through `run` (a test that checks something after
 * every block passes its own). Every step must succeed: a refusal fails the test.
 */
export class HandRelay {
  constructor(private readonly run: RunTx = runTx) {}

  /** Governance on `host` creates its client `clientId` of `src`, trusting src's latest header. */
  async createClient(
    host: Island,
    clientId: string,
    src: Island,
    counterpartyClientId: string,
  ): Promise<ReceiptJson> {
    const args = createClientArgs(clientId, src, src.chain.height, { counterpartyClientId });
    return ok(
      await this.run(
        host,
        'governance',
        'propose',
        { kind: 'ibc_create_client', args },
        host.fx.admin,
      ),
    );
  }

  /** Clients both ways: `x`'s client `xy` of `y` and `y`'s client `yx` of `x`. */
  async connect(x: Island, y: Island, xy: string, yx: string): Promise<void> {
    await this.createClient(x, xy, y, yx);
    await this.createClient(y, yx, x, xy);
  }

  /** Bring `host`'s client `clientId` of `src` up to src's `height` (if it is behind). */
  async updateClient(host: Island, clientId: string, src: Island, height = src.chain.height) {
    const trusted = ibcQuery(host, 'client', { clientId }).latestHeight as number;
    if (height <= trusted) return;
    ok(
      await this.run(host, 'ibc', 'updateClient', updateClientArgs(clientId, src, height, trusted)),
    );
  }

  /** A state proof of `src`'s key at its latest height, with `host`'s client brought there. */
  async prove(host: Island, clientId: string, src: Island, key: string): Promise<Proven> {
    const p = src.prove(fullKey(key));
    await this.updateClient(host, clientId, src, p.height);
    return p;
  }

  /** recvPacket args for `dst`: `src`'s pending packet `seq` and the proof of its commitment. */
  async recvArgs(src: Island, dst: Island, srcClient: string, dstClient: string, seq: number) {
    const packet: Packet = ibcQuery(src, 'packet', { client: srcClient, sequence: seq });
    assert.ok(packet, `packet ${srcClient}/${seq} is pending on ${src.chainId}`);
    const p = await this.prove(dst, dstClient, src, keys.commitment(srcClient, seq));
    assert.ok(p.value !== null);
    return { packet, proof: p.proof, proofHeight: p.height };
  }

  /** Relay `src`'s packet `seq` to `dst` (recvPacket); the packet, the ack written, the receipt. */
  async deliver(src: Island, dst: Island, srcClient: string, dstClient: string, seq: number) {
    const args = await this.recvArgs(src, dst, srcClient, dstClient, seq);
    const receipt = ok(await this.run(dst, 'ibc', 'recvPacket', args));
    return { packet: args.packet, ack: (receipt.result as { ack: Ack }).ack, receipt };
  }

  /** acknowledgePacket args for `src`: `dst`'s ack of `packet` and the proof of it. */
  async ackArgs(src: Island, dst: Island, srcClient: string, dstClient: string, packet: Packet) {
    const ack: Ack = ibcQuery(dst, 'ack', { client: dstClient, sequence: packet.sequence });
    assert.ok(ack, `${dst.chainId} wrote an ack for ${packet.sequence}`);
    const p = await this.prove(src, srcClient, dst, keys.ack(dstClient, packet.sequence));
    return { packet, ack, proof: p.proof, proofHeight: p.height };
  }

  /** Relay the ack of a delivered packet back to its sender (acknowledgePacket); the receipt. */
  async acknowledge(
    src: Island,
    dst: Island,
    srcClient: string,
    dstClient: string,
    packet: Packet,
  ): Promise<ReceiptJson> {
    const args = await this.ackArgs(src, dst, srcClient, dstClient, packet);
    return ok(await this.run(src, 'ibc', 'acknowledgePacket', args));
  }
}
