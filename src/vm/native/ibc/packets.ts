/**
 * The `ibc` contract's packets (docs/INTERCHAIN.md, "Packets"): a contract sends, a relayer
 * proves the commitment to the receiver (which runs the destination port's `onRecv` and
 * writes an ack), then proves the ack, or the receipt's absence past the timeout, back to the
 * sender (which runs the source port's `onAck` or `onTimeout`). Each packet is received at most
 * once (the receipt is never deleted) and settled at most once (its commitment is deleted).
 */
import { getProfile } from '../../../crypto/profile.ts';
import { ArchiError } from '../../../types/errors.ts';
import { bytesEqual } from '../../../types/hex.ts';
import { canonicalJsonText, parseJsonBytes, utf8Bytes, utf8Text } from '../../../types/json.ts';
import type { CallContext, NativeMethod, Saved } from '../../context.ts';
import { CONTRACT_NAME, LIMITS } from '../../sandbox/limits.ts';
import { argsObject, onlyFields } from '../args.ts';
import { isAttested, requireFact } from './attested-client.ts';
import { activeClient, type ClientState, consensusAt, verifyMembership } from './client.ts';
import {
  type Ack,
  ackBytes,
  ackCommitment,
  CLIENT_ID,
  fullKey,
  keys,
  type Packet,
  packetCommitment,
  pad,
  RECEIPT,
} from './keys.ts';

/** Largest packet data: canonical JSON bytes. */
export const MAX_PACKET_DATA_BYTES = 64 * 1024;
/** Pending packets one `packets` query returns by default and at most. */
const PAGE = 100;
const PAGE_MAX = 1000;
const CONTRACT_SENDER = 'contract:';

/** What `settled/<client>/<SEQ>` holds on the sender. */
export interface Settled {
  status: 'acked' | 'timed-out';
  ack?: Ack;
  /** This chain's height when the packet was settled. */
  height: number;
}

function bad(message: string): never {
  throw new ArchiError('IBC_PACKET_INVALID', message);
}

