/**
 * The checks every tx must pass, shared by mempool admission and block execution so a
 * tx admitted by one node is judged the same way by every node.
 */
import type { ChainConfig } from '../codec/index.ts';
import type { AsyncVerifier } from '../crypto/async-verify.ts';
import type { CryptoProfile } from '../crypto/profile.ts';
import { ArchiError } from '../types/errors.ts';
import { bytesEqual } from '../types/hex.ts';
import { parseJsonBytes } from '../types/json.ts';
import { type DecodedTx, decodeTx } from '../types/tx.ts';
import type { StateReader } from '../state/overlay.ts';
import { checkHookCaller, type NativeMethod } from '../vm/context.ts';
import type { ContractRegistry } from '../vm/registry.ts';
import type { IdentityResolver, ResolvedSender } from './identity.ts';

export interface CheckedTx extends DecodedTx {
  sender: ResolvedSender;
  args: unknown;
  method: NativeMethod;
}

/** Remembers which (tx id, signature) pairs verified, so a block re-executed after admission skips the ECDSA. */
export class SignatureCache {
  private readonly seen = new Map<string, Uint8Array>();

  constructor(private readonly limit = 200_000) {}

  has(tx: DecodedTx): boolean {
    const sig = this.seen.get(tx.txIdHex);
    return sig !== undefined && bytesEqual(sig, tx.tx.signature);
  }

  add(tx: DecodedTx): void {
    if (this.seen.size >= this.limit) {
      // Drop the oldest quarter: Map iterates in insertion order.
      let n = this.limit >> 2;
      for (const k of this.seen.keys()) {
        this.seen.delete(k);
        if (--n <= 0) break;
      }
    }
    this.seen.set(tx.txIdHex, tx.tx.signature);
  }

  delete(txIdHex: string): void {
    this.seen.delete(txIdHex);
  }
}

export interface TxCheckEnv {
  profile: CryptoProfile;
  identities: IdentityResolver;
  registry: ContractRegistry;
  sigCache: SignatureCache;
}

/** Size limit in bytes for one tx under a config. */
export function maxTxBytes(config: ChainConfig): number {
  return config.params?.maxTxBytes ?? 64 * 1024;
}

/** Decode a tx and apply the size limit; throws TX_TOO_LARGE or TX_MALFORMED. */
export function decodeChecked(env: TxCheckEnv, config: ChainConfig, bytes: Uint8Array): DecodedTx {
  if (bytes.length > maxTxBytes(config)) {
    throw new ArchiError(
      'TX_TOO_LARGE',
      `tx is ${bytes.length} bytes, the limit is ${maxTxBytes(config)}`,
    );
  }
  return decodeTx(env.profile, bytes);
}

/**
 * Every rule a tx must meet at time `now` (local clock at admission, block time in
 * execution) except the signature, which callers verify synchronously (execution) or off
 * the main thread (admission). User contracts are looked up in `state` (the block's
 * overlay in execution; committed state when absent). Throws an ArchiError naming the
 * first failed rule.
 */
export function checkTxRules(
  env: TxCheckEnv,
  config: ChainConfig,
  tx: DecodedTx,
  now: number,
  state?: StateReader,
): CheckedTx {
  const p = tx.payload;
  if (p.chainId !== config.chainId) {
    throw new ArchiError(
      'TX_WRONG_CHAIN',
      `tx is for chain ${JSON.stringify(p.chainId)}, this is ${config.chainId}`,
    );
  }
  const window = Number(config.txTimeWindowMs);
  const ts = Number(p.timestamp);
  if (Math.abs(ts - now) > window) {
    throw new ArchiError(
      'TX_EXPIRED',
      `tx timestamp ${ts} is outside the ${window} ms window around ${now}`,
    );
  }
  const sender = env.identities.resolve(config, p.sender, now);
  if (!config.txRoles.includes(sender.role)) {
    throw new ArchiError('TX_FORBIDDEN', `role ${sender.role} may not send transactions`);
  }
  // IBC hooks run only when the ibc contract calls them, on a packet it verified.
  checkHookCaller(null, p.contract, p.method);
  const method = env.registry.method(p.contract, p.method, state, 'tx');
  if (!method.write) {
    throw new ArchiError('METHOD_NOT_FOUND', `${p.contract}.${p.method} is read-only: use a query`);
  }
  const args = parseJsonBytes(p.args);
  return { ...tx, sender, args, method };
}

const badSignature = (): ArchiError =>
  new ArchiError('TX_BAD_SIGNATURE', 'signature does not verify against the sender key');

/** Verify the signature on this thread unless this exact (id, signature) already verified. */
export function verifyTxSignature(env: TxCheckEnv, tx: CheckedTx): void {
  if (env.sigCache.has(tx)) return;
  if (!env.profile.verify(tx.sender.publicKey, tx.tx.payload, tx.tx.signature))
    throw badSignature();
  env.sigCache.add(tx);
}

/** verifyTxSignature off the main thread. */
export async function verifyTxSignatureAsync(
  env: TxCheckEnv,
  verifier: AsyncVerifier,
  tx: CheckedTx,
): Promise<void> {
  if (env.sigCache.has(tx)) return;
  if (!(await verifier.verify(tx.sender.publicKey, tx.tx.payload, tx.tx.signature)))
    throw badSignature();
  env.sigCache.add(tx);
}

/** All checks of a tx, signature included, on this thread (block execution). */
export function checkDecodedTx(
  env: TxCheckEnv,
  config: ChainConfig,
  tx: DecodedTx,
  now: number,
  state?: StateReader,
): CheckedTx {
  const checked = checkTxRules(env, config, tx, now, state);
  verifyTxSignature(env, checked);
  return checked;
}
