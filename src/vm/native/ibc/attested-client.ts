/**
 * Attested clients (docs/BRIDGE.md, "Attested client"): a client of an EVM chain that has no
 * finality proof to verify. Instead of headers and state proofs it holds facts about the
 * bridge contract's storage that validators of this chain holding more than 2/3 of the power
 * each signed from their own view of the EVM chain: a packet commitment, an ack commitment,
 * a receipt's absence past a packet's timeout. The packet methods check those facts where a
 * Tendermint-style client checks a proof (packets.ts routes by client type).
 *
 * A light client of a real finality gadget replaces this by being another client type whose
 * facts come from proofs: the packet methods only ask `requireFact` / `verifyMembership`.
 */
import { address, getProfile } from '../../../crypto/profile.ts';
import { ArchiError } from '../../../types/errors.ts';
import { hex, unhex } from '../../../types/hex.ts';
import { jsonBytes, parseJsonBytes } from '../../../types/json.ts';
import type { CallContext, NativeMethod } from '../../context.ts';
import { argsObject, onlyFields } from '../args.ts';
import {
  type AttestationFields,
  attestationDigest,
  FACT_KINDS,
  type FactKind,
} from './attestation-digest.ts';
import type { ClientState } from './client-state.ts';
import { CLIENT_ID, keys, type Packet } from './keys.ts';
import { SIG_CHECK_GAS } from './light-client.ts';

/** Most attestations one `attest` call carries (a validator set's size bound). */
export const MAX_ATTESTATIONS = 256;
/** Largest `confirmations` a client may ask attestors to wait (about two days of 12 s blocks). */
export const MAX_CONFIRMATIONS = 16_384;
const MAX_SIGNATURE_BYTES = 128;

/** One validator's attestation as stored (hex fields). */
export interface AttestationRecord {
  kind: FactKind;
  value: string;
  evmBlockNumber: number;
  evmBlockHash: string;
  evmTime: number;
  signature: string;
  /** The validator's power when it attested (what it added to the tally). */
  power: string;
  /** This chain's height when it was counted. */
  height: number;
}

/** A fact once more than 2/3 of the power attested it. */
export interface RecordedFact {
  kind: FactKind;
  sequence: number;
  value: string;
  /** Power behind the value when it was recorded, and the total it was measured against. */
  power: string;
  totalPower: string;
  /** The lowest EVM block number and time among the attestations counted. */
  evmBlockNumber: number;
  evmTime: number;
  /** This chain's height when it was recorded. */
  height: number;
}

interface Tally {
  power: string;
  evmBlockNumber: number;
  evmTime: number;
}

/** One signature of an `attest` call, parsed. */
interface AttestationArg {
  validator: string;
  evmBlockNumber: number;
  evmBlockHash: Uint8Array;
  evmTime: number;
  signature: Uint8Array;
}

/** Kinds that no honest validator attests both of for one sequence. */
const EXCLUSIVE: Record<FactKind, FactKind[]> = {
  commitment: [],
  ack: ['receipt-absent'],
  'receipt-absent': ['ack'],
};

function invalid(message: string): never {
  throw new ArchiError('INVALID_ARGS', message);
}

function bad(message: string): never {
  throw new ArchiError('IBC_ATTESTATION_INVALID', message);
}

/** Whether a stored client is an attested one. */
export const isAttested = (c: ClientState): boolean => c.type === 'attested';

function loadJson<T>(ctx: CallContext, key: string): T | undefined {
  const v = ctx.get(key);
  return v === undefined ? undefined : (parseJsonBytes(v, 'value', key) as T);
}

function storeJson(ctx: CallContext, key: string, value: unknown): void {
  ctx.set(key, jsonBytes(value, 'value', key));
}

function safeInt(v: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
    invalid(`${what} must be an integer in ${min}..${max}`);
  }
  return v as number;
}

function hexArg(v: unknown, what: string, length?: number): Uint8Array {
  if (typeof v !== 'string' || !/^(0x)?([0-9a-fA-F]{2})*$/.test(v)) invalid(`${what} must be hex`);
  const b = unhex(v.replace(/^0x/, '').toLowerCase(), what);
  if (length !== undefined && b.length !== length) invalid(`${what} must be ${length} bytes`);
  return b;
}

function clientIdArg(v: unknown, what: string): string {
  if (typeof v !== 'string' || !CLIENT_ID.test(v))
    invalid(`${what} must match ${CLIENT_ID.source}`);
  return v;
}

