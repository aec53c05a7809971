// X.509 v3 certificates for chain membership, signed through a profile Signer so
// the same code issues ECDSA-P256 and SM2-with-SM3 certificates.
//
// OpenSSL interop note for SM2 (checked against OpenSSL 3.0.19): certificates
// here are signed with the GM/T 0009 default ID "1234567812345678" (what GM/T
// 0015 CAs, GmSSL, Tongsuo and BouncyCastle expect). OpenSSL 3.0 however
// verifies SM2 certificate signatures with an EMPTY ID unless told otherwise, so
//   openssl verify -vfyopt distid:1234567812345678 -CAfile ca.pem leaf.pem
// is required; plain `openssl verify -CAfile ca.pem leaf.pem` reports
// "certificate signature failure" (error 7). -vfyopt only applies to the
// certificates being verified, not to CA self-signatures (-check_ss_sig), and
// longer chains have further gaps (openssl issue #23471). Defaulting to
// 1234567812345678 is being discussed upstream (openssl PR #29953), so treat
// the CLI behaviour as version-dependent; test/crypto/x509.test.ts pins it.
import { randomBytes } from 'node:crypto';
import { AsnParser, AsnSerializer, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { p256 } from '@noble/curves/nist.js';
import { asU8, equalBytes, toHex } from './bytes.ts';
import {
  children,
  encodeBitString,
  encodeOid,
  encodeSequence,
  expectTag,
  readBitString,
  readOid,
  readRoot,
  TAG_SEQUENCE,
} from './der.ts';
import { CryptoError } from './errors.ts';
import {
  decodeSpki,
  encodeSpki,
  OID_PRIME256V1,
  OID_SM2_CURVE,
  pemDecode,
  pemEncode,
} from './keys.ts';
import type { CryptoProfile, Signer } from './interfaces.ts';
import { sm2 } from './sm2.ts';

const OID_O = '2.5.4.10';
const OID_OU = '2.5.4.11';
const OID_CN = '2.5.4.3';
const KNOWN_EXTENSIONS = new Set([
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
]);

/** Subject/issuer name: O = organization id, OU = member role, CN = member name. */
export interface DistinguishedName {
  O: string;
  OU?: string;
  CN: string;
}

/** Member roles carried in the subject OU. */
export type MemberRole = 'admin' | 'client' | 'consensus' | 'common';

/** Inputs for issueCertificate; `issuer` signs, so for a root CA pass the subject's own signer. */
export interface IssueOptions {
  profile: CryptoProfile;
  issuer: Signer;
  issuerName: DistinguishedName;
  subjectName: DistinguishedName;
  subjectPublicKey: Uint8Array;
  serial?: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
}

/** Decoded certificate; `tbs` is the exact signed byte range, times are epoch milliseconds. */
export interface ParsedCertificate {
  der: Uint8Array;
  subject: DistinguishedName;
  issuer: DistinguishedName;
  publicKey: Uint8Array;
  notBefore: number;
  notAfter: number;
  isCA: boolean;
  serialHex: string;
  signatureAlgorithmOid: string;
  tbs: Uint8Array;
  signature: Uint8Array;
  /** Curve OID from the subject public key info. */
  publicKeyCurveOid?: string;
  /** KeyUsage bit flags (asn1-x509 KeyUsageFlags), undefined when the extension is absent. */
  keyUsage?: number;
  subjectKeyId?: Uint8Array;
  authorityKeyId?: Uint8Array;
  /** True when a critical extension we do not understand is present (RFC 5280: must reject). */
  hasUnknownCriticalExtension?: boolean;
}

function certError(message: string): CryptoError {
  return new CryptoError('CERT_MALFORMED', message);
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  // Buffer#slice is a view of the shared pool, so copy through Uint8Array's own slice.
  return Uint8Array.prototype.slice.call(bytes).buffer;
}

function checkName(dn: DistinguishedName, what: string): void {
  if (!dn || typeof dn.O !== 'string' || !dn.O || typeof dn.CN !== 'string' || !dn.CN) {
    throw new CryptoError('CERT_BAD_INPUT', `${what} needs non-empty O and CN`);
  }
  if (dn.OU !== undefined && (typeof dn.OU !== 'string' || !dn.OU)) {
    throw new CryptoError('CERT_BAD_INPUT', `${what} OU must be a non-empty string when given`);
  }
}

function buildName(dn: DistinguishedName): Name {
  const attrs: [string, string][] = [[OID_O, dn.O]];
  if (dn.OU !== undefined) attrs.push([OID_OU, dn.OU]);
  attrs.push([OID_CN, dn.CN]);
  return new Name(
    attrs.map(
      ([type, value]) =>
        new RelativeDistinguishedName([
          new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) }),
        ]),
    ),
  );
}

