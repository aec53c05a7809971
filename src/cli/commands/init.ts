/** `archi init`: create a local network directory (CAs, identities, genesis, node configs). */
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import {
  DEFAULT_CHAIN,
  DEFAULT_HOSTS_BASE_PORT,
  DEFAULT_ORGS,
  initNetwork,
  MAX_ORGS,
  type NetworkInfo,
  parseHostList,
} from '../init-network.ts';
import { archiCommand, intOption, shellWord } from '../client-context.ts';

interface InitFlags {
  dir: string;
  orgs?: number;
  chain: string;
  crypto: 'standard' | 'gm';
  consensus?: 'solo' | 'tbft';
  identity: 'cert' | 'key';
  basePort?: number;
  hosts?: string[];
  json?: boolean;
}

/**
 * The short human summary printed after a successful init; `acrossHosts` suggests packing
 * each node for its host instead of starting one here.
 */
export function formatSummary(dir: string, info: NetworkInfo, acrossHosts = false): string {
  const lines = [
    `Initialized chain ${info.chain} in ${dir} (${info.crypto} crypto, ${info.identityMode} identity, ${info.consensus})`,
  ];
  const w = Math.max(...info.nodes.map((n) => n.name.length));
  for (const n of info.nodes) {
    lines.push(`  ${n.name.padEnd(w)}  ${n.org.padEnd(w)}  rpc ${n.rpc}  p2p ${n.p2p}`);
  }
  const first = info.nodes[0];
  if (first && acrossHosts) {
    lines.push(
      `Bundle each node for its host: ${archiCommand()} pack --dir ${shellWord(dir)} --node ${first.name} (and so on; see docs/OPERATIONS.md)`,
    );
  } else if (first) {
    lines.push(
      `Start a node: ${archiCommand()} node start --config ${shellWord(join(dir, 'nodes', first.name, 'node.json'))}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Adds `archi init` to the program. */
export function register(program: Command): void {
  program
    .command('init')
    .description('create a local network: org CAs, identities, genesis and one config per node')
    .requiredOption('--dir <dir>', 'directory to create the network in (must not hold one already)')
    .option(
      '--orgs <n>',
      `number of organizations, one node each (1-${MAX_ORGS}; default: ${DEFAULT_ORGS}, or one per --hosts entry)`,
      intOption('--orgs', 1, MAX_ORGS),
    )
    .option('--chain <name>', 'chain id', DEFAULT_CHAIN)
    .addOption(
      new Option('--crypto <profile>', 'crypto profile')
        .choices(['standard', 'gm'])
        .default('standard'),
    )
    .addOption(
      new Option(
        '--consensus <engine>',
        'consensus engine (default: solo for one org, else tbft)',
      ).choices(['solo', 'tbft']),
    )
    .addOption(
      new Option('--identity <mode>', 'member identity mode')
        .choices(['cert', 'key'])
        .default('cert'),
    )
    .option(
      '--base-port <port>',
      'first port; node i uses base+2(i-1) for RPC and the next for p2p (default: free ports); with --hosts every node uses base and base+1',
      intOption('--base-port', 1024, 65535),
    )
    .option(
      '--hosts <h1,h2,...>',
      `one host per org (IPv4, IPv6 or DNS name): node i listens there and peers dial it; every node then uses the same two ports (default ${DEFAULT_HOSTS_BASE_PORT} and ${DEFAULT_HOSTS_BASE_PORT + 1})`,
      parseHostList,
    )
    .option('--json', 'print the network description as JSON')
    .action(async (flags: InitFlags, cmd: Command) => {
      const info = await initNetwork({
        dir: flags.dir,
        orgs: flags.orgs,
        chain: flags.chain,
        crypto: flags.crypto,
        consensus: flags.consensus,
        identity: flags.identity,
        basePort: flags.basePort,
        hosts: flags.hosts,
      });
      // Through commander's output config (stdout by default) so callers can redirect it.
      const write = cmd.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
      write(
        flags.json
          ? `${JSON.stringify(info, null, 2)}\n`
          : formatSummary(flags.dir, info, flags.hosts !== undefined),
      );
    });
}
