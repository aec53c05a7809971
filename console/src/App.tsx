/**
 * Shell: loads the network layout, then the navigation, the chain switcher, the node picker
 * and the current page (of the chosen chain, read from a node that hosts it).
 */
import type { ReactNode } from 'react';
import { ChainPicker, NoHost } from './ChainPicker.tsx';
import { operator } from './api.ts';
import { ChainScope, Provider, useFeed, useShell } from './context.tsx';
import { BlockDetail, BlocksPage } from './pages/Blocks.tsx';
import { CbdcPage } from './pages/Cbdc.tsx';
import { ContractsPage } from './pages/Contracts.tsx';
import { DatasharePage } from './pages/Datashare.tsx';
import { GatewayPage } from './pages/Gateway.tsx';
import { GovernancePage } from './pages/Governance.tsx';
import { IdcodePage } from './pages/Idcode.tsx';
import { InterchainPage } from './pages/Interchain.tsx';
import { BridgePage } from './pages/Bridge.tsx';
import { IotPage } from './pages/Iot.tsx';
import { NetworkPage } from './pages/Network.tsx';
import { OrgsPage } from './pages/Orgs.tsx';
import { StatePage } from './pages/State.tsx';
import { TenantsPage } from './pages/Tenants.tsx';
import { TraceVerifyPage } from './pages/TraceVerify.tsx';
import { TxDetail, TxsPage } from './pages/Txs.tsx';
import { type Route, useRoute } from './router.ts';
import { Empty, ErrorBox, Loading, useAsync } from './ui.tsx';

/** Pages: route id, label, short label for the phone-width strip, icon path. */
const NAV: Array<{ id: string; label: string; short?: string; icon: string }> = [
  {
    id: 'network',
    label: 'Network',
    icon: 'M4 12a3 3 0 1 0 0-.1M20 5a2 2 0 1 0 0-.1M20 19a2 2 0 1 0 0-.1M6.7 10.7l11.5-4.9M6.7 13.3l11.5 4.9',
  },
  { id: 'blocks', label: 'Blocks', icon: 'M4 4h7v7H4zM13 4h7v7h-7zM4 13h7v7H4zM13 13h7v7h-7z' },
  { id: 'txs', label: 'Transactions', short: 'Txs', icon: 'M4 7h13l-3-3M20 17H7l3 3' },
  { id: 'state', label: 'State', icon: 'M12 3 4 7l8 4 8-4zM4 12l8 4 8-4M4 17l8 4 8-4' },
  { id: 'contracts', label: 'Contracts', icon: 'M6 3h9l4 4v14H6zM14 3v5h5M9 12h7M9 16h7' },
  {
    id: 'orgs',
    label: 'Organizations',
    short: 'Orgs',
    icon: 'M9 11a3 3 0 1 0 0-.1M3 20c0-3.3 2.7-6 6-6s6 2.7 6 6M17 8a2.5 2.5 0 1 0 0-.1M16 13.5c2.8 0 5 2.2 5 5',
  },
  {
    id: 'governance',
    label: 'Governance',
    short: 'Gov',
    icon: 'M3 10h18L12 4zM5 10v8M10 10v8M14 10v8M19 10v8M3 20h18',
  },
  // The idcode reference app's code browser (issue 15, docs/apps/idcode.md).
  {
    id: 'idcode',
    label: 'City codes',
    short: 'Codes',
    icon: 'M4 4h7l9 9-7 7-9-9zM8 8h.01',
  },
  // The cbdc reference app (issue 16, docs/apps/cbdc.md): central bank, operator, wallet, regulator.
  {
    id: 'cbdc',
    label: 'Digital currency',
    short: 'CBDC',
    icon: 'M12 3a9 9 0 1 0 0 18 9 9 0 1 0 0-18M9 8l3 4 3-4M8.5 12h7M8.5 15h7M12 12v5',
  },
  // The iot reference app (issue 15, docs/apps/iot.md): devices, anchored batches, proofs.
  {
    id: 'iot',
    label: 'IoT',
    icon: 'M8 8h8v8H8zM10 4v4M14 4v4M10 16v4M14 16v4M4 10h4M4 14h4M16 10h4M16 14h4',
  },
  // The datashare reference app (issue 15, docs/apps/datashare.md): datasets, grants, audit trail.
  {
    id: 'datashare',
    label: 'Data sharing',
    short: 'Data',
    icon: 'M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3M4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3',
  },
  // The trace reference app's public verification page (issue 15, docs/apps/trace.md).
  {
    id: 'verify',
    label: 'Verify product',
    short: 'Verify',
    icon: 'M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6zM8.5 12l2.5 2.5 4.5-5',
  },
  // Light clients, packets, transfers and denominations of other chains (issue 13).
  {
    id: 'interchain',
    label: 'Interchain',
    short: 'IBC',
    icon: 'M6 18a3 3 0 1 0 0-.1M18 6a3 3 0 1 0 0-.1M8.2 15.8l7.6-7.6M3 10l3-3 3 3M15 17l3 3 3-3',
  },
  // Both sides of the bridges to EVM chains (issue 14, docs/BRIDGE.md).
  {
    id: 'bridge',
    label: 'EVM bridge',
    short: 'EVM',
    icon: 'M3 12h18M7 8l-4 4 4 4M17 8l4 4-4 4M12 5v14',
  },
  // The service gateway (issue 12): the operator's view and the tenants' portal.
  {
    id: 'gateway',
    label: 'Gateway',
    short: 'GW',
    icon: 'M3 4h18v6H3zM3 14h18v6H3zM7 7h.01M7 17h.01M12 10v4',
  },
  {
    id: 'tenants',
    label: 'Tenant portal',
    short: 'Tenants',
    icon: 'M4 21V8l8-5 8 5v13zM9 21v-6h6v6M8 10h.01M12 10h.01M16 10h.01',
  },
];

