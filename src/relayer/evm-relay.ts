/**
 * The relayer between an Archipelago chain and its EVM bridge (`archi relay start --a DIR
 * --evm URL`, docs/BRIDGE.md "Relayer"). Stateless like the Archipelago pair relayer: each
 * round reads both chains and works out what is owed.
 *
 * Archipelago -> EVM: a packet pending on Archipelago's attested client and not received by the
 * bridge is received there with its commitment proof, after the EVM light client is brought to
 * the proof's height (adjacent or skipping updates, validator-set changes included). Once the
 * bridge received it and the validators attested its ack (a recorded `ack` fact), the ack goes
 * back (`ibc.acknowledgePacket`); past its timeout on the EVM with an attested receipt absence,
 * `ibc.timeoutPacket` refunds it.
 *
 * EVM -> Archipelago: a packet the bridge committed to and still holds is received on
 * Archipelago once its `commitment` fact is recorded; then Archipelago's ack (or, past the
 * timeout, the receipt's absence) is proven to the bridge. Archipelago's messages of a round go
 * in one `ibc.relay` tx. Anything someone else already did (another relayer, an earlier run)
 * is refused by both sides as a replay and counted as a race, never retried as an error.
 */
import type { Signer } from 'ethers';
import type { Logger } from 'pino';
import { getProfile } from '../crypto/profile.ts';
import { EvmBridge, EvmLightClient } from '../evm/bridge.ts';
import { revertName } from '../evm/connect.ts';
import type { EvmBridgeRecord } from '../evm/evm-record.ts';
import {
  allPendingPackets,
  HeaderSource,
  type IbcAck,
  type IbcPacket,
  planClientUpdate,
  provenState,
} from '../sdk/ibc.ts';
import type { BlockJson } from '../sdk/types.ts';
import { hex, unhex } from '../types/hex.ts';
import { utf8Text } from '../types/json.ts';
import { fullKey, IBC, keys, packetCommitment } from '../vm/native/ibc/keys.ts';
import { MAX_RELAY_MESSAGES } from '../vm/native/ibc/relay-batch.ts';
import { ChainEndpoint, type ChainTarget, type RelayMsg } from './endpoint.ts';

/** What one round did. */
export interface EvmRoundReport {
  /** Receives on the EVM, acks and timeouts of the EVM's packets settled there. */
  evm: { recv: number; ack: number; timeout: number };
  /** Receives on Archipelago, acks and timeouts of Archipelago's packets settled there. */
  archi: { recv: number; ack: number; timeout: number };
  /** Work someone else had done first. */
  races: number;
  /** Packets waiting (for attestations, confirmations, a timeout). */
  waiting: number;
  errors: number;
}

/** What the relayer needs: Archipelago's nodes and signer, the bridge record, an EVM signer. */
export interface EvmRelayOptions {
  archi: ChainTarget;
  record: EvmBridgeRecord;
  /** Signs the EVM txs (connected to the EVM node's provider). */
  signer: Signer;
  log: Logger;
  /** Most pending packets looked at per direction and round. */
  maxPackets?: number;
}

/** Archipelago refusals meaning the work was done already. */
const ARCHI_RACES = new Set(['IBC_PACKET_ALREADY_RECEIVED', 'IBC_PACKET_UNKNOWN']);
/** Bridge reverts meaning the same. */
const EVM_RACES = new Set(['PacketAlreadyReceived', 'PacketUnknown']);

const sha256 = getProfile('standard').hash;

function timedOut(p: IbcPacket, height: number, time: number): boolean {
  return (
    (p.timeoutHeight > 0 && height >= p.timeoutHeight) ||
    (p.timeoutTime > 0 && time >= p.timeoutTime)
  );
}

