/**
 * Time as consensus and the reactors see it. Every timer and clock reading of the driver and
 * the reactors goes through a Clock, so the deterministic simulator can run them on simulated
 * time, and a test can skew one node's clock without touching the machine's.
 */

/** A scheduled callback; cancel() is a no-op once it has run. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): Timer;
}

/** The machine's clock and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** `base` read `offsetMs` ahead (or behind, when negative); timers are unchanged. */
export function offsetClock(base: Clock, offsetMs: number): Clock {
  if (offsetMs === 0) return base;
  return { now: () => base.now() + offsetMs, setTimeout: (fn, ms) => base.setTimeout(fn, ms) };
}

/** Runs `fn` every `ms` milliseconds until the returned timer is cancelled. */
export function every(clock: Clock, ms: number, fn: () => void): Timer {
  let current: Timer;
  let cancelled = false;
  const arm = (): void => {
    current = clock.setTimeout(() => {
      if (cancelled) return;
      arm();
      fn();
    }, ms);
  };
  arm();
  return {
    cancel() {
      cancelled = true;
      current.cancel();
    },
  };
}
