/**
 * One relay round for a pair of clients, worked out from the chains alone (the relayer keeps
 * no state): for every packet still pending on a sender, the receiver's ack (written with the
 * receipt) decides what is owed. No ack and not timed out by the receiver's proven
 * height/time: a receive on the receiver, with the sender's commitment proof. No ack and timed
 * out: a timeout on the sender, with the receipt's absence proof. An ack: an acknowledgement
 * on the sender, with the ack's proof. Proofs are taken at a node's latest height, so each chain's
 * client of the other is first brought to the heights the proofs are at (client-update.ts).
 * Refusals that only mean someone else got there first are counted as races.
 */
import type { Logger } from 'pino';
import { getProfile } from '../crypto/profile.ts';
import { ArchiError } from '../errors/index.ts';
import {
  type HeaderSource,
  type IbcAck,
  type IbcClientView,
  type IbcPacket,
  allPendingPackets,
  provenState,
} from '../sdk/ibc.ts';
import type { BlockJson } from '../sdk/types.ts';
import { hex, unhex } from '../types/hex.ts';
import { utf8Text } from '../types/json.ts';
import { ackCommitment, fullKey, IBC, keys, packetCommitment } from '../vm/native/ibc/keys.ts';
import { MAX_RELAY_MESSAGES } from '../vm/native/ibc/relay-batch.ts';
import { planUpdates, type UpdatePlan } from './client-update.ts';
import type { ChainEndpoint, RelayMsg, RelayMsgResult, RelayOutcome } from './endpoint.ts';
import type { RelayerMetrics } from './metrics.ts';

/** One chain of a pair: how to reach it, its client of the other chain, its headers. */
export interface Side {
  ep: ChainEndpoint;
  /** This chain's client of the other one. */
  client: IbcClientView;
  /** Headers of this chain (what the other chain's client is updated with). */
  headers: HeaderSource;
  /** Blocks of this chain fetched this round. */
  blocks: Map<number, Promise<BlockJson>>;
}

/** A tx the round owes a chain, with the height of the proof it carries. */
export interface Work {
  kind: 'recv' | 'ack' | 'timeout';
  packet: IbcPacket;
  /** The height of the other chain the proof was taken at. */
  proofHeight: number;
  method: 'recvPacket' | 'acknowledgePacket' | 'timeoutPacket';
  args: Record<string, unknown>;
}

/** What one direction (packets sent by `src` to `dst`) owes. */
export interface DirectionPlan {
  /** Receives owed to the destination (proofs from the source). */
  onDst: Work[];
  /** Acks and timeouts owed to the source (proofs from the destination). */
  onSrc: Work[];
  /** Packets pending on the source. */
  pending: number;
  /** Pending packets that are neither deliverable nor provably timed out yet. */
  waiting: number;
}

export interface RoundContext {
  log: Logger;
  metrics: RelayerMetrics;
  /** Most packets looked at per direction and round. */
  maxPackets: number;
}

/** Refusals that mean the work was already done (by another relayer or an earlier run). */
const RACE_CODES = new Set(['IBC_PACKET_ALREADY_RECEIVED', 'IBC_PACKET_UNKNOWN']);

/** Run `fn` over `items` with at most `limit` at once, results in order. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function timedOut(p: IbcPacket, height: number, time: number): boolean {
  return (
    (p.timeoutHeight > 0 && height >= p.timeoutHeight) ||
    (p.timeoutTime > 0 && time >= p.timeoutTime)
  );
}

function decodeAck(value: string): IbcAck | undefined {
  try {
    const v = JSON.parse(utf8Text(unhex(value, 'ack data')));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    if (typeof v.error === 'string' && Object.keys(v).length === 1) return { error: v.error };
    if ('result' in v && Object.keys(v).length === 1) return { result: v.result };
  } catch {
    // not JSON: refused below
  }
  return undefined;
}

const codeOf = (e: unknown): string =>
  e instanceof ArchiError ? e.code : ((e as { code?: string })?.code ?? 'INTERNAL');

/**
 * What the packets `src` sent to `dst` owe, read from both chains now. A packet or ack whose
 * stored form does not match the commitment its node proves is skipped and counted as an
 * error (a node that lies costs no tx).
 */
