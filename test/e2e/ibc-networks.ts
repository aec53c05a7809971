/**
 * Two real networks for interchain e2e tests, as a person sets them up: island-a (standard
 * crypto) and island-b (gm), each from `archi init` + `archi up` in a temp dir of its own,
 * connected with `archi ibc connect` and relayed by `archi relay start`; and the argument
 * lists of those commands and of `archi ibc transfer`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArchiClient } from '../../src/sdk/client.ts';
import { Identity } from '../../src/sdk/identity.ts';
import { removeDir, type Running, startArchi, stopAll, tempDir, up } from './harness.ts';
import { initNetwork } from './network.ts';

/** One network of the pair, served by its `archi up` process. */
export interface IbcNetwork {
  dir: string;
  chainId: string;
  /** The `archi up` process serving it. */
  proc: Running;
  rpc: string;
  /** The console URL `archi up` printed, if it printed one. */
  console: string | null;
  client: ArchiClient;
  /** org1's admin (the CLI's default identity). */
  admin: Identity;
}

/** Directories of the networks started, removed by stopNetworks. */
const dirs: string[] = [];

/** `archi init` + `archi up` of a network of `orgs` organizations under `chainId`. */
async function startNetwork(chainId: string, crypto: string, orgs: number): Promise<IbcNetwork> {
  // Kept before init: a failed start still leaves its directory to stopNetworks.
  const dir = tempDir(`archi-${chainId}-`);
  dirs.push(dir);
  await initNetwork(dir, orgs, ['--chain', chainId, '--crypto', crypto]);
  const { rpc, proc, console } = await up(dir);
  const net = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'));
  const admin = Identity.fromUserDir(
    net.crypto,
    'org1',
    join(dir, 'orgs/org1/users/admin'),
    net.identityMode,
  );
  return { dir, chainId, proc, rpc, console, client: new ArchiClient(rpc), admin };
}

/**
 * Starts island-a (standard crypto, `orgsA` organizations) and island-b (gm, one organization)
 * side by side, not yet connected.
 */
export function startNetworks(orgsA = 1): Promise<[IbcNetwork, IbcNetwork]> {
  return Promise.all([
    startNetwork('island-a', 'standard', orgsA),
    startNetwork('island-b', 'gm', 1),
  ]);
}

/** Stops every process startArchi started (nodes, relayers) and removes the networks' dirs. */
export async function stopNetworks(): Promise<void> {
  await stopAll();
  for (const d of dirs.splice(0)) removeDir(d);
}

/** `archi ibc connect` of the two networks' directories, with `extra` flags. */
export const connectArgs = (a: IbcNetwork, b: IbcNetwork, ...extra: string[]): string[] => [
  'ibc',
  'connect',
  '--a',
  a.dir,
  '--b',
  b.dir,
  ...extra,
];

/** Starts `archi relay start` between the two networks, polling every 250 ms at the most. */
export const startRelay = (a: IbcNetwork, b: IbcNetwork, ...extra: string[]): Running =>
  startArchi(['relay', 'start', '--a', a.dir, '--b', b.dir, '--interval', '250', ...extra]);

/** `archi ibc transfer` of `amount` from the network in `dir` to `receiver` on `toChain`. */
export const transferArgs = (
  dir: string,
  toChain: string,
  receiver: string,
  amount: string,
  ...extra: string[]
): string[] => [
  'ibc',
  'transfer',
  '--dir',
  dir,
  '--to-chain',
  toChain,
  '--receiver',
  receiver,
  '--amount',
  amount,
  ...extra,
];