/** The ack bytes of a `WriteAck` (hex, 0x optional) as JSON, or undefined if they are not an ack. */
export function decodeAckBytes(bytes: string): IbcAck | undefined {
  try {
    const v = JSON.parse(utf8Text(unhex(bytes.replace(/^0x/, ''), 'ack')));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    if (typeof v.error === 'string' && Object.keys(v).length === 1) return { error: v.error };
    if ('result' in v && Object.keys(v).length === 1) return { result: v.result };
  } catch {
    // not JSON
  }
  return undefined;
}

/** A tx owed to the EVM, carrying a proof of Archipelago's state at `height`. */
interface EvmWork {
  kind: 'recv' | 'ack' | 'timeout';
  sequence: number;
  height: number;
  run: () => Promise<unknown>;
}

/** One relayer of one Archipelago chain and its EVM bridge. */
export class EvmRelay {
  readonly ep: ChainEndpoint;
  readonly bridge: EvmBridge;
  readonly lc: EvmLightClient;
  private readonly max: number;
  /** First EVM block whose `SendPacket` events can still name a pending packet. */
  private scanFrom: number;

  constructor(readonly o: EvmRelayOptions) {
    this.ep = new ChainEndpoint(o.archi);
    this.bridge = new EvmBridge(o.record.bridge, o.signer);
    this.lc = new EvmLightClient(o.record.lightClient, o.signer);
    this.max = o.maxPackets ?? 200;
    this.scanFrom = o.record.deployBlock;
  }

  private fact(kind: string, sequence: number): Promise<{ value: string } | null> {
    return this.ep.call(
      async (c) =>
        (
          await c.query(IBC, 'fact', {
            clientId: this.o.record.archiClientId,
            kind,
            sequence,
          })
        ).result as { value: string } | null,
    );
  }

  /** The ack the bridge wrote for Archipelago's packet `sequence` (its `WriteAck` event). */
  private async evmAck(sequence: number): Promise<IbcAck | undefined> {
    const c = this.bridge.contract;
    const logs = await c.queryFilter(c.filters.WriteAck(sequence), this.o.record.deployBlock);
    const last = logs.at(-1) as { args?: { ack?: string } } | undefined;
    return last?.args?.ack ? decodeAckBytes(last.args.ack) : undefined;
  }

  /** One round: plan both directions, then settle Archipelago's share in one tx and the EVM's in height order. */
  async round(): Promise<EvmRoundReport> {
    const report: EvmRoundReport = {
      evm: { recv: 0, ack: 0, timeout: 0 },
      archi: { recv: 0, ack: 0, timeout: 0 },
      races: 0,
      waiting: 0,
      errors: 0,
    };
    const blocks = new Map<number, Promise<BlockJson>>();
    const msgs: RelayMsg[] = [];
    const work: EvmWork[] = [];
    await this.planToEvm(msgs, work, blocks, report);
    await this.planFromEvm(msgs, work, blocks, report);
    await this.sendArchi(msgs, report);
    await this.sendEvm(work, report);
    return report;
  }

  /** Archipelago's packets to the bridge. */
  private async planToEvm(
    msgs: RelayMsg[],
    work: EvmWork[],
    blocks: Map<number, Promise<BlockJson>>,
    report: EvmRoundReport,
  ): Promise<void> {
    const { record } = this.o;
    const page = await this.ep.call((c) => allPendingPackets(c, record.archiClientId, this.max));
    const head = await this.o.signer.provider?.getBlock('latest');
    if (!head) throw new Error('the EVM node has no latest block');
    for (const p of page.packets) {
      if (p.destClient !== record.bridgeClientId) continue;
      const seq = p.sequence;
      if (await this.bridge.received(seq)) {
        if (!(await this.fact('ack', seq))) {
          report.waiting++;
          continue;
        }
        const ack = await this.evmAck(seq);
        if (!ack) {
          report.waiting++;
          continue;
        }
        msgs.push({ method: 'acknowledgePacket', args: { packet: p, ack } });
      } else if (timedOut(p, head.number, head.timestamp * 1000)) {
        if (await this.fact('receipt-absent', seq)) {
          msgs.push({ method: 'timeoutPacket', args: { packet: p } });
        } else report.waiting++;
      } else {
        const proven = await this.ep.call((c) =>
          provenState(c, fullKey(keys.commitment(p.sourceClient, seq)), blocks),
        );
        if (proven.value === null) continue; // settled meanwhile
        if (proven.value !== hex(packetCommitment(sha256, p))) {
          report.errors++;
          this.o.log.error({ sequence: seq }, 'the packet does not match its proven commitment');
          continue;
        }
        work.push({
          kind: 'recv',
          sequence: seq,
          height: proven.height,
          run: () => this.bridge.recvPacket(p, proven.proof, proven.height),
        });
      }
    }
  }

