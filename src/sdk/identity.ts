/** Client identities (a private key plus a certificate or a registered public key) and tx signing. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { address, type CryptoProfile, getProfile, type Signer } from '../crypto/profile.ts';
import { certFromPem, parseCertificate } from '../crypto/x509.ts';
import { ArchiError } from '../types/errors.ts';
import { bytesEqual, hex, unhex } from '../types/hex.ts';
import { utf8Bytes } from '../types/json.ts';
import { buildTx, type SenderId, type SignedTx } from '../types/tx.ts';

/** How the chain identifies a sender: by X.509 certificate or by registered public key. */
export type IdentityMode = 'cert' | 'key';

/** One contract call to sign. */
export interface Call {
  contract: string;
  method: string;
  args?: unknown;
  /** Args as JSON text, signed byte for byte as given instead of `args` (the node judges them). */
  argsJson?: string;
  gasLimit?: bigint | number;
  /** Defaults to now; must fall within the chain's tx time window. */
  timestamp?: number;
  /** Defaults to a random salt. */
  nonce?: bigint;
}

const PEM_RE = /-----BEGIN [A-Z0-9 ]+-----/;
const HEX_RE = /^(0x)?[0-9a-fA-F]+$/;

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : message(e);
    throw new ArchiError('BAD_REQUEST', `cannot read ${what} ${path}: ${why}`);
  }
}

function profileByName(name: string): CryptoProfile {
  try {
    return getProfile(name);
  } catch (e) {
    throw new ArchiError('BAD_REQUEST', message(e));
  }
}

/** A signing identity of one organization member. */
export class Identity {
  /** Uncompressed public key of the signer. */
  readonly publicKey: Uint8Array;
  /** Account address (hex) derived from the public key, as contracts see `sender.id`. */
  readonly address: string;

  private constructor(
    readonly org: string,
    readonly profile: CryptoProfile,
    readonly signer: Signer,
    readonly sender: SenderId,
    readonly mode: IdentityMode,
  ) {
    this.publicKey = signer.publicKey;
    this.address = address(profile, signer.publicKey);
  }

  /**
   * Identity from PEM text: the private key plus a certificate PEM (cert mode) or the public
   * key as hex (key mode; defaults to the key's own public key).
   */
  static fromPem(
    profileName: string,
    org: string,
    keyPem: string,
    certPemOrPublicKeyHex?: string,
  ): Identity {
    if (typeof org !== 'string' || org.length === 0) {
      throw new ArchiError('BAD_REQUEST', 'identity needs an organization id');
    }
    const profile = profileByName(profileName);
    let signer: Signer;
    try {
      signer = profile.signerFromPem(keyPem);
    } catch (e) {
      throw new ArchiError('BAD_REQUEST', `cannot load ${profile.name} private key: ${message(e)}`);
    }
    const extra = certPemOrPublicKeyHex?.trim();
    if (extra && PEM_RE.test(extra)) {
      let der: Uint8Array;
      let certKey: Uint8Array;
      let certOrg: string;
      try {
        der = certFromPem(extra);
        const cert = parseCertificate(der);
        certKey = cert.publicKey;
        certOrg = cert.subject.O;
      } catch (e) {
        throw new ArchiError('CERT_INVALID', `cannot load certificate: ${message(e)}`);
      }
      // Catching a mismatched pair here gives a clearer error than a rejected tx would.
      if (!bytesEqual(certKey, signer.publicKey)) {
        throw new ArchiError('CERT_INVALID', 'certificate does not match the private key');
      }
      if (certOrg !== undefined && certOrg !== org) {
        throw new ArchiError('CERT_INVALID', `certificate belongs to ${certOrg}, not ${org}`);
      }
      return new Identity(org, profile, signer, { org, cert: der }, 'cert');
    }
    if (extra) {
      if (!HEX_RE.test(extra)) {
        throw new ArchiError('BAD_REQUEST', 'expected a certificate PEM or a public key in hex');
      }
      if (!bytesEqual(unhex(extra, 'public key'), signer.publicKey)) {
        throw new ArchiError('BAD_REQUEST', 'public key does not match the private key');
      }
    }
    return new Identity(org, profile, signer, { org, publicKey: signer.publicKey }, 'key');
  }

  /**
   * Identity from files or PEM text: `key` is a key PEM or its path; `certOrPublicKey` is a
   * certificate PEM, a public key hex, or the path of a file holding either (omit for key mode).
   */
  static fromFiles(
    profileName: string,
    org: string,
    key: string,
    certOrPublicKey?: string,
  ): Identity {
    const keyPem = PEM_RE.test(key) ? key : readText(key, 'private key');
    let extra = certOrPublicKey;
    if (extra !== undefined && !PEM_RE.test(extra) && !HEX_RE.test(extra.trim())) {
      extra = readText(extra, 'certificate or public key');
    }
    return Identity.fromPem(profileName, org, keyPem, extra);
  }

  /**
   * Identity from a user directory holding key.pem and cert.pem (cert mode) or public.hex
   * (key mode); without `mode`, cert.pem is used when present.
   */
  static fromUserDir(profileName: string, org: string, dir: string, mode?: IdentityMode): Identity {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    const pubPath = join(dir, 'public.hex');
    if (!existsSync(keyPath)) throw new ArchiError('BAD_REQUEST', `no private key at ${keyPath}`);
    if (mode === 'cert' && !existsSync(certPath)) {
      throw new ArchiError('BAD_REQUEST', `no certificate at ${certPath}`);
    }
    const useCert = mode !== 'key' && existsSync(certPath);
    const extra = useCert ? certPath : existsSync(pubPath) ? pubPath : undefined;
    return Identity.fromFiles(profileName, org, keyPath, extra);
  }

  /** Public key as hex. */
  get publicKeyHex(): string {
    return hex(this.publicKey);
  }
}

/** Build and sign a tx calling `call` as `identity` on chain `chainId`. */
export function buildAndSign(identity: Identity, chainId: string, call: Call): SignedTx {
  if (typeof call?.contract !== 'string' || call.contract.length === 0) {
    throw new ArchiError('INVALID_ARGS', 'contract name is required');
  }
  if (typeof call.method !== 'string' || call.method.length === 0) {
    throw new ArchiError('INVALID_ARGS', 'method name is required');
  }
  let gasLimit: bigint | undefined;
  if (call.gasLimit !== undefined) {
    try {
      gasLimit = BigInt(call.gasLimit);
    } catch {
      throw new ArchiError('INVALID_ARGS', `gas limit must be an integer, got ${call.gasLimit}`);
    }
    if (gasLimit <= 0n) throw new ArchiError('INVALID_ARGS', 'gas limit must be positive');
  }
  return buildTx(identity.profile, identity.signer, {
    chainId,
    sender: identity.sender,
    contract: call.contract,
    method: call.method,
    args: call.args ?? null,
    argsBytes: call.argsJson === undefined ? undefined : utf8Bytes(call.argsJson),
    gasLimit,
    timestamp: call.timestamp,
    nonce: call.nonce,
  });
}
