/**
 * Deterministic many-node simulator for BFT consensus: every node runs the real driver and
 * reactors (src/consensus/tbft/services.ts, as the node builds them) on an in-memory chain
 * (chain.ts), an in-memory WAL (memory-wal.ts), the real double-sign guard over an in-memory
 * signer state, a cheap keyed-digest crypto profile (crypto.ts) and a clock on simulated time
 * (clock.ts). Every node's ConsensusNet goes through one seeded hostile network into the
 * receivers' ReactorRouters, on all channels (consensus, block sync, evidence).
 *
 * Everything runs in one process on one event queue and draws every random choice from one
 * seeded PRNG, so a seed replays exactly. Agreement, validity and "honest nodes never
 * equivocate" are checked the moment anything could break them (every commit, every signature
 * the guards give out, every piece of evidence pooled); after the network heals, every correct
 * node must commit a few more heights within a deadline. A violation, or an exception out of
 * the driver, throws SimFailure with the seed, the replay command and the last events.
 *
 * Until `healAt` the network is hostile: random delays (reordering), drops, duplicates, links
 * that turn slow for a while, precommits and block-sync answers held back for seconds, and
 * partitions that start and heal (send() to a peer on the other side fails, as an unconnected
 * transport's does; the routers hear peerUp when links come back). Honest nodes crash (at
 * random, and right after deciding) and restart: a crash keeps the node's disk (committed
 * blocks, the WAL up to its last sync plus a random part of the unsynced tail, the guard's
 * state) and loses everything else (driver, reactors, buffered messages, timers, the evidence
 * pool); the restart builds new services with createTbftServices, so the driver's real WAL
 * replay runs. One validator (less than 1/3 of the power) may be byzantine (byzantine.ts).
 * Scenarios may skew a node's clock, change the validator set by height, and filter or hold
 * back single messages (hooks) to stage races the random network rarely hits.
 */
import type { CandidateBlock } from '../../src/consensus/chain-api.ts';
import type { ReactorLogger } from '../../src/consensus/reactor.ts';
import {
  GuardedSigner,
  MemorySignerState,
  SIGN_STEP,
  type SignRequest,
  type Signed,
  type SignerStateStore,
} from '../../src/consensus/signer.ts';
import { createTbftServices, type TbftServices } from '../../src/consensus/tbft/services.ts';
import type { TendermintMachine } from '../../src/consensus/tbft/state-machine.ts';
import type { TimeoutConfig, ValidatorSet } from '../../src/consensus/tbft/types.ts';
import {
  type Commit,
  ConsensusMessageSchema,
  ConsensusParamsSchema,
  create,
  decode,
  HeaderSchema,
  ProposalBodySchema,
  type Validator,
  ValidatorSchema,
  VoteBodySchema,
  VoteType,
} from '../../src/codec/index.ts';
import { address, type Signer } from '../../src/crypto/profile.ts';
import { CHANNELS } from '../../src/p2p/channels.ts';
import { type EvidenceJson, evidenceKey } from '../../src/types/evidence.ts';
import { bytesEqual, hex } from '../../src/types/hex.ts';
import { verifyCommit } from '../../src/types/vote.ts';
import { Byzantine, type ByzHost, type ByzStrategy } from './byzantine.ts';
import { ChainSpec, INVALID_TX, SimChain, shortHash } from './chain.ts';
import { EPOCH_MS, SimClock, type TimerEvent, type TimerHost } from './clock.ts';
import { SimKeys } from './crypto.ts';
import { EventQueue } from './event-queue.ts';
import { MemoryWal } from './memory-wal.ts';
import { Prng } from './prng.ts';
import { peek, type WireInfo } from './wire.ts';

/** A planned crash of node `node` at `at`, restarted at `restartAt` (null: at healAt unless excused). */
export interface CrashPlan {
  node: number;
  at: number;
  restartAt: number | null;
}

/** A planned partition: links between different groups are down in [at, until). */
export interface PartitionPlan {
  at: number;
  until: number;
  groups: number[][];
}

/** One message on its way. */
export interface Transit {
  from: number;
  to: number;
  channel: number;
  bytes: Uint8Array;
  info: WireInfo;
}

/** A scenario's rule for one message: drop, hold (until the scenario releases it), deliver after ms, or leave it to the network. */
export type Verdict = 'drop' | 'hold' | number | undefined;

export interface ScenarioHooks {
  filter?(t: Transit, sim: Simulation): Verdict;
  /** After every event (to release held messages at the right moment, or to watch). */
  afterEvent?(sim: Simulation): void;
}

