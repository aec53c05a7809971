/**
 * `archi up`: a local network in one command. Inits DIR when it holds no network yet, adds
 * the chains network.json records (`archi chain new`) to their member nodes' node.json,
 * starts every node as its own process, waits until each answers, prints the endpoints
 * (marking nodes that wait for a governance vote to admit them) and stops them all cleanly
 * on Ctrl-C / SIGTERM. The console keeps its port from one start to the next (DIR/console.json).
 * It also starts the service gateway beside the nodes (`archi gateway start`, its log in
 * DIR/gateway/gateway.log; --no-gateway skips it), prints its URL once it serves and the
 * nodes answer, and stops it before the nodes.
 * On a network whose nodes already run it only adds the chains: the running nodes start them
 * without a restart, and it returns once every node hosts its chains.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, Option } from 'commander';
import { admissionMessage } from '../../node/membership-sync.ts';
import { ArchiClient } from '../../sdk/client.ts';
import { ArchiError } from '../../types/errors.ts';
import { joinNetworkChains, type NetworkJoin, waitForChain } from '../chain-join.ts';
import { intOption } from '../client-context.ts';
import { deployOnUp } from './apps.ts';
import { startIotOnUp } from './iot.ts';
import {
  type ConsoleServer,
  ensureConsoleBuilt,
  recordConsoleUrl,
  startConsoleServer,
} from '../console-server.ts';
import { initNetwork, MAX_ORGS } from '../init-network.ts';
import { NODE_V8_FLAGS } from '../../node/v8-flags.ts';

const ARCHI_BIN = fileURLToPath(new URL('../../../bin/archi.js', import.meta.url));

interface UpOptions {
  dir: string;
  nodes: number;
  crypto: 'standard' | 'gm';
  identity: 'cert' | 'key';
  basePort?: number;
  console: boolean;
  consolePort?: number;
  gateway: boolean;
  apps?: boolean;
}

interface NetworkFile {
  chain: string;
  nodes: Array<{ name: string; org?: string; rpc: string }>;
  console: string | null;
}

/** Waits until the node answers; resolves with its status (admission, chain id). */
async function waitReady(
  rpc: string,
  child: ChildProcess,
  timeoutMs: number,
): Promise<{ chainId?: string; admission?: string }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const r = await fetch(`${rpc}/v1/status`);
      if (r.ok) return (await r.json()) as { chainId?: string; admission?: string };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer on ${rpc} within ${timeoutMs} ms`);
}

/** The nodes of the network that answer now as themselves (started by an earlier `archi up`). */
async function runningNodes(nodes: NetworkFile['nodes']): Promise<Set<string>> {
  const answers = await Promise.all(
    nodes.map((n) =>
      new ArchiClient(n.rpc, { timeoutMs: 10_000 }).status().then(
        (s) => s.node === n.name,
        () => false,
      ),
    ),
  );
  return new Set(nodes.filter((_, i) => answers[i]).map((n) => n.name));
}

/** Chains joined on a running network: wait until each node hosts its new chains. */
async function joinRunning(network: NetworkFile, joined: NetworkJoin[]): Promise<void> {
  for (const j of joined) {
    const seen = await waitForChain(j.node, j.rpc, j.chain, true);
    process.stdout.write(`  ${j.node} hosts chain ${j.chain} now (height ${seen.height})\n`);
  }
  process.stdout.write(
    `network ${network.chain} is already running (${network.nodes.length} node${network.nodes.length > 1 ? 's' : ''}); ${joined.length ? 'its nodes host the new chains without a restart' : 'nothing to change'}\n`,
  );
}

/**
 * How long a node may take to answer after its process started. A node that fails exits
 * and is reported at once; this only bounds a slow start (all nodes load at the same time,
 * so on a busy machine a minute is not always enough).
 */
const NODE_START_TIMEOUT_MS = 180_000;

/** Where `archi up` keeps the console's port, so the console URL stays the same per network. */
export const CONSOLE_FILE = 'console.json';

/** The console port stored for the network in `dir`, if any. */
export function storedConsolePort(dir: string): number | undefined {
  const path = join(dir, CONSOLE_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const port = JSON.parse(readFileSync(path, 'utf8'))?.port;
    return Number.isSafeInteger(port) && port >= 1024 && port <= 65535 ? port : undefined;
  } catch {
    return undefined;
  }
}

function storeConsolePort(dir: string, port: number): void {
  const path = join(dir, CONSOLE_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ port }, null, 2)}\n`);
  renameSync(tmp, path);
}

