/**
 * Deterministic many-node simulator for the Tendermint state machine.
 *
 * Everything runs in one process on a simulated clock (a queue of timed events) and draws every
 * random choice from one seeded PRNG, so a seed replays exactly. Agreement, validity and "honest
 * nodes never equivocate" are checked at the moment anything that could break them happens
 * (every decision, commit, signature and evidence report); after the network heals, every
 * correct node must commit a few more heights within a deadline.
 *
 * Until `healAt` the network is hostile: random delays (reordering), drops, duplicates, links
 * that turn slow for a while, precommits and block-sync answers held back for seconds, and
 * partitions that start and heal; honest nodes crash (at random, and right after deciding) and
 * restart. One validator (less than 1/3 of the power) may be byzantine; it signs only as itself
 * (messages carry a signature registry the receivers check) and plays one of three strategies:
 * - random: per peer the honest vote, nil, another block or nothing; split proposals;
 * - split: as proposer, two fresh blocks for two halves of the network, backed by matching votes
 *   towards each half; otherwise precommits a block towards one peer only;
 * - amnesia: sets up "one node decides, the others move on locked" (a prevote hidden from one
 *   peer, a precommit shown to one peer only) and, once a correct node has decided a height, it
 *   offers every correct node still at that height votes (and, as proposer, a block, possibly
 *   with an older polka) for anything else. It may peek at all nodes: only locks stand between
 *   it and a fork. Ignoring the lock at line 22 or line 28 of the paper forks within 200 seeds.
 *
 * What a node persists across a crash (what a real node keeps on disk):
 * - its committed blocks (height -> block hash, round, precommits);
 * - its signer state: the last signed (height, round, step) and what was signed there; the signer
 *   re-signs the identical message and refuses anything lower or different (CometBFT privval);
 * - its WAL: the machine's inputs of the current height and the messages it signed (as
 *   CometBFT's WAL does). Inputs are written before they are handled and the WAL is synced
 *   before any signature is released, so a crash may lose only the tail after the last
 *   signature (walLoss picks a random cut in that tail). On restart the machine is rebuilt by
 *   replaying the WAL; this restores its lock, and its own signed messages are gossiped again:
 *   the signer refuses to re-sign an earlier step, so a vote that was signed but lost in flight
 *   before the crash would otherwise be gone for good and could stall the height (the simulator
 *   found this; seed 338 of an earlier version). (Without a WAL a restarted
 *   node forgets its lock and, with a byzantine peer, that can fork the chain: the signer's
 *   height/round/step guard alone does not prevent it.)
 * Everything else (the machine, gossip logs, buffered messages, timers) is lost.
 *
 * Block sync is modelled by gossip: every node periodically sends its height and the keys of
 * the messages it holds for it; a peer at the same height answers with what is missing, a peer
 * that has committed that height answers with the block and its precommits (checked, then
 * committed without the machine, as a real node's block sync does).
 */
import { isTwoThirds, MAX_VALUES_PER_VOTER } from '../../src/consensus/tbft/vote-set.ts';
import { proposer as proposerOf } from '../../src/consensus/tbft/proposer.ts';
import { TendermintMachine } from '../../src/consensus/tbft/state-machine.ts';
import type {
  Action,
  Hash,
  Input,
  Proposal,
  TimeoutConfig,
  ValidatorSet,
  Vote,
} from '../../src/consensus/tbft/types.ts';
import { EventQueue } from './event-queue.ts';
import { Prng } from './prng.ts';

/** A planned crash of node `node` at `at`, restarted at `restartAt` (null: stays down). */
export interface CrashPlan {
  node: number;
  at: number;
  restartAt: number | null;
}

/** A planned partition: messages between different groups are dropped in [at, until). */
export interface PartitionPlan {
  at: number;
  until: number;
  groups: number[][];
}

/** One simulation run: network, faults and expectations. */
export interface Scenario {
  name: string;
  seed: number;
  /** Voting power of validator i (nodes 0..n-1 are validators). */
  powers: number[];
  /** If set, the validator set changes: even heights use these powers (same nodes). */
  powersEven?: number[];
  /** Index of the byzantine validator, or null. */
  byzantine: number | null;
  /** Non-validator nodes that follow consensus (machine constructed with self = ''). */
  observers: number;
  timeouts: TimeoutConfig;
  /** Message delay range once the network is stable. */
  minDelay: number;
  maxDelay: number;
  /** Before healAt: the largest delay and the drop probability. */
  unstableMaxDelay: number;
  /**
   * Before healAt: share of directed links that are slow (200..1500 ms) for a while; which
   * ones are re-drawn every 0.5-2 s. Uneven links give nodes different views of a round.
   */
  slowLinks: number;
  /**
   * Before healAt: probability that a precommit or a block-sync answer is held back 0.5-3 s
   * (queues behind other traffic). Nodes then leave rounds without seeing a decision that
   * others made.
   */
  lateRate: number;
  dropRate: number;
  /** Probability that a message is delivered twice (always, also after healing). */
  dupRate: number;
  gossipMs: number;
  crashes: CrashPlan[];
  partitions: PartitionPlan[];
  /**
   * Before healAt: probability that an honest node crashes right after it decides (restarting
   * 200-2000 ms later). The others then cannot learn the decision from it for a while, which
   * is when their locks must hold.
   */
  crashOnDecide: number;
  /** Crashes lose a random part of the unsynced WAL tail. */
  walLoss: boolean;
  /** From here on: no drops, no partitions, all honest nodes up. */
  healAt: number;
  /** After healAt every correct node must commit this many heights (0: no liveness check). */
  targetHeights: number;
  /** Simulated deadline. */
  endAt: number;
  /** Probability that a byzantine proposal carries an invalid block. */
  byzInvalid: number;
  /**
   * random: each peer gets the honest vote, nil, another block or nothing; proposals are split
   * between its block and another one. split: prevotes like a correct node, a precommit for a
   * block goes to one peer only (nil to the rest), proposals are two fresh blocks for two halves
   * of the network (never its validValue), all aimed at locks that should hold a decision.
   */
  byzStrategy: 'random' | 'split' | 'amnesia';
}