/** One simulation run: network, faults and expectations. */
export interface Scenario {
  name: string;
  seed: number;
  /** Voting power of validator i (nodes 0..n-1 are validators). */
  powers: number[];
  /** If set, even heights use these powers (same nodes). */
  powersEven?: number[];
  /** From height `from` on, the power of every node, observers included (0: not a validator). */
  changes?: { from: number; powers: number[] }[];
  /** Index of the byzantine validator, or null. */
  byzantine: number | null;
  /** Nodes after the validators that follow consensus without voting (unless `changes` adds them). */
  observers: number;
  timeouts: TimeoutConfig;
  blockIntervalMs: number;
  /** Clock offsets (ms) of some nodes. */
  skew?: { node: number; ms: number }[];
  /** Message delay range once the network is stable. */
  minDelay: number;
  maxDelay: number;
  /** Before healAt: the largest delay. */
  unstableMaxDelay: number;
  /** Before healAt: share of directed links that are slow (200..1500 ms), re-drawn every 0.5-2 s. */
  slowLinks: number;
  /** Before healAt: probability that a precommit or a block-sync answer is held back 0.5-3 s. */
  lateRate: number;
  /** Before healAt: probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice (always, also after healing). */
  dupRate: number;
  crashes: CrashPlan[];
  partitions: PartitionPlan[];
  /** Before healAt: probability that an honest node crashes right after it decides. */
  crashOnDecide: number;
  /** Crashes lose a random part of the unsynced WAL tail. */
  walLoss: boolean;
  /** From here on: no drops, no partitions, all honest nodes up. */
  healAt: number;
  /** After healAt every correct node must commit this many heights (0: no liveness check). */
  targetHeights: number;
  /** Nodes down for good: not restarted when the network heals, left out of the liveness check. */
  excused?: number[];
  /** Simulated deadline. */
  endAt: number;
  /** Probability that a byzantine proposal's other block is invalid. */
  byzInvalid: number;
  byzStrategy: ByzStrategy;
  hooks?: ScenarioHooks;
}

/** A commit of one correct node. */
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
  /** Conflicting byzantine votes a correct node filed (each must have become evidence). */
  equivocationsSeen: number;
  /** Evidence correct nodes pooled: who, against whom. */
  evidence: { node: number; validator: string; at: number }[];
  /** Evidence carried by committed blocks of the longest correct chain. */
  committedEvidence: number;
  /** Highest round a correct node signed in. */
  maxRound: number;
  addresses: string[];
  /** Highest height any correct node had committed when the network healed. */
  heightAtHeal: number;
  /** A digest of every event handled: equal digests, equal runs. */
  digest: number;
  /** Restarts that replayed WAL records. */
  walReplays: number;
  /** How often each driver and reactor log message was written. */
  logs: Record<string, number>;
}

/** A violated property; the message carries the seed, the replay command and a trace tail. */
export class SimFailure extends Error {}

type SimEvent =
  | TimerEvent
  | {
      k: 'deliver';
      from: number;
      to: number;
      epoch: number;
      channel: number;
      bytes: Uint8Array;
      info: WireInfo;
    }
  | { k: 'peerUp'; node: number; epoch: number; peer: number }
  | { k: 'crash'; node: number }
  | { k: 'restart'; node: number }
  | { k: 'partition'; groups: number[][] }
  | { k: 'unpartition' }
  | { k: 'links' }
  | { k: 'heal' }
  | { k: 'noise' }
  | { k: 'attack'; again: boolean };

interface SimNode {
  idx: number;
  name: string;
  address: string;
  role: 'honest' | 'byzantine' | 'observer';
  up: boolean;
  /** Bumped at every boot and crash: events of an older run of the node are void. */
  epoch: number;
  skew: number;
  signer: Signer;
  /** The disk: committed blocks, WAL, the guard's state. */
  chain: SimChain;
  wal: MemoryWal;
  signerState: MemorySignerState;
  services: TbftServices<CandidateBlock> | undefined;
  /** Inside the delivery of a block sync message (its commits are "via sync"). */
  syncing: boolean;
  /** Everything this node's guard gave out, by height/round/step (honest nodes). */
  signed: Map<string, string>;
  /** Blocks the byzantine validator's votes that this run of the node filed were for, by slot. */
  byzVotes: Map<string, Set<string>>;
}

const CONSENSUS = CHANNELS.consensus.id;
const BLOCKSYNC = CHANNELS.blocksync.id;
const MAX_EVENTS = 2_000_000;
const TRACE_SIZE = 40;
const CHAIN_ID = 'sim';

/** A guard that reports every signature it gives out and every double sign it refuses. */
class WatchedSigner extends GuardedSigner {
  constructor(
    state: SignerStateStore,
    signer: Signer,
    private readonly watch: (
      req: SignRequest,
      out: Signed | undefined,
      guard: GuardedSigner,
    ) => void,
  ) {
    super(state, signer);
  }

  override sign(req: SignRequest): Signed {
    let out: Signed;
    try {
      out = super.sign(req);
    } catch (e) {
      this.watch(req, undefined, this);
      throw e;
    }
    this.watch(req, out, this);
    return out;
  }
}

