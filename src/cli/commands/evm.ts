/**
 * `archi evm deploy|attest|show` (docs/BRIDGE.md, "CLI"). `deploy` puts the light client and
 * the bridge on an EVM chain, trusting a header of the Archipelago chain it fetched and
 * checked, then makes Archipelago's attested client of the EVM chain by governance (the local
 * admins vote, or the proposal is written for a network whose admins are elsewhere) and
 * records it all in DIR/evm.json. `attest` runs validators' attestors: each watches the bridge
 * from the EVM node it is given and signs, with its node's consensus key, what the bridge
 * stores past N confirmations (a validator's own duty, like signing blocks).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import { getProfile } from '../../crypto/profile.ts';
import { attestRound, runAttestor, type RoundReport } from '../../evm/attestor.ts';
import { EvmBridge, EvmLightClient } from '../../evm/bridge.ts';
import { connectEvm, evmSigner } from '../../evm/connect.ts';
import {
  type EvmBridgeRecord,
  evmRecordOf,
  readEvmFile,
  writeEvmRecord,
} from '../../evm/evm-record.ts';
import { sdkAttestorChain } from '../../relayer/attestor-chain.ts';
import type { ArchiClient } from '../../sdk/client.ts';
import { Governance } from '../../sdk/governance.ts';
import { getClient, HeaderSource } from '../../sdk/ibc.ts';
import type { Identity } from '../../sdk/identity.ts';
import { ArchiError } from '../../types/errors.ts';
import {
  addChainOption,
  archiCommand,
  type ChainInfo,
  ClientContext,
  cliOutput,
  DEFAULT_DIR,
  intOption,
  shellWord,
} from '../client-context.ts';
import { clientIdFor, parseDuration } from './ibc.ts';
import { chainTarget, parseSide, resolveSide } from '../chain-side.ts';

function print(text: string): void {
  cliOutput.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Archipelago's client id of the EVM chain `evmChainId`. */
export function evmClientId(evmChainId: bigint | string): string {
  return `evm-${evmChainId}`;
}

/** The admins of the directory whose organizations are members of the chain. */
export async function localAdmins(
  ctx: ClientContext,
  info: ChainInfo,
  client: ArchiClient,
): Promise<Identity[]> {
  const members = new Set((await client.config()).orgs.map((o) => o.id));
  const out: Identity[] = [];
  for (const spec of ctx.knownIdentities(info.crypto)) {
    const [org, user] = spec.split('/');
    if (user !== 'admin' || !members.has(org)) continue;
    try {
      out.push(ctx.identity(spec, info));
    } catch {
      // a half-made identity directory is no admin to vote with
    }
  }
  return out;
}

interface DeployFlags {
  dir: string;
  chain?: string;
  evm: string;
  evmKey?: string;
  confirmations: number;
  trustingPeriod: string;
  maxClockDrift: string;
  print?: boolean;
  timeout: number;
  json?: boolean;
}