/** A decision or a block-sync commit of one node. */
export interface DecisionRecord {
  node: number;
  height: number;
  round: number;
  value: string;
  via: 'consensus' | 'sync';
  at: number;
}

/** What a run produced, for tests to look at. */
export interface SimResult {
  scenario: Scenario;
  events: number;
  endTime: number;
  /** Committed heights per node. */
  heights: number[];
  decisions: DecisionRecord[];
  /** Evidence actions emitted by correct nodes: who reported whom. */
  evidence: { node: number; validator: string; at: number }[];
  /** Highest round any correct machine reached. */
  maxRound: number;
  addresses: string[];
  /** Highest height any correct node had committed when the network healed. */
  heightAtHeal: number;
}

/** A violated property; the message carries the seed, the replay command and a trace tail. */
export class SimFailure extends Error {}

type Msg =
  | { t: 'proposal'; proposal: Proposal }
  | { t: 'vote'; vote: Vote }
  | { t: 'status'; height: number; have: Set<string> }
  | { t: 'batch'; msgs: ConsensusMsg[] }
  | { t: 'commit'; height: number; blockHash: Hash; round: number; precommits: Vote[] };

type ConsensusMsg = Extract<Msg, { t: 'proposal' | 'vote' }>;

type SimEvent =
  | { k: 'deliver'; to: number; from: number; msg: Msg }
  | { k: 'input'; node: number; epoch: number; input: Input }
  | { k: 'committed'; node: number; epoch: number; height: number }
  | { k: 'gossip'; node: number; epoch: number }
  | { k: 'noise'; node: number }
  | { k: 'attack'; again: boolean }
  | { k: 'crash'; node: number }
  | { k: 'restart'; node: number }
  | { k: 'partition'; groups: number[][] }
  | { k: 'unpartition' }
  | { k: 'links' }
  | { k: 'heal' };

type WalEntry = { input: Input } | { own: ConsensusMsg };

interface Signed {
  h: number;
  r: number;
  s: number;
  key: string;
}

interface Commit {
  blockHash: Hash;
  round: number;
  precommits: Vote[];
}

interface SimNode {
  idx: number;
  name: string;
  /** '' for observers. */
  address: string;
  role: 'honest' | 'byzantine' | 'observer';
  up: boolean;
  epoch: number;
  machine: TendermintMachine | null;
  /** Persisted: committed blocks by height. */
  committed: Map<number, Commit>;
  /** Persisted: the signer's last signature. */
  signed: Signed | null;
  /** Persisted: this height's inputs and own signed messages, and how many are synced. */
  wal: WalEntry[];
  walSynced: number;
  /** Volatile: consensus messages of the current height, by key (for gossip). */
  log: Map<string, ConsensusMsg>;
  /** Volatile: messages of the next height, handled once we get there. */
  buffer: ConsensusMsg[];
  /** Volatile: decided, waiting for the commit to finish. */
  committing: boolean;
  /** Volatile (byzantine): block hashes seen at the current height. */
  seen: Set<Hash>;
  /** Volatile (byzantine): the blocks it votes for, per height/round/kind. */
  menus: Map<string, (Hash | null)[]>;
  /** Volatile (byzantine, split): which block it proposed to which peer, per height/round. */
  plans: Map<string, Map<number, Hash>>;
  /** Volatile (byzantine): the first proposal it got or made, per height/round. */
  proposalOf: Map<string, Hash>;
}

const STEP_ORDER = { propose: 1, prevote: 2, precommit: 3 } as const;
const MAX_BUFFER = 2000;
const MAX_EVENTS = 3_000_000;
const TRACE_SIZE = 40;

/** Hex block hash of a value (invertible, so the checker can read the value back). */
export function hashOf(value: string): Hash {
  return Buffer.from(value, 'utf8').toString('hex');
}

/** The value behind a block hash, or '' if it is not one of ours. */
export function blockValue(hash: Hash): string {
  return /^(?:[0-9a-f]{2})+$/.test(hash) ? Buffer.from(hash, 'hex').toString('utf8') : '';
}

/** The application's validity predicate: built for this height and not marked bad. */
export function isValidValue(value: string, height: number): boolean {
  return value.startsWith(`h${height}.`) && !value.includes('BAD');
}

function msgKey(m: ConsensusMsg): string {
  if (m.t === 'vote') {
    const v = m.vote;
    return `v|${v.height}|${v.round}|${v.kind}|${v.validator}|${v.blockHash ?? 'nil'}`;
  }
  const p = m.proposal;
  return `p|${p.height}|${p.round}|${p.proposer}|${p.blockHash}|${p.polRound}`;
}

function msgHeight(m: ConsensusMsg): number {
  return m.t === 'vote' ? m.vote.height : m.proposal.height;
}

/** Runs one scenario; throws SimFailure on any violated property. */
export class Simulation {
  readonly nodes: SimNode[] = [];
  private readonly prng: Prng;
  private readonly queue = new EventQueue<SimEvent>();
  private now = 0;
  private events = 0;
  private healed = false;
  private groupOf: number[] | null = null;
  private slow: boolean[][] = [];
  private readonly signatures = new Set<string>();
  private readonly proposed = new Set<Hash>();
  /** Every signed proposal's block, by "height/round" (for the amnesia attacker). */
  private readonly proposalsAt = new Map<string, Hash[]>();
  private readonly agreed = new Map<number, Hash>();
  private readonly decisions: DecisionRecord[] = [];
  private readonly evidence: SimResult['evidence'] = [];
  private readonly trace: { at: number; ev: SimEvent }[] = [];
  private traceNext = 0;
  private blockCounter = 0;
  private maxRound = 0;
  private heightAtHeal = 0;
  private done = false;
  private readonly validatorCount: number;
  private readonly addresses: string[];
  private readonly setOdd: ValidatorSet;
  private readonly setEven: ValidatorSet;

