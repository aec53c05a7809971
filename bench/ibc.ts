/**
 * The interchain bench (issue 13): two networks of --nodes organizations each (A with
 * --profile-a, B with --profile-b; one process per node), connected with `archi ibc connect`,
 * one relayer process (`archi relay start`), and token transfers from A to B
 * (`token.sendTransfer`) signed through the SDK:
 * 1. latency: --latency-transfers transfers one at a time, each from the block that commits
 *    its send on A to the block that settles it on A (acked), in ms and in mean block
 *    intervals of the slower chain (measured from block times over the same stretch);
 * 2. throughput: --transfers transfers submitted at --concurrency, transfers acked per second
 *    from the first send (wall clock) to the block on A that settled the last ack (the nodes'
 *    clock: the same machine's), with how many were acked, refunded (error ack), timed out or
 *    still pending when all settled or --timeout (seconds) passed. One sender is enough: txs
 *    carry random nonces and the mempool has no per-sender limit; --senders N spreads the sends
 *    over N identities of A (each org's admin, then its client) and over A's nodes.
 * Prints one JSON report and writes it to bench/results/ibc-DATE.json. Timings never fail
 * anything; setup failures are reported with an `error` and exit code 1.
 * Other options: --relay-interval MS and --relay-max-packets N (passed to the relayer; its
 * defaults otherwise), --packet-timeout S (each transfer's timeoutTime, default 3600),
 * --logs DIR (node and relayer logs).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ArchiClient } from '../src/sdk/client.ts';
import { allPendingPackets, getSettled, type IbcSettled } from '../src/sdk/ibc.ts';
import { Identity } from '../src/sdk/identity.ts';
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
    transfers: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '64' },
    senders: { type: 'string', default: '1' },
    'latency-transfers': { type: 'string', default: '30' },
    'profile-a': { type: 'string', default: 'standard' },
    'profile-b': { type: 'string', default: 'gm' },
    timeout: { type: 'string', default: '600' },
    'packet-timeout': { type: 'string', default: '3600' },
    'relay-interval': { type: 'string' },
    'relay-max-packets': { type: 'string' },
    logs: { type: 'string' },
  },
});

/** A positive integer option, or exit with a usage error. */
function intArg(name: keyof typeof values, min = 1): number {
  const n = Number(values[name]);
  if (!Number.isSafeInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got ${values[name]}`);
    process.exit(2);
  }
  return n;
}

const NODES = intArg('nodes');
const TRANSFERS = intArg('transfers', 0);
const CONCURRENCY = intArg('concurrency');
const SENDERS = intArg('senders');
const LATENCY_TRANSFERS = intArg('latency-transfers', 0);
const TIMEOUT_MS = intArg('timeout') * 1000;
const PACKET_TIMEOUT_MS = intArg('packet-timeout') * 1000;
const PROFILES = { a: values['profile-a'], b: values['profile-b'] };
for (const p of Object.values(PROFILES)) {
  if (p !== 'standard' && p !== 'gm') {
    console.error(`crypto profiles are standard or gm, got ${p}`);
    process.exit(2);
  }
}
// Each sender is one org's admin or client identity of A.
if (SENDERS > 2 * NODES) {
  console.error(`--senders is at most 2 x --nodes (each org's admin and client), got ${SENDERS}`);
  process.exit(2);
}
const CHAIN = { a: 'bench-a', b: 'bench-b' };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const progress = (text: string): void => {
  process.stderr.write(`[ibc bench] ${text}\n`);
};

/** Run `fn` over `items` with at most `limit` at once. */
async function mapLimit<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** p-th percentile (nearest rank) of ascending `sorted`. */
function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round1 = (n: number | null): number | null => (n === null ? null : Math.round(n * 10) / 10);

function summary(ms: number[]): { p50: number | null; p90: number | null; max: number | null } {
  const s = [...ms].sort((x, y) => x - y);
  return { p50: percentile(s, 50), p90: percentile(s, 90), max: s.length ? s[s.length - 1] : null };
}

/** Ports a network's nodes were given (init picks free ones at random, each net on its own). */
function portsOf(dir: string): number[] {
  const net = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'));
  return net.nodes.flatMap((n: { rpc: string; p2p: string }) => [
    Number(new URL(n.rpc).port),
    Number(n.p2p.slice(n.p2p.lastIndexOf(':') + 1)),
  ]);
}

async function initNetwork(dir: string, chain: string, crypto: string): Promise<void> {
  const args = [
    'init',
    '--dir',
    dir,
    '--orgs',
    String(NODES),
    '--chain',
    chain,
    '--crypto',
    crypto,
  ];
  await runArchi(args, cleanup);
}

/** One of a network's identities (orgs/ORG/users/USER). */
function identity(dir: string, org: string, user: string): Identity {
  const net = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'));
  return Identity.fromUserDir(
    net.crypto,
    org,
    join(dir, 'orgs', org, 'users', user),
    net.identityMode,
  );
}

/** Block times of one chain, fetched once per height. */
class BlockTimes {
  private readonly cache = new Map<number, Promise<number>>();
  constructor(readonly client: ArchiClient) {}
  at(height: number): Promise<number> {
    let p = this.cache.get(height);
    if (!p) {
      p = this.client.getBlock(height).then((b) => Number(b.header.time));
      p.catch(() => this.cache.delete(height));
      this.cache.set(height, p);
    }
    return p;
  }
  async latest(): Promise<Mark> {
    const b = await this.client.getBlock('latest');
    return { height: b.height, time: Number(b.header.time) };
  }
}

interface Mark {
  height: number;
  time: number;
}

/** Mean time between blocks from `from` to `to` (ms), null without a block in between. */
const meanInterval = (from: Mark, to: Mark): number | null =>
  to.height > from.height ? round1((to.time - from.time) / (to.height - from.height)) : null;

type Outcome = 'acked' | 'refunded' | 'timed-out';
const outcomeOf = (s: IbcSettled): Outcome =>
  s.status === 'timed-out' ? 'timed-out' : s.ack && 'error' in s.ack ? 'refunded' : 'acked';

/**
 * The relayer process, its log lines drained (to DIR/relayer.log with --logs) and read for
 * the blocks of B that received A's packets (`received`: sequence -> B height).
 */
function startRelayer(
  cleanup: Cleanup,
  dirA: string,
  dirB: string,
): { child: ChildProcess; metricsUrl: Promise<string>; received: Map<number, number> } {
  const args = ['relay', 'start', '--a', dirA, '--b', dirB, '--metrics-port', '0'];
  if (values['relay-interval']) args.push('--interval', values['relay-interval']);
  if (values['relay-max-packets']) args.push('--max-packets', values['relay-max-packets']);
  const child = cleanup.process(
    spawn(process.execPath, [ARCHI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  const log = values.logs ? createWriteStream(join(values.logs, 'relayer.log')) : undefined;
  const received = new Map<number, number>();
  const metricsUrl = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the relayer did not start in 60 s')), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the relayer exited with ${code}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log?.write(`${line}\n`);
      if (!line.includes('relayer started') && !line.includes('packet delivered')) return;
      let j: Record<string, unknown>;
      try {
        j = JSON.parse(line);
      } catch {
        return; // not a JSON log line
      }
      if (j.msg === 'relayer started' && typeof j.metrics === 'string') {
        clearTimeout(timer);
        resolve(j.metrics);
      } else if (j.msg === 'packet delivered' && j.chain === CHAIN.b && j.kind === 'recv') {
        received.set(Number(j.sequence), Number(j.block));
      }
    });
  });
  metricsUrl.catch(() => undefined);
  return { child, metricsUrl, received };
}

/** The relayer's counters, summed over labels (errors also by code). */
async function relayerCounters(url: string): Promise<Record<string, unknown>> {
  const text = await (await fetch(url)).text();
  const sums: Record<string, number> = {};
  const errorsByCode: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(archi_relayer_\w+?)(?:_total)?(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    sums[m[1]] = (sums[m[1]] ?? 0) + v;
    if (m[1] === 'archi_relayer_errors') {
      const code = /code="([^"]*)"/.exec(m[2] ?? '')?.[1] ?? '?';
      errorsByCode[code] = (errorsByCode[code] ?? 0) + v;
    }
  }
  return {
    packetsRelayed: sums.archi_relayer_packets_relayed ?? 0,
    acksRelayed: sums.archi_relayer_acks_relayed ?? 0,
    timeoutsRelayed: sums.archi_relayer_timeouts_relayed ?? 0,
    clientUpdates: sums.archi_relayer_client_updates ?? 0,
    races: sums.archi_relayer_races ?? 0,
    rounds: sums.archi_relayer_rounds ?? 0,
    errors: errorsByCode,
  };
}

