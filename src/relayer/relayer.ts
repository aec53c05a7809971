/**
 * The relayer process (`archi relay start`, docs/INTERCHAIN.md "Relayer and CLI"): on every
 * new block of either chain (and at least every interval) it finds the client pairs that
 * connect two chains and runs a relay round for each (relay.ts). It keeps nothing between rounds but logs and counters, so it may be killed at
 * any point and restarted, and several may relay the same pair: the chains deliver each
 * packet once (receipts) and settle it once (commitments), and a relayer that comes second
 * only counts a race. A chain none of whose nodes answers is retried with backoff; an error of
 * one round is logged and counted, never fatal.
 */
import type http from 'node:http';
import pino, { type Logger } from 'pino';
import { isUnreachable } from '../sdk/errors.ts';
import { HeaderSource } from '../sdk/ibc.ts';
import { ArchiError } from '../errors/index.ts';
import { BlockTrigger } from './block-trigger.ts';
import { refreshIfOld } from './client-update.ts';
import { ChainEndpoint, type ChainTarget } from './endpoint.ts';
import { RelayerMetrics } from './metrics.ts';
import { type ClientPair, findPairs, pairsText } from './pair.ts';
import {
  type Delivered,
  deliver,
  emptyDelivered,
  planDirection,
  type RoundContext,
  type Side,
} from './relay.ts';

export interface RelayerOptions {
  a: ChainTarget;
  b: ChainTarget;
  /**
   * Longest pause between rounds (default 1000 ms). A new block on either chain starts a round
   * sooner (WebSocket); the interval is what is left when no subscription can be made.
   */
  intervalMs?: number;
  /** Shortest pause between two rounds (default 20 ms), so that blocks do not busy the nodes. */
  minGapMs?: number;
  /** Serve Prometheus metrics on 127.0.0.1:port (0: a free port); none when undefined. */
  metricsPort?: number;
  /** Logger (default: pino JSON lines on stdout). */
  logger?: Logger;
  /** Most pending packets looked at per direction and round (default 200). */
  maxPackets?: number;
  /** Per request to a node (default 10000 ms). */
  requestTimeoutMs?: number;
}

/** What one round saw and did, summed over its pairs. */
export interface RoundSummary extends Delivered {
  pairs: number;
  /** Pending packets sent by A to B and by B to A. */
  pendingAtoB: number;
  pendingBtoA: number;
}

export interface RunningRelayer {
  metrics: RelayerMetrics;
  /** The metrics URL when metricsPort was given. */
  metricsUrl?: string;
  /** Run one round now (tests); rounds never overlap. */
  round(): Promise<RoundSummary>;
  /** Stop after the round in progress and close the metrics server. */
  stop(): Promise<void>;
}

/**
 * How long a round trusts the client pairs found earlier, and how often a pair's clients are
 * checked for age: a new block starts a round, and these need not be read every block.
 */
const PAIRS_TTL_MS = 5_000;
const REFRESH_CHECK_MS = 10_000;

const sleep = (ms: number, signal: { wake?: () => void }): Promise<void> =>
  new Promise((r) => {
    const t = setTimeout(r, ms);
    signal.wake = () => {
      clearTimeout(t);
      r();
    };
  });