  constructor(readonly scenario: Scenario) {
    this.prng = new Prng(scenario.seed);
    this.validatorCount = scenario.powers.length;
    const used = new Set<string>();
    this.addresses = [];
    while (this.addresses.length < this.validatorCount) {
      const a = this.prng.int(0, 0xffffffff).toString(16).padStart(8, '0');
      if (!used.has(a)) {
        used.add(a);
        this.addresses.push(a);
      }
    }
    const set = (powers: number[]): ValidatorSet => ({
      validators: powers.map((power, i) => ({ address: this.addresses[i], power })),
    });
    this.setOdd = set(scenario.powers);
    this.setEven = set(scenario.powersEven ?? scenario.powers);
    const total = this.validatorCount + scenario.observers;
    for (let i = 0; i < total; i++) {
      const validator = i < this.validatorCount;
      this.nodes.push({
        idx: i,
        name: validator ? `n${i}` : `o${i}`,
        address: validator ? this.addresses[i] : '',
        role: !validator ? 'observer' : i === scenario.byzantine ? 'byzantine' : 'honest',
        up: true,
        epoch: 0,
        machine: null,
        committed: new Map(),
        signed: null,
        wal: [],
        walSynced: 0,
        log: new Map(),
        buffer: [],
        committing: false,
        seen: new Set(),
        menus: new Map(),
        plans: new Map(),
        proposalOf: new Map(),
      });
    }
  }

  /** The validator set of a height. */
  validatorSet(height: number): ValidatorSet {
    return height % 2 === 0 ? this.setEven : this.setOdd;
  }

  /** Run to the end (liveness reached, or the deadline) and return what happened. */
  run(): SimResult {
    const s = this.scenario;
    for (const node of this.nodes) {
      this.boot(node);
      this.at(this.prng.int(0, s.gossipMs), { k: 'gossip', node: node.idx, epoch: node.epoch });
      if (node.role === 'byzantine')
        this.at(this.prng.int(100, 600), { k: 'noise', node: node.idx });
      if (node.role === 'byzantine' && s.byzStrategy === 'amnesia') {
        this.at(0, { k: 'attack', again: true });
      }
    }
    for (const c of s.crashes) {
      this.at(c.at, { k: 'crash', node: c.node });
      if (c.restartAt !== null) this.at(c.restartAt, { k: 'restart', node: c.node });
    }
    for (const p of s.partitions) {
      this.at(p.at, { k: 'partition', groups: p.groups });
      this.at(p.until, { k: 'unpartition' });
    }
    this.at(s.healAt, { k: 'heal' });
    if (s.slowLinks > 0) this.at(0, { k: 'links' });
    for (;;) {
      const next = this.queue.pop();
      if (!next || next.at > s.endAt) break;
      this.now = next.at;
      if (++this.events > MAX_EVENTS) this.fail('too many events');
      this.record(next.item);
      this.dispatch(next.item);
      if (this.done) break;
    }
    if (s.targetHeights > 0 && !this.done) {
      this.fail(
        `no liveness: after healing at ${s.healAt}ms (height ${this.heightAtHeal}) the correct ` +
          `nodes did not all commit ${s.targetHeights} more heights by ${s.endAt}ms ` +
          `(heights ${this.heightsSummary()})`,
      );
    }
    return {
      scenario: s,
      events: this.events,
      endTime: this.now,
      heights: this.nodes.map((n) => n.committed.size),
      decisions: this.decisions,
      evidence: this.evidence,
      maxRound: this.maxRound,
      addresses: this.addresses,
      heightAtHeal: this.heightAtHeal,
    };
  }

  private at(time: number, ev: SimEvent): void {
    this.queue.push(time, ev);
  }

  private dispatch(ev: SimEvent): void {
    switch (ev.k) {
      case 'deliver':
        this.receive(this.nodes[ev.to], ev.from, ev.msg);
        break;
      case 'input': {
        const node = this.nodes[ev.node];
        if (node.up && node.epoch === ev.epoch) this.feed(node, ev.input);
        break;
      }
      case 'committed': {
        const node = this.nodes[ev.node];
        if (node.up && node.epoch === ev.epoch) this.startHeight(node, ev.height + 1);
        break;
      }
      case 'gossip':
        this.gossip(ev.node, ev.epoch);
        break;
      case 'noise':
        this.noise(this.nodes[ev.node]);
        break;
      case 'attack':
        this.attack();
        if (ev.again && !this.healed) this.at(this.now + this.prng.int(20, 80), ev);
        break;
      case 'crash':
        this.crash(this.nodes[ev.node]);
        break;
      case 'restart':
        this.restart(this.nodes[ev.node]);
        break;
      case 'partition':
        this.groupOf = this.nodes.map(() => -1);
        ev.groups.forEach((g, gi) => {
          for (const i of g) if (this.groupOf) this.groupOf[i] = gi;
        });
        break;
      case 'unpartition':
        this.groupOf = null;
        break;
      case 'heal':
        this.heal();
        break;
      case 'links':
        if (this.healed) break;
        this.slow = this.nodes.map(() =>
          this.nodes.map(() => this.prng.chance(this.scenario.slowLinks)),
        );
        this.at(this.now + this.prng.int(500, 2000), { k: 'links' });
        break;
    }
  }

  // ---- node life cycle ----

  private boot(node: SimNode): void {
    node.machine = new TendermintMachine(node.address, this.scenario.timeouts);
    const height = node.committed.size + 1;
    const wal = node.wal;
    node.wal = [];
    node.walSynced = 0;
    const first = wal[0];
    if (
      first &&
      'input' in first &&
      first.input.type === 'start' &&
      first.input.height === height
    ) {
      // Replay the WAL; what was read back from disk counts as synced.
      for (const entry of wal) {
        if ('own' in entry) {
          node.wal.push(entry);
          this.logMsg(node, entry.own);
        } else {
          const input = entry.input;
          if (input.type === 'vote') this.logMsg(node, { t: 'vote', vote: input.vote });
          if (input.type === 'proposal') {
            this.logMsg(node, { t: 'proposal', proposal: input.proposal });
          }
          this.feed(node, input);
        }
        node.walSynced = node.wal.length;
      }
    } else {
      this.startHeight(node, height);
    }
  }

