import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fromHex } from '../../src/crypto/bytes.ts';
import {
  CryptoError,
  type CryptoProfile,
  getProfile,
  type Signer,
} from '../../src/crypto/profile.ts';
import {
  certFromPem,
  certsFromPem,
  certToPem,
  type DistinguishedName,
  isValidAt,
  issueCertificate,
  parseCertificate,
  roleOf,
  verifyCertificate,
} from '../../src/crypto/x509.ts';
import { openssl, opensslOk, TempDir } from './openssl-helper.ts';

const DAY = 86_400_000;
const isCode = (code: string) => (err: unknown) => err instanceof CryptoError && err.code === code;

interface Ca {
  signer: Signer;
  name: DistinguishedName;
  der: Uint8Array;
}

function makeCa(profile: CryptoProfile, name: DistinguishedName): Ca {
  const kp = profile.generateKeyPair();
  const signer = profile.signerFromPem(kp.privateKeyPem);
  const now = Date.now();
  const der = issueCertificate({
    profile,
    issuer: signer,
    issuerName: name,
    subjectName: name,
    subjectPublicKey: kp.publicKey,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
    isCA: true,
  });
  return { signer, name, der };
}

function makeLeaf(
  profile: CryptoProfile,
  ca: Ca,
  subjectName: DistinguishedName,
  extra: { notBefore?: Date; notAfter?: Date; serial?: Uint8Array } = {},
): { der: Uint8Array; publicKey: Uint8Array } {
  const kp = profile.generateKeyPair();
  const now = Date.now();
  const der = issueCertificate({
    profile,
    issuer: ca.signer,
    issuerName: ca.name,
    subjectName,
    subjectPublicKey: kp.publicKey,
    notBefore: extra.notBefore ?? new Date(now - DAY),
    notAfter: extra.notAfter ?? new Date(now + 365 * DAY),
    serial: extra.serial,
    isCA: false,
  });
  return { der, publicKey: kp.publicKey };
}

