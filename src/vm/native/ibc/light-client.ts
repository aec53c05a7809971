/**
 * The `ibc` contract's light client of a counterparty chain: pure checks of what a relayer
 * carries (header bytes, commit bytes, validator sets) against a trusted consensus state, by
 * Tendermint's light-client rules (docs/INTERCHAIN.md, "Light client"). No state access: the
 * caller (client.ts) loads and stores consensus states.
 *
 * Everything is hashed and verified with the counterparty's crypto profile, never this chain's:
 * a standard chain checks a gm chain's SM3 hashes and SM2 signatures and the other way round.
 * Inputs come from anyone, so every size is bounded and every signature check is paid for in
 * gas before it runs.
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
} from '../../../codec/index.ts';
import type { CryptoProfile } from '../../../crypto/profile.ts';
import { MAX_POWER } from '../../../types/governance.ts';
import { ArchiError } from '../../../types/errors.ts';
import { hex, unhex } from '../../../types/hex.ts';
import { tallyCommit, validatorsRoot } from '../../../types/vote.ts';

/** Largest validator set a client accepts (a consortium's sets are far smaller). */
export const MAX_VALIDATORS = 256;
/** Largest encoded header (a real one is about 330 bytes plus the chain id). */
export const MAX_HEADER_BYTES = 2048;
/** Largest encoded commit: MAX_VALIDATORS precommits of about 110 bytes each, with room. */
export const MAX_COMMIT_BYTES = 64 * 1024;
/**
 * Gas of one signature check. Measured: an SM2 verification takes about 0.43 ms, a P-256 one
 * about 0.16 ms; at the sandbox's rate (GAS.interruptTick, 12,500 gas per ~0.25 ms, so 50,000
 * gas per ms) the slower profile's check costs ~21,500 gas. One price for both profiles, so a
 * relayer's gas does not depend on which side it updates.
 */
export const SIG_CHECK_GAS = 25_000;
/** Gas of hashing one validator of a set (encoding plus a merkle leaf and node). */
export const VALIDATOR_HASH_GAS = 100;
/** maxClockDriftMs when a create_client proposal gives none. */
export const DEFAULT_MAX_CLOCK_DRIFT_MS = 10_000;
/** Largest total power: 3 * total stays an exact integer (as membership.ts keeps it). */
const MAX_TOTAL_POWER = Math.floor(Number.MAX_SAFE_INTEGER / 3);

/** What a client keeps of one verified counterparty header (byte fields in lower-case hex). */
export interface ConsensusState {
  height: number;
  /** The header's block time, ms. */
  time: number;
  blockHash: string;
  stateRoot: string;
  validatorsHash: string;
  nextValidatorsHash: string;
}

/** The trust a client extends: the counterparty's identity and its time limits. */
export interface TrustOptions {
  chainId: string;
  profile: CryptoProfile;
  trustingPeriodMs: number;
  maxClockDriftMs: number;
}

/** One header as a relayer carries it (args of updateClient, or one side of misbehaviour). */
export interface HeaderUpdate {
  header: unknown;
  commit: unknown;
  validators: unknown;
  trustedValidators: unknown;
}

/** A decoded counterparty header with the hash of its bytes. */
export interface DecodedHeader {
  header: Header;
  blockHash: Uint8Array;
  height: number;
  time: number;
}

function bad(message: string): never {
  throw new ArchiError('IBC_HEADER_INVALID', message);
}

function bytesArg(text: unknown, max: number, what: string): Uint8Array {
  if (typeof text !== 'string' || text.length === 0) bad(`${what} must be a hex string`);
  if (text.length > 2 * max + 2) bad(`${what} is longer than ${max} bytes`);
  try {
    return unhex(text, what);
  } catch {
    return bad(`${what} is not valid hex`);
  }
}

/**
 * The header of `headerHex` (hash of its bytes = block hash) if it is a well-formed header of
 * chain `chainId`; IBC_HEADER_INVALID otherwise.
 */