  private startHeight(node: SimNode, height: number): void {
    node.committing = false;
    node.log = new Map();
    node.seen = new Set();
    node.menus = new Map();
    node.plans = new Map();
    node.proposalOf = new Map();
    node.wal = [];
    node.walSynced = 0;
    this.feed(node, { type: 'start', height, validators: this.validatorSet(height) });
    const buffered = node.buffer;
    node.buffer = [];
    for (const m of buffered) this.onConsensusMsg(node, m);
  }

  private crash(node: SimNode): void {
    if (!node.up) return;
    node.up = false;
    node.epoch++;
    node.machine = null;
    node.log = new Map();
    node.buffer = [];
    node.committing = false;
    if (this.scenario.walLoss) node.wal.length = this.prng.int(node.walSynced, node.wal.length);
  }

  private restart(node: SimNode): void {
    if (node.up) return;
    node.up = true;
    node.epoch++;
    this.boot(node);
    this.at(this.now + this.prng.int(1, this.scenario.gossipMs), {
      k: 'gossip',
      node: node.idx,
      epoch: node.epoch,
    });
  }

  private heal(): void {
    this.healed = true;
    this.groupOf = null;
    for (const node of this.nodes) if (node.role !== 'byzantine') this.restart(node);
    this.heightAtHeal = Math.max(...this.correct().map((n) => n.committed.size));
    this.checkLiveness();
  }

  private correct(): SimNode[] {
    return this.nodes.filter((n) => n.role !== 'byzantine');
  }

  private checkLiveness(): void {
    const s = this.scenario;
    if (!this.healed || s.targetHeights <= 0) return;
    const goal = this.heightAtHeal + s.targetHeights;
    if (this.correct().every((n) => n.committed.size >= goal)) this.done = true;
  }

  // ---- the machine and its actions ----

  private feed(node: SimNode, input: Input): void {
    const m = node.machine;
    if (!m) return;
    node.wal.push({ input });
    const actions = m.handle(input);
    if (m.round > this.maxRound && node.role !== 'byzantine') this.maxRound = m.round;
    for (const a of actions) this.act(node, a);
  }

  private act(node: SimNode, a: Action): void {
    const s = this.scenario;
    switch (a.type) {
      case 'buildBlock': {
        const bad = node.role === 'byzantine' && this.prng.chance(s.byzInvalid);
        const tag = bad ? '.BAD' : '';
        const value = `h${a.height}.r${a.round}.${node.name}.${++this.blockCounter}${tag}`;
        const input: Input = {
          type: 'proposalBlock',
          height: a.height,
          round: a.round,
          blockHash: hashOf(value),
        };
        this.at(this.now + this.prng.int(1, 30), {
          k: 'input',
          node: node.idx,
          epoch: node.epoch,
          input,
        });
        break;
      }
      case 'propose':
        if (node.role === 'byzantine') this.byzPropose(node, a.proposal);
        else this.signAndSend(node, { t: 'proposal', proposal: a.proposal });
        break;
      case 'vote':
        if (node.role === 'byzantine') this.byzVote(node, a.vote);
        else this.signAndSend(node, { t: 'vote', vote: a.vote });
        break;
      case 'scheduleTimeout':
        this.at(this.now + a.durationMs, {
          k: 'input',
          node: node.idx,
          epoch: node.epoch,
          input: { type: 'timeout', step: a.step, height: a.height, round: a.round },
        });
        break;
      case 'decide':
        this.commit(node, a.height, a.round, a.blockHash, a.precommits, 'consensus');
        break;
      case 'evidence':
        if (node.role === 'byzantine') break;
        if (a.a.validator !== a.b.validator || a.a.blockHash === a.b.blockHash) {
          this.fail(`${node.name} emitted malformed evidence`);
        }
        if (a.a.validator !== this.byzantineAddress()) {
          this.fail(`${node.name} reports evidence against honest ${a.a.validator}`);
        }
        this.evidence.push({ node: node.idx, validator: a.a.validator, at: this.now });
        break;
    }
  }

  private byzantineAddress(): string {
    const b = this.scenario.byzantine;
    return b === null ? '' : this.addresses[b];
  }

  /** The persisted signer: never signs below, or differently at, its last (h, r, step). */
  private signAndSend(node: SimNode, msg: ConsensusMsg): void {
    const key = msgKey(msg);
    const [h, r, step] =
      msg.t === 'vote'
        ? [msg.vote.height, msg.vote.round, STEP_ORDER[msg.vote.kind]]
        : [msg.proposal.height, msg.proposal.round, STEP_ORDER.propose];
    const last = node.signed;
    if (last) {
      const c = h - last.h || r - last.r || step - last.s;
      // Below the last signature: the signer refuses (normal while replaying the WAL).
      if (c < 0) return;
      if (c === 0 && key !== last.key) {
        this.fail(`${node.name} tried to sign a second, different message at ${h}/${r}/${step}`);
      }
    }
    node.signed = { h, r, s: step, key };
    // The signed message goes to the WAL, which is synced before the signature leaves the node.
    node.wal.push({ own: msg });
    node.walSynced = node.wal.length;
    this.register(node, msg);
    this.logMsg(node, msg);
    this.broadcast(node, msg);
  }

  private register(node: SimNode, msg: ConsensusMsg): void {
    const signer = msg.t === 'vote' ? msg.vote.validator : msg.proposal.proposer;
    if (signer !== node.address) this.fail(`${node.name} signed as ${signer}`);
    this.signatures.add(msgKey(msg));
    if (msg.t === 'proposal') {
      const p = msg.proposal;
      this.proposed.add(p.blockHash);
      const key = `${p.height}/${p.round}`;
      const list = this.proposalsAt.get(key) ?? [];
      if (!list.includes(p.blockHash)) list.push(p.blockHash);
      this.proposalsAt.set(key, list);
      if (this.scenario.byzStrategy === 'amnesia' && this.scenario.byzantine !== null) {
        this.at(this.now + this.prng.int(1, 50), { k: 'attack', again: false });
      }
    }
  }

