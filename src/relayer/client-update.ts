/**
 * Keeping a light client able to check a proof: a proof taken at height H of the source is
 * checked against the client's consensus state at exactly H, so before relaying it the
 * client on the destination must hold H. If it does not, the relayer updates it from its
 * latest trusted height (one skipping step when the trusted validators vouch for H, else
 * bisection down to adjacent steps; sdk/ibc.ts planClientUpdate).
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
import type { ChainEndpoint } from './endpoint.ts';
import type { RelayerMetrics } from './metrics.ts';

/** Why a client could not be brought to a height this round. */
export type EnsureOutcome =
  | { ok: true; updates: number }
  | { ok: false; reason: 'stale' | 'inactive' | 'refused'; detail: string };

/**
 * Make the client `clientId` on `dst` hold the consensus state of `height` of the chain
 * `src` reads. 'stale': the client is already past `height` without a state there (another
 * relayer updated it meanwhile), so the proof must be taken again at a newer height.
 */
export async function ensureConsensus(
  dst: ChainEndpoint,
  clientId: string,
  src: HeaderSource,
  height: number,
  ctx: { log: Logger; metrics: RelayerMetrics },
): Promise<EnsureOutcome> {
  if (await dst.call((c) => getConsensusState(c, clientId, height)))
    return { ok: true, updates: 0 };
  const client = await dst.call((c) => getClient(c, clientId));
  if (client.status !== undefined && client.status !== 'active') {
    return { ok: false, reason: 'inactive', detail: `client ${clientId} is ${client.status}` };
  }
  let trusted = client.latestHeight;
  if (trusted >= height) {
    return {
      ok: false,
      reason: 'stale',
      detail: `client ${clientId} is at ${trusted} and holds no state at ${height}`,
    };
  }
  const steps = await planClientUpdate(src, trusted, height);
  let updates = 0;
  for (const step of steps) {
    const args = await updateClientArgs(src, clientId, step, trusted);
    const out = await dst.submit('updateClient', args);
    if (!out.ok) {
      return {
        ok: false,
        reason: 'refused',
        detail: `updateClient ${clientId} ${trusted}->${step} refused in block ${out.height}: ${out.code}: ${out.message}`,
      };
    }
    ctx.metrics.clientUpdates.inc({ chain: dst.chainId, client: clientId });
    ctx.log.info(
      {
        chain: dst.chainId,
        client: clientId,
        height: step,
        trustedHeight: trusted,
        block: out.height,
      },
      'client updated',
    );
    updates++;
    trusted = step;
  }
  return { ok: true, updates };
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
  const r = await ensureConsensus(dst, client.clientId, src, latest, ctx);
  if (!r.ok) {
    ctx.log.warn(
      { chain: dst.chainId, client: client.clientId, detail: r.detail },
      'client refresh failed',
    );
    return 0;
  }
  ctx.log.info(
    { chain: dst.chainId, client: client.clientId, height: latest, age: cs ? now - cs.time : null },
    'client refreshed before its trusting period runs out',
  );
  return r.updates;
}
