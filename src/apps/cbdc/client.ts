/**
 * The cbdc contract through a node's RPC: its methods as txs (waited for) and queries, and
 * the governance decisions (`setRoles`, `setFrozen`) driven as `contract_call` proposals.
 * Contract refusals come back as ArchiErrors with the stable LIMIT_* / CBDC_* code.
 */
import type { ArchiClient } from '../../sdk/client.ts';
import { codedError } from '../../sdk/errors.ts';
import { Governance, type GovernanceResult, type ProposalJson } from '../../sdk/governance.ts';
import type { Identity } from '../../sdk/identity.ts';
import type { ReceiptJson } from '../../sdk/types.ts';
import type { ArchiError } from '../../types/errors.ts';
import { canonicalJson } from '../canonical-json.ts';
import { AppContract, type AppResult, appError, appReceiptError } from '../contract-client.ts';
import { CBDC_CONTRACT } from './app.ts';
import { cbdcErrorOf, DAY_MS, formatFen, type Limits } from './rules.ts';

/** A committed call of the cbdc contract. */
export type CbdcResult<T = any> = AppResult<T>;

/** The stable CBDC/LIMIT error inside a contract revert, else `e` unchanged. */
export function cbdcError(e: unknown): unknown {
  return appError(e, cbdcErrorOf);
}

/** The error of a failed receipt: its CBDC/LIMIT code when the contract refused. */
export function receiptError(r: ReceiptJson, what: string): ArchiError {
  return appReceiptError(r, what, cbdcErrorOf);
}

/** A UTC day number as YYYY-MM-DD. */
export function dayDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** YYYY-MM-DD (or a day number) as a UTC day number. */
export function parseDay(text: string): number {
  if (/^[0-9]{1,6}$/.test(text)) return Number(text);
  const t = Date.parse(`${text}T00:00:00Z`);
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(text) || Number.isNaN(t)) {
    throw codedError('CBDC_INVALID_ARGS', `--day must be YYYY-MM-DD, got ${text}`);
  }
  return t / DAY_MS;
}

/** Limits in yuan for people (null: none). */
export function limitsYuan(l: Limits): Record<string, string | null> {
  const y = (v: number | null) => (v === null ? null : formatFen(v));
  return { balance: y(l.balance), perPayment: y(l.perPayment), perDay: y(l.perDay) };
}

/** A wallet view with amounts in yuan and the day as a date. */
export function walletYuan(w: any): Record<string, unknown> {
  return {
    ...w,
    balance: formatFen(w.balance),
    spentToday: formatFen(w.spentToday),
    day: dayDate(w.day),
    limits: limitsYuan(w.limits),
  };
}

/** The M0 report with amounts in yuan. */
export function reportYuan(r: any): Record<string, unknown> {
  const y = (k: string) => formatFen(r[k]);
  return {
    issued: y('issued'),
    redeemed: y('redeemed'),
    outstanding: y('outstanding'),
    central: y('central'),
    operators: y('operators'),
    wallets: y('wallets'),
    escrowed: y('escrowed'),
    // Absent in reports of a contract version before cross-border payments.
    inTransit: formatFen(r.inTransit ?? 0),
    abroad: formatFen(r.abroad ?? 0),
    conserved: r.conserved,
    height: r.height,
    perOperator: r.perOperator.map((o: any) => ({
      org: o.org,
      reserves: formatFen(o.reserves),
      allocated: formatFen(o.allocated),
      vault: formatFen(o.vault),
      exchanged: formatFen(o.exchanged),
      redeemed: formatFen(o.redeemed),
      wallets: o.wallets,
    })),
  };
}

/** The cbdc contract on one node. */
export class Cbdc extends AppContract {
  constructor(client: ArchiClient, contract = CBDC_CONTRACT) {
    super(client, contract, cbdcErrorOf);
  }

  /** A wallet's view (fen), or CBDC_UNKNOWN_WALLET. */
  async wallet(id: string): Promise<any> {
    const w = await this.query('wallet', { wallet: id });
    if (w === null) throw codedError('CBDC_UNKNOWN_WALLET', `no wallet ${id}`);
    return w;
  }

  /** The roles, or CBDC_NOT_SET_UP. */
  async roles(): Promise<{
    central: string;
    operators: string[];
    regulator: string;
    regulatorKey: string;
    operatorKeys: Record<string, string>;
  }> {
    const r = await this.query('getRoles');
    if (r === null) throw codedError('CBDC_NOT_SET_UP', 'no roles yet: run archi cbdc setup');
    return r;
  }
}

/**
 * Propose (or join an open proposal for) the contract_call `method(args)` and approve it with
 * `admins` until it executes or they run out; a refusal of the call throws its code.
 */
export async function decide(
  client: ArchiClient,
  admins: Identity[],
  method: string,
  args: Record<string, unknown>,
  opts: { timeoutMs?: number; expires?: number; contract?: string } = {},
): Promise<{ proposal: ProposalJson; height: number }> {
  const call = { contract: opts.contract ?? CBDC_CONTRACT, method, args };
  const gov = new Governance(client);
  const open = (await gov.list('pending')).find(
    (p) => p.kind === 'contract_call' && canonicalJson(p.args) === canonicalJson(call),
  );
  let r: GovernanceResult | undefined;
  let p = open;
  try {
    if (!p) {
      r = await gov.propose(admins[0], 'contract_call', call, {
        timeoutMs: opts.timeoutMs,
        expiresInBlocks: opts.expires,
      });
      p = r.proposal;
    }
    for (const admin of admins) {
      if (p.status !== 'pending') break;
      if (p.approvals.includes(admin.org) || p.rejections.includes(admin.org)) continue;
      r = await gov.approve(admin, p.id, { timeoutMs: opts.timeoutMs });
      p = r.proposal;
    }
  } catch (e) {
    throw cbdcError(e);
  }
  return { proposal: p, height: r?.height ?? p.createdAt };
}
