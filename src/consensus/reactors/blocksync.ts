/**
 * Block sync: nodes tell each other their height now and then and after every commit; a node
 * behind asks one peer that has it for its next block, checks that +2/3 of the validators
 * signed that block's hash (the commit that came with it), re-executes it and commits it.
 * One request is in flight at a time; an unanswered one moves on to another peer.
 */
import {
  BlockSchema,
  type Commit,
  create,
  decode,
  encode,
  SyncMessageSchema,
} from '../../codec/index.ts';
import { CHANNELS } from '../../p2p/channels.ts';
import { ArchiError } from '../../types/errors.ts';
import { verifyCommit } from '../../types/vote.ts';
import type { CandidateBlock, ConsensusChain } from '../chain-api.ts';
import { type Clock, every, type Timer } from '../clock.ts';
import type { ConsensusNet, Reactor, ReactorLogger } from '../reactor.ts';

const STATUS_EVERY_MS = 1000;
const REQUEST_TIMEOUT_MS = 5000;

export interface BlockSyncOptions<B extends CandidateBlock> {
  chain: ConsensusChain<B>;
  net: ConsensusNet;
  clock: Clock;
  log: ReactorLogger;
  /** Called after a synced block is committed (consensus moves to the next height). */
  onSynced(block: B): void;
}

export class BlockSyncReactor<B extends CandidateBlock = CandidateBlock> implements Reactor {
  readonly name = 'blocksync';
  readonly channels = [CHANNELS.blocksync.id] as const;
  private peerHeights = new Map<string, number>();
  private request: { peer: string; height: number; timer: Timer } | undefined;
  private statusTimer: Timer | undefined;
  private stopped = true;

  constructor(private readonly o: BlockSyncOptions<B>) {}

  start(): void {
    this.stopped = false;
    this.statusTimer = every(this.o.clock, STATUS_EVERY_MS, () => this.announce());
    this.announce();
  }

  stop(): void {
    this.stopped = true;
    this.statusTimer?.cancel();
    this.request?.timer.cancel();
    this.request = undefined;
  }

  /** Highest height each peer has reported (for status and tests). */
  get peers(): ReadonlyMap<string, number> {
    return this.peerHeights;
  }

  private status(): Uint8Array {
    const msg = create(SyncMessageSchema, {
      msg: { case: 'status', value: { height: BigInt(this.o.chain.height) } },
    });
    return encode(SyncMessageSchema, msg);
  }

  /** Tell every peer this node's height (after a commit, or when it needs a block). */
  announce(): void {
    if (!this.stopped) this.o.net.broadcast(CHANNELS.blocksync.id, this.status());
  }

  peerUp(peer: string): void {
    if (!this.stopped) this.o.net.send(peer, CHANNELS.blocksync.id, this.status());
  }

  receive(peer: string, _channel: number, bytes: Uint8Array): void {
    if (this.stopped) return;
    const m = decode(SyncMessageSchema, bytes, 'BAD_REQUEST');
    if (m.msg.case === 'status') {
      this.peerHeights.set(peer, Number(m.msg.value.height));
      this.maybeRequest();
    } else if (m.msg.case === 'request') {
      this.serve(peer, Number(m.msg.value.height));
    } else if (m.msg.case === 'response') {
      const { height, block, commit } = m.msg.value;
      this.onResponse(peer, Number(height), block, commit);
    }
  }

  private serve(peer: string, height: number): void {
    const block = this.o.chain.blockBytesAt(height);
    const commit = block ? this.o.chain.seenCommitAt(height) : undefined;
    if (!block || !commit) return;
    const reply = create(SyncMessageSchema, {
      msg: { case: 'response', value: { height: BigInt(height), block, commit } },
    });
    this.o.net.send(peer, CHANNELS.blocksync.id, encode(SyncMessageSchema, reply));
  }

  private maybeRequest(): void {
    if (this.request || this.stopped) return;
    const want = this.o.chain.height + 1;
    const req = encode(
      SyncMessageSchema,
      create(SyncMessageSchema, { msg: { case: 'request', value: { height: BigInt(want) } } }),
    );
    let peer: string;
    for (;;) {
      const candidates = [...this.peerHeights.entries()]
        .filter(([, h]) => h >= want)
        .map(([p]) => p);
      if (candidates.length === 0) return;
      // Spread requests over the peers that have the block.
      peer = candidates[want % candidates.length];
      if (this.o.net.send(peer, CHANNELS.blocksync.id, req)) break;
      // Gone (or its queue is full): the same pick would fail again at every status, so
      // forget its height until it reports again and ask another peer.
      this.peerHeights.delete(peer);
    }
    const timer = this.o.clock.setTimeout(() => {
      this.request = undefined;
      this.peerHeights.delete(peer);
      this.maybeRequest();
    }, REQUEST_TIMEOUT_MS);
    this.request = { peer, height: want, timer };
  }

  private onResponse(
    peer: string,
    height: number,
    blockBytes: Uint8Array,
    commit: Commit | undefined,
  ): void {
    const chain = this.o.chain;
    const req = this.request;
    if (!req || req.height !== height || req.peer !== peer) return;
    req.timer.cancel();
    this.request = undefined;
    if (height !== chain.height + 1 || !commit) return;
    try {
      const block = decode(BlockSchema, blockBytes, 'BAD_REQUEST');
      const blockHash = chain.profile.hash(block.header);
      // The commit proves the block: +2/3 of the validators of its height signed its hash.
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
      chain.commitBlock(executed, commit);
      this.o.log.info({ height, from: peer }, 'synced block');
      this.o.onSynced(executed);
    } catch (e) {
      this.o.log.warn(
        { height, peer, code: (e as { code?: string }).code, err: (e as Error).message },
        'synced block refused',
      );
      this.peerHeights.delete(peer);
    }
    this.maybeRequest();
  }
}
