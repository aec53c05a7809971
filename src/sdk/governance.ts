/**
 * On-chain governance through a node's RPC: propose, approve and reject changes to the
 * chain config (txs to the native `governance` contract, waited for) and read proposals
 * (queries). A proposal is executed in the tx whose vote meets the chain's governance policy
 * and takes effect from the next block. See docs/GOVERNANCE.md.
 */
import type { CryptoProfile } from '../crypto/profile.ts';
import { hex } from '../types/hex.ts';
import type { ArchiClient, SubmitOptions } from './client.ts';
import { remoteError } from './errors.ts';
import type { Identity } from './identity.ts';
import type { CommittedAnswer, ReceiptJson } from './types.ts';
import {
  PROPOSAL_KINDS,
  PROPOSAL_STATUSES,
  type ProposalJson,
  type ProposalStatus,
} from '../types/governance.ts';

/** The native governance contract. */
export const GOVERNANCE = 'governance';

/** Changes a proposal can make. */
export const GOVERNANCE_KINDS = PROPOSAL_KINDS;
export type GovernanceKind = (typeof GOVERNANCE_KINDS)[number];

export { PROPOSAL_STATUSES, type ProposalJson };
export type ProposalStatusJson = ProposalStatus;

/** A committed governance tx: the proposal after it, with the tx and receipt. */
export interface GovernanceResult {
  txId: string;
  height: number;
  proposal: ProposalJson;
  receipt: ReceiptJson;
}

export interface GovernanceOptions extends Omit<SubmitOptions, 'wait'> {
  gasLimit?: bigint | number;
}

/** The hash `revoke_cert` expects: hex of the profile's hash of the certificate DER. */
export function certHash(profile: CryptoProfile, certDer: Uint8Array): string {
  return hex(profile.hash(certDer));
}

/** Governance proposals on one node. */
export class Governance {
  constructor(readonly client: ArchiClient) {}

  private async vote(
    identity: Identity,
    method: 'propose' | 'approve' | 'reject',
    args: Record<string, unknown>,
    what: string,
    opts: GovernanceOptions = {},
  ): Promise<GovernanceResult> {
    const answer = (await this.client.send(
      identity,
      { contract: GOVERNANCE, method, args, gasLimit: opts.gasLimit },
      { wait: true, timeoutMs: opts.timeoutMs },
    )) as CommittedAnswer;
    const r = answer.receipt;
    if (r.status !== 'ok') {
      throw remoteError(r.code, `${what} failed in block ${answer.height}: ${r.message}`);
    }
    return {
      txId: answer.txId,
      height: answer.height,
      proposal: r.result as ProposalJson,
      receipt: r,
    };
  }

  /**
   * Propose a change as an organization admin; the proposer's organization is its first
   * approval (under the ANY policy it executes at once).
   */
  propose(
    identity: Identity,
    kind: GovernanceKind,
    args: Record<string, unknown>,
    opts: GovernanceOptions & { expiresInBlocks?: number } = {},
  ): Promise<GovernanceResult> {
    const call: Record<string, unknown> = { kind, args };
    if (opts.expiresInBlocks !== undefined) call.expiresInBlocks = opts.expiresInBlocks;
    return this.vote(identity, 'propose', call, `propose ${kind}`, opts);
  }

  /** Approve proposal `id` for the identity's organization. */
  approve(identity: Identity, id: number, opts?: GovernanceOptions): Promise<GovernanceResult> {
    return this.vote(identity, 'approve', { id }, `approve proposal ${id}`, opts);
  }

  /** Reject proposal `id` for the identity's organization. */
  reject(identity: Identity, id: number, opts?: GovernanceOptions): Promise<GovernanceResult> {
    return this.vote(identity, 'reject', { id }, `reject proposal ${id}`, opts);
  }

  /** One proposal; NOT_FOUND when there is none. */
  async get(id: number): Promise<ProposalJson> {
    return (await this.client.query(GOVERNANCE, 'get', { id })).result as ProposalJson;
  }

  /** Proposals in id order, optionally only those with `status`. */
  async list(status?: ProposalStatusJson): Promise<ProposalJson[]> {
    const args = status === undefined ? {} : { status };
    return (await this.client.query(GOVERNANCE, 'list', args)).result as ProposalJson[];
  }
}
