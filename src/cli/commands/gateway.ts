/**
 * `archi gateway start|status`: the service gateway (docs/GATEWAY.md) as a process of its own
 * in front of a network's nodes. `start` runs until SIGINT/SIGTERM; with --json it prints one
 * readiness line, which is how `archi up` and the tests know it serves. Also the helpers the
 * tenant and app commands share: the gateway's URL (network.json `gateway`) and the
 * operator's token (DIR/gateway/admin.token).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { GatewayAdmin } from '../../sdk/gateway-client.ts';
import { ArchiError } from '../../types/errors.ts';
import {
  archiCommand,
  cliOutput,
  DEFAULT_DIR,
  dirFlag,
  intOption,
  readNetwork,
} from '../client-context.ts';
import { formatTable } from './client.ts';

/** network.json's record of the gateway (written by the first gateway process). */
export interface GatewayRecord {
  url: string;
  id?: string;
  org?: string;
  db?: string;
}

export function print(text: string): void {
  cliOutput.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

/** The `gateway` record of DIR/network.json, if any. */
export function gatewayRecord(dir: string): GatewayRecord | undefined {
  const path = join(dir, 'network.json');
  if (!readNetwork(dir)) return undefined;
  const raw = JSON.parse(readFileSync(path, 'utf8'));
  const g = raw?.gateway;
  return g && typeof g.url === 'string' ? (g as GatewayRecord) : undefined;
}

/** The gateway URL to use: --gateway, else network.json's record; throws a hint when neither. */
export function gatewayUrl(dir: string, override?: string): string {
  if (override) return override;
  const g = gatewayRecord(dir);
  if (g) return g.url;
  throw new ArchiError(
    'NOT_READY',
    `no gateway recorded in ${join(dir, 'network.json')}: start one with "${archiCommand()} gateway start${dirFlag(dir) || ` --dir ${dir}`}" (archi up starts one) or pass --gateway URL`,
  );
}

/** The operator's client: URL from network.json (or --gateway), token from DIR/gateway/admin.token. */
export function adminClient(dirFlagValue: string | undefined, urlOverride?: string): GatewayAdmin {
  const dir = resolve(dirFlagValue ?? DEFAULT_DIR);
  const url = gatewayUrl(dir, urlOverride);
  const tokenPath = join(dir, 'gateway', 'admin.token');
  if (!existsSync(tokenPath)) {
    throw new ArchiError(
      'GW_UNAUTHORIZED',
      `no admin token at ${tokenPath}: the gateway writes it on its first start; operator commands run where the network directory is`,
    );
  }
  return new GatewayAdmin(url, readFileSync(tokenPath, 'utf8').trim());
}

/** Adds --dir, --gateway and --json, the options of every tenant and app command. */
export function addGatewayOptions(cmd: Command): Command {
  return cmd
    .option('--dir <dir>', 'network directory (network.json, gateway token, apps)', DEFAULT_DIR)
    .option('--gateway <url>', 'the gateway to use (default: the one recorded in network.json)')
    .option('--json', 'machine-readable output');
}

interface StartFlags {
  dir: string;
  db?: string;
  port?: number;
  host: string;
  org?: string;
  id: string;
  masterKeyFile?: string;
  json?: boolean;
}

async function start(flags: StartFlags): Promise<void> {
  const dir = resolve(flags.dir);
  if (!readNetwork(dir)) {
    throw new ArchiError(
      'BAD_REQUEST',
      `no network at ${dir} (no network.json): run "${archiCommand()} init" or "${archiCommand()} up" first`,
    );
  }
  // Loaded here, not at the top: every other archi command would load the server's database
  // driver and web framework otherwise.
  const { startGateway } = await import('../../gateway/gateway.ts');
  const gw = await startGateway({
    dir,
    db: flags.db,
    port: flags.port,
    host: flags.host,
    org: flags.org,
    id: flags.id,
    masterKeyFile: flags.masterKeyFile,
  });
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ ready: true, url: gw.url, id: gw.id, org: gw.org, db: gw.db, pid: process.pid })}\n`,
    );
  } else {
    process.stdout.write(
      `gateway ${gw.id} of ${gw.org} serves ${gw.url} (database: ${gw.db})\npress Ctrl-C to stop\n`,
    );
  }
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await gw.close();
  if (!flags.json) process.stdout.write('gateway stopped\n');
}

/** Register `archi gateway ...`. */
export function register(program: Command): void {
  const gateway = program
    .command('gateway')
    .description("the service gateway: tenants' apps reach the chains through it");

  gateway
    .command('start')
    .description('run a gateway in front of the network in DIR (Ctrl-C stops it)')
    .option('--dir <dir>', 'network directory', DEFAULT_DIR)
    .option(
      '--db <url>',
      'a PostgreSQL server (postgres://...); default: an embedded database in DIR/gateway/db',
    )
    .option(
      '--port <port>',
      'port to listen on (0: a free one; default: the one network.json records for this id when free)',
      intOption('--port', 0, 65535),
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--org <org>', "the organization it acts for (default: the first node's)")
    .option('--id <id>', 'gateway id (several gateways on one database have different ids)', 'gw-1')
    .option(
      '--master-key-file <file>',
      "the key that seals key-trust apps' keys (default: DIR/gateway/master.key, or ARCHI_GW_MASTER_KEY)",
    )
    .option('--json', 'print one JSON line {ready, url, id, org, db, pid} once it serves')
    .action(start);

  gateway
    .command('status')
    .description("the gateway's health and today's load per chain")
    .option('--dir <dir>', 'network directory', DEFAULT_DIR)
    .option('--gateway <url>', 'the gateway to ask (default: the one recorded in network.json)')
    .option('--json', 'machine-readable output')
    .action(async (flags: { dir: string; gateway?: string; json?: boolean }) => {
      const admin = adminClient(flags.dir, flags.gateway);
      const health = await admin.health();
      const load = await admin.load();
      if (flags.json) {
        printJson({ url: admin.url, ...health, load });
        return;
      }
      print(
        `gateway ${health.id} of ${health.org} at ${admin.url}: ${health.ok ? 'ok' : 'NOT ok'}`,
      );
      if (load.length) {
        print(
          formatTable(
            ['CHAIN', 'APPS', 'TXS TODAY', 'QUERIES TODAY', 'REJECTED TODAY'],
            load.map((l) => [
              l.chain,
              String(l.apps),
              String(l.txsToday),
              String(l.queriesToday),
              String(l.rejectedToday),
            ]),
          ),
        );
      }
    });
}
