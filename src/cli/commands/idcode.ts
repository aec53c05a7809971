/**
 * `archi idcode ...`: city identifier codes (docs/apps/idcode.md) on the `idcode` contract.
 * `root` drives the governance proposal that hands a root to an organization (voting with a
 * local network's admins, or printing the proposal for a real network's); register, update,
 * delegate, reclaim and revoke send a tx and wait; resolve (optionally proven against a header
 * verified from the genesis validators), children, history, roots and search are queries;
 * bulk issues a CSV file's codes in batches with progress. Refusals print their stable
 * IDCODE_* code and exit 1.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type BulkResult, bulkRegister, parseCodesCsv } from '../../apps/idcode/bulk.ts';
import { Idcode, idcodeError, type ProvenCode, rootProposal } from '../../apps/idcode/client.ts';
import type { CodeView } from '../../apps/idcode/rules.ts';
import { getProfile } from '../../crypto/profile.ts';
import type { ArchiClient } from '../../sdk/client.ts';
import { codedError } from '../../sdk/errors.ts';
import { Governance, type GovernanceResult, type ProposalJson } from '../../sdk/governance.ts';
import { LightClient } from '../../sdk/light-client.ts';
import { ArchiError } from '../../types/errors.ts';
import { parseJsonText } from '../../types/json.ts';
import {
  addSigningOptions,
  addTargetOptions,
  archiCommand,
  ClientContext,
  cliOutput,
  dirFlag,
  intOption,
  shellWord,
  type TargetFlags,
} from '../client-context.ts';
import { localAdmins } from '../local-admins.ts';
import { formatTable } from './client.ts';
import { canonicalJson } from '../../apps/canonical-json.ts';

function print(text: string): void {
  cliOutput.write(text.endsWith('\n') ? text : `${text}\n`);
}

function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

interface SignFlags extends TargetFlags {
  as: string;
  timeout: number;
}

/** `--metadata` as a JSON object. */
function metadataFlag(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  const v = parseJsonText(text, '--metadata');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw codedError('IDCODE_INVALID_ARGS', `--metadata must be a JSON object, got ${text}`);
  }
  return v as Record<string, unknown>;
}

function formatCode(c: CodeView): string {
  return [
    `code: ${c.code}`,
    `name: ${c.name}`,
    `kind: ${c.kind}`,
    `owner: ${c.owner}`,
    `status: ${c.status}${c.revokedVia && c.revokedVia !== c.code ? ` (under revoked ${c.revokedVia})` : ''}`,
    `delegate: ${c.delegate ?? '-'}`,
    `issuers: ${c.issuers.join(', ') || '-'}`,
    `issuer: ${c.issuer}`,
    `parent: ${c.parent ?? '-'}`,
    `metadata: ${c.metadata === null ? '-' : JSON.stringify(c.metadata)}`,
    `children: ${c.children}`,
    `createdAt: ${c.createdAt}  updatedAt: ${c.updatedAt}${c.revokedAt === null ? '' : `  revokedAt: ${c.revokedAt}`}`,
  ].join('\n');
}

/** Send one idcode tx as --as and print the code after it. */
async function write(method: string, args: Record<string, unknown>, flags: SignFlags) {
  const ctx = ClientContext.resolve(flags);
  const r = await ctx.withNode(async (client) => {
    const identity = ctx.identity(flags.as, await ctx.chainInfo(client));
    return new Idcode(client).send(identity, method, args, { timeoutMs: flags.timeout });
  });
  if (flags.json) {
    printJson({ txId: r.txId, height: r.height, ...r.code });
    return;
  }
  const past: Record<string, string> = {
    register: 'issued',
    update: 'updated',
    delegate: 'delegated',
    reclaim: 'took back',
    revoke: 'revoked',
  };
  print(`${past[method] ?? method} ${r.code.code} in block ${r.height} (tx ${r.txId})`);
  print(formatCode(r.code));
}

/** A light client trusting the genesis validators of the context's chain. */
function genesisLight(ctx: ClientContext, crypto: 'standard' | 'gm'): LightClient {
  const path = ctx.genesisPath();
  let g: { chainId?: unknown; validators?: unknown };
  try {
    g = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ArchiError(
      'BAD_REQUEST',
      `--prove trusts the chain's genesis validators, but ${path} cannot be read (${(e as Error).message}); pass the network's --dir`,
    );
  }
  if (typeof g.chainId !== 'string' || !Array.isArray(g.validators)) {
    throw new ArchiError('CONFIG_INVALID', `${path} has no chainId and validators`);
  }
  return new LightClient(getProfile(crypto), g.chainId, { height: 1, validators: g.validators });
}

