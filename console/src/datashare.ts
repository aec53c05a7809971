/**
 * The Data sharing page without React (docs/apps/datashare.md): the contract it reads, and how
 * grants and audit entries read to a person. The record shapes are the contract's own
 * (src/apps/datashare/rules.ts is import-free, so the console bundles it).
 */
import type { AuditEntry, GrantView } from '../../src/apps/datashare/rules.ts';

export type { AuditEntry, DatasetRecord, GrantView, Meta } from '../../src/apps/datashare/rules.ts';

/** The contract the page reads. */
export const DATASHARE = 'datashare';

/** The badge of a grant's state: live is good, revoked an error, expired a warning. */
export function grantBadge(state: GrantView['state']): 'ok' | 'error' | 'warn' {
  return state === 'live' ? 'ok' : state === 'revoked' ? 'error' : 'warn';
}

/** What an audit entry says happened, in a few words. */
export function auditText(e: AuditEntry): string {
  switch (e.action) {
    case 'publish':
      return `published v${e.version}`;
    case 'republish':
      return `re-published under a new key (v${e.version})`;
    case 'grant':
      return `granted to ${e.grantee}`;
    case 'revoke':
      return `revoked ${e.grantee}'s grant`;
    case 'fetch':
      return `fetched v${e.version}`;
  }
}

/** A byte count in B, KiB, MiB or GiB. */
export function sizeText(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}