/** What the bench needs of the two running networks. */
interface Setup {
  /** One client per node of A. */
  a: ArchiClient[];
  b: ArchiClient;
  timesA: BlockTimes;
  timesB: BlockTimes;
  /** A's client of B: the transfers' source client. */
  clientId: string;
  senders: Identity[];
  receiver: string;
  /** Sequence -> B's height that received it, from the relayer's log. */
  received: Map<number, number>;
}

interface Sent {
  sequence: number;
  height: number;
}

/** One sendTransfer of 1 unit of A's own denomination, waited for until committed. */
async function send(
  s: Setup,
  client: ArchiClient,
  sender: Identity,
): Promise<Sent | { error: string }> {
  const answer = await client.send(
    sender,
    {
      contract: 'token',
      method: 'sendTransfer',
      args: {
        client: s.clientId,
        receiver: s.receiver,
        amount: '1',
        timeoutTime: Date.now() + PACKET_TIMEOUT_MS,
      },
    },
    { wait: true, timeoutMs: 120_000 },
  );
  if (!('receipt' in answer)) return { error: 'NOT_COMMITTED' };
  if (answer.receipt.status !== 'ok') return { error: answer.receipt.code || 'TX_FAILED' };
  return {
    sequence: Number((answer.receipt.result as { sequence: number }).sequence),
    height: answer.height,
  };
}

