// Public-key upload mode: CSRs and public keys made by OpenSSL are read, checked against the
// chain's profile, refused with GW_CSR_INVALID/GW_KEY_INVALID when wrong, and certified by
// the gateway organization's CA.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { base64Encode } from '../../src/crypto/bytes.ts';
import { pemDecode, pemEncode } from '../../src/crypto/keys.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import {
  certToPem,
  issueSelfSignedCa,
  parseCertificate,
  roleOf,
  verifyCertificate,
} from '../../src/crypto/x509.ts';
import { ArchiError } from '../../src/errors/index.ts';
import {
  certifyCsr,
  issueAppCertificate,
  parseCsr,
  parsePublicKey,
} from '../../src/gateway/csr.ts';

const dir = mkdtempSync(join(tmpdir(), 'archi-gw-csr-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// nice: a long test loop shares this machine.
function openssl(...args: string[]): string {
  return execFileSync('nice', ['-n', '19', 'openssl', ...args], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const file = (name: string): string => readFileSync(join(dir, name), 'utf8');

function throwsCode(fn: () => unknown, code: string, what?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ArchiError, `${what ?? code}: ${String(e)}`);
    assert.equal(e.code, code, `${what ?? code}: ${e.message}`);
    return true;
  });
}

const NOW = Date.UTC(2026, 0, 1);
const validity = {
  notBefore: new Date(NOW - 3_600_000),
  notAfter: new Date(NOW + 365 * 86_400_000),
};

/** Makes a key and CSR with OpenSSL; returns the CSR, private key and public key PEMs. */
function opensslCsr(
  stem: string,
  keyArgs: string[],
  reqArgs: string[],
  subj = '/CN=alice@app1',
): { csr: string; key: string; pub: string } {
  openssl('genpkey', ...keyArgs, '-out', `${stem}.key`);
  openssl('req', '-new', '-key', `${stem}.key`, '-subj', subj, ...reqArgs, '-out', `${stem}.csr`);
  openssl('pkey', '-in', `${stem}.key`, '-pubout', '-out', `${stem}.pub`);
  return { csr: file(`${stem}.csr`), key: file(`${stem}.key`), pub: file(`${stem}.pub`) };
}

// Changes one byte of the signed part (inside the subject's CN) and re-armours the CSR.
function tamperSubject(csrPem: string): string {
  const der = Uint8Array.from(pemDecode(csrPem, ['CERTIFICATE REQUEST']).der);
  const at = Buffer.from(der).indexOf('alice');
  assert.ok(at > 0);
  der[at] ^= 0x02;
  return pemEncode('CERTIFICATE REQUEST', der);
}

const p256 = opensslCsr(
  'p256',
  ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  ['-sha256'],
);
const sm2Key = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2'];
const sm2 = opensslCsr('sm2', sm2Key, ['-sm3', '-sigopt', 'distid:1234567812345678']);
const sm2EmptyId = opensslCsr('sm2e', sm2Key, ['-sm3']);
const p384 = opensslCsr(
  'p384',
  ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  ['-sha256'],
);
const ed = opensslCsr('ed', ['-algorithm', 'ED25519'], []);

const cases = [
  { name: 'standard', made: p256, other: sm2 },
  { name: 'gm', made: sm2, other: p256 },
] as const;

for (const { name, made, other } of cases) {
  describe(`CSRs and keys, ${name} profile`, () => {
    const profile = getProfile(name);
    const ca = issueSelfSignedCa(profile, { O: 'gworg', CN: 'ca.gworg' }, validity);
    const gwCa = { keyPem: ca.privateKeyPem, org: 'gworg' };

    test('an OpenSSL CSR: its CN and key', () => {
      const csr = parseCsr(made.csr, name);
      assert.equal(csr.commonName, 'alice@app1');
      assert.deepEqual(csr.publicKey, profile.publicKeyFromPem(made.pub));
      assert.deepEqual(csr.publicKey, profile.signerFromPem(made.key).publicKey);
    });

    test('the issued certificate verifies against the CA and carries the role', () => {
      const cert = certifyCsr(profile, gwCa, made.csr, { role: 'client', ...validity });
      const parsed = parseCertificate(cert.der);
      assert.ok(verifyCertificate(profile, parsed, parseCertificate(ca.der)));
      assert.deepEqual(parsed.subject, { O: 'gworg', OU: 'client', CN: 'alice@app1' });
      assert.equal(roleOf(parsed), 'client');
      assert.deepEqual(parsed.publicKey, cert.publicKey);
      assert.equal(parsed.notBefore, validity.notBefore.getTime());
      // OpenSSL agrees (SM2 certificates need the default id spelled out, see x509.ts).
      writeFileSync(join(dir, `${name}-ca.pem`), certToPem(ca.der));
      writeFileSync(join(dir, `${name}-leaf.pem`), cert.certPem);
      const vfy = name === 'gm' ? ['-vfyopt', 'distid:1234567812345678'] : [];
      const attime = String(Math.floor(NOW / 1000));
      const out = openssl(
        'verify',
        ...vfy,
        '-attime',
        attime,
        '-CAfile',
        `${name}-ca.pem`,
        `${name}-leaf.pem`,
      );
      assert.match(out, /OK/);
      const admin = certifyCsr(profile, gwCa, made.csr, {
        role: 'admin',
        commonName: 'alice@app1',
        ...validity,
      });
      assert.equal(roleOf(parseCertificate(admin.der)), 'admin');
    });

    test('a changed byte under the signature: GW_CSR_INVALID', () => {
      throwsCode(() => parseCsr(tamperSubject(made.csr), name), 'GW_CSR_INVALID');
    });

    test('a key of another profile or kind: GW_CSR_INVALID', () => {
      throwsCode(() => parseCsr(other.csr, name), 'GW_CSR_INVALID', 'other profile');
      throwsCode(() => parseCsr(p384.csr, name), 'GW_CSR_INVALID', 'P-384');
      throwsCode(() => parseCsr(ed.csr, name), 'GW_CSR_INVALID', 'Ed25519');
    });

    test('unreadable input: GW_CSR_INVALID', () => {
      const der = pemDecode(made.csr, ['CERTIFICATE REQUEST']).der;
      for (const [what, pem] of [
        ['empty', ''],
        ['no PEM', 'hello'],
        ['a public key', made.pub],
        ['truncated', pemEncode('CERTIFICATE REQUEST', der.subarray(0, der.length - 5))],
        ['trailing bytes', pemEncode('CERTIFICATE REQUEST', Uint8Array.from([...der, 0]))],
        ['bad base64', made.csr.replace(/\n[A-Za-z0-9+/]{4}/, '\n!!!!')],
        ['huge', `${made.csr}${'x'.repeat(20_000)}`],
        ['not a string', 42 as unknown as string],
      ] as const) {
        throwsCode(() => parseCsr(pem, name), 'GW_CSR_INVALID', what);
      }
    });

    test('the CSR must ask for the expected name when one is given', () => {
      throwsCode(
        () =>
          certifyCsr(profile, gwCa, made.csr, {
            role: 'client',
            commonName: 'bob@app1',
            ...validity,
          }),
        'GW_CSR_INVALID',
      );
    });

    test('a bare public key: accepted for the profile, compressed too; others GW_KEY_INVALID', () => {
      const pk = parsePublicKey(made.pub, name);
      assert.deepEqual(pk, profile.publicKeyFromPem(made.pub));
      const stem = name === 'gm' ? 'sm2' : 'p256';
      openssl(
        'ec',
        '-in',
        `${stem}.key`,
        '-pubout',
        '-conv_form',
        'compressed',
        '-out',
        `${stem}c.pub`,
      );
      const compressed = file(`${stem}c.pub`);
      assert.ok(compressed.length < made.pub.length);
      assert.deepEqual(parsePublicKey(compressed, profile), pk);
      for (const [what, pem] of [
        ['other profile', other.pub],
        ['P-384', p384.pub],
        ['Ed25519', ed.pub],
        ['a CSR', made.csr],
        ['junk', 'junk'],
        ['off the curve', pemEncode('PUBLIC KEY', offCurve(made.pub))],
      ] as const) {
        throwsCode(() => parsePublicKey(pem, name), 'GW_KEY_INVALID', what);
      }
    });

    test('issueAppCertificate for an uploaded key', () => {
      const kp = profile.generateKeyPair();
      const cert = issueAppCertificate(profile, gwCa, {
        commonName: 'bob@app1',
        publicKey: parsePublicKey(profile.publicKeyToPem(kp.publicKey), profile),
        role: 'client',
        ...validity,
      });
      assert.ok(verifyCertificate(profile, parseCertificate(cert.der), parseCertificate(ca.der)));
      const req = { commonName: 'bob', publicKey: kp.publicKey, ...validity };
      throwsCode(
        () => issueAppCertificate(profile, gwCa, { ...req, role: 'root' as 'client' }),
        'INVALID_ARGS',
      );
      throwsCode(
        () => issueAppCertificate(profile, gwCa, { ...req, role: 'client', commonName: 'a\nb' }),
        'INVALID_ARGS',
      );
    });
  });
}

test('SM2: a CSR signed with the empty user id (OpenSSL 3.0 without distid) is accepted', () => {
  const csr = parseCsr(sm2EmptyId.csr, 'gm');
  assert.deepEqual(csr.publicKey, getProfile('gm').publicKeyFromPem(sm2EmptyId.pub));
  throwsCode(() => parseCsr(tamperSubject(sm2EmptyId.csr), 'gm'), 'GW_CSR_INVALID');
});

test('a CSR with no CN or two CNs: GW_CSR_INVALID', () => {
  const none = opensslCsr(
    'nocn',
    ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    ['-sha256'],
    '/O=x',
  );
  throwsCode(() => parseCsr(none.csr, 'standard'), 'GW_CSR_INVALID', 'no CN');
  const two = opensslCsr(
    'twocn',
    ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    ['-sha256'],
    '/CN=a/CN=b',
  );
  throwsCode(() => parseCsr(two.csr, 'standard'), 'GW_CSR_INVALID', 'two CNs');
});

// The SPKI of `pem` with the point's last byte changed, which leaves the curve.
function offCurve(pem: string): Uint8Array {
  const der = Uint8Array.from(pemDecode(pem, ['PUBLIC KEY']).der);
  der[der.length - 1] ^= 0x01;
  assert.notEqual(base64Encode(der), pem);
  return der;
}
