/**
 * The `ibc` contract's clients: one light client per counterparty chain, kept in state as a
 * ClientState and the ConsensusStates of the headers it verified (docs/INTERCHAIN.md, "Light
 * client"). Governance creates and recovers clients (proposal kinds `ibc_create_client`,
 * `ibc_recover_client`, run through `createClient` / `recoverClient` on a context derived for
 * `ibc`); relayers keep them updated; the packet methods prove state against them through
 * `activeClient`, `consensusAt` and `verifyMembership`.
 *
 * A client's status `expired` is never stored: it follows from this chain's block time and the
 * latest consensus state's time, so it needs no tx to happen (and a query sees it too).
 */
import { getProfile } from '../../../crypto/profile.ts';
import { proofFromJson, type StateProof, verifyProof } from '../../../state/proof.ts';
import { ArchiError } from '../../../types/errors.ts';
import { unhex } from '../../../types/hex.ts';
import { jsonBytes, parseJsonBytes, utf8Bytes } from '../../../types/json.ts';
import type { CallContext, NativeMethod } from '../../context.ts';
import { argsObject, onlyFields } from '../args.ts';
import { attestedClientState, isAttested, validateCreateAttested } from './attested-client.ts';
import type { ClientState } from './client-state.ts';
import { CLIENT_ID, keys } from './keys.ts';
import {
  type ConsensusState,
  consensusOf,
  DEFAULT_MAX_CLOCK_DRIFT_MS,
  type DecodedHeader,
  decodeHeader,
  type HeaderUpdate,
  parseValidators,
  type TrustOptions,
  validatorsHash,
  verifyUpdate,
} from './light-client.ts';

export type { ConsensusState } from './light-client.ts';

export type { ClientState, ClientType } from './client-state.ts';

export type ClientStatus = 'active' | 'frozen' | 'expired';

/** Longest trusting period a client may have (a year). */
export const MAX_TRUSTING_PERIOD_MS = 365 * 86_400_000;
/** Largest maxClockDriftMs (an hour). */
export const MAX_CLOCK_DRIFT_MS = 3_600_000;
/** Gas of one hash of a state proof's walk (a 65-byte node). */
export const PROOF_NODE_GAS = 200;
const LIST_LIMIT = 1000;

function invalid(message: string): never {
  throw new ArchiError('INVALID_ARGS', message);
}

function clientIdArg(v: unknown, what = 'clientId'): string {
  if (typeof v !== 'string' || !CLIENT_ID.test(v)) {
    invalid(`${what} must match ${CLIENT_ID.source}`);
  }
  return v;
}

function heightArg(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1) invalid(`${what} must be a positive integer`);
  return v as number;
}

function trustOf(c: ClientState): TrustOptions {
  return {
    chainId: c.chainId,
    profile: getProfile(c.profile),
    trustingPeriodMs: c.trustingPeriodMs,
    maxClockDriftMs: c.maxClockDriftMs,
  };
}

function loadClient(ctx: CallContext, clientId: string): ClientState | undefined {
  const v = ctx.get(keys.client(clientId));
  return v === undefined ? undefined : (parseJsonBytes(v, 'value', 'client') as ClientState);
}

function storeClient(ctx: CallContext, c: ClientState): void {
  ctx.set(keys.client(c.clientId), jsonBytes(c, 'value', 'client'));
}

function loadConsensus(
  ctx: CallContext,
  clientId: string,
  height: number,
): ConsensusState | undefined {
  const v = ctx.get(keys.consensus(clientId, height));
  return v === undefined ? undefined : (parseJsonBytes(v, 'value', 'consensus') as ConsensusState);
}

function storeConsensus(ctx: CallContext, clientId: string, cs: ConsensusState): void {
  ctx.set(keys.consensus(clientId, cs.height), jsonBytes(cs, 'value', 'consensus'));
}

function existingClient(ctx: CallContext, clientId: string): ClientState {
  const c = loadClient(ctx, clientId);
  if (!c) throw new ArchiError('IBC_CLIENT_NOT_FOUND', `no client ${clientId}`);
  return c;
}