  /** The bridge's packets to Archipelago. */
  private async planFromEvm(
    msgs: RelayMsg[],
    work: EvmWork[],
    blocks: Map<number, Promise<BlockJson>>,
    report: EvmRoundReport,
  ): Promise<void> {
    const head = await this.o.signer.provider?.getBlockNumber();
    const sent = await this.bridge.sentPackets(this.scanFrom, head);
    let looked = 0;
    // The bridge never commits to a packet again once settled: the next scan can start at the
    // block of the first packet still pending (or past this head when none is).
    let firstPending: number | undefined;
    for (const s of sent) {
      const p = s.packet;
      const seq = p.sequence;
      if (!(await this.bridge.pending(seq))) continue;
      firstPending ??= s.blockNumber;
      if (looked >= this.max) break;
      looked++;
      const ack = await this.ep.call((c) =>
        provenState(c, fullKey(keys.ack(p.destClient, seq)), blocks),
      );
      if (ack.value !== null) {
        const data = await this.ep.call((c) => c.getState(IBC, keys.ackData(p.destClient, seq)));
        const decoded = data?.value ? decodeAckBytes(data.value) : undefined;
        if (!decoded) {
          report.waiting++;
          continue;
        }
        work.push({
          kind: 'ack',
          sequence: seq,
          height: ack.height,
          run: () => this.bridge.acknowledgePacket(p, decoded, ack.proof, ack.height),
        });
      } else if (timedOut(p, ack.height, ack.time)) {
        const receipt = await this.ep.call((c) =>
          provenState(c, fullKey(keys.receipt(p.destClient, seq)), blocks),
        );
        if (receipt.value !== null || !timedOut(p, receipt.height, receipt.time)) {
          report.waiting++;
          continue;
        }
        work.push({
          kind: 'timeout',
          sequence: seq,
          height: receipt.height,
          run: () => this.bridge.timeoutPacket(p, receipt.proof, receipt.height),
        });
      } else {
        const fact = await this.fact('commitment', seq);
        if (fact && fact.value === s.commitment.replace(/^0x/, '').toLowerCase()) {
          msgs.push({ method: 'recvPacket', args: { packet: p } });
        } else report.waiting++;
      }
    }
    if (head !== undefined) this.scanFrom = firstPending ?? head + 1;
  }

  /** Archipelago's share: one `ibc.relay` tx per 100 messages. */
  private async sendArchi(msgs: RelayMsg[], report: EvmRoundReport): Promise<void> {
    for (let i = 0; i < msgs.length; i += MAX_RELAY_MESSAGES) {
      const batch = msgs.slice(i, i + MAX_RELAY_MESSAGES);
      const out = await this.ep.relay(batch);
      if (!out.ok) {
        report.errors++;
        this.o.log.error({ code: out.code, message: out.message }, 'relay tx refused');
        continue;
      }
      out.results?.forEach((r, j) => {
        const m = batch[j];
        const seq = (m.args as { packet: IbcPacket }).packet.sequence;
        if (r.ok) {
          const k =
            m.method === 'recvPacket'
              ? 'recv'
              : m.method === 'acknowledgePacket'
                ? 'ack'
                : 'timeout';
          report.archi[k]++;
          this.o.log.info(
            { to: 'archipelago', method: m.method, sequence: seq, height: out.height },
            'relayed',
          );
        } else if (ARCHI_RACES.has(r.code)) report.races++;
        else {
          report.errors++;
          this.o.log.error(
            { method: m.method, sequence: seq, code: r.code, message: r.message },
            'refused',
          );
        }
      });
    }
  }

