/**
 * Public-key upload mode: an app proves it holds a key with a PKCS#10 certificate request
 * (RFC 2986) or, on key-mode chains, uploads a bare public key; the gateway's organization
 * then certifies the key from its CA. Keys must be of the app's chain profile: P-256 with
 * ECDSA-SHA256 on standard chains, SM2 with SM2-with-SM3 on gm chains.
 *
 * SM2 note: a CSR's self-signature may use the GM/T 0009 default user id 1234567812345678
 * (what `openssl req -sigopt distid:1234567812345678`, GmSSL and Tongsuo write) or the empty
 * id OpenSSL 3.0 uses when none is given; either proves possession of the key, so both are
 * accepted. Certificates the gateway issues are always signed with the default id (x509.ts).
 */
import { AsnParser } from '@peculiar/asn1-schema';
import { Name } from '@peculiar/asn1-x509';
import {
  children,
  expectTag,
  readBitString,
  readOid,
  readRoot,
  readUnsignedInteger,
  TAG_INTEGER,
  TAG_SEQUENCE,
} from '../crypto/der.ts';
import type { CryptoProfile, ProfileName } from '../crypto/interfaces.ts';
import { decodeSpki, encodeSpki, pemDecode, pemEncode } from '../crypto/keys.ts';
import { getProfile } from '../crypto/profile.ts';
import { sm2 } from '../crypto/sm2.ts';
import { certToPem, issueCertificate, type MemberRole } from '../crypto/x509.ts';
import { ArchiError } from '../errors/index.ts';

/** Largest CSR or public key PEM read (a P-256 or SM2 CSR is well under 1 KiB). */
export const MAX_PEM_CHARS = 16 * 1024;
const OID_CN = '2.5.4.3';
const CN_RE = /^[^\p{Cc}]{1,64}$/u;
const ROLES: readonly MemberRole[] = ['admin', 'client', 'consensus', 'common'];
const EMPTY_ID = new Uint8Array(0);

/** What a verified CSR asks for: a subject common name and a public key of the profile. */
export interface ParsedCsr {
  commonName: string;
  /** The 65-byte uncompressed point. */
  publicKey: Uint8Array;
  der: Uint8Array;
}

function csrInvalid(message: string): ArchiError {
  return new ArchiError('GW_CSR_INVALID', message);
}

function profileOf(p: CryptoProfile | ProfileName): CryptoProfile {
  return typeof p === 'string' ? getProfile(p) : p;
}

function checkPemInput(
  pem: unknown,
  what: string,
  code: 'GW_CSR_INVALID' | 'GW_KEY_INVALID',
): string {
  if (typeof pem !== 'string' || pem.length > MAX_PEM_CHARS) {
    throw new ArchiError(code, `${what} must be PEM text of at most ${MAX_PEM_CHARS} characters`);
  }
  return pem;
}

// The point as the profile normalises and validates it (on the curve, not infinity).
function profilePoint(profile: CryptoProfile, curveOid: string, point: Uint8Array): Uint8Array {
  if (curveOid !== profile.curveOid) {
    throw new Error(`the key is on curve ${curveOid}, not the ${profile.name} profile's`);
  }
  return profile.publicKeyFromPem(pemEncode('PUBLIC KEY', encodeSpki(curveOid, point)));
}

function commonNameOf(nameDer: Uint8Array): string {
  const cns: string[] = [];
  for (const rdn of AsnParser.parse(nameDer, Name)) {
    for (const atv of rdn) if (atv.type === OID_CN) cns.push(atv.value.toString());
  }
  if (cns.length !== 1) throw new Error(`the subject has ${cns.length} common names, not one`);
  if (!CN_RE.test(cns[0])) throw new Error('the subject CN must be 1 to 64 printable characters');
  return cns[0];
}

function selfSignatureVerifies(
  profile: CryptoProfile,
  publicKey: Uint8Array,
  info: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (profile.verify(publicKey, info, signature)) return true;
  return profile.name === 'gm' && sm2.verify(publicKey, info, signature, EMPTY_ID);
}

/**
 * Reads a PEM CSR, checks that its key is of `profile` and that it signed the request;
 * throws GW_CSR_INVALID with the reason otherwise.
 */
