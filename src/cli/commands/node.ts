/** `archi node start`: run one node in the foreground until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { admissionMessage } from '../../node/membership-sync.ts';
import { startNode } from '../../node/node.ts';

/** Register `archi node ...`. */
export function register(program: Command): void {
  const node = program.command('node').description('run a node');
  node
    .command('start')
    .description('start one node in the foreground (Ctrl-C stops it)')
    .requiredOption('--config <path>', 'the node.json of the node')
    .action(async (opts: { config: string }) => {
      const started = await startNode(opts.config);
      process.stdout.write(
        `${started.config.name} rpc ${started.rpcUrl} height ${started.chain.height}\n`,
      );
      if (started.waitingForAdmission()) {
        process.stdout.write(`${admissionMessage(started.chain.chainId, started.config)}\n`);
      }
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          started.stop().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
