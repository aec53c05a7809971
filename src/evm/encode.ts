/**
 * Turns what Archipelago's nodes serve (header bytes, encoded commits, validator sets as JSON,
 * state proofs, packets) into the call arguments of the EVM contracts (contracts/evm/). Pure:
 * no network, no ethers; the relayer and the CLI call these with what the SDK fetched.
 */
import { CommitSchema, create, decode, encode, ValidatorSchema } from '../codec/index.ts';
import { merkleRoot } from '../codec/merkle.ts';
import { getProfile } from '../crypto/profile.ts';
import type { StateProofJson } from '../state/proof.ts';
import { hex, unhex } from '../types/hex.ts';
import type { IbcPacket, ValidatorJson } from '../types/rpc-json.ts';

/** The P-256 group order n; a signature's s above n/2 is sent as n - s (the same signature). */
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF_N = N / 2n;
/** `CommitSig.trustedIndex` of a signer that is not in the trusted set. */
export const NOT_TRUSTED = 0xffff;

/** A 0x-prefixed hex string, as ethers takes bytes. */
export type Hex0x = `0x${string}`;

const x = (bytes: Uint8Array): Hex0x => `0x${hex(bytes)}`;
const bytesOf = (v: Uint8Array | string, what: string): Uint8Array =>
  typeof v === 'string' ? unhex(v.replace(/^0x/i, ''), what) : v;

/** One precommit as the light client takes it (`ArchipelagoLightClient.CommitSig`). */
export interface CommitSigArg {
  index: number;
  trustedIndex: number;
  timestamp: bigint;
  r: Hex0x;
  s: Hex0x;
}

/** The argument of `updateClient` (`ArchipelagoLightClient.Update`). */
export interface UpdateArg {
  header: Hex0x;
  trustedHeight: bigint;
  round: number;
  signatures: CommitSigArg[];
  validators: Hex0x[];
  nextValidators: Hex0x[];
}

/** `SparseMerkle.Proof`. */
export interface ProofArg {
  siblings: Hex0x[];
  hasLeaf: boolean;
  leafPath: Hex0x;
  leafValueHash: Hex0x;
}

/** `PacketJson.Packet`: a transfer packet with its data spelled out. */
export interface PacketArg {
  sequence: bigint;
  sourceClient: string;
  destClient: string;
  timeoutHeight: bigint;
  timeoutTime: bigint;
  sourcePort: string;
  destPort: string;
  data: { denom: string; amount: string; sender: string; receiver: string; memo: string };
}

/** The encoded `Validator` messages of a set, in its order (what its hash is the root of). */
export function encodeValidators(set: ValidatorJson[]): Uint8Array[] {
  return set.map((v) =>
    encode(
      ValidatorSchema,
      create(ValidatorSchema, {
        name: v.name,
        org: v.org,
        publicKey: unhex(v.publicKey, `validator ${v.name} publicKey`),
        power: BigInt(v.power),
      }),
    ),
  );
}

/** The set's hash (header `validators_hash`), lower-case hex without 0x. */
export function validatorSetHash(set: ValidatorJson[]): string {
  const sha256 = getProfile('standard').hash;
  return hex(merkleRoot(sha256, encodeValidators(set)));
}

/** (r, s) of a DER ECDSA signature, s moved to the lower half; throws on malformed DER. */
export function derToRs(der: Uint8Array): { r: Hex0x; s: Hex0x } {
  const fail = (): never => {
    throw new Error('malformed DER signature');
  };
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) fail();
  let at = 2;
  const int = (): bigint => {
    if (der[at] !== 0x02) fail();
    const len = der[at + 1];
    if (len < 1 || len > 33 || at + 2 + len > der.length) fail();
    const v = BigInt(`0x${hex(der.subarray(at + 2, at + 2 + len))}`);
    at += 2 + len;
    return v;
  };
  const r = int();
  let s = int();
  if (at !== der.length || r === 0n || r >= N || s === 0n || s >= N) fail();
  if (s > HALF_N) s = N - s;
  const word = (v: bigint): Hex0x => `0x${v.toString(16).padStart(64, '0')}`;
  return { r: word(r), s: word(s) };
}

/** Archipelago address (sha256(key)[0:20], lower-case hex) of each validator of a set. */
function addresses(set: ValidatorJson[]): string[] {
  const sha256 = getProfile('standard').hash;
  return set.map((v) => hex(sha256(unhex(v.publicKey)).subarray(0, 20)));
}

/** What a relayer carries for one header (the SDK's `IbcHeader` and the test islands' fit). */
export interface HeaderInput {
  /** Encoded Header bytes (hex, 0x optional, or bytes). */
  header: string | Uint8Array;
  /** Encoded Commit of the header's block (hex or bytes). */
  commit: string | Uint8Array;
  /** The header's own validator set. */
  validators: ValidatorJson[];
}

