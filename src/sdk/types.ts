/**
 * JSON shapes of the node's RPC answers (see docs/RPC.md). They mirror the views in
 * src/chain/chain.ts, repeated here because the SDK must not import the node's layers.
 */
import type { CommitJson, HeaderJson, ReceiptJson } from '../types/block.ts';

export type { CommitJson, EventJson, HeaderJson, ReceiptJson } from '../types/block.ts';

/** Hex form of a state proof as the node sends it. */
export interface StateProofJson {
  siblings: string[];
  leaf?: { path: string; valueHash: string };
}

/** GET /v1/status */
export interface StatusJson {
  chainId: string;
  node: string;
  org: string;
  height: number;
  hash: string;
  stateRoot: string;
  time: number;
  crypto: 'standard' | 'gm';
  identityMode: 'cert' | 'key';
  consensus: string;
  validator: boolean;
  round: number;
  peers: unknown[];
  mempool: { size: number; bytes: number };
}

/** GET /v1/blocks/:height */
export interface BlockJson {
  height: number;
  hash: string;
  header: HeaderJson;
  headerBytes: string;
  txs: Array<{ txId: string; contract: string; method: string; org: string }>;
  lastCommit: CommitJson | null;
  commit: CommitJson | null;
}

/** GET /v1/txs/:txId */
export interface TxJson {
  txId: string;
  height: number;
  index: number;
  chainId: string;
  contract: string;
  method: string;
  args: string;
  sender: { org: string };
  timestamp: number;
  receipt: ReceiptJson;
}

/** One state key a query read, with its value (hex, null when absent) and proof. */
export interface ProvenRead {
  key: string;
  value: string | null;
  proof: StateProofJson;
}

/** Proofs of every key a query read, under the state root of one block. */
export interface QueryProof {
  height: number;
  stateRoot: string;
  reads: ProvenRead[];
}

/** POST /v1/query */
export interface QueryAnswer {
  result: unknown;
  height: number;
  stateRoot: string;
  proof?: QueryProof;
}

/** GET /v1/state/:contract/:key (key is the full state key `contract/key`). */
export interface StateAnswer extends ProvenRead {
  height: number;
  stateRoot: string;
}

/** POST /v1/txs without wait. */
export interface SubmitAnswer {
  txId: string;
}

/** POST /v1/txs?wait=true */
export interface CommittedAnswer {
  txId: string;
  height: number;
  receipt: ReceiptJson;
}

/** GET /v1/contracts */
export interface ContractInfo {
  name: string;
  methods: Array<{ name: string; write: boolean }>;
}

/** WebSocket topics. */
export type Topic = 'blocks' | 'txs' | 'events';

/** Optional narrowing of a subscription: txId for `txs`, contract/name for `events`. */
export interface SubscribeFilter {
  txId?: string;
  contract?: string;
  name?: string;
}

/** Data pushed on the `blocks` topic. */
export interface BlockPush {
  height: number;
  hash: string;
  header: HeaderJson;
  txCount: number;
}

/** Data pushed on the `txs` topic. */
export interface TxPush {
  txId: string;
  height: number;
  receipt: ReceiptJson;
}

/** Data pushed on the `events` topic. */
export interface EventPush {
  txId: string;
  height: number;
  contract: string;
  name: string;
  data: unknown;
}

/** What each topic pushes. */
export interface TopicData {
  blocks: BlockPush;
  txs: TxPush;
  events: EventPush;
}

/** GET /v1/config: the chain config (byte fields in hex). */
export interface ChainConfigJson {
  chainId: string;
  crypto: 'standard' | 'gm';
  identityMode: 'cert' | 'key';
  consensus: string;
  orgs: Array<{
    id: string;
    caCert: string | null;
    keys: Array<{ name: string; role: string; publicKey: string }>;
  }>;
  validators: Array<{ name: string; org: string; publicKey: string; power: number }>;
  params: Record<string, number> | null;
  txRoles: string[];
  kvWriteRoles: string[];
  revokedCerts: string[];
  txTimeWindowMs: number;
  lifecyclePolicy: string;
  governancePolicy: string;
}