export async function planDirection(
  src: Side,
  dst: Side,
  ctx: RoundContext,
): Promise<DirectionPlan> {
  const page = await src.ep.call((c) => allPendingPackets(c, src.client.clientId, ctx.maxPackets));
  if (page.malformed > 0) {
    ctx.metrics.errors.inc({ chain: src.ep.chainId, code: 'PACKET_MALFORMED' }, page.malformed);
    ctx.log.warn(
      { chain: src.ep.chainId, client: src.client.clientId, count: page.malformed },
      'node listed entries that are no packet of this client; skipped',
    );
  }
  // Each chain's hash, as the other chain's client of it records its profile.
  const srcHash = getProfile(dst.client.profile).hash;
  const dstHash = getProfile(src.client.profile).hash;
  const plan: DirectionPlan = { onDst: [], onSrc: [], pending: page.packets.length, waiting: 0 };
  const packets = page.packets.filter((p) => p.destClient === dst.client.clientId);
  const lost = page.packets.length - packets.length;
  if (lost > 0) {
    ctx.log.warn(
      {
        chain: src.ep.chainId,
        client: src.client.clientId,
        count: lost,
        expected: dst.client.clientId,
      },
      'pending packets name another destination client; skipped',
    );
  }
  await mapLimit(packets, 16, async (p) => {
    const seq = p.sequence;
    try {
      // The ack is written with the receipt, so its proof tells received from not; the
      // sender's commitment proof is fetched beside it, ready for a receive (one round trip).
      const [ack, data, commitment] = await Promise.all([
        dst.ep.call((c) => provenState(c, fullKey(keys.ack(p.destClient, seq)), dst.blocks)),
        dst.ep.call((c) => c.getState(IBC, keys.ackData(p.destClient, seq))),
        src.ep.call((c) =>
          provenState(c, fullKey(keys.commitment(src.client.clientId, seq)), src.blocks),
        ),
      ]);
      if (ack.value !== null) {
        const decoded = data?.value ? decodeAck(data.value) : undefined;
        if (!decoded) {
          plan.waiting++;
          ctx.log.debug({ src: src.ep.chainId, sequence: seq }, 'received, ack not readable yet');
          return;
        }
        if (ack.value !== hex(ackCommitment(dstHash, decoded))) {
          ctx.metrics.errors.inc({ chain: dst.ep.chainId, code: 'ACK_MISMATCH' });
          ctx.log.error(
            { chain: dst.ep.chainId, client: p.destClient, sequence: seq },
            'the ack data does not match its proven commitment; skipped',
          );
          return;
        }
        plan.onSrc.push({
          kind: 'ack',
          packet: p,
          proofHeight: ack.height,
          method: 'acknowledgePacket',
          args: { packet: p, ack: decoded, proof: ack.proof, proofHeight: ack.height },
        });
        return;
      }
      if (timedOut(p, ack.height, ack.time)) {
        // A timeout proves the receipt absent (the ack's absence is not what the sender checks).
        const receipt = await dst.ep.call((c) =>
          provenState(c, fullKey(keys.receipt(p.destClient, seq)), dst.blocks),
        );
        if (receipt.value !== null || !timedOut(p, receipt.height, receipt.time)) {
          plan.waiting++; // received meanwhile: its ack is owed next round
          return;
        }
        plan.onSrc.push({
          kind: 'timeout',
          packet: p,
          proofHeight: receipt.height,
          method: 'timeoutPacket',
          args: { packet: p, proof: receipt.proof, proofHeight: receipt.height },
        });
        return;
      }
      // Received in a later block: at the timeout height itself it would be refused.
      if (p.timeoutHeight > 0 && ack.height + 1 >= p.timeoutHeight) {
        plan.waiting++;
        return;
      }
      if (commitment.value === null) return; // settled since it was listed
      if (commitment.value !== hex(packetCommitment(srcHash, p))) {
        ctx.metrics.errors.inc({ chain: src.ep.chainId, code: 'PACKET_MISMATCH' });
        ctx.log.error(
          { chain: src.ep.chainId, client: src.client.clientId, sequence: seq },
          'the listed packet does not match its proven commitment; skipped',
        );
        return;
      }
      plan.onDst.push({
        kind: 'recv',
        packet: p,
        proofHeight: commitment.height,
        method: 'recvPacket',
        args: { packet: p, proof: commitment.proof, proofHeight: commitment.height },
      });
    } catch (e) {
      ctx.metrics.errors.inc({
        chain: (e as { chainId?: string })?.chainId ?? src.ep.chainId,
        code: codeOf(e),
      });
      ctx.log.warn(
        { src: src.ep.chainId, dst: dst.ep.chainId, sequence: seq, err: (e as Error)?.message },
        'could not read what a packet owes; next round',
      );
    }
  });
  return plan;
}

