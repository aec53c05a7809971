/**
 * How the console talks to the world: the nodes' public RPC (docs/RPC.md) for everything
 * about the chain, and the operator API of the console's own server (/console-api) only for
 * the network's layout, for signing as a local identity and for the service gateway's
 * admin API (which it calls with the operator's token).
 */

import type {
  BlockJson,
  BlockPageJson,
  BlockSummaryJson,
  ChainConfigJson,
  ChainSummaryJson,
  CommitJson,
  ContractMetaJson,
  EventJson,
  HeaderJson,
  ReceiptJson,
  StatusJson,
  TxJson,
} from '../../src/types/rpc-json.ts';

// The node's answer shapes are the ones the node itself declares (types only, nothing bundled).
export type {
  BlockJson,
  BlockPageJson,
  BlockSummaryJson,
  ChainConfigJson,
  ChainSummaryJson,
  CommitJson,
  ContractMetaJson,
  EventJson,
  HeaderJson,
  ReceiptJson,
  StatusJson,
  TxJson,
};

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 0,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** network.json as recorded by `archi up`. */
export interface NetworkJson {
  chain: string;
  crypto: 'standard' | 'gm';
  identityMode: 'cert' | 'key';
  consensus?: string;
  nodes: Array<{ name: string; org?: string; rpc: string; p2p?: string }>;
  console?: string | null;
}

export interface ProvenRead {
  key: string;
  value: string | null;
  proof: unknown;
}

export interface QueryAnswer {
  result: unknown;
  height: number;
  stateRoot: string;
  proof?: { height: number; stateRoot: string; reads: ProvenRead[] };
}

export interface StateAnswer extends ProvenRead {
  height: number;
  stateRoot: string;
}

export interface ContractInfo {
  name: string;
  methods: Array<{ name: string; write: boolean }>;
  /** Not sent by today's nodes; shown when the lifecycle work adds them. */
  kind?: string;
  version?: number | string;
  status?: string;
  codeHash?: string;
}

export interface ConsoleIdentity {
  id: string;
  org: string;
  user: string;
  cert: string | null;
  publicKey: string | null;
  address: string | null;
}

export interface CommittedAnswer {
  txId: string;
  height: number;
  receipt: ReceiptJson;
}

async function call<T>(url: string, init: RequestInit = {}, timeoutMs = 30_000): Promise<T> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(timeoutMs) });
    text = await res.text();
  } catch (e) {
    const err = e as Error;
    if (err.name === 'TimeoutError') {
      throw new ApiError('TIMEOUT', `no answer from ${hostOf(url)} within ${timeoutMs / 1000} s`);
    }
    throw new ApiError('UNREACHABLE', `cannot reach ${hostOf(url)}: ${err.message}`);
  }
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    if (res.ok) throw new ApiError('INTERNAL', `${hostOf(url)} did not answer JSON`, res.status);
  }
  if (!res.ok) {
    const err = body?.error;
    if (err && typeof err.code === 'string') {
      throw new ApiError(err.code, String(err.message ?? err.code), res.status);
    }
    throw new ApiError(`HTTP_${res.status}`, text.slice(0, 200) || res.statusText, res.status);
  }
  return body as T;
}

function hostOf(url: string): string {
  try {
    return new URL(url, location.href).host;
  } catch {
    return url;
  }
}

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * Where a chain's endpoints live on a node (docs/RPC.md): `/v1` when it is the node's first
 * chain (or no chain is named), else `/v1/chains/<id>`.
 */
export function chainPrefix(chain?: string, firstOfNode?: string): string {
  return chain === undefined || chain === firstOfNode
    ? '/v1'
    : `/v1/chains/${encodeURIComponent(chain)}`;
}

/** The public RPC of one chain on one node (the node's first chain by default). */
export class Rpc {
  /** The chain's endpoints: the node's URL and the chain's prefix (`/v1` or `/v1/chains/<id>`). */
  readonly base: string;

  constructor(
    readonly url: string,
    prefix = '/v1',
  ) {
    this.base = `${url}${prefix}`;
  }

  status(timeoutMs?: number): Promise<StatusJson> {
    return call(`${this.base}/status`, {}, timeoutMs);
  }
  block(height: number | 'latest'): Promise<BlockJson> {
    return call(`${this.base}/blocks/${height}`);
  }
  /** A page of block summaries, newest first (GET /v1/blocks: at most 10,000 heights a page). */
  blocks(q: { before?: number; limit?: number; nonEmpty?: boolean }): Promise<BlockPageJson> {
    const params = new URLSearchParams();
    if (q.before !== undefined) params.set('before', String(q.before));
    if (q.limit !== undefined) params.set('limit', String(q.limit));
    if (q.nonEmpty !== undefined) params.set('nonEmpty', String(q.nonEmpty));
    return call(`${this.base}/blocks?${params}`);
  }
  tx(txId: string): Promise<TxJson> {
    return call(`${this.base}/txs/${encodeURIComponent(txId)}`);
  }
  query(contract: string, method: string, args: unknown, prove = false): Promise<QueryAnswer> {
    return call(`${this.base}/query`, json({ contract, method, args, prove }));
  }
  state(contract: string, key: string): Promise<StateAnswer> {
    return call(`${this.base}/state/${encodeURIComponent(contract)}/${encodeURIComponent(key)}`);
  }
  config(): Promise<ChainConfigJson> {
    return call(`${this.base}/config`);
  }
  contracts(): Promise<ContractInfo[]> {
    return call(`${this.base}/contracts`);
  }
  get wsUrl(): string {
    return `${this.base.replace(/^http/, 'ws')}/ws`;
  }
}

