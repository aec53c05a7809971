/**
 * Simulated time for one run of a node: readings are the event queue's time plus the node's
 * skew, and a timer is an event on the queue. A crash ends the run (its epoch), so the timers
 * it armed never fire, as a process's timers die with it.
 */
import type { Clock, Timer } from '../../src/consensus/clock.ts';

/** The simulator's epoch: simulated time 0 reads as this many ms since 1970. */
export const EPOCH_MS = 1_700_000_000_000;

export interface TimerEvent {
  k: 'timer';
  node: number;
  epoch: number;
  fn: () => void;
  cancelled: boolean;
}

/** Where timers go: the simulation's event queue. */
export interface TimerHost {
  /** Simulated ms since the start of the run. */
  readonly time: number;
  addTimer(at: number, ev: TimerEvent): void;
}

export class SimClock implements Clock {
  constructor(
    private readonly host: TimerHost,
    private readonly node: number,
    private readonly epoch: number,
    /** This node's clock is this many ms ahead (negative: behind). */
    private readonly skewMs = 0,
  ) {}

  now(): number {
    return EPOCH_MS + this.host.time + this.skewMs;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const ev: TimerEvent = { k: 'timer', node: this.node, epoch: this.epoch, fn, cancelled: false };
    this.host.addTimer(this.host.time + Math.max(0, Math.ceil(ms)), ev);
    return {
      cancel() {
        ev.cancelled = true;
      },
    };
  }
}
