/**
 * Send-to-mint latency of the EVM bridge (issue 14): a network of --nodes organizations (one
 * process per node), a Hardhat node mining a block every --evm-block-ms (besides one per tx),
 * `archi evm deploy` with --confirmations N, one attestor process for every validator
 * (`archi evm attest --node node1,...`) and one relayer (`archi relay start --evm`). Then
 * --transfers transfers each way, one at a time:
 * - to the EVM: from the commit of `token.sendTransfer` on Archipelago (the SDK's answer) to
 *   the `Minted` on the EVM (the ERC-20 balance seen by polling every 50 ms), and to the ack
 *   settling it on Archipelago (which waits for N confirmations and the attestors);
 * - from the EVM: from the mined `sendTransfer` (burn) to the release on Archipelago (the
 *   balance seen), which waits for N confirmations, 2/3 of the power attesting and the relayer,
 *   and to the ack settling it on the EVM.
 * `node --import tsx bench/evm-bridge-latency.ts [--nodes 4] [--transfers 5] [--confirmations 2]
 * [--evm-block-ms 1000] [--relay-interval 300]`: prints one JSON report and writes it to
 * bench/results/evm-bridge-latency-DATE.json. Timings never fail anything; a setup failure is
 * reported with an `error` and exit code 1.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Wallet } from 'ethers';
import { EvmBridge } from '../src/evm/bridge.ts';
import { ArchiClient } from '../src/sdk/client.ts';
import { getSettled } from '../src/sdk/ibc.ts';
import { Identity } from '../src/sdk/identity.ts';
import type { CommittedAnswer } from '../src/sdk/types.ts';
import { startHardhatNode } from '../test/evm/hardhat-node.ts';
import {
  ARCHI,
  Cleanup,
  gitCommit,
  machineInfo,
  runArchi,
  spawnNodes,
  waitNodes,
  writeReport,
} from './harness.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '4' },
    transfers: { type: 'string', default: '5' },
    confirmations: { type: 'string', default: '2' },
    'evm-block-ms': { type: 'string', default: '1000' },
    'relay-interval': { type: 'string', default: '300' },
  },
});

function intArg(name: keyof typeof values, min: number): number {
  const n = Number(values[name]);
  if (!Number.isSafeInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got ${values[name]}`);
    process.exit(2);
  }
  return n;
}

const NODES = intArg('nodes', 1);
const TRANSFERS = intArg('transfers', 1);
const CONFIRMATIONS = intArg('confirmations', 0);
const EVM_BLOCK_MS = intArg('evm-block-ms', 100);
const RELAY_INTERVAL = intArg('relay-interval', 10);
/** Hardhat's dev accounts 0 (deployer, relayer) and 1 (the EVM holder). */
const EVM_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
];

const progress = (text: string): void => {
  process.stderr.write(`[evm-bridge-latency] ${text}\n`);
};

