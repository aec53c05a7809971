// The `gm` profile: SM2 signatures (default ID 1234567812345678), SM3, SM4.
import { bigIntToBytes, bytesToBigInt, equalBytes } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { hashParts, sm3 } from './hash.ts';
import {
  decodeEcPrivateKeyPem,
  decodeSpki,
  encodePkcs8,
  encodeSpki,
  OID_SM2_CURVE,
  OID_SM2_WITH_SM3,
  pemDecode,
  pemEncode,
} from './keys.ts';
import type { CryptoProfile, KeyPair, Signer } from './interfaces.ts';
import { sm2 } from './sm2.ts';
import { sm4Decrypt, sm4Encrypt } from './symmetric.ts';

/** Reads an SM2 private scalar from PKCS#8 or SEC1 PEM, checking curve, range and embedded public key. */
export function sm2PrivateKeyFromPem(pem: string): bigint {
  const info = decodeEcPrivateKeyPem(pem);
  if (info.curveOid !== OID_SM2_CURVE) {
    throw new CryptoError(
      'CRYPTO_BAD_KEY',
      `gm profile needs an SM2 key, got curve ${info.curveOid}`,
    );
  }
  const d = bytesToBigInt(info.d);
  sm2.assertPrivateKey(d);
  if (info.publicKey) {
    // A mismatching embedded public key means a corrupted or spliced file; signing
    // with it would produce signatures nobody expects.
    const embedded = sm2.decodePublicKey(normalisePoint(info.publicKey));
    if (!equalBytes(embedded.toBytes(false), sm2.publicKeyFromPrivate(d))) {
      throw new CryptoError('CRYPTO_BAD_KEY', 'embedded public key does not match private key');
    }
  }
  return d;
}

function normalisePoint(point: Uint8Array): Uint8Array {
  if (point.length === 33) {
    try {
      return sm2.Point.fromBytes(point).toBytes(false);
    } catch {
      throw new CryptoError('CRYPTO_BAD_KEY', 'invalid compressed SM2 point');
    }
  }
  return point;
}

/** The `gm` profile singleton. */
export const gmProfile: CryptoProfile = Object.freeze({
  name: 'gm' as const,
  signatureAlgorithmOid: OID_SM2_WITH_SM3,
  curveOid: OID_SM2_CURVE,
  hash: sm3,
  hashParts: (parts: Uint8Array[]): Uint8Array => hashParts('sm3', parts),
  generateKeyPair(): KeyPair {
    const d = sm2.randomPrivateKey();
    const publicKey = sm2.publicKeyFromPrivate(d);
    const der = encodePkcs8(OID_SM2_CURVE, bigIntToBytes(d, 32), publicKey);
    return { privateKeyPem: pemEncode('PRIVATE KEY', der), publicKey };
  },
  signerFromPem(privateKeyPem: string): Signer {
    return Object.freeze(sm2.createSigner(sm2PrivateKeyFromPem(privateKeyPem)));
  },
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (!(publicKey instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
    if (!(message instanceof Uint8Array)) return false;
    return sm2.verify(publicKey, message, signature);
  },
  publicKeyToPem(publicKey: Uint8Array): string {
    sm2.decodePublicKey(publicKey);
    return pemEncode('PUBLIC KEY', encodeSpki(OID_SM2_CURVE, publicKey));
  },
  publicKeyFromPem(pem: string): Uint8Array {
    const { curveOid, point } = decodeSpki(pemDecode(pem, ['PUBLIC KEY']).der);
    if (curveOid !== OID_SM2_CURVE) {
      throw new CryptoError('CRYPTO_BAD_KEY', `expected an SM2 key, got curve ${curveOid}`);
    }
    const full = normalisePoint(point);
    sm2.decodePublicKey(full);
    return Uint8Array.from(full);
  },
  encrypt: sm4Encrypt,
  decrypt: sm4Decrypt,
});
