/**
 * What the client commands talk to: the nodes of a local network directory (network.json)
 * or one node given by --rpc, the chain (--chain: the network's first chain by default), its
 * crypto and identity mode, and user identities under DIR/orgs/<org>/users/<user> (or, for a
 * chain in another crypto profile than the network's, DIR/orgs/<org>/profiles/<crypto>/users/<user>).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { ArchiClient } from '../sdk/client.ts';
import { isUnreachable } from '../sdk/errors.ts';
import { Identity, type IdentityMode } from '../sdk/identity.ts';
import type { StatusJson } from '../sdk/types.ts';
import { ArchiError } from '../types/errors.ts';
import {
  type ChainRecord,
  checkChainId,
  orgProfileBase,
  readChainRecords,
} from './chain-layout.ts';

export const DEFAULT_DIR = './.archipelago';
export const DEFAULT_IDENTITY = 'org1/admin';

/** Flags every client command accepts. */
export interface TargetFlags {
  dir?: string;
  rpc?: string;
  node?: string;
  /** A chain other than the network's first (default). */
  chain?: string;
  json?: boolean;
}

/** One node the command may talk to. */
export interface TargetNode {
  name: string;
  org?: string;
  rpc: string;
}

/** network.json as the client commands read it. */
export interface NetworkFile {
  chain: string;
  crypto: 'standard' | 'gm';
  identityMode: IdentityMode;
  /** The first chain's consensus (absent in files older than the field). */
  consensus?: 'solo' | 'tbft';
  nodes: TargetNode[];
  console?: string | null;
  /** The chains made after init (`archi chain new`). */
  chains: ChainRecord[];
}

/** Chain facts a client needs to sign and verify. */
export interface ChainInfo {
  chainId: string;
  crypto: 'standard' | 'gm';
  identityMode: IdentityMode;
}

/** Where the client commands print their results; tests swap these to capture output. */
export const cliOutput = {
  write(text: string): void {
    process.stdout.write(text);
  },
  /** Words for a person that must not mix into piped output (stderr). */
  note(text: string): void {
    process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  },
  /** Whether stdout is a terminal (a person reads it, no script parses it). */
  interactive(): boolean {
    return process.stdout.isTTY === true;
  },
};

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A shell word for `s` (single-quoted unless it is plainly safe). */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that runs archi the way it was run now, for the commands the CLI suggests:
 * "npx archi" under npx (archi is not on the PATH after `npm install`), "node bin/archi.js"
 * when started by path, else "archi" (installed or linked onto the PATH).
 */
export function archiCommand(
  env: NodeJS.ProcessEnv = process.env,
  script: string | undefined = process.argv[1],
  cwd = process.cwd(),
): string {
  if (env.npm_command === 'exec') return 'npx archi';
  if (script && /(^|[\\/])bin[\\/]archi\.js$/.test(script)) {
    const rel = relative(cwd, script);
    const path = rel.startsWith('..') || isAbsolute(rel) ? script : rel;
    return `node ${shellWord(path)}`;
  }
  return 'archi';
}

/** " --dir DIR" when DIR is not the default, for suggested commands. */
export function dirFlag(dir: string | undefined): string {
  if (dir === undefined || dir === DEFAULT_DIR || resolve(dir) === resolve(DEFAULT_DIR)) return '';
  return ` --dir ${shellWord(dir)}`;
}

/** The --chain option of client commands. */
export function addChainOption(cmd: Command): Command {
  return cmd.option('--chain <id>', "the chain to use (default: the network's first chain)");
}

/** Adds --dir, --rpc, --node, --chain and --json to a command. */
export function addTargetOptions(cmd: Command): Command {
  return addChainOption(
    cmd
      .option('--dir <dir>', 'network directory (network.json and identities)', DEFAULT_DIR)
      .option('--rpc <url>', 'talk to this node instead of the network in --dir')
      .option(
        '--node <name>',
        'which node of the network to use (default: the first that answers)',
      ),
  ).option('--json', 'machine-readable output');
}

/** Options of a command that signs a tx and waits for it: --as, --gas, --timeout, plus the target options. */
export function addSigningOptions(
  cmd: Command,
  asHelp = 'identity to sign with (an organization admin)',
): Command {
  return addTargetOptions(
    cmd
      .option('--as <org/user>', asHelp, DEFAULT_IDENTITY)
      .option('--gas <n>', 'gas limit', intOption('--gas', 1, Number.MAX_SAFE_INTEGER))
      .option(
        '--timeout <ms>',
        'how long to wait for the commit',
        intOption('--timeout', 1, 300_000),
        30_000,
      ),
  );
}

