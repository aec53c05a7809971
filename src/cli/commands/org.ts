/** `archi org new`: create a new organization and its node outside an existing network directory. */
import { join } from 'node:path';
import type { Command } from 'commander';
import { VALIDATOR_POWER } from '../init-network.ts';
import { MAX_POWER } from '../../types/governance.ts';
import { type NewOrgResult, newOrg } from '../org-new.ts';
import { archiCommand, DEFAULT_DIR, intOption, shellWord } from '../client-context.ts';

interface OrgNewFlags {
  dir: string;
  name: string;
  node?: string;
  power?: number;
  host: string;
  rpcPort?: number;
  p2pPort?: number;
  json?: boolean;
}

/** The printed summary: what was created and the governance commands that admit the org. */
export function formatNewOrg(
  dir: string,
  r: NewOrgResult,
  proposer: string,
  archi = archiCommand(),
): string {
  const [addOrg, addNode] = r.proposals;
  const d = shellWord(dir);
  const role = addNode.args.power > 0 ? `validator, power ${addNode.args.power}` : 'non-validator';
  const propose = (p: (typeof r.proposals)[number]) =>
    `  ${archi} gov propose ${p.kind} --args ${shellWord(`@${join(dir, 'orgs', r.org, `${p.kind}.json`)}`)} --as ${proposer} --dir ${d}`;
  const approve = (note: string) =>
    `  ${archi} gov approve <id> --as <org>/admin --dir ${d}    # ${note}`;
  return `${[
    `Created org ${r.org} and node ${r.node} (${role}) in ${dir}`,
    `  ${join(dir, 'orgs', r.org)}/  CA, TLS CA, users admin and client, add_org.json, add_node.json`,
    `  ${join(dir, 'nodes', r.node)}/  node.json, node and TLS keys  rpc ${r.rpc}  p2p ${r.p2p}`,
    `  network.json and the other nodes' node.json now list ${r.node}; genesis.json is unchanged`,
    '',
    `Make ${r.org} a member on chain (an admin of a member org proposes, the others approve):`,
    propose(addOrg),
    approve(`until the policy is met: ${r.org} is a member`),
    propose(addNode),
    approve(`until the policy is met (${r.org}/admin may vote now)`),
    `Start the node: until the votes pass it logs "waiting for admission" (\`status\` shows it so),`,
    `then it syncs the chain from height 0. \`${archi} up\` starts it with the other nodes from`,
    'its next start (a running one keeps the nodes it started with); or start it on its own:',
    `  ${archi} node start --config ${shellWord(join(dir, 'nodes', r.node, 'node.json'))}`,
  ].join('\n')}\n`;
}

/** Adds `archi org new` to the program. */
export function register(program: Command): void {
  const org = program.command('org').description('organizations of a local network directory');
  org
    .command('new')
    .description(
      'create a new organization and its node in a network directory; prints the add_org and add_node proposals that admit it',
    )
    .option('--dir <dir>', 'network directory made by archi init', DEFAULT_DIR)
    .requiredOption('--name <org>', 'name of the new organization')
    .option('--node <name>', 'name of its node (default: node<k>, the next free number)')
    .option(
      '--power <n>',
      `voting power the add_node proposal asks for; 0 for a non-validator (default: ${VALIDATOR_POWER}, 0 on a solo chain)`,
      intOption('--power', 0, MAX_POWER),
    )
    .option('--host <ip>', 'IPv4 address the node listens on and peers dial', '127.0.0.1')
    .option(
      '--rpc-port <port>',
      'RPC port (default: a free port)',
      intOption('--rpc-port', 1024, 65535),
    )
    .option(
      '--p2p-port <port>',
      'p2p port (default: a free port)',
      intOption('--p2p-port', 1024, 65535),
    )
    .option('--json', 'print {org, node, rpc, p2p, proposals} as JSON')
    .action(async (flags: OrgNewFlags, cmd: Command) => {
      const r = await newOrg({
        dir: flags.dir,
        name: flags.name,
        node: flags.node,
        power: flags.power,
        host: flags.host,
        rpcPort: flags.rpcPort,
        p2pPort: flags.p2pPort,
      });
      // Through commander's output config (stdout by default) so callers can redirect it.
      const write = cmd.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
      if (flags.json) {
        const { org: o, node, rpc, p2p, proposals } = r;
        write(`${JSON.stringify({ org: o, node, rpc, p2p, proposals }, null, 2)}\n`);
      } else {
        write(formatNewOrg(flags.dir, r, `${r.proposer}/admin`));
      }
    });
}