export function decodeHeader(
  profile: CryptoProfile,
  headerHex: unknown,
  chainId: string,
): DecodedHeader {
  const bytes = bytesArg(headerHex, MAX_HEADER_BYTES, 'header');
  let header: Header;
  try {
    header = decode(HeaderSchema, bytes);
  } catch (e) {
    return bad(`header does not decode: ${(e as Error).message}`);
  }
  if (header.chainId !== chainId) {
    bad(`header is of chain ${JSON.stringify(header.chainId)}, the client follows ${chainId}`);
  }
  const height = Number(header.height);
  const time = Number(header.time);
  if (!Number.isSafeInteger(height) || height < 1) bad('header height is out of range');
  if (!Number.isSafeInteger(time) || time < 1) bad('header time is out of range');
  for (const [name, field] of [
    ['stateRoot', header.stateRoot],
    ['validatorsHash', header.validatorsHash],
    ['nextValidatorsHash', header.nextValidatorsHash],
  ] as const) {
    if (field.length !== 32) bad(`header ${name} is not 32 bytes`);
  }
  return { header, blockHash: profile.hash(bytes), height, time };
}

/** The consensus state a verified header leaves. */
export function consensusOf(h: DecodedHeader): ConsensusState {
  return {
    height: h.height,
    time: h.time,
    blockHash: hex(h.blockHash),
    stateRoot: hex(h.header.stateRoot),
    validatorsHash: hex(h.header.validatorsHash),
    nextValidatorsHash: hex(h.header.nextValidatorsHash),
  };
}

const VALIDATOR_FIELDS = ['name', 'org', 'publicKey', 'power'];

/**
 * A validator set from its JSON (`[{name, org, publicKey, power}]`, as GET /v1/validators
 * answers): non-empty, at most MAX_VALIDATORS, no key twice; IBC_HEADER_INVALID otherwise.
 */
export function parseValidators(list: unknown, what: string): Validator[] {
  if (!Array.isArray(list) || list.length === 0) bad(`${what} must be a non-empty list`);
  if (list.length > MAX_VALIDATORS) bad(`${what} has more than ${MAX_VALIDATORS} validators`);
  const keys = new Set<string>();
  let total = 0;
  const set = list.map((v, i) => {
    const at = `${what}[${i}]`;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(`${at} must be an object`);
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!VALIDATOR_FIELDS.includes(k)) bad(`${at} has an unknown field ${JSON.stringify(k)}`);
    }
    for (const k of ['name', 'org'] as const) {
      if (typeof o[k] !== 'string' || (o[k] as string).length > 256) {
        bad(`${at}.${k} must be a string of at most 256 characters`);
      }
    }
    const publicKey = bytesArg(o.publicKey, 256, `${at}.publicKey`);
    const power = o.power;
    if (!Number.isSafeInteger(power) || (power as number) < 1 || (power as number) > MAX_POWER) {
      bad(`${at}.power must be an integer in 1..${MAX_POWER}`);
    }
    const key = hex(publicKey);
    if (keys.has(key)) bad(`${what} lists one public key twice`);
    keys.add(key);
    total += power as number;
    return create(ValidatorSchema, {
      name: o.name as string,
      org: o.org as string,
      publicKey,
      power: BigInt(power as number),
    });
  });
  if (total > MAX_TOTAL_POWER) bad(`${what} has a total power above ${MAX_TOTAL_POWER}`);
  return set;
}

/** Hex of a set's merkle root under `profile`, charging `gas` per validator. */
export function validatorsHash(
  profile: CryptoProfile,
  set: Validator[],
  gas: (amount: number) => void,
): string {
  gas(set.length * VALIDATOR_HASH_GAS);
  return hex(validatorsRoot(profile, set));
}

function decodeCommit(commitHex: unknown): Commit {
  const bytes = bytesArg(commitHex, MAX_COMMIT_BYTES, 'commit');
  let commit: Commit;
  try {
    commit = decode(CommitSchema, bytes);
  } catch (e) {
    return bad(`commit does not decode: ${(e as Error).message}`);
  }
  if (commit.signatures.length > MAX_VALIDATORS) {
    bad(`commit carries more than ${MAX_VALIDATORS} signatures`);
  }
  return commit;
}

