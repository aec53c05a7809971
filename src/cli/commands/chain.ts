/** `archi chain new | join | leave | list`: several chains on the nodes of one network. */
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { ArchiClient } from '../../sdk/client.ts';
import { ArchiError } from '../../types/errors.ts';
import type { ChainSummaryJson } from '../../types/rpc-json.ts';
import { type ChainChange, DEFAULT_CHAIN_WAIT_MS, joinChain, leaveChain } from '../chain-join.ts';
import type { ChainRecord } from '../chain-layout.ts';
import {
  type NewChainOptions,
  type NewChainResult,
  newChain,
  parseOrgList,
  parsePowerList,
} from '../chain-new.ts';
import {
  archiCommand,
  cliOutput,
  DEFAULT_DIR,
  intOption,
  readNetwork,
  shellWord,
} from '../client-context.ts';
import { formatTable } from './client.ts';

const LIST_TIMEOUT_MS = 5000;

function print(text: string): void {
  cliOutput.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** What `chain new` prints: what was made and how the member nodes start hosting it. */
export function formatNewChain(dir: string, r: NewChainResult, archi = archiCommand()): string {
  const c = r.chain;
  const lines = [
    `Created chain ${c.id} (${c.crypto}, ${c.consensus}) among ${c.orgs.join(', ')} in ${dir}`,
    `  genesis ${join(dir, c.genesis)}`,
    ...r.validators.map(
      (v) =>
        `  ${v.name} (${v.org}) validator, power ${v.power}: key in ${join(dir, 'nodes', v.name, 'chains', c.id)}`,
    ),
  ];
  for (const p of r.newProfiles) {
    lines.push(`  ${p.org}: new ${c.crypto} CA, admin and client in ${join(dir, p.dir)}`);
  }
  lines.push(
    `Host it on every member node (running nodes start it without a restart):`,
    ...c.nodes.map(
      (n) =>
        `  ${archi} chain join --config ${shellWord(join(dir, 'nodes', n, 'node.json'))} --chain ${c.id}`,
    ),
    `or all at once: ${archi} up --dir ${shellWord(dir)}; then e.g. ${archi} status --dir ${shellWord(dir)} --chain ${c.id}`,
  );
  return `${lines.join('\n')}\n`;
}

/** One line about a join or leave. */
export function formatChange(what: 'join' | 'leave', c: ChainChange): string {
  const file =
    what === 'join'
      ? c.changed
        ? `${c.node} joined chain ${c.chain}: node.json lists it (data in ${c.dataDir})`
        : `${c.node} already lists chain ${c.chain} in node.json`
      : `${c.node} left chain ${c.chain}: node.json no longer lists it (its data stays in ${c.dataDir})`;
  const node = !c.running
    ? `${c.node} is not running: the change takes effect when it starts`
    : what === 'join'
      ? `the running node hosts it now (height ${c.height})`
      : 'the running node has stopped it';
  return `${file}; ${node}`;
}

/** One node's view of one chain in `chain list`. */
export interface ChainListNode {
  name: string;
  /** Whether the node answered. */
  up: boolean;
  /** Whether it hosts the chain now (null when it did not answer). */
  hosts: boolean | null;
  height: number | null;
  hash: string | null;
  round: number | null;
  validator: boolean | null;
}

/** One chain in `chain list`: its record and every member node's view. */
export interface ChainListEntry {
  id: string;
  crypto: string;
  consensus: string;
  orgs: string[];
  /** Whether it is the network's first chain. */
  first: boolean;
  nodes: ChainListNode[];
}

/** Which node hosts which chain of the network in `dir`, at what height. */
export async function listChains(dir: string): Promise<ChainListEntry[]> {
  const network = readNetwork(dir);
  if (!network) {
    throw new ArchiError('BAD_REQUEST', `no network at ${dir} (no network.json)`);
  }
  const first: ChainRecord = {
    id: network.chain,
    crypto: network.crypto,
    consensus: network.consensus ?? 'tbft',
    orgs: [...new Set(network.nodes.map((n) => n.org ?? '?'))],
    nodes: network.nodes.map((n) => n.name),
    genesis: 'genesis.json',
  };
  const records = [first, ...network.chains];
  const views = await Promise.all(
    network.nodes.map(async (n) => {
      try {
        const chains = await new ArchiClient(n.rpc, { timeoutMs: LIST_TIMEOUT_MS }).chains();
        return { name: n.name, chains };
      } catch {
        return { name: n.name, chains: undefined };
      }
    }),
  );
  const entry = (r: ChainRecord, isFirst: boolean): ChainListEntry => ({
    id: r.id,
    crypto: r.crypto,
    consensus: r.consensus,
    orgs: r.orgs,
    first: isFirst,
    nodes: views
      .filter((v) => r.nodes.includes(v.name) || v.chains?.some((c) => c.id === r.id))
      .map((v) => nodeView(v.name, v.chains, r.id)),
  });
  const out = records.map((r, i) => entry(r, i === 0));
  // Chains some node hosts that network.json does not record (joined with --genesis).
  const known = new Set(records.map((r) => r.id));
  for (const v of views) {
    for (const c of v.chains ?? []) {
      if (known.has(c.id)) continue;
      known.add(c.id);
      out.push(
        entry(
          {
            id: c.id,
            crypto: c.crypto,
            consensus: c.consensus as ChainRecord['consensus'],
            orgs: [],
            nodes: [],
            genesis: '',
          },
          false,
        ),
      );
    }
  }
  return out;
}

function nodeView(name: string, chains: ChainSummaryJson[] | undefined, id: string): ChainListNode {
  const c = chains?.find((x) => x.id === id);
  return {
    name,
    up: chains !== undefined,
    hosts: chains === undefined ? null : c !== undefined,
    height: c?.height ?? null,
    hash: c?.hash ?? null,
    round: c?.round ?? null,
    validator: c?.validator ?? null,
  };
}

/** The human table of `chain list`. */
export function formatChainList(list: ChainListEntry[]): string {
  const rows: string[][] = [];
  for (const c of list) {
    for (const n of c.nodes) {
      rows.push([
        c.first ? `${c.id} (first)` : c.id,
        `${c.crypto}/${c.consensus}`,
        n.name,
        !n.up ? 'DOWN' : n.hosts ? 'hosts' : 'not joined',
        n.height === null ? '-' : String(n.height),
        n.hash === null ? '-' : `${n.hash.slice(0, 16)}…`,
        n.validator === null ? '-' : n.validator ? 'yes' : 'no',
      ]);
    }
  }
  return formatTable(['CHAIN', 'PROFILE', 'NODE', 'STATE', 'HEIGHT', 'HASH', 'VALIDATOR'], rows);
}

/** Adds `archi chain ...` to the program. */
export function register(program: Command): void {
  const chain = program
    .command('chain')
    .description('several chains on the nodes of one network: new, join, leave, list');

  chain
    .command('new')
    .description(
      "make a new chain among some of the network's organizations (its own genesis; each member org's node hosts it)",
    )
    .option('--dir <dir>', 'network directory made by archi init', DEFAULT_DIR)
    .requiredOption('--name <id>', 'chain id')
    .requiredOption('--orgs <org1,org2,...>', 'member organizations', parseOrgList)
    .addOption(
      new Option('--crypto <profile>', "crypto profile (default: the network's)").choices([
        'standard',
        'gm',
      ]),
    )
    .addOption(
      new Option(
        '--consensus <engine>',
        'consensus engine (default: solo for one member, else tbft)',
      ).choices(['solo', 'tbft']),
    )
    .option(
      '--power <org=n,...>',
      "voting power of member orgs' nodes (default: 10 each)",
      parsePowerList,
    )
    .option('--json', 'print {chain, newProfiles, validators} as JSON')
    .action(async (flags: NewChainOptions & { json?: boolean }) => {
      const r = await newChain({
        dir: flags.dir,
        name: flags.name,
        orgs: flags.orgs,
        crypto: flags.crypto,
        consensus: flags.consensus,
        power: flags.power,
      });
      print(flags.json ? JSON.stringify(r, null, 2) : formatNewChain(flags.dir, r));
    });

  const waitOption = (cmd: Command): Command =>
    cmd
      .requiredOption('--config <path>', 'the node.json of the node')
      .requiredOption('--chain <id>', 'chain id')
      .option(
        '--timeout <ms>',
        'how long to wait for a running node to show the change',
        intOption('--timeout', 1, 3_600_000),
        DEFAULT_CHAIN_WAIT_MS,
      )
      .option('--json', 'print what happened as JSON');

  waitOption(
    chain
      .command('join')
      .description(
        "host a chain on a node: adds it to node.json (a running node starts it without a restart); the node's key for it comes from chain new",
      )
      .option('--genesis <path>', "the chain's genesis (default: the one network.json records)"),
  ).action(
    async (flags: {
      config: string;
      chain: string;
      genesis?: string;
      timeout: number;
      json?: boolean;
    }) => {
      const c = await joinChain({
        config: flags.config,
        chain: flags.chain,
        genesis: flags.genesis,
        timeoutMs: flags.timeout,
      });
      print(flags.json ? JSON.stringify(c, null, 2) : formatChange('join', c));
    },
  );

  waitOption(
    chain
      .command('leave')
      .description(
        'stop hosting a chain on a node: takes it off node.json (a running node stops it; its data stays)',
      ),
  ).action(async (flags: { config: string; chain: string; timeout: number; json?: boolean }) => {
    const c = await leaveChain({
      config: flags.config,
      chain: flags.chain,
      timeoutMs: flags.timeout,
    });
    print(flags.json ? JSON.stringify(c, null, 2) : formatChange('leave', c));
  });

  chain
    .command('list')
    .description('the chains of the network and which node hosts each, at what height')
    .option('--dir <dir>', 'network directory', DEFAULT_DIR)
    .option('--json', 'machine-readable output')
    .action(async (flags: { dir: string; json?: boolean }) => {
      const list = await listChains(flags.dir);
      print(flags.json ? JSON.stringify({ chains: list }, null, 2) : formatChainList(list));
    });
}
