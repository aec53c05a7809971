/** The Data sharing page's wording: grant badges, audit entries and sizes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEntry } from '../../src/apps/datashare/rules.ts';
import { auditText, grantBadge, sizeText } from './datashare.ts';

test('grant states, audit entries and sizes read as a person expects', () => {
  assert.deepEqual((['live', 'revoked', 'expired'] as const).map(grantBadge), [
    'ok',
    'error',
    'warn',
  ]);
  const e = (action: AuditEntry['action'], grantee: string | null = null): AuditEntry => ({
    seq: 0,
    action,
    org: 'org1',
    user: 'admin.org1',
    id: '00'.repeat(20),
    grantee,
    version: 2,
    height: 1,
    time: 0,
    txId: '',
  });
  assert.equal(auditText(e('grant', 'org2')), 'granted to org2');
  assert.equal(auditText(e('revoke', 'org2')), "revoked org2's grant");
  assert.equal(auditText(e('fetch')), 'fetched v2');
  assert.equal(auditText(e('republish')), 're-published under a new key (v2)');
  assert.deepEqual([0, 1023, 1024, 300_000, 5 * 1024 ** 3].map(sizeText), [
    '0 B',
    '1023 B',
    '1.0 KiB',
    '293.0 KiB',
    '5.0 GiB',
  ]);
});
