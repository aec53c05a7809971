/**
 * Compact proposals: the proposer names its block's txs by id instead of sending them, since
 * its peers mostly hold them already from tx gossip (a whole block goes to every peer, about
 * 600 bytes a tx). A receiver rebuilds the block from its pool and asks its peers for the txs
 * it lacks. The rebuilt block is then checked like any other (its header's tx root covers the
 * ids), so a wrong or missing tx can only delay a proposal, never change what is accepted.
 */
import {
  BlockSchema,
  type BlockTxs,
  type BlockTxsRequest,
  BlockTxsRequestSchema,
  BlockTxsSchema,
  create,
  decode,
  encode,
  type SignedProposal,
  SignedProposalSchema,
} from '../../codec/index.ts';
import { bytesEqual, hex, unhex } from '../../types/hex.ts';
import type { ConsensusChain } from '../chain-api.ts';

/** Most compact blocks of one height waiting for txs (a round has one proposer). */
const MAX_PENDING = 8;

/** The compact form of a signed proposal of `block` whose txs have ids `ids`. */
export function compactProposal(
  signed: { body: Uint8Array; signature: Uint8Array },
  blockBytes: Uint8Array,
  ids: Uint8Array[],
): SignedProposal {
  const block = decode(BlockSchema, blockBytes, 'INTERNAL');
  return create(SignedProposalSchema, {
    body: signed.body,
    signature: signed.signature,
    compact: {
      header: block.header,
      lastCommit: block.lastCommit,
      evidence: block.evidence,
      dag: block.dag,
      txIds: ids,
    },
  });
}

/** A compact proposal made whole with its block's encoded txs. */
export function wholeProposal(p: SignedProposal, txs: Uint8Array[]): SignedProposal {
  const c = p.compact!;
  const block = create(BlockSchema, {
    header: c.header,
    txs,
    lastCommit: c.lastCommit,
    evidence: c.evidence,
    dag: c.dag,
  });
  return create(SignedProposalSchema, {
    body: p.body,
    signature: p.signature,
    block: encode(BlockSchema, block),
  });
}

/** The txs of a held block a peer asked for; undefined when there is nothing to send. */
export function answerTxsRequest(
  req: BlockTxsRequest,
  txs: Uint8Array[] | undefined,
): BlockTxs | undefined {
  if (!txs) return undefined;
  const indexes = [...new Set(req.indexes)].filter((i) => i < txs.length);
  if (indexes.length === 0) return undefined;
  return create(BlockTxsSchema, {
    blockHash: req.blockHash,
    indexes,
    txs: indexes.map((i) => txs[i]),
  });
}

interface Pending {
  proposal: SignedProposal;
  ids: Uint8Array[];
  txs: Array<Uint8Array | undefined>;
  missing: number;
  /** Whether the proposal, once whole, goes to the WAL (not when replayed from it). */
  log: boolean;
}

function requestOf(hash: string, p: Pending): BlockTxsRequest {
  return create(BlockTxsRequestSchema, {
    blockHash: unhex(hash),
    indexes: p.txs.flatMap((t, i) => (t === undefined ? [i] : [])),
  });
}

/** Compact proposals of one height being made whole, by block hash. */
export class CompactBlocks {
  private pending = new Map<string, Pending>();

  constructor(
    private readonly chain: Required<Pick<ConsensusChain, 'pendingTxs' | 'txIdOf'>>,
    /** Most txs a block may carry: a compact block naming more is dropped. */
    private readonly maxTxs: () => number,
  ) {}

  /**
   * A compact proposal of block `hash`: the whole proposal when the pool holds every tx; else
   * undefined, and the txs to ask for are remembered (see requests()).
   */
  take(p: SignedProposal, hash: string, log: boolean): SignedProposal | undefined {
    const ids = p.compact!.txIds;
    if (ids.length > this.maxTxs() || this.pending.has(hash)) return undefined;
    const txs = this.chain.pendingTxs(ids);
    const missing = txs.filter((t) => t === undefined).length;
    if (missing === 0) return wholeProposal(p, txs as Uint8Array[]);
    if (this.pending.size >= MAX_PENDING) {
      this.pending.delete(this.pending.keys().next().value as string);
    }
    this.pending.set(hash, { proposal: p, ids, txs, missing, log });
    return undefined;
  }

  /** Txs a peer sent: the whole proposal (and whether to log it) once its block is complete. */
  fill(m: BlockTxs): { proposal: SignedProposal; log: boolean } | undefined {
    const hash = hex(m.blockHash);
    const p = this.pending.get(hash);
    if (!p) return undefined;
    m.indexes.forEach((i, k) => {
      const bytes = m.txs[k];
      if (i >= p.ids.length || p.txs[i] !== undefined || bytes === undefined) return;
      const id = this.chain.txIdOf(bytes);
      if (!id || !bytesEqual(id, p.ids[i])) return;
      p.txs[i] = bytes;
      p.missing--;
    });
    if (p.missing > 0) return undefined;
    this.pending.delete(hash);
    return { proposal: wholeProposal(p.proposal, p.txs as Uint8Array[]), log: p.log };
  }

  /** BlockTxsRequests for every tx still missing. */
  requests(): BlockTxsRequest[] {
    return [...this.pending].map(([hash, p]) => requestOf(hash, p));
  }

  /** The request for block `hash`'s missing txs, if it waits for any. */
  request(hash: string): BlockTxsRequest | undefined {
    const p = this.pending.get(hash);
    return p && requestOf(hash, p);
  }

  /** Forget every pending block (a new height). */
  clear(): void {
    this.pending = new Map();
  }
}
