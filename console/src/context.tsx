/**
 * What every page shares: the network layout (from the console server), the node the user
 * reads from, that node's chain config, and one live block feed (kept across page changes).
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
  type NetworkJson,
  operator,
  Rpc,
} from './api.ts';
import { addressOf } from './chain.ts';
import { BlockFeed, type FeedSnapshot } from './feed.ts';
import { type Async, useAsync } from './ui.tsx';

export interface Ctx {
  network: NetworkJson;
  node: NetworkJson['nodes'][number];
  setNode: (name: string) => void;
  rpc: Rpc;
  config: Async<ChainConfigJson>;
  identities: Async<ConsoleIdentity[]>;
  feed: BlockFeed;
  /** validator address (hex) -> validator name, for proposer and commit signatures. */
  validatorNames: Map<string, string>;
}

const Context = createContext<Ctx | null>(null);

export function useCtx(): Ctx {
  const c = useContext(Context);
  if (!c) throw new Error('useCtx outside the provider');
  return c;
}

export function useFeed(): FeedSnapshot {
  const { feed } = useCtx();
  return useSyncExternalStore(feed.subscribe, feed.getSnapshot);
}

const NODE_KEY = 'archi-console-node';

export function Provider({ network, children }: { network: NetworkJson; children: ReactNode }) {
  const [nodeName, setNodeName] = useState(() => {
    const saved = localStorage.getItem(NODE_KEY);
    return network.nodes.some((n) => n.name === saved) ? saved! : network.nodes[0].name;
  });
  const node = network.nodes.find((n) => n.name === nodeName) ?? network.nodes[0];
  const rpc = useMemo(() => new Rpc(node.rpc), [node.rpc]);
  const [feed, setFeed] = useState(() => new BlockFeed(node.rpc));
  useEffect(() => {
    if (feed.url === node.rpc) return;
    feed.close();
    setFeed(new BlockFeed(node.rpc));
  }, [node.rpc, feed]);
  const config = useAsync(() => rpc.config(), [rpc]);
  const identities = useAsync(() => operator.identities(), []);
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
    network,
    node,
    setNode: (name) => {
      localStorage.setItem(NODE_KEY, name);
      setNodeName(name);
    },
    rpc,
    config,
    identities,
    feed,
    validatorNames,
  };
  return <Context.Provider value={value}>{children}</Context.Provider>;
}