  private logMsg(node: SimNode, msg: ConsensusMsg): void {
    const key = msgKey(msg);
    if (!node.log.has(key)) node.log.set(key, msg);
  }

  private commit(
    node: SimNode,
    height: number,
    round: number,
    blockHash: Hash,
    precommits: Vote[],
    via: DecisionRecord['via'],
  ): void {
    const value = blockValue(blockHash);
    if (node.role !== 'byzantine') {
      this.checkCommit(height, round, blockHash, precommits, `${node.name} ${via}`);
      const first = this.agreed.get(height);
      if (first === undefined) this.agreed.set(height, blockHash);
      else if (first !== blockHash) {
        this.fail(
          `AGREEMENT violated at height ${height}: ${node.name} decided ${value}, ` +
            `another node decided ${blockValue(first)}`,
        );
      }
      if (!isValidValue(value, height) || !this.proposed.has(blockHash)) {
        this.fail(`VALIDITY violated at height ${height}: ${node.name} decided ${value}`);
      }
      this.decisions.push({ node: node.idx, height, round, value, via, at: this.now });
    }
    node.committed.set(height, { blockHash, round, precommits });
    node.wal = [];
    node.walSynced = 0;
    node.committing = true;
    this.at(this.now + this.prng.int(1, 20), {
      k: 'committed',
      node: node.idx,
      epoch: node.epoch,
      height,
    });
    this.checkLiveness();
    const s = this.scenario;
    if (via === 'consensus' && node.role !== 'byzantine' && !this.healed) {
      if (this.prng.chance(s.crashOnDecide)) {
        this.at(this.now, { k: 'crash', node: node.idx });
        this.at(Math.min(s.healAt, this.now + this.prng.int(200, 2000)), {
          k: 'restart',
          node: node.idx,
        });
      }
    }
  }

  /** +2/3 of the height's power in signed precommits for this block, each validator once. */
  private checkCommit(
    height: number,
    round: number,
    blockHash: Hash,
    precommits: Vote[],
    who: string,
  ): boolean {
    const set = this.validatorSet(height);
    const powers = new Map(set.validators.map((v) => [v.address, v.power]));
    const total = set.validators.reduce((s, v) => s + v.power, 0);
    const seen = new Set<string>();
    let power = 0;
    for (const v of precommits) {
      const ok =
        v.kind === 'precommit' &&
        v.height === height &&
        v.round === round &&
        v.blockHash === blockHash &&
        powers.has(v.validator) &&
        !seen.has(v.validator) &&
        this.signatures.has(msgKey({ t: 'vote', vote: v }));
      if (!ok) this.fail(`${who}: bad precommit in commit for height ${height}`);
      seen.add(v.validator);
      power += powers.get(v.validator) ?? 0;
    }
    if (!isTwoThirds(power, total)) this.fail(`${who}: commit without +2/3 at height ${height}`);
    return true;
  }

  // ---- network ----

  private broadcast(node: SimNode, msg: Msg): void {
    for (const peer of this.nodes) if (peer !== node) this.send(node.idx, peer.idx, msg);
  }

  private send(from: number, to: number, msg: Msg): void {
    const s = this.scenario;
    if (this.groupOf && this.groupOf[from] !== this.groupOf[to]) return;
    if (!this.healed && this.prng.chance(s.dropRate)) return;
    const late =
      !this.healed &&
      (msg.t === 'commit' || (msg.t === 'vote' && msg.vote.kind === 'precommit')) &&
      this.prng.chance(s.lateRate);
    const slow = late || (!this.healed && this.slow[from]?.[to]);
    const min = late ? 500 : slow ? 200 : s.minDelay;
    const max = this.healed ? s.maxDelay : late ? 3000 : slow ? 1500 : s.unstableMaxDelay;
    this.at(this.now + this.prng.int(min, max), { k: 'deliver', to, from, msg });
    if (this.prng.chance(s.dupRate)) {
      this.at(this.now + this.prng.int(min, max), { k: 'deliver', to, from, msg });
    }
  }

  private receive(node: SimNode, from: number, msg: Msg): void {
    if (!node.up || !node.machine) return;
    switch (msg.t) {
      case 'proposal':
      case 'vote':
        this.onConsensusMsg(node, msg);
        break;
      case 'batch':
        for (const m of msg.msgs) this.onConsensusMsg(node, m);
        break;
      case 'status':
        this.onStatus(node, from, msg.height, msg.have);
        break;
      case 'commit':
        this.onCommitMsg(node, msg);
        break;
    }
  }

  private onConsensusMsg(node: SimNode, msg: ConsensusMsg): void {
    const m = node.machine;
    if (!m) return;
    if (!this.signatures.has(msgKey(msg))) this.fail(`${node.name} received a forged message`);
    const h = msgHeight(msg);
    if (h === m.height + 1) {
      if (node.buffer.length < MAX_BUFFER) node.buffer.push(msg);
      return;
    }
    if (node.committing || h !== m.height) return;
    this.logMsg(node, msg);
    if (msg.t === 'vote') {
      this.feed(node, { type: 'vote', vote: msg.vote });
    } else {
      const p = msg.proposal;
      if (node.role === 'byzantine') {
        node.seen.add(p.blockHash);
        const key = `${p.height}/${p.round}`;
        if (!node.proposalOf.has(key)) node.proposalOf.set(key, p.blockHash);
      }
      const valid = isValidValue(blockValue(p.blockHash), h);
      this.feed(node, { type: 'proposal', proposal: p, valid });
    }
  }