function invalidArgs(message: string): never {
  throw new ArchiError('INVALID_ARGS', message);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The chain's hash under a profile name. */
const hashOf = (profile: string) => (d: Uint8Array) => getProfile(profile).hash(d);

function count(v: unknown, what: string, min: number, fail: (m: string) => never): number {
  if (!Number.isSafeInteger(v) || (v as number) < min) {
    fail(`${what} must be an integer of at least ${min}`);
  }
  return v as number;
}

/** Canonical JSON of packet data, within MAX_PACKET_DATA_BYTES. */
function dataText(data: unknown): string {
  let text: string;
  try {
    text = canonicalJsonText(data, 'value', 'packet data');
  } catch (e) {
    bad(`packet data is not a JSON value: ${(e as Error).message}`);
  }
  if (utf8Bytes(text).length > MAX_PACKET_DATA_BYTES) {
    bad(`packet data is limited to ${MAX_PACKET_DATA_BYTES} bytes of JSON`);
  }
  return text;
}

const PACKET_FIELDS = [
  'sequence',
  'sourceClient',
  'destClient',
  'timeoutHeight',
  'timeoutTime',
  'sourcePort',
  'destPort',
  'data',
];

/** A packet as a relayer carries it, checked field by field (IBC_PACKET_INVALID). */
export function packetArg(v: unknown): Packet {
  if (!isObject(v)) bad('packet must be an object');
  for (const k of Object.keys(v)) {
    if (!PACKET_FIELDS.includes(k)) bad(`packet: unknown field ${JSON.stringify(k)}`);
  }
  if (!('data' in v)) bad('packet: data is required');
  const client = (k: 'sourceClient' | 'destClient'): string => {
    const c = v[k];
    if (typeof c !== 'string' || !CLIENT_ID.test(c))
      bad(`packet: ${k} must match ${CLIENT_ID.source}`);
    return c;
  };
  const port = (k: 'sourcePort' | 'destPort'): string => {
    const p = v[k];
    if (typeof p !== 'string' || !CONTRACT_NAME.test(p)) {
      bad(`packet: ${k} must be a contract name (${CONTRACT_NAME.source})`);
    }
    return p;
  };
  const packet: Packet = {
    sequence: count(v.sequence, 'packet: sequence', 1, bad),
    sourceClient: client('sourceClient'),
    destClient: client('destClient'),
    timeoutHeight: count(v.timeoutHeight, 'packet: timeoutHeight', 0, bad),
    timeoutTime: count(v.timeoutTime, 'packet: timeoutTime', 0, bad),
    sourcePort: port('sourcePort'),
    destPort: port('destPort'),
    data: v.data,
  };
  if (packet.timeoutHeight === 0 && packet.timeoutTime === 0) {
    bad('packet: a timeout is required (timeoutHeight, timeoutTime or both)');
  }
  dataText(packet.data);
  return packet;
}

/** An ack as a relayer carries it: `{result}` or `{error: string}`, nothing else. */
function ackArg(v: unknown): Ack {
  if (!isObject(v)) bad('ack must be an object');
  const fields = Object.keys(v);
  if (fields.length === 1 && fields[0] === 'result') {
    try {
      canonicalJsonText(v.result, 'value', 'ack result');
    } catch (e) {
      bad(`ack result is not a JSON value: ${(e as Error).message}`);
    }
    return { result: v.result };
  }
  if (fields.length === 1 && fields[0] === 'error' && typeof v.error === 'string') {
    return { error: v.error };
  }
  return bad('ack must be {result} or {error: string}');
}

function clientArg(v: unknown, what = 'client'): string {
  if (typeof v !== 'string' || !CLIENT_ID.test(v))
    invalidArgs(`${what} must match ${CLIENT_ID.source}`);
  return v;
}

function putJson(ctx: CallContext, key: string, value: unknown): void {
  ctx.set(key, utf8Bytes(canonicalJsonText(value, 'value', key)));
}

function getJson(ctx: CallContext, key: string): unknown {
  const v = ctx.get(key);
  return v === undefined ? null : parseJsonBytes(v, 'value', key);
}

/** The calling contract's name (its port); IBC_FORBIDDEN for anything but a contract. */
function callingPort(ctx: CallContext): string {
  const { org, name } = ctx.sender;
  const port = name.slice(CONTRACT_SENDER.length);
  if (org !== '' || !name.startsWith(CONTRACT_SENDER) || !CONTRACT_NAME.test(port)) {
    throw new ArchiError(
      'IBC_FORBIDDEN',
      'only a contract may send packets (ctx.ibc.send, or ctx.call of ibc.send): it is the source port',
    );
  }
  return port;
}

/** A packet without its data: what the events after SendPacket name. */
function packetRef(p: Packet) {
  return {
    sequence: p.sequence,
    sourceClient: p.sourceClient,
    destClient: p.destClient,
    sourcePort: p.sourcePort,
    destPort: p.destPort,
  };
}

/** The stored commitment of a packet this chain sent, if it equals the packet's; else IBC_PACKET_UNKNOWN. */
function pendingCommitment(ctx: CallContext, p: Packet): void {
  const stored = ctx.get(keys.commitment(p.sourceClient, p.sequence));
  const mine = packetCommitment(hashOf(ctx.config.crypto), p);
  if (stored === undefined || !bytesEqual(stored, mine)) {
    throw new ArchiError(
      'IBC_PACKET_UNKNOWN',
      `packet ${p.sourceClient}/${p.sequence} is not pending here (never sent as given, or already settled)`,
    );
  }
}

/** Delete a settled packet's commitment and copy, and record how it ended. */
function settle(ctx: CallContext, p: Packet, settled: Settled): void {
  ctx.delete(keys.commitment(p.sourceClient, p.sequence));
  ctx.delete(keys.packet(p.sourceClient, p.sequence));
  putJson(ctx, keys.settled(p.sourceClient, p.sequence), settled);
}

/**
 * The relayer's proof args: `proof` is checked by verifyMembership, `proofHeight` here. An
 * attested client checks a recorded fact instead, so for one both may be left out.
 */
function proofArgs(
  a: Record<string, unknown>,
  client: ClientState,
): { proof: unknown; proofHeight: number } {
  if (isAttested(client)) return { proof: null, proofHeight: 0 };
  if (!('proof' in a)) invalidArgs('proof is required');
  return { proof: a.proof, proofHeight: count(a.proofHeight, 'proofHeight', 1, invalidArgs) };
}

function send(ctx: CallContext, args: unknown): { sequence: number } {
  const sourcePort = callingPort(ctx);
  const a = argsObject(args);
  onlyFields(a, ['sourceClient', 'destPort', 'data', 'timeoutHeight', 'timeoutTime'], 'send');
  const sourceClient = clientArg(a.sourceClient, 'sourceClient');
  const client = activeClient(ctx, sourceClient);
  const seqBytes = ctx.get(keys.nextSeq(sourceClient));
  const sequence = seqBytes === undefined ? 1 : Number(utf8Text(seqBytes));
  const packet = packetArg({
    sequence,
    sourceClient,
    destClient: client.counterpartyClientId,
    timeoutHeight: a.timeoutHeight ?? 0,
    timeoutTime: a.timeoutTime ?? 0,
    sourcePort,
    destPort: a.destPort,
    data: a.data,
  });
  // A packet the counterparty is known to be past can never be received: refuse it now.
  // An attested client knows the EVM block and time of its newest fact (0 before any).
  const latest = isAttested(client)
    ? { time: client.latestTime ?? 0 }
    : consensusAt(ctx, sourceClient, client.latestHeight);
  if (packet.timeoutHeight !== 0 && packet.timeoutHeight <= client.latestHeight) {
    throw new ArchiError(
      'IBC_PACKET_TIMED_OUT',
      `timeoutHeight ${packet.timeoutHeight} is already reached: ${client.chainId} is at height ${client.latestHeight} or later`,
    );
  }
  if (packet.timeoutTime !== 0 && packet.timeoutTime <= latest.time) {
    throw new ArchiError(
      'IBC_PACKET_TIMED_OUT',
      `timeoutTime ${packet.timeoutTime} is already reached: ${client.chainId} is at time ${latest.time} or later`,
    );
  }
  ctx.set(
    keys.commitment(sourceClient, sequence),
    packetCommitment(hashOf(ctx.config.crypto), packet),
  );
  putJson(ctx, keys.packet(sourceClient, sequence), packet);
  ctx.set(keys.nextSeq(sourceClient), utf8Bytes(String(sequence + 1)));
  ctx.emit('SendPacket', packet);
  return { sequence };
}

/** The ack of a hook's outcome: its value, or its error as "CODE: message". */
function ackOf(saved: Saved<unknown>): Ack {
  if (saved.ok) return { result: saved.value ?? null };
  const text = `${saved.error.code}: ${saved.error.message}`;
  return {
    error: text.length > LIMITS.errorChars ? `${text.slice(0, LIMITS.errorChars)}…` : text,
  };
}

function recvPacket(ctx: CallContext, args: unknown): { ack: Ack } {
  const a = argsObject(args);
  onlyFields(a, ['packet', 'proof', 'proofHeight'], 'recvPacket');
  const packet = packetArg(a.packet);
  const client: ClientState = activeClient(ctx, packet.destClient);
  const { proof, proofHeight } = proofArgs(a, client);
  if (client.counterpartyClientId !== packet.sourceClient) {
    bad(
      `packet: client ${packet.destClient} here is of ${client.chainId}'s client ${client.counterpartyClientId}, not ${packet.sourceClient}`,
    );
  }
  const receiptKey = keys.receipt(packet.destClient, packet.sequence);
  if (ctx.get(receiptKey) !== undefined) {
    throw new ArchiError(
      'IBC_PACKET_ALREADY_RECEIVED',
      `packet ${packet.sourceClient}/${packet.sequence} was already received here`,
    );
  }
  const { height, time } = ctx.block;
  if (
    (packet.timeoutHeight !== 0 && height >= packet.timeoutHeight) ||
    (packet.timeoutTime !== 0 && time >= packet.timeoutTime)
  ) {
    throw new ArchiError(
      'IBC_PACKET_TIMED_OUT',
      `packet ${packet.sourceClient}/${packet.sequence} timed out (timeout height ${packet.timeoutHeight}, time ${packet.timeoutTime}; this block: ${height}, ${time})`,
    );
  }
  // The sender hashed with its own profile: recompute with the counterparty's.
  const commitment = packetCommitment(hashOf(client.profile), packet);
  requireCounterpartyValue(ctx, client, 'commitment', packet.sequence, commitment, {
    clientId: packet.destClient,
    key: keys.commitment(packet.sourceClient, packet.sequence),
    proof,
    proofHeight,
  });
  ctx.set(receiptKey, RECEIPT);
  ctx.emit('RecvPacket', packetRef(packet));
  const ack = ackOf(ctx.savepoint(() => ctx.call(packet.destPort, 'onRecv', packet)));
  ctx.set(
    keys.ack(packet.destClient, packet.sequence),
    ackCommitment(hashOf(ctx.config.crypto), ack),
  );
  ctx.set(keys.ackData(packet.destClient, packet.sequence), ackBytes(ack));
  ctx.emit('WriteAck', { ...packetRef(packet), ack });
  return { ack };
}

/**
 * That the counterparty of `client` (called `at.clientId` here) holds `value` for packet
 * `sequence`: the attested fact of `kind` for an attested client, else a membership proof of
 * `at.key` at `at.proofHeight`.
 */
function requireCounterpartyValue(
  ctx: CallContext,
  client: ClientState,
  kind: 'commitment' | 'ack',
  sequence: number,
  value: Uint8Array,
  at: { clientId: string; key: string; proof: unknown; proofHeight: number },
): void {
  if (isAttested(client)) {
    requireFact(ctx, client, kind, sequence, value);
    return;
  }
  verifyMembership(
    ctx,
    client,
    consensusAt(ctx, at.clientId, at.proofHeight),
    fullKey(at.key),
    value,
    at.proof,
  );
}

function acknowledgePacket(ctx: CallContext, args: unknown): null {
  const a = argsObject(args);
  onlyFields(a, ['packet', 'ack', 'proof', 'proofHeight'], 'acknowledgePacket');
  const packet = packetArg(a.packet);
  const ack = ackArg(a.ack);
  pendingCommitment(ctx, packet);
  const client = activeClient(ctx, packet.sourceClient);
  const { proof, proofHeight } = proofArgs(a, client);
  // The receiver hashed the ack with its own profile.
  const commitment = ackCommitment(hashOf(client.profile), ack);
  requireCounterpartyValue(ctx, client, 'ack', packet.sequence, commitment, {
    clientId: packet.sourceClient,
    key: keys.ack(packet.destClient, packet.sequence),
    proof,
    proofHeight,
  });
  settle(ctx, packet, { status: 'acked', ack, height: ctx.block.height });
  ctx.call(packet.sourcePort, 'onAck', { packet, ack });
  ctx.emit('AckPacket', { ...packetRef(packet), ack });
  return null;
}

function timeoutPacket(ctx: CallContext, args: unknown): null {
  const a = argsObject(args);
  onlyFields(a, ['packet', 'proof', 'proofHeight'], 'timeoutPacket');
  const packet = packetArg(a.packet);
  pendingCommitment(ctx, packet);
  const client = activeClient(ctx, packet.sourceClient);
  if (isAttested(client)) {
    // The attestations were each checked past the timeout when they were counted.
    requireFact(ctx, client, 'receipt-absent', packet.sequence, new Uint8Array(0));
    settle(ctx, packet, { status: 'timed-out', height: ctx.block.height });
    ctx.call(packet.sourcePort, 'onTimeout', packet);
    ctx.emit('TimeoutPacket', packetRef(packet));
    return null;
  }
  const { proof, proofHeight } = proofArgs(a, client);
  const consensus = consensusAt(ctx, packet.sourceClient, proofHeight);
  const byHeight = packet.timeoutHeight !== 0 && proofHeight >= packet.timeoutHeight;
  const byTime = packet.timeoutTime !== 0 && consensus.time >= packet.timeoutTime;
  if (!byHeight && !byTime) {
    throw new ArchiError(
      'IBC_TIMEOUT_NOT_REACHED',
      `packet ${packet.sourceClient}/${packet.sequence} has not timed out at ${client.chainId} height ${proofHeight} (time ${consensus.time}; timeout height ${packet.timeoutHeight}, time ${packet.timeoutTime})`,
    );
  }
  // Receipts are never deleted, so absence at a height past the timeout is absence for good.
  verifyMembership(
    ctx,
    client,
    consensus,
    fullKey(keys.receipt(packet.destClient, packet.sequence)),
    null,
    proof,
  );
  settle(ctx, packet, { status: 'timed-out', height: ctx.block.height });
  ctx.call(packet.sourcePort, 'onTimeout', packet);
  ctx.emit('TimeoutPacket', packetRef(packet));
  return null;
}

/** `{client, sequence}` of the single-packet queries. */
function packetKeyArgs(args: unknown, what: string): { client: string; sequence: number } {
  const a = argsObject(args);
  onlyFields(a, ['client', 'sequence'], what);
  return { client: clientArg(a.client), sequence: count(a.sequence, 'sequence', 1, invalidArgs) };
}

/**
 * Up to `limit` rows under `prefix` (followed by 20-digit sequences) from sequence `from` on,
 * in order. Ranges take a prefix only, so the numbers >= from are walked as prefixes: from's
 * own last digit and the ones above it, then each shorter prefix of from with a greater digit.
 */
function rangeFrom(
  ctx: CallContext,
  prefix: string,
  from: number,
  limit: number,
): Array<[string, Uint8Array]> {
  if (from <= 1) return ctx.range(prefix, limit);
  const s = pad(from);
  const out: Array<[string, Uint8Array]> = [];
  for (let i = s.length - 1; i >= 0 && out.length < limit; i--) {
    for (let d = Number(s[i]) + (i === s.length - 1 ? 0 : 1); d <= 9 && out.length < limit; d++) {
      out.push(...ctx.range(`${prefix}${s.slice(0, i)}${d}`, limit - out.length));
    }
  }
  return out;
}

function packets(ctx: CallContext, args: unknown): { packets: Packet[]; next: number | null } {
  const a = argsObject(args);
  onlyFields(a, ['client', 'from', 'limit'], 'packets');
  const client = clientArg(a.client);
  const from = a.from === undefined ? 1 : count(a.from, 'from', 1, invalidArgs);
  const limit = Math.min(
    a.limit === undefined ? PAGE : count(a.limit, 'limit', 1, invalidArgs),
    PAGE_MAX,
  );
  // The key of packet 0 less its 20 digits: the client's prefix, spelled by keys.ts.
  const rows = rangeFrom(ctx, keys.packet(client, 0).slice(0, -20), from, limit);
  const list = rows.map(([k, v]) => parseJsonBytes(v, 'value', k) as Packet);
  const next = list.length === limit ? list[list.length - 1].sequence + 1 : null;
  return { packets: list, next };
}

const write = (run: NativeMethod['run']): NativeMethod => ({ write: true, run });
const read = (run: NativeMethod['run']): NativeMethod => ({ write: false, run });

/** The packet methods of the `ibc` contract (index.ts spreads them beside the client methods). */
export const packetMethods: Record<string, NativeMethod> = {
  send: write(send),
  recvPacket: write(recvPacket),
  acknowledgePacket: write(acknowledgePacket),
  timeoutPacket: write(timeoutPacket),
  /** A pending packet this chain sent, or null. */
  packet: read((ctx, args) => {
    const { client, sequence } = packetKeyArgs(args, 'packet');
    return getJson(ctx, keys.packet(client, sequence));
  }),
  /** Pending packets of a source client: `{packets, next}` (next: the `from` of the next page). */
  packets: read(packets),
  /** How a packet this chain sent was settled (`Settled`), or null while pending or unknown. */
  settled: read((ctx, args) => {
    const { client, sequence } = packetKeyArgs(args, 'settled');
    return getJson(ctx, keys.settled(client, sequence));
  }),
  /** Whether a packet was received here (client: this chain's client of the sender). */
  receipt: read((ctx, args) => {
    const { client, sequence } = packetKeyArgs(args, 'receipt');
    return ctx.get(keys.receipt(client, sequence)) !== undefined;
  }),
  /** The ack this chain wrote for a received packet, or null. */
  ack: read((ctx, args) => {
    const { client, sequence } = packetKeyArgs(args, 'ack');
    return getJson(ctx, keys.ackData(client, sequence));
  }),
  /** The sequence the next packet sent over a client gets. */
  nextSequence: read((ctx, args) => {
    const a = argsObject(args);
    onlyFields(a, ['client'], 'nextSequence');
    const v = ctx.get(keys.nextSeq(clientArg(a.client)));
    return v === undefined ? 1 : Number(utf8Text(v));
  }),
};
