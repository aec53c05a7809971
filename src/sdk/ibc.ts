/**
 * Interchain helpers over a node's RPC (docs/INTERCHAIN.md): what a relayer or a CLI needs to
 * talk to the native `ibc` contract. The headers, commits and validator sets that update a
 * light client, checked here before a tx carries them (a node that answers garbage costs no
 * tx); a state key's value with its proof at a node's latest height; the contract's queries
 * and a wait for a packet's settlement.
 */
import { CommitSchema, encode } from '../codec/index.ts';
import { address, type CryptoProfile } from '../crypto/profile.ts';
import { ArchiError } from '../types/errors.ts';
import { hex } from '../types/hex.ts';
import type { CommitJson, IbcAck, IbcPacket, ValidatorJson } from '../types/rpc-json.ts';
import type { ArchiClient } from './client.ts';
import { proofInvalid, timeoutError } from './errors.ts';
import { validatorSetHash } from './light-client.ts';
import type { BlockJson, StateProofJson } from './types.ts';
import {
  commitFromJson,
  validatorsFromInput,
  verifyBlockCommit,
  verifyHeader,
  verifyStateProof,
} from './verify.ts';

/** The native interchain contract. */
export const IBC = 'ibc';

/** A light client of a counterparty chain, as the `ibc` contract stores it. */
export interface IbcClientState {
  clientId: string;
  /** The counterparty's chain id. */
  chainId: string;
  /** The counterparty's crypto profile. */
  profile: 'standard' | 'gm';
  /** The counterparty's client of this chain. */
  counterpartyClientId: string;
  trustingPeriodMs: number;
  maxClockDriftMs: number;
  /** Highest verified counterparty height. */
  latestHeight: number;
  /** 0, or the height of the conflicting headers that froze it. */
  frozenHeight: number;
  /** This chain's height when it was created. */
  createdAt: number;
  /** `attested` for a client of an EVM chain (docs/BRIDGE.md); absent or `tendermint` otherwise. */
  type?: 'tendermint' | 'attested';
  /** Attested clients: the bridge contract, 0x hex. */
  bridge?: string;
  /** Attested clients: the EVM confirmations attestors wait. */
  confirmations?: number;
  /** Attested clients: the EVM time (ms) of the newest recorded fact. */
  latestTime?: number;
}

/** What the `client` query answers: the state and whether it may be used now. */
export interface IbcClientView extends IbcClientState {
  status: 'active' | 'frozen' | 'expired';
}

/** A verified counterparty header as the client keeps it (hashes in hex). */
export interface IbcConsensusState {
  height: number;
  time: number;
  blockHash: string;
  stateRoot: string;
  validatorsHash: string;
  nextValidatorsHash: string;
}

export type { IbcAck, IbcPacket };

/** A packet's end on its sender (`settled` query). */
export interface IbcSettled {
  status: 'acked' | 'timed-out';
  ack?: IbcAck;
  /** The sender's height that settled it. */
  height: number;
}

/** One counterparty height as an `updateClient` carries it, with what the relayer reads of it. */
export interface IbcHeader {
  chainId: string;
  height: number;
  /** Hex of the encoded header (its hash is the block hash). */
  header: string;
  /** Hex of the encoded commit: +2/3 precommits of the height's own validators. */
  commit: string;
  /** The height's own validator set. */
  validators: ValidatorJson[];
  blockHash: string;
  time: number;
  validatorsHash: string;
  nextValidatorsHash: string;
  /** The commit as JSON (who signed). */
  commitJson: CommitJson;
}

/** The arguments of `ibc.updateClient`. */
export interface UpdateClientArgs {
  clientId: string;
  header: string;
  commit: string;
  validators: ValidatorJson[];
  trustedHeight: number;
  /** The validator set of `trustedHeight + 1`: what the trusted header names as next. */
  trustedValidators: ValidatorJson[];
}

/** A state key's value (hex; null when absent) with its proof under the state root of `height`. */
export interface ProvenValue {
  key: string;
  value: string | null;
  proof: StateProofJson;
  height: number;
  /** Block time of `height`. */
  time: number;
}