  private onStatus(node: SimNode, from: number, height: number, have: Set<string>): void {
    if (node.role === 'byzantine' || !node.machine) return;
    const c = node.committed.get(height);
    if (c) {
      this.send(node.idx, from, { t: 'commit', height, ...c });
      return;
    }
    if (height !== node.machine.height || node.committing) return;
    const missing: ConsensusMsg[] = [];
    for (const [key, msg] of node.log) if (!have.has(key)) missing.push(msg);
    if (missing.length > 0) this.send(node.idx, from, { t: 'batch', msgs: missing });
  }

  private onCommitMsg(node: SimNode, c: Extract<Msg, { t: 'commit' }>): void {
    const m = node.machine;
    if (!m || node.committing || c.height !== m.height) return;
    if (!isValidValue(blockValue(c.blockHash), c.height)) return;
    this.checkCommit(c.height, c.round, c.blockHash, c.precommits, `${node.name} sync`);
    this.commit(node, c.height, c.round, c.blockHash, c.precommits, 'sync');
  }

  private gossip(idx: number, epoch: number): void {
    const node = this.nodes[idx];
    if (!node.up || node.epoch !== epoch || !node.machine) return;
    const height = node.committing ? node.machine.height + 1 : node.machine.height;
    const have = node.committing ? new Set<string>() : new Set(node.log.keys());
    for (const peer of this.nodes) {
      if (peer !== node) this.send(idx, peer.idx, { t: 'status', height, have });
    }
    const s = this.scenario;
    this.at(this.now + this.prng.int(s.gossipMs >> 1, s.gossipMs), {
      k: 'gossip',
      node: idx,
      epoch,
    });
  }

  // ---- the byzantine validator ----

  /**
   * The blocks the byzantine validator votes for in one (height, round, kind): nil and up to
   * three blocks it has seen. It keeps to four so that all its votes count (MAX_VALUES_PER_VOTER).
   */
  private byzMenu(node: SimNode, vote: Vote): (Hash | null)[] {
    const key = `${vote.height}/${vote.round}/${vote.kind}`;
    let menu = node.menus.get(key);
    if (!menu) {
      menu = [null, ...this.prng.shuffle([...node.seen].sort()).slice(0, 2)];
      node.menus.set(key, menu);
    }
    if (!menu.includes(vote.blockHash) && menu.length < MAX_VALUES_PER_VOTER) {
      menu.push(vote.blockHash);
    }
    return menu;
  }

  /** Different votes to different peers: the honest one, nil, another block, or nothing. */
  private byzVote(node: SimNode, vote: Vote): void {
    if (this.scenario.byzStrategy === 'amnesia') {
      // Backs the round's proposal whatever it is locked on; only one peer sees that precommit.
      // Set-up: a prevote that one peer does not see and a precommit that only another peer
      // sees, so that one node can decide while the rest move on locked. Once a correct node
      // has decided this height (the test adversary may peek), it backs any other proposal
      // towards everyone, hoping that locks fail to hold.
      const key = `${vote.height}/${vote.round}`;
      const target = node.proposalOf.get(key) ?? vote.blockHash;
      const decided = this.agreed.get(vote.height);
      const exploit = decided !== undefined && target !== null && target !== decided;
      const others = this.prng.shuffle(this.nodes.filter((n) => n !== node));
      const odd = others[0].idx;
      const lucky = others[1].idx;
      for (const peer of others) {
        const forPeer =
          exploit || (vote.kind === 'prevote' ? peer.idx !== odd : peer.idx === lucky);
        const blockHash = forPeer ? target : null;
        this.byzSend(node, peer.idx, { t: 'vote', vote: { ...vote, blockHash } });
      }
      return;
    }
    if (this.scenario.byzStrategy === 'split') {
      // In its own rounds it backs, towards each peer, the block it proposed to that peer.
      const plan = node.plans.get(`${vote.height}/${vote.round}`);
      const lucky = this.prng.pick(this.nodes.filter((n) => n !== node)).idx;
      for (const peer of this.nodes) {
        if (peer === node) continue;
        let blockHash = plan?.get(peer.idx) ?? vote.blockHash;
        if (!plan && vote.kind === 'precommit' && peer.idx !== lucky) blockHash = null;
        this.byzSend(node, peer.idx, { t: 'vote', vote: { ...vote, blockHash } });
      }
      return;
    }
    const menu = this.byzMenu(node, vote);
    for (const peer of this.nodes) {
      if (peer === node) continue;
      const x = this.prng.next();
      if (x < 0.15) continue;
      let blockHash = menu.includes(vote.blockHash) ? vote.blockHash : this.prng.pick(menu);
      if (x >= 0.5) blockHash = this.prng.pick(menu);
      this.byzSend(node, peer.idx, { t: 'vote', vote: { ...vote, blockHash } });
    }
  }

  /** Its own block to some peers, another block (maybe invalid) to others. */
  private byzPropose(node: SimNode, proposal: Proposal): void {
    const s = this.scenario;
    const bad = this.prng.chance(s.byzInvalid) ? '.BAD' : '';
    const other = hashOf(`h${proposal.height}.r${proposal.round}.byz.${++this.blockCounter}${bad}`);
    const polRound =
      proposal.round > 0 && this.prng.chance(0.2) ? this.prng.int(0, proposal.round - 1) : -1;
    const alt: Proposal = { ...proposal, blockHash: other, polRound };
    if (s.byzStrategy === 'amnesia') {
      // One fresh block for everyone, never its validValue: correct nodes' locks must hold.
      const value = `h${proposal.height}.r${proposal.round}.byz.${++this.blockCounter}`;
      const fresh: Proposal = { ...proposal, blockHash: hashOf(value), polRound: -1 };
      node.seen.add(fresh.blockHash);
      node.proposalOf.set(`${fresh.height}/${fresh.round}`, fresh.blockHash);
      node.plans.set(`${fresh.height}/${fresh.round}`, new Map());
      for (const peer of this.nodes) {
        if (peer !== node) this.byzSend(node, peer.idx, { t: 'proposal', proposal: fresh });
      }
      return;
    }
    if (s.byzStrategy === 'split') {
      const first = hashOf(`h${proposal.height}.r${proposal.round}.byz.${++this.blockCounter}`);
      proposal = { ...proposal, blockHash: first, polRound: -1 };
      alt.polRound = -1;
    }
    node.seen.add(proposal.blockHash);
    node.seen.add(other);
    const plan = new Map<number, Hash>();
    for (const peer of this.nodes) {
      if (peer === node) continue;
      const p = this.prng.chance(0.5) ? proposal : alt;
      plan.set(peer.idx, p.blockHash);
      this.byzSend(node, peer.idx, { t: 'proposal', proposal: p });
    }
    node.plans.set(`${proposal.height}/${proposal.round}`, plan);
  }