function portOfUrl(url: string): number {
  return Number(new URL(url).port);
}

function isAddressInUse(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err?.code === 'EADDRINUSE' || /EADDRINUSE/.test(err?.message ?? '');
}

/**
 * Serve the console on --console-port, else on the port stored in DIR/console.json, else on
 * a free port; the port used is stored, so the URL stays the same from one start to the next.
 * A stored port that another program took is replaced by a free one, and said so.
 */
export async function serveConsole(
  dir: string,
  requested: number | undefined,
  say: (line: string) => void,
): Promise<ConsoleServer> {
  const stored = storedConsolePort(dir);
  let server: ConsoleServer;
  if (requested !== undefined || stored === undefined) {
    try {
      server = await startConsoleServer({ dir, port: requested ?? 0 });
    } catch (e) {
      throw new ArchiError(
        'BAD_REQUEST',
        `cannot serve the console on 127.0.0.1:${requested ?? 0}: ${(e as Error).message}`,
      );
    }
  } else {
    try {
      server = await startConsoleServer({ dir, port: stored });
    } catch (e) {
      if (!isAddressInUse(e)) {
        throw new ArchiError(
          'BAD_REQUEST',
          `cannot serve the console on 127.0.0.1:${stored}: ${(e as Error).message}`,
        );
      }
      server = await startConsoleServer({ dir, port: 0 });
      say(
        `console port ${stored} (kept in ${join(dir, CONSOLE_FILE)}) is taken by another program; the console moves to port ${portOfUrl(server.url)} and keeps that one (or pass --console-port)`,
      );
    }
  }
  const port = portOfUrl(server.url);
  if (port !== stored) storeConsolePort(dir, port);
  return server;
}

/**
 * How long the gateway may take to serve after its process started: a new embedded database
 * is an initdb (over ten seconds on a busy machine), and it starts while the nodes settle.
 */
const GATEWAY_START_TIMEOUT_MS = 180_000;

/** The readiness line `archi gateway start --json` prints. */
export interface GatewayReady {
  url: string;
  id: string;
  org: string;
  db: string;
  pid: number;
}

/**
 * Spawns `archi gateway start --dir DIR --json` with its output in DIR/gateway/gateway.log;
 * `ready` resolves with its readiness line, or rejects when it exits or stays silent too long.
 */
