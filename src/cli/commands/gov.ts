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
import { ArchiError } from '../../types/errors.ts';
import { parseJsonText } from '../../types/json.ts';
import {
  addTargetOptions,
  ClientContext,
  cliOutput,
  intOption,
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
  const r = await ctx.withNode(async (client) => {
    const identity = ctx.identity(flags.as, await ctx.chainInfo(client));
    return new Governance(client).propose(identity, kind, args, {
      expiresInBlocks: flags.expires,
      gasLimit: flags.gas,
      timeoutMs: flags.timeout,
    });
  });
  printResult(r, flags, String(r.proposal.id));
}

async function vote(action: 'approve' | 'reject', idText: string, flags: VoteFlags) {
  const id = parseId(idText);
  const ctx = ClientContext.resolve(flags);
  const r = await ctx.withNode(async (client) => {
    const identity = ctx.identity(flags.as, await ctx.chainInfo(client));
    return new Governance(client)[action](identity, id, {
      gasLimit: flags.gas,
      timeoutMs: flags.timeout,
    });
  });
  const p = r.proposal;
  printResult(
    r,
    flags,
    [
      `${action === 'approve' ? 'approved' : 'rejected'} proposal ${p.id} in block ${r.height}: ${p.status}`,
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
      .description('propose a change (your organization approves it) and print its id')
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
