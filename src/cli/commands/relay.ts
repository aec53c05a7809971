/**
 * `archi relay start --a DIR[:CHAIN] --b DIR[:CHAIN]`: the interchain relayer as a process of
 * its own (src/relayer/, docs/INTERCHAIN.md). Each side is a network directory and, when it
 * is not the network's first chain, the chain; the relayer reaches the chain's nodes recorded
 * there and signs with --as of each directory. It runs until SIGINT/SIGTERM, logging JSON
 * lines (pino) on stdout, and serves Prometheus metrics with --metrics-port.
 */
import type { Command } from 'commander';
import pino from 'pino';
import { ArchiError } from '../../types/errors.ts';
import { chainTarget, parseSide, resolveSide } from '../chain-side.ts';
import { intOption } from '../client-context.ts';

/** The relayer's default identity: a member's client, not an admin (relaying needs only a send role). */
export const DEFAULT_RELAYER_IDENTITY = 'org1/client';

interface StartFlags {
  a: string;
  b?: string;
  evm?: string;
  evmKey?: string;
  interval: number;
  metricsPort?: number;
  as: string;
  logLevel: string;
  maxPackets: number;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

async function start(flags: StartFlags): Promise<void> {
  if (!LEVELS.includes(flags.logLevel)) {
    throw new ArchiError('INVALID_ARGS', `--log-level must be one of ${LEVELS.join(', ')}`);
  }
  if ((flags.b === undefined) === (flags.evm === undefined)) {
    throw new ArchiError(
      'INVALID_ARGS',
      'relay start needs --b DIR[:CHAIN] or --evm URL (one of them)',
    );
  }
  if (flags.evm !== undefined) {
    if (flags.metricsPort !== undefined) {
      throw new ArchiError(
        'INVALID_ARGS',
        '--metrics-port is not served with --evm (its rounds log JSON lines)',
      );
    }
    const { startEvmRelay } = await import('./evm.ts');
    return startEvmRelay({ ...flags, evm: flags.evm });
  }
  const [a, b] = await Promise.all([
    resolveSide(parseSide(flags.a, '--a')),
    resolveSide(parseSide(flags.b as string, '--b')),
  ]);
  // Loaded here, not at the top: other archi commands need none of the relayer.
  const { startRelayer } = await import('../../relayer/relayer.ts');
  const relayer = await startRelayer({
    a: chainTarget(a, flags.as),
    b: chainTarget(b, flags.as),
    intervalMs: flags.interval,
    metricsPort: flags.metricsPort,
    maxPackets: flags.maxPackets,
    logger: pino({
      level: flags.logLevel,
      base: { relayer: `${a.info.chainId}<->${b.info.chainId}`, pid: process.pid },
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
}

/** Adds `archi relay start` to the program. */
export function register(program: Command): void {
  const relay = program
    .command('relay')
    .description('carry packets, acks and timeouts between two chains (a relayer process)');
  relay
    .command('start')
    .description(
      'relay between two chains until stopped: keeps both light clients updated, delivers packets, brings back acks, times packets out; stateless (restart it any time, run several)',
    )
    .requiredOption(
      '--a <dir[:chain]>',
      'one side: a network directory, and the chain when not its first',
    )
    .option('--b <dir[:chain]>', 'the other side')
    .option(
      '--evm <url>',
      "the other side is the EVM bridge of --a's chain (DIR/evm.json), reached through this JSON-RPC node",
    )
    .option(
      '--evm-key <hex>',
      "with --evm: private key paying the EVM txs (default: the EVM node's first unlocked account)",
    )
    .option(
      '--interval <ms>',
      'longest pause between relay rounds (a new block on either chain starts one sooner)',
      intOption('--interval', 10, 3_600_000),
      1000,
    )
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics on 127.0.0.1:PORT/metrics (0: a free port, logged)',
      intOption('--metrics-port', 0, 65535),
    )
    .option(
      '--as <org/user>',
      "identity that signs the relayer's txs in each directory",
      DEFAULT_RELAYER_IDENTITY,
    )
    .option('--log-level <level>', `log level (${LEVELS.join(', ')})`, 'info')
    .option(
      '--max-packets <n>',
      'most pending packets looked at per direction and round',
      intOption('--max-packets', 1, 10_000),
      200,
    )
    .action(start);
}