/** A client's status at this block's time: frozen, expired (derived) or active. */
export function clientStatus(ctx: CallContext, c: ClientState): ClientStatus {
  if (c.frozenHeight > 0) return 'frozen';
  // No headers, so nothing to expire: attestations are as fresh as the validators make them.
  if (isAttested(c)) return 'active';
  const latest = loadConsensus(ctx, c.clientId, c.latestHeight);
  if (!latest || latest.time + c.trustingPeriodMs <= ctx.block.time) return 'expired';
  return 'active';
}

/** The client, if it exists and is active; IBC_CLIENT_NOT_FOUND / _FROZEN / _EXPIRED otherwise. */
export function activeClient(ctx: CallContext, clientId: string): ClientState {
  const c = existingClient(ctx, clientId);
  const status = clientStatus(ctx, c);
  if (status === 'frozen') {
    throw new ArchiError(
      'IBC_CLIENT_FROZEN',
      `client ${clientId} is frozen (conflicting headers at height ${c.frozenHeight}); governance must recover it`,
    );
  }
  if (status === 'expired') {
    throw new ArchiError(
      'IBC_CLIENT_EXPIRED',
      `client ${clientId} is expired (no update within its trusting period of ${c.trustingPeriodMs} ms); governance must recover it`,
    );
  }
  return c;
}

/** The client's consensus state at counterparty `height`; IBC_CONSENSUS_NOT_FOUND if none. */
export function consensusAt(ctx: CallContext, clientId: string, height: number): ConsensusState {
  const cs =
    Number.isSafeInteger(height) && height >= 1 ? loadConsensus(ctx, clientId, height) : undefined;
  if (!cs) {
    throw new ArchiError(
      'IBC_CONSENSUS_NOT_FOUND',
      `client ${clientId} has no consensus state at height ${height}; update the client to that height first`,
    );
  }
  return cs;
}

/**
 * Check that `proof` (a StateProofJson) shows the counterparty's full state key `fullKey`
 * (e.g. `ibc/commitments/...`) holding `value` (null: absent) under `consensus.stateRoot`,
 * hashed with the client's profile. Throws IBC_PROOF_INVALID, for a malformed proof too.
 */
export function verifyMembership(
  ctx: CallContext,
  client: ClientState,
  consensus: ConsensusState,
  fullKey: string,
  value: Uint8Array | null,
  proof: unknown,
): void {
  let parsed: StateProof;
  try {
    parsed = proofFromJson(proof);
  } catch (e) {
    throw new ArchiError('IBC_PROOF_INVALID', (e as Error).message);
  }
  // One hash per level of the walk, plus the key's path and the value's hash.
  ctx.gas((parsed.siblings.length + 2) * PROOF_NODE_GAS);
  const hash = getProfile(client.profile).hash;
  // The tree keys a value by the bytes of its full state key (chain.ts `prove`).
  const ok = verifyProof(
    (d) => hash(d),
    unhex(consensus.stateRoot),
    utf8Bytes(fullKey),
    value,
    parsed,
  );
  if (!ok) {
    throw new ArchiError(
      'IBC_PROOF_INVALID',
      `the proof does not show ${fullKey} ${value === null ? 'absent' : 'holding the expected value'} ` +
        `at height ${consensus.height} of ${client.chainId}`,
    );
  }
}

const UPDATE_FIELDS = ['header', 'commit', 'validators', 'trustedHeight', 'trustedValidators'];

/** One relayed header's fields out of `a` (whose other fields the caller checked). */
function headerUpdateArg(
  a: Record<string, unknown>,
  what: string,
): HeaderUpdate & { trustedHeight: number } {
  return {
    header: a.header,
    commit: a.commit,
    validators: a.validators,
    trustedValidators: a.trustedValidators,
    trustedHeight: heightArg(a.trustedHeight, `${what}.trustedHeight`),
  };
}

