/**
 * Connects the pure Tendermint state machine to the world: signs its proposals and votes
 * (through the double-sign guard), logs every input to the WAL before handling it, runs its
 * timers, verifies what peers send, re-executes proposed blocks, commits decided ones, and
 * catches up by block sync when peers are ahead. One driver runs one chain on one node.
 */
import {
  BlockSchema,
  type Commit,
  CommitSchema,
  ConsensusMessageSchema,
  create,
  type DuplicateVoteEvidence,
  DuplicateVoteEvidenceSchema,
  decode,
  EvidenceMessageSchema,
  encode,
  ProposalBodySchema,
  type SignedProposal,
  SignedProposalSchema,
  SyncMessageSchema,
  TxBatchSchema,
  type Vote as VoteProto,
  VoteBodySchema,
  VoteSchema,
  VoteType,
} from '../../codec/index.ts';
import type { Chain, ProposedBlock } from '../../chain/chain.ts';
import { address } from '../../crypto/profile.ts';
import { ArchiError } from '../../types/errors.ts';
import { bytesEqual, hex, unhex } from '../../types/hex.ts';
import { verifyCommit, voteBodyBytes } from '../../types/vote.ts';
import type { GuardedSigner } from '../signer.ts';
import type { Wal, WalRecord } from '../wal.ts';
import { TendermintMachine } from './state-machine.ts';
import type { Action, Input, Proposal, TimeoutConfig, ValidatorSet, Vote } from './types.ts';

/** Channel numbers of the p2p layer this driver speaks on. */
export const CHANNEL = { CONSENSUS: 1, TXS: 2, BLOCKSYNC: 3, EVIDENCE: 4 } as const;

/** What the driver needs of the network. */
export interface ConsensusNet {
  broadcast(channel: number, bytes: Uint8Array): void;
  send(peer: string, channel: number, bytes: Uint8Array): boolean;
}

export interface DriverLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface DriverOptions {
  chain: Chain;
  signer: GuardedSigner;
  net: ConsensusNet;
  wal: Wal;
  log: DriverLogger;
}

interface ValidatorEntry {
  publicKey: Uint8Array;
  power: number;
  name: string;
}

const MAX_FUTURE = 10_000;
const MAX_VOTES_PER_SLOT = 4;
const SYNC_STATUS_MS = 1000;
const SYNC_REQUEST_TIMEOUT_MS = 5000;
const TX_GOSSIP_MS = 20;
/** Gossiped evidence held until this node reaches its height (bounded; see onEvidence). */
const MAX_EARLY_EVIDENCE = 64;
/** Pooled evidence remembered for peers that connect later, until a block carries it. */
const MAX_SHARED_EVIDENCE = 256;
/** Evidence items handled per evidence message. */
const MAX_EVIDENCE_PER_MESSAGE = 64;

const voteKind = (t: VoteType): 'prevote' | 'precommit' | undefined =>
  t === VoteType.PREVOTE ? 'prevote' : t === VoteType.PRECOMMIT ? 'precommit' : undefined;

