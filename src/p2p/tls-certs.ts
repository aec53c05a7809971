/**
 * P-256 TLS identities for node-to-node transport. They are separate from the chain
 * identities because gm-profile org CAs are SM2, which OpenSSL's TLS stack cannot verify
 * (it has no way to pass the SM2 distinguishing id), so every org gets its own P-256 TLS
 * CA under both profiles.
 */
import { getProfile } from '../crypto/profile.ts';
import { certToPem, issueCertificate, issueSelfSignedCa } from '../crypto/x509.ts';

/** Role (subject OU) carried by node TLS certificates. */
export const TLS_NODE_OU = 'consensus';

/** An org's TLS CA: PEM key and self-signed certificate, subject O=<org>, CN=tlsca.<org>. */
export interface TlsCa {
  org: string;
  keyPem: string;
  certPem: string;
}

/** A node's TLS key and certificate (PEM). */
export interface TlsIdentity {
  keyPem: string;
  certPem: string;
}

/** Certificate validity window. */
export interface TlsValidity {
  notBefore: Date;
  notAfter: Date;
}

// Backdated an hour so a peer whose clock runs a little behind still accepts the cert.
function defaultValidity(): TlsValidity {
  const now = Date.now();
  return { notBefore: new Date(now - 3600_000), notAfter: new Date(now + 3650 * 86_400_000) };
}

/** Creates a self-signed P-256 TLS CA for `org`. */
export function createTlsCa(org: string, validity: TlsValidity = defaultValidity()): TlsCa {
  const ca = issueSelfSignedCa(getProfile('standard'), { O: org, CN: `tlsca.${org}` }, validity);
  return { org, keyPem: ca.privateKeyPem, certPem: certToPem(ca.der) };
}

/**
 * Issues a P-256 TLS certificate for node `node` of the CA's org (O=<org>, OU=consensus,
 * CN=<node>); `org` overrides the subject O, which only tests of impersonation want.
 */
export function issueTlsCert(
  ca: TlsCa,
  node: string,
  validity: TlsValidity = defaultValidity(),
  org: string = ca.org,
): TlsIdentity {
  const profile = getProfile('standard');
  const kp = profile.generateKeyPair();
  const der = issueCertificate({
    profile,
    issuer: profile.signerFromPem(ca.keyPem),
    issuerName: { O: ca.org, CN: `tlsca.${ca.org}` },
    subjectName: { O: org, OU: TLS_NODE_OU, CN: node },
    subjectPublicKey: kp.publicKey,
    ...validity,
    isCA: false,
  });
  return { keyPem: kp.privateKeyPem, certPem: certToPem(der) };
}