/** Verify one relayed header against the client's consensus state at its trustedHeight. */
function verifyAgainstClient(
  ctx: CallContext,
  c: ClientState,
  u: HeaderUpdate & { trustedHeight: number },
): ConsensusState {
  if (isAttested(c)) {
    throw new ArchiError(
      'IBC_CLIENT_TYPE_MISMATCH',
      `client ${c.clientId} is an attested client: it takes attestations (attest), not headers`,
    );
  }
  const trusted = consensusAt(ctx, c.clientId, u.trustedHeight);
  return verifyUpdate(trustOf(c), trusted, u, ctx.block.time, (n) => ctx.gas(n));
}

function freeze(ctx: CallContext, c: ClientState, height: number, hashes: string[]): void {
  c.frozenHeight = height;
  storeClient(ctx, c);
  ctx.emit('ClientFrozen', { clientId: c.clientId, height, blockHashes: hashes });
}

function updateClient(ctx: CallContext, args: unknown): unknown {
  const a = argsObject(args);
  onlyFields(a, ['clientId', ...UPDATE_FIELDS], 'updateClient');
  const clientId = clientIdArg(a.clientId);
  const u = headerUpdateArg(a, 'updateClient');
  const c = activeClient(ctx, clientId);
  const cs = verifyAgainstClient(ctx, c, u);
  // 6. A second, different header of a stored height is proof the counterparty forked.
  const stored = loadConsensus(ctx, clientId, cs.height);
  if (stored) {
    if (stored.blockHash === cs.blockHash)
      return { clientId, height: cs.height, result: 'unchanged' };
    freeze(ctx, c, cs.height, [stored.blockHash, cs.blockHash]);
    return { clientId, height: cs.height, result: 'frozen' };
  }
  storeConsensus(ctx, clientId, cs);
  if (cs.height > c.latestHeight) {
    c.latestHeight = cs.height;
    storeClient(ctx, c);
  }
  ctx.emit('ClientUpdated', { clientId, height: cs.height, blockHash: cs.blockHash });
  return { clientId, height: cs.height, result: 'updated' };
}

function submitMisbehaviour(ctx: CallContext, args: unknown): unknown {
  const a = argsObject(args);
  onlyFields(a, ['clientId', 'header1', 'header2'], 'submitMisbehaviour');
  const clientId = clientIdArg(a.clientId);
  const sides = (['header1', 'header2'] as const).map((what) => {
    const side = argsObject(a[what]);
    onlyFields(side, UPDATE_FIELDS, what);
    return headerUpdateArg(side, what);
  });
  const c = activeClient(ctx, clientId);
  const [cs1, cs2] = sides.map((u) => verifyAgainstClient(ctx, c, u));
  if (cs1.height !== cs2.height) {
    throw new ArchiError(
      'IBC_HEADER_INVALID',
      `misbehaviour needs two headers of one height, not ${cs1.height} and ${cs2.height}`,
    );
  }
  if (cs1.blockHash === cs2.blockHash) {
    throw new ArchiError(
      'IBC_HEADER_INVALID',
      'the two headers are the same block: no misbehaviour',
    );
  }
  freeze(ctx, c, cs1.height, [cs1.blockHash, cs2.blockHash]);
  return { clientId, height: cs1.height, result: 'frozen' };
}

/** What queries answer for a client: its state and its status now. */
function clientView(ctx: CallContext, c: ClientState): ClientState & { status: ClientStatus } {
  return { ...c, status: clientStatus(ctx, c) };
}

/** A governance-supplied trusted header: decoded, of the client's chain, naming `validators`. */
function trustedHeaderArg(
  ctx: CallContext,
  a: Record<string, unknown>,
  chainId: string,
  profileName: ClientState['profile'],
  kind: string,
): DecodedHeader {
  const profile = getProfile(profileName);
  const h = decodeHeader(profile, a.header, chainId);
  const set = parseValidators(a.validators, 'validators');
  if (validatorsHash(profile, set, (n) => ctx.gas(n)) !== consensusOf(h).validatorsHash) {
    throw new ArchiError(
      'IBC_HEADER_INVALID',
      `${kind}: validators do not hash to the validatorsHash of header ${h.height}`,
    );
  }
  return h;
}