export function parseCsr(pem: string, profile: CryptoProfile | ProfileName): ParsedCsr {
  const p = profileOf(profile);
  checkPemInput(pem, 'a certificate request', 'GW_CSR_INVALID');
  let der: Uint8Array;
  let info: Uint8Array;
  let parts: { nameDer: Uint8Array; curveOid: string; point: Uint8Array };
  let algOid: string;
  let signature: Uint8Array;
  try {
    der = pemDecode(pem, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']).der;
    const [infoTlv, algTlv, sigTlv, ...rest] = children(der, readRoot(der, TAG_SEQUENCE));
    if (rest.length) throw new Error('fields after the signature');
    expectTag(infoTlv, TAG_SEQUENCE, 'CertificationRequestInfo');
    info = der.slice(infoTlv.start, infoTlv.end);
    algOid = readOid(der, children(der, expectTag(algTlv, TAG_SEQUENCE, 'signatureAlgorithm'))[0]);
    signature = Uint8Array.from(readBitString(der, sigTlv));
    const [version, subject, spki] = children(der, infoTlv);
    if (readUnsignedInteger(der, expectTag(version, TAG_INTEGER, 'version')) !== 0n) {
      throw new Error('version is not v1 (0)');
    }
    expectTag(subject, TAG_SEQUENCE, 'subject');
    expectTag(spki, TAG_SEQUENCE, 'subjectPKInfo');
    const key = decodeSpki(der.slice(spki.start, spki.end));
    parts = { nameDer: der.slice(subject.start, subject.end), ...key };
  } catch (e) {
    throw csrInvalid(`unreadable certificate request: ${(e as Error).message}`);
  }
  if (algOid !== p.signatureAlgorithmOid) {
    throw csrInvalid(
      `signed with ${algOid}, not the ${p.name} profile's ${p.signatureAlgorithmOid}`,
    );
  }
  let publicKey: Uint8Array;
  let commonName: string;
  try {
    publicKey = profilePoint(p, parts.curveOid, parts.point);
    commonName = commonNameOf(parts.nameDer);
  } catch (e) {
    throw csrInvalid((e as Error).message);
  }
  if (!selfSignatureVerifies(p, publicKey, info, signature)) {
    throw csrInvalid('the request is not signed by its key');
  }
  return { commonName, publicKey, der };
}

/** Reads an uploaded SPKI PEM public key of `profile`; throws GW_KEY_INVALID otherwise. */
export function parsePublicKey(pem: string, profile: CryptoProfile | ProfileName): Uint8Array {
  const p = profileOf(profile);
  checkPemInput(pem, 'a public key', 'GW_KEY_INVALID');
  try {
    const { curveOid, point } = decodeSpki(pemDecode(pem, ['PUBLIC KEY']).der);
    return profilePoint(p, curveOid, point);
  } catch (e) {
    throw new ArchiError('GW_KEY_INVALID', `not a ${p.name} public key: ${(e as Error).message}`);
  }
}

/** The gateway organization's CA: its key and its organization id (issuer O=org, CN=ca.org). */
export interface GatewayCa {
  keyPem: string;
  org: string;
}

/** What to certify and for how long; times are the caller's (nothing here reads a clock). */
export interface CertRequest {
  commonName: string;
  publicKey: Uint8Array;
  role: MemberRole;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Issues a certificate O=<ca.org>, OU=<role>, CN=<commonName> for the key, from the
 * gateway organization's CA, as `archi` issues member certificates.
 */
export function issueAppCertificate(
  profile: CryptoProfile | ProfileName,
  ca: GatewayCa,
  req: CertRequest,
): { der: Uint8Array; certPem: string } {
  const p = profileOf(profile);
  if (!ROLES.includes(req.role)) {
    throw new ArchiError('INVALID_ARGS', `role must be one of ${ROLES.join(', ')}`);
  }
  if (!CN_RE.test(req.commonName)) {
    throw new ArchiError('INVALID_ARGS', 'the common name must be 1 to 64 printable characters');
  }
  const der = issueCertificate({
    profile: p,
    issuer: p.signerFromPem(ca.keyPem),
    issuerName: { O: ca.org, CN: `ca.${ca.org}` },
    subjectName: { O: ca.org, OU: req.role, CN: req.commonName },
    subjectPublicKey: req.publicKey,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    isCA: false,
  });
  return { der, certPem: certToPem(der) };
}

/**
 * parseCsr then issueAppCertificate for its key; with `commonName` the CSR must ask for that
 * name (GW_CSR_INVALID otherwise), without it the CSR's own CN is used.
 */
export function certifyCsr(
  profile: CryptoProfile | ProfileName,
  ca: GatewayCa,
  csrPem: string,
  opts: { role: MemberRole; notBefore: Date; notAfter: Date; commonName?: string },
): { der: Uint8Array; certPem: string; commonName: string; publicKey: Uint8Array } {
  const csr = parseCsr(csrPem, profile);
  if (opts.commonName !== undefined && csr.commonName !== opts.commonName) {
    throw csrInvalid(`the request is for CN ${csr.commonName}, not ${opts.commonName}`);
  }
  const cert = issueAppCertificate(profile, ca, { ...opts, ...csr });
  return { ...cert, commonName: csr.commonName, publicKey: csr.publicKey };
}