function readName(name: Name): DistinguishedName {
  const found: Record<string, string> = {};
  for (const rdn of name) {
    for (const atv of rdn) {
      // First occurrence wins so a second OU cannot shadow the role.
      if (found[atv.type] === undefined) found[atv.type] = atv.value.toString();
    }
  }
  const dn: DistinguishedName = { O: found[OID_O] ?? '', CN: found[OID_CN] ?? '' };
  if (found[OID_OU] !== undefined) dn.OU = found[OID_OU];
  return dn;
}

// Positive, minimal two's-complement INTEGER content, as asn1-x509 writes the
// bytes verbatim.
function serialContent(serial: Uint8Array | undefined): Uint8Array {
  let s: Uint8Array;
  if (serial === undefined) {
    s = new Uint8Array(randomBytes(16));
    s[0] &= 0x7f;
    if (s[0] === 0) s[0] = 1;
    return s;
  }
  let i = 0;
  while (i < serial.length - 1 && serial[i] === 0) i++;
  s = serial.subarray(i);
  if (s.length === 0 || (s.length === 1 && s[0] === 0)) {
    throw new CryptoError('CERT_BAD_INPUT', 'serial must be a positive integer');
  }
  if (s.length > 20) throw new CryptoError('CERT_BAD_INPUT', 'serial longer than 20 bytes');
  if (s[0] & 0x80) {
    const padded = new Uint8Array(s.length + 1);
    padded.set(s, 1);
    return padded;
  }
  return Uint8Array.from(s);
}

function keyId(profile: CryptoProfile, publicKey: Uint8Array): Uint8Array {
  // RFC 7093 style: truncated profile hash instead of SHA-1, so gm chains stay SM3-only.
  return profile.hash(publicKey).slice(0, 20);
}

function extension(id: string, critical: boolean, value: unknown): Extension {
  return new Extension({
    extnID: id,
    critical,
    extnValue: new OctetString(AsnSerializer.serialize(value)),
  });
}

/** Issues a DER certificate signed by `o.issuer` with the profile's signature algorithm. */
export function issueCertificate(o: IssueOptions): Uint8Array {
  const { profile } = o;
  checkName(o.issuerName, 'issuerName');
  checkName(o.subjectName, 'subjectName');
  const nb = o.notBefore?.getTime();
  const na = o.notAfter?.getTime();
  if (!Number.isFinite(nb) || !Number.isFinite(na) || na < nb) {
    throw new CryptoError('CERT_BAD_INPUT', 'notBefore/notAfter must be valid dates, in order');
  }
  // publicKeyToPem validates the point for this profile's curve and throws if bad.
  profile.publicKeyToPem(o.subjectPublicKey);
  const sigAlg = new AlgorithmIdentifier({ algorithm: profile.signatureAlgorithmOid });
  const spki = AsnParser.parse(
    toArrayBuffer(encodeSpki(profile.curveOid, o.subjectPublicKey)),
    SubjectPublicKeyInfo,
  );
  const usage = new KeyUsage(
    o.isCA ? KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign : KeyUsageFlags.digitalSignature,
  );
  const extensions = new Extensions([
    extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: o.isCA })),
    extension(id_ce_keyUsage, true, usage),
    extension(
      id_ce_subjectKeyIdentifier,
      false,
      new SubjectKeyIdentifier(keyId(profile, o.subjectPublicKey)),
    ),
    extension(
      id_ce_authorityKeyIdentifier,
      false,
      new AuthorityKeyIdentifier({
        keyIdentifier: new KeyIdentifier(keyId(profile, o.issuer.publicKey)),
      }),
    ),
  ]);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: toArrayBuffer(serialContent(o.serial)),
    signature: sigAlg,
    issuer: buildName(o.issuerName),
    validity: new Validity({ notBefore: o.notBefore, notAfter: o.notAfter }),
    subject: buildName(o.subjectName),
    subjectPublicKeyInfo: spki,
    extensions,
  });
  const tbsDer = new Uint8Array(AsnSerializer.serialize(tbs));
  const signature = o.issuer.sign(tbsDer);
  // Catches a signer from the other profile, which would silently mint junk.
  if (!profile.verify(o.issuer.publicKey, tbsDer, signature)) {
    throw new CryptoError(
      'CRYPTO_SIGN_FAILED',
      `issuer signer does not match profile ${profile.name}`,
    );
  }
  // The outer SEQUENCE is assembled by hand so the signed TBS bytes are embedded verbatim.
  return encodeSequence(
    tbsDer,
    encodeSequence(encodeOid(profile.signatureAlgorithmOid)),
    encodeBitString(signature),
  );
}