function requireFresh(ctx: CallContext, h: DecodedHeader, trustingPeriodMs: number, kind: string) {
  if (h.time + trustingPeriodMs <= ctx.block.time) {
    throw new ArchiError(
      'IBC_CLIENT_EXPIRED',
      `${kind}: header ${h.height} (time ${h.time}) is already past a trusting period of ${trustingPeriodMs} ms`,
    );
  }
}

/**
 * The args of an `ibc_create_client` proposal, checked and normalized (ctx: a context for
 * `ibc`). Refuses a bad header or set, a taken clientId and an already expired header.
 */
export function validateCreateClient(ctx: CallContext, raw: unknown): Record<string, unknown> {
  const kind = 'ibc_create_client';
  const a = argsObject(raw);
  if (a.type === 'attested') {
    return validateCreateAttested(a, (id) => loadClient(ctx, id) !== undefined);
  }
  if (a.type !== undefined && a.type !== 'tendermint') {
    invalid(`${kind}: type must be tendermint (the default) or attested`);
  }
  onlyFields(
    a,
    [
      'clientId',
      'chainId',
      'profile',
      'counterpartyClientId',
      'trustingPeriodMs',
      'maxClockDriftMs',
      'header',
      'validators',
      'type',
    ],
    kind,
  );
  const clientId = clientIdArg(a.clientId, `${kind}: clientId`);
  if (typeof a.chainId !== 'string' || a.chainId.length === 0 || a.chainId.length > 128) {
    invalid(`${kind}: chainId must be a string of 1..128 characters`);
  }
  if (a.profile !== 'standard' && a.profile !== 'gm')
    invalid(`${kind}: profile must be standard or gm`);
  const counterpartyClientId = clientIdArg(a.counterpartyClientId, `${kind}: counterpartyClientId`);
  const period = a.trustingPeriodMs;
  if (
    !Number.isSafeInteger(period) ||
    (period as number) < 1 ||
    (period as number) > MAX_TRUSTING_PERIOD_MS
  ) {
    invalid(`${kind}: trustingPeriodMs must be an integer in 1..${MAX_TRUSTING_PERIOD_MS}`);
  }
  const drift = a.maxClockDriftMs ?? DEFAULT_MAX_CLOCK_DRIFT_MS;
  if (
    !Number.isSafeInteger(drift) ||
    (drift as number) < 0 ||
    (drift as number) > MAX_CLOCK_DRIFT_MS
  ) {
    invalid(`${kind}: maxClockDriftMs must be an integer in 0..${MAX_CLOCK_DRIFT_MS}`);
  }
  if (loadClient(ctx, clientId)) {
    throw new ArchiError('IBC_CLIENT_EXISTS', `${kind}: client ${clientId} already exists`);
  }
  const h = trustedHeaderArg(ctx, a, a.chainId, a.profile, kind);
  requireFresh(ctx, h, period as number, kind);
  return {
    clientId,
    chainId: a.chainId,
    profile: a.profile,
    counterpartyClientId,
    trustingPeriodMs: period,
    maxClockDriftMs: drift,
    header: (a.header as string).replace(/^0x/, '').toLowerCase(),
    validators: a.validators,
  };
}

/** Governance's action for an executed `ibc_create_client` (ctx: a context for `ibc`). */
export function createClient(ctx: CallContext, args: unknown): ClientState {
  const a = validateCreateClient(ctx, args);
  if (a.type === 'attested') {
    const attested = attestedClientState(a, ctx.block.height);
    storeClient(ctx, attested);
    ctx.emit('ClientCreated', {
      clientId: attested.clientId,
      chainId: attested.chainId,
      height: 0,
      type: 'attested',
    });
    return attested;
  }
  const c: ClientState = {
    clientId: a.clientId as string,
    chainId: a.chainId as string,
    profile: a.profile as ClientState['profile'],
    counterpartyClientId: a.counterpartyClientId as string,
    trustingPeriodMs: a.trustingPeriodMs as number,
    maxClockDriftMs: a.maxClockDriftMs as number,
    latestHeight: 0,
    frozenHeight: 0,
    createdAt: ctx.block.height,
  };
  const cs = consensusOf(decodeHeader(getProfile(c.profile), a.header, c.chainId));
  c.latestHeight = cs.height;
  storeConsensus(ctx, c.clientId, cs);
  storeClient(ctx, c);
  ctx.emit('ClientCreated', { clientId: c.clientId, chainId: c.chainId, height: cs.height });
  return c;
}