interface ResolveFlags extends TargetFlags {
  prove?: boolean;
}

async function resolveCode(code: string, flags: ResolveFlags): Promise<void> {
  const ctx = ClientContext.resolve(flags);
  const out = await ctx.withNode(
    async (client): Promise<ProvenCode | { code: CodeView | null }> => {
      const idcode = new Idcode(client);
      if (!flags.prove) return { code: await idcode.resolve(code) };
      const info = await ctx.chainInfo(client);
      return idcode.resolveProven(code, genesisLight(ctx, info.crypto));
    },
  );
  const proof = 'verified' in out ? out.verified : undefined;
  if (out.code === null) {
    const at = proof ? ` (proven absent at height ${proof.height})` : '';
    throw codedError('IDCODE_NOT_FOUND', `${code} is not issued${at}`);
  }
  if (flags.json) {
    printJson(
      proof
        ? {
            ...out.code,
            verified: true,
            height: proof.height,
            stateRoot: proof.stateRoot,
            blockHash: proof.blockHash,
          }
        : out.code,
    );
    return;
  }
  print(formatCode(out.code));
  if (proof) {
    print(
      `verified: true (height ${proof.height}, state root ${proof.stateRoot.slice(0, 16)}…, header signed by the genesis validators)`,
    );
  }
}

interface PageFlags extends TargetFlags {
  page: number;
}

async function children(code: string, flags: PageFlags): Promise<void> {
  const ctx = ClientContext.resolve(flags);
  const p = await ctx.withNode((c) => new Idcode(c).children(code, flags.page));
  if (flags.json) {
    printJson(p);
    return;
  }
  const from = p.page * p.pageSize;
  const last = Math.max(0, Math.ceil(p.total / p.pageSize) - 1);
  const shown =
    p.children.length > 0
      ? `; ${from + 1}..${from + p.children.length} on page ${p.page} (pages 0..${last})`
      : p.total > 0
        ? `; page ${p.page} is past the last (${last})`
        : '';
  print(`${p.code}: ${p.total} children${shown}`);
  if (p.children.length > 0) {
    print(
      formatTable(
        ['CODE', 'NAME', 'KIND', 'OWNER', 'STATUS', 'CHILDREN'],
        p.children.map((k) => [k.code, k.name, k.kind, k.owner, k.status, String(k.children)]),
      ),
    );
  }
}

async function history(code: string, flags: PageFlags): Promise<void> {
  const ctx = ClientContext.resolve(flags);
  const p = await ctx.withNode((c) => new Idcode(c).history(code, flags.page));
  if (flags.json) {
    printJson(p);
    return;
  }
  print(`${p.code}: ${p.total} changes`);
  print(
    formatTable(
      ['HEIGHT', 'ACTION', 'ORG', 'BY', 'DATA'],
      p.entries.map((e) => [
        String(e.height),
        e.action,
        e.org || '-',
        e.by,
        JSON.stringify(e.data),
      ]),
    ),
  );
}

interface RootFlags extends TargetFlags {
  to: string;
  name?: string;
  as?: string;
  print?: boolean;
  expires?: number;
  timeout: number;
}

/** Flags that name the same target again in a suggested command. */
function targetFlags(flags: TargetFlags): string {
  const chain = flags.chain ? ` --chain ${shellWord(flags.chain)}` : '';
  return (flags.rpc ? ` --rpc ${shellWord(flags.rpc)}` : dirFlag(flags.dir)) + chain;
}

/** Propose (or join) the contract_call that sets the root, and vote with the local admins. */
async function root(code: string, flags: RootFlags): Promise<void> {
  const args = rootProposal(code, flags.to, flags.name);
  const ctx = ClientContext.resolve(flags);
  const next = { archi: archiCommand(), target: targetFlags(flags) };
  const proposeCmd = `${next.archi} gov propose contract_call --args ${shellWord(JSON.stringify(args))} --as ORG/admin${next.target}`;
  const r = await ctx.withNode(async (client) => {
    // Checked here too, so that a typo leaves no proposal that can never execute.
    if (!(await client.config()).orgs.some((o) => o.id === flags.to)) {
      throw codedError('IDCODE_UNKNOWN_ORG', `${flags.to} is not an organization of this chain`);
    }
    const admins = flags.print ? [] : await localAdmins(ctx, client, flags.as);
    if (admins.length === 0) return undefined;
    return voteRoot(client, args, admins, flags);
  });
  if (!r) {
    if (flags.json) printJson({ status: 'printed', proposal: { kind: 'contract_call', args } });
    else {
      print(
        `the owner of root ${code} is set by a governance decision; an admin of the chain proposes it with:\n  ${proposeCmd}\nand the other organizations approve: ${next.archi} gov approve ID --as ORG/admin${next.target}`,
      );
    }
    return;
  }
  const p = r.proposal;
  if (flags.json) {
    printJson({ status: p.status, proposal: p, height: r.height });
  } else if (p.status === 'executed') {
    print(`root ${code} belongs to ${flags.to}: proposal ${p.id} executed in block ${r.height}`);
  } else {
    print(
      `proposal ${p.id} (root ${code} to ${flags.to}) awaits more approvals (${p.approvals.join(', ')} approved):\n  ${next.archi} gov approve ${p.id} --as ORG/admin${next.target}`,
    );
  }
  if (p.status !== 'executed' && p.status !== 'pending') {
    throw new ArchiError('POLICY_NOT_MET', `proposal ${p.id} is ${p.status}`);
  }
}

