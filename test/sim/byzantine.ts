/**
 * The byzantine validator. It runs the real driver like everyone else, so it follows heights and
 * rounds and builds blocks, but every consensus message its driver broadcasts is caught and
 * replaced by crafted ones: correctly encoded, signed with its own key (it has no other), sent to
 * each peer on its own through the simulated network. Strategies (as in the old model):
 * - random: per peer the honest vote, nil, another block or nothing; proposals split between
 *   its block and another one (maybe invalid: the INVALID marker, a wrong parent, or forged
 *   evidence);
 * - split: as proposer, two fresh blocks for two halves of the network, backed by matching votes
 *   towards each half; otherwise precommits a block towards one peer only;
 * - amnesia: sets up "one node decides, the others move on locked" (a prevote hidden from one
 *   peer, a precommit shown to one peer only) and, once a correct node has decided a height,
 *   offers every correct node still at that height votes (and, as proposer, a block, possibly
 *   with an older polka) for anything else. It peeks at every node: only locks stand between it
 *   and a fork.
 */
import type { CandidateBlock } from '../../src/consensus/chain-api.ts';
import { proposer as proposerOf } from '../../src/consensus/tbft/proposer.ts';
import type { TendermintMachine } from '../../src/consensus/tbft/state-machine.ts';
import type { ValidatorSet } from '../../src/consensus/tbft/types.ts';
import { isTwoThirds, MAX_VALUES_PER_VOTER } from '../../src/consensus/tbft/vote-set.ts';
import {
  ConsensusMessageSchema,
  create,
  DuplicateVoteEvidenceSchema,
  decode,
  encode,
  ProposalBodySchema,
  SignedProposalSchema,
  type Vote as VoteProto,
  VoteBodySchema,
  VoteSchema,
  VoteType,
} from '../../src/codec/index.ts';
import type { Signer } from '../../src/crypto/profile.ts';
import { hex, unhex } from '../../src/types/hex.ts';
import { voteBodyBytes } from '../../src/types/vote.ts';
import { type BlockPlan, buildBlock, type ChainSpec, INVALID_TX, type SimChain } from './chain.ts';
import type { Prng } from './prng.ts';

export type ByzStrategy = 'random' | 'split' | 'amnesia';
type Kind = 'prevote' | 'precommit';
type Hash = string;

/** What the byzantine validator may see and do in the simulation. */
export interface ByzHost {
  readonly prng: Prng;
  readonly spec: ChainSpec;
  readonly healed: boolean;
  /** Its clock (for timestamps). */
  now(): number;
  /** Indices of every other node. */
  peers(): number[];
  /** A consensus message to one peer, if connected. */
  send(to: number, bytes: Uint8Array): void;
  /** The block correct nodes decided at `height`, if any did. */
  decided(height: number): Hash | undefined;
  /** Blocks proposed (signed) at height/round. */
  proposals(height: number, round: number): Hash[];
  blockBytes(hash: Hash): Uint8Array | undefined;
  /** A proposal it sent: for the validity check and the amnesia attack. */
  registerProposal(height: number, round: number, hash: Hash, blockBytes: Uint8Array): void;
  /** The state machine of a correct node that is up, if any. */
  machineOf(node: number): TendermintMachine | undefined;
  /** Any node's chain (to build on the agreed prefix). */
  chains(): SimChain[];
  /** The machine's view of the validator set of `height`. */
  machineSet(height: number): ValidatorSet;
}

/** Consensus messages planned for a slot, per peer, re-sent as they are when its driver repeats itself. */
type Plan = Array<[number, Uint8Array]>;

export class Byzantine {
  private readonly self: Uint8Array;
  private seen = new Map<number, Set<Hash>>();
  private menus = new Map<string, (Hash | null)[]>();
  /** split: which block it proposed to which peer, per height/round. */
  private plans = new Map<string, Map<number, Hash>>();
  /** The first proposal it got or made, per height/round. */
  private proposalOf = new Map<string, Hash>();
  private sent = new Map<string, Plan>();
  private honestVote: VoteProto | undefined;
  private height = 0;

  constructor(
    private readonly host: ByzHost,
    readonly node: number,
    readonly address: string,
    private readonly signer: Signer,
    private readonly chain: SimChain,
    readonly strategy: ByzStrategy,
    private readonly invalidRate: number,
  ) {
    this.self = unhex(address);
  }

  private get prng(): Prng {
    return this.host.prng;
  }

