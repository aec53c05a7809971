/**
 * What governance proposals can be and how their votes count: one declaration for the
 * contract, the SDK, the CLI and the browser console (no imports, so any of them can load it).
 */

/** Kinds that rewrite the chain config (from the next block). */
export const CONFIG_KINDS = [
  'set_kv_write_roles',
  'set_tx_roles',
  'set_params',
  'set_policy',
  'revoke_cert',
] as const;

/** Kinds that run a contract_manage action, settled by the lifecycle policy. */
export const LIFECYCLE_KINDS = [
  'contract_deploy',
  'contract_upgrade',
  'contract_freeze',
  'contract_unfreeze',
  'contract_revoke',
] as const;

/** Kinds that change organizations, member nodes and validator power. */
export const MEMBERSHIP_KINDS = [
  'add_org',
  'remove_org',
  'add_node',
  'remove_node',
  'set_validator_power',
] as const;

/** Kinds that create or recover a light client of another chain (the `ibc` contract). */
export const IBC_KINDS = ['ibc_create_client', 'ibc_recover_client'] as const;

/**
 * Kinds that call a method of a TypeScript contract as the `governance` contract: the callee
 * sees `ctx.caller === 'governance'`, so a contract can keep a method for the consortium's
 * decisions (e.g. who owns the roots of the idcode app).
 */
export const CALL_KINDS = ['contract_call'] as const;

/** Every change a proposal can make. */
export const PROPOSAL_KINDS = [
  ...CONFIG_KINDS,
  ...LIFECYCLE_KINDS,
  ...MEMBERSHIP_KINDS,
  ...IBC_KINDS,
  ...CALL_KINDS,
] as const;
export type ProposalKind = (typeof PROPOSAL_KINDS)[number];
export type MembershipKind = (typeof MEMBERSHIP_KINDS)[number];

export const PROPOSAL_STATUSES = ['pending', 'executed', 'rejected', 'expired'] as const;
export type ProposalStatus = (typeof PROPOSAL_STATUSES)[number];

/** A proposal as the governance contract returns it. */
export interface ProposalJson {
  id: number;
  kind: ProposalKind;
  args: Record<string, unknown>;
  proposer: { org: string; id: string };
  createdAt: number;
  /** Last block height at which the proposal can still be voted on. */
  expiresAt: number;
  /** `expired` is derived from the height, never stored. */
  status: ProposalStatus;
  /** Organizations that approved (the proposer's organization first). */
  approvals: string[];
  rejections: string[];
  /** Height of the block that executed or rejected it. */
  closedAt: number | null;
}

/** Largest voting power of one validator. */
export const MAX_POWER = 1_000_000_000_000;

/** Whether `approvals` of `orgs` organizations meet `policy` (ANY, MAJORITY, ALL or n/m). */
export function policyMet(policy: string, approvals: number, orgs: number): boolean {
  if (policy === 'ANY') return approvals >= 1;
  if (policy === 'ALL') return approvals >= orgs;
  if (policy === 'MAJORITY') return approvals * 2 > orgs;
  const m = /^([1-9][0-9]*)\/([1-9][0-9]*)$/.exec(policy);
  if (m) return approvals >= 1 && approvals * Number(m[2]) >= Number(m[1]) * orgs;
  return approvals >= orgs;
}
