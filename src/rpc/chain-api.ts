/**
 * The chain as the RPC sees it: reads of the head, blocks, txs, state, queries and
 * validator sets, tx submission and block events. The RPC is typed against this and not
 * against `Chain`, so it can be served by anything of this shape; `Chain` fits it as is.
 */
import type { BlockEvent, ProvenRead, QueryAnswer } from '../chain/chain.ts';
import type { ChainConfig, Validator } from '../codec/index.ts';
import type { BlockJson, BlockPageJson, HeaderJson, TxJson } from '../types/rpc-json.ts';
import type { ContractListing } from '../vm/registry.ts';

export type { BlockEvent, ProvenRead, QueryAnswer } from '../chain/chain.ts';

export interface RpcChain {
  readonly chainId: string;
  /** The chain config that rules the next block. */
  readonly config: ChainConfig;
  readonly height: number;
  readonly latestHeader: HeaderJson;
  readonly latestHash: Uint8Array;
  /** Pending txs: how many and their bytes. */
  readonly mempool: { readonly size: number; readonly sizeBytes: number };
  /** The contracts a tx or query can call. */
  readonly registry: { list(): ContractListing[] };

  /** Admit a tx to the pool; resolves to its id, rejects with an ArchiError. */
  submitTx(bytes: Uint8Array): Promise<string>;
  /** A committed tx with its receipt; throws NOT_FOUND. */
  getTx(txIdHex: string): TxJson;
  txStatus(txIdHex: string): 'committed' | 'pending' | 'unknown';
  /** Throws NOT_FOUND past the head. */
  getBlock(height: number | 'latest'): BlockJson;
  /** A page of block summaries, newest first; throws BAD_REQUEST on bad bounds. */
  listBlocks(opts: { before?: number; limit: number; nonEmpty: boolean }): BlockPageJson;
  query(contract: string, method: string, args: unknown, withProof: boolean): QueryAnswer;
  stateWithProof(contract: string, key: string): ProvenRead & { height: number; stateRoot: string };
  /** The validator set of a height, up to the next one; throws NOT_FOUND past it. */
  validatorsAt(height: number): Validator[];
  /** The hash headers name a validator set by. */
  hashValidators(validators: Validator[]): Uint8Array;

  /** Committed blocks, in height order. */
  on(event: 'block', listener: (b: BlockEvent) => void): unknown;
  off(event: 'block', listener: (b: BlockEvent) => void): unknown;
}