/** The state machine inside a driver (the simulator peeks; nothing else may). */
export function machineOf(
  s: TbftServices<CandidateBlock> | undefined,
): TendermintMachine | undefined {
  return (s?.driver as unknown as { machine?: TendermintMachine } | undefined)?.machine;
}

function mix(h: number, x: number): number {
  return Math.imul(h ^ (x | 0), 16777619) >>> 0;
}

const KIND_CODE: Record<string, number> = {
  timer: 1,
  deliver: 2,
  peerUp: 3,
  crash: 4,
  restart: 5,
  partition: 6,
  unpartition: 7,
  links: 8,
  heal: 9,
  noise: 10,
  attack: 11,
};

/** Runs one scenario; throws SimFailure on any violated property. */
export class Simulation implements TimerHost {
  readonly nodes: SimNode[] = [];
  readonly prng: Prng;
  readonly spec: ChainSpec;
  readonly keys = new SimKeys();
  /** Simulated ms since the start. */
  time = 0;
  healed = false;
  /** Messages a scenario's filter held back. */
  readonly held: Transit[] = [];
  private readonly queue = new EventQueue<SimEvent>();
  private readonly index = new Map<string, number>();
  private readonly byz: Byzantine | undefined;
  private events = 0;
  private groupOf: number[] | null = null;
  private slow: boolean[][] = [];
  private readonly proposalsAt = new Map<string, string[]>();
  private readonly proposed = new Set<string>();
  private readonly blocks = new Map<string, Uint8Array>();
  private readonly agreed = new Map<number, string>();
  private readonly decisions: DecisionRecord[] = [];
  private readonly evidence: SimResult['evidence'] = [];
  private readonly trace: { at: number; text: () => string }[] = [];
  private traceNext = 0;
  private maxRound = 0;
  private heightAtHeal = 0;
  private done = false;
  private digest = 2166136261;
  private readonly logs: Record<string, number> = {};
  private equivocationsSeen = 0;
  private failure: SimFailure | undefined;
  private readonly setCache = new Map<string, Validator[]>();
  private readonly machineSets = new Map<Validator[], ValidatorSet>();
  private readonly allPowers: number[];
  private readonly evenPowers: number[];

  constructor(readonly scenario: Scenario) {
    const s = scenario;
    this.prng = new Prng(s.seed);
    const total = s.powers.length + s.observers;
    const pad = (p: number[]) => Array.from({ length: total }, (_, i) => p[i] ?? 0);
    this.allPowers = pad(s.powers);
    this.evenPowers = pad(s.powersEven ?? s.powers);
    const salt = this.prng.int(0, 0xffffffff).toString(16);
    const signers = Array.from({ length: total }, (_, i) => this.keys.signer(`${salt}/${i}`));
    this.spec = new ChainSpec(
      CHAIN_ID,
      this.keys.profile,
      create(ConsensusParamsSchema, {
        blockIntervalMs: s.blockIntervalMs,
        timeoutProposeMs: s.timeouts.proposeMs,
        timeoutVoteMs: s.timeouts.voteMs,
        timeoutDeltaMs: s.timeouts.deltaMs,
      }),
      EPOCH_MS - 10_000,
      (h) => this.validatorsAt(h, signers),
    );
    for (let i = 0; i < total; i++) {
      const validator = i < s.powers.length;
      const node: SimNode = {
        idx: i,
        name: validator ? `n${i}` : `o${i}`,
        address: address(this.keys.profile, signers[i].publicKey),
        role: i === s.byzantine ? 'byzantine' : validator ? 'honest' : 'observer',
        up: false,
        epoch: 0,
        skew: s.skew?.find((k) => k.node === i)?.ms ?? 0,
        signer: signers[i],
        chain: undefined as unknown as SimChain,
        wal: new MemoryWal(),
        signerState: new MemorySignerState(),
        services: undefined,
        syncing: false,
        signed: new Map(),
        byzVotes: new Map(),
      };
      node.chain = new SimChain(this.spec, i, {
        committed: (_chain, block, commit) => this.onCommitted(node, block, commit),
        pooled: (_chain, ev) => this.onPooled(node, ev),
        built: (block) => this.blocks.set(hex(block.blockHash), block.blockBytes),
      });
      this.nodes.push(node);
      this.index.set(node.name, i);
    }
    if (s.byzantine !== null) {
      const b = this.nodes[s.byzantine];
      this.byz = new Byzantine(
        this.byzHost(b),
        b.idx,
        b.address,
        b.signer,
        b.chain,
        s.byzStrategy,
        s.byzInvalid,
      );
    }
  }

  // ---- validator sets ----

  private powersAt(height: number): number[] {
    let p = height % 2 === 0 ? this.evenPowers : this.allPowers;
    for (const c of this.scenario.changes ?? []) if (height >= c.from) p = c.powers;
    return p;
  }

