/**
 * `archi ibc connect|transfer|packets|clients` (docs/INTERCHAIN.md). `connect` makes the two
 * light clients of a pair of chains by governance (`ibc_create_client`, each client named
 * after the other chain's id), driving the proposal and its votes with the admins the
 * network directory holds, or writing the proposal for the admins of a network it does not
 * hold. `transfer` sends tokens to another chain (`token.sendTransfer`) and may wait until a
 * relayer settled the packet; `packets` and `clients` read the `ibc` contract.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { getProfile } from '../../crypto/profile.ts';
import type { ArchiClient } from '../../sdk/client.ts';
import { Governance, type GovernanceKind, type GovernanceResult } from '../../sdk/governance.ts';
import {
  allPendingPackets,
  createClientArgs,
  getClient,
  getSettled,
  type IbcClientView,
  type IbcPacket,
  type IbcSettled,
  listClients,
  nextSequence,
  waitForSettlement,
} from '../../sdk/ibc.ts';
import { remoteError } from '../../sdk/errors.ts';
import type { Identity } from '../../sdk/identity.ts';
import type { CommittedAnswer } from '../../sdk/types.ts';
import { ArchiError } from '../../types/errors.ts';
import { homeOf, shortOf, voucherOf } from '../../vm/native/denom.ts';
import { CLIENT_ID } from '../../vm/native/ibc/keys.ts';
import {
  addSigningOptions,
  addTargetOptions,
  archiCommand,
  cliOutput,
  intOption,
  shellWord,
  type TargetFlags,
  ClientContext,
} from '../client-context.ts';
import { formatTable } from './client.ts';
import { parseSide, type ResolvedSide, resolveSide } from '../chain-side.ts';

function print(text: string): void {
  cliOutput.write(text.endsWith('\n') ? text : `${text}\n`);
}

function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

const DAY_MS = 86_400_000;

/** Parses a duration: a number of ms, or N followed by ms, s, m, h or d. */
export function parseDuration(text: string, flag: string): number {
  const m = /^([0-9]{1,12})(ms|s|m|h|d)?$/.exec(String(text).trim());
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS } as const;
  const n = m ? Number(m[1]) * unit[(m[2] ?? 'ms') as keyof typeof unit] : Number.NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new ArchiError(
      'INVALID_ARGS',
      `${flag} must be a duration like 14d, 12h or 90000 (ms), got "${text}"`,
    );
  }
  return n;
}

/** The client id of the client that tracks `chainId`: the chain id, lower-cased (client ids are). */
export function clientIdFor(chainId: string): string {
  const id = chainId.toLowerCase();
  if (!CLIENT_ID.test(id)) {
    throw new ArchiError(
      'INVALID_ARGS',
      `chain id ${chainId} makes no client id (${CLIENT_ID.source})`,
    );
  }
  return id;
}

// ---------------------------------------------------------------- connect

/** What `connect` did on one side. */
export interface ConnectSide {
  chain: string;
  clientId: string;
  counterpartyClientId: string;
  /** created: by the votes of this directory's admins; exists: it was there already; proposed: votes missing; printed: written for others. */
  status: 'created' | 'exists' | 'proposed' | 'printed';
  proposalId?: number;
  /** The proposal's args file (printed). */
  file?: string;
  /** Organizations whose approval is still missing (proposed). */
  missing?: string[];
  latestHeight?: number;
}

interface ConnectFlags {
  a: string;
  b: string;
  trustingPeriod: string;
  maxClockDrift: string;
  print?: boolean;
  timeout: number;
  json?: boolean;
}

/** The admins of `side`'s directory whose organizations are members of its chain. */
async function localAdmins(side: ResolvedSide, client: ArchiClient): Promise<Identity[]> {
  const members = new Set((await client.config()).orgs.map((o) => o.id));
  const out: Identity[] = [];
  for (const spec of side.ctx.knownIdentities(side.info.crypto)) {
    const [org, user] = spec.split('/');
    if (user !== 'admin' || !members.has(org)) continue;
    try {
      out.push(side.ctx.identity(spec, side.info));
    } catch {
      // a half-made identity directory is no admin to vote with
    }
  }
  return out;
}