/**
 * A product label links to `/verify?serial=...` (a path, so a phone's camera opens it as is):
 * with no page in the hash, that path opens the verification page.
 */
function labelRoute(route: Route): Route {
  if (location.hash.replace(/^#\/?/, '') !== '' || location.pathname !== '/verify') return route;
  return { page: 'verify', parts: [], query: new URLSearchParams(location.search) };
}

/** Pages about the gateway rather than a chain: they show even when no node hosts the chain. */
const GATEWAY_PAGES = new Set(['gateway', 'tenants']);

export function App() {
  const network = useAsync(() => operator.network(), []);
  if (network.error) {
    return (
      <div className="boot">
        <h1>Archipelago console</h1>
        <ErrorBox error={network.error} retry={network.reload} />
        <p className="muted">
          The console reads the network layout from the server that <code>archi up</code> starts.
        </p>
      </div>
    );
  }
  if (!network.data) {
    return (
      <div className="boot">
        <Loading what="the network" />
      </div>
    );
  }
  if (!network.data.nodes?.length) {
    return (
      <div className="boot">
        <Empty title="This network has no nodes">
          Check network.json in the network directory.
        </Empty>
      </div>
    );
  }
  return (
    <Provider network={network.data}>
      <Shell />
    </Provider>
  );
}

function LiveIndicator() {
  const feed = useFeed();
  const top = feed.blocks[0];
  const label =
    feed.state === 'live' ? 'live' : feed.state === 'connecting' ? 'connecting' : 'reconnecting';
  return (
    <a className={`live ${feed.state}`} href="#/blocks" title={`block feed: ${label}`}>
      <span className="dot" aria-hidden="true" />
      <span className="live-label">{label}</span>
      {top && <span className="live-height">#{top.height}</span>}
    </a>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'blocks':
      return route.parts[0] ? <BlockDetail height={route.parts[0]} /> : <BlocksPage />;
    case 'txs':
      return route.parts[0] ? <TxDetail txId={route.parts[0]} /> : <TxsPage />;
    case 'state':
      return <StatePage query={route.query} />;
    case 'contracts':
      return <ContractsPage selected={route.parts[0]} />;
    case 'orgs':
      return <OrgsPage />;
    case 'governance':
      return <GovernancePage selected={route.parts[0]} />;
    case 'network':
      return <NetworkPage />;
    case 'interchain':
      return <InterchainPage />;
    case 'bridge':
      return <BridgePage />;
    case 'idcode':
      return <IdcodePage selected={route.parts[0]} />;
    case 'verify':
      return <TraceVerifyPage serial={route.query.get('serial') ?? undefined} />;
    case 'cbdc':
      return <CbdcPage parts={route.parts} />;
    case 'iot':
      return <IotPage />;
    case 'datashare':
      return <DatasharePage selected={route.parts[0]} />;
    case 'gateway':
      return <GatewayPage />;
    case 'tenants':
      return <TenantsPage tenant={route.parts[0]} month={route.query.get('month') ?? undefined} />;
    default:
      return <Empty title="No such page">Pick a page from the menu.</Empty>;
  }
}

function NodePicker() {
  const { hosts, node, setNode } = useShell();
  return (
    <label className="node-pick">
      <span>node</span>
      <select
        value={node?.name ?? ''}
        onChange={(e) => setNode(e.target.value)}
        disabled={hosts.length === 0}
        data-testid="node-picker"
      >
        {hosts.map((n) => (
          <option key={n.name} value={n.name}>
            {n.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function Frame({ route, live, children }: { route: Route; live?: ReactNode; children: ReactNode }) {
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href="#/network">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          <span>Archipelago</span>
        </a>
        <ChainPicker />
        <span className="spacer" />
        {live}
        <NodePicker />
      </header>
      <nav className="sidebar" aria-label="pages">
        <div className="sidebar-inner">
          {NAV.map((n) => (
            <a
              key={n.id}
              href={`#/${n.id}`}
              className={route.page === n.id ? 'active' : undefined}
              aria-current={route.page === n.id ? 'page' : undefined}
            >
              <svg viewBox="0 0 24 24" aria-hidden="true">
                <path d={n.icon} />
              </svg>
              <span className="nav-long">{n.label}</span>
              <span className="nav-short">{n.short ?? n.label}</span>
            </a>
          ))}
        </div>
      </nav>
      <main className="content">{children}</main>
    </div>
  );
}

function Shell() {
  const route = labelRoute(useRoute());
  const { chain, node } = useShell();
  if (!node) {
    return (
      <Frame route={route}>
        {GATEWAY_PAGES.has(route.page) ? <Page route={route} /> : <NoHost />}
      </Frame>
    );
  }
  // Everything below reads the chosen chain; a switch starts its pages afresh.
  return (
    <ChainScope key={chain.id} node={node}>
      <Frame route={route} live={<LiveIndicator />}>
        <Page route={route} />
      </Frame>
    </ChainScope>
  );
}
