/**
 * Client-side checks of node answers: a block header binds a state root, and state proofs
 * bind values to that root, so a client that trusts a block hash (or a validator set that
 * signed it) needs to trust nothing else the node says about state.
 */
import {
  type Commit,
  CommitSchema,
  create,
  decode,
  type Header,
  HeaderSchema,
  type Validator,
  ValidatorSchema,
} from '../codec/index.ts';
import type { CryptoProfile } from '../crypto/profile.ts';
import { proofFromJson, type StateProof, verifyProof } from '../state/proof.ts';
import type { CommitJson } from '../types/block.ts';
import { ArchiError } from '../types/errors.ts';
import { hex, unhex } from '../types/hex.ts';
import { utf8Bytes } from '../types/json.ts';
import { verifyCommit } from '../types/vote.ts';
import { proofInvalid } from './errors.ts';
import type { BlockJson, ProvenRead, QueryProof, StateAnswer } from './types.ts';

/** A validator as codec message or as JSON (public key in hex). */
export type ValidatorInput =
  | Validator
  | { name: string; org: string; publicKey: string | Uint8Array; power: number | string | bigint };

/** What a successful verification established. */
export interface VerifiedState {
  height: number;
  stateRoot: string;
  blockHash: string;
  /** Number of state reads checked. */
  reads: number;
  /** Whether the block's commit was checked against a validator set. */
  commitChecked: boolean;
}

function bytesOf(text: unknown, what: string): Uint8Array {
  if (typeof text !== 'string') throw proofInvalid(`${what} is missing`);
  try {
    return unhex(text, what);
  } catch {
    throw proofInvalid(`${what} is not valid hex`);
  }
}

/** Codec Commit from its JSON view. */
export function commitFromJson(c: CommitJson): Commit {
  try {
    return create(CommitSchema, {
      height: BigInt(c.height),
      round: c.round,
      blockHash: unhex(c.blockHash, 'commit blockHash'),
      signatures: c.signatures.map((s) => ({
        validator: unhex(s.validator, 'commit validator'),
        timestamp: BigInt(s.timestamp),
        signature: unhex(s.signature, 'commit signature'),
      })),
    });
  } catch (e) {
    throw proofInvalid(`malformed commit: ${(e as Error).message}`);
  }
}

/** Codec Validator list from messages or JSON entries. */
export function validatorsFromInput(list: ValidatorInput[]): Validator[] {
  return list.map((v) => {
    if ((v as Validator).$typeName === ValidatorSchema.typeName) return v as Validator;
    const pub = v.publicKey;
    return create(ValidatorSchema, {
      name: v.name,
      org: v.org,
      publicKey: typeof pub === 'string' ? unhex(pub, `validator ${v.name} publicKey`) : pub,
      power: BigInt(v.power),
    });
  });
}

/**
 * The header of `block`, decoded from its bytes (whose hash must be the block's hash), at
 * `height`; given validators, its commit must carry +2/3 of their power. Throws PROOF_INVALID.
 */
export function verifyHeader(
  profile: CryptoProfile,
  block: BlockJson,
  height: number,
  validators?: ValidatorInput[],
): { header: Header; blockHash: Uint8Array } {
  if (typeof block !== 'object' || block === null)
    throw proofInvalid(`no block at height ${height}`);
  const unreadable = (why: string) => proofInvalid(`block ${height}: unreadable header: ${why}`);
  let headerBytes: Uint8Array;
  try {
    headerBytes = bytesOf(block.headerBytes, 'block headerBytes');
  } catch (e) {
    throw unreadable((e as Error).message);
  }
  const blockHash = profile.hash(headerBytes);
  if (typeof block.hash !== 'string' || hex(blockHash) !== block.hash.toLowerCase()) {
    throw proofInvalid('block hash does not match the hash of its header bytes');
  }
  let header: Header;
  try {
    header = decode(HeaderSchema, headerBytes);
  } catch (e) {
    throw unreadable((e as Error).message);
  }
  if (Number(header.height) !== height) {
    throw proofInvalid(`expected height ${height} but the block header is at ${header.height}`);
  }
  if (validators) {
    let set: Validator[];
    try {
      set = validatorsFromInput(validators);
    } catch (e) {
      throw new ArchiError('BAD_REQUEST', `bad validator set: ${(e as Error).message}`);
    }
    verifyBlockCommit(profile, block, header, blockHash, set);
  }
  return { header, blockHash };
}

