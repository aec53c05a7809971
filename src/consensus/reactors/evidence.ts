/**
 * Evidence gossip: double-sign evidence (found by this node's driver or received from a peer)
 * is checked by the chain's pool, passed on once, re-sent to peers that connect later until a
 * committed block carries it, and held while it is for a height this node has not reached.
 */
import {
  create,
  type DuplicateVoteEvidence,
  decode,
  EvidenceMessageSchema,
  encode,
  VoteBodySchema,
} from '../../codec/index.ts';
import { CHANNELS } from '../../p2p/channels.ts';
import { hex } from '../../types/hex.ts';
import type { CandidateBlock, EvidencePool } from '../chain-api.ts';
import type { ConsensusNet, Reactor, ReactorLogger } from '../reactor.ts';

/** Gossiped evidence held until this node reaches its height (bounded; see take). */
const MAX_EARLY_EVIDENCE = 64;
/** How far ahead of this node early evidence may be. */
const MAX_EARLY_HEIGHTS = 10;
/** Pooled evidence remembered for peers that connect later, until a block carries it. */
const MAX_SHARED_EVIDENCE = 256;
/** Evidence items handled per evidence message. */
export const MAX_EVIDENCE_PER_MESSAGE = 64;

/**
 * Identity of a piece of evidence (validator, height, round, vote type) read from its first
 * vote, as the evidence pool keys it; undefined when the vote does not decode. Only for
 * bookkeeping: validity is the pool's to judge.
 */
function evidenceId(
  ev: DuplicateVoteEvidence,
): { key: string; height: number; validator: string } | undefined {
  if (!ev.voteA) return undefined;
  try {
    const b = decode(VoteBodySchema, ev.voteA.body, 'BAD_REQUEST');
    const height = Number(b.height);
    const validator = hex(b.validator);
    return { key: `${height}/${b.round}/${b.type}/${validator}`, height, validator };
  } catch {
    return undefined;
  }
}

export interface EvidenceReactorOptions {
  pool: EvidencePool;
  net: ConsensusNet;
  log: ReactorLogger;
}

export class EvidenceReactor implements Reactor {
  readonly name = 'evidence';
  readonly channels = [CHANNELS.evidence.id] as const;
  /** Evidence from peers for a height this node has not reached yet (no validator set to judge it). */
  private early: Array<{ height: number; key: string; ev: DuplicateVoteEvidence; from: string }> =
    [];
  /** Evidence this node pooled and no committed block carries yet, by evidence key. */
  private shared = new Map<string, DuplicateVoteEvidence>();

  constructor(private readonly o: EvidenceReactorOptions) {}

  start(): void {}

  stop(): void {}

  /** A double sign this node's driver saw: pooled and gossiped when valid and new. */
  report(ev: DuplicateVoteEvidence): void {
    if (!this.o.pool.addEvidence(ev)) return;
    this.o.log.warn(
      { height: this.o.pool.height + 1 },
      'double sign detected: evidence pooled and gossiped',
    );
    this.share(ev);
  }

  receive(peer: string, _channel: number, bytes: Uint8Array): void {
    const m = decode(EvidenceMessageSchema, bytes, 'BAD_REQUEST');
    for (const ev of m.evidence.slice(0, MAX_EVIDENCE_PER_MESSAGE)) this.take(ev, peer);
  }

  /** Evidence from a peer: pooled and passed on when new and valid, held when it is early. */
  private take(ev: DuplicateVoteEvidence, from: string): void {
    const id = evidenceId(ev);
    if (!id) return;
    const next = this.o.pool.height + 1;
    if (id.height > next) {
      // A peer ahead of us saw the double sign. Evidence is judged by the validator set of
      // its own height, which this node learns only when it gets there: hold it until then.
      if (
        id.height <= next + MAX_EARLY_HEIGHTS &&
        this.early.length < MAX_EARLY_EVIDENCE &&
        !this.early.some((e) => e.key === id.key && e.from === from)
      ) {
        this.early.push({ height: id.height, key: id.key, ev, from });
      }
      return;
    }
    if (!this.o.pool.addEvidence(ev)) return;
    this.o.log.info(
      { from, height: id.height, validator: id.validator },
      'evidence received by gossip: pooled and passed on',
    );
    this.share(ev);
  }

  /**
   * Sends pooled evidence to every connected peer and keeps it for peers that connect later
   * until a committed block carries it. A peer that already holds it drops it quietly, so the
   * flood ends after one round.
   */
  private share(ev: DuplicateVoteEvidence): void {
    const id = evidenceId(ev);
    if (id) {
      this.shared.set(id.key, ev);
      if (this.shared.size > MAX_SHARED_EVIDENCE) {
        this.shared.delete(this.shared.keys().next().value as string);
      }
    }
    const msg = create(EvidenceMessageSchema, { evidence: [ev] });
    this.o.net.broadcast(CHANNELS.evidence.id, encode(EvidenceMessageSchema, msg));
  }

  /** A block committed (by consensus or sync): its evidence need not travel any more, and held evidence may now be due. */
  committed(block: CandidateBlock): void {
    for (const ev of block.block.evidence) {
      const id = evidenceId(ev);
      if (id) this.shared.delete(id.key);
    }
    const next = this.o.pool.height + 1;
    const due = this.early.filter((e) => e.height <= next);
    if (due.length === 0) return;
    this.early = this.early.filter((e) => e.height > next);
    for (const e of due) this.take(e.ev, e.from);
  }

  /** Evidence a peer may have missed while it was away (or not yet a peer). */
  peerUp(peer: string): void {
    const pending = [...this.shared.values()];
    for (let i = 0; i < pending.length; i += MAX_EVIDENCE_PER_MESSAGE) {
      const evidence = pending.slice(i, i + MAX_EVIDENCE_PER_MESSAGE);
      const m = create(EvidenceMessageSchema, { evidence });
      this.o.net.send(peer, CHANNELS.evidence.id, encode(EvidenceMessageSchema, m));
    }
  }
}