function kindArg(v: unknown): FactKind {
  if (typeof v !== 'string' || !Object.hasOwn(FACT_KINDS, v)) {
    invalid(`kind must be one of ${Object.keys(FACT_KINDS).join(', ')}`);
  }
  return v as FactKind;
}

/**
 * The args of an `ibc_create_client` proposal of `type: 'attested'`, checked and normalized:
 * `{type, clientId, chainId (the EVM chain id, decimal), counterpartyClientId, bridge,
 * confirmations}`. `exists` says whether the id is taken.
 */
export function validateCreateAttested(
  a: Record<string, unknown>,
  exists: (clientId: string) => boolean,
): Record<string, unknown> {
  const kind = 'ibc_create_client';
  onlyFields(
    a,
    ['type', 'clientId', 'chainId', 'counterpartyClientId', 'bridge', 'confirmations', 'profile'],
    kind,
  );
  const clientId = clientIdArg(a.clientId, `${kind}: clientId`);
  const chainId = a.chainId;
  if (
    typeof chainId !== 'string' ||
    !/^[1-9][0-9]{0,19}$/.test(chainId) ||
    BigInt(chainId) >= 2n ** 64n
  ) {
    invalid(`${kind}: chainId of an attested client is the EVM chain id, a decimal below 2^64`);
  }
  // EVM bridges hash commitments with SHA-256 (PacketJson.sol): the standard profile's hash.
  if (a.profile !== undefined && a.profile !== 'standard') {
    invalid(`${kind}: an attested EVM client's profile is standard (SHA-256 commitments)`);
  }
  const counterpartyClientId = clientIdArg(a.counterpartyClientId, `${kind}: counterpartyClientId`);
  if (typeof a.bridge !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(a.bridge)) {
    invalid(`${kind}: bridge must be an EVM address (0x and 40 hex digits)`);
  }
  const confirmations = safeInt(a.confirmations, `${kind}: confirmations`, 0, MAX_CONFIRMATIONS);
  if (exists(clientId)) {
    throw new ArchiError('IBC_CLIENT_EXISTS', `${kind}: client ${clientId} already exists`);
  }
  return {
    type: 'attested',
    clientId,
    chainId,
    counterpartyClientId,
    bridge: a.bridge.toLowerCase(),
    confirmations,
  };
}

/** The ClientState of a new attested client (args from validateCreateAttested). */
export function attestedClientState(a: Record<string, unknown>, height: number): ClientState {
  return {
    clientId: a.clientId as string,
    chainId: a.chainId as string,
    profile: 'standard',
    counterpartyClientId: a.counterpartyClientId as string,
    // No headers: nothing to trust for a period, no clock to drift.
    trustingPeriodMs: 0,
    maxClockDriftMs: 0,
    latestHeight: 0,
    frozenHeight: 0,
    createdAt: height,
    type: 'attested',
    bridge: a.bridge as string,
    confirmations: a.confirmations as number,
    latestTime: 0,
  };
}

/** The recorded fact, if any. */
export function loadFact(
  ctx: CallContext,
  clientId: string,
  kind: FactKind,
  sequence: number,
): RecordedFact | undefined {
  return loadJson<RecordedFact>(ctx, keys.fact(clientId, kind, sequence));
}

/**
 * Check that the client recorded `kind` at `sequence` with `value` (hex): the attested
 * counterpart of verifyMembership. IBC_ATTESTATION_MISSING / _MISMATCH otherwise.
 */
export function requireFact(
  ctx: CallContext,
  client: ClientState,
  kind: FactKind,
  sequence: number,
  value: Uint8Array,
): RecordedFact {
  const fact = loadFact(ctx, client.clientId, kind, sequence);
  if (!fact) {
    throw new ArchiError(
      'IBC_ATTESTATION_MISSING',
      `client ${client.clientId} has no attested ${kind} for sequence ${sequence}: validators holding more than 2/3 of the power must attest it first`,
    );
  }
  if (fact.value !== hex(value)) {
    throw new ArchiError(
      'IBC_ATTESTATION_MISMATCH',
      `the attested ${kind} of sequence ${sequence} on client ${client.clientId} is ${fact.value || 'empty'}, not ${hex(value) || 'empty'}`,
    );
  }
  return fact;
}

