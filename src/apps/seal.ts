/**
 * Sealing a short secret to one recipient's public key so only ciphertext travels or sits on
 * chain: ECIES under the chain's crypto profile, shared by the apps (cbdc's KYC links,
 * datashare's wrapped data keys). A fresh ephemeral key on the profile's curve (P-256 or SM2)
 * agrees a point with the recipient's key; the profile's hash of the caller's label, the
 * ephemeral key and the shared x coordinate is the key of the profile's authenticated cipher
 * (AES-256-GCM, or SM4-CTR with HMAC-SM3). Output: base64 of the 65-byte ephemeral public key
 * followed by the cipher's output. The label separates uses: a ciphertext sealed for one use
 * does not open under another's label.
 */
import { p256 } from '@noble/curves/nist.js';
import type { CryptoProfile } from '../crypto/profile.ts';
import { decodeEcPrivateKeyPem } from '../crypto/keys.ts';
import { sm2 } from '../crypto/sm2.ts';
import { ArchiError } from '../types/errors.ts';

const POINT = 65;

function bigintOf(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
}

/** The x coordinate of d * publicKey on the profile's curve. */
function sharedX(profile: CryptoProfile, d: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const scalar = bigintOf(d);
  const point =
    profile.name === 'gm'
      ? sm2.decodePublicKey(publicKey).multiply(scalar)
      : p256.Point.fromBytes(publicKey).multiply(scalar);
  return point.toBytes(false).slice(1, 33);
}

function cipherKey(
  profile: CryptoProfile,
  label: string,
  ephemeral: Uint8Array,
  x: Uint8Array,
): Uint8Array {
  const digest = profile.hashParts([new TextEncoder().encode(label), ephemeral, x]);
  // SM4 takes 16 bytes, AES-256 32.
  return profile.name === 'gm' ? digest.slice(0, 16) : digest;
}

/** `plaintext` encrypted to `recipientPublicKey` (uncompressed point) for the use `label`, as base64. */
export function sealTo(
  profile: CryptoProfile,
  recipientPublicKey: Uint8Array,
  plaintext: Uint8Array,
  label: string,
): string {
  const eph = profile.generateKeyPair();
  const { d } = decodeEcPrivateKeyPem(eph.privateKeyPem);
  const key = cipherKey(profile, label, eph.publicKey, sharedX(profile, d, recipientPublicKey));
  const body = profile.encrypt(key, plaintext);
  const out = new Uint8Array(POINT + body.length);
  out.set(eph.publicKey, 0);
  out.set(body, POINT);
  return Buffer.from(out).toString('base64');
}

/**
 * Open a `sealTo` ciphertext with the recipient's private key (PEM) under the same `label`;
 * CRYPTO_DECRYPT_FAILED if it is not for this key or this use.
 */
export function openSealed(
  profile: CryptoProfile,
  privateKeyPem: string,
  sealed: string,
  label: string,
): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(sealed, 'base64'));
  if (bytes.length <= POINT || bytes[0] !== 4) {
    throw new ArchiError('BAD_REQUEST', 'not a sealed secret (too short or no ephemeral key)');
  }
  const ephemeral = bytes.slice(0, POINT);
  const { d } = decodeEcPrivateKeyPem(privateKeyPem);
  const key = cipherKey(profile, label, ephemeral, sharedX(profile, d, ephemeral));
  return profile.decrypt(key, bytes.slice(POINT));
}