  private validatorsAt(height: number, signers: Signer[]): Validator[] {
    const powers = this.powersAt(height);
    const key = powers.join(',');
    let set = this.setCache.get(key);
    if (!set) {
      set = [];
      powers.forEach((power, i) => {
        if (power > 0) {
          set?.push(
            create(ValidatorSchema, {
              name: `v${i}`,
              org: 'sim',
              publicKey: signers[i].publicKey,
              power: BigInt(power),
            }),
          );
        }
      });
      this.setCache.set(key, set);
    }
    return set;
  }

  /** The validator set of `height` as the state machine sees it. */
  machineSet(height: number): ValidatorSet {
    const set = this.spec.validatorsAt(height);
    let m = this.machineSets.get(set);
    if (!m) {
      m = {
        validators: set.map((v) => ({
          address: address(this.keys.profile, v.publicKey),
          power: Number(v.power),
        })),
      };
      this.machineSets.set(set, m);
    }
    return m;
  }

  // ---- running ----

  /** Run to the end (liveness reached, or the deadline) and return what happened. */
  run(): SimResult {
    const s = this.scenario;
    try {
      for (const node of this.nodes) this.boot(node);
      if (this.byz) {
        this.at(this.prng.int(100, 600), { k: 'noise' });
        if (s.byzStrategy === 'amnesia') this.at(0, { k: 'attack', again: true });
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
        const ev = next.item;
        if (ev.k === 'timer' && (ev.cancelled || this.nodes[ev.node].epoch !== ev.epoch)) continue;
        this.time = next.at;
        if (++this.events > MAX_EVENTS) this.fail('too many events');
        this.dispatch(ev);
        if (this.failure) throw this.failure;
        s.hooks?.afterEvent?.(this);
        if (this.done) break;
      }
    } catch (e) {
      if (e instanceof SimFailure) throw e;
      this.fail(`exception: ${(e as Error).stack ?? e}`);
    }
    if (s.targetHeights > 0 && !this.done) {
      this.fail(
        `no liveness: after healing at ${s.healAt}ms (height ${this.heightAtHeal}) the correct ` +
          `nodes did not all commit ${s.targetHeights} more heights by ${s.endAt}ms`,
      );
    }
    const longest = this.correct().reduce((a, n) => (n.chain.height > a.chain.height ? n : a));
    return {
      scenario: s,
      events: this.events,
      endTime: this.time,
      heights: this.nodes.map((n) => n.chain.height),
      decisions: this.decisions,
      equivocationsSeen: this.equivocationsSeen,
      evidence: this.evidence,
      committedEvidence: longest.chain.committedEvidenceKeys.size,
      maxRound: this.maxRound,
      addresses: this.nodes.map((n) => n.address),
      heightAtHeal: this.heightAtHeal,
      digest: this.digest,
      walReplays: this.logs['replaying WAL'] ?? 0,
      logs: this.logs,
    };
  }

  addTimer(at: number, ev: TimerEvent): void {
    this.queue.push(at, ev);
  }

  private at(time: number, ev: SimEvent): void {
    this.queue.push(time, ev);
  }

  private dispatch(ev: SimEvent): void {
    let d = mix(mix(this.digest, this.time), KIND_CODE[ev.k]);
    switch (ev.k) {
      case 'timer': {
        d = mix(d, ev.node);
        ev.fn();
        const after = `${this.nodes[ev.node].name} timer -> ${this.status(ev.node)}`;
        this.record(() => after);
        break;
      }
      case 'deliver': {
        d = mix(mix(mix(mix(d, ev.from), ev.to), ev.channel), ev.bytes.length);
        d = mix(mix(d, ev.info.height), ev.info.round);
        this.deliver(ev);
        break;
      }
      case 'peerUp': {
        const node = this.nodes[ev.node];
        d = mix(mix(d, ev.node), ev.peer);
        if (node.epoch === ev.epoch && this.connected(ev.node, ev.peer))
          node.services?.router.peerUp(this.nodes[ev.peer].name);
        break;
      }
      case 'crash':
        this.crash(this.nodes[ev.node]);
        break;
      case 'restart':
        this.restart(this.nodes[ev.node]);
        break;
      case 'partition':
        this.setGroups(ev.groups);
        this.record(
          () =>
            `partition ${ev.groups.map((g) => g.map((i) => this.nodes[i].name).join('+')).join(' | ')}`,
        );
        break;
      case 'unpartition':
        this.setGroups(null);
        this.record(() => 'partition healed');
        break;
      case 'heal':
        this.heal();
        break;
      case 'links':
        if (this.healed) break;
        this.slow = this.nodes.map(() =>
          this.nodes.map(() => this.prng.chance(this.scenario.slowLinks)),
        );
        this.at(this.time + this.prng.int(500, 2000), { k: 'links' });
        break;
      case 'noise':
        if (this.byz) {
          this.byz.noise(machineOf(this.nodes[this.byz.node].services));
          this.at(this.time + this.prng.int(300, 900), { k: 'noise' });
        }
        break;
      case 'attack':
        this.byz?.attack();
        if (ev.again && !this.healed) this.at(this.time + this.prng.int(20, 80), ev);
        break;
    }
    this.digest = d;
  }