  private seenAt(height: number): Set<Hash> {
    if (height > this.height) {
      this.height = height;
      for (const h of [...this.seen.keys()]) if (h < height - 1) this.seen.delete(h);
      for (const m of [this.menus, this.plans, this.proposalOf, this.sent]) {
        for (const k of [...m.keys()]) if (Number(k.split('/')[0]) < height - 1) m.delete(k);
      }
    }
    let s = this.seen.get(height);
    if (!s) {
      s = new Set();
      this.seen.set(height, s);
    }
    return s;
  }

  // ---- what it hears ----

  /** A consensus message delivered to it: remember proposed blocks and an honest vote. */
  snoop(bytes: Uint8Array): void {
    const m = decode(ConsensusMessageSchema, bytes, 'BAD_REQUEST');
    if (m.msg.case === 'proposal') {
      const b = decode(ProposalBodySchema, m.msg.value.body, 'BAD_REQUEST');
      const h = Number(b.height);
      const hash = hex(b.blockHash);
      this.seenAt(h).add(hash);
      const key = `${h}/${b.round}`;
      if (!this.proposalOf.has(key)) this.proposalOf.set(key, hash);
    } else if (m.msg.case === 'vote' && !this.honestVote) {
      const b = decode(VoteBodySchema, m.msg.value.body, 'BAD_REQUEST');
      if (hex(b.validator) !== this.address && b.blockHash.length > 0)
        this.honestVote = m.msg.value;
    }
  }

  /** A consensus message its own driver broadcast: replaced by the strategy's messages. */
  intercept(bytes: Uint8Array): void {
    const m = decode(ConsensusMessageSchema, bytes, 'INTERNAL');
    if (m.msg.case === 'vote') {
      const b = decode(VoteBodySchema, m.msg.value.body, 'INTERNAL');
      const kind: Kind = b.type === VoteType.PREVOTE ? 'prevote' : 'precommit';
      const h = Number(b.height);
      const key = `${h}/${b.round}/${kind}`;
      const plan =
        this.sent.get(key) ??
        this.vote(kind, h, b.round, b.blockHash.length ? hex(b.blockHash) : null);
      this.sent.set(key, plan);
      this.deliver(plan);
    } else if (m.msg.case === 'proposal') {
      const p = m.msg.value;
      const b = decode(ProposalBodySchema, p.body, 'INTERNAL');
      const h = Number(b.height);
      const key = `${h}/${b.round}/propose`;
      const plan =
        this.sent.get(key) ?? this.propose(h, b.round, hex(b.blockHash), b.polRound, p.block);
      this.sent.set(key, plan);
      this.deliver(plan);
    }
  }

  private deliver(plan: Plan): void {
    for (const [to, bytes] of plan) this.host.send(to, bytes);
  }

  // ---- crafting ----

  private voteMsg(kind: Kind, h: number, r: number, hash: Hash | null): Uint8Array {
    const body = voteBodyBytes(
      this.host.spec.chainId,
      kind === 'prevote' ? VoteType.PREVOTE : VoteType.PRECOMMIT,
      h,
      r,
      hash ? unhex(hash) : new Uint8Array(0),
      this.host.now(),
      this.self,
    );
    const vote = create(VoteSchema, { body, signature: this.signer.sign(body) });
    return encode(
      ConsensusMessageSchema,
      create(ConsensusMessageSchema, { msg: { case: 'vote', value: vote } }),
    );
  }

  private proposalMsg(h: number, r: number, polRound: number, hash: Hash, block: Uint8Array) {
    const body = encode(
      ProposalBodySchema,
      create(ProposalBodySchema, {
        chainId: this.host.spec.chainId,
        height: BigInt(h),
        round: r,
        polRound,
        blockHash: unhex(hash),
        timestamp: BigInt(this.host.now()),
        proposer: this.self,
      }),
    );
    const value = create(SignedProposalSchema, {
      body,
      signature: this.signer.sign(body),
      block,
    });
    this.host.registerProposal(h, r, hash, block);
    return encode(
      ConsensusMessageSchema,
      create(ConsensusMessageSchema, { msg: { case: 'proposal', value } }),
    );
  }