async function voteRoot(
  client: ArchiClient,
  args: Record<string, unknown>,
  admins: Awaited<ReturnType<typeof localAdmins>>,
  flags: RootFlags,
): Promise<{ proposal: ProposalJson; height: number }> {
  const gov = new Governance(client);
  const opts = { timeoutMs: flags.timeout };
  // An open proposal for the same root (an earlier run short of votes) is joined, not repeated.
  const open = (await gov.list('pending')).find(
    (p) => p.kind === 'contract_call' && canonicalJson(p.args) === canonicalJson(args),
  );
  let r: GovernanceResult | undefined;
  let p = open;
  try {
    if (!p) {
      r = await gov.propose(admins[0], 'contract_call', args, {
        ...opts,
        expiresInBlocks: flags.expires,
      });
      p = r.proposal;
    }
    for (const admin of admins) {
      if (p.status !== 'pending') break;
      if (p.approvals.includes(admin.org) || p.rejections.includes(admin.org)) continue;
      r = await gov.approve(admin, p.id, opts);
      p = r.proposal;
    }
  } catch (e) {
    // setRoot's refusal comes back in the executing vote's receipt.
    throw idcodeError(e);
  }
  return { proposal: p, height: r?.height ?? p.createdAt };
}

interface BulkFlags extends SignFlags {
  batch: number;
}

async function bulk(file: string, flags: BulkFlags): Promise<void> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ArchiError('BAD_REQUEST', `cannot read ${file}: ${(e as Error).message}`);
  }
  const rows = parseCodesCsv(text);
  const ctx = ClientContext.resolve(flags);
  let shown = 0;
  const r: BulkResult = await ctx.withNode(async (client) => {
    const identity = ctx.identity(flags.as, await ctx.chainInfo(client));
    return bulkRegister(client, identity, rows, {
      batchSize: flags.batch,
      timeoutMs: Math.max(flags.timeout, 120_000),
      onProgress: (p) => {
        // A line per tenth (and the last), on stderr so that --json stays parseable.
        const step = Math.floor((p.done * 10) / p.total);
        if (step > shown || p.done === p.total) {
          shown = step;
          cliOutput.note(`progress: ${p.done}/${p.total} settled, ${p.failed} refused`);
        }
      },
    });
  });
  if (flags.json) printJson(r);
  else {
    print(`issued ${r.issued} of ${r.total} codes from ${file}`);
    for (const f of r.failed.slice(0, 20))
      print(`  line ${f.line} ${f.code}: ${f.error}: ${f.message}`);
    if (r.failed.length > 20) print(`  ... and ${r.failed.length - 20} more refused`);
  }
  if (r.failed.length > 0) {
    const f = r.failed[0];
    throw codedError(
      f.error,
      `${r.failed.length} of ${r.total} rows were refused (first: line ${f.line} ${f.code}: ${f.message})`,
    );
  }
}

const codeArg = (cmd: Command) => cmd.argument('<code>', 'a code like MA.156.1301.02');