  private deliver(ev: Extract<SimEvent, { k: 'deliver' }>): void {
    const to = this.nodes[ev.to];
    const services = to.services;
    if (!to.up || to.epoch !== ev.epoch || !services) return;
    if (ev.info.kind !== 'status') {
      this.record(
        () =>
          `${this.nodes[ev.from].name}->${to.name} ${ev.info.kind} h${ev.info.height}` +
          (ev.info.kind === 'proposal' ||
          ev.info.kind.endsWith('vote') ||
          ev.info.kind === 'precommit'
            ? ` r${ev.info.round}`
            : ''),
      );
    }
    if (this.byz && ev.to === this.byz.node && ev.channel === CONSENSUS) {
      try {
        this.byz.snoop(ev.bytes);
      } catch {
        // not something it can use
      }
    }
    // A vote of the byzantine validator for the height the receiver is at is filed by its
    // driver, so a second one for another block in the same slot must become evidence.
    const watch =
      this.byz !== undefined &&
      ev.from === this.byz.node &&
      to.role !== 'byzantine' &&
      ev.channel === CONSENSUS &&
      (ev.info.kind === 'prevote' || ev.info.kind === 'precommit') &&
      machineOf(services)?.height === ev.info.height;
    to.syncing = ev.channel === BLOCKSYNC;
    try {
      services.router.receive(this.nodes[ev.from].name, ev.channel, ev.bytes);
    } finally {
      to.syncing = false;
    }
    if (watch) this.expectEvidence(to, ev.bytes);
  }

  private expectEvidence(node: SimNode, bytes: Uint8Array): void {
    const m = decode(ConsensusMessageSchema, bytes, 'INTERNAL');
    if (m.msg.case !== 'vote') return;
    const b = decode(VoteBodySchema, m.msg.value.body, 'INTERNAL');
    const type = b.type === VoteType.PREVOTE ? 'prevote' : 'precommit';
    const slot = evidenceKey({
      validator: hex(b.validator),
      name: '',
      height: Number(b.height),
      round: b.round,
      type,
      blockHashA: '',
      blockHashB: '',
    });
    let seen = node.byzVotes.get(slot);
    if (!seen) {
      seen = new Set();
      node.byzVotes.set(slot, seen);
    }
    seen.add(hex(b.blockHash));
    if (seen.size < 2) return;
    this.equivocationsSeen++;
    if (!node.chain.hasEvidence(slot))
      this.fail(
        `${node.name} filed two different ${type}s of the byzantine at ${slot}: no evidence`,
      );
  }

  // ---- node life cycle ----

  private logger(node: SimNode): ReactorLogger {
    const line = (level: string) => (obj: object, msg: string) => {
      this.logs[msg] = (this.logs[msg] ?? 0) + 1;
      if (level === 'debug' && msg !== 'dropped a bad message') return;
      this.record(() => `${node.name} ${level}: ${msg} ${JSON.stringify(obj, jsonBigint)}`);
    };
    return { info: line('info'), warn: line('warn'), debug: line('debug') };
  }

  private boot(node: SimNode): void {
    node.up = true;
    node.epoch++;
    node.byzVotes = new Map();
    const clock = new SimClock(this, node.idx, node.epoch, node.skew);
    const signer = new WatchedSigner(node.signerState, node.signer, (req, out, guard) =>
      this.onSigned(node, req, out, guard),
    );
    const services = createTbftServices<CandidateBlock>({
      chain: node.chain,
      signer,
      net: {
        broadcast: (channel, bytes) => this.broadcast(node, channel, bytes),
        send: (peer, channel, bytes) => this.sendTo(node, peer, channel, bytes),
      },
      wal: node.wal,
      clock,
      log: this.logger(node),
    });
    node.services = services;
    const boot = `${node.name} boot at height ${node.chain.height + 1}`;
    this.record(() => boot);
    services.router.start();
    for (const peer of this.nodes) {
      if (peer !== node && this.connected(node.idx, peer.idx)) this.linkUp(node.idx, peer.idx);
    }
  }

  private crash(node: SimNode): void {
    if (!node.up) return;
    node.up = false;
    node.epoch++;
    node.services = undefined;
    node.wal.crash(this.prng, this.scenario.walLoss);
    node.chain.crash();
    const crash = `${node.name} crash (WAL keeps ${node.wal.size} records)`;
    this.record(() => crash);
  }

  private restart(node: SimNode): void {
    if (node.up) return;
    this.boot(node);
  }