function attestationArg(v: unknown, i: number): AttestationArg {
  const what = `attestations[${i}]`;
  const a = argsObject(v);
  onlyFields(a, ['validator', 'evmBlockNumber', 'evmBlockHash', 'evmTime', 'signature'], what);
  if (typeof a.validator !== 'string' || !/^(0x)?[0-9a-fA-F]{40}$/.test(a.validator)) {
    invalid(`${what}.validator must be a validator address (40 hex digits)`);
  }
  const signature = hexArg(a.signature, `${what}.signature`);
  if (signature.length === 0 || signature.length > MAX_SIGNATURE_BYTES) {
    invalid(`${what}.signature must be 1..${MAX_SIGNATURE_BYTES} bytes`);
  }
  return {
    validator: a.validator.replace(/^0x/, '').toLowerCase(),
    evmBlockNumber: safeInt(a.evmBlockNumber, `${what}.evmBlockNumber`, 0),
    evmBlockHash: hexArg(a.evmBlockHash, `${what}.evmBlockHash`, 32),
    evmTime: safeInt(a.evmTime, `${what}.evmTime`, 0),
    signature,
  };
}

/** The attested client `clientId`, active (not frozen); typed errors otherwise. */
function attestedClient(ctx: CallContext, clientId: string): ClientState {
  const c = loadJson<ClientState>(ctx, keys.client(clientId));
  if (!c) throw new ArchiError('IBC_CLIENT_NOT_FOUND', `no client ${clientId}`);
  if (!isAttested(c)) {
    throw new ArchiError(
      'IBC_CLIENT_TYPE_MISMATCH',
      `client ${clientId} is not an attested client: it verifies headers and proofs`,
    );
  }
  if (c.frozenHeight > 0) {
    throw new ArchiError(
      'IBC_CLIENT_FROZEN',
      `client ${clientId} is frozen (two values of one fact were attested by more than 2/3 at height ${c.frozenHeight})`,
    );
  }
  return c;
}

/** For `receipt-absent`: every attested block must be past the pending packet's timeout. */
function checkPastTimeout(ctx: CallContext, c: ClientState, seq: number, list: AttestationArg[]) {
  const packet = loadJson<Packet>(ctx, keys.packet(c.clientId, seq));
  if (!packet) {
    throw new ArchiError(
      'IBC_PACKET_UNKNOWN',
      `packet ${c.clientId}/${seq} is not pending here: there is no timeout to attest`,
    );
  }
  for (const s of list) {
    const byHeight = packet.timeoutHeight !== 0 && s.evmBlockNumber >= packet.timeoutHeight;
    const byTime = packet.timeoutTime !== 0 && s.evmTime >= packet.timeoutTime;
    if (!byHeight && !byTime) {
      throw new ArchiError(
        'IBC_TIMEOUT_NOT_REACHED',
        `validator ${s.validator} attests EVM block ${s.evmBlockNumber} (time ${s.evmTime}), not past the timeout of packet ${seq} (height ${packet.timeoutHeight}, time ${packet.timeoutTime})`,
      );
    }
  }
}

/** What one `attest` call did. */
export interface AttestResult {
  clientId: string;
  kind: FactKind;
  sequence: number;
  value: string;
  /** Validators whose attestation counted now. */
  counted: string[];
  /** Validators that had attested this value already (nothing changed). */
  duplicates: string[];
  /** Validators that had attested a conflicting value (evidence recorded, not counted). */
  conflicts: string[];
  power: string;
  totalPower: string;
  /** Whether the fact is recorded with this value (now or before). */
  recorded: boolean;
  /** Whether this call froze the client (a second value of a recorded fact passed 2/3). */
  frozen: boolean;
}

/**
 * `attest {clientId, kind, sequence, value, attestations: [{validator, evmBlockNumber,
 * evmBlockHash, evmTime, signature}]}`: anyone may carry validators' signatures; each is
 * checked against this block's validator set and counted with the power it has now.
 */
