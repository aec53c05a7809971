/**
 * `archi contract build|deploy|upgrade|freeze|unfreeze|revoke|list|info`: TypeScript
 * contracts. Build bundles a .ts file with esbuild and loads it in the local sandbox to list
 * its methods; the lifecycle commands send a tx to `contract_manage` and wait for it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { getProfile } from '../../crypto/profile.ts';
import { type ContractMetaJson, Contracts, contractCodeHash } from '../../sdk/contracts.ts';
import { ArchiError } from '../../types/errors.ts';
import { buildContract } from '../../vm/sandbox/build.ts';
import { closeSandbox, initSandbox } from '../../vm/sandbox/host.ts';
import { CONTRACT_NAME } from '../../vm/sandbox/limits.ts';
import { inspectCode } from '../../vm/sandbox/runner.ts';
import {
  addTargetOptions,
  ClientContext,
  cliOutput,
  type TargetFlags,
  addSigningOptions,
} from '../client-context.ts';
import { formatTable } from './client.ts';

function print(text: string): void {
  cliOutput.write(text.endsWith('\n') ? text : `${text}\n`);
}

function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

function checkName(name: string): string {
  if (!CONTRACT_NAME.test(name)) {
    throw new ArchiError(
      'INVALID_ARGS',
      `contract name must be 2..32 lower-case letters, digits or _ starting with a letter, got "${name}"`,
    );
  }
  return name;
}

/** Bundled code of FILE: a .ts/.mts file is built, a .js file is taken as a bundle already. */
async function codeOf(file: string, minify?: boolean): Promise<string> {
  if (/\.(c|m)?js$/.test(file)) {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new ArchiError('BAD_REQUEST', `cannot read ${file}: ${(e as Error).message}`);
    }
  }
  return (await buildContract(file, { minify })).code;
}

interface BuildFlags {
  out?: string;
  minify?: boolean;
  crypto: string;
  json?: boolean;
}

async function build(file: string, flags: BuildFlags): Promise<void> {
  if (flags.crypto !== 'standard' && flags.crypto !== 'gm') {
    throw new ArchiError('INVALID_ARGS', `--crypto must be standard or gm, got "${flags.crypto}"`);
  }
  const built = await buildContract(file, { minify: flags.minify });
  await initSandbox();
  let methods: string[];
  try {
    methods = inspectCode('build', built.code, () => {});
  } finally {
    await closeSandbox();
  }
  if (flags.out) writeFileSync(flags.out, built.code);
  const out = {
    file: built.file,
    out: flags.out ?? null,
    bytes: built.bytes,
    codeHash: contractCodeHash(getProfile(flags.crypto), built.code),
    crypto: flags.crypto,
    methods,
  };
  if (flags.json) printJson(out);
  else {
    print(
      [
        `built ${file}: ${out.bytes} bytes${flags.out ? ` -> ${flags.out}` : ''}`,
        `codeHash (${flags.crypto}): ${out.codeHash}`,
        `methods: ${methods.join(', ')}`,
      ].join('\n'),
    );
  }
}

interface LifecycleFlags extends TargetFlags {
  as: string;
  gas?: number;
  timeout: number;
  minify?: boolean;
}

function formatMeta(m: ContractMetaJson): string {
  return [
    `name: ${m.name}`,
    `version: ${m.version}`,
    `status: ${m.status}`,
    `codeHash: ${m.codeHash}`,
    `codeSize: ${m.codeSize}`,
    `methods: ${m.methods.join(', ')}`,
    `deployer: ${m.deployer.org} ${m.deployer.id}`,
    `deployedAt: ${m.deployedAt}`,
    `updatedAt: ${m.updatedAt}`,
  ].join('\n');
}