/** Poll A until packet `sequence` is settled (null after `timeoutMs`). */
async function settled(s: Setup, sequence: number, timeoutMs: number): Promise<IbcSettled | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await getSettled(s.a[0], s.clientId, sequence);
    if (r) return r;
    await sleep(50);
  }
  return null;
}

/** Transfers one at a time: send to settlement, by A's block times. */
async function latencyPhase(s: Setup): Promise<Record<string, unknown>> {
  const startA = await s.timesA.latest();
  const startB = await s.timesB.latest();
  const ms: number[] = [];
  const toRecv: number[] = [];
  const toAck: number[] = [];
  const observed: number[] = [];
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < LATENCY_TRANSFERS; i++) {
    if (i > 0 && i % 10 === 0) progress(`latency: ${i}/${LATENCY_TRANSFERS}`);
    const count = (what: string): void => {
      outcomes[what] = (outcomes[what] ?? 0) + 1;
    };
    try {
      const sent = await send(s, s.a[0], s.senders[0]);
      const seen = performance.now();
      if ('error' in sent) {
        count(sent.error);
        continue;
      }
      const r = await settled(s, sent.sequence, 120_000);
      if (!r) {
        count('pending');
        continue;
      }
      observed.push(performance.now() - seen);
      const o = outcomeOf(r);
      count(o);
      if (o !== 'acked') continue;
      const [sentAt, ackAt] = [await s.timesA.at(sent.height), await s.timesA.at(r.height)];
      ms.push(ackAt - sentAt);
      const recvHeight = s.received.get(sent.sequence);
      if (recvHeight !== undefined) {
        const recvAt = await s.timesB.at(recvHeight);
        toRecv.push(recvAt - sentAt);
        toAck.push(ackAt - recvAt);
      }
    } catch (e) {
      count((e as { code?: string })?.code ?? 'FAILED');
    }
  }
  const intervals = {
    a: meanInterval(startA, await s.timesA.latest()),
    b: meanInterval(startB, await s.timesB.latest()),
  };
  const slower =
    intervals.a === null || (intervals.b !== null && intervals.b > intervals.a) ? 'b' : 'a';
  const interval = intervals[slower];
  const ms50 = summary(ms);
  const inBlocks = (v: number | null): number | null =>
    v === null || !interval ? null : Math.round((v / interval) * 100) / 100;
  return {
    transfers: LATENCY_TRANSFERS,
    outcomes,
    latencyMs: ms50,
    meanBlockIntervalMs: intervals,
    slowerChain: CHAIN[slower],
    latencyBlocks: { p50: inBlocks(ms50.p50), p90: inBlocks(ms50.p90), max: inBlocks(ms50.max) },
    targetP50Blocks: 3,
    // The two legs (block times of A and B, one machine's clock): send on A to the block of B
    // that received it (as the relayer logged it), and from there to the ack on A.
    legsMs: { sendToRecv: summary(toRecv), recvToAck: summary(toAck) },
    // From the SDK's commit answer to the poll (every 50 ms) that saw the settlement.
    observedMs: summary(observed.map((v) => Math.round(v))),
  };
}

