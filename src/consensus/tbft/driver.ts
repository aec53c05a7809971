/**
 * Connects the pure Tendermint state machine to the world: signs its proposals and votes
 * (through the double-sign guard), logs every input to the WAL before handling it, runs its
 * timers on the injected clock, verifies what peers send, re-executes proposed blocks and
 * commits decided ones. It is the consensus reactor of one chain on one node: tx gossip,
 * block sync and evidence gossip are reactors of their own (../reactors), wired to it by
 * services.ts.
 */
import {
  BlockSchema,
  type BlockTxs,
  type BlockTxsRequest,
  type Commit,
  CommitSchema,
  ConsensusMessageSchema,
  create,
  DuplicateVoteEvidenceSchema,
  type DuplicateVoteEvidence,
  decode,
  encode,
  ProposalBodySchema,
  type SignedProposal,
  SignedProposalSchema,
  type Vote as VoteProto,
  VoteBodySchema,
  VoteSchema,
  VoteType,
} from '../../codec/index.ts';
import { address } from '../../crypto/profile.ts';
import { CHANNELS } from '../../p2p/channels.ts';
import { bytesEqual, hex, unhex } from '../../types/hex.ts';
import { voteBodyBytes } from '../../types/vote.ts';
import type { CandidateBlock, ConsensusChain } from '../chain-api.ts';
import { type Clock, every, type Timer } from '../clock.ts';
import type { ConsensusNet, Reactor, ReactorLogger } from '../reactor.ts';
import type { GuardedSigner } from '../signer.ts';
import type { ConsensusWal, WalRecord } from '../wal.ts';
import { BlockPacer } from './block-pacer.ts';
import { answerTxsRequest, CompactBlocks, compactProposal, wholeProposal } from './compact.ts';
import { TendermintMachine } from './state-machine.ts';
import {
  type Action,
  type Input,
  type Proposal,
  type TimeoutConfig,
  timeoutMs,
  type ValidatorSet,
  type Vote,
} from './types.ts';

export interface DriverOptions<B extends CandidateBlock> {
  chain: ConsensusChain<B>;
  signer: GuardedSigner;
  net: ConsensusNet;
  wal: ConsensusWal;
  log: ReactorLogger;
  clock: Clock;
  /** Where double signs this driver sees go (the evidence reactor). */
  reportEvidence(ev: DuplicateVoteEvidence): void;
  /** A block this driver decided was committed. */
  onCommitted(block: B): void;
  /** +2/3 decided a block this node does not hold: block sync should fetch it. */
  onMissingBlock(): void;
}

interface ValidatorEntry {
  publicKey: Uint8Array;
  power: number;
  name: string;
}

const MAX_FUTURE = 10_000;
const MAX_VOTES_PER_SLOT = 4;

const voteKind = (t: VoteType): 'prevote' | 'precommit' | undefined =>
  t === VoteType.PREVOTE ? 'prevote' : t === VoteType.PRECOMMIT ? 'precommit' : undefined;

export class TbftDriver<B extends CandidateBlock = CandidateBlock> implements Reactor {
  readonly name = 'consensus';
  readonly channels = [CHANNELS.consensus.id] as const;
  readonly self: string;
  private machine!: TendermintMachine;
  private height = 0;
  private validators = new Map<string, ValidatorEntry>();
  private set: ValidatorSet = { validators: [] };
  /** Executed candidate blocks of this height by hash; 'invalid' when re-execution refused it. */
  private blocks = new Map<string, B | 'invalid'>();
  /**
   * Signed votes of this height by round/kind/validator. A slot holds more than one vote
   * only for an equivocating validator, whose vote for the decided block must still be
   * found when the commit is assembled.
   */
  private votes = new Map<string, VoteProto[]>();
  private ownMessages: Uint8Array[] = [];
  /**
   * The prevotes of the polka behind this node's last re-proposal (polRound >= 0), sent with
   * it. A node that missed them cannot accept the re-proposal (line 28 needs the polka), and
   * a byzantine validator can show its prevote to one node only: that node then stays locked
   * while the others, lacking its vote or the lock's polka, never form another one. Own
   * messages alone do not carry the polka, so it travels with the proposal (CometBFT gossips a
   * peer the prevotes of its proposal's POL round for the same reason).
   */
  private polka: Uint8Array[] = [];
  private future: Array<{ height: number; bytes: Uint8Array }> = [];
  private queue: Array<{ input: Input; rec?: WalRecord }> = [];
  private draining = false;
  private replaying = false;
  private walBlocks = new Set<number>();
  private timers = new Set<Timer>();
  private stopped = true;
  private awaitingBlock: { hash: string; round: number } | undefined;
  private nextHeightTimer: Timer | undefined;
  private readonly pacer = new BlockPacer();
  /** Compact proposals waiting for txs this node's pool lacks; absent: proposals go whole. */
  private readonly compact?: CompactBlocks;