async function connectSide(
  here: ResolvedSide,
  there: ResolvedSide,
  flags: ConnectFlags,
  trustingPeriodMs: number,
  maxClockDriftMs: number,
): Promise<ConnectSide> {
  const clientId = clientIdFor(there.info.chainId);
  const counterpartyClientId = clientIdFor(here.info.chainId);
  const base = { chain: here.info.chainId, clientId, counterpartyClientId };
  const existing = await here.ctx.withNode(async (c) => {
    try {
      return await getClient(c, clientId);
    } catch (e) {
      if (e instanceof ArchiError && e.code === 'IBC_CLIENT_NOT_FOUND') return undefined;
      throw e;
    }
  });
  if (existing) {
    if (
      existing.chainId !== there.info.chainId ||
      existing.counterpartyClientId !== counterpartyClientId
    ) {
      throw new ArchiError(
        'IBC_CLIENT_EXISTS',
        `chain ${here.info.chainId} has a client ${clientId} of chain ${existing.chainId} (counterparty ${existing.counterpartyClientId}), not of ${there.info.chainId} (counterparty ${counterpartyClientId})`,
      );
    }
    return { ...base, status: 'exists', latestHeight: existing.latestHeight };
  }
  const args = await there.ctx.withNode((c) =>
    createClientArgs(c, { clientId, counterpartyClientId, trustingPeriodMs, maxClockDriftMs }),
  );
  return here.ctx.withNode(async (client) => {
    const admins = flags.print ? [] : await localAdmins(here, client);
    if (admins.length === 0) {
      const dir = join(here.ctx.dir, 'ibc');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `create-client-${clientId}.json`);
      writeFileSync(file, `${JSON.stringify(args, null, 2)}\n`);
      return { ...base, status: 'printed', file };
    }
    const gov = new Governance(client);
    const kind: GovernanceKind = 'ibc_create_client';
    let r: GovernanceResult = await gov.propose(
      admins[0],
      kind,
      args as unknown as Record<string, unknown>,
      {
        timeoutMs: flags.timeout,
      },
    );
    for (const admin of admins.slice(1)) {
      if (r.proposal.status !== 'pending') break;
      if (r.proposal.approvals.includes(admin.org)) continue;
      r = await gov.approve(admin, r.proposal.id, { timeoutMs: flags.timeout });
    }
    if (r.proposal.status === 'executed') {
      const made = await getClient(client, clientId);
      return {
        ...base,
        status: 'created',
        proposalId: r.proposal.id,
        latestHeight: made.latestHeight,
      };
    }
    if (r.proposal.status !== 'pending') {
      throw new ArchiError(
        'IBC_CLIENT_NOT_FOUND',
        `proposal ${r.proposal.id} to create client ${clientId} on ${here.info.chainId} is ${r.proposal.status}`,
      );
    }
    const voted = new Set([...r.proposal.approvals, ...r.proposal.rejections]);
    const missing = (await client.config()).orgs.map((o) => o.id).filter((o) => !voted.has(o));
    return { ...base, status: 'proposed', proposalId: r.proposal.id, missing };
  });
}

function connectText(sides: ConnectSide[], dirs: string[]): string {
  const lines: string[] = [];
  sides.forEach((s, i) => {
    const head = `${s.chain}: client ${s.clientId} (follows the other chain, whose client of this one is ${s.counterpartyClientId})`;
    if (s.status === 'exists')
      lines.push(`${head} exists already (latest height ${s.latestHeight})`);
    else if (s.status === 'created')
      lines.push(`${head} created by proposal ${s.proposalId} (trusts height ${s.latestHeight})`);
    else if (s.status === 'proposed') {
      lines.push(
        `${head}: proposal ${s.proposalId} awaits votes of ${s.missing?.join(', ') || 'more organizations'}:`,
        `  ${archiCommand()} gov approve ${s.proposalId} --as ORG/admin --dir ${shellWord(dirs[i])}`,
      );
    } else {
      lines.push(
        `${head}: no admin of the chain in ${dirs[i]}; the proposal is in ${s.file}. An admin of the chain proposes it with:`,
        `  ${archiCommand()} gov propose ibc_create_client --args @${shellWord(s.file ?? '')} --as ORG/admin`,
      );
    }
  });
  const done = sides.every((s) => s.status === 'created' || s.status === 'exists');
  lines.push(
    done
      ? `connected; relay with: ${archiCommand()} relay start --a ${shellWord(dirs[0])} --b ${shellWord(dirs[1])}`
      : 'not connected yet: once both clients exist, run archi ibc connect again to check',
  );
  return lines.join('\n');
}