for (const name of ['standard', 'gm'] as const) {
  describe(`X.509 (${name})`, () => {
    const profile = getProfile(name);
    const tmp = new TempDir();
    after(() => tmp.cleanup());
    // OpenSSL 3.0 verifies SM2 certificate signatures with an empty ID unless told
    // the GM/T 0009 default; see the header of src/crypto/x509.ts.
    const vfy = name === 'gm' ? ['-vfyopt', 'distid:1234567812345678'] : [];
    const verifyWithOpenssl = (caFile: string, leafFile: string) =>
      openssl(['verify', ...vfy, '-CAfile', caFile, leafFile]);

    const org = 'org1';
    const caName = { O: org, CN: 'ca.org1' };
    const ca = makeCa(profile, caName);
    const caFile = tmp.write('ca.pem', certToPem(ca.der));
    const roles = ['admin', 'client', 'consensus'] as const;
    const leaves = roles.map((role) => ({
      role,
      ...makeLeaf(profile, ca, { O: org, OU: role, CN: `${role}1.org1` }),
    }));

    it('openssl verify accepts every leaf issued by the CA', () => {
      for (const leaf of leaves) {
        const file = tmp.write(`${leaf.role}.pem`, certToPem(leaf.der));
        const r = verifyWithOpenssl(caFile, file);
        assert.ok(r.ok, `${leaf.role}: ${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /: OK\s*$/);
      }
    });

    it('verifyCertificate accepts every leaf and roles come from OU', () => {
      const parsedCa = parseCertificate(ca.der);
      for (const leaf of leaves) {
        const parsed = parseCertificate(leaf.der);
        assert.ok(verifyCertificate(profile, parsed, parsedCa), leaf.role);
        assert.equal(roleOf(parsed), leaf.role);
      }
      assert.ok(verifyCertificate(profile, parsedCa, parsedCa), 'self-signed root');
    });

    it('a leaf from a different CA fails in openssl and in verifyCertificate', () => {
      // Same subject DN but another key: only the signature can tell them apart.
      const impostor = makeCa(profile, caName);
      const stranger = makeCa(profile, { O: 'org2', CN: 'ca.org2' });
      const parsedCa = parseCertificate(ca.der);
      for (const other of [impostor, stranger]) {
        const leaf = makeLeaf(profile, other, { O: other.name.O, OU: 'client', CN: 'mallory' });
        const file = tmp.write('foreign.pem', certToPem(leaf.der));
        assert.ok(!verifyWithOpenssl(caFile, file).ok);
        assert.ok(!verifyCertificate(profile, parseCertificate(leaf.der), parsedCa));
        assert.ok(
          verifyCertificate(profile, parseCertificate(leaf.der), parseCertificate(other.der)),
        );
      }
    });

    it('verifyCertificate rejects tampering, wrong profile, and non-CA issuers', () => {
      const parsedCa = parseCertificate(ca.der);
      const leaf = parseCertificate(leaves[0].der);
      const tbs = leaf.tbs.slice();
      tbs[tbs.length - 40] ^= 1;
      assert.ok(!verifyCertificate(profile, { ...leaf, tbs }, parsedCa));
      const sig = leaf.signature.slice();
      sig[sig.length - 1] ^= 1;
      assert.ok(!verifyCertificate(profile, { ...leaf, signature: sig }, parsedCa));
      const other = getProfile(name === 'gm' ? 'standard' : 'gm');
      assert.ok(!verifyCertificate(other, leaf, parsedCa));
      const asCa = { ...parseCertificate(leaves[1].der), subject: caName };
      assert.ok(!verifyCertificate(profile, leaf, asCa), 'issuer without CA:TRUE');
      assert.ok(
        !verifyCertificate(profile, leaf, { ...parsedCa, subject: { ...caName, CN: 'x' } }),
      );
    });

    it('parseCertificate round-trips names, key, serial, validity and flags', () => {
      const notBefore = new Date('2024-01-02T03:04:05.678Z');
      const notAfter = new Date('2051-06-07T08:09:10Z'); // GeneralizedTime range
      const serial = fromHex('00ff0102030405');
      const leaf = makeLeaf(
        profile,
        ca,
        { O: org, OU: 'common', CN: 'common1.org1' },
        { notBefore, notAfter, serial },
      );
      const p = parseCertificate(leaf.der);
      assert.deepEqual(p.subject, { O: org, OU: 'common', CN: 'common1.org1' });
      assert.deepEqual(p.issuer, caName);
      assert.deepEqual(p.publicKey, leaf.publicKey);
      assert.equal(p.serialHex, 'ff0102030405');
      assert.equal(p.notBefore, Date.parse('2024-01-02T03:04:05Z'));
      assert.equal(p.notAfter, notAfter.getTime());
      assert.equal(p.isCA, false);
      assert.equal(p.signatureAlgorithmOid, profile.signatureAlgorithmOid);
      assert.deepEqual(p.der, leaf.der);
      assert.equal(roleOf(p), 'common');
      const pc = parseCertificate(ca.der);
      assert.equal(pc.isCA, true);
      assert.deepEqual(pc.subject, caName);
      assert.equal(pc.subject.OU, undefined);
      assert.deepEqual(p.authorityKeyId, pc.subjectKeyId);
      const text = opensslOk([
        'x509',
        '-in',
        tmp.write('rt.pem', certToPem(leaf.der)),
        '-noout',
        '-serial',
        '-dates',
      ]);
      assert.match(text, /serial=FF0102030405/);
      assert.match(text, /notAfter=Jun {2}7 08:09:10 2051 GMT/);
    });

    it('expired certificates report notAfter in the past and openssl rejects them', () => {
      const now = Date.now();
      const leaf = makeLeaf(
        profile,
        ca,
        { O: org, OU: 'client', CN: 'old' },
        {
          notBefore: new Date(now - 10 * DAY),
          notAfter: new Date(now - DAY),
        },
      );
      const p = parseCertificate(leaf.der);
      assert.ok(p.notAfter < now);
      assert.ok(!isValidAt(p, now));
      assert.ok(isValidAt(p, now - 5 * DAY));
      assert.ok(verifyCertificate(profile, p, parseCertificate(ca.der)), 'signature is still fine');
      const r = verifyWithOpenssl(caFile, tmp.write('expired.pem', certToPem(leaf.der)));
      assert.ok(!r.ok);
      assert.match(r.stdout + r.stderr, /certificate has expired/);
    });

    it('openssl x509 -text reads CA and leaf certificates', () => {
      const algName = name === 'gm' ? 'SM2-with-SM3' : 'ecdsa-with-SHA256';
      const caText = opensslOk(['x509', '-in', caFile, '-noout', '-text']);
      assert.match(caText, new RegExp(`Signature Algorithm: ${algName}`));
      assert.match(caText, /Basic Constraints: critical\s+CA:TRUE/);
      assert.match(caText, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
      assert.match(caText, /Subject Key Identifier/);
      const leafText = opensslOk(['x509', '-in', tmp.file('admin.pem'), '-noout', '-text']);
      assert.match(leafText, /Subject: O = org1, OU = admin, CN = admin1.org1/);
      assert.match(leafText, /Basic Constraints: critical\s+CA:FALSE/);
      assert.match(leafText, /Key Usage: critical\s+Digital Signature/);
      assert.match(leafText, /Authority Key Identifier/);
      assert.match(leafText, name === 'gm' ? /ASN1 OID: SM2/ : /NIST CURVE: P-256/);
    });

    it('PEM helpers round-trip and reject garbage', () => {
      const pem = certToPem(ca.der);
      assert.deepEqual(certFromPem(pem), ca.der);
      const bundle = pem + certToPem(leaves[0].der);
      assert.deepEqual(certsFromPem(bundle), [ca.der, leaves[0].der]);
      assert.throws(() => certFromPem('nope'), isCode('CERT_MALFORMED'));
      assert.throws(
        () => parseCertificate(new Uint8Array([0x30, 0x03, 1, 2, 3])),
        isCode('CERT_MALFORMED'),
      );
      assert.throws(
        () => parseCertificate(ca.der.subarray(0, ca.der.length - 1)),
        isCode('CERT_MALFORMED'),
      );
      assert.throws(
        () => parseCertificate(new Uint8Array([...ca.der, 0])),
        isCode('CERT_MALFORMED'),
      );
    });

    it('issueCertificate refuses a signer from the other profile and bad inputs', () => {
      const other = getProfile(name === 'gm' ? 'standard' : 'gm');
      const wrongSigner = other.signerFromPem(other.generateKeyPair().privateKeyPem);
      const kp = profile.generateKeyPair();
      const base = {
        profile,
        issuer: wrongSigner,
        issuerName: caName,
        subjectName: { O: org, OU: 'client', CN: 'c' },
        subjectPublicKey: kp.publicKey,
        notBefore: new Date(),
        notAfter: new Date(Date.now() + DAY),
        isCA: false,
      };
      assert.throws(() => issueCertificate(base), isCode('CRYPTO_SIGN_FAILED'));
      const ok = { ...base, issuer: ca.signer };
      assert.throws(
        () => issueCertificate({ ...ok, notAfter: new Date(0) }),
        isCode('CERT_BAD_INPUT'),
      );
      assert.throws(
        () => issueCertificate({ ...ok, subjectName: { O: '', CN: 'x' } }),
        isCode('CERT_BAD_INPUT'),
      );
      assert.throws(
        () => issueCertificate({ ...ok, serial: new Uint8Array([0]) }),
        isCode('CERT_BAD_INPUT'),
      );
      assert.throws(
        () => issueCertificate({ ...ok, subjectPublicKey: new Uint8Array(65) }),
        isCode('CRYPTO_BAD_KEY'),
      );
    });

    it('certificates issued by openssl verify here', () => {
      const key = tmp.file('ossl-ca.key');
      const sigopt = name === 'gm' ? ['-sm3', '-sigopt', 'distid:1234567812345678'] : ['-sha256'];
      const genArgs =
        name === 'gm'
          ? ['genpkey', '-algorithm', 'SM2', '-out', key]
          : [
              'genpkey',
              '-algorithm',
              'EC',
              '-pkeyopt',
              'ec_paramgen_curve:prime256v1',
              '-out',
              key,
            ];
      opensslOk(genArgs);
      const caPem = tmp.file('ossl-ca.pem');
      opensslOk([
        'req',
        '-x509',
        '-new',
        '-key',
        key,
        ...sigopt,
        '-subj',
        '/O=orgX/CN=ca.orgX',
        '-days',
        '30',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        '-out',
        caPem,
      ]);
      const leafKey = tmp.file('ossl-leaf.key');
      opensslOk(genArgs.slice(0, -1).concat(leafKey));
      const csr = tmp.file('ossl-leaf.csr');
      opensslOk([
        'req',
        '-new',
        '-key',
        leafKey,
        ...sigopt,
        '-subj',
        '/O=orgX/OU=client/CN=bob',
        '-out',
        csr,
      ]);
      const leafPem = tmp.file('ossl-leaf.pem');
      opensslOk([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        caPem,
        '-CAkey',
        key,
        ...sigopt,
        ...vfy,
        '-days',
        '10',
        '-out',
        leafPem,
      ]);
      const parsedCa = parseCertificate(certFromPem(readFileSync(caPem, 'utf8')));
      const leaf = parseCertificate(certFromPem(readFileSync(leafPem, 'utf8')));
      assert.deepEqual(leaf.subject, { O: 'orgX', OU: 'client', CN: 'bob' });
      assert.ok(parsedCa.isCA);
      assert.ok(verifyCertificate(profile, leaf, parsedCa));
      assert.ok(!verifyCertificate(profile, leaf, parseCertificate(ca.der)));
    });

    if (name === 'gm') {
      it('SM2 certificates are signed with the default ID, not the empty one', () => {
        const file = tmp.file('admin.pem');
        assert.ok(!openssl(['verify', '-vfyopt', 'distid:', '-CAfile', caFile, file]).ok);
        assert.ok(!openssl(['verify', '-vfyopt', 'distid:abc', '-CAfile', caFile, file]).ok);
        assert.ok(verifyWithOpenssl(caFile, file).ok);
      });
    }
  });
}
