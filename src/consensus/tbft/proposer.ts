/**
 * Weighted proposer rotation: CometBFT's proposer-priority algorithm (types/validator_set.go).
 *
 * CometBFT carries priorities from height to height in the state. We want a pure function of
 * (validator set, height, round) instead, so that any node (a restarted one, a light client, a
 * test) gets the same answer without history. We start from all-zero priorities and run the
 * algorithm; the proposer of (height, round) is the one picked by iteration
 * `(height + round) mod P + 1`, where P is the total voting power. From all-zero priorities the
 * sequence is periodic with period P (after P iterations every validator has been picked exactly
 * `power` times and all priorities are zero again; test/consensus/proposer.test.ts checks this),
 * so the modulo changes nothing but the cost. Consecutive heights at round 0 therefore walk the
 * weighted sequence, and each further round moves one step along it.
 */
import type { ValidatorSet } from './types.ts';

/** CometBFT's PriorityWindowSizeFactor: priorities are kept within 2 * total power. */
const PRIORITY_WINDOW_FACTOR = 2;
/** A checkpoint of the priorities is kept every STRIDE iterations, bounding one lookup's work. */
const STRIDE = 4096;
/** Validator sets whose checkpoints are kept (a chain uses one or two at a time). */
const CACHE_SETS = 8;

interface Member {
  address: string;
  power: number;
}

/** Check a validator set and return its members sorted by address, with the total power. */
export function normalizeValidators(set: ValidatorSet): { members: Member[]; total: number } {
  if (!set || !Array.isArray(set.validators) || set.validators.length === 0) {
    throw new Error('validator set is empty');
  }
  const seen = new Set<string>();
  let total = 0;
  for (const v of set.validators) {
    if (typeof v.address !== 'string' || v.address === '') {
      throw new Error('validator address must be a non-empty string');
    }
    if (seen.has(v.address)) throw new Error(`duplicate validator ${v.address}`);
    seen.add(v.address);
    if (!Number.isSafeInteger(v.power) || v.power <= 0) {
      throw new Error(`validator ${v.address} has invalid power ${v.power}`);
    }
    total += v.power;
  }
  // 3 * total must stay exact for the quorum arithmetic (3 * power > 2 * total).
  if (total > Math.floor(Number.MAX_SAFE_INTEGER / 3)) throw new Error('total power too large');
  const members = set.validators
    .map((v) => ({ address: v.address, power: v.power }))
    .sort((a, b) => cmp(a.address, b.address));
  return { members, total };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Mutable proposer priorities of one validator set, advanced exactly as CometBFT does. */
export class ProposerPriorities {
  readonly members: readonly Member[];
  readonly total: number;
  /** Priorities in the order of `members` (sorted by address). */
  readonly priorities: number[];

  constructor(set: ValidatorSet, priorities?: readonly number[]) {
    const { members, total } = normalizeValidators(set);
    this.members = members;
    this.total = total;
    this.priorities = priorities ? [...priorities] : members.map(() => 0);
    if (this.priorities.length !== members.length) throw new Error('priorities length mismatch');
  }

  /** IncrementProposerPriority(times): rescale, centre, then `times` rotation steps. */
  increment(times: number): string {
    if (!Number.isSafeInteger(times) || times <= 0) throw new Error('times must be positive');
    this.rescale(PRIORITY_WINDOW_FACTOR * this.total);
    this.shiftByAverage();
    let picked = '';
    for (let i = 0; i < times; i++) picked = this.step();
    return picked;
  }

  /** The validator that the next step would pick, without changing anything. */
  peek(): string {
    return this.members[this.argmax(true)].address;
  }

  /** One rotation step: everyone gains its power, the highest pays the total. */
  step(): string {
    const p = this.priorities;
    for (let i = 0; i < p.length; i++) p[i] += this.members[i].power;
    const best = this.argmax(false);
    p[best] -= this.total;
    return this.members[best].address;
  }

  /** Highest priority (optionally after adding each power), ties to the smaller address. */
  private argmax(withPower: boolean): number {
    const p = this.priorities;
    let best = 0;
    let bestValue = p[0] + (withPower ? this.members[0].power : 0);
    for (let i = 1; i < p.length; i++) {
      const value = p[i] + (withPower ? this.members[i].power : 0);
      // Members are sorted by address, so keeping the first maximum breaks ties by address.
      if (value > bestValue) {
        best = i;
        bestValue = value;
      }
    }
    return best;
  }

  /** RescalePriorities: divide (truncating, as Go does) when max - min exceeds the window. */
  private rescale(diffMax: number): void {
    const p = this.priorities;
    const diff = Math.max(...p) - Math.min(...p);
    if (diff > diffMax) {
      const ratio = Math.floor((diff + diffMax - 1) / diffMax);
      for (let i = 0; i < p.length; i++) p[i] = Math.trunc(p[i] / ratio);
    }
  }

  /** shiftByAvgProposerPriority: subtract the floored average (big.Int Div rounds down). */
  private shiftByAverage(): void {
    const p = this.priorities;
    let sum = 0n;
    for (const x of p) sum += BigInt(x);
    const n = BigInt(p.length);
    let avg = sum / n;
    if (sum % n !== 0n && sum < 0n) avg -= 1n;
    const shift = Number(avg);
    if (shift !== 0) for (let i = 0; i < p.length; i++) p[i] -= shift;
  }
}

interface SetCache {
  /** Priorities after `i * STRIDE` iterations from zero, for i = 0, 1, ... */
  checkpoints: number[][];
  last: { index: number; priorities: number[] };
}

const caches = new Map<string, SetCache>();

function setKey(members: readonly Member[]): string {
  return members.map((m) => `${m.address}:${m.power}`).join(',');
}

/** Priorities after `index` iterations from all-zero priorities (cached, pure in effect). */
function prioritiesAt(set: ValidatorSet, index: number): ProposerPriorities {
  const fresh = new ProposerPriorities(set);
  const key = setKey(fresh.members);
  let cache = caches.get(key);
  if (!cache) {
    cache = { checkpoints: [fresh.priorities.slice()], last: { index: 0, priorities: [] } };
    cache.last.priorities = fresh.priorities.slice();
    if (caches.size >= CACHE_SETS) caches.delete(caches.keys().next().value as string);
    caches.set(key, cache);
  }
  // Resume from the closest known state at or before `index`.
  const cp = Math.min(Math.floor(index / STRIDE), cache.checkpoints.length - 1);
  let from = cp * STRIDE;
  let start = cache.checkpoints[cp];
  if (cache.last.index <= index && cache.last.index > from) {
    from = cache.last.index;
    start = cache.last.priorities;
  }
  const state = new ProposerPriorities(set, start);
  for (let i = from; i < index; i++) {
    state.step();
    const done = i + 1;
    if (done % STRIDE === 0 && done / STRIDE === cache.checkpoints.length) {
      cache.checkpoints.push(state.priorities.slice());
    }
  }
  cache.last = { index, priorities: state.priorities.slice() };
  return state;
}

/** The proposer of (height, round): a pure function of the set, the height and the round. */
export function proposer(set: ValidatorSet, height: number, round: number): string {
  if (!Number.isSafeInteger(height) || height < 0) throw new Error(`bad height ${height}`);
  if (!Number.isSafeInteger(round) || round < 0) throw new Error(`bad round ${round}`);
  const { total } = normalizeValidators(set);
  const index = ((height % total) + (round % total)) % total;
  return prioritiesAt(set, index).peek();
}