async function connect(flags: ConnectFlags): Promise<void> {
  const trustingPeriodMs = parseDuration(flags.trustingPeriod, '--trusting-period');
  const maxClockDriftMs = parseDuration(flags.maxClockDrift, '--max-clock-drift');
  const specA = parseSide(flags.a, '--a');
  const specB = parseSide(flags.b, '--b');
  const [a, b] = await Promise.all([resolveSide(specA), resolveSide(specB)]);
  if (a.info.chainId === b.info.chainId) {
    throw new ArchiError('INVALID_ARGS', `--a and --b are both chain ${a.info.chainId}`);
  }
  const onA = await connectSide(a, b, flags, trustingPeriodMs, maxClockDriftMs);
  const onB = await connectSide(b, a, flags, trustingPeriodMs, maxClockDriftMs);
  const dirs = [
    specA.chain ? `${specA.dir}:${specA.chain}` : specA.dir,
    specB.chain ? `${specB.dir}:${specB.chain}` : specB.dir,
  ];
  if (flags.json) printJson({ a: onA, b: onB });
  else print(connectText([onA, onB], dirs));
}

// ---------------------------------------------------------------- transfer

interface TransferFlags extends TargetFlags {
  as: string;
  gas?: number;
  timeout: number;
  toChain: string;
  receiver: string;
  amount: string;
  denom?: string;
  timeoutBlocks?: number;
  timeoutSeconds?: number;
  memo?: string;
  wait?: boolean;
  waitTimeout: number;
}

/** The client on this chain that tracks `chainId` (the one named after it when several do). */
export async function clientOf(client: ArchiClient, chainId: string): Promise<IbcClientView> {
  const all = (await listClients(client)).filter((c) => c.chainId === chainId);
  if (all.length === 0) {
    throw new ArchiError(
      'IBC_CLIENT_NOT_FOUND',
      `this chain has no client of chain ${chainId}: connect them first (${archiCommand()} ibc connect --a DIR --b DIR)`,
    );
  }
  const named = all.find((c) => c.clientId === chainId.toLowerCase());
  return named ?? all[0];
}

/** The denomination a transfer of `full` through `client` has on the destination. */
export function destDenomOf(full: string, client: IbcClientView): string {
  return homeOf(full, client.clientId) ?? voucherOf(client.counterpartyClientId, full);
}

/** `ibc/HEX` of a voucher's full name under a chain's profile (what its short form is). */
export function shortDenom(full: string, profile: 'standard' | 'gm'): string {
  return shortOf(getProfile(profile).hash, full);
}

/** acked, refunded (the receiver answered an error) or timed-out. */
export function transferStatus(s: IbcSettled): 'acked' | 'refunded' | 'timed-out' {
  if (s.status === 'timed-out') return 'timed-out';
  return s.ack && 'error' in s.ack ? 'refunded' : 'acked';
}

