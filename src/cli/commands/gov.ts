/**
 * `archi gov propose|approve|reject|list|show`: on-chain governance of the chain config.
 * Propose, approve and reject send a tx to the native `governance` contract as an
 * organization admin and wait for it; list and show are queries. See docs/GOVERNANCE.md.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  GOVERNANCE_KINDS,
  type GovernanceKind,
  type GovernanceResult,
  Governance,
  PROPOSAL_STATUSES,
  type ProposalJson,
  type ProposalStatusJson,
} from '../../sdk/governance.ts';
import type { ArchiClient } from '../../sdk/client.ts';
import type { ChainConfigJson } from '../../sdk/types.ts';
import { ArchiError } from '../../types/errors.ts';
import { CALL_KINDS, IBC_KINDS, LIFECYCLE_KINDS, policyMet } from '../../types/governance.ts';
import { parseJsonText } from '../../types/json.ts';
import {
  addTargetOptions,
  archiCommand,
  ClientContext,
  cliOutput,
  dirFlag,
  intOption,
  shellWord,
  type TargetFlags,
  addSigningOptions,
} from '../client-context.ts';
import { formatTable } from './client.ts';

const MAX_EXPIRES_IN_BLOCKS = 100_000;

function print(text: string): void {
  cliOutput.write(text.endsWith('\n') ? text : `${text}\n`);
}

function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

function parseId(text: string): number {
  if (!/^[1-9][0-9]{0,14}$/.test(text)) {
    throw new ArchiError('INVALID_ARGS', `proposal id must be a positive integer, got "${text}"`);
  }
  return Number(text);
}

function parseKind(text: string): GovernanceKind {
  // Unknown kinds are left to the contract, which lists the kinds it takes.
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(text)) {
    throw new ArchiError(
      'INVALID_ARGS',
      `proposal kind must be one of ${GOVERNANCE_KINDS.join(', ')}, got "${text}"`,
    );
  }
  return text as GovernanceKind;
}

/** --args as JSON text, or `@FILE` for a file holding it (PEM-laden args, e.g. add_org). */
function parseChange(text: string): Record<string, unknown> {
  if (text.startsWith('@')) {
    try {
      text = readFileSync(text.slice(1), 'utf8');
    } catch (e) {
      throw new ArchiError('INVALID_ARGS', `--args ${text}: ${(e as Error).message}`);
    }
  }
  const args = parseJsonText(text, '--args');
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new ArchiError('INVALID_ARGS', `--args must be a JSON object, got ${text}`);
  }
  return args as Record<string, unknown>;
}

function parseStatus(text: string | undefined): ProposalStatusJson | undefined {
  if (text === undefined) return undefined;
  if (!(PROPOSAL_STATUSES as readonly string[]).includes(text)) {
    throw new ArchiError(
      'INVALID_ARGS',
      `--status must be one of ${PROPOSAL_STATUSES.join(', ')}, got "${text}"`,
    );
  }
  return text as ProposalStatusJson;
}

function formatProposal(p: ProposalJson): string {
  return [
    `id: ${p.id}`,
    `kind: ${p.kind}`,
    `args: ${JSON.stringify(p.args)}`,
    `status: ${p.status}`,
    `proposer: ${p.proposer.org} ${p.proposer.id}`,
    `approvals: ${p.approvals.join(', ') || '-'}`,
    `rejections: ${p.rejections.join(', ') || '-'}`,
    `createdAt: ${p.createdAt}`,
    `expiresAt: ${p.expiresAt}`,
    `closedAt: ${p.closedAt ?? '-'}`,
  ].join('\n');
}

/** The policy a proposal is settled by and how far its approvals are from it. */
export interface PolicyCount {
  policy: string;
  /** Member organizations. */
  orgs: number;
  /** Approvals of current members. */
  approved: number;
  /** Approvals the policy needs (null when no number of members meets it). */
  needed: number | null;
}