/** Adds `archi idcode ...` to the program. */
export function register(program: Command): void {
  const idcode = program
    .command('idcode')
    .description('city identifier codes (MA.156.1301.02): issue, delegate, revoke, resolve');

  addTargetOptions(
    codeArg(idcode.command('root'))
      .description('hand root MA.<country> to an organization by a governance decision')
      .requiredOption('--to <org>', 'the organization that will own the root')
      .option('--name <name>', 'its name (default: the code)')
      .option('--as <org/user>', 'the admin that proposes (default: the first admin in --dir)')
      .option('--print', 'print the proposal for the admins instead of voting with local ones')
      .option(
        '--expires <blocks>',
        'blocks the proposal stays open',
        intOption('--expires', 1, 100_000),
      )
      .option(
        '--timeout <ms>',
        'how long to wait for each commit',
        intOption('--timeout', 1, 300_000),
        30_000,
      ),
  ).action(root);

  addSigningOptions(
    codeArg(idcode.command('register'))
      .description('issue a code under its parent (as its owner or a delegate)')
      .requiredOption('--name <name>', 'what the code names')
      .requiredOption('--kind <kind>', 'city, department, facility, device, ...')
      .option('--metadata <json>', 'a JSON object kept with the code')
      .option('--owner <org>', 'issue it to another organization (the parent owner only)'),
    'identity to sign with (a member of the issuing organization)',
  ).action(
    (
      code: string,
      f: SignFlags & { name: string; kind: string; metadata?: string; owner?: string },
    ) =>
      write(
        'register',
        { code, name: f.name, kind: f.kind, metadata: metadataFlag(f.metadata), owner: f.owner },
        f,
      ),
  );

  addSigningOptions(
    codeArg(idcode.command('update'))
      .description("change a code's name, kind or metadata")
      .option('--name <name>', 'new name')
      .option('--kind <kind>', 'new kind')
      .option('--metadata <json>', 'new metadata (a JSON object)'),
  ).action((code: string, f: SignFlags & { name?: string; kind?: string; metadata?: string }) =>
    write('update', { code, name: f.name, kind: f.kind, metadata: metadataFlag(f.metadata) }, f),
  );

  addSigningOptions(
    codeArg(idcode.command('delegate'))
      .description("let another organization issue in the code's subtree (the owner's admin)")
      .requiredOption('--to <org>', 'the organization that may issue'),
  ).action((code: string, f: SignFlags & { to: string }) =>
    write('delegate', { code, to: f.to }, f),
  );

  addSigningOptions(
    codeArg(idcode.command('reclaim'))
      .alias('take-back')
      .description('take back what the owner delegated under the code'),
  ).action((code: string, f: SignFlags) => write('reclaim', { code }, f));

  addSigningOptions(
    codeArg(idcode.command('revoke'))
      .description('revoke a code and its subtree for good (never issued again)')
      .option('--reason <text>', 'why'),
  ).action((code: string, f: SignFlags & { reason?: string }) =>
    write('revoke', { code, reason: f.reason }, f),
  );

  addTargetOptions(
    codeArg(idcode.command('resolve'))
      .description('a code, its owner and status')
      .option('--prove', 'verify it against a header signed by the genesis validators'),
  ).action(resolveCode);

  for (const [name, text, fn] of [
    ['children', "a code's children in issue order (100 per page)", children],
    ['history', "a code's changes, oldest first (100 per page)", history],
  ] as const) {
    addTargetOptions(
      codeArg(idcode.command(name))
        .description(text)
        .option('--page <n>', 'page number (from 0)', intOption('--page', 0, 999_999), 0),
    ).action(fn);
  }

  addTargetOptions(idcode.command('roots').description('the roots and their owners')).action(
    async (flags: TargetFlags) => {
      const list = await ClientContext.resolve(flags).withNode((c) => new Idcode(c).roots());
      if (flags.json) printJson(list);
      else
        print(
          formatTable(
            ['ROOT', 'NAME', 'OWNER', 'DELEGATE'],
            list.map((r) => [r.code, r.name, r.owner, r.delegate ?? '-']),
          ),
        );
    },
  );

  addTargetOptions(
    idcode
      .command('search')
      .description('codes starting with a prefix, in code order')
      .argument('<prefix>', 'like MA.156.1301.0')
      .option('--limit <n>', 'at most this many (up to 100)', intOption('--limit', 1, 100), 100),
  ).action(async (prefix: string, flags: TargetFlags & { limit: number }) => {
    const list = await ClientContext.resolve(flags).withNode((c) =>
      new Idcode(c).search(prefix, flags.limit),
    );
    if (flags.json) printJson(list);
    else
      print(
        formatTable(
          ['CODE', 'NAME', 'KIND', 'OWNER', 'STATUS'],
          list.map((r) => [r.code, r.name, r.kind, r.owner, r.status]),
        ),
      );
  });

  addSigningOptions(
    idcode
      .command('bulk')
      .description(
        'issue the codes of a CSV file (code,name,kind[,metadata]) in batches, with progress',
      )
      .argument('<file>', 'the CSV file')
      .option('--batch <n>', 'txs per batch request', intOption('--batch', 1, 1000), 500),
    'identity to sign with (a member of the issuing organization)',
  ).action(bulk);
}
