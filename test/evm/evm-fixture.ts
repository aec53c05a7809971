/**
 * An Archipelago island (test/vm/ibc-fixture.ts: an in-process chain whose blocks carry real
 * P-256 precommits) with four validators of unequal power, and the commits a test needs to
 * sign by hand: by any subset of the set, or with a key outside it.
 */
import { CommitSchema, create, encode, VoteType } from '../../src/codec/index.ts';
import { address, getProfile } from '../../src/crypto/profile.ts';
import type { HeaderInput } from '../../src/evm/encode.ts';
import { hex, unhex } from '../../src/types/hex.ts';
import type { ValidatorJson } from '../../src/types/rpc-json.ts';
import { voteBodyBytes } from '../../src/types/vote.ts';
import {
  type Island,
  type IslandValidator,
  makeIsland,
  ok,
  runTx,
  validatorSetAt,
} from '../vm/ibc-fixture.ts';

/** Powers of node1..node4 once `unequalIsland` is ready: 100 in all, 2/3 needs more than 66.67. */
export const POWERS = [40, 30, 20, 10];

/** A governance change by org1's admin (one org: it executes in the proposing tx). */
export async function propose(island: Island, kind: string, args: unknown): Promise<void> {
  ok(await runTx(island, 'governance', 'propose', { kind, args }, island.fx.admin));
}

/**
 * A standard island whose four validators hold POWERS (set by governance; the change rules from
 * two blocks after the one executing it), committed until that set signs.
 */
export async function unequalIsland(chainId: string): Promise<Island> {
  const island = makeIsland(chainId, 'standard');
  island.commit();
  for (let i = 0; i < 4; i++) {
    if (POWERS[i] !== 10) {
      await propose(island, 'set_validator_power', { name: `node${i + 1}`, power: POWERS[i] });
    }
  }
  island.commit();
  island.commit();
  return island;
}

/** A new P-256 validator key (not in any set until governance adds it). */
export function newValidator(name: string, power: number): IslandValidator {
  const p = getProfile('standard');
  const kp = p.generateKeyPair();
  return {
    name,
    org: 'org1',
    signer: p.signerFromPem(kp.privateKeyPem),
    publicKey: hex(kp.publicKey),
    address: address(p, kp.publicKey),
    power,
  };
}

/** The validator of `island` named `name`. */
export function validator(island: Island, name: string): IslandValidator {
  const v = island.validators.find((x) => x.name === name);
  if (!v) throw new Error(`no validator ${name}`);
  return v;
}

/** A commit of `height` (its real block hash unless `blockHash` is given) signed by `signers`. */
export function commitBy(
  island: Island,
  height: number,
  signers: IslandValidator[],
  blockHash: Uint8Array = unhex(island.chain.getBlock(height).hash),
): string {
  const time = Number(island.chain.getBlock(height).header.time);
  const signatures = signers.map((v) => {
    const validator = unhex(v.address);
    const body = voteBodyBytes(
      island.chainId,
      VoteType.PRECOMMIT,
      height,
      0,
      blockHash,
      time,
      validator,
    );
    return { validator, timestamp: BigInt(time), signature: v.signer.sign(body) };
  });
  return hex(
    encode(
      CommitSchema,
      create(CommitSchema, { height: BigInt(height), round: 0, blockHash, signatures }),
    ),
  );
}

/** What the light client takes for `height`: its header, its real commit, its set. */
export function headerInput(island: Island, height: number): HeaderInput {
  const h = island.headerAt(height);
  return { header: h.header, commit: h.commit, validators: h.validators };
}

/** The set that signs `height + 1` (the header's next set). */
export function nextSet(island: Island, height: number): ValidatorJson[] {
  return validatorSetAt(island, height + 1);
}