async function deploy(flags: DeployFlags): Promise<void> {
  const trustingPeriodMs = parseDuration(flags.trustingPeriod, '--trusting-period');
  const maxClockDriftMs = parseDuration(flags.maxClockDrift, '--max-clock-drift');
  if (trustingPeriodMs > 365 * 86_400_000 || maxClockDriftMs > 3_600_000) {
    throw new ArchiError(
      'INVALID_ARGS',
      '--trusting-period is at most 365d and --max-clock-drift at most 1h (the contract refuses more)',
    );
  }
  const ctx = ClientContext.resolve({ dir: flags.dir, chain: flags.chain });
  const info = await ctx.chainInfo();
  if (info.crypto !== 'standard') {
    throw new ArchiError(
      'INVALID_ARGS',
      `chain ${info.chainId} signs with SM2, which the EVM cannot verify: bridge it through a standard chain (docs/BRIDGE.md, "gm chains")`,
    );
  }
  const existing = readEvmFile(ctx.dir).bridges[info.chainId];
  if (existing) {
    throw new ArchiError(
      'IBC_CLIENT_EXISTS',
      `chain ${info.chainId} already has an EVM bridge ${existing.bridge} on EVM chain ${existing.evmChainId} (${join(ctx.dir, 'evm.json')})`,
    );
  }
  const conn = await connectEvm(flags.evm);
  const archiClientId = evmClientId(conn.chainId);
  const bridgeClientId = clientIdFor(info.chainId);
  await ctx.withNode(async (client) => {
    try {
      const c = await getClient(client, archiClientId);
      throw new ArchiError(
        'IBC_CLIENT_EXISTS',
        `chain ${info.chainId} already has a client ${archiClientId} (of chain ${c.chainId}, bridge ${(c as { bridge?: string }).bridge ?? '-'})`,
      );
    } catch (e) {
      if (!(e instanceof ArchiError && e.code === 'IBC_CLIENT_NOT_FOUND')) throw e;
    }
  });
  const signer = await evmSigner(conn, flags.evmKey);
  try {
    // The trusted header: one below the latest, whose commit the latest block carries.
    const trusted = await ctx.withNode(async (client) => {
      const height = Math.max(1, (await client.status()).height - 1);
      const src = new HeaderSource(client);
      const [header, next] = await Promise.all([src.header(height), src.nextSetOf(height)]);
      return { height, header, next };
    });
    const lc = await EvmLightClient.deploy(signer, {
      chainId: info.chainId,
      trustingPeriodMs,
      maxClockDriftMs,
      header: trusted.header,
      nextValidators: trusted.next,
    });
    const bridge = await EvmBridge.deploy(signer, await lc.address(), {
      clientId: bridgeClientId,
      counterpartyClientId: archiClientId,
    });
    // Deployed and mined just now: its events can only come from this block on.
    const deployBlock = await conn.provider.getBlockNumber();
    const record: EvmBridgeRecord = {
      chainId: info.chainId,
      evmUrl: conn.url,
      evmChainId: String(conn.chainId),
      lightClient: await lc.address(),
      bridge: await bridge.address(),
      bridgeClientId,
      archiClientId,
      confirmations: flags.confirmations,
      deployBlock,
      trustedHeight: trusted.height,
      client: 'printed',
    };
    const args = {
      type: 'attested',
      clientId: archiClientId,
      chainId: record.evmChainId,
      counterpartyClientId: bridgeClientId,
      bridge: record.bridge,
      confirmations: flags.confirmations,
    };
    await ctx.withNode(async (client) => {
      const admins = flags.print ? [] : await localAdmins(ctx, info, client);
      if (admins.length === 0) {
        const file = join(ctx.dir, 'ibc', `create-client-${archiClientId}.json`);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, `${JSON.stringify(args, null, 2)}\n`);
        record.proposalFile = file;
        return;
      }
      const gov = new Governance(client);
      let r = await gov.propose(admins[0], 'ibc_create_client', args, {
        timeoutMs: flags.timeout,
      });
      for (const admin of admins.slice(1)) {
        if (r.proposal.status !== 'pending') break;
        if (r.proposal.approvals.includes(admin.org)) continue;
        r = await gov.approve(admin, r.proposal.id, { timeoutMs: flags.timeout });
      }
      record.proposalId = r.proposal.id;
      record.client = r.proposal.status === 'executed' ? 'created' : 'proposed';
    });
    writeEvmRecord(ctx.dir, record);
    if (flags.json) {
      print(JSON.stringify({ status: 'deployed', ...record }, null, 2));
      return;
    }
    const lines = [
      `deployed on EVM chain ${record.evmChainId}: light client ${record.lightClient} (trusts ${info.chainId} height ${record.trustedHeight}), bridge ${record.bridge} (client id ${bridgeClientId})`,
    ];
    if (record.client === 'created') {
      lines.push(
        `attested client ${archiClientId} created by proposal ${record.proposalId} (${flags.confirmations} confirmations)`,
      );
    } else if (record.client === 'proposed') {
      lines.push(
        `attested client ${archiClientId}: proposal ${record.proposalId} awaits more votes: ${archiCommand()} gov approve ${record.proposalId} --as ORG/admin --dir ${shellWord(ctx.dir)}`,
      );
    } else {
      lines.push(
        `attested client ${archiClientId}: no admin of the chain here; an admin proposes it with:`,
        `  ${archiCommand()} gov propose ibc_create_client --args @${shellWord(record.proposalFile ?? '')} --as ORG/admin`,
      );
    }
    lines.push(
      `recorded in ${join(ctx.dir, 'evm.json')}; each validator runs ${archiCommand()} evm attest --dir ${shellWord(ctx.dir)} --node NAME --evm URL, and a relayer ${archiCommand()} relay start --a ${shellWord(ctx.dir)} --evm ${flags.evm}`,
    );
    print(lines.join('\n'));
  } finally {
    conn.provider.destroy();
  }
}

// ---------------------------------------------------------------- attest