/**
 * Identity of a piece of evidence (validator, height, round, vote type) read from its first
 * vote, as the evidence pool keys it; undefined when the vote does not decode. Only for
 * bookkeeping: validity is the chain's to judge (Chain.addEvidence).
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

export class TbftDriver {
  readonly self: string;
  private machine!: TendermintMachine;
  private height = 0;
  private validators = new Map<string, ValidatorEntry>();
  private set: ValidatorSet = { validators: [] };
  /** Executed candidate blocks of this height by hash; 'invalid' when re-execution refused it. */
  private blocks = new Map<string, ProposedBlock | 'invalid'>();
  /**
   * Signed votes of this height by round/kind/validator. A slot holds more than one vote
   * only for an equivocating validator, whose vote for the decided block must still be
   * found when the commit is assembled.
   */
  private votes = new Map<string, VoteProto[]>();
  private ownMessages: Uint8Array[] = [];
  private future: Array<{ height: number; bytes: Uint8Array }> = [];
  private queue: Array<{ input: Input; rec?: WalRecord }> = [];
  private draining = false;
  private replaying = false;
  private walBlocks = new Set<number>();
  private timers = new Set<NodeJS.Timeout>();
  private stopped = true;
  private awaitingBlock: { hash: string; round: number } | undefined;
  private peerHeights = new Map<string, number>();
  private syncRequest: { peer: string; height: number; timer: NodeJS.Timeout } | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private txOut: Uint8Array[] = [];
  private txTimer: NodeJS.Timeout | undefined;
  private nextHeightTimer: NodeJS.Timeout | undefined;
  /** Evidence from peers for a height this node has not reached yet (no validator set to judge it). */
  private earlyEvidence: Array<{
    height: number;
    key: string;
    ev: DuplicateVoteEvidence;
    from: string;
  }> = [];
  /** Evidence this node pooled and no committed block carries yet, by evidence key. */
  private sharedEvidence = new Map<string, DuplicateVoteEvidence>();

  constructor(private readonly o: DriverOptions) {
    this.self = address(o.chain.profile, o.signer.publicKey);
  }

  /** Current height, round and step, for status. */
  get status(): { height: number; round: number; step: string; validator: boolean } {
    return {
      height: this.height,
      round: this.machine?.round ?? 0,
      step: this.machine?.step ?? 'propose',
      validator: this.validators.has(this.self),
    };
  }

  /** Start (or resume after a crash, replaying the WAL) at the height after the last commit. */
  start(): void {
    this.stopped = false;
    this.o.chain.on('pending', this.onPendingTx);
    this.statusTimer = setInterval(() => this.broadcastStatus(), SYNC_STATUS_MS);
    this.statusTimer.unref();
    const repaired = this.o.wal.recovery;
    if (repaired) this.o.log.warn(repaired, 'WAL repaired on open (torn tail cut or old format)');
    this.startHeight();
    this.broadcastStatus();
  }

  /** Stop timers; state on disk stays as it is. */
  stop(): void {
    this.stopped = true;
    this.o.chain.off('pending', this.onPendingTx);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.statusTimer) clearInterval(this.statusTimer);
    if (this.txTimer) clearTimeout(this.txTimer);
    if (this.nextHeightTimer) clearTimeout(this.nextHeightTimer);
    if (this.syncRequest) clearTimeout(this.syncRequest.timer);
  }

  private timeouts(): TimeoutConfig {
    const p = this.o.chain.config.params;
    return {
      proposeMs: p?.timeoutProposeMs ?? 3000,
      voteMs: p?.timeoutVoteMs ?? 1000,
      deltaMs: p?.timeoutDeltaMs ?? 500,
    };
  }

  private startHeight(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const chain = this.o.chain;
    this.height = chain.height + 1;
    this.blocks = new Map();
    this.votes = new Map();
    this.ownMessages = [];
    this.awaitingBlock = undefined;
    this.queue = [];
    this.validators = new Map();
    for (const v of chain.config.validators) {
      if (v.power === 0n) continue;
      this.validators.set(address(chain.profile, v.publicKey), {
        publicKey: v.publicKey,
        power: Number(v.power),
        name: v.name,
      });
    }
    this.set = {
      validators: [...this.validators.entries()].map(([addr, v]) => ({
        address: addr,
        power: v.power,
      })),
    };
    const self = this.validators.has(this.self) ? this.self : '';
    this.machine = new TendermintMachine(self, this.timeouts());
    // Replay what this node had seen of this height before a crash: same inputs, same
    // state, and the guard hands back the same signatures for the same votes.
    const records = this.o.wal.replay(this.height);
    if (records.length > 0)
      this.o.log.info({ height: this.height, records: records.length }, 'replaying WAL');
    this.walBlocks = new Set(
      records.filter((r) => r.kind === 'block').map((r) => r.round as number),
    );
    this.replaying = records.length > 0;
    try {
      this.enqueue({ type: 'start', height: this.height, validators: this.set });
      for (const rec of records) this.replayRecord(rec);
    } finally {
      this.replaying = false;
    }
    const buffered = this.future.filter((f) => f.height === this.height);
    this.future = this.future.filter((f) => f.height > this.height);
    for (const f of buffered) this.onConsensusBytes(f.bytes);
    this.takeEarlyEvidence();
  }

  private replayRecord(rec: WalRecord): void {
    try {
      if (rec.kind === 'msg') this.onConsensusBytes(rec.data!);
      else if (rec.kind === 'own') this.sendOwn(rec.data!, false);
      else if (rec.kind === 'timeout') {
        this.enqueue({
          type: 'timeout',
          step: rec.step as 'propose',
          height: rec.height,
          round: rec.round as number,
        });
      } else if (rec.kind === 'block') {
        this.adoptOwnBlock(rec.data!, rec.round as number);
      }
    } catch (e) {
      this.o.log.warn(
        { err: (e as Error).message, kind: rec.kind },
        'skipping unusable WAL record',
      );
    }
  }

  private enqueue(input: Input, rec?: WalRecord): void {
    this.queue.push({ input, rec });
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const { input: next, rec: r } = this.queue.shift()!;
        if (r && !this.replaying) this.o.wal.append(r);
        const actions = this.machine.handle(next);
        for (const a of actions) this.perform(a);
        if (this.stopped) break;
      }
    } finally {
      this.draining = false;
    }
  }

  private perform(a: Action): void {
    switch (a.type) {
      case 'buildBlock':
        // A block built before the crash comes back from the WAL; build only if there is none.
        if (!(this.replaying && this.walBlocks.has(a.round))) this.buildBlock(a.height, a.round);
        return;
      case 'propose':
        this.signProposal(a.proposal);
        return;
      case 'vote':
        this.signVote(a.vote);
        return;
      case 'scheduleTimeout': {
        const t = setTimeout(() => {
          this.timers.delete(t);
          if (this.stopped || a.height !== this.height) return;
          // Messages may have been lost: show peers what we said in this height again.
          for (const m of this.ownMessages.slice(-6)) this.o.net.broadcast(CHANNEL.CONSENSUS, m);
          this.enqueue(
            { type: 'timeout', step: a.step, height: a.height, round: a.round },
            { height: a.height, kind: 'timeout', step: a.step, round: a.round },
          );
        }, a.durationMs);
        this.timers.add(t);
        return;
      }
      case 'decide':
        this.decide(a.height, a.round, a.blockHash);
        return;
      case 'evidence':
        // onVote already turned the two signed votes into evidence; the machine's view is informative.
        return;
    }
  }

  private lastCommit(): Commit | undefined {
    const chain = this.o.chain;
    if (chain.height < 1) return undefined;
    const seen = chain.store.getSeenCommit(chain.height);
    return seen ? decode(CommitSchema, seen, 'INTERNAL') : undefined;
  }

  private buildBlock(height: number, round: number): void {
    const chain = this.o.chain;
    const time = Math.max(Date.now(), chain.latestHeader.time + 1);
    const p = chain.proposeBlock(time, unhex(this.self), this.lastCommit());
    this.o.wal.append({ height, kind: 'block', round, data: p.blockBytes });
    const blockHash = hex(p.blockHash);
    this.blocks.set(blockHash, p);
    this.enqueue({ type: 'proposalBlock', height, round, blockHash });
  }

  /** A block this node built before a crash, read back from the WAL. */
  private adoptOwnBlock(blockBytes: Uint8Array, round: number): void {
    const p = this.o.chain.validateBlock(blockBytes);
    const blockHash = hex(p.blockHash);
    this.blocks.set(blockHash, p);
    this.enqueue({ type: 'proposalBlock', height: this.height, round, blockHash });
  }

  private signProposal(proposal: Proposal): void {
    const block = this.blocks.get(proposal.blockHash);
    if (!block || block === 'invalid') {
      this.o.log.warn({ proposal }, 'asked to propose a block this node does not hold');
      return;
    }
    const chain = this.o.chain;
    this.o.wal.sync();
    let signed: ReturnType<GuardedSigner['sign']>;
    try {
      signed = this.o.signer.sign({
        height: proposal.height,
        round: proposal.round,
        step: 'propose',
        content: `${proposal.blockHash}/${proposal.polRound}`,
        timestamp: Date.now(),
        bytes: (timestamp) =>
          encode(
            ProposalBodySchema,
            create(ProposalBodySchema, {
              chainId: chain.chainId,
              height: BigInt(proposal.height),
              round: proposal.round,
              polRound: proposal.polRound,
              blockHash: unhex(proposal.blockHash),
              timestamp: BigInt(timestamp),
              proposer: unhex(this.self),
            }),
          ),
      });
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'proposal not signed');
      return;
    }
    const msg = create(SignedProposalSchema, {
      body: signed.bytes,
      signature: signed.signature,
      block: block.blockBytes,
    });
    this.sendOwn(
      encode(
        ConsensusMessageSchema,
        create(ConsensusMessageSchema, { msg: { case: 'proposal', value: msg } }),
      ),
      true,
    );
  }

  private signVote(vote: Vote): void {
    const chain = this.o.chain;
    const type = vote.kind === 'prevote' ? VoteType.PREVOTE : VoteType.PRECOMMIT;
    const blockHash = vote.blockHash ? unhex(vote.blockHash) : new Uint8Array(0);
    this.o.wal.sync();
    let signed: ReturnType<GuardedSigner['sign']>;
    try {
      signed = this.o.signer.sign({
        height: vote.height,
        round: vote.round,
        step: vote.kind,
        content: vote.blockHash ?? 'nil',
        timestamp: Date.now(),
        bytes: (timestamp) =>
          voteBodyBytes(
            chain.chainId,
            type,
            vote.height,
            vote.round,
            blockHash,
            timestamp,
            unhex(this.self),
          ),
      });
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'vote not signed');
      return;
    }
    const msg = create(VoteSchema, { body: signed.bytes, signature: signed.signature });
    this.sendOwn(
      encode(
        ConsensusMessageSchema,
        create(ConsensusMessageSchema, { msg: { case: 'vote', value: msg } }),
      ),
      true,
    );
  }

  /**
   * Send a message this node signed. It is made durable in the WAL first: after a crash the
   * guard will not sign an earlier step again, so a lost own vote could otherwise never be
   * re-sent and the height could stall.
   */
  private sendOwn(bytes: Uint8Array, log: boolean): void {
    if (log) {
      this.o.wal.append({ height: this.height, kind: 'own', data: bytes });
      this.o.wal.sync();
    }
    this.ownMessages.push(bytes);
    this.o.net.broadcast(CHANNEL.CONSENSUS, bytes);
    this.onConsensusBytes(bytes, undefined, false);
  }

  private decide(height: number, round: number, blockHash: string): void {
    const block = this.blocks.get(blockHash);
    if (!block || block === 'invalid') {
      // +2/3 committed a block we never received (or could not run): fetch it by block sync.
      this.awaitingBlock = { hash: blockHash, round };
      this.o.log.warn({ height, blockHash }, 'decided block not held: syncing it');
      this.broadcastStatus();
      return;
    }
    const signatures = [];
    for (const [key, slot] of this.votes) {
      if (!key.startsWith(`${round}/precommit/`)) continue;
      for (const v of slot) {
        const body = decode(VoteBodySchema, v.body, 'INTERNAL');
        if (!bytesEqual(body.blockHash, block.blockHash)) continue;
        signatures.push({
          validator: body.validator,
          timestamp: body.timestamp,
          signature: v.signature,
        });
      }
    }
    signatures.sort((a, b) => (hex(a.validator) < hex(b.validator) ? -1 : 1));
    const commit = create(CommitSchema, {
      height: BigInt(height),
      round,
      blockHash: block.blockHash,
      signatures,
    });
    this.commit(block, commit);
  }

  private commit(block: ProposedBlock, commit: Commit): void {
    this.o.chain.commitBlock(block, commit);
    this.evidenceCommitted(block);
    this.o.wal.reset();
    this.broadcastStatus();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    // Pace blocks: the commit timeout gives late precommits and new txs time to arrive.
    const wait = this.o.chain.config.params?.blockIntervalMs ?? 200;
    if (this.nextHeightTimer) clearTimeout(this.nextHeightTimer);
    // this.height stays at the decided height until the next one starts, so messages for
    // the next height are buffered meanwhile instead of dropped.
    this.nextHeightTimer = setTimeout(() => {
      this.nextHeightTimer = undefined;
      if (!this.stopped) this.startHeight();
    }, wait);
  }

  /** Handle bytes from the network (or our own messages); never throws. */
  onMessage(peer: string, channel: number, bytes: Uint8Array): void {
    if (this.stopped) return;
    try {
      if (channel === CHANNEL.CONSENSUS) this.onConsensusBytes(bytes, peer);
      else if (channel === CHANNEL.TXS) this.onTxs(bytes);
      else if (channel === CHANNEL.BLOCKSYNC) this.onSync(peer, bytes);
      else if (channel === CHANNEL.EVIDENCE) this.onEvidence(peer, bytes);
    } catch (e) {
      this.o.log.debug({ peer, channel, err: (e as Error).message }, 'dropped a bad message');
    }
  }

  private onConsensusBytes(bytes: Uint8Array, _peer?: string, log = true): void {
    const m = decode(ConsensusMessageSchema, bytes, 'BAD_REQUEST');
    if (m.msg.case === 'proposal') this.onProposal(m.msg.value, bytes, log);
    else if (m.msg.case === 'vote') this.onVote(m.msg.value, bytes, log);
  }

  private bufferFuture(height: number, bytes: Uint8Array): void {
    if (height > this.height && height <= this.height + 10 && this.future.length < MAX_FUTURE) {
      this.future.push({ height, bytes });
    }
  }

  private onProposal(p: SignedProposal, raw: Uint8Array, log: boolean): void {
    const chain = this.o.chain;
    const body = decode(ProposalBodySchema, p.body, 'BAD_REQUEST');
    const height = Number(body.height);
    if (body.chainId !== chain.chainId) return;
    if (height !== this.height || this.nextHeightTimer) {
      this.bufferFuture(height, raw);
      return;
    }
    const proposer = hex(body.proposer);
    const v = this.validators.get(proposer);
    if (!v || !chain.profile.verify(v.publicKey, p.body, p.signature)) return;
    const block = decode(BlockSchema, p.block, 'BAD_REQUEST');
    if (!bytesEqual(chain.profile.hash(block.header), body.blockHash)) return;
    const blockHash = hex(body.blockHash);
    if (!this.blocks.has(blockHash)) {
      try {
        this.blocks.set(blockHash, chain.validateBlock(p.block));
      } catch (e) {
        this.o.log.warn({ height, blockHash, err: (e as Error).message }, 'proposed block refused');
        this.blocks.set(blockHash, 'invalid');
      }
    }
    const valid = this.blocks.get(blockHash) !== 'invalid';
    const proposal: Proposal = {
      height,
      round: body.round,
      blockHash,
      polRound: body.polRound,
      proposer,
    };
    this.enqueue(
      { type: 'proposal', proposal, valid },
      log ? { height, kind: 'msg', data: raw } : undefined,
    );
    const awaited = this.awaitingBlock;
    if (awaited?.hash === blockHash && valid) {
      // The block we decided without holding arrived: commit it now.
      this.awaitingBlock = undefined;
      this.decide(this.height, awaited.round, blockHash);
    }
  }

  private onVote(v: VoteProto, raw: Uint8Array, log: boolean): void {
    const chain = this.o.chain;
    const body = decode(VoteBodySchema, v.body, 'BAD_REQUEST');
    const height = Number(body.height);
    if (body.chainId !== chain.chainId) return;
    // The decided height keeps its votes until the next one starts: a conflicting vote that
    // arrives in the block interval is still evidence, though the machine is done with it.
    const decided = height === this.height && this.nextHeightTimer !== undefined;
    if (height !== this.height || decided) {
      if (decided) this.fileVote(v, body);
      else this.bufferFuture(height, raw);
      return;
    }
    const kind = this.fileVote(v, body);
    if (!kind) return;
    const vote: Vote = {
      kind,
      height,
      round: body.round,
      blockHash: body.blockHash.length ? hex(body.blockHash) : null,
      validator: hex(body.validator),
    };
    this.enqueue({ type: 'vote', vote }, log ? { height, kind: 'msg', data: raw } : undefined);
  }

  /**
   * Verifies a vote of this height and files it in its slot; a second vote of the slot for
   * another block is a double sign. Returns the vote's kind, or undefined if it is not valid.
   */
  private fileVote(
    v: VoteProto,
    body: ReturnType<typeof decode<typeof VoteBodySchema>>,
  ): 'prevote' | 'precommit' | undefined {
    const kind = voteKind(body.type);
    const validator = hex(body.validator);
    const entry = this.validators.get(validator);
    if (!kind || !entry || !this.o.chain.profile.verify(entry.publicKey, v.body, v.signature))
      return undefined;
    const key = `${body.round}/${kind}/${validator}`;
    const slot = this.votes.get(key);
    if (!slot) this.votes.set(key, [v]);
    else if (
      !slot.some((x) =>
        bytesEqual(decode(VoteBodySchema, x.body, 'INTERNAL').blockHash, body.blockHash),
      )
    ) {
      this.reportDoubleSign(slot[0], v);
      if (slot.length < MAX_VOTES_PER_SLOT) slot.push(v);
    }
    return kind;
  }

  // --- evidence --------------------------------------------------------------

  private reportDoubleSign(a: VoteProto, b: VoteProto): void {
    const ev = create(DuplicateVoteEvidenceSchema, { voteA: a, voteB: b });
    if (!this.o.chain.addEvidence(ev)) return;
    this.o.log.warn({ height: this.height }, 'double sign detected: evidence pooled and gossiped');
    this.shareEvidence(ev);
  }

  private onEvidence(peer: string, bytes: Uint8Array): void {
    const m = decode(EvidenceMessageSchema, bytes, 'BAD_REQUEST');
    for (const ev of m.evidence.slice(0, MAX_EVIDENCE_PER_MESSAGE)) this.takeEvidence(ev, peer);
  }

  /** Evidence from a peer: pooled and passed on when new and valid, held when it is early. */
  private takeEvidence(ev: DuplicateVoteEvidence, from: string): void {
    const id = evidenceId(ev);
    if (!id) return;
    const chain = this.o.chain;
    if (id.height > chain.height + 1) {
      // A peer ahead of us saw the double sign. Evidence is judged by the validator set of
      // its own height, which this node learns only when it gets there: hold it until then.
      const early = this.earlyEvidence;
      if (
        id.height <= chain.height + 1 + 10 &&
        early.length < MAX_EARLY_EVIDENCE &&
        !early.some((e) => e.key === id.key && e.from === from)
      ) {
        early.push({ height: id.height, key: id.key, ev, from });
      }
      return;
    }
    if (!chain.addEvidence(ev)) return;
    this.o.log.info(
      { from, height: id.height, validator: id.validator },
      'evidence received by gossip: pooled and passed on',
    );
    this.shareEvidence(ev);
  }

  /**
   * Sends pooled evidence to every connected peer and keeps it for peers that connect later
   * (onPeerUp) until a committed block carries it. A peer that already holds it drops it
   * quietly, so the flood ends after one round.
   */
  private shareEvidence(ev: DuplicateVoteEvidence): void {
    const id = evidenceId(ev);
    if (id) {
      this.sharedEvidence.set(id.key, ev);
      if (this.sharedEvidence.size > MAX_SHARED_EVIDENCE) {
        this.sharedEvidence.delete(this.sharedEvidence.keys().next().value as string);
      }
    }
    const msg = create(EvidenceMessageSchema, { evidence: [ev] });
    this.o.net.broadcast(CHANNEL.EVIDENCE, encode(EvidenceMessageSchema, msg));
  }

  /** A block committed: the evidence it carries need not travel any more. */
  private evidenceCommitted(block: ProposedBlock): void {
    for (const ev of block.block.evidence) {
      const id = evidenceId(ev);
      if (id) this.sharedEvidence.delete(id.key);
    }
  }

  private takeEarlyEvidence(): void {
    const due = this.earlyEvidence.filter((e) => e.height <= this.height);
    if (due.length === 0) return;
    this.earlyEvidence = this.earlyEvidence.filter((e) => e.height > this.height);
    for (const e of due) this.takeEvidence(e.ev, e.from);
  }

  // --- tx gossip -------------------------------------------------------------

  private readonly onPendingTx = (_txId: string, bytes?: Uint8Array): void => {
    if (!bytes) return;
    this.txOut.push(bytes);
    if (!this.txTimer) {
      this.txTimer = setTimeout(() => {
        this.txTimer = undefined;
        const txs = this.txOut;
        this.txOut = [];
        this.o.net.broadcast(CHANNEL.TXS, encode(TxBatchSchema, create(TxBatchSchema, { txs })));
      }, TX_GOSSIP_MS);
    }
  };

  private onTxs(bytes: Uint8Array): void {
    const batch = decode(TxBatchSchema, bytes, 'BAD_REQUEST');
    for (const tx of batch.txs) {
      // Gossiped txs are not re-gossiped: every validator is connected to every other.
      this.o.chain.submitTx(tx, { gossip: false }).catch(() => undefined);
    }
  }

  // --- block sync ------------------------------------------------------------

  private broadcastStatus(): void {
    if (this.stopped) return;
    const msg = create(SyncMessageSchema, {
      msg: { case: 'status', value: { height: BigInt(this.o.chain.height) } },
    });
    this.o.net.broadcast(CHANNEL.BLOCKSYNC, encode(SyncMessageSchema, msg));
  }

  /** A peer just connected: tell it where we are and what we said in this height. */
  onPeerUp(peer: string): void {
    if (this.stopped) return;
    const msg = create(SyncMessageSchema, {
      msg: { case: 'status', value: { height: BigInt(this.o.chain.height) } },
    });
    this.o.net.send(peer, CHANNEL.BLOCKSYNC, encode(SyncMessageSchema, msg));
    for (const m of this.ownMessages) this.o.net.send(peer, CHANNEL.CONSENSUS, m);
    // Evidence it may have missed while it was away (or not yet a peer).
    const pending = [...this.sharedEvidence.values()];
    for (let i = 0; i < pending.length; i += MAX_EVIDENCE_PER_MESSAGE) {
      const evidence = pending.slice(i, i + MAX_EVIDENCE_PER_MESSAGE);
      const m = create(EvidenceMessageSchema, { evidence });
      this.o.net.send(peer, CHANNEL.EVIDENCE, encode(EvidenceMessageSchema, m));
    }
  }

  private onSync(peer: string, bytes: Uint8Array): void {
    const m = decode(SyncMessageSchema, bytes, 'BAD_REQUEST');
    const chain = this.o.chain;
    if (m.msg.case === 'status') {
      this.peerHeights.set(peer, Number(m.msg.value.height));
      this.maybeRequest();
    } else if (m.msg.case === 'request') {
      const h = Number(m.msg.value.height);
      const block = h >= 1 && h <= chain.height ? chain.store.getBlock(h) : undefined;
      const seen = block ? chain.store.getSeenCommit(h) : undefined;
      if (!block || !seen) return;
      const reply = create(SyncMessageSchema, {
        msg: {
          case: 'response',
          value: { height: BigInt(h), block, commit: decode(CommitSchema, seen, 'INTERNAL') },
        },
      });
      this.o.net.send(peer, CHANNEL.BLOCKSYNC, encode(SyncMessageSchema, reply));
    } else if (m.msg.case === 'response') {
      this.onBlockResponse(peer, m.msg.value.height, m.msg.value.block, m.msg.value.commit);
    }
  }

  private maybeRequest(): void {
    if (this.syncRequest || this.stopped) return;
    const want = this.o.chain.height + 1;
    const candidates = [...this.peerHeights.entries()].filter(([, h]) => h >= want).map(([p]) => p);
    if (candidates.length === 0) return;
    // Spread requests over the peers that have the block.
    const peer = candidates[want % candidates.length];
    const req = create(SyncMessageSchema, {
      msg: { case: 'request', value: { height: BigInt(want) } },
    });
    if (!this.o.net.send(peer, CHANNEL.BLOCKSYNC, encode(SyncMessageSchema, req))) return;
    const timer = setTimeout(() => {
      this.syncRequest = undefined;
      this.peerHeights.delete(peer);
      this.maybeRequest();
    }, SYNC_REQUEST_TIMEOUT_MS);
    this.syncRequest = { peer, height: want, timer };
  }

  private onBlockResponse(
    peer: string,
    h: bigint,
    blockBytes: Uint8Array,
    commit: Commit | undefined,
  ): void {
    const chain = this.o.chain;
    const height = Number(h);
    if (!this.syncRequest || this.syncRequest.height !== height || this.syncRequest.peer !== peer)
      return;
    clearTimeout(this.syncRequest.timer);
    this.syncRequest = undefined;
    if (height !== chain.height + 1 || !commit) return;
    try {
      const block = decode(BlockSchema, blockBytes, 'BAD_REQUEST');
      const blockHash = chain.profile.hash(block.header);
      // The next block's commit proves this one: +2/3 of the validators signed its hash.
      const check = verifyCommit(
        chain.profile,
        chain.chainId,
        chain.config.validators,
        commit,
        height,
        blockHash,
      );
      if (!check.ok) throw new ArchiError('BLOCK_INVALID', `commit: ${check.reason}`);
      const executed = chain.validateBlock(blockBytes);
      if (this.nextHeightTimer) {
        clearTimeout(this.nextHeightTimer);
        this.nextHeightTimer = undefined;
      }
      chain.commitBlock(executed, commit);
      this.evidenceCommitted(executed);
      this.o.wal.reset();
      this.o.log.info({ height, from: peer }, 'synced block');
      this.startHeight();
    } catch (e) {
      this.o.log.warn({ height, peer, err: (e as Error).message }, 'synced block refused');
      this.peerHeights.delete(peer);
    }
    this.maybeRequest();
  }
}
