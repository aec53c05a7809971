/** Transactions: build and sign, decode and identify. The signature and the tx id cover the exact payload bytes. */
import {
  create,
  decode,
  encode,
  type Tx,
  type TxPayload,
  TxPayloadSchema,
  TxSchema,
} from '../codec/index.ts';
import type { CryptoProfile, Signer } from '../crypto/profile.ts';
import { hex } from './hex.ts';
import { jsonBytes } from './json.ts';

export const DEFAULT_GAS_LIMIT = 10_000_000n;

/** The sender's identity as carried in a tx: a certificate (cert mode) or a registered key (key mode). */
export interface SenderId {
  org: string;
  cert?: Uint8Array;
  publicKey?: Uint8Array;
}

export interface TxFields {
  chainId: string;
  sender: SenderId;
  contract: string;
  method: string;
  args?: unknown;
  /** Args already encoded as JSON bytes, sent exactly as given instead of `args` (the node judges them). */
  argsBytes?: Uint8Array;
  gasLimit?: bigint;
  timestamp?: number;
  nonce?: bigint;
}

export interface SignedTx {
  bytes: Uint8Array;
  txId: Uint8Array;
  txIdHex: string;
}

export interface DecodedTx extends SignedTx {
  tx: Tx;
  payload: TxPayload;
}

function randomNonce(): bigint {
  const b = new Uint8Array(8);
  globalThis.crypto.getRandomValues(b);
  return new DataView(b.buffer).getBigUint64(0);
}

/** Build, sign and encode a transaction. */
export function buildTx(profile: CryptoProfile, signer: Signer, f: TxFields): SignedTx {
  const payload = encode(
    TxPayloadSchema,
    create(TxPayloadSchema, {
      chainId: f.chainId,
      sender: {
        org: f.sender.org,
        cert: f.sender.cert ?? new Uint8Array(0),
        publicKey: f.sender.publicKey ?? new Uint8Array(0),
      },
      nonce: f.nonce ?? randomNonce(),
      contract: f.contract,
      method: f.method,
      args: f.argsBytes ?? jsonBytes(f.args ?? null, 'args', 'args'),
      gasLimit: f.gasLimit ?? DEFAULT_GAS_LIMIT,
      timestamp: BigInt(f.timestamp ?? Date.now()),
    }),
  );
  const signature = signer.sign(payload);
  const bytes = encode(TxSchema, create(TxSchema, { payload, signature }));
  const txId = profile.hash(payload);
  return { bytes, txId, txIdHex: hex(txId) };
}

/** Decode tx bytes and compute its id; throws ArchiError(TX_MALFORMED) on bad bytes. */
export function decodeTx(profile: CryptoProfile, bytes: Uint8Array): DecodedTx {
  const tx = decode(TxSchema, bytes, 'TX_MALFORMED');
  const payload = decode(TxPayloadSchema, tx.payload, 'TX_MALFORMED');
  const txId = profile.hash(tx.payload);
  return { bytes, tx, payload, txId, txIdHex: hex(txId) };
}
