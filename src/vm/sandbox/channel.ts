/**
 * A synchronous message channel between the main thread and the sandbox thread over one
 * SharedArrayBuffer. Control strictly alternates: the side that sends gives the turn to the
 * other and then waits (Atomics.wait) until the turn comes back, so at most one side runs
 * at a time and a call into the sandbox looks synchronous to the executor.
 */
const TURN = 0;
const LENGTH = 1;
const HEADER_BYTES = 16;

/** Whose turn it is to read. */
export const Turn = { idle: 0, worker: 1, main: 2, dead: 3 } as const;
type Side = typeof Turn.worker | typeof Turn.main;

/**
 * Busy-wait rounds before a receiver sleeps: adapted per channel side between these bounds
 * (about twice the wait it last saw answered while spinning, halved when it had to sleep).
 * On a quiet machine the other thread answers within microseconds and spinning saves the
 * cost of waking; on a loaded one (several nodes on two cores) the other thread is often
 * not running at all, and each spin would only burn the core it needs.
 */
const SPINS_MIN = 64;
const SPINS_MAX = 20_000;

/** Size of the channel buffer; a message must fit in it. */
export const CHANNEL_BYTES = 8 * 1024 * 1024;

export class ChannelError extends Error {
  constructor(
    message: string,
    readonly reason: 'dead' | 'timeout' | 'too-large',
  ) {
    super(message);
    this.name = 'ChannelError';
  }
}

export class Channel {
  private readonly ctrl: Int32Array;
  private readonly data: Buffer;
  private readonly other: Side;
  private spins = SPINS_MAX;

  constructor(
    readonly sab: SharedArrayBuffer,
    private readonly me: Side,
  ) {
    this.ctrl = new Int32Array(sab, 0, 4);
    this.data = Buffer.from(sab, HEADER_BYTES, sab.byteLength - HEADER_BYTES);
    this.other = me === Turn.main ? Turn.worker : Turn.main;
  }

  static create(): SharedArrayBuffer {
    return new SharedArrayBuffer(CHANNEL_BYTES + HEADER_BYTES);
  }

  /** Write a message and hand the turn to the other side. */
  send(msg: unknown): void {
    const text = JSON.stringify(msg);
    const bytes = Buffer.byteLength(text);
    if (bytes > this.data.length) {
      throw new ChannelError(
        `sandbox message of ${bytes} bytes exceeds the channel (${this.data.length})`,
        'too-large',
      );
    }
    this.data.write(text, 0, 'utf8');
    this.ctrl[LENGTH] = bytes;
    Atomics.store(this.ctrl, TURN, this.other);
    Atomics.notify(this.ctrl, TURN);
  }

  /** Wait for the turn and read the other side's message. */
  recv(timeoutMs = Number.POSITIVE_INFINITY): any {
    // Most answers come within microseconds: spin briefly before sleeping, since waking a
    // sleeping thread costs far more than a host call itself.
    let i = 0;
    while (i < this.spins && Atomics.load(this.ctrl, TURN) !== this.me) i++;
    this.spins =
      i < this.spins
        ? Math.min(SPINS_MAX, Math.max(SPINS_MIN, 2 * i))
        : Math.max(SPINS_MIN, this.spins >> 1);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const t = Atomics.load(this.ctrl, TURN);
      if (t === this.me) break;
      if (t === Turn.dead) throw new ChannelError('the sandbox thread stopped', 'dead');
      const left = deadline - Date.now();
      if (left <= 0) throw new ChannelError(`no answer within ${timeoutMs} ms`, 'timeout');
      Atomics.wait(this.ctrl, TURN, t, Math.min(left, 1000));
    }
    return JSON.parse(this.data.toString('utf8', 0, this.ctrl[LENGTH]));
  }

  /** Whether a message waits for this side (recv would not block). */
  hasTurn(): boolean {
    return Atomics.load(this.ctrl, TURN) === this.me;
  }

  /** Mark the channel dead (the worker is going away) and wake the other side. */
  kill(): void {
    Atomics.store(this.ctrl, TURN, Turn.dead);
    Atomics.notify(this.ctrl, TURN);
  }
}