/** TRANSFERS at CONCURRENCY, settlements followed on A's pending list until done or timed out. */
async function throughputPhase(s: Setup): Promise<Record<string, unknown>> {
  const startA = await s.timesA.latest();
  const startB = await s.timesB.latest();
  const sent: Sent[] = [];
  const sendErrors: Record<string, number> = {};
  const settledBy = new Map<number, IbcSettled>();
  const trackErrors: Record<string, number> = {};
  const t0 = Date.now();
  const deadline = t0 + TIMEOUT_MS;
  let submitted = 0;
  let submitDone = false;
  let submitEnd = t0;

  const submit = mapLimit(
    Array.from({ length: TRANSFERS }, (_, i) => i),
    CONCURRENCY,
    async (i) => {
      if (Date.now() > deadline) return;
      const k = i % s.senders.length;
      submitted++;
      try {
        const r = await send(s, s.a[k % s.a.length], s.senders[k]);
        if ('error' in r) sendErrors[r.error] = (sendErrors[r.error] ?? 0) + 1;
        else sent.push(r);
      } catch (e) {
        const code = (e as { code?: string })?.code ?? 'SUBMIT_FAILED';
        sendErrors[code] = (sendErrors[code] ?? 0) + 1;
      }
    },
  ).finally(() => {
    submitDone = true;
    submitEnd = Date.now();
  });

  // A packet off the pending list is settled: its settlement is read once.
  const sweep = async (): Promise<void> => {
    const pending = new Set(
      (await allPendingPackets(s.a[0], s.clientId, 1_000_000)).packets.map((p) => p.sequence),
    );
    const check = sent.filter((x) => !settledBy.has(x.sequence) && !pending.has(x.sequence));
    await mapLimit(check, 16, async (x) => {
      const r = await getSettled(s.a[0], s.clientId, x.sequence);
      if (r) settledBy.set(x.sequence, r);
    });
  };
  let lastReport = 0;
  for (;;) {
    try {
      await sweep();
    } catch (e) {
      const code = (e as { code?: string })?.code ?? 'QUERY_FAILED';
      trackErrors[code] = (trackErrors[code] ?? 0) + 1;
    }
    if (submitDone && settledBy.size === sent.length) break;
    if (Date.now() > deadline) break;
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      progress(`throughput: ${sent.length}/${TRANSFERS} sent, ${settledBy.size} settled`);
    }
    // Figures come from block times, so a coarse poll costs no precision, only a bit of wall time.
    await sleep(500);
  }
  const timedOutRun = !(submitDone && settledBy.size === sent.length);
  await submit.catch(() => undefined);
  const endA = await s.timesA.latest();
  const endB = await s.timesB.latest();

  const counts = { acked: 0, refunded: 0, 'timed-out': 0 };
  let lastAck = 0;
  const latencies: number[] = [];
  for (const x of sent) {
    const r = settledBy.get(x.sequence);
    if (!r) continue;
    const o = outcomeOf(r);
    counts[o]++;
    if (o !== 'acked') continue;
    const at = await s.timesA.at(r.height);
    lastAck = Math.max(lastAck, at);
    latencies.push(at - (await s.timesA.at(x.height)));
  }
  const durationSec = lastAck > t0 ? (lastAck - t0) / 1000 : null;
  const submitSec = (submitEnd - t0) / 1000;
  return {
    transfers: TRANSFERS,
    concurrency: CONCURRENCY,
    senders: s.senders.length,
    submitted,
    sent: sent.length,
    sendErrors,
    acked: counts.acked,
    refunded: counts.refunded,
    timedOut: counts['timed-out'],
    pending: sent.length - settledBy.size,
    timedOutRun,
    durationSec: durationSec === null ? null : Math.round(durationSec * 100) / 100,
    transfersPerSec: durationSec ? round1(counts.acked / durationSec) : null,
    submitSec: Math.round(submitSec * 100) / 100,
    sendsCommittedPerSec: submitSec > 0 ? round1(sent.length / submitSec) : null,
    // Send block to settle block on A, under load.
    latencyMs: summary(latencies),
    meanBlockIntervalMs: { a: meanInterval(startA, endA), b: meanInterval(startB, endB) },
    blocks: { a: endA.height - startA.height, b: endB.height - startB.height },
    trackErrors,
  };
}