export function spawnGateway(dir: string): { child: ChildProcess; ready: Promise<GatewayReady> } {
  const gwDir = join(dir, 'gateway');
  mkdirSync(gwDir, { recursive: true, mode: 0o700 });
  const logPath = join(gwDir, 'gateway.log');
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(process.execPath, [ARCHI_BIN, 'gateway', 'start', '--dir', dir, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.pipe(log);
  const ready = new Promise<GatewayReady>((resolveReady, rejectReady) => {
    let buffered = '';
    let errorLine = '';
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      rejectReady(
        new Error(`no readiness line within ${GATEWAY_START_TIMEOUT_MS} ms; log: ${logPath}`),
      );
    }, GATEWAY_START_TIMEOUT_MS);
    child.stderr?.on('data', (d: Buffer) => {
      const line = d
        .toString()
        .split('\n')
        .find((l) => l.startsWith('error:'));
      if (line) errorLine = line;
    });
    child.stdout?.on('data', (d: Buffer) => {
      log.write(d);
      if (settled) return;
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        let msg: Partial<GatewayReady> & { ready?: unknown };
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        if (msg?.ready === true && typeof msg.url === 'string') {
          settled = true;
          clearTimeout(timer);
          resolveReady(msg as GatewayReady);
          return;
        }
      }
    });
    child.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      rejectReady(
        new Error(
          `exited (${signal ?? code})${errorLine ? `: ${errorLine}` : ''}; log: ${logPath}`,
        ),
      );
    });
  });
  // A caller that stops waiting must not leave an unhandled rejection behind.
  ready.catch(() => {});
  return { child, ready };
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

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const warn = (line: string): void => void process.stderr.write(`${line}\n`);

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
      `port of the web console on 127.0.0.1 (default: the one kept in DIR/${CONSOLE_FILE}, else a free port; the port used is kept there)`,
      intOption('--console-port', 1024, 65535),
    )
    .option('--no-console', 'do not build or serve the web console')
    .option('--no-gateway', 'do not start the service gateway (archi gateway start)')
    .option('--apps', 'deploy every reference app (archi apps deploy --all) once the network is up')
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
      // Chains made by `archi chain new` are hosted by their member nodes from now on.
      const joined = joinNetworkChains(dir);
      for (const j of joined) process.stdout.write(`${j.node} joins chain ${j.chain}\n`);
      const running = await runningNodes(network.nodes);
      if (running.size === network.nodes.length) {
        await joinRunning(network, joined);
        if (opts.apps) await deployOnUp(dir, say, warn);
        return;
      }
      if (running.size > 0) {
        throw new ArchiError(
          'NOT_READY',
          `${[...running].join(', ')} of ${dir} already run${running.size === 1 ? 's' : ''} and ${network.nodes
            .filter((n) => !running.has(n.name))
            .map((n) => n.name)
            .join(
              ', ',
            )} do${network.nodes.length - running.size === 1 ? 'es' : ''} not: stop the running nodes first, or start the others with archi node start`,
        );
      }
      const children: ChildProcess[] = [];
      /** Nodes the chain does not list yet (made by `archi org new`), with what they wait for. */
      const waiting = new Map<string, string>();
      let consoleServer: ConsoleServer | undefined;
      let gateway: { child: ChildProcess; ready: Promise<GatewayReady> } | undefined;
      let gatewayReady: GatewayReady | undefined;
      let gatewayNote = opts.gateway ? '(not started)' : '(not started: --no-gateway)';
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
        // The gateway first: it may still be forwarding to the nodes.
        if (gateway) await stopAll([gateway.child]);
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
            [...NODE_V8_FLAGS, ARCHI_BIN, 'node', 'start', '--config', join(nodeDir, 'node.json')],
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
        // Its database opens (an initdb the first time) while the nodes start; it finds the
        // nodes' chains once they answer.
        if (opts.gateway) gateway = spawnGateway(dir);
        for (const [i, n] of network.nodes.entries()) {
          try {
            const status = await waitReady(n.rpc, children[i], NODE_START_TIMEOUT_MS);
            if (status.admission === 'waiting') {
              waiting.set(
                n.name,
                admissionMessage(status.chainId ?? network.chain, {
                  name: n.name,
                  org: n.org ?? '?',
                }),
              );
            }
          } catch (e) {
            throw new ArchiError(
              'NOT_READY',
              `${n.name} did not start: ${(e as Error).message}; log: ${join(dir, 'nodes', n.name, 'node.log')}`,
            );
          }
        }
        if (gateway) {
          const child = gateway.child;
          try {
            gatewayReady = await gateway.ready;
          } catch (e) {
            // A gateway that does not start never stops the network.
            gatewayNote = `(not started: ${(e as Error).message})`;
            process.stderr.write(`gateway did not start: ${(e as Error).message}\n`);
          }
          child.on('exit', (code, signal) => {
            if (!stopping && gatewayReady)
              process.stderr.write(
                `gateway exited (${signal ?? code}); log: ${join(dir, 'gateway', 'gateway.log')}\n`,
              );
          });
        }
        if (consoleBuilt) {
          const buildError = await consoleBuilt;
          if (buildError) {
            process.stderr.write(`console not available: ${buildError.message.split('\n')[0]}\n`);
          } else {
            consoleServer = await serveConsole(dir, opts.consolePort, (line) =>
              process.stderr.write(`${line}\n`),
            );
            recordConsoleUrl(dir, consoleServer.url);
          }
        }
      } catch (e) {
        stopping = true;
        await consoleServer?.close().catch(() => {});
        await stopAll(gateway ? [gateway.child, ...children] : children);
        throw e;
      }
      process.stdout.write(
        `network ${network.chain} is up (${network.nodes.length} node${network.nodes.length > 1 ? 's' : ''})\n`,
      );
      for (const [i, n] of network.nodes.entries()) {
        const note = waiting.has(n.name) ? '  waiting for admission' : '';
        process.stdout.write(`  ${n.name}  rpc ${n.rpc}  pid ${children[i].pid}${note}\n`);
      }
      process.stdout.write(`  console ${consoleServer?.url ?? '(not started)'}\n`);
      process.stdout.write(
        `  gateway ${gatewayReady ? `${gatewayReady.url}  pid ${gatewayReady.pid}` : gatewayNote}\n`,
      );
      for (const message of waiting.values()) process.stdout.write(`${message}\n`);
      if (opts.apps) {
        say('deploying the reference apps (archi apps deploy --all)');
        await deployOnUp(dir, say, warn);
        await startIotOnUp(dir, say, warn);
      }
      process.stdout.write('press Ctrl-C to stop\n');
      await new Promise(() => {});
    });
}