/**
 * Verify `update` against the consensus state `trusted` at block time `now` (steps 1-5 of
 * docs/INTERCHAIN.md, "Light client") and return the consensus state it proves. Charges
 * SIG_CHECK_GAS per signature check through `gas`. Throws IBC_CLIENT_EXPIRED,
 * IBC_HEADER_INVALID or IBC_INSUFFICIENT_POWER.
 */
export function verifyUpdate(
  trust: TrustOptions,
  trusted: ConsensusState,
  update: HeaderUpdate,
  now: number,
  gas: (amount: number) => void,
): ConsensusState {
  const { profile } = trust;
  // 1. Trust in `trusted` lasts trustingPeriodMs from its own time.
  if (trusted.time + trust.trustingPeriodMs <= now) {
    throw new ArchiError(
      'IBC_CLIENT_EXPIRED',
      `the consensus state at height ${trusted.height} is past the trusting period ` +
        `(${trusted.time} + ${trust.trustingPeriodMs} <= ${now}); update from a newer height or recover the client`,
    );
  }
  // 2. The header itself.
  const h = decodeHeader(profile, update.header, trust.chainId);
  if (h.height <= trusted.height) {
    bad(`header height ${h.height} is not above the trusted height ${trusted.height}`);
  }
  if (h.time <= trusted.time) {
    bad(`header time ${h.time} is not after the trusted time ${trusted.time}`);
  }
  if (h.time > now + trust.maxClockDriftMs) {
    bad(`header time ${h.time} is more than ${trust.maxClockDriftMs} ms past this block's ${now}`);
  }
  // 3. The sets it names, and the one the trusted header named for the next height.
  const validators = parseValidators(update.validators, 'validators');
  if (validatorsHash(profile, validators, gas) !== hex(h.header.validatorsHash)) {
    bad(`validators do not hash to the validatorsHash of header ${h.height}`);
  }
  const trustedValidators = parseValidators(update.trustedValidators, 'trustedValidators');
  if (validatorsHash(profile, trustedValidators, gas) !== trusted.nextValidatorsHash) {
    bad(
      `trustedValidators do not hash to the nextValidatorsHash of the trusted height ${trusted.height}`,
    );
  }
  const adjacent = h.height === trusted.height + 1;
  // 5 (the cheap half first): an adjacent header must be signed by the set the trusted one named.
  if (adjacent && hex(h.header.validatorsHash) !== trusted.nextValidatorsHash) {
    bad(
      `header ${h.height} names a validator set other than the one height ${trusted.height} named`,
    );
  }
  // 4. +2/3 of the header's own set signed it.
  const commit = decodeCommit(update.commit);
  const verified = new Set<string>();
  const opts = { verified, beforeVerify: () => gas(SIG_CHECK_GAS) };
  const own = tallyCommit(profile, trust.chainId, validators, commit, h.height, h.blockHash, opts);
  if (!own.ok) bad(`commit of header ${h.height} does not verify: ${own.reason}`);
  if (own.signedPower * 3 <= own.totalPower * 2) {
    throw new ArchiError(
      'IBC_INSUFFICIENT_POWER',
      `only ${own.signedPower} of ${own.totalPower} voting power signed header ${h.height} (more than 2/3 needed)`,
    );
  }
  // 5. Skipping: more than 1/3 of the trusted set vouches, so at least one honest one does.
  if (!adjacent) {
    const old = tallyCommit(
      profile,
      trust.chainId,
      trustedValidators,
      commit,
      h.height,
      h.blockHash,
      opts,
    );
    if (!old.ok) bad(`commit of header ${h.height} does not verify: ${old.reason}`);
    if (old.signedPower * 3 <= old.totalPower) {
      throw new ArchiError(
        'IBC_INSUFFICIENT_POWER',
        `only ${old.signedPower} of ${old.totalPower} power of the set trusted at height ${trusted.height} ` +
          `signed header ${h.height} (more than 1/3 needed to skip); update through a height between`,
      );
    }
  }
  return consensusOf(h);
}