function normalisePoint(curveOid: string, point: Uint8Array): Uint8Array {
  if (point.length !== 33) return Uint8Array.from(point);
  if (curveOid === OID_SM2_CURVE) return asU8(sm2.Point.fromBytes(point).toBytes(false));
  if (curveOid === OID_PRIME256V1) return asU8(p256.Point.fromBytes(point).toBytes(false));
  return Uint8Array.from(point);
}

/** Parses a DER certificate; throws CryptoError CERT_MALFORMED on anything unexpected. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  if (!(der instanceof Uint8Array)) throw certError('certificate must be bytes');
  try {
    const root = readRoot(der, TAG_SEQUENCE);
    const [tbsTlv, algTlv, sigTlv, ...rest] = children(der, root);
    if (rest.length) throw certError('trailing fields after signature');
    expectTag(tbsTlv, TAG_SEQUENCE, 'TBSCertificate');
    const [algOidTlv] = children(der, expectTag(algTlv, TAG_SEQUENCE, 'signatureAlgorithm'));
    const signatureAlgorithmOid = readOid(der, algOidTlv);
    const signature = Uint8Array.from(readBitString(der, sigTlv));
    const tbs = der.slice(tbsTlv.start, tbsTlv.end);

    const cert = AsnParser.parse(toArrayBuffer(der), Certificate);
    const t = cert.tbsCertificate;
    if (t.signature.algorithm !== signatureAlgorithmOid) {
      throw certError('inner and outer signature algorithms differ');
    }
    const spkiDer = new Uint8Array(AsnSerializer.serialize(t.subjectPublicKeyInfo));
    const { curveOid, point } = decodeSpki(spkiDer);

    let isCA = false;
    let keyUsage: number | undefined;
    let subjectKeyId: Uint8Array | undefined;
    let authorityKeyId: Uint8Array | undefined;
    let hasUnknownCriticalExtension = false;
    for (const ext of t.extensions ?? []) {
      const value = new Uint8Array(ext.extnValue.buffer);
      if (ext.extnID === id_ce_basicConstraints) {
        isCA = AsnParser.parse(value, BasicConstraints).cA;
      } else if (ext.extnID === id_ce_keyUsage) {
        keyUsage = AsnParser.parse(value, KeyUsage).toNumber();
      } else if (ext.extnID === id_ce_subjectKeyIdentifier) {
        subjectKeyId = new Uint8Array(AsnParser.parse(value, SubjectKeyIdentifier).buffer);
      } else if (ext.extnID === id_ce_authorityKeyIdentifier) {
        const aki = AsnParser.parse(value, AuthorityKeyIdentifier);
        if (aki.keyIdentifier) authorityKeyId = new Uint8Array(aki.keyIdentifier.buffer);
      } else if (ext.critical && !KNOWN_EXTENSIONS.has(ext.extnID)) {
        hasUnknownCriticalExtension = true;
      }
    }
    const serialHex = toHex(new Uint8Array(t.serialNumber)).replace(/^(00)+(?=..)/, '');
    return {
      der: Uint8Array.from(der),
      subject: readName(t.subject),
      issuer: readName(t.issuer),
      publicKey: normalisePoint(curveOid, point),
      notBefore: t.validity.notBefore.getTime().getTime(),
      notAfter: t.validity.notAfter.getTime().getTime(),
      isCA,
      serialHex,
      signatureAlgorithmOid,
      tbs,
      signature,
      publicKeyCurveOid: curveOid,
      keyUsage,
      subjectKeyId,
      authorityKeyId,
      hasUnknownCriticalExtension,
    };
  } catch (err) {
    if (err instanceof CryptoError && err.code === 'CERT_MALFORMED') throw err;
    throw certError(`malformed certificate: ${(err as Error).message}`);
  }
}

function sameName(a: DistinguishedName, b: DistinguishedName): boolean {
  return a.O === b.O && a.CN === b.CN && (a.OU ?? null) === (b.OU ?? null);
}

/** Checks that `ca` issued `cert` under `profile` (names, algorithm, key ids, CA flags, signature); never throws. */
export function verifyCertificate(
  profile: CryptoProfile,
  cert: ParsedCertificate,
  ca: ParsedCertificate,
): boolean {
  try {
    if (!ca.isCA) return false;
    if (ca.keyUsage !== undefined && !(ca.keyUsage & KeyUsageFlags.keyCertSign)) return false;
    if (cert.hasUnknownCriticalExtension || ca.hasUnknownCriticalExtension) return false;
    if (!sameName(cert.issuer, ca.subject)) return false;
    if (cert.signatureAlgorithmOid !== profile.signatureAlgorithmOid) return false;
    if (cert.publicKeyCurveOid !== undefined && cert.publicKeyCurveOid !== profile.curveOid) {
      return false;
    }
    if (
      cert.authorityKeyId &&
      ca.subjectKeyId &&
      !equalBytes(cert.authorityKeyId, ca.subjectKeyId)
    ) {
      return false;
    }
    return profile.verify(ca.publicKey, cert.tbs, cert.signature);
  } catch {
    return false;
  }
}