/** The console server's operator API (same origin as the page). */
export const operator = {
  network(): Promise<NetworkJson> {
    return call('/console-api/network');
  },
  /** The local identities that can sign on `chain` (those of its crypto profile). */
  identities(chain?: string): Promise<ConsoleIdentity[]> {
    return call(
      chain === undefined
        ? '/console-api/identities'
        : `/console-api/identities?chain=${encodeURIComponent(chain)}`,
    );
  },
  signAndSend(body: {
    as: string;
    contract: string;
    method: string;
    args: unknown;
    node?: string;
    /** The chain to send on (default: the network's first chain). */
    chain?: string;
  }): Promise<CommittedAnswer> {
    return call('/console-api/sign-and-send', json(body), 60_000);
  },
  /** Bundle TypeScript source on the console server and deploy (or upgrade) it. */
  deploy(body: {
    as: string;
    name: string;
    source: string;
    upgrade?: boolean;
    node?: string;
    chain?: string;
  }): Promise<CommittedAnswer> {
    return call('/console-api/deploy', json(body), 60_000);
  },
};

// ------------------------------------------------------------- the service gateway (admin)

/** Counters of usage (docs/GATEWAY.md): per app per UTC day, or summed. */
export interface GwUsageCounts {
  txs: number;
  queries: number;
  gas: number;
  bytesWritten: number;
  rejected: number;
}

export interface GwUsageRow extends GwUsageCounts {
  appId: string;
  tenantId: string;
  /** UTC day, YYYY-MM-DD. */
  day: string;
}

export interface GwTenant {
  id: string;
  name: string;
  createdMs: number;
  /** How many apps it owns and its usage over all time (GET /gw/v1/admin/tenants). */
  apps: number;
  total: GwUsageCounts;
}

export interface GwApp {
  id: string;
  tenantId: string;
  name: string;
  chainId: string;
  mode: 'upload' | 'trust';
  namespace: string;
  crypto: 'standard' | 'gm';
  /** The access public key (PEM) that checks the app's requests. */
  accessPublicKey: string;
  /** Transactions per second / per UTC day; null is no limit. */
  tps: number | null;
  tpd: number | null;
  createdMs: number;
}

export interface GwIdentity {
  name: string;
  org: string;
  /** Public key hex. */
  publicKey: string;
  /** Certificate PEM on cert chains, null on key chains. */
  cert: string | null;
}

export interface GwAppDetail {
  app: GwApp;
  identities: GwIdentity[];
  usageToday: GwUsageCounts;
}

/** Amounts in minor units (cents when minorDigits is 2). */
export interface GwBillAmounts {
  txs: number;
  queries: number;
  gbMonths: number;
  txAmount: number;
  queryAmount: number;
  storageAmount: number;
  total: number;
}

export interface GwBill {
  month: string;
  days: number;
  currency: string;
  minorDigits: number;
  tenants: Array<
    GwBillAmounts & { tenantId: string; apps: Array<GwBillAmounts & { appId: string }> }
  >;
  total: number;
}

export interface GwLoad {
  chain: string;
  apps: number;
  txsToday: number;
  queriesToday: number;
  rejectedToday: number;
}

/** What the console server knows of the gateway (GET /console-api/gateway). */
export interface GwStatus {
  /** network.json records a gateway. */
  recorded: boolean;
  url: string | null;
  id: string | null;
  org: string | null;
  db: string | null;
  /** The gateway's /gw/v1/health answer, null when it did not give one. */
  health: { id: string; org: string; ok: boolean } | null;
  /** Why the gateway cannot be used now, or null. */
  problem: string | null;
}

export interface GwUsageFilter {
  tenant?: string;
  app?: string;
  from?: string;
  to?: string;
}

function gwQuery(q: Record<string, string | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/**
 * The gateway's admin API through the console server (/console-api/gateway/*), which adds
 * the operator's token: the page never sees it.
 */
export const gateway = {
  status(): Promise<GwStatus> {
    return call('/console-api/gateway');
  },
  tenants(): Promise<GwTenant[]> {
    return call('/console-api/gateway/tenants');
  },
  apps(tenant?: string): Promise<GwApp[]> {
    return call(`/console-api/gateway/apps${gwQuery({ tenant })}`);
  },
  app(id: string): Promise<GwAppDetail> {
    return call(`/console-api/gateway/apps/${encodeURIComponent(id)}`);
  },
  usage(f: GwUsageFilter): Promise<{ rows: GwUsageRow[]; total: GwUsageCounts }> {
    return call(`/console-api/gateway/usage${gwQuery({ ...f })}`);
  },
  /** A link that downloads the usage rows as CSV. */
  usageCsvUrl(f: GwUsageFilter): string {
    return `/console-api/gateway/usage${gwQuery({ ...f, format: 'csv' })}`;
  },
  bill(q: { tenant?: string; month?: string }): Promise<GwBill> {
    return call(`/console-api/gateway/bill${gwQuery(q)}`);
  },
  load(): Promise<GwLoad[]> {
    return call('/console-api/gateway/load');
  },
  setQuota(id: string, q: { tps?: number | null; tpd?: number | null }): Promise<GwApp> {
    return call(`/console-api/gateway/apps/${encodeURIComponent(id)}/quota`, json(q));
  },
};