  constructor(private readonly o: DriverOptions<B>) {
    this.self = address(o.chain.profile, o.signer.publicKey);
    const { pendingTxs, txIdOf, txIds } = o.chain;
    if (pendingTxs && txIdOf && txIds) {
      this.compact = new CompactBlocks(
        {
          pendingTxs: (ids) => pendingTxs.call(o.chain, ids),
          txIdOf: (b) => txIdOf.call(o.chain, b),
        },
        () => o.chain.config.params?.maxBlockTxs ?? 10_000,
      );
    }
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
    const repaired = this.o.wal.recovery;
    if (repaired) this.o.log.warn(repaired, 'WAL repaired on open (torn tail cut or old format)');
    this.startHeight();
  }

  /** Stop timers; state on disk stays as it is. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.nextHeightTimer?.cancel();
    this.nextHeightTimer = undefined;
  }

  private clearTimers(): void {
    for (const t of this.timers) t.cancel();
    this.timers.clear();
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
    this.clearTimers();
    const chain = this.o.chain;
    this.height = chain.height + 1;
    this.blocks = new Map();
    this.compact?.clear();
    this.votes = new Map();
    this.ownMessages = [];
    this.polka = [];
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
    // Waiting for +2/3 prevotes or precommits of any kind has no timeout, so a lost vote could
    // leave every node waiting for one it will never see: while our round and step stand
    // still, repeat what we said.
    const t = this.timeouts();
    let last = '';
    this.timers.add(
      every(this.o.clock, t.proposeMs + t.voteMs, () => {
        const now = `${this.machine.round}/${this.machine.step}`;
        if (now === last) this.resend();
        last = now;
      }),
    );
    const buffered = this.future.filter((f) => f.height === this.height);
    this.future = this.future.filter((f) => f.height > this.height);
    for (const f of buffered) this.onConsensusBytes(f.bytes);
  }

  /** Messages may have been lost: show peers what we said in this height again. */
  private resend(): void {
    if (this.stopped) return;
    for (const m of [...this.polka, ...this.ownMessages.slice(-6)])
      this.o.net.broadcast(CHANNELS.consensus.id, m);
    for (const r of this.compact?.requests() ?? []) this.askTxs(r);
  }