/** The arguments of an `ibc_create_client` proposal (docs/INTERCHAIN.md). */
export interface CreateClientArgs {
  clientId: string;
  chainId: string;
  profile: 'standard' | 'gm';
  counterpartyClientId: string;
  trustingPeriodMs: number;
  maxClockDriftMs?: number;
  header: string;
  validators: ValidatorJson[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isHeight = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function validatorJson(list: unknown, what: string): ValidatorJson[] {
  if (!Array.isArray(list) || list.length === 0)
    throw proofInvalid(`${what} is not a validator list`);
  return list.map((v, i) => {
    if (
      !isObject(v) ||
      typeof v.name !== 'string' ||
      typeof v.org !== 'string' ||
      typeof v.publicKey !== 'string' ||
      !isHeight(v.power)
    ) {
      throw proofInvalid(`${what}[${i}] is not a validator`);
    }
    return { name: v.name, org: v.org, publicKey: v.publicKey, power: v.power };
  });
}

/** The validator set of `height` on `source`, checked against the hash a verified header names. */
async function validatorsAt(
  source: ArchiClient,
  profile: CryptoProfile,
  height: number,
  wantHash?: string,
): Promise<ValidatorJson[]> {
  const answer = await source.validators(height);
  const set = validatorJson(answer?.validators, `validators of height ${height}`);
  if (wantHash !== undefined) {
    let got: string;
    try {
      got = validatorSetHash(profile, validatorsFromInput(set));
    } catch (e) {
      throw proofInvalid(`validators of height ${height}: ${(e as Error).message}`);
    }
    if (got !== wantHash.toLowerCase()) {
      throw proofInvalid(
        `the node's validator set of height ${height} is not the one its header names`,
      );
    }
  }
  return set;
}

/**
 * The header, commit and own validator set of `height` on `source`, checked: the header
 * bytes hash to the block hash, the set hashes to the header's `validatorsHash`, and +2/3 of
 * it signed the commit. The commit is the block's own (seen) one, or the next block's
 * `lastCommit` on a node that has none for it. Throws PROOF_INVALID for a node's bad answer.
 */
export async function fetchHeader(source: ArchiClient, height: number): Promise<IbcHeader> {
  const profile = await source.profile();
  const block = await source.getBlock(height);
  const { header, blockHash } = verifyHeader(profile, block, height);
  const validators = await validatorsAt(source, profile, height, hex(header.validatorsHash));
  let commitJson: CommitJson | null = block.commit;
  let carrier: BlockJson = block;
  if (!commitJson) {
    const next = await source.getBlock(height + 1);
    commitJson = next?.lastCommit ?? null;
    carrier = { ...block, commit: commitJson };
  }
  if (!commitJson) throw proofInvalid(`the node holds no commit of block ${height} yet`);
  verifyBlockCommit(profile, carrier, header, blockHash, validatorsFromInput(validators));
  return {
    chainId: header.chainId,
    height,
    header: block.headerBytes.toLowerCase(),
    commit: hex(encode(CommitSchema, commitFromJson(commitJson))),
    validators,
    blockHash: hex(blockHash),
    time: Number(header.time),
    validatorsHash: hex(header.validatorsHash),
    nextValidatorsHash: hex(header.nextValidatorsHash),
    commitJson,
  };
}

/**
 * Whether a client trusting `trustedValidators` may skip to a height whose commit is
 * `commit`: validators of the trusted set holding more than 1/3 of its power signed it (the
 * contract checks the signatures; this only picks the heights worth a tx).
 */
export function trustedSigned(
  profile: CryptoProfile,
  trustedValidators: ValidatorJson[],
  commit: CommitJson,
): boolean {
  const signers = new Set(commit.signatures.map((s) => s.validator.toLowerCase()));
  let total = 0n;
  let signed = 0n;
  const seen = new Set<string>();
  for (const v of validatorsFromInput(trustedValidators)) {
    const addr = address(profile, v.publicKey);
    if (seen.has(addr)) continue;
    seen.add(addr);
    total += v.power;
    if (signers.has(addr)) signed += v.power;
  }
  return signed * 3n > total;
}

/** Headers and validator sets of one source, fetched once each while a plan is made. */
export class HeaderSource {
  private readonly headers = new Map<number, Promise<IbcHeader>>();
  private readonly sets = new Map<number, Promise<ValidatorJson[]>>();

  constructor(readonly client: ArchiClient) {}

  /** fetchHeader, cached. */
  header(height: number): Promise<IbcHeader> {
    let p = this.headers.get(height);
    if (!p) {
      p = fetchHeader(this.client, height);
      p.catch(() => this.headers.delete(height));
      this.headers.set(height, p);
    }
    return p;
  }

  /**
   * The set that signs `height`, checked against the hash a header names: the previous
   * header's `nextValidatorsHash` (what a client trusting `height - 1` expects).
   */
  nextSetOf(trustedHeight: number): Promise<ValidatorJson[]> {
    let p = this.sets.get(trustedHeight);
    if (!p) {
      p = (async () => {
        const trusted = await this.header(trustedHeight);
        const profile = await this.client.profile();
        return validatorsAt(this.client, profile, trustedHeight + 1, trusted.nextValidatorsHash);
      })();
      p.catch(() => this.sets.delete(trustedHeight));
      this.sets.set(trustedHeight, p);
    }
    return p;
  }
}

/** The updateClient args that take a client trusting `trustedHeight` to `height` of `source`. */
export async function updateClientArgs(
  source: ArchiClient | HeaderSource,
  clientId: string,
  height: number,
  trustedHeight: number,
): Promise<UpdateClientArgs> {
  const src = source instanceof HeaderSource ? source : new HeaderSource(source);
  if (!isHeight(trustedHeight) || !isHeight(height) || height <= trustedHeight) {
    throw new ArchiError(
      'INVALID_ARGS',
      `a client update goes up: height ${height} is not above the trusted height ${trustedHeight}`,
    );
  }
  const [h, trustedValidators] = await Promise.all([
    src.header(height),
    src.nextSetOf(trustedHeight),
  ]);
  return {
    clientId,
    header: h.header,
    commit: h.commit,
    validators: h.validators,
    trustedHeight,
    trustedValidators,
  };
}

/**
 * The heights a client trusting `trustedHeight` verifies on its way to `target`, in order:
 * one skipping step when the trusted set vouches for the target (more than 1/3 of its power
 * signed it), otherwise bisection down to adjacent steps, which always hold on an honest chain
 * (a header names the next set). The last height is `target`.
 */
export async function planClientUpdate(
  source: ArchiClient | HeaderSource,
  trustedHeight: number,
  target: number,
): Promise<number[]> {
  const src = source instanceof HeaderSource ? source : new HeaderSource(source);
  const profile = await src.client.profile();
  const steps: number[] = [];
  let trusted = trustedHeight;
  while (trusted < target) {
    let to = target;
    for (;;) {
      if (to === trusted + 1) break;
      const [set, h] = await Promise.all([src.nextSetOf(trusted), src.header(to)]);
      if (trustedSigned(profile, set, h.commitJson)) break;
      to = trusted + Math.floor((to - trusted) / 2);
    }
    steps.push(to);
    trusted = to;
  }
  return steps;
}

/**
 * A full state key's (`contract/key`) value with its proof at the node's latest height, the
 * proof checked against that block's state root (not its signatures: the chain that gets
 * the proof checks those through its light client).
 */
export async function provenState(
  client: ArchiClient,
  fullKey: string,
  /** Blocks already fetched by height, shared by the calls of one round (filled here). */
  blocks?: Map<number, Promise<BlockJson>>,
): Promise<ProvenValue> {
  const slash = fullKey.indexOf('/');
  if (slash <= 0 || slash === fullKey.length - 1) {
    throw new ArchiError('INVALID_ARGS', `a full state key is contract/key, got "${fullKey}"`);
  }
  const answer = await client.getState(fullKey.slice(0, slash), fullKey.slice(slash + 1));
  if (!isObject(answer) || !isHeight(answer.height)) {
    throw proofInvalid(`the node's answer for ${fullKey} has no height`);
  }
  let pending = blocks?.get(answer.height);
  if (!pending) {
    pending = client.getBlock(answer.height);
    if (blocks) {
      blocks.set(answer.height, pending);
      pending.catch(() => blocks.delete(answer.height));
    }
  }
  const block = await pending;
  verifyStateProof(await client.profile(), block, answer, undefined, fullKey);
  return {
    key: fullKey,
    value: answer.value === null ? null : answer.value.toLowerCase(),
    proof: answer.proof,
    height: answer.height,
    time: block.header.time,
  };
}

async function ibcQuery(client: ArchiClient, method: string, args: unknown): Promise<unknown> {
  return (await client.query(IBC, method, args)).result;
}

function clientView(v: unknown, what: string): IbcClientView {
  if (
    !isObject(v) ||
    typeof v.clientId !== 'string' ||
    typeof v.chainId !== 'string' ||
    typeof v.counterpartyClientId !== 'string' ||
    !isHeight(v.latestHeight)
  ) {
    throw new ArchiError('INTERNAL', `${what} is not a client state`);
  }
  return v as unknown as IbcClientView;
}

/** One client (`client` query); IBC_CLIENT_NOT_FOUND when there is none. */
export async function getClient(client: ArchiClient, clientId: string): Promise<IbcClientView> {
  return clientView(await ibcQuery(client, 'client', { clientId }), `client ${clientId}`);
}

/** Every client of the chain (`clients` query). */
export async function listClients(client: ArchiClient): Promise<IbcClientView[]> {
  const r = await ibcQuery(client, 'clients', {});
  const list = Array.isArray(r) ? r : isObject(r) && Array.isArray(r.clients) ? r.clients : null;
  if (!list) throw new ArchiError('INTERNAL', 'the clients query answered no list');
  return list.map((c, i) => clientView(c, `clients[${i}]`));
}

/** The consensus state a client stored for `height`, or null when it holds none there. */
export async function getConsensusState(
  client: ArchiClient,
  clientId: string,
  height: number,
): Promise<IbcConsensusState | null> {
  try {
    const r = await ibcQuery(client, 'consensusState', { clientId, height });
    return isObject(r) && isHeight(r.height) ? (r as unknown as IbcConsensusState) : null;
  } catch (e) {
    if (e instanceof ArchiError && e.code === 'IBC_CONSENSUS_NOT_FOUND') return null;
    throw e;
  }
}

/** A packet's shape checked, so nothing a node sends reaches a tx malformed. */
export function asPacket(v: unknown): IbcPacket | null {
  if (
    !isObject(v) ||
    !Number.isSafeInteger(v.sequence) ||
    (v.sequence as number) < 1 ||
    typeof v.sourceClient !== 'string' ||
    typeof v.destClient !== 'string' ||
    !isHeight(v.timeoutHeight) ||
    !isHeight(v.timeoutTime) ||
    typeof v.sourcePort !== 'string' ||
    typeof v.destPort !== 'string' ||
    !('data' in v)
  ) {
    return null;
  }
  return {
    sequence: v.sequence as number,
    sourceClient: v.sourceClient,
    destClient: v.destClient,
    timeoutHeight: v.timeoutHeight,
    timeoutTime: v.timeoutTime,
    sourcePort: v.sourcePort,
    destPort: v.destPort,
    data: v.data,
  };
}

/** A page of pending packets (`packets` query): sent, neither acked nor timed out. */
export interface PacketPage {
  packets: IbcPacket[];
  /** Entries the node sent that are no packet (counted, skipped). */
  malformed: number;
  /** The `from` of the next page, or null at the end. */
  next: number | null;
}

/** Pending packets of `sourceClient` from sequence `from` on, at most `limit`. */
export async function pendingPackets(
  client: ArchiClient,
  sourceClient: string,
  opts: { from?: number; limit?: number } = {},
): Promise<PacketPage> {
  const args: Record<string, unknown> = { client: sourceClient };
  if (opts.from !== undefined) args.from = opts.from;
  if (opts.limit !== undefined) args.limit = opts.limit;
  const r = await ibcQuery(client, 'packets', args);
  const list = Array.isArray(r) ? r : isObject(r) && Array.isArray(r.packets) ? r.packets : null;
  if (!list) throw new ArchiError('INTERNAL', 'the packets query answered no list');
  const packets: IbcPacket[] = [];
  let malformed = 0;
  for (const p of list) {
    const packet = asPacket(p);
    if (packet && packet.sourceClient === sourceClient) packets.push(packet);
    else malformed++;
  }
  const last = packets.length ? packets[packets.length - 1].sequence : undefined;
  let next: number | null = null;
  if (isObject(r) && (isHeight(r.next) || r.next === null))
    next = (r.next as number | null) ?? null;
  else if (opts.limit !== undefined && list.length >= opts.limit && last !== undefined)
    next = last + 1;
  return { packets, malformed, next };
}

/** Every pending packet of `sourceClient` (paged), up to `max`. */
export async function allPendingPackets(
  client: ArchiClient,
  sourceClient: string,
  max = 10_000,
): Promise<PacketPage> {
  const packets: IbcPacket[] = [];
  let malformed = 0;
  let from: number | undefined;
  for (;;) {
    const page = await pendingPackets(client, sourceClient, { from, limit: 100 });
    packets.push(...page.packets);
    malformed += page.malformed;
    if (page.next === null || packets.length >= max || (from !== undefined && page.next <= from)) {
      return { packets: packets.slice(0, max), malformed, next: page.next };
    }
    from = page.next;
  }
}

function asAck(v: unknown): IbcAck | undefined {
  if (!isObject(v)) return undefined;
  if (typeof v.error === 'string') return { error: v.error };
  if ('result' in v) return { result: v.result };
  return undefined;
}

/** A packet's settlement on its sender, or null while it is pending (or was never sent). */
export async function getSettled(
  client: ArchiClient,
  sourceClient: string,
  sequence: number,
): Promise<IbcSettled | null> {
  const r = await ibcQuery(client, 'settled', { client: sourceClient, sequence });
  if (r === null || r === undefined) return null;
  if (!isObject(r) || (r.status !== 'acked' && r.status !== 'timed-out')) {
    throw new ArchiError('INTERNAL', `settled ${sourceClient}/${sequence} is not a settlement`);
  }
  const out: IbcSettled = { status: r.status, height: isHeight(r.height) ? r.height : 0 };
  const ack = asAck(r.ack);
  if (ack) out.ack = ack;
  return out;
}

/** The sequence the next packet of `sourceClient` gets. */
export async function nextSequence(client: ArchiClient, sourceClient: string): Promise<number> {
  const r = await ibcQuery(client, 'nextSequence', { client: sourceClient });
  const n = isObject(r) ? (r.sequence ?? r.nextSequence) : r;
  const seq = typeof n === 'string' ? Number(n) : n;
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) {
    throw new ArchiError('INTERNAL', `nextSequence of ${sourceClient} is not a sequence`);
  }
  return seq as number;
}

/**
 * Poll the sender until packet `sequence` of `sourceClient` is settled (acked or timed out)
 * and return how; TIMEOUT after `timeoutMs` (default 120000). A relayer settles it.
 */
export async function waitForSettlement(
  client: ArchiClient,
  sourceClient: string,
  sequence: number,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<IbcSettled> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await getSettled(client, sourceClient, sequence);
    if (s) return s;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw timeoutError(
        `packet ${sourceClient}/${sequence} was not settled within ${timeoutMs} ms (is a relayer running?)`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(opts.intervalMs ?? 500, left)));
  }
}

/**
 * The args of an `ibc_create_client` proposal that makes, on some chain, a client of the
 * chain `source` serves, trusting its latest header (checked as fetchHeader checks it).
 */
export async function createClientArgs(
  source: ArchiClient,
  opts: {
    clientId: string;
    counterpartyClientId: string;
    trustingPeriodMs: number;
    maxClockDriftMs?: number;
    /** The height to trust (default: the latest). */
    height?: number;
  },
): Promise<CreateClientArgs> {
  const height = opts.height ?? (await source.getBlock('latest')).height;
  const h = await fetchHeader(source, height);
  const args: CreateClientArgs = {
    clientId: opts.clientId,
    chainId: h.chainId,
    profile: (await source.profile()).name,
    counterpartyClientId: opts.counterpartyClientId,
    trustingPeriodMs: opts.trustingPeriodMs,
    header: h.header,
    validators: h.validators,
  };
  if (opts.maxClockDriftMs !== undefined) args.maxClockDriftMs = opts.maxClockDriftMs;
  return args;
}