  /** Random votes for nearby rounds, to random peers. */
  private noise(node: SimNode): void {
    const m = node.machine;
    if (m?.isValidator && !m.hasDecided) {
      const round = Math.max(0, m.round + this.prng.int(-1, 2));
      const kind = this.prng.chance(0.5) ? 'prevote' : 'precommit';
      const vote: Vote = {
        kind,
        height: m.height,
        round,
        blockHash: null,
        validator: node.address,
      };
      vote.blockHash = this.prng.pick(this.byzMenu(node, vote));
      for (const peer of this.nodes) {
        if (peer !== node && this.prng.chance(0.5))
          this.byzSend(node, peer.idx, { t: 'vote', vote });
      }
    }
    this.at(this.now + this.prng.int(300, 900), { k: 'noise', node: node.idx });
  }

  /**
   * The amnesia attacker (it may peek at everything): once a correct node has decided a
   * height, it offers every correct node still at that height prevotes and precommits for
   * another block of its current round, proposing one itself when it is that round's proposer.
   * Only locks stand in the way.
   */
  private attack(): void {
    const b = this.scenario.byzantine;
    if (b === null || this.healed) return;
    const byz = this.nodes[b];
    for (const p of this.nodes) {
      const m = p.machine;
      if (p.role === 'byzantine' || !p.up || !m || p.committing) continue;
      const h = m.height;
      const decided = this.agreed.get(h);
      if (decided === undefined) continue;
      const r = m.round;
      let target = this.proposalsAt.get(`${h}/${r}`)?.find((x) => x !== decided);
      if (!target && proposerOf(this.validatorSet(h), h, r) === byz.address) {
        // Re-propose a block that had a polka in an earlier round if there is one (only locks
        // from later rounds may refuse it), else a fresh one.
        const old = this.oldPolka(p, byz, decided);
        if (old) {
          const prevote: Vote = {
            kind: 'prevote',
            height: h,
            round: old.round,
            blockHash: old.blockHash,
            validator: byz.address,
          };
          for (const q of this.nodes) {
            if (q !== byz) this.byzSend(byz, q.idx, { t: 'vote', vote: prevote });
          }
        }
        const value = `h${h}.r${r}.byz.${++this.blockCounter}`;
        const proposal: Proposal = {
          height: h,
          round: r,
          blockHash: old ? old.blockHash : hashOf(value),
          polRound: old ? old.round : -1,
          proposer: byz.address,
        };
        for (const q of this.nodes) {
          if (q !== byz) this.byzSend(byz, q.idx, { t: 'proposal', proposal });
        }
        target = proposal.blockHash;
      }
      if (!target) continue;
      for (const kind of ['prevote', 'precommit'] as const) {
        const vote: Vote = { kind, height: h, round: r, blockHash: target, validator: byz.address };
        this.byzSend(byz, p.idx, { t: 'vote', vote });
      }
    }
  }

  /** A block other than `decided` with a polka (counting the byzantine) that `p` can see. */
  private oldPolka(
    p: SimNode,
    byz: SimNode,
    decided: Hash,
  ): { round: number; blockHash: Hash } | null {
    const m = p.machine;
    if (!m) return null;
    const set = this.validatorSet(m.height);
    const power = new Map(set.validators.map((v) => [v.address, v.power]));
    const total = set.validators.reduce((a, v) => a + v.power, 0);
    for (let vr = m.round - 1; vr >= 0; vr--) {
      for (const x of this.proposalsAt.get(`${m.height}/${vr}`) ?? []) {
        if (x === decided) continue;
        let sum = power.get(byz.address) ?? 0;
        for (const v of m.votes(vr, 'prevote')) {
          if (v.blockHash === x && v.validator !== byz.address) sum += power.get(v.validator) ?? 0;
        }
        if (isTwoThirds(sum, total)) return { round: vr, blockHash: x };
      }
    }
    return null;
  }

  private byzSend(node: SimNode, to: number, msg: ConsensusMsg): void {
    this.register(node, msg);
    this.send(node.idx, to, msg);
  }

  // ---- failure reporting ----

  private record(ev: SimEvent): void {
    if (ev.k === 'gossip' || ev.k === 'noise') return;
    if (ev.k === 'deliver' && (ev.msg.t === 'status' || ev.msg.t === 'batch')) {
      if (ev.msg.t === 'status' || ev.msg.msgs.length === 0) return;
    }
    // Events are kept as they are and only formatted if a failure prints the trace.
    const entry = { at: this.now, ev };
    if (this.trace.length < TRACE_SIZE) this.trace.push(entry);
    else this.trace[this.traceNext] = entry;
    this.traceNext = (this.traceNext + 1) % TRACE_SIZE;
  }

  private heightsSummary(): string {
    return this.nodes
      .map((n) => `${n.name}${n.role === 'honest' ? '' : `(${n.role})`}=${n.committed.size}`)
      .join(' ');
  }

