/**
 * A dataset's encryption: a fresh data key per publish, the profile's authenticated cipher
 * over the whole file (AES-256-GCM, or SM4-CTR with HMAC-SM3 on gm chains), the profile's hash
 * (SHA-256 or SM3) of the plaintext and of the ciphertext, and the data key sealed to a user's
 * public key (src/apps/seal.ts) under a label naming the dataset and key version, so a sealed
 * key recorded for one dataset does not open as another's.
 */
import { type CryptoProfile, generateSymmetricKey } from '../../crypto/profile.ts';
import { codedError } from '../../sdk/errors.ts';
import { hex } from '../../types/hex.ts';
import { openSealed, sealTo } from '../seal.ts';

/** A dataset encrypted under a fresh key. */
export interface Encrypted {
  key: Uint8Array;
  ciphertext: Uint8Array;
  plainHash: string;
  cipherHash: string;
}

/** The seal label of dataset `name`'s key version `version`. */
export function keyLabel(name: string, version: number): string {
  return `archipelago/datashare/key/v1/${name}/${version}`;
}

/** `plaintext` encrypted under a fresh data key, with both hashes. */
export function encryptDataset(profile: CryptoProfile, plaintext: Uint8Array): Encrypted {
  const key = generateSymmetricKey(profile);
  const ciphertext = profile.encrypt(key, plaintext);
  return {
    key,
    ciphertext,
    plainHash: hex(profile.hash(plaintext)),
    cipherHash: hex(profile.hash(ciphertext)),
  };
}

/**
 * The plaintext of `ciphertext`: its hash must be the recorded cipherHash before it is
 * decrypted, and the plaintext's the recorded plainHash after (DATA_HASH_MISMATCH otherwise).
 */
export function decryptDataset(
  profile: CryptoProfile,
  key: Uint8Array,
  ciphertext: Uint8Array,
  expected: { name: string; plainHash: string; cipherHash: string },
): Uint8Array {
  const cipherHash = hex(profile.hash(ciphertext));
  if (cipherHash !== expected.cipherHash) {
    throw codedError(
      'DATA_HASH_MISMATCH',
      `the stored ciphertext of ${expected.name} hashes to ${cipherHash}, not the recorded ${expected.cipherHash}`,
    );
  }
  let plaintext: Uint8Array;
  try {
    plaintext = profile.decrypt(key, ciphertext);
  } catch (e) {
    throw codedError(
      'DATA_HASH_MISMATCH',
      `${expected.name} does not decrypt under the granted key (${(e as Error).message})`,
    );
  }
  const plainHash = hex(profile.hash(plaintext));
  if (plainHash !== expected.plainHash) {
    throw codedError(
      'DATA_HASH_MISMATCH',
      `${expected.name} decrypts to content hashing to ${plainHash}, not the recorded ${expected.plainHash}`,
    );
  }
  return plaintext;
}

/** The data key sealed to `publicKey` for dataset `name`'s key `version`. */
export function sealKey(
  profile: CryptoProfile,
  publicKey: Uint8Array,
  key: Uint8Array,
  name: string,
  version: number,
): string {
  return sealTo(profile, publicKey, key, keyLabel(name, version));
}

/** Open a sealed data key with the user's private key (DATA_NOT_GRANTED when it is not for it). */
export function openKey(
  profile: CryptoProfile,
  privateKeyPem: string,
  sealed: string,
  name: string,
  version: number,
): Uint8Array {
  try {
    return openSealed(profile, privateKeyPem, sealed, keyLabel(name, version));
  } catch (e) {
    throw codedError(
      'DATA_NOT_GRANTED',
      `the key recorded for ${name} v${version} does not open with this user's key (${(e as Error).message})`,
    );
  }
}