  /** The EVM's share, in height order: the light client goes up once per proof height. */
  private async sendEvm(work: EvmWork[], report: EvmRoundReport): Promise<void> {
    work.sort((a, b) => a.height - b.height);
    let at = -1;
    let ready = false;
    for (const w of work) {
      if (w.height !== at) {
        at = w.height;
        ready = await this.updateTo(at).catch((e) => {
          report.errors++;
          this.o.log.warn({ height: at, err: (e as Error).message }, 'light client update failed');
          return false;
        });
      }
      if (!ready) {
        report.waiting++;
        continue;
      }
      try {
        const m = (await w.run()) as { receipt?: { hash: string } };
        report.evm[w.kind]++;
        this.o.log.info(
          {
            to: 'evm',
            kind: w.kind,
            sequence: w.sequence,
            proofHeight: w.height,
            tx: m.receipt?.hash,
          },
          'relayed',
        );
      } catch (e) {
        const name = revertName(e);
        if (name && EVM_RACES.has(name)) report.races++;
        else {
          report.errors++;
          this.o.log.error(
            {
              kind: w.kind,
              sequence: w.sequence,
              revert: name,
              err: (e as Error).message.slice(0, 300),
            },
            'EVM tx failed',
          );
        }
      }
    }
  }

  /**
   * Brings the EVM light client to Archipelago's `height` (from its latest height: adjacent
   * steps or skips the trusted set vouches for); false when another relayer took it past
   * `height` without storing `height` (the proof is taken again next round).
   */
  async updateTo(height: number): Promise<boolean> {
    let latest = await this.lc.latestHeight();
    if (latest >= height) {
      if (latest === height) return true;
      try {
        await this.lc.consensusState(height);
        return true;
      } catch {
        return false;
      }
    }
    const src = new HeaderSource(this.ep.client());
    for (const step of await planClientUpdate(src, latest, height)) {
      const [header, trustedValidators, nextValidators] = await Promise.all([
        src.header(step),
        src.nextSetOf(latest),
        src.nextSetOf(step),
      ]);
      try {
        const r = await this.lc.update(header, latest, { trustedValidators, nextValidators });
        this.o.log.debug(
          { height: step, trusted: latest, result: r.result, gas: String(r.gasUsed) },
          'light client updated',
        );
      } catch (e) {
        // Another relayer may have moved it meanwhile: start again from where it is now.
        if ((await this.lc.latestHeight()) !== latest) return this.updateTo(height);
        throw e;
      }
      latest = step;
    }
    return true;
  }
}

/** A running EVM relayer; `stop` ends it after the current round. */
export interface RunningEvmRelayer {
  stop(): Promise<void>;
}

/** Runs rounds every `intervalMs` until stopped, logging each round that did something. */
export function startEvmRelayer(o: EvmRelayOptions & { intervalMs: number }): RunningEvmRelayer {
  const relay = new EvmRelay(o);
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    o.log.info(
      {
        bridge: o.record.bridge,
        lightClient: o.record.lightClient,
        client: o.record.archiClientId,
      },
      'evm relayer started',
    );
    while (!stopped) {
      try {
        const r = await relay.round();
        const did =
          r.evm.recv + r.evm.ack + r.evm.timeout + r.archi.recv + r.archi.ack + r.archi.timeout;
        if (did || r.races || r.errors) o.log.info(r, 'round');
      } catch (e) {
        o.log.warn({ err: (e as Error).message }, 'round failed');
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, o.intervalMs);
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