/** The block's commit carries +2/3 of the power of `set` for `header`. Throws PROOF_INVALID. */
export function verifyBlockCommit(
  profile: CryptoProfile,
  block: BlockJson,
  header: Header,
  blockHash: Uint8Array,
  set: Validator[],
): void {
  if (!block.commit) throw proofInvalid(`block ${header.height} carries no commit to check`);
  const check = verifyCommit(
    profile,
    header.chainId,
    set,
    commitFromJson(block.commit),
    Number(header.height),
    blockHash,
  );
  if (!check.ok)
    throw proofInvalid(`commit of block ${header.height} does not verify: ${check.reason}`);
}

/** verifyHeader, plus the header's state root must be `stateRoot`. */
function checkBlock(
  profile: CryptoProfile,
  block: BlockJson,
  height: number,
  stateRoot: string,
  validators?: ValidatorInput[],
): { header: Header; blockHash: Uint8Array } {
  const checked = verifyHeader(profile, block, height, validators);
  if (typeof stateRoot !== 'string' || hex(checked.header.stateRoot) !== stateRoot.toLowerCase()) {
    throw proofInvalid(`proof state root does not match the state root in block ${height}`);
  }
  return checked;
}

function checkRead(profile: CryptoProfile, root: Uint8Array, read: ProvenRead): void {
  if (typeof read !== 'object' || read === null || typeof read.key !== 'string') {
    throw proofInvalid('malformed read in proof');
  }
  const value = read.value === null ? null : bytesOf(read.value, `value of ${read.key}`);
  let proof: StateProof;
  try {
    proof = proofFromJson(read.proof);
  } catch (e) {
    throw proofInvalid(`proof of ${read.key}: ${(e as Error).message}`);
  }
  const hash = (d: Uint8Array): Uint8Array => profile.hash(d);
  if (!verifyProof(hash, root, utf8Bytes(read.key), value, proof)) {
    const claim = value === null ? 'absence' : 'value';
    throw proofInvalid(`proof of the ${claim} of ${JSON.stringify(read.key)} does not verify`);
  }
}

/**
 * Verify a query proof against the block at its height: block hash, header height and
 * state root, every read (null value = non-membership) and, given validators, the commit.
 * Throws ArchiError PROOF_INVALID.
 */
export function verifyQueryProof(
  profile: CryptoProfile,
  block: BlockJson,
  proof: QueryProof,
  validators?: ValidatorInput[],
): VerifiedState {
  if (typeof proof !== 'object' || proof === null || !Array.isArray(proof.reads)) {
    throw proofInvalid('malformed query proof');
  }
  const { header, blockHash } = checkBlock(
    profile,
    block,
    proof.height,
    proof.stateRoot,
    validators,
  );
  for (const read of proof.reads) checkRead(profile, header.stateRoot, read);
  return {
    height: Number(header.height),
    stateRoot: hex(header.stateRoot),
    blockHash: hex(blockHash),
    reads: proof.reads.length,
    commitChecked: validators !== undefined,
  };
}

/**
 * Verify a /v1/state answer against the block at its height, optionally insisting on the
 * state key it is about (`contract/key`). Throws ArchiError PROOF_INVALID.
 */
export function verifyStateProof(
  profile: CryptoProfile,
  block: BlockJson,
  answer: StateAnswer,
  validators?: ValidatorInput[],
  expectedKey?: string,
): VerifiedState {
  if (typeof answer !== 'object' || answer === null) throw proofInvalid('malformed state answer');
  if (expectedKey !== undefined && answer.key !== expectedKey) {
    throw proofInvalid(
      `answer is about ${JSON.stringify(answer.key)}, not ${JSON.stringify(expectedKey)}`,
    );
  }
  const { header, blockHash } = checkBlock(
    profile,
    block,
    answer.height,
    answer.stateRoot,
    validators,
  );
  checkRead(profile, header.stateRoot, answer);
  return {
    height: Number(header.height),
    stateRoot: hex(header.stateRoot),
    blockHash: hex(blockHash),
    reads: 1,
    commitChecked: validators !== undefined,
  };
}
