/** The cbdc KYC link sealing (src/apps/seal.ts under cbdc's label) in both crypto profiles. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CBDC_LINK_SEAL as L } from '../../src/apps/cbdc/app.ts';
import { openSealed, sealTo } from '../../src/apps/seal.ts';
import { formatFen, parseYuan } from '../../src/apps/cbdc/rules.ts';
import { getProfile } from '../../src/crypto/profile.ts';

for (const name of ['standard', 'gm'] as const) {
  test(`a sealed link opens only with the recipient's key (${name})`, () => {
    const profile = getProfile(name);
    const regulator = profile.generateKeyPair();
    const other = profile.generateKeyPair();
    const text = new TextEncoder().encode(JSON.stringify({ phone: '+86 138 0000 0000' }));
    const sealed = sealTo(profile, regulator.publicKey, text, L);
    assert.notEqual(sealed, sealTo(profile, regulator.publicKey, text, L), 'a fresh key each time');
    assert.deepEqual(openSealed(profile, regulator.privateKeyPem, sealed, L), text);
    assert.throws(() => openSealed(profile, other.privateKeyPem, sealed, L));
    const bytes = Buffer.from(sealed, 'base64');
    bytes[bytes.length - 1] ^= 1;
    assert.throws(() => openSealed(profile, regulator.privateKeyPem, bytes.toString('base64'), L));
  });
}

test('yuan and fen', () => {
  assert.equal(parseYuan('2000'), 200_000);
  assert.equal(parseYuan('0.5'), 50);
  assert.equal(parseYuan('12.34'), 1234);
  for (const bad of ['', '1.234', '-1', '1e3', '١']) assert.equal(parseYuan(bad), undefined);
  assert.equal(formatFen(200_001), '2000.01');
  assert.equal(formatFen(5), '0.05');
});