  private fail(reason: string): never {
    const s = this.scenario;
    const tail = [...this.trace.slice(this.traceNext), ...this.trace.slice(0, this.traceNext)].map(
      (e) => `  ${String(e.at).padStart(7)}ms ${describe(e.ev, this.nodes)}`,
    );
    const nodes = this.nodes.map((n) => {
      const m = n.machine;
      const st = m ? `h${m.height} r${m.round} ${m.step} lock=${m.lockedRound}` : 'down';
      const who = `${n.name} ${n.address || '(observer)'} ${n.role}`;
      return `  ${who}: committed=${n.committed.size} ${st}`;
    });
    throw new SimFailure(
      [
        `tbft sim "${s.name}" failed at ${this.now}ms (seed ${s.seed}): ${reason}`,
        `replay: SIM_SEED=${s.seed} node --import tsx --test test/sim/tbft-sim.test.ts`,
        `powers=${s.powers.join(',')} byzantine=${s.byzantine} observers=${s.observers} ` +
          `heal=${s.healAt} drop=${s.dropRate.toFixed(2)} walLoss=${s.walLoss}`,
        'nodes:',
        ...nodes,
        `last ${tail.length} events:`,
        ...tail,
      ].join('\n'),
    );
  }
}

function short(hash: Hash | null): string {
  if (hash === null) return 'nil';
  const v = blockValue(hash);
  return v || `${hash.slice(0, 8)}…`;
}

function describe(ev: SimEvent, nodes: SimNode[]): string {
  switch (ev.k) {
    case 'deliver': {
      const m = ev.msg;
      const to = `${nodes[ev.from].name}->${nodes[ev.to].name}`;
      if (m.t === 'vote') {
        const v = m.vote;
        return `${to} ${v.kind} h${v.height} r${v.round} ${short(v.blockHash)}`;
      }
      if (m.t === 'proposal') {
        const p = m.proposal;
        return `${to} proposal h${p.height} r${p.round} ${short(p.blockHash)} pol=${p.polRound}`;
      }
      if (m.t === 'batch') return `${to} batch of ${m.msgs.length}`;
      if (m.t === 'commit') return `${to} commit h${m.height} ${short(m.blockHash)}`;
      return `${to} status h${m.height}`;
    }
    case 'input': {
      const i = ev.input;
      const who = nodes[ev.node].name;
      if (i.type === 'timeout') return `${who} timeout ${i.step} h${i.height} r${i.round}`;
      if (i.type === 'proposalBlock') return `${who} block built h${i.height} r${i.round}`;
      return `${who} ${i.type}`;
    }
    case 'committed':
      return `${nodes[ev.node].name} committed h${ev.height}`;
    case 'crash':
    case 'restart':
      return `${nodes[ev.node].name} ${ev.k}`;
    case 'partition':
      return `partition ${ev.groups.map((g) => g.map((i) => nodes[i].name).join('+')).join(' | ')}`;
    default:
      return ev.k;
  }
}

/** Build a random scenario from a seed: the network, the faults and the validator set. */
export function randomScenario(seed: number): Scenario {
  const prng = new Prng(seed ^ 0x5eed5eed);
  const classic = prng.chance(0.6);
  let powers: number[];
  let powersEven: number[] | undefined;
  let byzantine: number | null = null;
  const safe = (p: number[], b: number) => p[b] * 3 < p.reduce((a, x) => a + x, 0);
  if (classic) {
    powers = [1, 1, 1, 1];
    if (prng.chance(0.85)) byzantine = prng.int(0, 3);
  } else {
    const n = prng.int(4, 7);
    for (;;) {
      powers = Array.from({ length: n }, () => prng.int(1, 5));
      powersEven = prng.chance(0.4) ? Array.from({ length: n }, () => prng.int(1, 5)) : undefined;
      const even = powersEven;
      const ok = powers.map((_, i) => i).filter((i) => safe(powers, i) && (!even || safe(even, i)));
      if (ok.length > 0) {
        if (prng.chance(0.75)) byzantine = prng.pick(ok);
        break;
      }
    }
  }
  const n = powers.length;
  const observers = prng.chance(0.3) ? 1 : 0;
  const healAt = prng.int(10000, 40000);
  const honest = Array.from({ length: n + observers }, (_, i) => i).filter((i) => i !== byzantine);
  const crashes: CrashPlan[] = [];
  const crashCount = prng.int(0, 3);
  for (let i = 0; i < crashCount; i++) {
    const at = prng.int(0, healAt - 100);
    const restartAt = prng.chance(0.8) ? Math.min(healAt, at + prng.int(100, 3000)) : null;
    crashes.push({ node: prng.pick(honest), at, restartAt });
  }
  const partitions: PartitionPlan[] = [];
  let t = prng.int(0, 1500);
  while (t < healAt - 200 && prng.chance(0.6)) {
    const until = Math.min(healAt, t + prng.int(200, 2500));
    const all = prng.shuffle(Array.from({ length: n + observers }, (_, i) => i));
    const cut = prng.int(1, all.length - 1);
    partitions.push({ at: t, until, groups: [all.slice(0, cut), all.slice(cut)] });
    t = until + prng.int(100, 1500);
  }
  return {
    name: `random seed ${seed}`,
    seed,
    powers,
    powersEven,
    byzantine,
    observers,
    timeouts: { proposeMs: 300, voteMs: 150, deltaMs: 50 },
    minDelay: 2,
    maxDelay: prng.int(10, 60),
    unstableMaxDelay: prng.int(50, 600),
    slowLinks: prng.chance(0.7) ? prng.next() * 0.4 : 0,
    lateRate: prng.chance(0.6) ? prng.next() * 0.6 : 0,
    dropRate: prng.chance(0.3) ? 0 : prng.next() * 0.35,
    dupRate: prng.next() * 0.1,
    gossipMs: prng.int(150, 1000),
    crashes,
    partitions,
    walLoss: prng.chance(0.5),
    crashOnDecide: prng.chance(0.7) ? prng.next() * 0.5 : 0,
    healAt,
    targetHeights: 3,
    endAt: healAt + 40_000,
    byzInvalid: 0.3,
    byzStrategy: prng.pick(['random', 'split', 'amnesia', 'amnesia'] as const),
  };
}

/** Run one scenario (throws SimFailure on a violation). */
export function simulate(scenario: Scenario): SimResult {
  return new Simulation(scenario).run();
}
