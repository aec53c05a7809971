// Key trust mode: private keys sealed under the master key open only for the same master
// key, profile, app and identity, and never show in the sealed bytes or in printed values.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { getProfile } from '../../src/crypto/profile.ts';
import { ArchiError } from '../../src/errors/index.ts';
import {
  ACCESS_KEY_NAME,
  generateAppKeys,
  generateMasterKeyFile,
  loadMasterKey,
  MASTER_KEY_ENV,
  MasterKey,
  openPrivateKey,
  sealPrivateKey,
} from '../../src/gateway/app-keys.ts';

const dir = mkdtempSync(join(tmpdir(), 'archi-gw-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const master = MasterKey.fromText(HEX);
const otherMaster = MasterKey.fromText('ff'.repeat(32));

function throwsCode(fn: () => unknown, code: string, what?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ArchiError, `${what ?? code}: ${String(e)}`);
    assert.equal(e.code, code, `${what ?? code}: ${e.message}`);
    return true;
  });
}

describe('the master key', () => {
  test('hex or base64 of 32 bytes, from a file or the environment', () => {
    const b64 = Buffer.from(HEX, 'hex').toString('base64');
    const pem = getProfile('standard').generateKeyPair().privateKeyPem;
    const sealed = sealPrivateKey(master, 'standard', 'app_1', 'alice', pem);
    const fromB64 = loadMasterKey({ env: { [MASTER_KEY_ENV]: ` ${b64}\n` } });
    assert.equal(openPrivateKey(fromB64, 'standard', 'app_1', 'alice', sealed), pem);
    const fromUpper = loadMasterKey({ env: { [MASTER_KEY_ENV]: HEX.toUpperCase() } });
    assert.equal(openPrivateKey(fromUpper, 'standard', 'app_1', 'alice', sealed), pem);
  });

  test('anything else: GW_MASTER_KEY_INVALID', () => {
    for (const bad of ['', 'abc', HEX.slice(2), `${HEX}00`, 'zz'.repeat(32), 'A'.repeat(44)]) {
      throwsCode(() => MasterKey.fromText(bad), 'GW_MASTER_KEY_INVALID', JSON.stringify(bad));
    }
    throwsCode(() => loadMasterKey({ env: {} }), 'GW_MASTER_KEY_INVALID', 'none');
    throwsCode(() => loadMasterKey({ env: { [MASTER_KEY_ENV]: ' ' } }), 'GW_MASTER_KEY_INVALID');
    throwsCode(() => loadMasterKey({ file: join(dir, 'missing') }), 'GW_MASTER_KEY_INVALID');
  });

  test('generateMasterKeyFile: mode 0600, loadable, never overwritten', () => {
    const file = join(dir, 'master.key');
    generateMasterKeyFile(file);
    if (process.platform !== 'win32') assert.equal(statSync(file).mode & 0o777, 0o600);
    const before = readFileSync(file, 'utf8');
    const key = loadMasterKey({ file, env: { [MASTER_KEY_ENV]: HEX } });
    const pem = getProfile('gm').generateKeyPair().privateKeyPem;
    const sealed = sealPrivateKey(key, 'gm', 'app_1', 'alice', pem);
    // The file wins over the environment.
    throwsCode(
      () => openPrivateKey(master, 'gm', 'app_1', 'alice', sealed),
      'GW_KEY_UNSEAL_FAILED',
    );
    throwsCode(() => generateMasterKeyFile(file), 'GW_MASTER_KEY_INVALID', 'overwrite');
    assert.equal(readFileSync(file, 'utf8'), before);
  });

  test('printing or serializing a MasterKey shows nothing of it', () => {
    for (const shown of [
      inspect(master),
      JSON.stringify({ master }),
      String(master),
      `${master}`,
      inspect({ ...master }),
      Object.keys(master).join(),
    ]) {
      assert.ok(!shown.toLowerCase().includes('00112233'), shown);
      assert.ok(!shown.includes('ABEiM0RV'), shown); // base64 of the first bytes
    }
  });
});