/** Integer parser for commander options: whole string of digits within [min, max]. */
export function intOption(flag: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new ArchiError(
        'INVALID_ARGS',
        `${flag} must be an integer from ${min} to ${max}, got "${value}"`,
      );
    }
    return n;
  };
}

/** DIR/network.json, checked; undefined when DIR holds none. Throws CONFIG_INVALID. */
export function readNetwork(dir: string): NetworkFile | undefined {
  const path = join(dir, 'network.json');
  if (!existsSync(path)) return undefined;
  let raw: any;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ArchiError('CONFIG_INVALID', `${path} is not valid JSON: ${(e as Error).message}`);
  }
  const bad = (what: string): never => {
    throw new ArchiError('CONFIG_INVALID', `${path}: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null) bad('not a JSON object');
  if (typeof raw.chain !== 'string') bad('chain must be a string');
  if (raw.crypto !== 'standard' && raw.crypto !== 'gm') bad('crypto must be standard or gm');
  if (raw.identityMode !== 'cert' && raw.identityMode !== 'key')
    bad('identityMode must be cert or key');
  if (!Array.isArray(raw.nodes) || raw.nodes.length === 0) bad('nodes must be a non-empty list');
  const nodes: TargetNode[] = raw.nodes.map((n: any, i: number) => {
    if (typeof n?.name !== 'string' || typeof n?.rpc !== 'string')
      bad(`nodes[${i}] needs name and rpc`);
    return { name: n.name, org: typeof n.org === 'string' ? n.org : undefined, rpc: n.rpc };
  });
  return {
    chain: raw.chain,
    crypto: raw.crypto,
    identityMode: raw.identityMode,
    consensus: raw.consensus === 'solo' || raw.consensus === 'tbft' ? raw.consensus : undefined,
    nodes,
    console: raw.console,
    chains: readChainRecords(raw.chains, path),
  };
}

/** The resolved target of a client command. */
export class ClientContext {
  private info?: ChainInfo;
  private readonly clients = new Map<string, ArchiClient>();

  private constructor(
    /** Absolute network directory (identities live here even with --rpc). */
    readonly dir: string,
    /** network.json, when the directory holds a network. */
    readonly network: NetworkFile | undefined,
    /** Nodes to use, in order of preference. */
    readonly nodes: TargetNode[],
    /** True when --rpc named the node, so chain facts come from its status. */
    readonly viaRpc: boolean,
    /** The chain --chain named (undefined: the node's first chain, /v1/...). */
    readonly chainId: string | undefined,
    /** network.json's record of that chain, when it is not the first. */
    readonly chain: ChainRecord | undefined,
  ) {}

  /** Resolve --dir / --rpc / --node; throws a clear error when there is nothing to talk to. */
  static resolve(flags: TargetFlags): ClientContext {
    const dir = resolve(flags.dir ?? DEFAULT_DIR);
    const network = readNetwork(dir);
    const chainId = flags.chain === undefined ? undefined : checkChainId(flags.chain, '--chain');
    const chain = network?.chains.find((c) => c.id === chainId);
    if (flags.rpc) {
      const url = new ArchiClient(flags.rpc).url;
      return new ClientContext(
        dir,
        network,
        [{ name: flags.node ?? url, rpc: url }],
        true,
        chainId,
        chain,
      );
    }
    if (!network) {
      throw new ArchiError(
        'BAD_REQUEST',
        `no network at ${dir} (no network.json): run "${archiCommand()} up${dirFlag(flags.dir) || ` --dir ${flags.dir ?? DEFAULT_DIR}`}" or pass --rpc URL`,
      );
    }
    if (chainId !== undefined && chainId !== network.chain && !chain) {
      const known = [network.chain, ...network.chains.map((c) => c.id)].join(', ');
      throw new ArchiError(
        'CHAIN_NOT_FOUND',
        `no chain ${chainId} in ${join(dir, 'network.json')} (chains: ${known})`,
      );
    }
    // Only the chain's member nodes host it; any other would answer CHAIN_NOT_FOUND.
    const hosts = chain ? network.nodes.filter((n) => chain.nodes.includes(n.name)) : network.nodes;
    let nodes = hosts;
    if (flags.node) {
      nodes = hosts.filter((n) => n.name === flags.node);
      if (nodes.length === 0) {
        const known = hosts.map((n) => n.name).join(', ');
        throw new ArchiError(
          'BAD_REQUEST',
          network.nodes.some((n) => n.name === flags.node)
            ? `${flags.node} does not host chain ${chainId} (its nodes: ${known})`
            : `no node named ${flags.node} in ${dir} (nodes: ${known})`,
        );
      }
    }
    return new ClientContext(dir, network, nodes, false, chainId, chain);
  }

  /** The client of one target node, for the chain of this context. */
  client(node: TargetNode = this.nodes[0]): ArchiClient {
    let c = this.clients.get(node.rpc);
    if (!c) {
      c = new ArchiClient(node.rpc, { chainId: this.chainId });
      this.clients.set(node.rpc, c);
    }
    return c;
  }

  /**
   * Run `fn` against the first node that can be reached; only connection failures move on
   * to the next node, any answer from a node (even an error) is final.
   */
  async withNode<T>(fn: (client: ArchiClient, node: TargetNode) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const node of this.nodes) {
      try {
        return await fn(this.client(node), node);
      } catch (e) {
        if (!isUnreachable(e)) throw e;
        last = e;
      }
    }
    if (this.nodes.length > 1) {
      throw new ArchiError(
        'NOT_READY',
        `no node of ${this.dir} answers (tried ${this.nodes.map((n) => n.rpc).join(', ')}); is the network up?`,
      );
    }
    throw last;
  }

  /** Chain id, crypto profile and identity mode: from network.json, else from the node's status. */
  async chainInfo(client?: ArchiClient): Promise<ChainInfo> {
    if (this.info) return this.info;
    if (this.network && !this.viaRpc) {
      this.info = {
        chainId: this.chain?.id ?? this.network.chain,
        crypto: this.chain?.crypto ?? this.network.crypto,
        identityMode: this.network.identityMode,
      };
      return this.info;
    }
    const status: StatusJson = client
      ? await client.status()
      : await this.withNode((c) => c.status());
    this.info = {
      chainId: status.chainId,
      crypto: status.crypto,
      identityMode: status.identityMode,
    };
    return this.info;
  }

  /** The genesis file of the context's chain in DIR (genesis.json for the first chain). */
  genesisPath(): string {
    return join(this.dir, this.chain?.genesis ?? 'genesis.json');
  }

  /**
   * Load the identity ORG/USER of the chain's crypto profile: DIR/orgs/ORG/users/USER, or
   * DIR/orgs/ORG/profiles/<crypto>/users/USER for a profile other than the network's; strict
   * about the spelling.
   */
  identity(spec: string, info: ChainInfo): Identity {
    const m = /^([^/\s]+)\/([^/\s]+)$/.exec(spec ?? '');
    if (!m || !NAME.test(m[1]) || !NAME.test(m[2])) {
      throw new ArchiError(
        'INVALID_ARGS',
        `--as must be ORG/USER (like ${DEFAULT_IDENTITY}), got "${spec}"`,
      );
    }
    const [, org, user] = m;
    const networkCrypto = this.network?.crypto ?? info.crypto;
    const userDir = join(this.dir, orgProfileBase(org, info.crypto, networkCrypto), 'users', user);
    if (!isDir(userDir)) {
      const known = this.knownIdentities(info.crypto);
      const hint = known.length
        ? ` (known: ${known.join(', ')})`
        : ` (${this.dir} holds no identities)`;
      throw new ArchiError(
        'INVALID_ARGS',
        `no identity ${org}/${user}: ${userDir} does not exist${hint}`,
      );
    }
    return Identity.fromUserDir(info.crypto, org, userDir, info.identityMode);
  }

  /** Every ORG/USER found under DIR/orgs (in `crypto`'s profile; default the network's). */
  knownIdentities(crypto?: 'standard' | 'gm'): string[] {
    const out: string[] = [];
    const networkCrypto = this.network?.crypto ?? crypto ?? 'standard';
    for (const org of listDirs(join(this.dir, 'orgs'))) {
      const base = orgProfileBase(org, crypto ?? networkCrypto, networkCrypto);
      for (const user of listDirs(join(this.dir, base, 'users'))) out.push(`${org}/${user}`);
    }
    return out.sort();
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function listDirs(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}
