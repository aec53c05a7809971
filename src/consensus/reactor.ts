/**
 * Reactors, as in CometBFT: each service of a chain on the node (consensus, block sync,
 * evidence, mempool gossip) owns its p2p channels and message types. The router hands each
 * message to the one reactor that owns its channel, so no service parses another's traffic.
 */
import type { Channel } from '../p2p/frame.ts';

/** What a reactor needs of the network: broadcast to connected peers, or send to one. */
export interface ConsensusNet {
  broadcast(channel: Channel, bytes: Uint8Array): void;
  /** False when the message was not queued (peer gone or its queue full). */
  send(peer: string, channel: Channel, bytes: Uint8Array): boolean;
}

export interface ReactorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** One service of a chain that speaks on its own p2p channels. */
export interface Reactor {
  readonly name: string;
  /** The channels this reactor alone sends on and reads. */
  readonly channels: readonly Channel[];
  start(): void;
  stop(): void;
  /** A message on one of this reactor's channels; may throw on bad input (the router logs it). */
  receive(peer: string, channel: Channel, bytes: Uint8Array): void;
  /** A peer (re)connected. */
  peerUp?(peer: string): void;
}

/** Dispatches a chain's messages to the reactor that owns their channel. */
export class ReactorRouter {
  private readonly byChannel = new Map<number, Reactor>();

  constructor(
    readonly reactors: readonly Reactor[],
    private readonly log: ReactorLogger,
  ) {
    for (const r of reactors) {
      for (const c of r.channels) {
        const owner = this.byChannel.get(c);
        if (owner) throw new Error(`channel ${c} claimed by ${owner.name} and ${r.name}`);
        this.byChannel.set(c, r);
      }
    }
  }

  /** Start every reactor, in the order given. */
  start(): void {
    for (const r of this.reactors) r.start();
  }

  /** Stop every reactor, in reverse order. */
  stop(): void {
    for (const r of [...this.reactors].reverse()) r.stop();
  }

  /** Bytes from a peer; never throws, whatever the peer sent. */
  receive(peer: string, channel: number, bytes: Uint8Array): void {
    const r = this.byChannel.get(channel);
    if (!r) return;
    try {
      r.receive(peer, channel as Channel, bytes);
    } catch (e) {
      this.log.debug(
        { peer, channel, reactor: r.name, err: (e as Error).message },
        'dropped a bad message',
      );
    }
  }

  /** A peer connected: every reactor may greet it. */
  peerUp(peer: string): void {
    for (const r of this.reactors) {
      try {
        r.peerUp?.(peer);
      } catch (e) {
        this.log.warn({ peer, reactor: r.name, err: (e as Error).message }, 'peer greeting failed');
      }
    }
  }
}