/** Polls `pred` every 50 ms until true; the time it became true (ms since epoch). */
async function until(
  pred: () => Promise<boolean>,
  what: string,
  timeoutMs = 300_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return Date.now();
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function summary(ms: number[]): { p50: number; max: number; mean: number } {
  const s = [...ms].sort((a, b) => a - b);
  return {
    p50: s[Math.ceil(s.length / 2) - 1],
    max: s[s.length - 1],
    mean: Math.round(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

/** Short consensus timeouts, as the e2e networks use. */
function fastGenesis(dir: string): void {
  const path = join(dir, 'genesis.json');
  const g = JSON.parse(readFileSync(path, 'utf8'));
  g.params = {
    ...g.params,
    timeoutProposeMs: 1500,
    timeoutVoteMs: 500,
    timeoutDeltaMs: 250,
    blockIntervalMs: 200,
  };
  writeFileSync(path, JSON.stringify(g, null, 2));
}

async function main(cleanup: Cleanup): Promise<Record<string, unknown>> {
  const dir = cleanup.dir(mkdtempSync(join(tmpdir(), 'archi-evm-lat-')));
  const net = join(dir, 'net');
  await runArchi(['init', '--dir', net, '--orgs', String(NODES), '--consensus', 'tbft'], cleanup);
  fastGenesis(net);
  const nodes = spawnNodes(net, NODES).map((c) => cleanup.process(c));
  const [rpcs, hh] = await Promise.all([waitNodes(nodes, 120_000), startHardhatNode()]);
  try {
    await hh.provider.send('evm_setIntervalMining', [EVM_BLOCK_MS]);
    const client = new ArchiClient(rpcs[0]);
    const network = JSON.parse(readFileSync(join(net, 'network.json'), 'utf8'));
    const admin = Identity.fromUserDir(
      network.crypto,
      'org1',
      join(net, 'orgs/org1/users/admin'),
      network.identityMode,
    );
    const send = async (contract: string, method: string, args: unknown) => {
      const a = (await client.send(
        admin,
        { contract, method, args },
        { wait: true },
      )) as CommittedAnswer;
      if (a.receipt.status !== 'ok')
        throw new Error(`${method}: ${a.receipt.code} ${a.receipt.message}`);
      return a;
    };
    await send('token', 'mint', { to: admin.address, amount: String(1000 * TRANSFERS) });
    progress('deploying');
    const record = JSON.parse(
      await runArchi(
        [
          'evm',
          'deploy',
          '--dir',
          net,
          '--evm',
          hh.url,
          '--evm-key',
          EVM_KEYS[0],
          '--confirmations',
          String(CONFIRMATIONS),
          '--json',
        ],
        cleanup,
      ),
    );
    const names = Array.from({ length: NODES }, (_, k) => `node${k + 1}`).join(',');
    const bg = (args: string[]) =>
      cleanup.process(
        spawn(process.execPath, [ARCHI, ...args], { stdio: ['ignore', 'ignore', 'inherit'] }),
      );
    bg([
      'evm',
      'attest',
      '--dir',
      net,
      '--node',
      names,
      '--interval',
      '200',
      '--log-level',
      'warn',
    ]);
    bg([
      'relay',
      'start',
      '--a',
      net,
      '--evm',
      hh.url,
      '--evm-key',
      EVM_KEYS[0],
      '--interval',
      String(RELAY_INTERVAL),
      '--log-level',
      'warn',
    ]);

    const holder = new Wallet(EVM_KEYS[1], hh.provider);
    const bridge = new EvmBridge(record.bridge, holder);
    const voucher = `transfer/${record.bridgeClientId}/${record.chainId}`;
    const toMint: number[] = [];
    const toAck: number[] = [];
    const backRelease: number[] = [];
    const backAck: number[] = [];
    for (let i = 0; i < TRANSFERS; i++) {
      progress(`transfer ${i + 1} of ${TRANSFERS}`);
      const before = await bridge.balanceOf(voucher, holder.address);
      const a = await send('token', 'sendTransfer', {
        client: record.archiClientId,
        receiver: holder.address,
        amount: '100',
        timeoutTime: Date.now() + 600_000,
      });
      const t0 = Date.now();
      const seq = (a.receipt.result as { sequence: number }).sequence;
      toMint.push(
        (await until(
          async () => (await bridge.balanceOf(voucher, holder.address)) > before,
          'mint',
        )) - t0,
      );
      toAck.push(
        (await until(
          async () => (await getSettled(client, record.archiClientId, seq)) !== null,
          'ack',
        )) - t0,
      );

      const held = BigInt(
        (await client.query('token', 'balanceOf', { owner: admin.address })).result as string,
      );
      const sent = await bridge.sendTransfer({
        denom: voucher,
        amount: 40n,
        receiver: admin.address,
        timeoutTime: Date.now() + 600_000,
      });
      const t1 = Date.now();
      backRelease.push(
        (await until(
          async () =>
            BigInt(
              (
                await client.query('token', 'balanceOf', { owner: admin.address })
              ).result as string,
            ) > held,
          'release',
        )) - t1,
      );
      backAck.push(
        (await until(async () => !(await bridge.pending(sent.packet.sequence)), 'EVM ack')) - t1,
      );
    }
    return {
      toEvm: {
        sendToMintMs: summary(toMint),
        sendToAckMs: summary(toAck),
        samples: { mint: toMint, ack: toAck },
      },
      fromEvm: {
        burnToReleaseMs: summary(backRelease),
        burnToAckMs: summary(backAck),
        samples: { release: backRelease, ack: backAck },
      },
    };
  } finally {
    await hh.stop();
  }
}

const cleanup = new Cleanup();
cleanup.onSignals();
const base = {
  bench: 'evm-bridge-latency',
  date: new Date().toISOString(),
  commit: gitCommit(),
  machine: machineInfo(),
  settings: {
    nodes: NODES,
    transfers: TRANSFERS,
    confirmations: CONFIRMATIONS,
    evmBlockMs: EVM_BLOCK_MS,
    relayIntervalMs: RELAY_INTERVAL,
    attestorIntervalMs: 200,
  },
};
try {
  const results = await main(cleanup);
  await cleanup.run();
  writeReport('evm-bridge-latency', { ...base, ...results });
} catch (e) {
  await cleanup.run();
  console.log(JSON.stringify({ ...base, error: (e as Error).message }, null, 2));
  process.exitCode = 1;
}
