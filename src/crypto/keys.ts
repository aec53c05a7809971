// PEM/SPKI/PKCS#8/SEC1 codecs for EC keys. node:crypto cannot export SM2 keys
// (it has no JWK/raw form for them and reports asymmetricKeyType undefined), so
// both profiles share these hand-rolled codecs to get one byte-exact behaviour.
import { base64Decode, base64Encode } from './bytes.ts';
import {
  children,
  type Tlv,
  contentOf,
  encodeBitString,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeTlv,
  encodeUnsignedInteger,
  expectTag,
  readBitString,
  readOid,
  readRoot,
  readTlv,
  readUnsignedInteger,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
} from './der.ts';
import { CryptoError } from './errors.ts';

export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_PRIME256V1 = '1.2.840.10045.3.1.7';
export const OID_SM2_CURVE = '1.2.156.10197.1.301';
export const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
export const OID_SM2_WITH_SM3 = '1.2.156.10197.1.501';

/** Wraps DER in PEM armor with 64-column lines. */
export function pemEncode(label: string, der: Uint8Array): string {
  const b64 = base64Encode(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Finds the first PEM block whose label is in `labels` and returns its DER; throws CryptoError PEM_MALFORMED. */
export function pemDecode(pem: string, labels: string[]): { label: string; der: Uint8Array } {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(pem); m; m = re.exec(pem)) {
    if (!labels.includes(m[1])) continue;
    // RFC 1421 headers (Proc-Type/DEK-Info) mean an encrypted legacy key we cannot read.
    if (m[2].includes(':')) {
      throw new CryptoError(
        'PEM_MALFORMED',
        `encrypted or header-carrying ${m[1]} is not supported`,
      );
    }
    try {
      return { label: m[1], der: base64Decode(m[2]) };
    } catch {
      throw new CryptoError('PEM_MALFORMED', `bad base64 in ${m[1]}`);
    }
  }
  throw new CryptoError('PEM_MALFORMED', `no PEM block labelled ${labels.join(' or ')}`);
}

/** DER SubjectPublicKeyInfo for an EC point on the named curve. */
export function encodeSpki(curveOid: string, point: Uint8Array): Uint8Array {
  return encodeSequence(
    encodeSequence(encodeOid(OID_EC_PUBLIC_KEY), encodeOid(curveOid)),
    encodeBitString(point),
  );
}

/** Parses an EC SubjectPublicKeyInfo; the point is returned as encoded (not validated here). */
export function decodeSpki(der: Uint8Array): { curveOid: string; point: Uint8Array } {
  const root = readRoot(der, TAG_SEQUENCE);
  const [alg, key, ...rest] = children(der, root);
  if (rest.length) throw new CryptoError('DER_MALFORMED', 'SPKI has extra fields');
  const curveOid = readEcAlgorithm(der, expectTag(alg, TAG_SEQUENCE, 'AlgorithmIdentifier'));
  return { curveOid, point: readBitString(der, key) };
}

/** DER PKCS#8 PrivateKeyInfo wrapping a SEC1 ECPrivateKey, laid out as OpenSSL writes it. */
export function encodePkcs8(curveOid: string, d: Uint8Array, point: Uint8Array): Uint8Array {
  const ecPrivateKey = encodeSequence(
    encodeUnsignedInteger(1n),
    encodeOctetString(d),
    encodeTlv(0xa1, encodeBitString(point)),
  );
  return encodeSequence(
    encodeUnsignedInteger(0n),
    encodeSequence(encodeOid(OID_EC_PUBLIC_KEY), encodeOid(curveOid)),
    encodeOctetString(ecPrivateKey),
  );
}

/** EC private key material as found in a PEM file. */
export interface EcPrivateKeyInfo {
  curveOid: string;
  d: Uint8Array;
  publicKey?: Uint8Array;
}

/** Reads an EC private key from PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY") PEM. */
export function decodeEcPrivateKeyPem(pem: string): EcPrivateKeyInfo {
  const { label, der } = pemDecode(pem, ['PRIVATE KEY', 'EC PRIVATE KEY']);
  if (label === 'EC PRIVATE KEY') {
    return decodeSec1(der, readRoot(der, TAG_SEQUENCE), undefined);
  }
  const root = readRoot(der, TAG_SEQUENCE);
  const [version, alg, key] = children(der, root);
  const v = readUnsignedInteger(der, version);
  if (v !== 0n && v !== 1n) throw new CryptoError('DER_MALFORMED', 'unsupported PKCS#8 version');
  const curveOid = readEcAlgorithm(der, expectTag(alg, TAG_SEQUENCE, 'AlgorithmIdentifier'));
  const inner = contentOf(der, expectTag(key, TAG_OCTET_STRING, 'privateKey OCTET STRING'));
  return decodeSec1(inner, readRoot(inner, TAG_SEQUENCE), curveOid);
}

function decodeSec1(der: Uint8Array, root: Tlv, outerCurve: string | undefined): EcPrivateKeyInfo {
  const [version, priv, ...optional] = children(der, root);
  if (readUnsignedInteger(der, version) !== 1n) {
    throw new CryptoError('DER_MALFORMED', 'unsupported ECPrivateKey version');
  }
  const d = contentOf(der, expectTag(priv, TAG_OCTET_STRING, 'privateKey'));
  let curveOid = outerCurve;
  let publicKey: Uint8Array | undefined;
  for (const t of optional) {
    if (t.tag === 0xa0) {
      const inner = readTlv(der, t.contentStart, t.end);
      const oid = readOid(der, expectTag(inner, TAG_OID, 'namedCurve'));
      if (curveOid !== undefined && curveOid !== oid) {
        throw new CryptoError('DER_MALFORMED', 'curve mismatch between PKCS#8 and SEC1');
      }
      curveOid = oid;
    } else if (t.tag === 0xa1) {
      publicKey = readBitString(der, readTlv(der, t.contentStart, t.end));
    }
  }
  if (curveOid === undefined)
    throw new CryptoError('DER_MALFORMED', 'EC key without a named curve');
  return { curveOid, d: Uint8Array.from(d), publicKey: publicKey && Uint8Array.from(publicKey) };
}

// Accepts id-ecPublicKey+namedCurve and also the bare SM2 algorithm OID that some
// GM toolkits emit in place of id-ecPublicKey.
function readEcAlgorithm(der: Uint8Array, alg: Tlv): string {
  const [algOid, params] = children(der, alg);
  const oid = readOid(der, algOid);
  if (oid === OID_EC_PUBLIC_KEY) {
    return readOid(der, expectTag(params, TAG_OID, 'namedCurve (explicit parameters unsupported)'));
  }
  if (oid === OID_SM2_CURVE) return OID_SM2_CURVE;
  throw new CryptoError('CRYPTO_BAD_KEY', `not an EC key (algorithm ${oid})`);
}
