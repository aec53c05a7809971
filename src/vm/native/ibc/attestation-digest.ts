/**
 * What a validator signs when it attests a fact about an EVM bridge's storage (docs/BRIDGE.md,
 * "Digest layout"). Pure and shared: the `ibc` contract checks signatures over it, the attestor
 * (src/evm/attestor.ts) signs it. One fixed byte layout, so a signature means one thing only.
 */
import { utf8Bytes } from '../../../types/json.ts';

/** The fact kinds an attested client records, with their byte in the digest. */
export const FACT_KINDS = { commitment: 1, ack: 2, 'receipt-absent': 3 } as const;
export type FactKind = keyof typeof FACT_KINDS;

/** Domain tag first in every digest: no other signed message of the chain starts with it. */
export const ATTESTATION_TAG = 'archipelago/attestation/v1';

/** Everything one attestation is about; the signature covers all of it. */
export interface AttestationFields {
  /** This (Archipelago) chain's id. */
  chainId: string;
  /** The attested client on this chain. */
  clientId: string;
  /** The EVM chain id (EIP-155). */
  evmChainId: bigint;
  /** The bridge contract: 20 bytes. */
  bridge: Uint8Array;
  kind: FactKind;
  sequence: number;
  /** 32 bytes for `commitment` and `ack`; empty for `receipt-absent`. */
  value: Uint8Array;
  /** The EVM block the value was read at. */
  evmBlockNumber: number;
  /** Its hash: 32 bytes. */
  evmBlockHash: Uint8Array;
  /** Its timestamp in ms (EVM seconds × 1000), the unit of Archipelago's timeoutTime. */
  evmTime: number;
}

function u16(n: number): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, n);
  return out;
}

function u64(n: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

/** Length-prefixed (u16 big-endian) bytes: variable fields cannot run into each other. */
function lp(b: Uint8Array): Uint8Array {
  if (b.length > 0xffff) throw new RangeError('attestation field longer than 65535 bytes');
  return concat([u16(b.length), b]);
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
 * The attestation preimage: tag, lp(chainId), lp(clientId), u64 evmChainId, bridge (20),
 * u8 kind, u64 sequence, lp(value), u64 evmBlockNumber, evmBlockHash (32), u64 evmTime.
 */
export function attestationBytes(f: AttestationFields): Uint8Array {
  if (f.bridge.length !== 20) throw new RangeError('bridge must be 20 bytes');
  if (f.evmBlockHash.length !== 32) throw new RangeError('evmBlockHash must be 32 bytes');
  return concat([
    utf8Bytes(ATTESTATION_TAG),
    lp(utf8Bytes(f.chainId)),
    lp(utf8Bytes(f.clientId)),
    u64(f.evmChainId),
    f.bridge,
    new Uint8Array([FACT_KINDS[f.kind]]),
    u64(f.sequence),
    lp(f.value),
    u64(f.evmBlockNumber),
    f.evmBlockHash,
    u64(f.evmTime),
  ]);
}

/** The digest validators sign: the chain profile's hash (SHA-256 or SM3) of the preimage. */
export function attestationDigest(
  hash: (d: Uint8Array) => Uint8Array,
  f: AttestationFields,
): Uint8Array {
  return hash(attestationBytes(f));
}