  private heal(): void {
    this.healed = true;
    this.setGroups(null);
    for (const node of this.live()) this.restart(node);
    this.heightAtHeal = Math.max(...this.correct().map((n) => n.chain.height));
    const heal = `heal at height ${this.heightAtHeal}`;
    this.record(() => heal);
    this.checkLiveness();
  }

  correct(): SimNode[] {
    return this.nodes.filter((n) => n.role !== 'byzantine');
  }

  /** Correct nodes the liveness check waits for. */
  private live(): SimNode[] {
    const excused = this.scenario.excused ?? [];
    return this.correct().filter((n) => !excused.includes(n.idx));
  }

  private checkLiveness(): void {
    const s = this.scenario;
    if (!this.healed || s.targetHeights <= 0) return;
    const goal = this.heightAtHeal + s.targetHeights;
    if (this.live().every((n) => n.chain.height >= goal)) this.done = true;
  }

  // ---- network ----

  connected(a: number, b: number): boolean {
    return (
      this.nodes[a].up &&
      this.nodes[b].up &&
      (this.groupOf === null || this.groupOf[a] === this.groupOf[b])
    );
  }

  /** Both ends of a link that (re)connected learn of it a moment later. */
  private linkUp(a: number, b: number): void {
    const na = this.nodes[a];
    const nb = this.nodes[b];
    this.at(this.time + this.prng.int(1, 20), { k: 'peerUp', node: a, epoch: na.epoch, peer: b });
    this.at(this.time + this.prng.int(1, 20), { k: 'peerUp', node: b, epoch: nb.epoch, peer: a });
  }

  private setGroups(groups: number[][] | null): void {
    const before = this.nodes.map((_, i) => this.nodes.map((_, j) => this.connected(i, j)));
    if (groups) {
      const g = this.nodes.map(() => -1);
      groups.forEach((members, gi) => {
        for (const i of members) g[i] = gi;
      });
      this.groupOf = g;
    } else this.groupOf = null;
    for (let a = 0; a < this.nodes.length; a++) {
      for (let b = a + 1; b < this.nodes.length; b++) {
        if (!before[a][b] && this.connected(a, b)) this.linkUp(a, b);
      }
    }
  }

  private broadcast(node: SimNode, channel: number, bytes: Uint8Array): void {
    if (!node.up) return;
    if (this.byz && node.idx === this.byz.node && channel === CONSENSUS) {
      this.byz.intercept(bytes);
      return;
    }
    const info = peek(channel, bytes);
    for (const peer of this.nodes) {
      if (peer !== node && this.connected(node.idx, peer.idx))
        this.transmit({ from: node.idx, to: peer.idx, channel, bytes, info });
    }
  }

  private sendTo(node: SimNode, peer: string, channel: number, bytes: Uint8Array): boolean {
    const to = this.index.get(peer);
    if (to === undefined || !this.connected(node.idx, to)) return false;
    if (this.byz && node.idx === this.byz.node && channel === CONSENSUS) {
      this.byz.intercept(bytes);
      return true;
    }
    this.transmit({ from: node.idx, to, channel, bytes, info: peek(channel, bytes) });
    return true;
  }

  /** A message through the hostile network (or the scenario's rule for it). */
  private transmit(t: Transit): void {
    const s = this.scenario;
    const verdict = s.hooks?.filter?.(t, this);
    if (verdict === 'drop') return;
    if (verdict === 'hold') {
      this.held.push(t);
      return;
    }
    if (typeof verdict === 'number') {
      this.release(t, verdict);
      return;
    }
    if (!this.healed && this.prng.chance(s.dropRate)) return;
    const late =
      !this.healed &&
      (t.info.kind === 'precommit' || t.info.kind === 'response') &&
      this.prng.chance(s.lateRate);
    const slow = late || (!this.healed && this.slow[t.from]?.[t.to]);
    const min = late ? 500 : slow ? 200 : s.minDelay;
    const max = this.healed ? s.maxDelay : late ? 3000 : slow ? 1500 : s.unstableMaxDelay;
    this.release(t, this.prng.int(min, max));
    if (this.prng.chance(s.dupRate)) this.release(t, this.prng.int(min, max));
  }

  /** Deliver `t` after `delay` ms (if its receiver is still the same run of the node then). */
  release(t: Transit, delay: number): void {
    this.at(this.time + delay, { k: 'deliver', ...t, epoch: this.nodes[t.to].epoch });
  }

  // ---- what the checks watch ----