/** True when `at` (epoch ms or Date) lies within [notBefore, notAfter]. */
export function isValidAt(cert: ParsedCertificate, at: number | Date = Date.now()): boolean {
  const t = typeof at === 'number' ? at : at.getTime();
  return t >= cert.notBefore && t <= cert.notAfter;
}

/** The member role from the subject OU, or undefined if it is not one of the known roles. */
export function roleOf(cert: ParsedCertificate): MemberRole | undefined {
  const ou = cert.subject.OU;
  return ou === 'admin' || ou === 'client' || ou === 'consensus' || ou === 'common'
    ? ou
    : undefined;
}

/** PEM-armours a DER certificate. */
export function certToPem(der: Uint8Array): string {
  return pemEncode('CERTIFICATE', der);
}

/** Extracts the first certificate from PEM text; throws CryptoError CERT_MALFORMED. */
export function certFromPem(pem: string): Uint8Array {
  try {
    return pemDecode(pem, ['CERTIFICATE']).der;
  } catch (err) {
    throw certError((err as Error).message);
  }
}

/** Extracts every certificate from a PEM bundle, in order. */
export function certsFromPem(pem: string): Uint8Array[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map(certFromPem);
}

/** A new key and a self-signed CA certificate for `name` (used for org CAs and TLS CAs). */
export function issueSelfSignedCa(
  profile: CryptoProfile,
  name: DistinguishedName,
  validity: { notBefore: Date; notAfter: Date },
): { privateKeyPem: string; der: Uint8Array; publicKey: Uint8Array } {
  const kp = profile.generateKeyPair();
  const der = issueCertificate({
    profile,
    issuer: profile.signerFromPem(kp.privateKeyPem),
    issuerName: name,
    subjectName: name,
    subjectPublicKey: kp.publicKey,
    ...validity,
    isCA: true,
  });
  return { privateKeyPem: kp.privateKeyPem, der, publicKey: kp.publicKey };
}