function attest(ctx: CallContext, args: unknown): AttestResult {
  const a = argsObject(args);
  onlyFields(a, ['clientId', 'kind', 'sequence', 'value', 'attestations'], 'attest');
  const clientId = clientIdArg(a.clientId, 'clientId');
  const kind = kindArg(a.kind);
  const sequence = safeInt(a.sequence, 'sequence', 1);
  const value = hexArg(a.value, 'value');
  if (kind === 'receipt-absent' ? value.length !== 0 : value.length !== 32) {
    bad(`the value of ${kind} is ${kind === 'receipt-absent' ? 'empty' : '32 bytes'}`);
  }
  if (value.length === 32 && value.every((b) => b === 0)) {
    bad(`a zero ${kind} is the EVM's empty slot: nothing to attest`);
  }
  const raw = a.attestations;
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_ATTESTATIONS) {
    invalid(`attestations must be a list of 1..${MAX_ATTESTATIONS}`);
  }
  const list = raw.map(attestationArg);
  if (new Set(list.map((s) => s.validator)).size !== list.length) {
    invalid('attestations: a validator appears twice');
  }
  const c = attestedClient(ctx, clientId);
  if (kind === 'receipt-absent') checkPastTimeout(ctx, c, sequence, list);

  // Signatures first, all of them: one bad signature refuses the whole call.
  const profile = getProfile(ctx.config.crypto);
  const set = new Map(ctx.config.validators.map((v) => [address(profile, v.publicKey), v]));
  const totalPower = ctx.config.validators.reduce((s, v) => s + BigInt(v.power), 0n);
  const base: Omit<AttestationFields, 'evmBlockNumber' | 'evmBlockHash' | 'evmTime'> = {
    chainId: ctx.config.chainId,
    clientId,
    evmChainId: BigInt(c.chainId),
    bridge: unhex((c.bridge as string).slice(2)),
    kind,
    sequence,
    value,
  };
  const powers = list.map((s) => {
    const v = set.get(s.validator);
    if (!v) {
      throw new ArchiError(
        'IBC_ATTESTATION_NOT_VALIDATOR',
        `${s.validator} is not a validator of ${ctx.config.chainId} at height ${ctx.block.height}`,
      );
    }
    ctx.gas(SIG_CHECK_GAS);
    const digest = attestationDigest((d) => profile.hash(d), { ...base, ...s });
    if (!profile.verify(v.publicKey, digest, s.signature)) {
      throw new ArchiError(
        'IBC_ATTESTATION_BAD_SIGNATURE',
        `the signature of validator ${v.name} (${s.validator}) does not verify over the attestation digest`,
      );
    }
    return BigInt(v.power);
  });

  const valueHex = hex(value);
  const tallyKey = keys.tally(clientId, kind, sequence, valueHex);
  const tally = loadJson<Tally>(ctx, tallyKey) ?? {
    power: '0',
    evmBlockNumber: Number.MAX_SAFE_INTEGER,
    evmTime: Number.MAX_SAFE_INTEGER,
  };
  const result: AttestResult = {
    clientId,
    kind,
    sequence,
    value: valueHex,
    counted: [],
    duplicates: [],
    conflicts: [],
    power: '0',
    totalPower: totalPower.toString(),
    recorded: false,
    frozen: false,
  };
  list.forEach((s, i) => {
    const record: AttestationRecord = {
      kind,
      value: valueHex,
      evmBlockNumber: s.evmBlockNumber,
      evmBlockHash: hex(s.evmBlockHash),
      evmTime: s.evmTime,
      signature: hex(s.signature),
      power: powers[i].toString(),
      height: ctx.block.height,
    };
    const mine = keys.attestation(clientId, kind, sequence, s.validator);
    const prior = loadJson<AttestationRecord>(ctx, mine);
    const second = keys.secondVote(clientId, kind, sequence, valueHex, s.validator);
    if (prior && (prior.value === valueHex || ctx.get(second) !== undefined)) {
      result.duplicates.push(s.validator);
      return;
    }
    // A second value of the same fact, or a fact excluding this one: both signed, so evidence.
    // It still counts for its own value, kept apart: if that value passes 2/3 as well, more
    // than 1/3 equivocated and the client freezes (below) rather than pick one.
    const other =
      prior ??
      EXCLUSIVE[kind]
        .map((k) =>
          loadJson<AttestationRecord>(ctx, keys.attestation(clientId, k, sequence, s.validator)),
        )
        .find((r) => r !== undefined);
    if (other) {
      const evidenceKey = keys.evidence(clientId, kind, sequence, s.validator);
      if (ctx.get(evidenceKey) === undefined) {
        storeJson(ctx, evidenceKey, {
          validator: s.validator,
          sequence,
          first: other,
          second: record,
        });
        ctx.emit('AttestationConflict', {
          clientId,
          sequence,
          validator: s.validator,
          kinds: [other.kind, kind],
          values: [other.value, valueHex],
        });
      }
      result.conflicts.push(s.validator);
    }
    storeJson(ctx, prior ? second : mine, record);
    tally.power = (BigInt(tally.power) + powers[i]).toString();
    tally.evmBlockNumber = Math.min(tally.evmBlockNumber, s.evmBlockNumber);
    tally.evmTime = Math.min(tally.evmTime, s.evmTime);
    result.counted.push(s.validator);
  });
  if (result.counted.length === 0) {
    throw new ArchiError(
      'IBC_ATTESTATION_DUPLICATE',
      `every validator of this call already attested ${kind} ${sequence} = ${valueHex || 'empty'} on client ${clientId}`,
    );
  }
  storeJson(ctx, tallyKey, tally);
  ctx.emit('Attested', {
    clientId,
    kind,
    sequence,
    value: valueHex,
    validators: result.counted,
    power: tally.power,
  });
  result.power = tally.power;
  const fact = loadFact(ctx, clientId, kind, sequence);
  if (fact) {
    result.recorded = fact.value === valueHex;
  } else if (BigInt(tally.power) * 3n > totalPower * 2n) {
    recordFact(ctx, c, {
      kind,
      sequence,
      value: valueHex,
      power: tally.power,
      totalPower: totalPower.toString(),
      evmBlockNumber: tally.evmBlockNumber,
      evmTime: tally.evmTime,
      height: ctx.block.height,
    });
    result.recorded = true;
  }
  const passed = BigInt(tally.power) * 3n > totalPower * 2n;
  // Two values of one fact, or two exclusive facts, each backed by more than 2/3: more than
  // 1/3 equivocated. Neither is chosen: the client stops until governance replaces it.
  const clash =
    passed && fact && fact.value !== valueHex
      ? fact
      : passed
        ? EXCLUSIVE[kind].map((k) => loadFact(ctx, clientId, k, sequence)).find((f) => f)
        : undefined;
  if (clash) {
    c.frozenHeight = ctx.block.height;
    storeJson(ctx, keys.client(clientId), c);
    ctx.emit('ClientFrozen', {
      clientId,
      height: ctx.block.height,
      sequence,
      facts: [
        { kind: clash.kind, value: clash.value },
        { kind, value: valueHex },
      ],
    });
    result.frozen = true;
  }
  return result;
}

