/**
 * An in-memory chain for the simulator: what the real driver and reactors need of a chain
 * (ConsensusChain and EvidencePool), with real Block and Header protobufs but no transactions
 * or state. Its checks are the ones consensus relies on: linkage to our latest block, the
 * validator set hashes of the height, the previous block's commit, evidence that is properly
 * signed double signing, and an application verdict (a block carrying the INVALID marker, which
 * only the byzantine validator crafts, is refused as a failed execution would be).
 */
import type {
  CandidateBlock,
  ConsensusChain,
  EvidencePool,
} from '../../src/consensus/chain-api.ts';
import {
  type Block,
  BlockSchema,
  type Commit,
  CommitSchema,
  type ConsensusParams,
  create,
  type DuplicateVoteEvidence,
  DuplicateVoteEvidenceSchema,
  decode,
  encode,
  HeaderSchema,
  type Validator,
} from '../../src/codec/index.ts';
import { merkleRoot } from '../../src/codec/merkle.ts';
import type { CryptoProfile } from '../../src/crypto/profile.ts';
import { checkEvidence, type EvidenceJson, evidenceKey } from '../../src/types/evidence.ts';
import { bytesEqual, hex } from '../../src/types/hex.ts';
import { validatorsRoot, verifyCommit } from '../../src/types/vote.ts';

/** A tx the simulated application refuses: a block carrying it is invalid. */
export const INVALID_TX = new TextEncoder().encode('INVALID');

const MAX_BLOCK_EVIDENCE = 8;

/** What every node's chain of one simulation shares: identity, validator sets, params. */
export class ChainSpec {
  readonly genesisHash: Uint8Array;
  private readonly hashes = new Map<Validator[], Uint8Array>();

  constructor(
    readonly chainId: string,
    readonly profile: CryptoProfile,
    readonly params: ConsensusParams,
    readonly genesisTime: number,
    /** The validator set of a height (the same array for the same set, so hashes are cached). */
    readonly validatorsAt: (height: number) => Validator[],
  ) {
    this.genesisHash = profile.hash(new TextEncoder().encode(`genesis/${chainId}`));
  }

  validatorsHash(height: number): Uint8Array {
    const set = this.validatorsAt(height);
    let h = this.hashes.get(set);
    if (!h) {
      h = validatorsRoot(this.profile, set);
      this.hashes.set(set, h);
    }
    return h;
  }

  txRoot(txs: Uint8Array[]): Uint8Array {
    return merkleRoot((d) => this.profile.hash(d), txs);
  }

  evidenceHash(evidence: DuplicateVoteEvidence[]): Uint8Array {
    return merkleRoot(
      (d) => this.profile.hash(d),
      evidence.map((e) => encode(DuplicateVoteEvidenceSchema, e)),
    );
  }

  /** Evidence judged by the set of its own height; `top` is the highest height with a known set. */
  checkEvidence(ev: DuplicateVoteEvidence, top: number): ReturnType<typeof checkEvidence> {
    return checkEvidence(
      this.profile,
      this.chainId,
      (h) => (Number.isSafeInteger(h) && h >= 1 && h <= top ? this.validatorsAt(h) : undefined),
      ev,
    );
  }
}

export interface BlockPlan {
  height: number;
  time: number;
  prevHash: Uint8Array;
  lastCommit: Commit | undefined;
  proposer: Uint8Array;
  evidence: DuplicateVoteEvidence[];
  txs?: Uint8Array[];
}

/** A block as a proposer builds it (the byzantine validator uses this too, with odd plans). */
export function buildBlock(spec: ChainSpec, p: BlockPlan): CandidateBlock {
  const lastCommit = p.lastCommit ? encode(CommitSchema, p.lastCommit) : new Uint8Array(0);
  const txs = p.txs ?? [];
  const header = encode(
    HeaderSchema,
    create(HeaderSchema, {
      chainId: spec.chainId,
      height: BigInt(p.height),
      time: BigInt(p.time),
      prevHash: p.prevHash,
      validatorsHash: spec.validatorsHash(p.height),
      nextValidatorsHash: spec.validatorsHash(p.height + 1),
      proposer: p.proposer,
      txRoot: spec.txRoot(txs),
      lastCommitHash: spec.profile.hash(lastCommit),
      evidenceHash: spec.evidenceHash(p.evidence),
      txCount: txs.length,
    }),
  );
  const block = create(BlockSchema, { header, txs, lastCommit, evidence: p.evidence });
  return {
    height: p.height,
    block,
    blockBytes: encode(BlockSchema, block),
    blockHash: spec.profile.hash(header),
  };
}

/** What the simulation watches on every node's chain. */
export interface ChainObserver {
  committed(chain: SimChain, block: CandidateBlock, commit: Commit): void;
  pooled(chain: SimChain, evidence: EvidenceJson): void;
  /** A block this node built as proposer. */
  built(block: CandidateBlock): void;
}

interface Stored {
  bytes: Uint8Array;
  block: Block;
  hash: Uint8Array;
  time: number;
  commit: Commit;
}

/** One node's chain: its committed blocks are its disk; the evidence pool is memory. */
export class SimChain implements ConsensusChain, EvidencePool {
  private readonly blocks: Stored[] = [];
  private readonly committedEvidence = new Set<string>();
  private pool = new Map<string, DuplicateVoteEvidence>();

  constructor(
    readonly spec: ChainSpec,
    readonly node: number,
    private readonly observer: ChainObserver,
  ) {}

  get chainId(): string {
    return this.spec.chainId;
  }

  get profile(): CryptoProfile {
    return this.spec.profile;
  }

  get height(): number {
    return this.blocks.length;
  }

  /** Hash of the latest block (the genesis hash at height 0). */
  get lastHash(): Uint8Array {
    return this.blocks.at(-1)?.hash ?? this.spec.genesisHash;
  }