  /**
   * A block for height h on the agreed chain (its own if it is at h - 1, else a peer's), or an
   * invalid one; undefined when no chain it can see is at h - 1 yet.
   */
  craft(h: number, invalid: boolean): CandidateBlock | undefined {
    const base =
      this.chain.height >= h - 1 ? this.chain : this.host.chains().find((c) => c.height >= h - 1);
    if (!base) return undefined;
    const spec = this.host.spec;
    const prevHash = h === 1 ? spec.genesisHash : base.hashAt(h - 1);
    if (!prevHash) return undefined;
    const prevTime = h === 1 ? spec.genesisTime : base.timeAt(h - 1);
    const plan: BlockPlan = {
      height: h,
      time: Math.max(this.host.now(), prevTime + 1) + this.prng.int(0, 50),
      prevHash,
      lastCommit: h === 1 ? undefined : base.seenCommitAt(h - 1),
      proposer: this.self,
      evidence: [],
    };
    if (invalid) {
      const how = this.prng.int(0, 2);
      const v = this.honestVote;
      if (how === 1) plan.prevHash = spec.profile.hash(plan.prevHash);
      else if (how === 2 && v) {
        // Evidence against an honest validator: its real vote and a forgery of another one.
        const body = decode(VoteBodySchema, v.body, 'INTERNAL');
        body.blockHash = spec.profile.hash(body.blockHash);
        const forged = create(VoteSchema, {
          body: encode(VoteBodySchema, body),
          signature: v.signature,
        });
        plan.evidence = [create(DuplicateVoteEvidenceSchema, { voteA: v, voteB: forged })];
      } else plan.txs = [INVALID_TX];
    }
    return buildBlock(spec, plan);
  }

  /** The blocks it votes for in one slot: nil and up to three blocks it has seen. */
  private menu(kind: Kind, h: number, r: number, hash: Hash | null): (Hash | null)[] {
    const key = `${h}/${r}/${kind}`;
    let menu = this.menus.get(key);
    if (!menu) {
      menu = [null, ...this.prng.shuffle([...this.seenAt(h)].sort()).slice(0, 2)];
      this.menus.set(key, menu);
    }
    if (!menu.includes(hash) && menu.length < MAX_VALUES_PER_VOTER) menu.push(hash);
    return menu;
  }

  private vote(kind: Kind, h: number, r: number, hash: Hash | null): Plan {
    const plan: Plan = [];
    const peers = this.host.peers();
    if (this.strategy === 'amnesia') {
      // Backs the round's proposal whatever it is locked on. Set-up: a prevote that one peer
      // does not see and a precommit that only another peer sees, so that one node can decide
      // while the rest move on locked. Once a correct node has decided this height it backs
      // any other proposal towards everyone, hoping that locks fail to hold.
      const target = this.proposalOf.get(`${h}/${r}`) ?? hash;
      const decided = this.host.decided(h);
      const exploit = decided !== undefined && target !== null && target !== decided;
      const others = this.prng.shuffle(peers);
      const [odd, lucky] = others;
      for (const peer of others) {
        const forPeer = exploit || (kind === 'prevote' ? peer !== odd : peer === lucky);
        plan.push([peer, this.voteMsg(kind, h, r, forPeer ? target : null)]);
      }
      return plan;
    }
    if (this.strategy === 'split') {
      // In its own rounds it backs, towards each peer, the block it proposed to that peer.
      const split = this.plans.get(`${h}/${r}`);
      const lucky = this.prng.pick(peers);
      for (const peer of peers) {
        let target = split?.get(peer) ?? hash;
        if (!split && kind === 'precommit' && peer !== lucky) target = null;
        plan.push([peer, this.voteMsg(kind, h, r, target)]);
      }
      return plan;
    }
    const menu = this.menu(kind, h, r, hash);
    for (const peer of peers) {
      const x = this.prng.next();
      if (x < 0.15) continue;
      let target = menu.includes(hash) ? hash : this.prng.pick(menu);
      if (x >= 0.5) target = this.prng.pick(menu);
      plan.push([peer, this.voteMsg(kind, h, r, target)]);
    }
    return plan;
  }