function recordFact(ctx: CallContext, c: ClientState, fact: RecordedFact): void {
  storeJson(ctx, keys.fact(c.clientId, fact.kind, fact.sequence), fact);
  // What the EVM chain is known to have reached: send's early timeout check reads it.
  if (fact.evmBlockNumber > c.latestHeight || fact.evmTime > (c.latestTime ?? 0)) {
    c.latestHeight = Math.max(c.latestHeight, fact.evmBlockNumber);
    c.latestTime = Math.max(c.latestTime ?? 0, fact.evmTime);
    storeJson(ctx, keys.client(c.clientId), c);
  }
  ctx.emit('FactAttested', {
    clientId: c.clientId,
    kind: fact.kind,
    sequence: fact.sequence,
    value: fact.value,
    power: fact.power,
    totalPower: fact.totalPower,
  });
}

function factKeyArgs(args: unknown, what: string, extra: string[] = []) {
  const a = argsObject(args);
  onlyFields(a, ['clientId', 'kind', 'sequence', ...extra], what);
  return {
    a,
    clientId: clientIdArg(a.clientId, 'clientId'),
    kind: kindArg(a.kind),
    sequence: safeInt(a.sequence, 'sequence', 1),
  };
}

/** The attested-client methods of the `ibc` contract. */
export const attestedMethods: Record<string, NativeMethod> = {
  attest: { write: true, run: attest },
  /** A recorded fact (`RecordedFact`) or null. */
  fact: {
    write: false,
    run: (ctx, args) => {
      const { clientId, kind, sequence } = factKeyArgs(args, 'fact');
      return loadFact(ctx, clientId, kind, sequence) ?? null;
    },
  },
  /** One validator's attestation of a fact (`AttestationRecord`) or null: what attestors check. */
  attestation: {
    write: false,
    run: (ctx, args) => {
      const { a, clientId, kind, sequence } = factKeyArgs(args, 'attestation', ['validator']);
      if (typeof a.validator !== 'string' || !/^(0x)?[0-9a-fA-F]{40}$/.test(a.validator)) {
        invalid('validator must be 40 hex digits');
      }
      const v = a.validator.replace(/^0x/, '').toLowerCase();
      return loadJson(ctx, keys.attestation(clientId, kind, sequence, v)) ?? null;
    },
  },
  /** Evidence of `validator` attesting two values (or exclusive facts) for one sequence, or null. */
  attestationEvidence: {
    write: false,
    run: (ctx, args) => {
      const { a, clientId, kind, sequence } = factKeyArgs(args, 'attestationEvidence', [
        'validator',
      ]);
      if (typeof a.validator !== 'string' || !/^(0x)?[0-9a-fA-F]{40}$/.test(a.validator)) {
        invalid('validator must be 40 hex digits');
      }
      const v = a.validator.replace(/^0x/, '').toLowerCase();
      return loadJson(ctx, keys.evidence(clientId, kind, sequence, v)) ?? null;
    },
  },
};