interface AttestFlags {
  dir: string;
  chain?: string;
  node: string;
  evm?: string;
  as?: string;
  interval: number;
  once?: boolean;
  logLevel: string;
}

/** A validator's consensus key, from its node.json in DIR/nodes/NAME. */
function nodeSigner(dir: string, name: string, crypto: 'standard' | 'gm') {
  const configPath = join(dir, 'nodes', name, 'node.json');
  let config: { key?: string; org?: string };
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (e) {
    throw new ArchiError(
      'INVALID_ARGS',
      `--node ${name}: no readable ${configPath} (${(e as Error).message})`,
    );
  }
  if (typeof config.key !== 'string' || typeof config.org !== 'string') {
    throw new ArchiError('CONFIG_INVALID', `${configPath}: key and org are required`);
  }
  const pem = readFileSync(resolve(dirname(configPath), config.key), 'utf8');
  return { signer: getProfile(crypto).signerFromPem(pem), org: config.org };
}

async function attest(flags: AttestFlags): Promise<void> {
  const names = flags.node
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0 || new Set(names).size !== names.length) {
    throw new ArchiError('INVALID_ARGS', '--node must name one or more distinct nodes: N1[,N2...]');
  }
  const ctx = ClientContext.resolve({ dir: flags.dir, chain: flags.chain });
  const info = await ctx.chainInfo();
  const record = evmRecordOf(ctx.dir, info.chainId, `${archiCommand()} evm deploy`);
  const conn = await connectEvm(flags.evm ?? record.evmUrl);
  if (String(conn.chainId) !== record.evmChainId) {
    conn.provider.destroy();
    throw new ArchiError(
      'INVALID_ARGS',
      `the EVM node at ${conn.url} is chain ${conn.chainId}, the bridge is on chain ${record.evmChainId}`,
    );
  }
  const profile = getProfile(info.crypto);
  const client = ctx.client();
  // N is the client's, so every attestor waits the same; the record's is what was proposed.
  const view = await ctx.withNode((c) => getClient(c, record.archiClientId));
  const confirmations = view.confirmations ?? record.confirmations;
  const bridge = new EvmBridge(record.bridge, conn.provider).contract;
  const log = pino({ level: flags.logLevel, base: { attestor: info.chainId, pid: process.pid } });
  const attestors = names.map((name) => {
    const { signer, org } = nodeSigner(ctx.dir, name, info.crypto);
    const identity = ctx.identity(flags.as ?? `${org}/client`, info);
    return {
      name,
      options: {
        provider: conn.provider,
        bridge,
        chain: sdkAttestorChain(client, identity),
        target: {
          chainId: info.chainId,
          clientId: record.archiClientId,
          evmChainId: conn.chainId,
          bridge: record.bridge,
        },
        profile,
        signer,
        confirmations,
        fromBlock: record.deployBlock,
      },
    };
  });
  const report = (name: string) => (r: RoundReport | Error) => {
    if (r instanceof Error) {
      log.warn({ node: name, err: r.message }, 'attestor round failed');
      return;
    }
    for (const o of r.submitted) {
      log.info(
        { node: name, kind: o.kind, sequence: o.sequence, evmBlock: o.evmBlockNumber },
        'attested',
      );
    }
    for (const f of r.refused) {
      log.warn({ node: name, kind: f.obs.kind, sequence: f.obs.sequence, code: f.code }, 'refused');
    }
  };
  if (flags.once) {
    for (const a of attestors) report(a.name)(await attestRound(a.options));
    conn.provider.destroy();
    return;
  }
  const stop = new AbortController();
  const loops = attestors.map((a) =>
    runAttestor({
      ...a.options,
      intervalMs: flags.interval,
      signal: stop.signal,
      onRound: report(a.name),
    }),
  );
  log.info(
    { nodes: names, bridge: record.bridge, evm: conn.url, confirmations },
    'attestors started',
  );
  await new Promise<void>((done) => {
    const end = (): void => {
      process.off('SIGINT', end);
      process.off('SIGTERM', end);
      done();
    };
    process.on('SIGINT', end);
    process.on('SIGTERM', end);
  });
  stop.abort();
  await Promise.all(loops);
  conn.provider.destroy();
}

// ---------------------------------------------------------------- relay start --evm

/** What `archi relay start --a DIR[:CHAIN] --evm URL` passes on. */
export interface EvmRelayFlags {
  a: string;
  evm: string;
  evmKey?: string;
  as: string;
  interval: number;
  logLevel: string;
  maxPackets: number;
}

