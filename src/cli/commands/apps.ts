/**
 * `archi apps deploy|list`: the reference applications (src/apps/catalog.ts) on a chain.
 * Deploy builds each app's contracts and deploys or upgrades those the chain does not run
 * yet, under the lifecycle policy: with the admins of a local network's directory it makes
 * (and votes) what the policy needs; for a real network it writes the proposal and prints
 * what the admins must run. See docs/apps/README.md.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { APPS, findApp } from '../../apps/catalog.ts';
import { appStatus, type ContractResult, deployApp } from '../../apps/deploy.ts';
import type { AppSpec } from '../../apps/types.ts';
import { getProfile } from '../../crypto/profile.ts';
import { ArchiError } from '../../types/errors.ts';
import {
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

function print(text: string): void {
  cliOutput.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Where proposals for a real network's admins are written (DIR/apps holds gateway apps). */
export const PROPOSAL_DIR = 'apps-deploy';

export interface DeployFlags extends TargetFlags {
  as?: string;
  all?: boolean;
  print?: boolean;
  timeout: number;
}

/** The apps NAMES (or all of them with --all) picked once each, in the order given. */
function pick(names: string[], all: boolean | undefined): AppSpec[] {
  if (all) {
    if (names.length > 0) throw new ArchiError('INVALID_ARGS', 'give app names or --all, not both');
    return [...APPS];
  }
  if (names.length === 0) {
    throw new ArchiError(
      'INVALID_ARGS',
      `name the apps to deploy (${APPS.map((a) => a.name).join(', ')}) or pass --all`,
    );
  }
  return [...new Set(names)].map(findApp);
}

/** Deploy `apps` on the context's chain; one result per contract. */
export async function deployApps(
  ctx: ClientContext,
  apps: AppSpec[],
  flags: Pick<DeployFlags, 'as' | 'print' | 'timeout'>,
): Promise<ContractResult[]> {
  return ctx.withNode(async (client) => {
    const info = await ctx.chainInfo(client);
    const admins = flags.print ? [] : await localAdmins(ctx, client, flags.as);
    const env = {
      client,
      profile: getProfile(info.crypto),
      admins,
      proposalDir: join(ctx.dir, PROPOSAL_DIR, info.chainId),
      timeoutMs: flags.timeout,
    };
    const out: ContractResult[] = [];
    for (const app of apps) out.push(...(await deployApp(app, env)));
    return out;
  });
}

/** One line (or a few) per contract, with the commands others must run when votes are missing. */
export function formatDeploy(results: ContractResult[], next: { archi: string; target: string }) {
  const lines: string[] = [];
  for (const r of results) {
    const head = `${r.app}: contract ${r.contract}`;
    const hash = `codeHash ${r.codeHash.slice(0, 16)}…`;
    if (r.status === 'unchanged') lines.push(`${head} is up to date (v${r.version}, ${hash})`);
    else if (r.status === 'deployed' || r.status === 'upgraded') {
      const how = r.proposalId ? ` by proposal ${r.proposalId}` : '';
      lines.push(`${head} ${r.status}${how} (v${r.version}, ${hash})`);
    } else if (r.status === 'proposed') {
      lines.push(
        `${head}: proposal ${r.proposalId} to ${r.action} it awaits votes of ${r.missing?.join(', ') || 'more organizations'} (lifecycle policy ${r.policy}):`,
        `  ${next.archi} gov approve ${r.proposalId} --as ORG/admin${next.target}`,
      );
    } else {
      lines.push(
        `${head}: no admin here to ${r.action} it (lifecycle policy ${r.policy}); an admin of the chain proposes it with:`,
        `  ${next.archi} gov propose contract_${r.action} --args @${shellWord(r.file ?? '')} --as ORG/admin${next.target}`,
        `  and the others approve: ${next.archi} gov approve ID --as ORG/admin${next.target}`,
      );
    }
  }
  return lines.join('\n');
}

/** Flags that name the same target again in a suggested command. */
function targetFlags(flags: TargetFlags): string {
  const chain = flags.chain ? ` --chain ${shellWord(flags.chain)}` : '';
  return (flags.rpc ? ` --rpc ${shellWord(flags.rpc)}` : dirFlag(flags.dir)) + chain;
}

async function deploy(names: string[], flags: DeployFlags): Promise<void> {
  const apps = pick(names, flags.all);
  const ctx = ClientContext.resolve(flags);
  const results = await deployApps(ctx, apps, flags);
  if (flags.json) print(JSON.stringify(results, null, 2));
  else print(formatDeploy(results, { archi: archiCommand(), target: targetFlags(flags) }));
}

async function list(flags: TargetFlags): Promise<void> {
  const ctx = ClientContext.resolve(flags);
  const rows = await ctx.withNode(async (client) => {
    const profile = getProfile((await ctx.chainInfo(client)).crypto);
    const out = [];
    for (const app of APPS) out.push({ app, contracts: await appStatus(app, client, profile) });
    return out;
  });
  if (flags.json) {
    print(
      JSON.stringify(
        rows.map((r) => ({
          name: r.app.name,
          title: r.app.title,
          docs: r.app.docs,
          deployed: r.contracts.every((c) => c.state === 'current' || c.state === 'outdated'),
          contracts: r.contracts,
        })),
        null,
        2,
      ),
    );
    return;
  }
  print(
    formatTable(
      ['APP', 'CONTRACT', 'STATE', 'VERSION', 'TITLE'],
      rows.flatMap((r) =>
        r.contracts.map((c) => [
          r.app.name,
          c.contract,
          c.state,
          c.version === null ? '-' : String(c.version),
          r.app.title,
        ]),
      ),
    ),
  );
}

/** Adds `archi apps ...` to the program. */
export function register(program: Command): void {
  const apps = program
    .command('apps')
    .description('reference applications (idcode, ...): deploy their contracts, list them');

  addTargetOptions(
    apps
      .command('deploy')
      .description(
        "build and deploy (or upgrade) apps' contracts under the lifecycle policy; on a local network its admins vote",
      )
      .argument('[names...]', `apps to deploy (${APPS.map((a) => a.name).join(', ')})`)
      .option('--all', 'every app')
      .option('--as <org/user>', 'the admin that proposes (default: the first admin in --dir)')
      .option('--print', 'write the proposals for the admins instead of voting with local ones')
      .option(
        '--timeout <ms>',
        'how long to wait for each commit',
        intOption('--timeout', 1, 300_000),
        60_000,
      ),
  ).action(deploy);

  addTargetOptions(
    apps.command('list').description('the apps and whether the chain runs their contracts'),
  ).action(list);
}

/**
 * `archi up --apps`: every app onto the network in `dir` once it is up, as `archi apps deploy
 * --all` would; what happened goes to `log`, and a failure never stops the network.
 */
export async function deployOnUp(
  dir: string,
  log: (line: string) => void,
  warn: (line: string) => void,
): Promise<void> {
  // App by app, so that one that fails neither hides nor stops the others.
  for (const app of APPS) {
    try {
      const results = await deployApps(ClientContext.resolve({ dir }), [app], {
        timeout: 60_000,
      });
      const text = formatDeploy(results, { archi: archiCommand(), target: dirFlag(dir) });
      for (const line of text.split('\n')) log(`  ${line}`);
    } catch (e) {
      const line = e instanceof ArchiError ? `${e.code}: ${e.message}` : (e as Error).message;
      warn(`app ${app.name} not deployed: ${line}`);
    }
  }
}