  private onSigned(
    node: SimNode,
    req: SignRequest,
    out: Signed | undefined,
    guard: GuardedSigner,
  ): void {
    if (node.role === 'byzantine') return;
    if (!out) {
      const last = guard.lastSigned;
      if (
        last &&
        last.height === req.height &&
        last.round === req.round &&
        last.step === SIGN_STEP[req.step]
      ) {
        this.fail(
          `${node.name} tried to sign a second, different ${req.step} at ${req.height}/${req.round}`,
        );
      }
      return;
    }
    let slot: string;
    let content: string;
    if (req.step === 'propose') {
      const b = decode(ProposalBodySchema, out.bytes, 'INTERNAL');
      const h = Number(b.height);
      const hash = hex(b.blockHash);
      slot = `${h}/${b.round}/propose`;
      content = `${hash}/${b.polRound}`;
      this.registerProposal(h, b.round, hash);
    } else {
      const b = decode(VoteBodySchema, out.bytes, 'INTERNAL');
      slot = `${b.height}/${b.round}/${b.type === VoteType.PREVOTE ? 'prevote' : 'precommit'}`;
      content = b.blockHash.length ? hex(b.blockHash) : 'nil';
      if (b.round > this.maxRound) this.maxRound = b.round;
    }
    if (!this.keys.profile.verify(node.signer.publicKey, out.bytes, out.signature))
      this.fail(`${node.name}'s guard gave out a bad signature for ${slot}`);
    const before = node.signed.get(slot);
    if (before !== undefined && before !== content) {
      this.fail(`EQUIVOCATION: honest ${node.name} signed ${before} and ${content} at ${slot}`);
    }
    node.signed.set(slot, content);
  }

  private registerProposal(h: number, r: number, hash: string): void {
    this.proposed.add(hash);
    const key = `${h}/${r}`;
    const list = this.proposalsAt.get(key);
    if (!list) this.proposalsAt.set(key, [hash]);
    else if (!list.includes(hash)) list.push(hash);
    if (this.byz?.strategy === 'amnesia' && !this.healed) {
      this.at(this.time + this.prng.int(1, 50), { k: 'attack', again: false });
    }
  }

  private onCommitted(node: SimNode, block: CandidateBlock, commit: Commit): void {
    const h = block.height;
    const hash = hex(block.blockHash);
    const via = node.syncing ? 'sync' : 'consensus';
    this.record(
      () => `${node.name} committed h${h} ${hash.slice(0, 8)} r${commit.round} via ${via}`,
    );
    if (node.role === 'byzantine') return;
    const who = `${node.name} (${via})`;
    const check = verifyCommit(
      this.keys.profile,
      CHAIN_ID,
      this.spec.validatorsAt(h),
      commit,
      h,
      block.blockHash,
    );
    if (!check.ok) this.fail(`${who}: bad commit for height ${h}: ${check.reason}`);
    const first = this.agreed.get(h);
    if (first === undefined) this.agreed.set(h, hash);
    else if (first !== hash) {
      this.fail(
        `AGREEMENT violated at height ${h}: ${node.name} committed ${shortHash(hash)}, ` +
          `another node committed ${shortHash(first)}`,
      );
    }
    const header = decode(HeaderSchema, block.block.header, 'INTERNAL');
    const prev = h === 1 ? hex(this.spec.genesisHash) : this.agreed.get(h - 1);
    if (
      Number(header.height) !== h ||
      !this.proposed.has(hash) ||
      block.block.txs.some((t) => bytesEqual(t, INVALID_TX)) ||
      (prev !== undefined && hex(header.prevHash) !== prev)
    ) {
      this.fail(`VALIDITY violated at height ${h}: ${who} committed ${shortHash(hash)}`);
    }
    for (const ev of block.block.evidence) {
      const c = this.spec.checkEvidence(ev, h);
      if (!c.ok || c.json.validator !== this.byzAddress())
        this.fail(`${who} committed block ${h} with evidence that is not against the byzantine`);
    }
    this.decisions.push({
      node: node.idx,
      height: h,
      round: commit.round,
      value: hash.slice(0, 8),
      via,
      at: this.time,
    });
    this.checkLiveness();
    const s = this.scenario;
    if (via === 'consensus' && !this.healed && this.prng.chance(s.crashOnDecide)) {
      this.at(this.time, { k: 'crash', node: node.idx });
      this.at(Math.min(s.healAt, this.time + this.prng.int(200, 2000)), {
        k: 'restart',
        node: node.idx,
      });
    }
  }

  private onPooled(node: SimNode, ev: EvidenceJson): void {
    if (node.role === 'byzantine') return;
    if (ev.validator !== this.byzAddress())
      this.fail(`${node.name} pooled evidence against honest ${ev.validator}`);
    this.evidence.push({ node: node.idx, validator: ev.validator, at: this.time });
  }

  private byzAddress(): string {
    return this.byz?.address ?? '';
  }

