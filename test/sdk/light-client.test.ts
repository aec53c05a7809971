/** LightClient input checks; following real validator changes is covered by test/e2e/membership. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getProfile } from '../../src/crypto/profile.ts';
import { LightClient } from '../../src/sdk/light-client.ts';
import { hex } from '../../src/types/hex.ts';

const profile = getProfile('standard');
const validators = [
  { name: 'node1', org: 'org1', publicKey: hex(profile.generateKeyPair().publicKey), power: 1 },
];
const never = {
  getBlock: () => Promise.reject(new Error('not expected')),
  validators: () => Promise.reject(new Error('not expected')),
};

test('a light client needs a trusted height and a non-empty set', () => {
  assert.throws(() => new LightClient(profile, 'c', { height: 0, validators }), {
    code: 'PROOF_INVALID',
  });
  assert.throws(() => new LightClient(profile, 'c', { height: 1, validators: [] }), {
    code: 'PROOF_INVALID',
  });
});

test('heights before the trusted one are refused without asking the node', async () => {
  const light = new LightClient(profile, 'c', { height: 10, validators });
  await assert.rejects(light.verifyBlock(never, 9), { code: 'PROOF_INVALID', message: /before/ });
});

test('a block that is not what was asked for is refused', async () => {
  const light = new LightClient(profile, 'c', { height: 1, validators });
  const junk = {
    getBlock: async () => ({ headerBytes: 'zz', hash: '00' }) as never,
    validators: never.validators,
  };
  await assert.rejects(light.verifyBlock(junk, 1), {
    code: 'PROOF_INVALID',
    message: /unreadable header/,
  });
  assert.equal(light.trustedHeight, 1);
});