/** Options of `updateArg`. */
export interface UpdateOptions {
  /** The height of the consensus state the update starts from. */
  trustedHeight: number;
  /** The trusted state's next set (the set that signs trustedHeight + 1): counted when skipping. */
  trustedValidators?: ValidatorJson[];
  /** Send the header's set along (the client does not hold it yet). */
  includeValidators?: boolean;
  /** The header's next set, sent along when given (for the next adjacent update). */
  nextValidators?: ValidatorJson[];
}

/**
 * The `updateClient` argument of a header: the commit's precommits by members of the header's
 * set, in set order, each with its place in the trusted set (signers outside the set are left
 * out, as Archipelago's tally ignores them).
 */
export function updateArg(input: HeaderInput, opts: UpdateOptions): UpdateArg {
  const commit = decode(CommitSchema, bytesOf(input.commit, 'commit'));
  const index = new Map(addresses(input.validators).map((a, i) => [a, i]));
  const trusted = new Map(addresses(opts.trustedValidators ?? []).map((a, i) => [a, i]));
  const seen = new Set<number>();
  const signatures: CommitSigArg[] = [];
  for (const sig of commit.signatures) {
    const addr = hex(sig.validator);
    const i = index.get(addr);
    if (i === undefined || seen.has(i)) continue;
    seen.add(i);
    signatures.push({
      index: i,
      trustedIndex: trusted.get(addr) ?? NOT_TRUSTED,
      timestamp: sig.timestamp,
      ...derToRs(sig.signature),
    });
  }
  signatures.sort((a, b) => a.index - b.index);
  return {
    header: x(bytesOf(input.header, 'header')),
    trustedHeight: BigInt(opts.trustedHeight),
    round: commit.round,
    signatures,
    validators: opts.includeValidators ? encodeValidators(input.validators).map(x) : [],
    nextValidators: opts.nextValidators ? encodeValidators(opts.nextValidators).map(x) : [],
  };
}

/** The `SparseMerkle.Proof` of a node's `StateProofJson`. */
export function proofArg(proof: StateProofJson): ProofArg {
  const zero: Hex0x = `0x${'0'.repeat(64)}`;
  return {
    siblings: proof.siblings.map((s) => `0x${s}` as Hex0x),
    hasLeaf: proof.leaf !== undefined,
    leafPath: proof.leaf ? `0x${proof.leaf.path}` : zero,
    leafValueHash: proof.leaf ? `0x${proof.leaf.valueHash}` : zero,
  };
}

/**
 * The `PacketJson.Packet` of a transfer packet as Archipelago's `ibc` lists it (`IbcPacket`
 * with ICS-20 data); throws if the data is not transfer data of five string fields.
 */
export function packetArg(packet: IbcPacket): PacketArg {
  const d = packet.data as Record<string, unknown> | null;
  const fields = ['amount', 'denom', 'memo', 'receiver', 'sender'];
  if (
    typeof d !== 'object' ||
    d === null ||
    Object.keys(d).sort().join() !== fields.join() ||
    fields.some((f) => typeof d[f] !== 'string')
  ) {
    throw new Error('packet data is not transfer data {denom, amount, sender, receiver, memo}');
  }
  return {
    sequence: BigInt(packet.sequence),
    sourceClient: packet.sourceClient,
    destClient: packet.destClient,
    timeoutHeight: BigInt(packet.timeoutHeight),
    timeoutTime: BigInt(packet.timeoutTime),
    sourcePort: packet.sourcePort,
    destPort: packet.destPort,
    data: {
      denom: d.denom as string,
      amount: d.amount as string,
      sender: d.sender as string,
      receiver: d.receiver as string,
      memo: d.memo as string,
    },
  };
}

/** The `IbcPacket` of a packet the bridge sent (its `SendPacket` event), as Archipelago takes it. */
export function packetFromEvent(ev: {
  sequence: bigint;
  sourceClient: string;
  destClient: string;
  timeoutHeight: bigint;
  timeoutTime: bigint;
  sourcePort: string;
  destPort: string;
  data: string | Uint8Array;
}): IbcPacket {
  const json = JSON.parse(new TextDecoder().decode(bytesOf(ev.data, 'packet data'))) as {
    data: unknown;
  };
  return {
    sequence: Number(ev.sequence),
    sourceClient: ev.sourceClient,
    destClient: ev.destClient,
    timeoutHeight: Number(ev.timeoutHeight),
    timeoutTime: Number(ev.timeoutTime),
    sourcePort: ev.sourcePort,
    destPort: ev.destPort,
    data: json.data,
  };
}