/** Totals of what one delivery did. */
export interface Delivered {
  recv: number;
  ack: number;
  timeout: number;
  races: number;
  failed: number;
  updates: number;
}

export const emptyDelivered = (): Delivered => ({
  recv: 0,
  ack: 0,
  timeout: 0,
  races: 0,
  failed: 0,
  updates: 0,
});

/** Bytes of a relay tx besides its messages' JSON: the signed envelope, with a certificate. */
const TX_ENVELOPE_BYTES = 8 * 1024;

const jsonBytes = (m: RelayMsg): number => Buffer.byteLength(JSON.stringify(m));

/**
 * Split `msgs` into runs that fit a tx each: at most `budget` bytes of JSON and `maxMsgs`
 * messages, counting `reserved` of both taken (a prefix every run carries). A message too
 * large for any tx gets a run of its own, for the node to refuse with TX_TOO_LARGE.
 */
export function packMessages<T extends RelayMsg>(
  msgs: T[],
  budget: number,
  maxMsgs = MAX_RELAY_MESSAGES,
  reserved = { bytes: 0, count: 0 },
): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let bytes = reserved.bytes;
  for (const m of msgs) {
    const b = jsonBytes(m);
    if (run.length > 0 && (bytes + b > budget || reserved.count + run.length >= maxMsgs)) {
      runs.push(run);
      run = [];
      bytes = reserved.bytes;
    }
    run.push(m);
    bytes += b;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * Carry `works` (proofs from `from`) to `to` in `ibc.relay` txs: each tx carries proofs of one
 * height, after the updateClient messages that bring `to`'s client of `from` there from its
 * latest trusted height. Every tx repeats its height's updates, so the txs are independent of
 * the order they commit in (an update the client already holds is a no-op); they go out at
 * once. Updates too large to repeat (a long bisection, a large validator set) go first, in
 * txs of their own.
 */
export async function deliver(
  to: Side,
  from: Side,
  works: Work[],
  ctx: RoundContext,
): Promise<Delivered> {
  const done = emptyDelivered();
  if (works.length === 0) return done;
  const clientId = to.client.clientId;
  let plan: UpdatePlan;
  let budget: number;
  try {
    [plan, budget] = await Promise.all([
      planUpdates(
        to.ep,
        clientId,
        from.headers,
        works.map((w) => w.proofHeight),
      ),
      to.ep.maxTxBytes().then((max) => max - TX_ENVELOPE_BYTES),
    ]);
  } catch (e) {
    done.failed++;
    ctx.metrics.errors.inc({ chain: to.ep.chainId, code: codeOf(e) });
    ctx.log.warn(
      { chain: to.ep.chainId, client: clientId, err: (e as Error)?.message },
      'client update failed; next round',
    );
    return done;
  }
  if (plan.inactive) {
    done.failed++;
    ctx.metrics.errors.inc({ chain: to.ep.chainId, code: 'CLIENT_INACTIVE' });
    ctx.log.error(
      { chain: to.ep.chainId, client: clientId, detail: plan.inactive },
      'client not updated',
    );
    return done;
  }
  if (plan.stale.length > 0) {
    ctx.log.debug(
      { chain: to.ep.chainId, client: clientId, heights: plan.stale },
      'proof height passed; next round',
    );
  }
  // The works by proof height, each height with the updates that bring the client there.
  const groups = new Map<number, Work[]>();
  for (const w of works) {
    if (!plan.chains.has(w.proofHeight)) continue;
    const g = groups.get(w.proofHeight);
    if (g) g.push(w);
    else groups.set(w.proofHeight, [w]);
  }
  if (groups.size === 0) return done;

  // Judges one tx's update messages; false when the client could not be brought up.
  const judgeUpdates = (msgs: RelayMsg[], out: RelayOutcome): boolean => {
    let ok = true;
    msgs.forEach((m, i) => {
      const r = out.results?.[i];
      const trustedHeight = (m.args as { trustedHeight: number }).trustedHeight;
      if (r?.ok) {
        const result = r.result as { height: number; result: string };
        if (result.result !== 'updated') return;
        done.updates++;
        ctx.metrics.clientUpdates.inc({ chain: to.ep.chainId, client: clientId });
        ctx.log.info(
          {
            chain: to.ep.chainId,
            client: clientId,
            height: result.height,
            trustedHeight,
            block: out.height,
          },
          'client updated',
        );
        return;
      }
      ok = false;
      const code = r && !r.ok ? r.code : out.code;
      ctx.metrics.errors.inc({ chain: to.ep.chainId, code: 'UPDATE_REFUSED' });
      ctx.log.error(
        {
          chain: to.ep.chainId,
          client: clientId,
          trustedHeight,
          code,
          detail: r && !r.ok ? r.message : out.message,
          block: out.height,
        },
        'client not updated',
      );
    });
    return ok;
  };

  const txs: Array<{ prefix: RelayMsg[]; run: Work[] }> = [];
  for (const [h, group] of [...groups].sort(([x], [y]) => x - y)) {
    let prefix = plan.chains.get(h) ?? [];
    let prefixBytes = prefix.reduce((n, m) => n + jsonBytes(m), 0);
    if (prefixBytes > budget / 2 || prefix.length > MAX_RELAY_MESSAGES / 2) {
      // Too large to repeat in every tx: the updates go first, each tx waited for.
      let brought = true;
      for (const run of packMessages(prefix, budget)) {
        try {
          brought = judgeUpdates(run, await to.ep.relay(run));
        } catch (e) {
          ctx.metrics.errors.inc({ chain: to.ep.chainId, code: codeOf(e) });
          ctx.log.warn(
            { chain: to.ep.chainId, client: clientId, err: (e as Error)?.message },
            'client update failed; next round',
          );
          brought = false;
        }
        if (!brought) break;
      }
      if (!brought) {
        done.failed++;
        continue;
      }
      prefix = [];
      prefixBytes = 0;
    }
    for (const run of packMessages(group, budget, MAX_RELAY_MESSAGES, {
      bytes: prefixBytes,
      count: prefix.length,
    })) {
      txs.push({ prefix, run });
    }
  }
  await mapLimit(txs, 4, async ({ prefix, run }) => {
    let out: RelayOutcome;
    try {
      out = await to.ep.relay([...prefix, ...run.map((w) => ({ method: w.method, args: w.args }))]);
    } catch (e) {
      done.failed += run.length;
      ctx.metrics.errors.inc({ chain: to.ep.chainId, code: codeOf(e) }, run.length);
      ctx.log.warn(
        { chain: to.ep.chainId, packets: run.length, err: (e as Error)?.message },
        'relay tx not committed; next round',
      );
      return;
    }
    if (!out.ok) {
      done.failed += run.length;
      ctx.metrics.errors.inc({ chain: to.ep.chainId, code: out.code }, run.length);
      ctx.log.error(
        {
          chain: to.ep.chainId,
          packets: run.length,
          code: out.code,
          message: out.message,
          block: out.height,
        },
        'relay tx refused',
      );
      return;
    }
    judgeUpdates(prefix, out);
    for (const [i, w] of run.entries()) {
      judgeWork(w, out.results?.[prefix.length + i], out, to, from, done, ctx);
    }
  });
  return done;
}

/** Counts and logs what one message of a committed relay tx did for its packet. */
function judgeWork(
  w: Work,
  r: RelayMsgResult | undefined,
  out: RelayOutcome,
  to: Side,
  from: Side,
  done: Delivered,
  ctx: RoundContext,
): void {
  const labels =
    w.kind === 'recv'
      ? { src: from.ep.chainId, dst: to.ep.chainId }
      : { src: to.ep.chainId, dst: from.ep.chainId };
  const at = {
    chain: to.ep.chainId,
    sequence: w.packet.sequence,
    sourceClient: w.packet.sourceClient,
    kind: w.kind,
    block: out.height,
  };
  if (r?.ok) {
    if (w.kind === 'recv') {
      done.recv++;
      ctx.metrics.packetsRelayed.inc(labels);
      ctx.log.info({ ...at, destPort: w.packet.destPort }, 'packet delivered');
    } else if (w.kind === 'ack') {
      done.ack++;
      ctx.metrics.acksRelayed.inc(labels);
      ctx.log.info(at, 'ack delivered');
    } else {
      done.timeout++;
      ctx.metrics.timeoutsRelayed.inc(labels);
      ctx.log.info(at, 'packet timed out');
    }
    return;
  }
  const code = r ? r.code : 'INTERNAL';
  const message = r ? r.message : 'the relay tx answered no result for this message';
  if (RACE_CODES.has(code) || (w.kind === 'recv' && code === 'IBC_PACKET_TIMED_OUT')) {
    done.races++;
    ctx.metrics.races.inc({ chain: to.ep.chainId, code });
    ctx.log.debug({ ...at, code }, 'already done (or timed out on arrival)');
    return;
  }
  done.failed++;
  ctx.metrics.errors.inc({ chain: to.ep.chainId, code });
  ctx.log.error({ ...at, code, message }, 'relay message refused');
}
