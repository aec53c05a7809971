/**
 * Wakes the relayer when a chain commits a block: a packet sent, received or acked is
 * relayable from the block that commits it, and waiting for the next poll would add up to a
 * poll interval to each leg of a relay. The WebSocket `blocks` subscription of one of the
 * chain's nodes; when it closes or cannot be made it is tried again (with the endpoint's node
 * rotation and backoff) and the relayer's interval poll covers the gap.
 */
import type { Logger } from 'pino';
import type { ChainEndpoint } from './endpoint.ts';

/** How long after a lost or refused subscription it is tried again. */
const RESUBSCRIBE_MS = 1000;

export class BlockTrigger {
  private unsubscribe?: () => void;
  private retry?: NodeJS.Timeout;
  private stopped = false;
  private subscribed = false;

  constructor(
    private readonly ep: ChainEndpoint,
    private readonly onBlock: (height: number) => void,
    private readonly log: Logger,
  ) {}

  /** Subscribe now (and again whenever the subscription is lost) until stop(). */
  start(): void {
    void this.subscribe();
  }

  private async subscribe(): Promise<void> {
    if (this.stopped) return;
    // While the endpoint backs off (no node answers), so does the subscription.
    if (!this.ep.ready()) {
      this.later();
      return;
    }
    try {
      const off = await this.ep.call((c) =>
        c.subscribe('blocks', {}, (b) => this.onBlock(b.height), {
          onClose: () => this.lost('closed'),
          onError: (e) =>
            this.log.debug({ chain: this.ep.chainId, err: e.message }, 'block subscription error'),
        }),
      );
      if (this.stopped) {
        off();
        return;
      }
      this.unsubscribe = off;
      if (!this.subscribed) {
        this.subscribed = true;
        this.log.debug({ chain: this.ep.chainId }, 'following new blocks');
      }
    } catch (e) {
      this.lost((e as Error)?.message ?? String(e));
    }
  }

  private lost(why: string): void {
    this.unsubscribe = undefined;
    if (this.stopped) return;
    if (this.subscribed) {
      this.subscribed = false;
      this.log.debug({ chain: this.ep.chainId, why }, 'block subscription lost; polling meanwhile');
    }
    this.later();
  }

  private later(): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.subscribe(), RESUBSCRIBE_MS);
  }

  /** End the subscription and every retry. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
