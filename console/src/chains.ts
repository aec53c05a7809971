/**
 * Which node hosts which chain (docs/RPC.md: a node may host several; `/v1/...` means its
 * first): one watch polls every node's status, of the chosen chain where the node hosts it,
 * else of its first chain, whose `chains` list tells what else it hosts. A node that does not
 * host the chosen chain is never asked about it, so it never answers CHAIN_NOT_FOUND.
 */
import {
  ApiError,
  type ChainSummaryJson,
  chainPrefix,
  type NetworkJson,
  Rpc,
  type StatusJson,
} from './api.ts';

export type NodeInfo = NetworkJson['nodes'][number];

/** What the console last heard from one node. */
export interface NodeView {
  /** Status of the chosen chain on this node; set only while the node hosts it. */
  status?: StatusJson;
  /** Every chain the node hosts, its first chain first (the last known, when it is down). */
  chains?: ChainSummaryJson[];
  /** Why the node did not answer its last poll (down, unreachable, too slow). */
  error?: string;
  checkedAt: number;
}

/** One chain the switcher offers. */
export interface ChainChoice {
  id: string;
  crypto?: 'standard' | 'gm';
  consensus?: string;
  /** Names of the nodes that host it, in network.json's order. */
  hosts: string[];
}

/** The chains a status lists: its `chains`, or (a node from before many chains) its own chain. */
export function chainsOf(st: StatusJson): ChainSummaryJson[] {
  if (Array.isArray(st.chains) && st.chains.length > 0) return st.chains;
  return [
    {
      id: st.chainId,
      height: st.height,
      hash: st.hash,
      stateRoot: st.stateRoot,
      round: st.round,
      validator: st.validator,
      crypto: st.crypto,
      consensus: st.consensus,
    },
  ];
}

/**
 * Whether `view`'s node hosts `chain`. Until a node answers, it is taken to host the
 * network's first chain (network.json lists it as one of that chain's nodes) and no other.
 */
export function nodeHosts(view: NodeView | undefined, chain: string, firstChain: string): boolean {
  if (!view?.chains) return chain === firstChain;
  return view.chains.some((c) => c.id === chain);
}

/** The chains the nodes host: the network's first chain first, then as the nodes list them. */
export function chainChoices(
  firstChain: string,
  nodes: NodeInfo[],
  views: Map<string, NodeView>,
): ChainChoice[] {
  const byId = new Map<string, ChainChoice>([[firstChain, { id: firstChain, hosts: [] }]]);
  for (const n of nodes) {
    for (const c of views.get(n.name)?.chains ?? []) {
      const choice = byId.get(c.id) ?? { id: c.id, hosts: [] };
      choice.crypto ??= c.crypto;
      choice.consensus ??= c.consensus;
      byId.set(c.id, choice);
    }
  }
  for (const choice of byId.values()) {
    choice.hosts = nodes
      .filter((n) => nodeHosts(views.get(n.name), choice.id, firstChain))
      .map((n) => n.name);
  }
  return [...byId.values()];
}

/** Every node answered (or failed to) at least once, so the list of chains is whole. */
export function discovered(nodes: NodeInfo[], views: Map<string, NodeView>): boolean {
  return nodes.every((n) => views.has(n.name));
}

const SLOW_MS = 15_000;
const FAST_MS = 2000;
const STATUS_TIMEOUT_MS = 4000;

/**
 * Polls every node of the network: every 15 s, or every 2 s while a page that shows the
 * nodes live holds `hurry()`. One request a node a poll (two on the first poll after the
 * chosen chain changes, when the node turns out to host it besides its first chain).
 */
export class NodeWatch {
  private snap = new Map<string, NodeView>();
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private again = false;
  private closed = false;
  private fast = 0;

  constructor(
    readonly nodes: NodeInfo[],
    private chain: string,
  ) {
    void this.poll();
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): Map<string, NodeView> => this.snap;

  /** Follow another chain: statuses of the old one are dropped and every node asked now. */
  setChain(chain: string): void {
    if (chain === this.chain) return;
    this.chain = chain;
    this.snap = new Map(
      [...this.snap].map(([name, v]) => [name, { ...v, status: undefined }] as const),
    );
    this.emit();
    this.kick();
  }

  /** Poll every 2 s until the returned function is called. */
  hurry(): () => void {
    this.fast++;
    this.kick();
    let done = false;
    return () => {
      if (!done) this.fast--;
      done = true;
    };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private emit(): void {
    for (const fn of this.listeners) fn();
  }

  private kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    void this.poll();
  }

  private async poll(): Promise<void> {
    this.running = true;
    const chain = this.chain;
    const results = await Promise.all(
      this.nodes.map((n) => this.look(n, chain, this.snap.get(n.name))),
    );
    this.running = false;
    if (this.closed) return;
    if (chain === this.chain) {
      this.snap = new Map(results);
      this.emit();
    } else {
      this.again = true;
    }
    if (this.again) {
      this.again = false;
      void this.poll();
      return;
    }
    this.timer = setTimeout(() => void this.poll(), this.fast > 0 ? FAST_MS : SLOW_MS);
  }

  /** One node's status of `chain` where it hosts it, else of its first chain. */
  private async look(
    n: NodeInfo,
    chain: string,
    prev: NodeView | undefined,
    retried = false,
  ): Promise<[string, NodeView]> {
    const known = prev?.chains;
    const hosts = known?.some((c) => c.id === chain) ?? false;
    try {
      const st = await new Rpc(n.rpc, hosts ? chainPrefix(chain, known![0].id) : '/v1').status(
        STATUS_TIMEOUT_MS,
      );
      let chains = chainsOf(st);
      let status = st.chainId === chain ? st : undefined;
      if (!status && chains.some((c) => c.id === chain)) {
        const scoped = await new Rpc(n.rpc, chainPrefix(chain, chains[0].id)).status(
          STATUS_TIMEOUT_MS,
        );
        status = scoped;
        chains = chainsOf(scoped);
      }
      return [n.name, { status, chains, checkedAt: Date.now() }];
    } catch (e) {
      // The node left the chain since the last poll: ask it what it hosts now.
      if (e instanceof ApiError && e.code === 'CHAIN_NOT_FOUND' && !retried) {
        const rest = known?.filter((c) => c.id !== chain);
        return this.look(n, chain, { chains: rest, checkedAt: 0 }, true);
      }
      return [n.name, { chains: known, error: (e as Error).message, checkedAt: Date.now() }];
    }
  }
}
