/** `archi pack`: one bundle per node for an operator to copy to that node's host. */
import type { Command } from 'commander';
import { DEFAULT_DIR, shellWord } from '../client-context.ts';
import { DEFAULT_INSTALL_ROOT, packNode } from '../pack.ts';

interface PackFlags {
  dir: string;
  node: string;
  out?: string;
  installDir?: string;
  json?: boolean;
}

/** Adds `archi pack` to the program. */
export function register(program: Command): void {
  program
    .command('pack')
    .description(
      "write one node's bundle (.tar.gz): its keys and certificates, CA certificates, genesis, node.json, a systemd unit and a README, for its host",
    )
    .option('--dir <dir>', 'network directory made by archi init', DEFAULT_DIR)
    .requiredOption('--node <name>', 'the node to bundle (node1, node2, ...)')
    .option(
      '--out <path>',
      'bundle file to write (default: DIR/bundles/<node>.tar.gz); never overwritten',
    )
    .option(
      '--install-dir <path>',
      `where the bundle is unpacked on its host, for the systemd unit (default: ${DEFAULT_INSTALL_ROOT}/<node>)`,
    )
    .option('--json', 'print the result as JSON')
    .action(async (flags: PackFlags, cmd: Command) => {
      const r = await packNode({
        dir: flags.dir,
        node: flags.node,
        out: flags.out,
        installDir: flags.installDir,
      });
      const write = cmd.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
      if (flags.json) {
        write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      write(
        `Packed ${r.node} into ${r.out} (${r.files.length} files; it holds ${r.node}'s private keys, keep it owner-only)\n` +
          `Copy it to ${r.node}'s host and follow ${r.node}/README.md inside: tar -xzf ${shellWord(r.out.replace(/^.*\//, ''))} -C ${r.installDir} --strip-components=1\n`,
      );
    });
}
