/**
 * Islands for interchain tests: in-process chains on real LMDB files whose blocks carry real
 * precommits of their validators, so headers, commits and state proofs are what a relayer would
 * carry between two networks. Each island has its own chain id and crypto profile.
 */
import type { Chain } from '../../src/chain/chain.ts';
import { CommitSchema, create, encode, VoteType } from '../../src/codec/index.ts';
import { address, type Signer } from '../../src/crypto/profile.ts';
import { hex, unhex } from '../../src/types/hex.ts';
import type { ValidatorJson } from '../../src/types/rpc-json.ts';
import { voteBodyBytes } from '../../src/types/vote.ts';
import { type Fixture, makeFixture } from '../unit/chain-fixture.ts';

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
      const set = chain.validatorsAt(height);
      return {
        height,
        header: block.headerBytes,
        commit: hex(encode(CommitSchema, commit)),
        validators: set.map((v) => ({
          name: v.name,
          org: v.org,
          publicKey: hex(v.publicKey),
          power: Number(v.power),
        })),
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
