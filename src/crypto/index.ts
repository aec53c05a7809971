// Public surface of the crypto layer; deeper modules (sm2, der, keys, ec-verify)
// stay importable for tests and tooling but are not part of this barrel.
export {
  asU8,
  base64Decode,
  base64Encode,
  concatBytes,
  equalBytes,
  fromHex,
  toHex,
  utf8Decode,
  utf8Encode,
} from './bytes.ts';
export {
  address,
  CryptoError,
  type CryptoProfile,
  generateSymmetricKey,
  getProfile,
  type KeyPair,
  type ProfileName,
  type Signer,
  symmetricKeyLength,
} from './profile.ts';
export {
  certFromPem,
  certsFromPem,
  certToPem,
  type DistinguishedName,
  type IssueOptions,
  isValidAt,
  issueCertificate,
  type MemberRole,
  type ParsedCertificate,
  parseCertificate,
  roleOf,
  verifyCertificate,
} from './x509.ts';