  private byzHost(b: SimNode): ByzHost {
    const sim = this;
    return {
      get prng() {
        return sim.prng;
      },
      get spec() {
        return sim.spec;
      },
      get healed() {
        return sim.healed;
      },
      now: () => EPOCH_MS + sim.time + b.skew,
      peers: () => sim.nodes.filter((n) => n !== b).map((n) => n.idx),
      send: (to, bytes) => {
        if (!sim.connected(b.idx, to)) return;
        sim.transmit({ from: b.idx, to, channel: CONSENSUS, bytes, info: peek(CONSENSUS, bytes) });
      },
      decided: (h) => sim.agreed.get(h),
      proposals: (h, r) => sim.proposalsAt.get(`${h}/${r}`) ?? [],
      blockBytes: (hash) => sim.blocks.get(hash),
      registerProposal: (h, r, hash, bytes) => {
        sim.blocks.set(hash, bytes);
        sim.registerProposal(h, r, hash);
      },
      machineOf: (i) => {
        const n = sim.nodes[i];
        return n.role !== 'byzantine' && n.up ? machineOf(n.services) : undefined;
      },
      chains: () => sim.nodes.map((n) => n.chain),
      machineSet: (h) => sim.machineSet(h),
    };
  }

  // ---- for scenarios and tests ----

  /** Height, round and step of a node's driver ('down' when it is). */
  status(i: number): string {
    const n = this.nodes[i];
    const m = machineOf(n.services);
    if (!n.up || !m) return 'down';
    return `h${m.height} r${m.round} ${m.step}${m.hasDecided ? ' decided' : ''} lock=${m.lockedRound}`;
  }

  /** The state machine of node i while it is up. */
  machine(i: number): TendermintMachine | undefined {
    return this.nodes[i].up ? machineOf(this.nodes[i].services) : undefined;
  }

  /** Node i's committed height. */
  height(i: number): number {
    return this.nodes[i].chain.height;
  }

  /** The last height/round/step node i's guard signed. */
  lastSigned(i: number): { height: number; round: number; step: number } | undefined {
    const last = this.nodes[i].signerState.last;
    return last && { height: last.height, round: last.round, step: last.step };
  }

  /** Node i's chain (its disk). */
  chain(i: number): SimChain {
    return this.nodes[i].chain;
  }

  /** Leave a note in the trace. */
  note(text: string): void {
    this.record(() => text);
  }

  // ---- failure reporting ----

  private record(text: () => string): void {
    const entry = { at: this.time, text };
    if (this.trace.length < TRACE_SIZE) this.trace.push(entry);
    else this.trace[this.traceNext] = entry;
    this.traceNext = (this.traceNext + 1) % TRACE_SIZE;
  }

  fail(reason: string): never {
    if (this.failure) throw this.failure;
    const s = this.scenario;
    const tail = [...this.trace.slice(this.traceNext), ...this.trace.slice(0, this.traceNext)].map(
      (e) => `  ${String(e.at).padStart(7)}ms ${e.text()}`,
    );
    const nodes = this.nodes.map(
      (n) =>
        `  ${n.name} ${n.address.slice(0, 8)} ${n.role}: committed=${n.chain.height} ${this.status(n.idx)}`,
    );
    this.failure = new SimFailure(
      [
        `tbft sim "${s.name}" failed at ${this.time}ms (seed ${s.seed}): ${reason}`,
        s.name === `random seed ${s.seed}`
          ? `replay: SIM_SEED=${s.seed} node --import tsx --test test/sim/tbft-sim.test.ts`
          : `replay: node --import tsx --test --test-name-pattern='...' test/sim/scenarios.test.ts (scenario "${s.name}")`,
        `powers=${s.powers.join(',')} byzantine=${s.byzantine}(${s.byzStrategy}) ` +
          `observers=${s.observers} heal=${s.healAt} drop=${s.dropRate.toFixed(2)} walLoss=${s.walLoss}`,
        'nodes:',
        ...nodes,
        `last ${tail.length} events:`,
        ...tail,
      ].join('\n'),
    );
    throw this.failure;
  }
}

function jsonBigint(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return String(v);
  if (v instanceof Uint8Array) return shortHash(v);
  return v;
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
  const healAt = prng.int(5000, 20000);
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
  const skewed = prng.chance(0.2) ? prng.pick(honest) : -1;
  return {
    name: `random seed ${seed}`,
    seed,
    powers,
    powersEven,
    byzantine,
    observers,
    timeouts: { proposeMs: 300, voteMs: 150, deltaMs: 50 },
    blockIntervalMs: prng.int(10, 150),
    skew: skewed >= 0 ? [{ node: skewed, ms: prng.int(-2000, 2000) }] : undefined,
    minDelay: 2,
    maxDelay: prng.int(10, 60),
    unstableMaxDelay: prng.int(50, 600),
    slowLinks: prng.chance(0.7) ? prng.next() * 0.4 : 0,
    lateRate: prng.chance(0.6) ? prng.next() * 0.6 : 0,
    dropRate: prng.chance(0.3) ? 0 : prng.next() * 0.35,
    dupRate: prng.next() * 0.1,
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
