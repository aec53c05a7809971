// The `standard` profile: ECDSA P-256 + SHA-256 and AES-256-GCM, all native
// OpenSSL through node:crypto.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { asU8, concatBytes, fromHex } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { hashParts, sha256 } from './hash.ts';
import {
  decodeSpki,
  encodeSpki,
  OID_ECDSA_WITH_SHA256,
  OID_PRIME256V1,
  pemDecode,
  pemEncode,
} from './keys.ts';
import type { CryptoProfile, KeyPair, Signer } from './interfaces.ts';
import { aesGcmDecrypt, aesGcmEncrypt } from './symmetric.ts';

// SPKI header for an uncompressed P-256 point: lets us hand OpenSSL a raw key
// as DER without going through JWK/base64url.
const SPKI_P256_PREFIX = fromHex('3059301306072a8648ce3d020106082a8648ce3d030107034200');
const MAX_CACHED_KEYS = 8192;

// Importing a KeyObject costs ~3x a verification, so hot keys must be reused.
const keyCache = new Map<string, KeyObject>();

function isUncompressedPoint(pk: unknown): pk is Uint8Array {
  return pk instanceof Uint8Array && pk.length === 65 && pk[0] === 4;
}

/** KeyObject for a raw P-256 point, from a bounded LRU cache; throws if the point is invalid. */
export function p256PublicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString(
    'latin1',
  );
  let key = keyCache.get(id);
  if (key) {
    keyCache.delete(id);
  } else {
    // OpenSSL rejects off-curve points here, so only valid keys get cached.
    key = createPublicKey({
      key: Buffer.from(concatBytes(SPKI_P256_PREFIX, publicKey)),
      format: 'der',
      type: 'spki',
    });
    if (keyCache.size >= MAX_CACHED_KEYS) keyCache.delete(keyCache.keys().next().value!);
  }
  keyCache.set(id, key);
  return key;
}

function rawPublicKey(key: KeyObject): Uint8Array {
  const { point } = decodeSpki(asU8(key.export({ type: 'spki', format: 'der' })));
  return point;
}

function loadPrivateKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new CryptoError('CRYPTO_BAD_KEY', `cannot read private key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new CryptoError('CRYPTO_BAD_KEY', 'standard profile needs a P-256 (prime256v1) EC key');
  }
  return key;
}

function toPem(publicKey: Uint8Array): string {
  if (!isUncompressedPoint(publicKey)) {
    throw new CryptoError('CRYPTO_BAD_KEY', 'public key must be a 65-byte uncompressed point');
  }
  try {
    p256PublicKeyObject(publicKey);
  } catch {
    throw new CryptoError('CRYPTO_BAD_KEY', 'public key is not a valid P-256 point');
  }
  return pemEncode('PUBLIC KEY', encodeSpki(OID_PRIME256V1, publicKey));
}

function fromPem(pem: string): Uint8Array {
  const { der } = pemDecode(pem, ['PUBLIC KEY']);
  const { curveOid, point } = decodeSpki(der);
  if (curveOid !== OID_PRIME256V1) {
    throw new CryptoError('CRYPTO_BAD_KEY', `expected a P-256 key, got curve ${curveOid}`);
  }
  try {
    // OpenSSL keeps compressed points compressed on export, so decompress with noble.
    const full = point.length === 33 ? asU8(p256.Point.fromBytes(point).toBytes(false)) : point;
    p256PublicKeyObject(full);
    return Uint8Array.from(full);
  } catch {
    throw new CryptoError('CRYPTO_BAD_KEY', 'public key is not a valid P-256 point');
  }
}

/** The `standard` profile singleton. */
export const standardProfile: CryptoProfile = Object.freeze({
  name: 'standard' as const,
  signatureAlgorithmOid: OID_ECDSA_WITH_SHA256,
  curveOid: OID_PRIME256V1,
  hash: sha256,
  hashParts: (parts: Uint8Array[]): Uint8Array => hashParts('sha256', parts),
  generateKeyPair(): KeyPair {
    const { privateKey, publicKey } = generateKeyPairSync('ec', {
      namedCurve: 'prime256v1',
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    return { privateKeyPem: privateKey, publicKey: decodeSpki(asU8(publicKey)).point };
  },
  signerFromPem(privateKeyPem: string): Signer {
    const key = loadPrivateKey(privateKeyPem);
    const publicKey = rawPublicKey(createPublicKey(key));
    return Object.freeze({
      publicKey,
      sign: (message: Uint8Array): Uint8Array => asU8(nodeSign('sha256', message, key)),
    });
  },
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    try {
      if (!isUncompressedPoint(publicKey) || !(signature instanceof Uint8Array)) return false;
      // node would happily hash a string here; the contract is bytes only.
      if (!(message instanceof Uint8Array)) return false;
      // OpenSSL 3 rejects non-canonical DER itself (it re-encodes and compares).
      return nodeVerify('sha256', message, p256PublicKeyObject(publicKey), signature);
    } catch {
      return false;
    }
  },
  publicKeyToPem: toPem,
  publicKeyFromPem: fromPem,
  encrypt: aesGcmEncrypt,
  decrypt: aesGcmDecrypt,
});