/** Count a proposal's approvals against the policy of its kind in `config`. */
export function policyCount(p: ProposalJson, config: ChainConfigJson): PolicyCount {
  const lifecycle = (LIFECYCLE_KINDS as readonly string[]).includes(p.kind);
  const policy = lifecycle ? config.lifecyclePolicy : config.governancePolicy;
  const members = new Set(config.orgs.map((o) => o.id));
  const orgs = members.size;
  const approved = p.approvals.filter((o) => members.has(o)).length;
  let needed: number | null = null;
  for (let k = 1; k <= orgs; k++) {
    if (policyMet(policy, k, orgs)) {
      needed = k;
      break;
    }
  }
  return { policy, orgs, approved, needed };
}

function formatCount(c: PolicyCount): string {
  const need = c.needed === null ? 'cannot be met' : `${c.needed} needed`;
  return `policy ${c.policy}: ${c.approved} of ${c.orgs} orgs approved, ${need}`;
}

/** Args for one line: long strings (PEMs, keys, code) cut to their start, the whole capped. */
function shortJson(value: unknown, max = 160): string {
  const text = JSON.stringify(value, (_k, v) =>
    typeof v === 'string' && v.length > 40 ? `${v.slice(0, 24)}…` : v,
  );
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** When an executed change takes effect (docs/GOVERNANCE.md). */
function takesEffect(p: ProposalJson): string {
  if ([...LIFECYCLE_KINDS, ...IBC_KINDS, ...CALL_KINDS].includes(p.kind as never)) {
    return 'it took effect at once';
  }
  if (p.kind === 'set_validator_power') return 'the new power counts from 2 blocks after this one';
  if (p.kind === 'add_node' && Number(p.args.power) > 0) {
    return 'the node is a member from the next block and votes from 2 blocks after this one';
  }
  return 'it applies from the next block';
}

/** Flags that name the same target again in a suggested command. */
function targetFlags(flags: TargetFlags): string {
  return flags.rpc ? ` --rpc ${shellWord(flags.rpc)}` : dirFlag(flags.dir);
}

/**
 * What `gov propose` says: the proposal, its policy count and what happens next (the
 * command the other organizations run, or that it executed at once).
 */
export function formatProposed(
  r: GovernanceResult,
  count: PolicyCount | undefined,
  config: ChainConfigJson | undefined,
  next: { archi: string; target: string },
): string {
  const p = r.proposal;
  const head = `proposal ${p.id}: ${p.kind} ${shortJson(p.args)} proposed by ${p.proposer.org} in block ${r.height}`;
  if (p.status === 'executed') {
    return `${head} and executed at once (${count ? `policy ${count.policy}` : 'policy met'}); ${takesEffect(p)}.`;
  }
  if (p.status !== 'pending') return `${head}: ${p.status}.`;
  const tally = count ? ` (${formatCount(count)})` : '';
  const voted = new Set([...p.approvals, ...p.rejections]);
  const others = (config?.orgs ?? []).map((o) => o.id).filter((o) => !voted.has(o));
  const who = others.length ? `Others (${others.join(', ')})` : 'Others';
  return [
    `${head}${tally}; open for votes until block ${p.expiresAt}.`,
    `${who} approve with: ${next.archi} gov approve ${p.id} --as ORG/admin${next.target}`,
  ].join('\n');
}

/** The chain config, or undefined when the node does not give it (the vote itself worked). */
async function configOf(client: ArchiClient): Promise<ChainConfigJson | undefined> {
  try {
    return await client.config();
  } catch {
    return undefined;
  }
}

interface VoteFlags extends TargetFlags {
  as: string;
  gas?: number;
  timeout: number;
}

interface ProposeFlags extends VoteFlags {
  args: string;
  expires?: number;
}

function printResult(r: GovernanceResult, flags: TargetFlags, line: string): void {
  if (flags.json) {
    printJson({ txId: r.txId, height: r.height, gasUsed: r.receipt.gasUsed, ...r.proposal });
    return;
  }
  print(line);
}

async function propose(kindText: string, flags: ProposeFlags): Promise<void> {
  // Everything checkable offline is checked before anything is sent.
  const kind = parseKind(kindText);
  const args = parseChange(flags.args);
  const ctx = ClientContext.resolve(flags);
  const { r, config } = await ctx.withNode(async (client) => {
    const identity = ctx.identity(flags.as, await ctx.chainInfo(client));
    const r = await new Governance(client).propose(identity, kind, args, {
      expiresInBlocks: flags.expires,
      gasLimit: flags.gas,
      timeoutMs: flags.timeout,
    });
    return { r, config: flags.json ? undefined : await configOf(client) };
  });
  if (flags.json) return printResult(r, flags, '');
  const text = formatProposed(r, config && policyCount(r.proposal, config), config, {
    archi: archiCommand(),
    target: targetFlags(flags),
  });
  // On a terminal the whole story; piped, stdout holds just the id (so `id=$(archi gov
  // propose ...)` works) and the story goes to stderr.
  if (cliOutput.interactive()) print(text);
  else {
    cliOutput.note(text);
    print(String(r.proposal.id));
  }
}

async function vote(action: 'approve' | 'reject', idText: string, flags: VoteFlags) {
  const id = parseId(idText);
  const ctx = ClientContext.resolve(flags);
  const { r, config } = await ctx.withNode(async (client) => {
    const identity = ctx.identity(flags.as, await ctx.chainInfo(client));
    const r = await new Governance(client)[action](identity, id, {
      gasLimit: flags.gas,
      timeoutMs: flags.timeout,
    });
    return { r, config: flags.json ? undefined : await configOf(client) };
  });
  const p = r.proposal;
  // Once closed the count is history (an executed add_org already counts the new org).
  const tally = config && p.status === 'pending' ? ` (${formatCount(policyCount(p, config))})` : '';
  printResult(
    r,
    flags,
    [
      `${action === 'approve' ? 'approved' : 'rejected'} proposal ${p.id} in block ${r.height}: ${p.status}${tally}`,
      `approvals: ${p.approvals.join(', ') || '-'}`,
      `rejections: ${p.rejections.join(', ') || '-'}`,
      `txId: ${r.txId}`,
    ].join('\n'),
  );
}

/** Adds `archi gov ...` to the program. */
export function register(program: Command): void {
  const gov = program
    .command('gov')
    .description('propose, vote on and inspect on-chain changes to the chain config');

  addSigningOptions(
    gov
      .command('propose')
      .description(
        'propose a change (your organization approves it); says how others approve (piped: prints just its id)',
      )
      .argument('<kind>', `what to change: ${GOVERNANCE_KINDS.join(', ')}`)
      .requiredOption(
        '--args <json>',
        'the change as a JSON object, like {"roles":["admin"]}, or @FILE holding one',
      )
      .option(
        '--expires <blocks>',
        'blocks the proposal stays open for votes (default 100)',
        intOption('--expires', 1, MAX_EXPIRES_IN_BLOCKS),
      ),
  ).action(propose);

  for (const [action, text] of [
    ['approve', 'approve a proposal for your organization (executes it once the policy is met)'],
    ['reject', 'reject a proposal for your organization'],
  ] as const) {
    addSigningOptions(gov.command(action).description(text).argument('<id>', 'proposal id')).action(
      (id: string, flags: VoteFlags) => vote(action, id, flags),
    );
  }

  addTargetOptions(
    gov
      .command('list')
      .description('proposals, oldest first')
      .option('--status <status>', `only these: ${PROPOSAL_STATUSES.join(', ')}`),
  ).action(async (flags: TargetFlags & { status?: string }) => {
    const status = parseStatus(flags.status);
    const list = await ClientContext.resolve(flags).withNode((c) => new Governance(c).list(status));
    if (flags.json) {
      printJson(list);
      return;
    }
    if (list.length === 0) {
      print(status ? `no ${status} proposals` : 'no proposals');
      return;
    }
    print(
      formatTable(
        ['ID', 'KIND', 'STATUS', 'APPROVALS', 'REJECTIONS', 'EXPIRES AT', 'ARGS'],
        list.map((p) => [
          String(p.id),
          p.kind,
          p.status,
          p.approvals.join(',') || '-',
          p.rejections.join(',') || '-',
          String(p.expiresAt),
          JSON.stringify(p.args),
        ]),
      ),
    );
  });

  addTargetOptions(
    gov.command('show').description('one proposal').argument('<id>', 'proposal id'),
  ).action(async (idText: string, flags: TargetFlags) => {
    const id = parseId(idText);
    const p = await ClientContext.resolve(flags).withNode((c) => new Governance(c).get(id));
    if (flags.json) printJson(p);
    else print(formatProposal(p));
  });
}