/** Start relaying between the chains `a` and `b`; resolves once the loop runs. */
export async function startRelayer(o: RelayerOptions): Promise<RunningRelayer> {
  if (o.a.chainId === o.b.chainId) {
    throw new ArchiError(
      'INVALID_ARGS',
      `both sides are chain ${o.a.chainId}: relay between two chains`,
    );
  }
  const log = o.logger ?? pino({ base: { relayer: `${o.a.chainId}<->${o.b.chainId}` } });
  const metrics = new RelayerMetrics();
  const a = new ChainEndpoint(o.a, o.requestTimeoutMs);
  const b = new ChainEndpoint(o.b, o.requestTimeoutMs);
  const ctx: RoundContext = { log, metrics, maxPackets: o.maxPackets ?? 200 };
  const intervalMs = o.intervalMs ?? 1000;
  let served: { server: http.Server; url: string } | undefined;
  if (o.metricsPort !== undefined) served = await metrics.serve(o.metricsPort);

  let lastPairs: string | undefined;
  let lastPending: string | undefined;
  const downLogged = new Set<string>();
  let lastFailure: { text: string; at: number } | undefined;

  const side = (ep: ChainEndpoint, client: ClientPair['a']): Side => ({
    ep,
    client,
    headers: new HeaderSource(ep.client()),
    blocks: new Map(),
  });

  const refreshedAt = new Map<string, number>();
  const runPair = async (pair: ClientPair): Promise<RoundSummary> => {
    const A = side(a, pair.a);
    const B = side(b, pair.b);
    // B's client of A is refreshed with A's headers, and A's client of B with B's.
    const key = `${pair.a.clientId}<->${pair.b.clientId}`;
    let refreshed = 0;
    if (Date.now() - (refreshedAt.get(key) ?? 0) >= REFRESH_CHECK_MS) {
      refreshed = (
        await Promise.all([
          refreshIfOld(b, pair.b, A.headers, ctx),
          refreshIfOld(a, pair.a, B.headers, ctx),
        ])
      ).reduce((x, y) => x + y, 0);
      refreshedAt.set(key, Date.now());
    }
    const [ab, ba] = await Promise.all([planDirection(A, B, ctx), planDirection(B, A, ctx)]);
    metrics.pending.set({ src: a.chainId, dst: b.chainId }, ab.pending);
    metrics.pending.set({ src: b.chainId, dst: a.chainId }, ba.pending);
    // B gets receives of A's packets and the acks/timeouts of its own; both carry A's proofs.
    const [onB, onA] = await Promise.all([
      deliver(B, A, [...ab.onDst, ...ba.onSrc], ctx),
      deliver(A, B, [...ba.onDst, ...ab.onSrc], ctx),
    ]);
    const sum: RoundSummary = {
      ...emptyDelivered(),
      pairs: 1,
      pendingAtoB: ab.pending,
      pendingBtoA: ba.pending,
    };
    for (const d of [onA, onB])
      for (const k of Object.keys(d) as (keyof Delivered)[]) sum[k] += d[k];
    sum.updates += refreshed;
    return sum;
  };

  const markUp = (ep: ChainEndpoint): void => {
    metrics.chainUp.set({ chain: ep.chainId }, 1);
    if (downLogged.delete(ep.chainId)) log.info({ chain: ep.chainId }, 'chain reachable again');
  };

  let found: { pairs: ClientPair[]; at: number } | undefined;
  const roundOnce = async (): Promise<RoundSummary> => {
    const sum: RoundSummary = { ...emptyDelivered(), pairs: 0, pendingAtoB: 0, pendingBtoA: 0 };
    try {
      if (!found || Date.now() - found.at >= PAIRS_TTL_MS) {
        found = { pairs: await findPairs(a, b), at: Date.now() };
      }
      const pairs = found.pairs;
      markUp(a);
      markUp(b);
      const text = pairsText(pairs);
      if (text !== lastPairs) {
        lastPairs = text;
        if (pairs.length === 0) {
          log.warn(
            { a: a.chainId, b: b.chainId },
            'no client pair connects the chains yet (archi ibc connect); waiting',
          );
        } else {
          // A frozen or expired client needs governance (ibc_recover_client): say so louder.
          const inactive = pairs.some((p) => p.a.status !== 'active' || p.b.status !== 'active');
          log[inactive ? 'warn' : 'info'](
            {
              pairs: pairs.map((p) => ({
                [a.chainId]: p.a.clientId,
                [b.chainId]: p.b.clientId,
                status: [p.a.status, p.b.status],
              })),
            },
            'client pairs',
          );
        }
      }
      for (const pair of pairs) {
        if (pair.a.status !== 'active' || pair.b.status !== 'active') continue;
        const r = await runPair(pair);
        for (const k of Object.keys(r) as (keyof RoundSummary)[]) sum[k] += r[k];
      }
      const pending = `${sum.pendingAtoB}/${sum.pendingBtoA}`;
      const moved = sum.recv + sum.ack + sum.timeout + sum.updates;
      if (moved > 0 || pending !== lastPending) {
        log.info(
          {
            delivered: sum.recv,
            acks: sum.ack,
            timeouts: sum.timeout,
            clientUpdates: sum.updates,
            races: sum.races,
            failed: sum.failed,
            pending: {
              [`${a.chainId}->${b.chainId}`]: sum.pendingAtoB,
              [`${b.chainId}->${a.chainId}`]: sum.pendingBtoA,
            },
          },
          'round',
        );
        lastPending = pending;
      }
      metrics.rounds.inc({ outcome: sum.failed > 0 ? 'partial' : 'ok' });
    } catch (e) {
      const chain = (e as { chainId?: string })?.chainId;
      found = undefined; // what failed may be a pair that changed: look again next round
      metrics.rounds.inc({ outcome: 'failed' });
      if (isUnreachable(e)) {
        const which = chain ?? (a.down ? a.chainId : b.chainId);
        metrics.chainUp.set({ chain: which }, 0);
        metrics.errors.inc({ chain: which, code: 'UNREACHABLE' });
        if (!downLogged.has(which)) {
          downLogged.add(which);
          log.warn(
            { chain: which, err: (e as Error).message },
            'no node of the chain answers; retrying with backoff',
          );
        }
      } else {
        const code = e instanceof ArchiError ? e.code : 'INTERNAL';
        const err = (e as Error)?.message ?? String(e);
        metrics.errors.inc({ chain: chain ?? 'unknown', code });
        // The same failure round after round is logged once a minute, not every round.
        const again =
          lastFailure?.text === `${code} ${err}` && Date.now() - lastFailure.at < 60_000;
        if (!again) lastFailure = { text: `${code} ${err}`, at: Date.now() };
        log[again ? 'debug' : 'error']({ chain, code, err }, 'relay round failed; next round');
      }
    }
    return sum;
  };

  // Rounds never overlap: a test's round() waits for the loop's and the other way round.
  let running: Promise<RoundSummary> = Promise.resolve({
    ...emptyDelivered(),
    pairs: 0,
    pendingAtoB: 0,
    pendingBtoA: 0,
  });
  const round = (): Promise<RoundSummary> => {
    running = running.then(roundOnce, roundOnce);
    return running;
  };

  let stopped = false;
  const wake: { wake?: () => void } = {};
  // A block committed while a round ran may hold what the round did not see: run again.
  let newBlock = false;
  const onBlock = (): void => {
    newBlock = true;
    wake.wake?.();
  };
  const triggers = [a, b].map((ep) => new BlockTrigger(ep, onBlock, log));
  for (const t of triggers) t.start();
  const minGapMs = o.minGapMs ?? 20;
  const loop = (async () => {
    while (!stopped) {
      const now = Date.now();
      newBlock = false;
      if (a.ready(now) && b.ready(now)) await round();
      if (stopped) break;
      if (!newBlock) await sleep(intervalMs, wake);
      if (!stopped) await sleep(minGapMs, {});
    }
  })();

  log.info(
    {
      a: {
        chainId: o.a.chainId,
        nodes: o.a.nodes,
        org: o.a.identity.org,
        address: o.a.identity.address,
      },
      b: {
        chainId: o.b.chainId,
        nodes: o.b.nodes,
        org: o.b.identity.org,
        address: o.b.identity.address,
      },
      intervalMs,
      metrics: served?.url,
    },
    'relayer started',
  );

  return {
    metrics,
    metricsUrl: served?.url,
    round,
    async stop() {
      stopped = true;
      for (const t of triggers) t.stop();
      wake.wake?.();
      await loop;
      await running.catch(() => undefined);
      if (served) await new Promise((r) => served?.server.close(r));
      log.info({}, 'relayer stopped');
    },
  };
}
