/**
 * What every page shares. Outside (the shell): the network layout (from the console server),
 * every node's last status, the chains they host, the chosen chain and the nodes that host
 * it. Inside (one chosen chain on one of its nodes): the node the user reads from, that
 * chain's config there, and one live block feed (kept across page changes).
 */
import {
  createContext,
  type ReactNode,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
} from 'react';
import {
  type ChainConfigJson,
  type ConsoleIdentity,
  chainPrefix,
  type NetworkJson,
  operator,
  Rpc,
} from './api.ts';
import { addressOf } from './chain.ts';
import {
  type ChainChoice,
  chainChoices,
  discovered,
  type NodeInfo,
  type NodeView,
  NodeWatch,
} from './chains.ts';
import { BlockFeed, type FeedSnapshot } from './feed.ts';
import { chainInUrl, setChainInUrl } from './router.ts';
import { type Async, useAsync } from './ui.tsx';

export interface ShellCtx {
  network: NetworkJson;
  /** Every node's last answer, polled by `watch`. */
  views: Map<string, NodeView>;
  watch: NodeWatch;
  /** The chains the network's nodes host, the network's first chain first. */
  chains: ChainChoice[];
  /** The chosen chain (no hosts while no node is known to host it). */
  chain: ChainChoice;
  setChain: (id: string) => void;
  /** The nodes that host the chosen chain: the only ones pages ask about it. */
  hosts: NodeInfo[];
  /** The node pages read from: the user's pick when it hosts the chain, else its first host. */
  node: NodeInfo | undefined;
  setNode: (name: string) => void;
  /** Every node answered (or failed to) once: a chain no node lists is hosted by none. */
  found: boolean;
}

export interface Ctx extends ShellCtx {
  node: NodeInfo;
  /** The chosen chain's RPC on `node`. */
  rpc: Rpc;
  /** The chosen chain's crypto profile (proof checks, addresses). */
  crypto: 'standard' | 'gm';
  config: Async<ChainConfigJson>;
  identities: Async<ConsoleIdentity[]>;
  feed: BlockFeed;
  /** validator address (hex) -> validator name, for proposer and commit signatures. */
  validatorNames: Map<string, string>;
}

const Shell = createContext<ShellCtx | null>(null);
const Context = createContext<Ctx | null>(null);

export function useShell(): ShellCtx {
  const c = useContext(Shell);
  if (!c) throw new Error('useShell outside the provider');
  return c;
}

export function useCtx(): Ctx {
  const c = useContext(Context);
  if (!c) throw new Error('useCtx outside the chain scope');
  return c;
}

export function useFeed(): FeedSnapshot {
  const { feed } = useCtx();
  return useSyncExternalStore(feed.subscribe, feed.getSnapshot);
}

const NODE_KEY = 'archi-console-node';
const CHAIN_KEY = 'archi-console-chain';

function stored(key: string): string | undefined {
  try {
    return localStorage.getItem(key) ?? undefined;
  } catch {
    return undefined;
  }
}

function store(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // storage refused (private mode, quota): the URL still holds the choice
  }
}

/** The network, its nodes' chains and the chosen chain (URL first, then local storage). */
export function Provider({ network, children }: { network: NetworkJson; children: ReactNode }) {
  const [choice, setChoice] = useState(() => {
    const inUrl = chainInUrl();
    return inUrl
      ? { id: inUrl, remembered: false }
      : { id: stored(CHAIN_KEY) ?? network.chain, remembered: true };
  });
  const [watch] = useState(() => new NodeWatch(network.nodes, choice.id));
  useEffect(() => () => watch.close(), [watch]);
  useEffect(() => watch.setChain(choice.id), [watch, choice.id]);
  const views = useSyncExternalStore(watch.subscribe, watch.getSnapshot);
  const chains = useMemo(() => chainChoices(network.chain, network.nodes, views), [network, views]);
  const found = discovered(network.nodes, views);
  const chain = chains.find((c) => c.id === choice.id) ?? { id: choice.id, hosts: [] };

  // The URL always names the chain shown, so a copied link opens it; back and forward too.
  useEffect(() => setChainInUrl(choice.id, false), [choice.id]);
  useEffect(() => {
    const on = () => {
      const id = chainInUrl() ?? network.chain;
      setChoice((c) => (c.id === id ? c : { id, remembered: false }));
    };
    window.addEventListener('popstate', on);
    return () => window.removeEventListener('popstate', on);
  }, [network.chain]);
  // A chain remembered from an earlier visit that no node hosts any more: the first chain.
  useEffect(() => {
    if (found && choice.remembered && chain.hosts.length === 0 && choice.id !== network.chain) {
      setChoice({ id: network.chain, remembered: false });
    }
  }, [found, choice, chain.hosts.length, network.chain]);

  const [nodeName, setNodeName] = useState(() => stored(NODE_KEY));
  const hosts = network.nodes.filter((n) => chain.hosts.includes(n.name));
  const node = hosts.find((n) => n.name === nodeName) ?? hosts[0];

  const value: ShellCtx = {
    network,
    views,
    watch,
    chains,
    chain,
    setChain: (id) => {
      if (id === choice.id) return;
      store(CHAIN_KEY, id);
      setChainInUrl(id, true);
      setChoice({ id, remembered: false });
    },
    hosts,
    node,
    setNode: (name) => {
      store(NODE_KEY, name);
      setNodeName(name);
    },
    found,
  };
  return <Shell.Provider value={value}>{children}</Shell.Provider>;
}

/** One chain on one of its nodes: its RPC, config and block feed (remount it per chain). */
export function ChainScope({ node, children }: { node: NodeInfo; children: ReactNode }) {
  const shell = useShell();
  const { network, chain, views } = shell;
  // The node's first chain keeps the plain /v1 paths; any other is under /v1/chains/<id>.
  const first = views.get(node.name)?.chains?.[0]?.id ?? network.chain;
  const prefix = chainPrefix(chain.id, first);
  const rpc = useMemo(() => new Rpc(node.rpc, prefix), [node.rpc, prefix]);
  const [feed, setFeed] = useState(() => new BlockFeed(rpc));
  useEffect(() => {
    if (feed.url !== rpc.base) setFeed(new BlockFeed(rpc));
  }, [rpc, feed]);
  useEffect(() => () => feed.close(), [feed]);
  const config = useAsync(() => rpc.config(), [rpc]);
  const identities = useAsync(() => operator.identities(chain.id), [chain.id]);
  const crypto = chain.crypto ?? config.data?.crypto ?? network.crypto;
  const validatorNames = useMemo(() => {
    const m = new Map<string, string>();
    for (const v of config.data?.validators ?? []) {
      try {
        m.set(addressOf(config.data!.crypto, v.publicKey), v.name);
      } catch {
        // a key we cannot hash shows as its address only
      }
    }
    return m;
  }, [config.data]);
  const value: Ctx = {
    ...shell,
    node,
    rpc,
    crypto,
    config,
    identities,
    feed,
    validatorNames,
  };
  return <Context.Provider value={value}>{children}</Context.Provider>;
}