for (const name of ['standard', 'gm'] as const) {
  describe(`sealed private keys, ${name} profile`, () => {
    const profile = getProfile(name);
    const kp = profile.generateKeyPair();
    const pem = kp.privateKeyPem;
    const sealed = sealPrivateKey(master, profile, 'app_1', 'alice', pem);

    test('round trip; the sealed bytes hold nothing of the PEM', () => {
      assert.equal(openPrivateKey(master, name, 'app_1', 'alice', sealed), pem);
      const asText = Buffer.from(sealed).toString('latin1');
      const b64Body = pem.split('\n')[1];
      assert.ok(!asText.includes('PRIVATE KEY'));
      assert.ok(!asText.includes(b64Body.slice(0, 16)));
      assert.ok(!Buffer.from(sealed).toString('base64').includes(b64Body.slice(0, 16)));
      // Sealing twice gives different bytes (fresh nonce), both open.
      const again = sealPrivateKey(master, profile, 'app_1', 'alice', pem);
      assert.notDeepEqual(again, sealed);
      assert.equal(openPrivateKey(master, profile, 'app_1', 'alice', again), pem);
    });

    test('wrong master key, other app, other name, other profile, changed bytes: GW_KEY_UNSEAL_FAILED', () => {
      const code = 'GW_KEY_UNSEAL_FAILED';
      throwsCode(() => openPrivateKey(otherMaster, name, 'app_1', 'alice', sealed), code, 'master');
      throwsCode(() => openPrivateKey(master, name, 'app_2', 'alice', sealed), code, 'app');
      throwsCode(() => openPrivateKey(master, name, 'app_1', 'bob', sealed), code, 'name');
      // Field boundaries are part of the derivation: ("app_1", "alice") is not ("app_1a", "lice").
      throwsCode(() => openPrivateKey(master, name, 'app_1a', 'lice', sealed), code, 'boundary');
      const other = name === 'gm' ? 'standard' : 'gm';
      throwsCode(() => openPrivateKey(master, other, 'app_1', 'alice', sealed), code, 'profile');
      for (const i of [0, 1, 2, 10, Math.floor(sealed.length / 2), sealed.length - 1]) {
        const flipped = Uint8Array.from(sealed);
        flipped[i] ^= 0x01;
        throwsCode(
          () => openPrivateKey(master, name, 'app_1', 'alice', flipped),
          code,
          `byte ${i}`,
        );
      }
      throwsCode(
        () => openPrivateKey(master, name, 'app_1', 'alice', sealed.subarray(0, 20)),
        code,
      );
      throwsCode(() => openPrivateKey(master, name, 'app_1', 'alice', new Uint8Array(0)), code);
    });

    test('a key of the other profile or no key at all is not sealed: GW_KEY_INVALID', () => {
      const otherPem = getProfile(name === 'gm' ? 'standard' : 'gm').generateKeyPair()
        .privateKeyPem;
      throwsCode(() => sealPrivateKey(master, name, 'app_1', 'alice', otherPem), 'GW_KEY_INVALID');
      throwsCode(() => sealPrivateKey(master, name, 'app_1', 'alice', 'junk'), 'GW_KEY_INVALID');
      throwsCode(() => sealPrivateKey(master, name, 'bad app', 'alice', pem), 'INVALID_ARGS');
      throwsCode(() => sealPrivateKey(master, name, 'app_1', '', pem), 'INVALID_ARGS');
    });

    test('generateAppKeys: access key and identities in the profile, each opens as itself only', () => {
      const keys = generateAppKeys(master, name, 'app_9', ['alice', 'bob']);
      assert.equal(keys.access.name, ACCESS_KEY_NAME);
      assert.deepEqual(
        keys.identities.map((k) => k.name),
        ['alice', 'bob'],
      );
      for (const k of [keys.access, ...keys.identities]) {
        assert.deepEqual(profile.publicKeyFromPem(k.publicKeyPem), k.publicKey);
        const opened = openPrivateKey(master, name, 'app_9', k.name, k.sealed);
        const signer = profile.signerFromPem(opened);
        assert.deepEqual(signer.publicKey, k.publicKey);
        const msg = new TextEncoder().encode('hello');
        assert.ok(profile.verify(k.publicKey, msg, signer.sign(msg)));
        assert.ok(!inspect(k).includes('PRIVATE'));
      }
      const [alice, bob] = keys.identities;
      throwsCode(
        () => openPrivateKey(master, name, 'app_9', 'bob', alice.sealed),
        'GW_KEY_UNSEAL_FAILED',
      );
      throwsCode(
        () => openPrivateKey(master, name, 'app_9', ACCESS_KEY_NAME, bob.sealed),
        'GW_KEY_UNSEAL_FAILED',
      );
      throwsCode(() => generateAppKeys(master, name, 'app_9', ['a', 'a']), 'INVALID_ARGS');
      throwsCode(() => generateAppKeys(master, name, 'app_9', [ACCESS_KEY_NAME]), 'INVALID_ARGS');
    });
  });
}