async function transfer(flags: TransferFlags): Promise<void> {
  if (!/^[1-9][0-9]{0,38}$/.test(flags.amount)) {
    throw new ArchiError(
      'INVALID_ARGS',
      `--amount must be a positive integer, got "${flags.amount}"`,
    );
  }
  if (flags.timeoutBlocks !== undefined && flags.timeoutSeconds !== undefined) {
    // Both may be set on chain; the flags stay one or the other so the outcome is plain.
    throw new ArchiError('INVALID_ARGS', 'use --timeout-blocks or --timeout-seconds, not both');
  }
  const ctx = ClientContext.resolve(flags);
  const out = await ctx.withNode(async (client) => {
    const info = await ctx.chainInfo(client);
    const sender = ctx.identity(flags.as, info);
    const ibcClient = await clientOf(client, flags.toChain);
    const args: Record<string, unknown> = {
      client: ibcClient.clientId,
      receiver: flags.receiver,
      amount: flags.amount,
    };
    if (flags.denom !== undefined) args.denom = flags.denom;
    if (flags.memo !== undefined) args.memo = flags.memo;
    if (flags.timeoutBlocks !== undefined) {
      args.timeoutHeight = ibcClient.latestHeight + flags.timeoutBlocks;
    } else {
      args.timeoutTime = Date.now() + (flags.timeoutSeconds ?? 600) * 1000;
    }
    const answer = (await client.send(
      sender,
      { contract: 'token', method: 'sendTransfer', args, gasLimit: flags.gas },
      { wait: true, timeoutMs: flags.timeout },
    )) as CommittedAnswer;
    const r = answer.receipt;
    if (r.status !== 'ok') {
      throw remoteError(r.code, `sendTransfer failed in block ${answer.height}: ${r.message}`);
    }
    // The token contract answers the denomination's full name, whatever form --denom took.
    const sent = r.result as { sequence?: unknown; denom?: unknown };
    const sequence = Number(sent?.sequence);
    if (!Number.isSafeInteger(sequence) || sequence < 1) {
      throw new ArchiError(
        'INTERNAL',
        `sendTransfer committed in block ${answer.height} without a sequence`,
      );
    }
    const full = typeof sent?.denom === 'string' ? sent.denom : (flags.denom ?? info.chainId);
    let destDenom = destDenomOf(full, ibcClient);
    const result: Record<string, unknown> = {
      txId: answer.txId,
      height: answer.height,
      sequence,
      sourceClient: ibcClient.clientId,
      destClient: ibcClient.counterpartyClientId,
      toChain: ibcClient.chainId,
      receiver: flags.receiver,
      amount: flags.amount,
      denom: full,
      timeoutHeight: (args.timeoutHeight as number | undefined) ?? 0,
      timeoutTime: (args.timeoutTime as number | undefined) ?? 0,
      status: 'pending',
    };
    if (flags.wait) {
      const s = await waitForSettlement(client, ibcClient.clientId, sequence, {
        timeoutMs: flags.waitTimeout,
      });
      result.status = transferStatus(s);
      result.settledAt = s.height;
      if (s.ack) result.ack = s.ack;
      const acked = s.ack && 'result' in s.ack ? (s.ack.result as { denom?: unknown }) : undefined;
      if (typeof acked?.denom === 'string') destDenom = acked.denom;
    }
    result.destDenom = destDenom;
    if (destDenom.startsWith('transfer/'))
      result.destDenomShort = shortDenom(destDenom, ibcClient.profile);
    return result;
  });
  if (flags.json) {
    printJson(out);
    return;
  }
  const lines = [
    `sent ${out.amount} ${out.denom} to ${out.receiver} on ${out.toChain}: packet ${out.sourceClient}/${out.sequence} in block ${out.height}`,
    `on ${out.toChain} it is ${out.destDenom}${out.destDenomShort ? ` (${out.destDenomShort})` : ''}`,
  ];
  if (out.status === 'pending') {
    lines.push(
      `a relayer delivers it (${archiCommand()} relay start); follow it with ${archiCommand()} ibc packets`,
    );
  } else {
    lines.push(
      `status: ${out.status} (block ${out.settledAt})${out.ack && (out.ack as { error?: string }).error ? `: ${(out.ack as { error: string }).error}` : ''}`,
    );
  }
  print(lines.join('\n'));
}

// ---------------------------------------------------------------- packets, clients

interface PacketsFlags extends TargetFlags {
  client?: string;
  limit: number;
}

/** A settled packet as `ibc packets` lists it. */
export interface SettledRow {
  client: string;
  sequence: number;
  height: number;
  ack?: unknown;
}

async function packets(flags: PacketsFlags): Promise<void> {
  const ctx = ClientContext.resolve(flags);
  const out = await ctx.withNode(async (client) => {
    const clients = flags.client
      ? [await getClient(client, flags.client)]
      : await listClients(client);
    const pending: Array<IbcPacket & { client: string }> = [];
    const acked: SettledRow[] = [];
    const refunded: SettledRow[] = [];
    const timedOut: SettledRow[] = [];
    for (const c of clients) {
      const page = await allPendingPackets(client, c.clientId);
      for (const p of page.packets) pending.push({ client: c.clientId, ...p });
      const next = await nextSequence(client, c.clientId);
      const from = Math.max(1, next - flags.limit);
      for (let seq = from; seq < next; seq++) {
        const s = await getSettled(client, c.clientId, seq);
        if (!s) continue;
        const row: SettledRow = { client: c.clientId, sequence: seq, height: s.height };
        if (s.ack) row.ack = s.ack;
        const status = transferStatus(s);
        (status === 'timed-out' ? timedOut : status === 'refunded' ? refunded : acked).push(row);
      }
    }
    return { pending, acked, refunded, timedOut };
  });
  if (flags.json) {
    printJson(out);
    return;
  }
  const rows: string[][] = [
    ...out.pending.map((p) => [
      p.client,
      String(p.sequence),
      'pending',
      `${p.sourcePort}->${p.destPort}`,
      p.timeoutHeight
        ? `height ${p.timeoutHeight}`
        : `time ${new Date(p.timeoutTime).toISOString()}`,
    ]),
    ...out.acked.map((s) => [s.client, String(s.sequence), 'acked', `block ${s.height}`, '']),
    ...out.refunded.map((s) => [
      s.client,
      String(s.sequence),
      'error ack',
      `block ${s.height}`,
      JSON.stringify(s.ack),
    ]),
    ...out.timedOut.map((s) => [
      s.client,
      String(s.sequence),
      'timed out',
      `block ${s.height}`,
      '',
    ]),
  ].sort((x, y) => (x[0] === y[0] ? Number(x[1]) - Number(y[1]) : x[0] < y[0] ? -1 : 1));
  print(
    rows.length ? formatTable(['CLIENT', 'SEQ', 'STATUS', 'WHERE', 'DETAIL'], rows) : 'no packets',
  );
}