  private propose(h: number, r: number, hash: Hash, polRound: number, block: Uint8Array): Plan {
    const plan: Plan = [];
    const peers = this.host.peers();
    const seen = this.seenAt(h);
    if (this.strategy === 'amnesia') {
      // One fresh block for everyone, never its validValue: correct nodes' locks must hold.
      const fresh = this.craft(h, false);
      if (!fresh) return plan;
      const fh = hex(fresh.blockHash);
      seen.add(fh);
      this.proposalOf.set(`${h}/${r}`, fh);
      this.plans.set(`${h}/${r}`, new Map());
      const msg = this.proposalMsg(h, r, -1, fh, fresh.blockBytes);
      for (const peer of peers) plan.push([peer, msg]);
      return plan;
    }
    let first = { hash, polRound, block };
    if (this.strategy === 'split') {
      const b = this.craft(h, false);
      if (b) first = { hash: hex(b.blockHash), polRound: -1, block: b.blockBytes };
    }
    const other = this.craft(h, this.prng.chance(this.invalidRate));
    const alt = other
      ? {
          hash: hex(other.blockHash),
          polRound:
            this.strategy !== 'split' && r > 0 && this.prng.chance(0.2)
              ? this.prng.int(0, r - 1)
              : -1,
          block: other.blockBytes,
        }
      : first;
    seen.add(first.hash);
    seen.add(alt.hash);
    const msgs = new Map<typeof first, Uint8Array>();
    const msgFor = (p: typeof first): Uint8Array => {
      let m = msgs.get(p);
      if (!m) {
        m = this.proposalMsg(h, r, p.polRound, p.hash, p.block);
        msgs.set(p, m);
      }
      return m;
    };
    const split = new Map<number, Hash>();
    for (const peer of peers) {
      const p = this.prng.chance(0.5) ? first : alt;
      split.set(peer, p.hash);
      plan.push([peer, msgFor(p)]);
    }
    this.plans.set(`${h}/${r}`, split);
    return plan;
  }

  // ---- unprompted ----

  /** Random votes for nearby rounds, to random peers. */
  noise(own: TendermintMachine | undefined): void {
    if (!own?.isValidator || own.hasDecided) return;
    const h = own.height;
    const r = Math.max(0, own.round + this.prng.int(-1, 2));
    const kind: Kind = this.prng.chance(0.5) ? 'prevote' : 'precommit';
    const target = this.prng.pick(this.menu(kind, h, r, null));
    const msg = this.voteMsg(kind, h, r, target);
    for (const peer of this.host.peers()) if (this.prng.chance(0.5)) this.host.send(peer, msg);
  }

  /**
   * The amnesia attack: once a correct node has decided a height, offer every correct node
   * still at that height prevotes and precommits for another block of its current round,
   * proposing one itself when it is that round's proposer.
   */
  attack(): void {
    if (this.host.healed) return;
    for (const p of this.host.peers()) {
      const m = this.host.machineOf(p);
      if (!m || m.hasDecided) continue;
      const h = m.height;
      const decided = this.host.decided(h);
      if (decided === undefined) continue;
      const r = m.round;
      let target = this.host.proposals(h, r).find((x) => x !== decided);
      if (!target && proposerOf(this.host.machineSet(h), h, r) === this.address) {
        // Re-propose a block that had a polka in an earlier round if there is one (only
        // locks from later rounds may refuse it), else a fresh one.
        const old = this.oldPolka(m, decided);
        let block: { hash: Hash; bytes: Uint8Array } | undefined;
        if (old) {
          const bytes = this.host.blockBytes(old.hash);
          if (bytes) block = { hash: old.hash, bytes };
        }
        if (!block) {
          const b = this.craft(h, false);
          if (b) block = { hash: hex(b.blockHash), bytes: b.blockBytes };
        }
        if (!block) continue;
        const polRound = old && block.hash === old.hash ? old.round : -1;
        if (polRound >= 0) {
          const prevote = this.voteMsg('prevote', h, polRound, block.hash);
          for (const q of this.host.peers()) this.host.send(q, prevote);
        }
        const proposal = this.proposalMsg(h, r, polRound, block.hash, block.bytes);
        for (const q of this.host.peers()) this.host.send(q, proposal);
        target = block.hash;
      }
      if (!target) continue;
      for (const kind of ['prevote', 'precommit'] as const) {
        this.host.send(p, this.voteMsg(kind, h, r, target));
      }
    }
  }

  /** A block other than `decided` with a polka (counting itself) that machine `m` can see. */
  private oldPolka(m: TendermintMachine, decided: Hash): { round: number; hash: Hash } | undefined {
    const set = this.host.machineSet(m.height);
    const power = new Map(set.validators.map((v) => [v.address, v.power]));
    const total = set.validators.reduce((a, v) => a + v.power, 0);
    for (let vr = m.round - 1; vr >= 0; vr--) {
      for (const x of this.host.proposals(m.height, vr)) {
        if (x === decided) continue;
        let sum = power.get(this.address) ?? 0;
        for (const v of m.votes(vr, 'prevote')) {
          if (v.blockHash === x && v.validator !== this.address) sum += power.get(v.validator) ?? 0;
        }
        if (isTwoThirds(sum, total)) return { round: vr, hash: x };
      }
    }
    return undefined;
  }
}
