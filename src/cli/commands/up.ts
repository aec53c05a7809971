/**
 * `archi up`: a local network in one command. Inits DIR when it holds no network yet,
 * starts every node as its own process, waits until each answers, prints the endpoints
 * and stops them all cleanly on Ctrl-C / SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, Option } from 'commander';
import { ArchiError } from '../../types/errors.ts';
import { intOption } from '../client-context.ts';
import {
  type ConsoleServer,
  ensureConsoleBuilt,
  recordConsoleUrl,
  startConsoleServer,
} from '../console-server.ts';
import { initNetwork, MAX_ORGS } from '../init-network.ts';

const ARCHI_BIN = fileURLToPath(new URL('../../../bin/archi.js', import.meta.url));

interface UpOptions {
  dir: string;
  nodes: number;
  crypto: 'standard' | 'gm';
  identity: 'cert' | 'key';
  basePort?: number;
  console: boolean;
  consolePort?: number;
}

interface NetworkFile {
  chain: string;
  nodes: Array<{ name: string; rpc: string }>;
  console: string | null;
}

async function waitReady(rpc: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const r = await fetch(`${rpc}/v1/status`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer on ${rpc} within ${timeoutMs} ms`);
}

function stopAll(children: ChildProcess[]): Promise<void> {
  return Promise.all(
    children.map(
      (c) =>
        new Promise<void>((res) => {
          if (c.exitCode !== null || c.signalCode !== null) return res();
          const kill = setTimeout(() => c.kill('SIGKILL'), 10_000);
          c.once('exit', () => {
            clearTimeout(kill);
            res();
          });
          c.kill('SIGTERM');
        }),
    ),
  ).then(() => undefined);
}

/** Register `archi up`. */
export function register(program: Command): void {
  program
    .command('up')
    .description('start a local network (initialising DIR if empty); Ctrl-C stops it')
    .option('--dir <dir>', 'network directory', '.archipelago')
    .option(
      '--nodes <n>',
      'number of nodes (one organization each)',
      intOption('--nodes', 1, MAX_ORGS),
      4,
    )
    .addOption(
      new Option('--crypto <profile>', 'crypto profile')
        .choices(['standard', 'gm'])
        .default('standard'),
    )
    .addOption(
      new Option('--identity <mode>', 'identity mode').choices(['cert', 'key']).default('cert'),
    )
    .option(
      '--base-port <port>',
      'first port to use (default: free ports)',
      intOption('--base-port', 1024, 65535),
    )
    .option(
      '--console-port <port>',
      'port of the web console on 127.0.0.1 (default: a free port)',
      intOption('--console-port', 1024, 65535),
    )
    .option('--no-console', 'do not build or serve the web console')
    .action(async (opts: UpOptions) => {
      const dir = resolve(opts.dir);
      const nodes = opts.nodes;
      const networkPath = join(dir, 'network.json');
      if (!existsSync(networkPath)) {
        await initNetwork({
          dir,
          orgs: nodes,
          chain: 'archipelago-local',
          crypto: opts.crypto,
          consensus: nodes === 1 ? 'solo' : 'tbft',
          identity: opts.identity,
          basePort: opts.basePort,
        });
        process.stdout.write(`initialised a ${nodes}-node network in ${dir}\n`);
      } else {
        process.stdout.write(`using the network in ${dir}\n`);
      }
      const network = JSON.parse(readFileSync(networkPath, 'utf8')) as NetworkFile;
      const children: ChildProcess[] = [];
      let consoleServer: ConsoleServer | undefined;
      // Built while the nodes start; a console that cannot be built never stops the network.
      const consoleBuilt = opts.console
        ? ensureConsoleBuilt((line) => process.stdout.write(`${line}\n`)).then(
            () => undefined,
            (e: Error) => e,
          )
        : undefined;
      let stopping = false;
      const shutdown = async (code: number): Promise<void> => {
        if (stopping) return;
        stopping = true;
        process.stdout.write('stopping the network...\n');
        if (consoleServer) {
          await consoleServer.close().catch(() => {});
          try {
            recordConsoleUrl(dir, null);
          } catch {
            // network.json gone or unreadable: nothing to unrecord
          }
        }
        await stopAll(children);
        process.stdout.write('stopped\n');
        process.exit(code);
      };
      process.on('SIGINT', () => void shutdown(0));
      process.on('SIGTERM', () => void shutdown(0));
      try {
        for (const n of network.nodes) {
          const nodeDir = join(dir, 'nodes', n.name);
          const log = createWriteStream(join(nodeDir, 'node.log'), { flags: 'a' });
          const child = spawn(
            process.execPath,
            [ARCHI_BIN, 'node', 'start', '--config', join(nodeDir, 'node.json')],
            {
              stdio: ['ignore', 'pipe', 'pipe'],
            },
          );
          child.stdout?.pipe(log);
          child.stderr?.pipe(log);
          child.stderr?.on('data', (d: Buffer) => {
            const line = d
              .toString()
              .trim()
              .split('\n')
              .find((l) => l.startsWith('error:'));
            if (line) process.stderr.write(`${n.name}: ${line}\n`);
          });
          child.on('exit', (code, signal) => {
            if (!stopping)
              process.stderr.write(
                `${n.name} exited (${signal ?? code}); log: ${join(nodeDir, 'node.log')}\n`,
              );
            if (!stopping && children.every((c) => c.exitCode !== null || c.signalCode !== null))
              void shutdown(1);
          });
          children.push(child);
        }
        for (const [i, n] of network.nodes.entries()) {
          try {
            await waitReady(n.rpc, children[i], 60_000);
          } catch (e) {
            throw new ArchiError(
              'NOT_READY',
              `${n.name} did not start: ${(e as Error).message}; log: ${join(dir, 'nodes', n.name, 'node.log')}`,
            );
          }
        }
        if (consoleBuilt) {
          const buildError = await consoleBuilt;
          if (buildError) {
            process.stderr.write(`console not available: ${buildError.message.split('\n')[0]}\n`);
          } else {
            try {
              consoleServer = await startConsoleServer({ dir, port: opts.consolePort });
            } catch (e) {
              throw new ArchiError(
                'BAD_REQUEST',
                `cannot serve the console on 127.0.0.1:${opts.consolePort ?? 0}: ${(e as Error).message}`,
              );
            }
            recordConsoleUrl(dir, consoleServer.url);
          }
        }
      } catch (e) {
        stopping = true;
        await consoleServer?.close().catch(() => {});
        await stopAll(children);
        throw e;
      }
      process.stdout.write(
        `network ${network.chain} is up (${network.nodes.length} node${network.nodes.length > 1 ? 's' : ''})\n`,
      );
      for (const [i, n] of network.nodes.entries()) {
        process.stdout.write(`  ${n.name}  rpc ${n.rpc}  pid ${children[i].pid}\n`);
      }
      process.stdout.write(`  console ${consoleServer?.url ?? '(not started)'}\n`);
      process.stdout.write('press Ctrl-C to stop\n');
      await new Promise(() => {});
    });
}