/**
 * The args of an `ibc_recover_client` proposal, checked and normalized (ctx: a context for
 * `ibc`): the client exists and is frozen or expired, and the header is above its latest height.
 */
export function validateRecoverClient(ctx: CallContext, raw: unknown): Record<string, unknown> {
  const kind = 'ibc_recover_client';
  const a = argsObject(raw);
  onlyFields(a, ['clientId', 'header', 'validators'], kind);
  const clientId = clientIdArg(a.clientId, `${kind}: clientId`);
  const c = existingClient(ctx, clientId);
  if (isAttested(c)) {
    throw new ArchiError(
      'IBC_CLIENT_TYPE_MISMATCH',
      `${kind}: client ${clientId} is an attested client: it has no header to trust again; create a new client`,
    );
  }
  if (clientStatus(ctx, c) === 'active') {
    invalid(`${kind}: client ${clientId} is active; only a frozen or expired client is recovered`);
  }
  const h = trustedHeaderArg(ctx, a, c.chainId, c.profile, kind);
  // Above every stored height: the new trust never sits between states of the old one.
  if (h.height <= c.latestHeight) {
    throw new ArchiError(
      'IBC_HEADER_INVALID',
      `${kind}: header height ${h.height} is not above the client's latest height ${c.latestHeight}`,
    );
  }
  requireFresh(ctx, h, c.trustingPeriodMs, kind);
  return {
    clientId,
    header: (a.header as string).replace(/^0x/, '').toLowerCase(),
    validators: a.validators,
  };
}

/** Governance's action for an executed `ibc_recover_client`: new trusted state, unfrozen. */
export function recoverClient(ctx: CallContext, args: unknown): ClientState {
  const a = validateRecoverClient(ctx, args);
  const c = existingClient(ctx, a.clientId as string);
  const cs = consensusOf(decodeHeader(getProfile(c.profile), a.header, c.chainId));
  storeConsensus(ctx, c.clientId, cs);
  c.latestHeight = cs.height;
  c.frozenHeight = 0;
  storeClient(ctx, c);
  ctx.emit('ClientRecovered', { clientId: c.clientId, height: cs.height });
  return c;
}

const write = (run: NativeMethod['run']): NativeMethod => ({ write: true, run });
const read = (run: NativeMethod['run']): NativeMethod => ({ write: false, run });

/** The client methods of the `ibc` contract. */
export const clientMethods: Record<string, NativeMethod> = {
  updateClient: write(updateClient),
  submitMisbehaviour: write(submitMisbehaviour),
  client: read((ctx, args) => {
    const a = argsObject(args);
    onlyFields(a, ['clientId'], 'client');
    return clientView(ctx, existingClient(ctx, clientIdArg(a.clientId)));
  }),
  clients: read((ctx, args) => {
    onlyFields(argsObject(args ?? {}), [], 'clients');
    return ctx
      .range('clients/', LIST_LIMIT)
      .map(([, v]) => clientView(ctx, parseJsonBytes(v, 'value', 'client') as ClientState));
  }),
  consensusState: read((ctx, args) => {
    const a = argsObject(args);
    onlyFields(a, ['clientId', 'height'], 'consensusState');
    const clientId = clientIdArg(a.clientId);
    existingClient(ctx, clientId);
    return consensusAt(ctx, clientId, heightArg(a.height, 'height'));
  }),
};
