/**
 * Wallet keys. A wallet is held by a person, not by a member organization: its key signs the
 * wallet's payments itself, and the chain accepts that signature only because the wallet's
 * operator vouched for the key: on a cert-mode chain the operator's CA certifies it (role
 * `common`, a pseudonymous subject), on a key-mode chain the operator's admin registers it
 * (`org_keys.register`). The wallet id is the key's account id, what contracts see as
 * `ctx.sender.id`. A key file holds the key, its certificate or public key, and the facts a
 * client needs to sign with it.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { address, type CryptoProfile } from '../../crypto/profile.ts';
import { certToPem, issueCertificate } from '../../crypto/x509.ts';
import { Identity } from '../../sdk/identity.ts';
import { ArchiError } from '../../types/errors.ts';
import { hex } from '../../types/hex.ts';

/** What `archi cbdc open-wallet --out FILE` writes (mode 0600). */
export interface WalletKeyFile {
  kind: 'archipelago-cbdc-wallet';
  wallet: string;
  /** The operator organization whose member identity the key is. */
  operator: string;
  chainId: string;
  crypto: 'standard' | 'gm';
  identityMode: 'cert' | 'key';
  keyPem: string;
  /** Cert mode: the certificate the operator's CA issued. */
  certPem?: string;
  publicKey: string;
  /** The parent wallet of a sub-wallet. */
  parent?: string;
}

/** A new wallet key; on a cert chain certified by the operator's CA (`ca`) for ~2 years. */
export function newWalletKey(
  profile: CryptoProfile,
  operator: string,
  ca?: { keyPem: string },
  now = Date.now(),
): { keyPem: string; certPem?: string; publicKey: Uint8Array; wallet: string } {
  const kp = profile.generateKeyPair();
  const wallet = address(profile, kp.publicKey);
  if (!ca) return { keyPem: kp.privateKeyPem, publicKey: kp.publicKey, wallet };
  const der = issueCertificate({
    profile,
    issuer: profile.signerFromPem(ca.keyPem),
    issuerName: { O: operator, CN: `ca.${operator}` },
    // The subject names the wallet, never the person: the link to a person stays off chain.
    subjectName: { O: operator, OU: 'common', CN: `wallet-${wallet.slice(0, 16)}` },
    subjectPublicKey: kp.publicKey,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 730 * 86_400_000),
    isCA: false,
  });
  return { keyPem: kp.privateKeyPem, certPem: certToPem(der), publicKey: kp.publicKey, wallet };
}

/** Write a key file readable by its owner only. */
export function writeWalletKey(path: string, file: WalletKeyFile): void {
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Read and check a key file. */
export function readWalletKey(path: string): WalletKeyFile {
  let f: WalletKeyFile;
  try {
    f = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ArchiError('BAD_REQUEST', `cannot read wallet key ${path}: ${(e as Error).message}`);
  }
  if (f?.kind !== 'archipelago-cbdc-wallet' || typeof f.keyPem !== 'string') {
    throw new ArchiError(
      'BAD_REQUEST',
      `${path} is not a wallet key file (archi cbdc open-wallet --out)`,
    );
  }
  return f;
}

/** The signing identity of a wallet key file, checked against the chain it is used on. */
export function walletIdentity(f: WalletKeyFile, chainId: string): Identity {
  if (f.chainId !== chainId) {
    throw new ArchiError('BAD_REQUEST', `the wallet key is for chain ${f.chainId}, not ${chainId}`);
  }
  const id = Identity.fromPem(f.crypto, f.operator, f.keyPem, f.certPem ?? f.publicKey);
  if (id.address !== f.wallet) {
    throw new ArchiError('BAD_REQUEST', `the key file's key is not wallet ${f.wallet}'s`);
  }
  return id;
}

/** Hex of a public key, for key files. */
export const publicKeyHex = (k: Uint8Array): string => hex(k);