async function lifecycle(
  action: 'deploy' | 'upgrade' | 'freeze' | 'unfreeze' | 'revoke',
  name: string,
  file: string | undefined,
  flags: LifecycleFlags,
): Promise<void> {
  checkName(name);
  const code = file === undefined ? undefined : await codeOf(file, flags.minify);
  const ctx = ClientContext.resolve(flags);
  const r = await ctx.withNode(async (client) => {
    const identity = ctx.identity(flags.as, await ctx.chainInfo(client));
    const contracts = new Contracts(client);
    const opts = { gasLimit: flags.gas, timeoutMs: flags.timeout };
    switch (action) {
      case 'deploy':
        return contracts.deploy(identity, name, code!, opts);
      case 'upgrade':
        return contracts.upgrade(identity, name, code!, opts);
      default:
        return contracts[action](identity, name, opts);
    }
  });
  if (flags.json) {
    printJson({
      txId: r.txId,
      height: r.height,
      gasUsed: r.receipt.gasUsed,
      ...r.contract,
    });
    return;
  }
  const past = {
    deploy: 'deployed',
    upgrade: 'upgraded',
    freeze: 'froze',
    unfreeze: 'unfroze',
    revoke: 'revoked',
  }[action];
  print(
    [
      `${past} ${name} v${r.contract.version} (${r.contract.status}) in block ${r.height}`,
      `txId: ${r.txId}`,
      `codeHash: ${r.contract.codeHash}`,
      `methods: ${r.contract.methods.join(', ')}`,
    ].join('\n'),
  );
}

/** Adds `archi contract ...` to the program. */
export function register(program: Command): void {
  const contract = program
    .command('contract')
    .description('build, deploy and manage TypeScript contracts');

  contract
    .command('build')
    .description('bundle a TypeScript contract into the JS module a deploy carries')
    .argument('<file>', 'contract source (.ts)')
    .option('--out <file>', 'write the bundle here')
    .option('--minify', 'minify the bundle')
    .option(
      '--crypto <profile>',
      'crypto profile for the printed code hash (standard|gm)',
      'standard',
    )
    .option('--json', 'machine-readable output')
    .action(build);

  addSigningOptions(
    contract
      .command('deploy')
      .description('deploy a contract (a .ts file is bundled first) and wait for the commit')
      .argument('<name>', 'contract name ([a-z][a-z0-9_]{1,31})')
      .argument('<file>', 'contract source (.ts) or bundle (.js)')
      .option('--minify', 'minify the bundle'),
  ).action((name: string, file: string, flags: LifecycleFlags) =>
    lifecycle('deploy', name, file, flags),
  );

  addSigningOptions(
    contract
      .command('upgrade')
      .description('replace the code of a contract (its state is kept, its version goes up)')
      .argument('<name>', 'contract name')
      .argument('<file>', 'contract source (.ts) or bundle (.js)')
      .option('--minify', 'minify the bundle'),
  ).action((name: string, file: string, flags: LifecycleFlags) =>
    lifecycle('upgrade', name, file, flags),
  );

  for (const [action, text] of [
    ['freeze', 'refuse txs to a contract until it is unfrozen (queries still work)'],
    ['unfreeze', 'accept txs to a frozen contract again'],
    ['revoke', 'retire a contract for good (txs and queries refused, name never reused)'],
  ] as const) {
    addSigningOptions(
      contract.command(action).description(text).argument('<name>', 'contract name'),
    ).action((name: string, flags: LifecycleFlags) => lifecycle(action, name, undefined, flags));
  }

  addTargetOptions(contract.command('list').description('deployed contracts')).action(
    async (flags: TargetFlags) => {
      const list = await ClientContext.resolve(flags).withNode((c) => new Contracts(c).list());
      if (flags.json) {
        printJson(list);
        return;
      }
      if (list.length === 0) {
        print('no contracts deployed');
        return;
      }
      print(
        formatTable(
          ['NAME', 'VERSION', 'STATUS', 'CODE HASH', 'METHODS'],
          list.map((m) => [
            m.name,
            String(m.version),
            m.status,
            `${m.codeHash.slice(0, 16)}…`,
            m.methods.join(', '),
          ]),
        ),
      );
    },
  );

  addTargetOptions(
    contract
      .command('info')
      .description('metadata of one contract')
      .argument('<name>', 'contract name'),
  ).action(async (name: string, flags: TargetFlags) => {
    const m = await ClientContext.resolve(flags).withNode((c) => new Contracts(c).info(name));
    if (flags.json) printJson(m);
    else print(formatMeta(m));
  });
}
