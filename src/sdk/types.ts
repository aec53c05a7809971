/**
 * JSON shapes of the node's RPC answers (see docs/RPC.md): the shared ones come from
 * src/types/rpc-json.ts, the rest are the SDK's own.
 */
import type { ArchiError } from '../types/errors.ts';
import type { HeaderJson, ReceiptJson } from '../types/rpc-json.ts';

export type {
  BlockJson,
  ChainConfigJson,
  CommitJson,
  EventJson,
  HeaderJson,
  ReceiptJson,
  StatusJson,
  TxJson,
  ValidatorJson,
  ValidatorSetJson,
} from '../types/rpc-json.ts';

/** Hex form of a state proof as the node sends it. */
export interface StateProofJson {
  siblings: string[];
  leaf?: { path: string; valueHash: string };
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

/**
 * One tx's answer in POST /v1/txs/batch: its id, or the node's refusal of it as an ArchiError
 * (`code` and `message`, as the node sent them; it serializes to the node's `{code, message}`).
 */
export type BatchTxResult =
  | { txId: string; error?: undefined }
  | { txId?: undefined; error: ArchiError };

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