  /** Ask for txs of a compact block: of the peer that sent it, else of every peer. */
  private askTxs(r: BlockTxsRequest, peer?: string): void {
    const bytes = encode(
      ConsensusMessageSchema,
      create(ConsensusMessageSchema, { msg: { case: 'blockTxsRequest', value: r } }),
    );
    if (peer) this.o.net.send(peer, CHANNELS.consensus.id, bytes);
    else this.o.net.broadcast(CHANNELS.consensus.id, bytes);
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
        const due = this.o.clock.now() + a.durationMs;
        const fire = (): void => {
          if (this.stopped || a.height !== this.height) return;
          // How late a timer ran shows an event loop kept busy (by another chain, say).
          this.o.log.debug(
            { height: a.height, round: a.round, step: a.step, lateMs: this.o.clock.now() - due },
            'timeout',
          );
          this.resend();
          this.enqueue(
            { type: 'timeout', step: a.step, height: a.height, round: a.round },
            { height: a.height, kind: 'timeout', step: a.step, round: a.round },
          );
        };
        // A timer that comes due while the event loop is busy (another chain of this node
        // executing a block, say) runs before the network bytes that arrived meanwhile: the
        // proposal that came in time would lose to its own timeout and the round would fail.
        // So a timeout waits one more turn of the loop, letting pending messages in first.
        const t = this.o.clock.setTimeout(() => {
          this.timers.delete(t);
          const after = this.o.clock.setTimeout(() => {
            this.timers.delete(after);
            fire();
          }, 0);
          this.timers.add(after);
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

  private buildBlock(height: number, round: number): void {
    const chain = this.o.chain;
    const now = this.o.clock.now();
    const time = Math.max(now, chain.latestHeader.time + 1);
    // The others' propose timeout started about when this build did, and the block must
    // reach them and be re-executed before it fires (see block-pacer.ts).
    const { budgetMs, maxTxs } = this.pacer.limits(timeoutMs(this.timeouts(), 'propose', 0), round);
    const end = now + budgetMs;
    const p = chain.proposeBlock(
      time,
      unhex(this.self),
      chain.seenCommitAt(chain.height),
      () => this.o.clock.now() >= end,
      maxTxs,
    );
    const ms = this.o.clock.now() - now;
    this.pacer.observe(p.block.txs.length, ms);
    this.o.log.debug({ height, round, txs: p.block.txs.length, ms }, 'block built');
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
        timestamp: this.o.clock.now(),
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
    if (proposal.polRound >= 0) {
      this.polka = this.prevotesFor(proposal.polRound, block.blockHash);
      for (const m of this.polka) this.o.net.broadcast(CHANNELS.consensus.id, m);
    }
    const txIds = this.o.chain.txIds?.(block);
    const signedBody = { body: signed.bytes, signature: signed.signature };
    const msg =
      txIds && txIds.length > 0
        ? compactProposal(signedBody, block.blockBytes, txIds)
        : create(SignedProposalSchema, { ...signedBody, block: block.blockBytes });
    this.sendOwn(
      encode(
        ConsensusMessageSchema,
        create(ConsensusMessageSchema, { msg: { case: 'proposal', value: msg } }),
      ),
      true,
    );
  }

  /** The signed prevotes of `round` for `blockHash` this node holds, as consensus messages. */
  private prevotesFor(round: number, blockHash: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const [key, slot] of this.votes) {
      if (!key.startsWith(`${round}/prevote/`)) continue;
      for (const v of slot) {
        if (!bytesEqual(decode(VoteBodySchema, v.body, 'INTERNAL').blockHash, blockHash)) continue;
        const m = create(ConsensusMessageSchema, { msg: { case: 'vote', value: v } });
        out.push(encode(ConsensusMessageSchema, m));
      }
    }
    return out;
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
        timestamp: this.o.clock.now(),
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
    this.o.net.broadcast(CHANNELS.consensus.id, bytes);
    this.onConsensusBytes(bytes, undefined, false);
  }

  private decide(height: number, round: number, blockHash: string): void {
    // A round that failed is time in which the chain committed nothing: worth an operator's eye.
    if (round > 0) this.o.log.info({ height, round }, 'height decided after failed rounds');
    const block = this.blocks.get(blockHash);
    if (!block || block === 'invalid') {
      // +2/3 committed a block we never received (or could not run): fetch it by block sync.
      this.awaitingBlock = { hash: blockHash, round };
      this.o.log.warn({ height, blockHash }, 'decided block not held: syncing it');
      this.o.onMissingBlock();
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

  private commit(block: B, commit: Commit): void {
    this.o.chain.commitBlock(block, commit);
    this.o.wal.reset();
    this.clearTimers();
    this.o.onCommitted(block);
    // Pace blocks: the commit timeout gives late precommits and new txs time to arrive.
    const wait = this.o.chain.config.params?.blockIntervalMs ?? 200;
    this.nextHeightTimer?.cancel();
    // this.height stays at the decided height until the next one starts, so messages for
    // the next height are buffered meanwhile instead of dropped.
    this.nextHeightTimer = this.o.clock.setTimeout(() => {
      this.nextHeightTimer = undefined;
      if (!this.stopped) this.startHeight();
    }, wait);
  }

  /** Block sync committed the next block: leave this height and start the one after it. */
  synced(_block: B): void {
    if (this.stopped) return;
    this.nextHeightTimer?.cancel();
    this.nextHeightTimer = undefined;
    this.o.wal.reset();
    this.startHeight();
  }

  /** A consensus message from a peer; throws on bad input (the router drops it). */
  receive(peer: string, _channel: number, bytes: Uint8Array): void {
    if (!this.stopped) this.onConsensusBytes(bytes, peer);
  }

  /** A peer just connected: show it what we said in this height. */
  peerUp(peer: string): void {
    if (this.stopped) return;
    for (const m of [...this.polka, ...this.ownMessages])
      this.o.net.send(peer, CHANNELS.consensus.id, m);
  }

  private onConsensusBytes(bytes: Uint8Array, peer?: string, log = true): void {
    const m = decode(ConsensusMessageSchema, bytes, 'BAD_REQUEST');
    if (m.msg.case === 'proposal') this.onProposal(m.msg.value, bytes, log, peer);
    else if (m.msg.case === 'vote') this.onVote(m.msg.value, bytes, log);
    else if (m.msg.case === 'blockTxsRequest' && peer) this.onTxsRequest(m.msg.value, peer);
    else if (m.msg.case === 'blockTxs') this.onBlockTxs(m.msg.value);
  }

  /** A peer lacks txs of a compact proposal: send those of a block this node holds. */
  private onTxsRequest(req: BlockTxsRequest, peer: string): void {
    const held = this.blocks.get(hex(req.blockHash));
    const answer = answerTxsRequest(req, held && held !== 'invalid' ? held.block.txs : undefined);
    if (!answer) return;
    this.o.net.send(
      peer,
      CHANNELS.consensus.id,
      encode(
        ConsensusMessageSchema,
        create(ConsensusMessageSchema, { msg: { case: 'blockTxs', value: answer } }),
      ),
    );
  }

  /** Txs this node asked for: once a compact proposal's block is whole, handle the proposal. */
  private onBlockTxs(m: BlockTxs): void {
    const whole = this.compact?.fill(m);
    if (!whole) return;
    this.o.log.debug(
      { height: this.height, blockHash: hex(m.blockHash), fetched: m.txs.length },
      'compact proposal made whole with fetched txs',
    );
    this.onProposal(whole.proposal, this.proposalBytes(whole.proposal), whole.log);
  }

  private proposalBytes(p: SignedProposal): Uint8Array {
    return encode(
      ConsensusMessageSchema,
      create(ConsensusMessageSchema, { msg: { case: 'proposal', value: p } }),
    );
  }

  private bufferFuture(height: number, bytes: Uint8Array): void {
    if (height > this.height && height <= this.height + 10 && this.future.length < MAX_FUTURE) {
      this.future.push({ height, bytes });
    }
  }

  private onProposal(p: SignedProposal, raw: Uint8Array, log: boolean, peer?: string): void {
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
    const header = p.compact
      ? p.compact.header
      : decode(BlockSchema, p.block, 'BAD_REQUEST').header;
    if (!bytesEqual(chain.profile.hash(header), body.blockHash)) return;
    const blockHash = hex(body.blockHash);
    if (p.compact) {
      // Made whole before it is logged or handled, so the WAL never needs the pool to replay it.
      const held = this.blocks.get(blockHash);
      let whole: SignedProposal | undefined;
      if (held && held !== 'invalid') {
        // Nothing to rebuild: only a copy for the WAL needs the txs.
        if (!log) whole = p;
        else whole = wholeProposal(p, held.block.txs);
      } else if (!held) whole = this.compact?.take(p, blockHash, log);
      if (!whole) {
        const ask = this.compact?.request(blockHash);
        if (ask) this.askTxs(ask, peer);
        if (held !== 'invalid') return;
      } else if (whole !== p) {
        p = whole;
        raw = this.proposalBytes(whole);
      }
    }
    if (!this.blocks.has(blockHash)) {
      try {
        const t0 = this.o.clock.now();
        const validated = chain.validateBlock(p.block);
        const ms = this.o.clock.now() - t0;
        this.pacer.observe(validated.block.txs.length, ms);
        this.o.log.debug(
          { height, round: body.round, txs: validated.block.txs.length, ms },
          'proposed block validated',
        );
        this.blocks.set(blockHash, validated);
      } catch (e) {
        this.o.log.warn(
          { height, blockHash, code: (e as { code?: string }).code, err: (e as Error).message },
          'proposed block refused',
        );
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

  private reportDoubleSign(a: VoteProto, b: VoteProto): void {
    this.o.reportEvidence(create(DuplicateVoteEvidenceSchema, { voteA: a, voteB: b }));
  }
}