const cleanup = new Cleanup();
cleanup.onSignals();
const root = cleanup.dir(mkdtempSync(join(tmpdir(), 'archi-bench-ibc-')));
const dirA = join(root, 'a');
const dirB = join(root, 'b');
if (values.logs) mkdirSync(values.logs, { recursive: true });

const report: Record<string, unknown> = {
  scenario: `two ${NODES === 1 ? 'solo-node networks' : `${NODES}-organization BFT networks`} (A ${PROFILES.a}, B ${PROFILES.b}; one process per node), connected by light clients, one relayer process (archi relay start), token transfers A -> B signed through the SDK, all on the same machine`,
  date: new Date().toISOString(),
  machine: machineInfo(),
  commit: gitCommit(),
  parameters: {
    nodes: NODES,
    profileA: PROFILES.a,
    profileB: PROFILES.b,
    latencyTransfers: LATENCY_TRANSFERS,
    transfers: TRANSFERS,
    concurrency: CONCURRENCY,
    senders: SENDERS,
    timeoutSec: TIMEOUT_MS / 1000,
    packetTimeoutSec: PACKET_TIMEOUT_MS / 1000,
    relayIntervalMs: values['relay-interval']
      ? Number(values['relay-interval'])
      : 'relayer default',
    relayMaxPackets: values['relay-max-packets']
      ? Number(values['relay-max-packets'])
      : 'relayer default',
  },
};

