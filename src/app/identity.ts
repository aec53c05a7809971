/**
 * Resolves a tx sender to a member identity under a chain config: certificate issued by a
 * member org's CA (cert mode) or a key registered by an org (key mode), with its role,
 * validity and revocation. Verified certificates are cached by their hash, since the same
 * few senders sign most txs and a certificate check costs a signature verification.
 */
import type { ChainConfig, Sender } from '../codec/index.ts';
import { address, type CryptoProfile } from '../crypto/profile.ts';
import { type ParsedCertificate, parseCertificate, verifyCertificate } from '../crypto/x509.ts';
import { ArchiError } from '../types/errors.ts';
import { ROLES, type Role } from '../types/genesis.ts';
import { bytesEqual, hex } from '../types/hex.ts';
import type { SenderInfo } from '../vm/context.ts';

export interface ResolvedSender extends SenderInfo {
  publicKey: Uint8Array;
  certHash?: string;
}

interface CertEntry {
  info: ResolvedSender;
  notBefore: number;
  notAfter: number;
}

const CACHE_LIMIT = 10_000;

export class IdentityResolver {
  private cacheConfig: ChainConfig | undefined;
  private readonly certs = new Map<string, CertEntry>();
  private cas = new Map<string, ParsedCertificate>();

  constructor(private readonly profile: CryptoProfile) {}

  /** The member identity of `sender` at time `now` (ms), or an ArchiError saying why not. */
  resolve(config: ChainConfig, sender: Sender | undefined, now: number): ResolvedSender {
    if (!sender) throw new ArchiError('TX_UNKNOWN_SENDER', 'tx has no sender');
    if (config !== this.cacheConfig) this.reset(config);
    return config.identityMode === 'key'
      ? this.resolveKey(config, sender)
      : this.resolveCert(config, sender, now);
  }

  private reset(config: ChainConfig): void {
    this.cacheConfig = config;
    this.certs.clear();
    this.cas = new Map();
    for (const o of config.orgs)
      if (o.caCert.length) this.cas.set(o.id, parseCertificate(o.caCert));
  }

  private resolveKey(config: ChainConfig, sender: Sender): ResolvedSender {
    const org = config.orgs.find((o) => o.id === sender.org);
    if (!org)
      throw new ArchiError(
        'TX_UNKNOWN_SENDER',
        `unknown organization ${JSON.stringify(sender.org)}`,
      );
    const key = org.keys.find((k) => bytesEqual(k.publicKey, sender.publicKey));
    if (!key) throw new ArchiError('TX_UNKNOWN_SENDER', `key is not registered with ${org.id}`);
    return {
      org: org.id,
      role: key.role as Role,
      id: address(this.profile, key.publicKey),
      name: key.name,
      publicKey: key.publicKey,
    };
  }

  private resolveCert(config: ChainConfig, sender: Sender, now: number): ResolvedSender {
    if (sender.cert.length === 0)
      throw new ArchiError('TX_UNKNOWN_SENDER', 'tx carries no certificate');
    const certHash = hex(this.profile.hash(sender.cert));
    let entry = this.certs.get(certHash);
    if (!entry) {
      entry = this.verifyCert(sender, certHash);
      if (this.certs.size >= CACHE_LIMIT) this.certs.clear();
      this.certs.set(certHash, entry);
    }
    if (entry.info.org !== sender.org) {
      throw new ArchiError(
        'CERT_INVALID',
        `certificate belongs to ${entry.info.org}, not ${sender.org}`,
      );
    }
    if (now < entry.notBefore) throw new ArchiError('CERT_INVALID', 'certificate is not yet valid');
    if (now > entry.notAfter) {
      throw new ArchiError(
        'CERT_EXPIRED',
        `certificate expired at ${new Date(entry.notAfter).toISOString()}`,
      );
    }
    if (config.revokedCerts.includes(certHash))
      throw new ArchiError('CERT_REVOKED', 'certificate is revoked');
    return entry.info;
  }

  private verifyCert(sender: Sender, certHash: string): CertEntry {
    const ca = this.cas.get(sender.org);
    if (!ca)
      throw new ArchiError(
        'TX_UNKNOWN_SENDER',
        `unknown organization ${JSON.stringify(sender.org)}`,
      );
    let cert: ParsedCertificate;
    try {
      cert = parseCertificate(sender.cert);
    } catch (e) {
      throw new ArchiError('CERT_INVALID', `certificate is malformed: ${(e as Error).message}`);
    }
    if (cert.isCA || !verifyCertificate(this.profile, cert, ca)) {
      throw new ArchiError('CERT_INVALID', `certificate is not issued by the CA of ${sender.org}`);
    }
    const role = cert.subject.OU;
    if (!role || !(ROLES as readonly string[]).includes(role)) {
      throw new ArchiError('CERT_INVALID', `certificate carries no known role (OU=${role ?? ''})`);
    }
    return {
      info: {
        org: cert.subject.O,
        role: role as Role,
        id: address(this.profile, cert.publicKey),
        name: cert.subject.CN,
        publicKey: cert.publicKey,
        certHash,
      },
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
    };
  }
}
