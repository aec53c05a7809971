/** The double-sign guard: never signs backwards or differently at the same step, even after a restart. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GuardedSigner, type SignRequest } from '../../src/consensus/signer.ts';
import { getProfile } from '../../src/crypto/profile.ts';

const dir = mkdtempSync(join(tmpdir(), 'archi-signer-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const profile = getProfile('standard');
const key = profile.generateKeyPair().privateKeyPem;

const req = (
  height: number,
  round: number,
  step: SignRequest['step'],
  content: string,
): SignRequest => ({
  height,
  round,
  step,
  content,
  timestamp: Date.now(),
  bytes: (t) => new TextEncoder().encode(`${height}/${round}/${step}/${content}/${t}`),
});

test('refuses double signs and regressions across restarts, repeats identical signatures', () => {
  const a = GuardedSigner.open(dir, profile.signerFromPem(key));
  const first = a.sign(req(3, 0, 'prevote', 'aa'));
  assert.equal(profile.verify(a.publicKey, first.bytes, first.signature), true);
  assert.throws(() => a.sign(req(3, 0, 'prevote', 'bb')), { code: 'DOUBLE_SIGN' });
  a.sign(req(3, 0, 'precommit', 'aa'));
  assert.throws(() => a.sign(req(3, 0, 'prevote', 'aa')), { code: 'DOUBLE_SIGN' });
  // A new process (crash and restart) keeps the guard.
  const b = GuardedSigner.open(dir, profile.signerFromPem(key));
  assert.deepEqual(b.lastSigned, { height: 3, round: 0, step: 3 });
  const again = b.sign(req(3, 0, 'precommit', 'aa'));
  assert.throws(() => b.sign(req(3, 0, 'precommit', 'nil')), { code: 'DOUBLE_SIGN' });
  assert.throws(() => b.sign(req(2, 5, 'propose', 'cc')), { code: 'DOUBLE_SIGN' });
  assert.equal(profile.verify(b.publicKey, again.bytes, again.signature), true);
  b.sign(req(3, 1, 'prevote', 'nil'));
  b.sign(req(4, 0, 'propose', 'dd'));
});
