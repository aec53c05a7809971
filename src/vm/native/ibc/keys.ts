/**
 * The `ibc` contract's state keys and the commitments its proofs are about (docs/INTERCHAIN.md).
 * One place, because the sender writes these keys, the receiver proves them under the sender's
 * root and the relayer asks nodes for them: a key spelled twice is a proof that never verifies.
 */
import { stateKey } from '../../../state/overlay.ts';
import { canonicalJsonText, utf8Bytes } from '../../../types/json.ts';
import type { IbcAck, IbcPacket } from '../../../types/rpc-json.ts';

/** The contract's name, so also the first part of every full state key below. */
export const IBC = 'ibc';

/** Client ids: what the CLI names a client (the counterparty's chain id) fits this. */
export const CLIENT_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Sequences and heights as 20 zero-padded digits, so key order is numeric order. */
export const pad = (n: number | bigint): string => n.toString().padStart(20, '0');

export const keys = {
  client: (clientId: string) => `clients/${clientId}`,
  consensus: (clientId: string, height: number) => `consensus/${clientId}/${pad(height)}`,
  nextSeq: (clientId: string) => `nextSeq/${clientId}`,
  commitment: (sourceClient: string, seq: number) => `commitments/${sourceClient}/${pad(seq)}`,
  packet: (sourceClient: string, seq: number) => `packets/${sourceClient}/${pad(seq)}`,
  receipt: (destClient: string, seq: number) => `receipts/${destClient}/${pad(seq)}`,
  ack: (destClient: string, seq: number) => `acks/${destClient}/${pad(seq)}`,
  ackData: (destClient: string, seq: number) => `ackdata/${destClient}/${pad(seq)}`,
  settled: (sourceClient: string, seq: number) => `settled/${sourceClient}/${pad(seq)}`,
  // Attested clients (attested-client.ts): per fact, each validator's attestation, the power
  // behind each value, the recorded fact and evidence of a validator attesting two values.
  attestation: (clientId: string, kind: string, seq: number, validator: string) =>
    `attest/${clientId}/${kind}/${pad(seq)}/${validator}`,
  tally: (clientId: string, kind: string, seq: number, valueHex: string) =>
    `tally/${clientId}/${kind}/${pad(seq)}/${valueHex === '' ? '-' : valueHex}`,
  fact: (clientId: string, kind: string, seq: number) => `facts/${clientId}/${kind}/${pad(seq)}`,
  /** A validator's attestation of a value other than its first (counted, and evidence). */
  secondVote: (clientId: string, kind: string, seq: number, valueHex: string, validator: string) =>
    `attest2/${clientId}/${kind}/${pad(seq)}/${valueHex === '' ? '-' : valueHex}/${validator}`,
  evidence: (clientId: string, kind: string, seq: number, validator: string) =>
    `evidence/${clientId}/${kind}/${pad(seq)}/${validator}`,
} as const;

/** The full state key (`ibc/...`) of a contract key: what a relayer asks a node to prove. */
export const fullKey = (key: string): string => stateKey(IBC, key);

/** What a receipt holds: its presence is the fact, the byte only makes it a non-empty value. */
export const RECEIPT = new Uint8Array([1]);

/** A packet as the contract stores it and a relayer carries it. */
export type Packet = IbcPacket;

/** What the receiving contract's `onRecv` made of a packet. */
export type Ack = IbcAck;

type Hash = (data: Uint8Array) => Uint8Array;

function u64be(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * IBC v2's packet commitment, `H(H(dest) || H(timeout) || H(data))`, with the timeout widened to
 * height and time and `H` the sending chain's hash.
 */
export function packetCommitment(hash: Hash, p: Packet): Uint8Array {
  const timeout = concat([u64be(p.timeoutHeight), u64be(p.timeoutTime)]);
  const data = utf8Bytes(
    canonicalJsonText(
      { sourcePort: p.sourcePort, destPort: p.destPort, data: p.data },
      'value',
      'packet data',
    ),
  );
  return hash(concat([hash(utf8Bytes(p.destClient)), hash(timeout), hash(data)]));
}

/** The bytes of an ack (canonical JSON): what `ackdata` holds and the ack commitment hashes. */
export function ackBytes(ack: Ack): Uint8Array {
  return utf8Bytes(canonicalJsonText(ack, 'value', 'ack'));
}

/** The ack commitment `H(ack bytes)`, with the receiving chain's hash. */
export function ackCommitment(hash: Hash, ack: Ack): Uint8Array {
  return hash(ackBytes(ack));
}