/** Runs the EVM relayer of --a's chain until SIGINT/SIGTERM (src/relayer/evm-relay.ts). */
export async function startEvmRelay(flags: EvmRelayFlags): Promise<void> {
  const side = await resolveSide(parseSide(flags.a, '--a'));
  const record = evmRecordOf(side.ctx.dir, side.info.chainId, `${archiCommand()} evm deploy`);
  const conn = await connectEvm(flags.evm);
  if (String(conn.chainId) !== record.evmChainId) {
    conn.provider.destroy();
    throw new ArchiError(
      'INVALID_ARGS',
      `the EVM node at ${conn.url} is chain ${conn.chainId}, the bridge is on chain ${record.evmChainId}`,
    );
  }
  const signer = await evmSigner(conn, flags.evmKey);
  const { startEvmRelayer } = await import('../../relayer/evm-relay.ts');
  const relayer = startEvmRelayer({
    archi: chainTarget(side, flags.as),
    record,
    signer,
    intervalMs: flags.interval,
    maxPackets: flags.maxPackets,
    log: pino({
      level: flags.logLevel,
      base: { relayer: `${side.info.chainId}<->evm-${record.evmChainId}`, pid: process.pid },
    }),
  });
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      relayer.stop().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  conn.provider.destroy();
}

// ---------------------------------------------------------------- show

async function show(flags: { dir: string; chain?: string; json?: boolean }): Promise<void> {
  const ctx = ClientContext.resolve({ dir: flags.dir, chain: flags.chain });
  const info = await ctx.chainInfo();
  const record = evmRecordOf(ctx.dir, info.chainId, `${archiCommand()} evm deploy`);
  print(
    flags.json
      ? JSON.stringify(record, null, 2)
      : Object.entries(record)
          .map(([k, v]) => `${k}: ${v}`)
          .join('\n'),
  );
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** Adds `archi evm ...` to the program. */
export function register(program: Command): void {
  const evm = program
    .command('evm')
    .description("the bridge to an EVM chain: deploy it, run validators' attestors, show it");

  addChainOption(
    evm
      .command('deploy')
      .description(
        "deploy the light client and bridge on an EVM chain and make Archipelago's attested client of it by governance; records DIR/evm.json",
      )
      .option('--dir <dir>', 'network directory', DEFAULT_DIR)
      .requiredOption('--evm <url>', 'JSON-RPC URL of an EVM node')
      .option(
        '--evm-key <hex>',
        "private key paying for the deployment (default: the EVM node's first unlocked account)",
      )
      .option(
        '--confirmations <n>',
        'EVM blocks attestors wait before signing what the bridge stores',
        intOption('--confirmations', 0, 16_384),
        2,
      )
      .option('--trusting-period <duration>', 'how long a verified header is trusted', '14d')
      .option('--max-clock-drift <duration>', 'how far a header may be ahead of EVM time', '60s')
      .option('--print', 'only write the attested client proposal, even where admins are here')
      .option(
        '--timeout <ms>',
        'how long to wait for each vote to commit',
        intOption('--timeout', 1, 300_000),
        30_000,
      ),
  )
    .option('--json', 'machine-readable output')
    .action(deploy);

  addChainOption(
    evm
      .command('attest')
      .description(
        "run validators' attestors until stopped: each watches the bridge from --evm and signs, with its node's consensus key, what the bridge stores past N confirmations",
      )
      .option('--dir <dir>', 'network directory', DEFAULT_DIR)
      .requiredOption(
        '--node <names>',
        'the validator(s) whose keys sign: NAME or NAME1,NAME2 (their node.json in DIR/nodes)',
      )
      .option('--evm <url>', "this validator's own EVM node (default: evm.json's)")
      .option(
        '--as <org/user>',
        "identity that carries the attest txs (default: the node's organization's client)",
      )
      .option(
        '--interval <ms>',
        'pause between rounds',
        intOption('--interval', 10, 3_600_000),
        1000,
      )
      .option('--once', 'one round, then exit')
      .option('--log-level <level>', `log level (${LEVELS.join(', ')})`, 'info'),
  ).action(attest);

  addChainOption(
    evm
      .command('show')
      .description("this directory's EVM bridge (DIR/evm.json)")
      .option('--dir <dir>', 'network directory', DEFAULT_DIR)
      .option('--json', 'machine-readable output'),
  ).action(show);
}
