/**
 * Keeping a light client able to check a proof: a proof taken at height H of the source is
 * checked against the client's consensus state at exactly H, so before relaying it the
 * client on the destination must hold H. For each height it does not hold the relayer plans
 * updateClient messages from the client's latest trusted height (one skipping step when the
 * trusted validators vouch for H, else bisection down to adjacent steps; sdk/ibc.ts
 * planClientUpdate). They go into the same `relay` tx as the proofs, ahead of them.
 */
import type { Logger } from 'pino';
import {
  getClient,
  getConsensusState,
  type HeaderSource,
  type IbcClientView,
  planClientUpdate,
  updateClientArgs,
} from '../sdk/ibc.ts';
import type { ChainEndpoint, RelayMsg } from './endpoint.ts';
import type { RelayerMetrics } from './metrics.ts';

/** What a client needs to check proofs at some heights. */
export interface UpdatePlan {
  /**
   * For each height the client can be brought to: the updateClient messages that bring it
   * there from its latest trusted height, in order (none when it holds the height already).
   * Each height's messages stand alone, so txs carrying proofs of different heights do not
   * depend on one another.
   */
  chains: Map<number, RelayMsg[]>;
  /**
   * Heights the client is already past without a state there (another relayer updated it
   * meanwhile): proofs at them must be taken again at a newer height.
   */
  stale: number[];
  /** Set when the client is frozen or expired: nothing can be proven to it. */
  inactive?: string;
}

/**
 * Plan how the client `clientId` on `dst` comes to hold the consensus state of each of
 * `heights` of the chain `src` reads. Submits nothing.
 */
export async function planUpdates(
  dst: ChainEndpoint,
  clientId: string,
  src: HeaderSource,
  heights: number[],
): Promise<UpdatePlan> {
  const plan: UpdatePlan = { chains: new Map(), stale: [] };
  const client = await dst.call((c) => getClient(c, clientId));
  if (client.status !== undefined && client.status !== 'active') {
    plan.inactive = `client ${clientId} is ${client.status}`;
    return plan;
  }
  const latest = client.latestHeight;
  await Promise.all(
    [...new Set(heights)].map(async (h) => {
      if (h <= latest) {
        // Below the latest height a state exists only if some update stopped there.
        if (h === latest || (await dst.call((c) => getConsensusState(c, clientId, h))))
          plan.chains.set(h, []);
        else plan.stale.push(h);
        return;
      }
      const msgs: RelayMsg[] = [];
      let trusted = latest;
      for (const step of await planClientUpdate(src, latest, h)) {
        msgs.push({
          method: 'updateClient',
          args: await updateClientArgs(src, clientId, step, trusted),
        });
        trusted = step;
      }
      plan.chains.set(h, msgs);
    }),
  );
  plan.stale.sort((x, y) => x - y);
  return plan;
}

/**
 * Update a client whose newest consensus state is older than a third of its trusting period
 * (by this machine's clock) to the source's latest height, so a pair without traffic does
 * not expire. Returns the updates made.
 */
export async function refreshIfOld(
  dst: ChainEndpoint,
  client: IbcClientView,
  src: HeaderSource,
  ctx: { log: Logger; metrics: RelayerMetrics },
  now = Date.now(),
): Promise<number> {
  const cs = await dst.call((c) => getConsensusState(c, client.clientId, client.latestHeight));
  if (cs && now - cs.time < client.trustingPeriodMs / 3) return 0;
  const latest = (await src.client.getBlock('latest')).height;
  if (latest <= client.latestHeight) return 0;
  const plan = await planUpdates(dst, client.clientId, src, [latest]);
  const refused = (detail: string): number => {
    ctx.log.warn({ chain: dst.chainId, client: client.clientId, detail }, 'client refresh failed');
    return 0;
  };
  if (plan.inactive) return refused(plan.inactive);
  const msgs = plan.chains.get(latest) ?? [];
  if (msgs.length === 0) return 0;
  const out = await dst.relay(msgs);
  const updated = out.results?.filter((r) => r.ok).length ?? 0;
  if (!out.ok || updated < msgs.length) {
    const failed = out.results?.find((r) => !r.ok);
    return refused(
      out.ok && failed && !failed.ok
        ? `${failed.code}: ${failed.message}`
        : `${out.code}: ${out.message}`,
    );
  }
  ctx.metrics.clientUpdates.inc({ chain: dst.chainId, client: client.clientId }, updated);
  ctx.log.info(
    { chain: dst.chainId, client: client.clientId, height: latest, age: cs ? now - cs.time : null },
    'client refreshed before its trusting period runs out',
  );
  return updated;
}