  get latestHeader(): { time: number } {
    return { time: this.blocks.at(-1)?.time ?? this.spec.genesisTime };
  }

  get config(): { validators: Validator[]; params: ConsensusParams } {
    return { validators: this.spec.validatorsAt(this.height + 1), params: this.spec.params };
  }

  /** Hash of the committed block at `height`. */
  hashAt(height: number): Uint8Array | undefined {
    return this.blocks[height - 1]?.hash;
  }

  /** Time of the committed block at `height`. */
  timeAt(height: number): number {
    return this.blocks[height - 1]?.time ?? this.spec.genesisTime;
  }

  /** The committed block at `height`, decoded. */
  blockAt(height: number): Block | undefined {
    return this.blocks[height - 1]?.block;
  }

  /** Evidence waiting for a block. */
  get pooled(): number {
    return this.pool.size;
  }

  proposeBlock(time: number, proposer: Uint8Array, lastCommit?: Commit): CandidateBlock {
    const b = buildBlock(this.spec, {
      height: this.height + 1,
      time,
      prevHash: this.lastHash,
      lastCommit,
      proposer,
      evidence: [...this.pool.values()].slice(0, MAX_BLOCK_EVIDENCE),
    });
    this.observer.built(b);
    return b;
  }

  validateBlock(blockBytes: Uint8Array): CandidateBlock {
    const bad = (why: string): never => {
      throw new Error(`block refused: ${why}`);
    };
    const spec = this.spec;
    const block = decode(BlockSchema, blockBytes, 'BAD_REQUEST');
    const header = decode(HeaderSchema, block.header, 'BAD_REQUEST');
    const height = this.height + 1;
    if (header.chainId !== spec.chainId) bad('wrong chain');
    if (Number(header.height) !== height) bad(`height ${header.height}, expected ${height}`);
    if (!bytesEqual(header.prevHash, this.lastHash)) bad('does not extend our latest block');
    if (Number(header.time) <= this.latestHeader.time) bad('time does not increase');
    if (!bytesEqual(header.validatorsHash, spec.validatorsHash(height))) bad('validators hash');
    if (!bytesEqual(header.nextValidatorsHash, spec.validatorsHash(height + 1)))
      bad('next validators hash');
    if (header.txCount !== block.txs.length) bad('tx count');
    if (!bytesEqual(header.txRoot, spec.txRoot(block.txs))) bad('tx root');
    if (block.txs.some((t) => bytesEqual(t, INVALID_TX))) bad('the application refuses a tx');
    if (!bytesEqual(header.lastCommitHash, spec.profile.hash(block.lastCommit)))
      bad('last commit hash');
    if (height > 1) {
      if (block.lastCommit.length === 0) bad('no commit of the previous block');
      const check = verifyCommit(
        spec.profile,
        spec.chainId,
        spec.validatorsAt(height - 1),
        decode(CommitSchema, block.lastCommit, 'BAD_REQUEST'),
        height - 1,
        this.lastHash,
      );
      if (!check.ok) bad(`last commit: ${check.reason}`);
    }
    if (!bytesEqual(header.evidenceHash, spec.evidenceHash(block.evidence))) bad('evidence hash');
    const seen = new Set<string>();
    for (const ev of block.evidence) {
      const c = spec.checkEvidence(ev, height);
      if (!c.ok) bad(`evidence: ${c.reason}`);
      const key = c.ok ? evidenceKey(c.json) : '';
      if (seen.has(key) || this.committedEvidence.has(key)) bad('evidence already committed');
      seen.add(key);
    }
    return { height, block, blockBytes, blockHash: spec.profile.hash(block.header) };
  }

  commitBlock(b: CandidateBlock, commit: Commit): void {
    if (b.height !== this.height + 1) throw new Error(`commit of ${b.height} at ${this.height}`);
    const header = decode(HeaderSchema, b.block.header, 'INTERNAL');
    if (!bytesEqual(header.prevHash, this.lastHash)) throw new Error('commit does not link');
    this.blocks.push({
      bytes: b.blockBytes,
      block: b.block,
      hash: b.blockHash,
      time: Number(header.time),
      commit,
    });
    for (const ev of b.block.evidence) {
      const c = this.spec.checkEvidence(ev, b.height);
      if (!c.ok) continue;
      const key = evidenceKey(c.json);
      this.committedEvidence.add(key);
      this.pool.delete(key);
    }
    this.observer.committed(this, b, commit);
  }

  blockBytesAt(height: number): Uint8Array | undefined {
    return this.blocks[height - 1]?.bytes;
  }

  seenCommitAt(height: number): Commit | undefined {
    return this.blocks[height - 1]?.commit;
  }

  addEvidence(ev: DuplicateVoteEvidence): boolean {
    const c = this.spec.checkEvidence(ev, this.height + 1);
    if (!c.ok) return false;
    const key = evidenceKey(c.json);
    if (this.pool.has(key) || this.committedEvidence.has(key)) return false;
    this.pool.set(key, ev);
    this.observer.pooled(this, c.json);
    return true;
  }

  /** Whether evidence with this key (see evidenceKey) is pooled or committed. */
  hasEvidence(key: string): boolean {
    return this.pool.has(key) || this.committedEvidence.has(key);
  }

  /** A crash: the pool lived in memory (as the real chain's does). */
  crash(): void {
    this.pool = new Map();
  }

  /** Keys of the evidence committed on this chain. */
  get committedEvidenceKeys(): ReadonlySet<string> {
    return this.committedEvidence;
  }
}

/** Hex of a block hash, short, for traces. */
export function shortHash(hash: Uint8Array | string): string {
  return (typeof hash === 'string' ? hash : hex(hash)).slice(0, 8);
}