async function clients(flags: TargetFlags): Promise<void> {
  const list = await ClientContext.resolve(flags).withNode((c) => listClients(c));
  if (flags.json) {
    printJson(list);
    return;
  }
  print(
    list.length
      ? formatTable(
          ['CLIENT', 'CHAIN', 'PROFILE', 'COUNTERPARTY', 'LATEST', 'STATUS'],
          list.map((c) => [
            c.clientId,
            c.chainId,
            c.profile,
            c.counterpartyClientId,
            String(c.latestHeight),
            c.status ?? '-',
          ]),
        )
      : `no clients (connect two chains with ${archiCommand()} ibc connect --a DIR --b DIR)`,
  );
}

/** Adds `archi ibc ...` to the program. */
export function register(program: Command): void {
  const ibc = program
    .command('ibc')
    .description('interchain: connect chains, send tokens across, follow packets');

  ibc
    .command('connect')
    .description(
      "create the two light clients of a pair of chains by governance (client id: the other chain's id); votes with the admins in each directory, else writes the proposal for the chain's admins",
    )
    .requiredOption(
      '--a <dir[:chain]>',
      'one side: a network directory, and the chain when not its first',
    )
    .requiredOption('--b <dir[:chain]>', 'the other side')
    .option(
      '--trusting-period <duration>',
      'how long a verified header is trusted (14d, 12h, ms)',
      '14d',
    )
    .option(
      '--max-clock-drift <duration>',
      'how far a header may be ahead of the chain clock',
      '10s',
    )
    .option('--print', 'only write the proposals, even where this directory holds admins')
    .option(
      '--timeout <ms>',
      'how long to wait for each vote to commit',
      intOption('--timeout', 1, 300_000),
      30_000,
    )
    .option('--json', 'machine-readable output')
    .action(connect);

  addSigningOptions(
    ibc
      .command('transfer')
      .description(
        'send tokens to another chain (token.sendTransfer); --wait follows the packet until a relayer settled it',
      )
      .requiredOption(
        '--to-chain <id>',
        'the destination chain id (a client of it must exist here)',
      )
      .requiredOption(
        '--receiver <address>',
        'the receiver on the destination (archi id show --address there)',
      )
      .requiredOption('--amount <n>', 'how much')
      .option(
        '--denom <denom>',
        "denomination (default: this chain's own; a voucher by full name or ibc/HEX)",
      )
      .option(
        '--timeout-blocks <n>',
        "time out at the client's latest height of the destination plus N",
        intOption('--timeout-blocks', 1, 1_000_000_000),
      )
      .option(
        '--timeout-seconds <s>',
        'time out at the destination block time now + S (default 600 without --timeout-blocks)',
        intOption('--timeout-seconds', 1, 31_536_000),
      )
      .option('--memo <text>', 'memo carried with the packet')
      .option('--wait', 'wait until the packet is acked, refunded or timed out')
      .option(
        '--wait-timeout <ms>',
        'how long --wait waits',
        intOption('--wait-timeout', 1, 86_400_000),
        120_000,
      ),
    'identity that sends (its balance pays)',
  ).action(transfer);

  addTargetOptions(
    ibc
      .command('packets')
      .description("this chain's packets: pending, acked (or answered with an error) and timed out")
      .option('--client <id>', 'only the packets sent through this client')
      .option(
        '--limit <n>',
        'settled packets looked at per client (the latest)',
        intOption('--limit', 1, 10_000),
        100,
      ),
  ).action(packets);

  addTargetOptions(
    ibc.command('clients').description("this chain's light clients of other chains"),
  ).action(clients);
}