try {
  progress(`init ${CHAIN.a} (${PROFILES.a}) and ${CHAIN.b} (${PROFILES.b}), ${NODES} node(s) each`);
  await Promise.all([
    initNetwork(dirA, CHAIN.a, PROFILES.a),
    initNetwork(dirB, CHAIN.b, PROFILES.b),
  ]);
  // The two inits chose free ports without each other: choose B's again while they overlap.
  for (let tries = 0; portsOf(dirB).some((p) => portsOf(dirA).includes(p)); tries++) {
    if (tries === 5) throw new Error('the two networks keep getting the same ports');
    rmSync(dirB, { recursive: true, force: true });
    await initNetwork(dirB, CHAIN.b, PROFILES.b);
  }
  const logs = (prefix: string) => (values.logs ? { dir: values.logs, prefix } : undefined);
  const nodesA = spawnNodes(dirA, NODES, { logs: logs(CHAIN.a) }).map((c) => cleanup.process(c));
  const nodesB = spawnNodes(dirB, NODES, { logs: logs(CHAIN.b) }).map((c) => cleanup.process(c));
  const [rpcA, rpcB] = await Promise.all([waitNodes(nodesA, 120_000), waitNodes(nodesB, 120_000)]);

  const a = rpcA.map((url) => new ArchiClient(url, { timeoutMs: 60_000 }));
  const b = new ArchiClient(rpcB[0], { timeoutMs: 60_000 });
  const senders = Array.from({ length: SENDERS }, (_, k) =>
    identity(dirA, `org${(k % NODES) + 1}`, k < NODES ? 'admin' : 'client'),
  );
  const receiver = identity(dirB, 'org1', 'client').address;
  const chainFacts = async (c: ArchiClient) => {
    const config = await c.config();
    return {
      chainId: config.chainId,
      crypto: config.crypto,
      consensus: config.consensus,
      blockIntervalMsParam: config.params?.blockIntervalMs ?? null,
    };
  };
  report.chains = { a: await chainFacts(a[0]), b: await chainFacts(b) };

  // Each sender gets what it sends (1 per transfer) from org1's admin. The mint on B gives a
  // solo chain (which makes blocks only for txs) a first block for A's client to trust.
  const mint = async (c: ArchiClient, dir: string, to: string, amount: number): Promise<void> => {
    const m = await c.send(
      identity(dir, 'org1', 'admin'),
      { contract: 'token', method: 'mint', args: { to, amount: String(amount) } },
      { wait: true, timeoutMs: 60_000 },
    );
    if (!('receipt' in m) || m.receipt.status !== 'ok')
      throw new Error(`mint to ${to} failed: ${'receipt' in m ? m.receipt.code : 'not committed'}`);
  };
  const perSender = Math.ceil(TRANSFERS / SENDERS) + LATENCY_TRANSFERS + 1;
  for (const who of senders) await mint(a[0], dirA, who.address, perSender);
  await mint(b, dirB, receiver, 1);

  progress('connecting (archi ibc connect)');
  const connected = JSON.parse(
    await runArchi(['ibc', 'connect', '--a', dirA, '--b', dirB, '--json'], cleanup),
  );
  for (const side of [connected.a, connected.b]) {
    if (side.status !== 'created' && side.status !== 'exists')
      throw new Error(`ibc connect: client ${side.clientId} on ${side.chain} is ${side.status}`);
  }
  const relayer = startRelayer(cleanup, dirA, dirB);
  const metricsUrl = await relayer.metricsUrl;
  const s: Setup = {
    a,
    b,
    timesA: new BlockTimes(a[0]),
    timesB: new BlockTimes(b),
    clientId: connected.a.clientId,
    senders,
    receiver,
    received: relayer.received,
  };

  // The first transfer mints B's voucher denomination and warms both chains' paths up.
  progress('warm-up transfer');
  const warm = await send(s, a[0], senders[0]);
  if ('error' in warm) throw new Error(`warm-up sendTransfer failed: ${warm.error}`);
  const warmSettled = await settled(s, warm.sequence, 180_000);
  if (!warmSettled) throw new Error('the warm-up transfer was not settled in 180 s');
  if (outcomeOf(warmSettled) !== 'acked')
    throw new Error(
      `the warm-up transfer was ${outcomeOf(warmSettled)}: ${JSON.stringify(warmSettled.ack)}`,
    );

  progress(`latency: ${LATENCY_TRANSFERS} transfers one at a time`);
  report.latency = await latencyPhase(s);
  progress(`throughput: ${TRANSFERS} transfers at concurrency ${CONCURRENCY}`);
  report.throughput = await throughputPhase(s);
  report.relayer = await relayerCounters(metricsUrl).catch((e) => ({ error: String(e) }));
} catch (e) {
  report.error = (e as Error).message;
  process.exitCode = 1;
} finally {
  await cleanup.run();
}
if (!cleanup.interrupted) writeReport('ibc', report as { date: string });
