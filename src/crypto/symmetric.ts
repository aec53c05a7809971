// Authenticated symmetric encryption for both profiles.
//   standard: AES-256-GCM, output = nonce(12) || ciphertext || tag(16)
//   gm:       SM4-CTR + HMAC-SM3 encrypt-then-MAC (OpenSSL 3.0 has no SM4-GCM),
//             output = iv(16) || ciphertext || tag(32), tag over iv || ciphertext.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { asBuffer, asU8, utf8Encode } from './bytes.ts';
import { CryptoError } from './errors.ts';

const GCM_NONCE = 12;
const GCM_TAG = 16;
const SM4_IV = 16;
const SM3_TAG = 32;
// Domain-separation labels for deriving independent SM4 and HMAC keys from the
// caller's single 16-byte key (reusing one key for both is poor hygiene).
const SM4_ENC_LABEL = utf8Encode('archipelago/sm4-ctr/enc');
const SM4_MAC_LABEL = utf8Encode('archipelago/sm4-ctr/mac');

function checkKey(key: Uint8Array, len: number, alg: string): void {
  if (!(key instanceof Uint8Array) || key.length !== len) {
    throw new CryptoError('CRYPTO_BAD_KEY', `${alg} needs a ${len}-byte key`);
  }
}

function decryptFailed(): never {
  throw new CryptoError('CRYPTO_DECRYPT_FAILED', 'ciphertext failed authentication');
}

/** AES-256-GCM with a random 96-bit nonce. */
export function aesGcmEncrypt(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  checkKey(key, 32, 'AES-256-GCM');
  const nonce = randomBytes(GCM_NONCE);
  const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG });
  return asU8(Buffer.concat([nonce, c.update(plaintext), c.final(), c.getAuthTag()]));
}

/** Inverse of aesGcmEncrypt; throws CryptoError CRYPTO_DECRYPT_FAILED on any tampering. */
export function aesGcmDecrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  checkKey(key, 32, 'AES-256-GCM');
  if (data.length < GCM_NONCE + GCM_TAG) decryptFailed();
  const nonce = data.subarray(0, GCM_NONCE);
  const body = data.subarray(GCM_NONCE, data.length - GCM_TAG);
  const tag = data.subarray(data.length - GCM_TAG);
  try {
    const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG });
    d.setAuthTag(tag);
    return asU8(Buffer.concat([d.update(body), d.final()]));
  } catch {
    decryptFailed();
  }
}

function sm4Keys(key: Uint8Array): { enc: Buffer; mac: Buffer } {
  checkKey(key, 16, 'SM4');
  const enc = createHmac('sm3', key).update(SM4_ENC_LABEL).digest().subarray(0, 16);
  const mac = createHmac('sm3', key).update(SM4_MAC_LABEL).digest();
  return { enc, mac };
}

/** SM4-CTR + HMAC-SM3 (encrypt-then-MAC) with a random 128-bit IV. */
export function sm4Encrypt(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const { enc, mac } = sm4Keys(key);
  const iv = randomBytes(SM4_IV);
  const c = createCipheriv('sm4-ctr', enc, iv);
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  const tag = createHmac('sm3', mac).update(iv).update(body).digest();
  return asU8(Buffer.concat([iv, body, tag]));
}

/** Inverse of sm4Encrypt; checks the MAC before decrypting and throws CRYPTO_DECRYPT_FAILED. */
export function sm4Decrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  const { enc, mac } = sm4Keys(key);
  if (data.length < SM4_IV + SM3_TAG) decryptFailed();
  const iv = data.subarray(0, SM4_IV);
  const body = data.subarray(SM4_IV, data.length - SM3_TAG);
  const tag = asBuffer(data.subarray(data.length - SM3_TAG));
  const expected = createHmac('sm3', mac).update(iv).update(body).digest();
  if (!timingSafeEqual(expected, tag)) decryptFailed();
  const d = createDecipheriv('sm4-ctr', enc, iv);
  return asU8(Buffer.concat([d.update(body), d.final()]));
}

/** Raw single-block SM4 (ECB, no padding); exposed so tests can pin the cipher to GB/T 32907 vectors. */
export function sm4EncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  checkKey(key, 16, 'SM4');
  if (block.length !== 16) throw new CryptoError('CRYPTO_BAD_INPUT', 'SM4 block must be 16 bytes');
  const c = createCipheriv('sm4-ecb', key, null).setAutoPadding(false);
  return asU8(Buffer.concat([c.update(block), c.final()]));
}

/** Raw SM4-CTR keystream application, the primitive under sm4Encrypt (for tests/interop). */
export function sm4Ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  checkKey(key, 16, 'SM4');
  if (iv.length !== SM4_IV)
    throw new CryptoError('CRYPTO_BAD_INPUT', 'SM4-CTR IV must be 16 bytes');
  const c = createCipheriv('sm4-ctr', key, iv);
  return asU8(Buffer.concat([c.update(data), c.final()]));
}
