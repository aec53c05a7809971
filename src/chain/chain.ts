/**
 * One chain instance on a node: its store, state, mempool and executor, the genesis
 * bootstrap, and the read side used by the RPC. Consensus engines drive it through
 * proposeBlock / commitBlock; everything else only reads it or submits txs. It builds none
 * of its parts: `src/node/build-chain.ts` does, so what runs inside is chosen in one place.
 */
import { EventEmitter } from 'node:events';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import {
  type Block,
  BlockSchema,
  type ChainConfig,
  type Commit,
  CommitSchema,
  create,
  type DuplicateVoteEvidence,
  DuplicateVoteEvidenceSchema,
  decode,
  encode,
  HeaderSchema,
  ReceiptSchema,
  type Validator,
  ValidatorSetSchema,
} from '../codec/index.ts';
import { merkleRoot } from '../codec/merkle.ts';
import type { CryptoProfile } from '../crypto/profile.ts';
import type { BlockResult, Executor, ExecutorStore } from '../app/executor.ts';
import { decodeGraph, encodeGraph, type TxDeps } from '../app/tx-dag.ts';
import {
  checkTxRules,
  decodeChecked,
  type TxCheckEnv,
  verifyTxSignatureAsync,
} from '../app/tx-check.ts';
import type { AsyncVerifier } from '../crypto/async-verify.ts';
import type { Mempool } from '../mempool/mempool.ts';
import { stateKey } from '../state/overlay.ts';
import { proofToJson, type StateProofJson } from '../state/proof.ts';
import { SparseMerkleTree } from '../state/smt.ts';
import { type ChainStore, storeReader } from '../storage/chain-store.ts';
import {
  type HeaderJson,
  headerToJson,
  receiptToJson,
  type ReceiptJson,
  commitToJson,
} from '../types/block.ts';
import { ArchiError } from '../types/errors.ts';
import type { BlockJson, BlockPageJson, BlockSummaryJson, TxJson } from '../types/rpc-json.ts';
import { type Genesis, genesisToConfig } from '../types/genesis.ts';
import { bytesEqual, hex, unhex } from '../types/hex.ts';
import { utf8Bytes, utf8Text } from '../types/json.ts';
import { type DecodedTx, decodeTx } from '../types/tx.ts';
import { checkEvidence, type EvidenceJson, evidenceKey } from '../types/evidence.ts';
import { validatorsRoot, verifyCommit } from '../types/vote.ts';

const MAX_BLOCK_EVIDENCE = 16;

/** Blocks in a GET /v1/blocks page when the request names no limit. */
export const BLOCK_PAGE_DEFAULT = 20;
/** Most blocks one listBlocks page holds. */
export const BLOCK_PAGE_MAX = 100;
/** Most heights one listBlocks call looks at, so a page over any run of empty blocks is bounded. */
export const BLOCK_SCAN_MAX = 10_000;

/** The header bytes of an encoded Block (its field 1), read without decoding the txs. */
function blockHeaderBytes(block: Uint8Array): Uint8Array {
  try {
    const r = new BinaryReader(block);
    while (r.pos < r.len) {
      const [field, wire] = r.tag();
      if (field === 1 && wire === WireType.LengthDelimited) return r.bytes().slice();
      r.skip(wire, field);
    }
  } catch (e) {
    throw new ArchiError('INTERNAL', `cannot decode Block: ${(e as Error).message}`);
  }
  throw new ArchiError('INTERNAL', 'a stored block has no header');
}

export type { BlockJson, TxJson } from '../types/rpc-json.ts';

export interface ProposedBlock {
  height: number;
  block: Block;
  blockBytes: Uint8Array;
  blockHash: Uint8Array;
  headerBytes: Uint8Array;
  result: BlockResult;
  txs: DecodedTx[];
}

export interface BlockEvent {
  height: number;
  hash: string;
  header: HeaderJson;
  txs: Array<{ txId: string; receipt: ReceiptJson }>;
}

export interface ProvenRead {
  key: string;
  value: string | null; // hex of the stored bytes
  proof: StateProofJson;
}

export interface QueryAnswer {
  result: unknown;
  height: number;
  stateRoot: string;
  proof?: { height: number; stateRoot: string; reads: ProvenRead[] };
}

/** The parts a chain runs on, built by its node (`buildChain`); the chain closes the verifier and store. */
export interface ChainOptions {
  profile: CryptoProfile;
  store: ChainStore;
  genesis: Genesis;
  mempool: Mempool;
  /** What admission checks against; the executor must hold this same one (one registry, one signature cache). */
  env: TxCheckEnv;
  /** Runs blocks and queries on `store`'s committed state. */
  executor: Executor;
  /** Checks tx signatures off the main thread at admission. */
  verifier: AsyncVerifier;
}

export class Chain extends EventEmitter {
  readonly profile: CryptoProfile;
  readonly store: ChainStore;
  readonly mempool: Mempool;
  readonly executor: Executor;
  private readonly env: TxCheckEnv;
  private readonly reader: ExecutorStore;
  private readonly verifier: AsyncVerifier;
  /** Checked double-sign evidence waiting for a block, by its state key. */
  private readonly evidencePool = new Map<
    string,
    { ev: DuplicateVoteEvidence; json: EvidenceJson }
  >();
  private _config!: ChainConfig;
  private _height = -1;
  private _header!: HeaderJson;
  private _hash!: Uint8Array;
  private readonly setCache = new Map<string, Validator[]>();
  /** Ids of txs whose signature is being checked: a copy arriving meanwhile is a duplicate at once. */
  private readonly verifying = new Set<string>();

  constructor(readonly opts: ChainOptions) {
    super();
    this.setMaxListeners(0);
    this.profile = opts.profile;
    this.store = opts.store;
    this.mempool = opts.mempool;
    this.reader = storeReader(this.store);
    this.env = opts.env;
    this.executor = opts.executor;
    this.verifier = opts.verifier;
    if (this.store.latestHeight() < 0) this.writeGenesis();
    this.loadHead();
  }

  /** The contracts this chain resolves (native and user), shared with admission and execution. */
  get registry(): TxCheckEnv['registry'] {
    return this.env.registry;
  }

  get chainId(): string {
    return this.opts.genesis.chainId;
  }

  get config(): ChainConfig {
    return this._config;
  }

  get height(): number {
    return this._height;
  }

  get latestHeader(): HeaderJson {
    return this._header;
  }

  get latestHash(): Uint8Array {
    return this._hash;
  }

  /** Merkle root of encoded validators (a header's validatorsHash). */
  hashValidators(validators: Validator[]): Uint8Array {
    return validatorsRoot(this.profile, validators);
  }

  /**
   * Keep the validator set by its hash, so the commits of past heights stay checkable after
   * governance changed the set (headers carry only the hash). Content-addressed, so writing
   * it before the block that introduces it is committed is harmless.
   */
  private recordValidators(validators: Validator[]): void {
    const key = `valset/${hex(this.hashValidators(validators))}`;
    if (this.store.getMeta(key)) return;
    this.store.putMeta(key, encode(ValidatorSetSchema, create(ValidatorSetSchema, { validators })));
  }

  /**
   * The validator set of `height` (whose commit it signs): the current config's for the next
   * height, else the set named by that block's header. Throws NOT_FOUND past the next height.
   */
  validatorsAt(height: number): Validator[] {
    if (height === this._height + 1) return this._config.validators;
    const block = Number.isSafeInteger(height) && height >= 0 ? this.blockAt(height) : undefined;
    if (!block) {
      throw new ArchiError(
        'NOT_FOUND',
        `no validator set for height ${height} (latest is ${this._height})`,
      );
    }
    const hash = decode(HeaderSchema, block.header, 'INTERNAL').validatorsHash;
    const cached = this.setCache.get(hex(hash));
    if (cached) return cached;
    const bytes = this.store.getMeta(`valset/${hex(hash)}`);
    if (!bytes) throw new ArchiError('INTERNAL', `validator set ${hex(hash)} is not stored`);
    const set = decode(ValidatorSetSchema, bytes, 'INTERNAL').validators;
    if (this.setCache.size >= 16) this.setCache.clear();
    this.setCache.set(hex(hash), set);
    return set;
  }

  private writeGenesis(): void {
    const g = this.opts.genesis;
    const config = genesisToConfig(g);
    const state = this.executor.genesisState(config);
    const empty = merkleRoot((d) => this.profile.hash(d), []);
    const genesisSet = this.hashValidators(config.validators);
    const headerBytes = encode(
      HeaderSchema,
      create(HeaderSchema, {
        chainId: g.chainId,
        height: 0n,
        time: BigInt(g.genesisTime),
        txRoot: empty,
        stateRoot: state.stateRoot,
        resultsRoot: empty,
        validatorsHash: genesisSet,
        // Height 1 is decided by the genesis set too.
        nextValidatorsHash: genesisSet,
      }),
    );
    const block = encode(BlockSchema, create(BlockSchema, { header: headerBytes }));
    this.store.commitBlock({
      height: 0,
      blockHash: this.profile.hash(headerBytes),
      block,
      txIds: [],
      receipts: [],
      stateChanges: state.stateChanges,
      treeNodes: state.treeNodes,
    });
    this.recordValidators(config.validators);
    this.store.putMeta('genesis', this.profile.hash(utf8Bytes(JSON.stringify(g))));
  }

  private loadHead(): void {
    const stored = this.store.getMeta('genesis');
    const mine = this.profile.hash(utf8Bytes(JSON.stringify(this.opts.genesis)));
    if (!stored || !bytesEqual(stored, mine)) {
      throw new ArchiError('CONFIG_INVALID', 'the data directory belongs to a different genesis');
    }
    this._height = this.store.latestHeight();
    const block = this.blockAt(this._height)!;
    const header = decode(HeaderSchema, block.header, 'INTERNAL');
    this._header = headerToJson(header);
    this._hash = this.profile.hash(block.header);
    this._config = this.executor.storedConfig();
    this.recordValidators(this._config.validators);
  }

  private refuseKnown(txIdHex: string, txId: Uint8Array): void {
    if (this.mempool.has(txIdHex) || this.verifying.has(txIdHex))
      throw new ArchiError('TX_DUPLICATE', `tx ${txIdHex} is already pending`);
    if (this.store.hasTx(txId))
      throw new ArchiError('TX_DUPLICATE', `tx ${txIdHex} is already committed`);
  }

  /**
   * Check a tx and add it to the mempool; resolves to its id. Rejects with an ArchiError on
   * any failed check. The signature is verified off the main thread.
   */
  async submitTx(bytes: Uint8Array, opts: { gossip?: boolean } = {}): Promise<string> {
    const tx = checkTxRules(
      this.env,
      this._config,
      decodeChecked(this.env, this._config, bytes),
      Date.now(),
    );
    this.refuseKnown(tx.txIdHex, tx.txId);
    // Without this mark two copies would race through verification and which one wins would
    // depend on the thread pool, and the loser would cost a second verification.
    this.verifying.add(tx.txIdHex);
    try {
      await verifyTxSignatureAsync(this.env, this.verifier, tx);
    } finally {
      this.verifying.delete(tx.txIdHex);
    }
    // A block may have committed the tx while its signature was being checked.
    this.refuseKnown(tx.txIdHex, tx.txId);
    this.mempool.add(tx);
    // Listeners get the bytes only when the tx should travel on to peers.
    this.emit('pending', tx.txIdHex, opts.gossip === false ? undefined : tx.bytes);
    return tx.txIdHex;
  }

  /**
   * Build and execute the next block from the mempool (does not commit it). `full`, asked
   * before each tx, ends the block early: the proposer's time budget. `maxTxs` bounds what is
   * taken from the pool at all, so a backlog does not cost a committed-check per pooled tx.
   * The block also ends before a tx (not its first) that would take its gas past
   * params.maxBlockGas; the txs left out stay in the pool.
   */
  proposeBlock(
    time: number,
    proposer: Uint8Array,
    lastCommit?: Commit,
    full?: () => boolean,
    maxTxs = Number.POSITIVE_INFINITY,
  ): ProposedBlock {
    const params = this._config.params!;
    const reaped = this.mempool.reap(
      Math.min(params.maxBlockTxs, maxTxs),
      Number(params.maxBlockBytes),
    );
    // A tx committed through another path (block sync, another proposer) may still sit in the pool.
    const fresh = reaped.filter((t) => !this.store.hasTx(t.txId));
    if (fresh.length !== reaped.length)
      this.mempool.remove(reaped.filter((t) => !fresh.includes(t)).map((t) => t.txIdHex));
    const height = this._height + 1;
    const evidence = [...this.evidencePool.values()].slice(0, MAX_BLOCK_EVIDENCE);
    const result = this.executor.executeBlock({
      height,
      time,
      config: this._config,
      prevStateRoot: unhex(this._header.stateRoot),
      txs: fresh,
      evidence: evidence.map((e) => e.json),
      full,
      proposing: true,
    });
    const txs = fresh.slice(0, result.txIds.length);
    const lastCommitBytes = lastCommit ? encode(CommitSchema, lastCommit) : new Uint8Array(0);
    // Validators with execution threads run independent txs in parallel along it.
    const dag = txs.length > 0 ? encodeGraph(result.dag) : new Uint8Array(0);
    const headerBytes = encode(
      HeaderSchema,
      create(HeaderSchema, {
        chainId: this.chainId,
        height: BigInt(height),
        time: BigInt(time),
        prevHash: this._hash,
        txRoot: result.txRoot,
        stateRoot: result.stateRoot,
        resultsRoot: result.resultsRoot,
        validatorsHash: this.hashValidators(this._config.validators),
        nextValidatorsHash: this.hashValidators(this.executor.nextValidators(this._config, height)),
        proposer,
        lastCommitHash: this.profile.hash(lastCommitBytes),
        evidenceHash: this.evidenceHash(evidence.map((e) => e.ev)),
        txCount: txs.length,
        dagHash: dag.length > 0 ? this.profile.hash(dag) : new Uint8Array(0),
      }),
    );
    const block = create(BlockSchema, {
      header: headerBytes,
      txs: txs.map((t) => t.bytes),
      lastCommit: lastCommitBytes,
      evidence: evidence.map((e) => e.ev),
      dag,
    });
    return {
      height,
      block,
      blockBytes: encode(BlockSchema, block),
      blockHash: this.profile.hash(headerBytes),
      headerBytes,
      result,
      txs,
    };
  }

  /** Merkle root of a block's encoded evidence. */
  private evidenceHash(evidence: DuplicateVoteEvidence[]): Uint8Array {
    return merkleRoot(
      (d) => this.profile.hash(d),
      evidence.map((e) => encode(DuplicateVoteEvidenceSchema, e)),
    );
  }

  private checkEvidence(ev: DuplicateVoteEvidence): ReturnType<typeof checkEvidence> {
    return checkEvidence(this.profile, this.chainId, (h) => this.knownValidatorsAt(h), ev);
  }

  /** validatorsAt, or undefined for a height with no set (yet). */
  private knownValidatorsAt(height: number): Validator[] | undefined {
    if (!Number.isSafeInteger(height) || height < 1 || height > this._height + 1) return undefined;
    return this.validatorsAt(height);
  }

  /**
   * Keep double-sign evidence for the next block this node proposes; false when it is not
   * valid evidence, or is already pooled or committed.
   */
  addEvidence(ev: DuplicateVoteEvidence): boolean {
    const c = this.checkEvidence(ev);
    if (!c.ok) return false;
    const key = evidenceKey(c.json);
    if (this.evidencePool.has(key) || this.executor.evidenceCommitted(key)) return false;
    this.evidencePool.set(key, { ev, json: c.json });
    return true;
  }

  /**
   * Check a block received from a peer as the next block of this chain and re-execute it:
   * header linkage, validator set, the previous block's commit, tx root, and the roots the
   * proposer claimed against our own execution. Returns the executed block, ready to commit.
   * Throws ArchiError(BLOCK_INVALID) naming the first mismatch, or BLOCK_GAS_EXCEEDED when its
   * receipts charge more than params.maxBlockGas.
   */
  validateBlock(blockBytes: Uint8Array): ProposedBlock {
    const bad = (why: string): never => {
      throw new ArchiError('BLOCK_INVALID', why);
    };
    const block = decode(BlockSchema, blockBytes, 'BAD_REQUEST');
    const header = decode(HeaderSchema, block.header, 'BAD_REQUEST');
    const height = this._height + 1;
    const hash = (d: Uint8Array) => this.profile.hash(d);
    if (header.chainId !== this.chainId) bad(`block is for chain ${header.chainId}`);
    if (Number(header.height) !== height) bad(`block height ${header.height}, expected ${height}`);
    if (!bytesEqual(header.prevHash, this._hash)) bad('block does not extend our latest block');
    if (Number(header.time) <= this._header.time) bad('block time does not increase');
    if (!bytesEqual(header.validatorsHash, this.hashValidators(this._config.validators)))
      bad('validators hash mismatch');
    const next = this.executor.nextValidators(this._config, height);
    if (!bytesEqual(header.nextValidatorsHash, this.hashValidators(next)))
      bad('next validators hash mismatch');
    if (header.txCount !== block.txs.length) bad('tx count mismatch');
    if (!bytesEqual(header.lastCommitHash, hash(block.lastCommit)))
      bad('last commit hash mismatch');
    if (height > 1) {
      if (block.lastCommit.length === 0) bad('block lacks the commit of the previous block');
      const lastCommit = decode(CommitSchema, block.lastCommit, 'BAD_REQUEST');
      const check = verifyCommit(
        this.profile,
        this.chainId,
        this.validatorsAt(height - 1),
        lastCommit,
        height - 1,
        this._hash,
      );
      if (!check.ok) bad(`last commit: ${check.reason}`);
    }
    const txs = block.txs.map((bytes) => {
      try {
        return this.mempool.findByBytes(bytes) ?? decodeTx(this.profile, bytes);
      } catch {
        return bad('block carries a malformed tx');
      }
    });
    if (!bytesEqual(header.evidenceHash, this.evidenceHash(block.evidence)))
      bad('evidence hash mismatch');
    const evidence: EvidenceJson[] = [];
    const seenEvidence = new Set<string>();
    for (const ev of block.evidence) {
      const c = this.checkEvidence(ev);
      if (!c.ok) return bad(`evidence: ${c.reason}`);
      const key = evidenceKey(c.json);
      if (seenEvidence.has(key) || this.executor.evidenceCommitted(key)) {
        bad('evidence is already committed');
      }
      seenEvidence.add(key);
      evidence.push(c.json);
    }
    // A block from a proposer that predates the graph carries none and runs serially.
    let dag: TxDeps | undefined;
    if (header.dagHash.length > 0) {
      if (!bytesEqual(header.dagHash, hash(block.dag))) bad('tx dependency graph hash mismatch');
      dag = decodeGraph(block.dag, txs.length);
    } else if (block.dag.length > 0) bad('block carries a tx dependency graph its header does not');
    let result: BlockResult;
    try {
      result = this.executor.executeBlock({
        height,
        time: Number(header.time),
        config: this._config,
        prevStateRoot: unhex(this._header.stateRoot),
        txs,
        evidence,
        dag,
      });
    } catch (e) {
      // Its own code, so a proposer over the gas limit is told apart from a broken block.
      if (e instanceof ArchiError && e.code === 'BLOCK_GAS_EXCEEDED') throw e;
      return bad(`execution failed: ${(e as Error).message}`);
    }
    if (!bytesEqual(result.txRoot, header.txRoot)) bad('tx root mismatch');
    if (!bytesEqual(result.stateRoot, header.stateRoot)) bad('state root mismatch');
    if (!bytesEqual(result.resultsRoot, header.resultsRoot)) bad('results root mismatch');
    return {
      height,
      block,
      blockBytes,
      blockHash: hash(block.header),
      headerBytes: block.header,
      result,
      txs,
    };
  }

  /** Persist a decided block with its commit, then announce it. */
  commitBlock(p: ProposedBlock, commit: Commit): void {
    if (p.height !== this._height + 1) {
      throw new ArchiError('INTERNAL', `commit of height ${p.height} while at ${this._height}`);
    }
    this.store.commitBlock({
      height: p.height,
      blockHash: p.blockHash,
      block: p.blockBytes,
      seenCommit: encode(CommitSchema, commit),
      txIds: p.result.txIds,
      receipts: p.result.receiptBytes,
      stateChanges: p.result.stateChanges,
      treeNodes: p.result.treeNodes,
    });
    this._height = p.height;
    this._hash = p.blockHash;
    this._header = headerToJson(decode(HeaderSchema, p.headerBytes, 'INTERNAL'));
    this.mempool.remove(p.txs.map((t) => t.txIdHex));
    for (const ev of p.block.evidence) {
      const c = this.checkEvidence(ev);
      if (c.ok) this.evidencePool.delete(evidenceKey(c.json));
    }
    const configChanged = p.result.configChanged;
    if (configChanged) this._config = configChanged;
    if (p.result.validatorsChanged) this.recordValidators(p.result.validatorsChanged);
    const event: BlockEvent = {
      height: p.height,
      hash: hex(p.blockHash),
      header: this._header,
      txs: p.txs.map((t, i) => ({ txId: t.txIdHex, receipt: receiptToJson(p.result.receipts[i]) })),
    };
    this.emit('block', event);
    // After 'block': listeners of 'config' (p2p membership) see the chain at its new height.
    if (configChanged) this.emit('config', this._config);
  }

  /** The encoded block at `height` as committed, for block sync; undefined when not held. */
  blockBytesAt(height: number): Uint8Array | undefined {
    return height >= 1 && height <= this._height ? this.store.getBlock(height) : undefined;
  }

  /** The +2/3 precommits this node saw for the block at `height`; undefined when not held. */
  seenCommitAt(height: number): Commit | undefined {
    const seen =
      height >= 1 && height <= this._height ? this.store.getSeenCommit(height) : undefined;
    return seen ? decode(CommitSchema, seen, 'INTERNAL') : undefined;
  }

  /** The ids of a block's txs, for a compact proposal. */
  txIds(p: ProposedBlock): Uint8Array[] {
    return p.txs.map((t) => t.txId);
  }

  /** Pending txs of the pool by id (undefined where it lacks one), to rebuild a compact proposal. */
  pendingTxs(ids: Uint8Array[]): Array<Uint8Array | undefined> {
    return ids.map((id) => this.mempool.get(hex(id))?.bytes);
  }

  /** The id of an encoded tx, or undefined when the bytes are not a tx. */
  txIdOf(bytes: Uint8Array): Uint8Array | undefined {
    try {
      return decodeTx(this.profile, bytes).txId;
    } catch {
      return undefined;
    }
  }

  private blockAt(height: number): Block | undefined {
    const bytes = this.store.getBlock(height);
    return bytes ? decode(BlockSchema, bytes, 'INTERNAL') : undefined;
  }

  /** JSON view of the block at height (or latest); throws NOT_FOUND. */
  getBlock(height: number | 'latest'): BlockJson {
    const h = height === 'latest' ? this._height : height;
    const block = Number.isSafeInteger(h) && h >= 0 ? this.blockAt(h) : undefined;
    if (!block)
      throw new ArchiError('NOT_FOUND', `no block at height ${height} (latest is ${this._height})`);
    const header = decode(HeaderSchema, block.header, 'INTERNAL');
    const seen = this.store.getSeenCommit(h);
    return {
      height: h,
      hash: hex(this.profile.hash(block.header)),
      header: headerToJson(header),
      headerBytes: hex(block.header),
      txs: block.txs.map((bytes) => {
        const t = decodeTx(this.profile, bytes);
        return {
          txId: t.txIdHex,
          contract: t.payload.contract,
          method: t.payload.method,
          org: t.payload.sender?.org ?? '',
        };
      }),
      lastCommit: block.lastCommit.length
        ? commitToJson(decode(CommitSchema, block.lastCommit, 'INTERNAL'))
        : null,
      commit: seen ? commitToJson(decode(CommitSchema, seen, 'INTERNAL')) : null,
    };
  }

  /**
   * A page of block summaries below `before` (default: from the latest block down), newest
   * first: at most `limit` (1 to BLOCK_PAGE_MAX) blocks, only those holding txs when
   * `nonEmpty`, looking at the BLOCK_SCAN_MAX heights below `before` at most. With `nonEmpty`,
   * empty heights are skipped by seeks in the receipts index and never read; each listed block
   * costs one read of its header (a view of the stored block, its txs not decoded).
   * `before` past the next height means the same as none. Throws BAD_REQUEST for a `before`
   * of 0 or a `limit` out of range.
   */
  listBlocks(opts: { before?: number; limit: number; nonEmpty: boolean }): BlockPageJson {
    const { before, limit, nonEmpty } = opts;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > BLOCK_PAGE_MAX) {
      throw new ArchiError('BAD_REQUEST', `limit must be 1 to ${BLOCK_PAGE_MAX}, got ${limit}`);
    }
    if (before !== undefined && !(Number.isSafeInteger(before) && before >= 1)) {
      throw new ArchiError(
        'BAD_REQUEST',
        `before must be a height of at least 1 (nothing is below 0), got ${before}`,
      );
    }
    const top = before === undefined ? this._height : Math.min(before - 1, this._height);
    const floor = Math.max(0, top - BLOCK_SCAN_MAX + 1);
    const blocks: BlockSummaryJson[] = [];
    // The lowest height looked at: the floor, unless the page filled up before it.
    let lowest = floor;
    if (nonEmpty) {
      let below = top + 1;
      while (blocks.length < limit) {
        const found = this.store.lastTxBlockBelow(below, floor);
        if (!found) break;
        blocks.push(this.blockSummary(found.height));
        below = found.height;
      }
      if (blocks.length === limit) lowest = below;
    } else {
      for (let h = top; h >= floor && blocks.length < limit; h--) {
        blocks.push(this.blockSummary(h));
        lowest = h;
      }
    }
    return { blocks, scannedFrom: lowest, scannedTo: top, next: lowest > 0 ? lowest : null };
  }

  /** Height, hash, time and tx count of a stored block, from its header alone. */
  private blockSummary(height: number): BlockSummaryJson {
    const stored = this.store.peekBlock(height);
    if (!stored) throw new ArchiError('INTERNAL', `block ${height} is missing from the store`);
    // Copied out of the transient view before anything else reads the store.
    const headerBytes = blockHeaderBytes(stored);
    const header = decode(HeaderSchema, headerBytes, 'INTERNAL');
    return {
      height,
      hash: hex(this.profile.hash(headerBytes)),
      time: Number(header.time),
      txCount: header.txCount,
    };
  }

  /** A committed tx with its receipt; throws NOT_FOUND. */
  getTx(txIdHex: string): TxJson {
    const id = unhex(txIdHex, 'tx id');
    const loc = this.store.getTxLocation(id);
    if (!loc) {
      const pending = this.mempool.has(txIdHex) ? ' (it is pending)' : '';
      throw new ArchiError('NOT_FOUND', `tx ${txIdHex} is not committed${pending}`);
    }
    const block = this.blockAt(loc.height)!;
    const t = decodeTx(this.profile, block.txs[loc.index]);
    const receipt = decode(ReceiptSchema, this.store.getReceipt(loc)!, 'INTERNAL');
    return {
      txId: t.txIdHex,
      height: loc.height,
      index: loc.index,
      chainId: t.payload.chainId,
      contract: t.payload.contract,
      method: t.payload.method,
      args: utf8Text(t.payload.args),
      sender: { org: t.payload.sender?.org ?? '' },
      timestamp: Number(t.payload.timestamp),
      receipt: receiptToJson(receipt),
    };
  }

  /** Whether a tx id is committed, pending or unknown. */
  txStatus(txIdHex: string): 'committed' | 'pending' | 'unknown' {
    if (this.store.hasTx(unhex(txIdHex, 'tx id'))) return 'committed';
    return this.mempool.has(txIdHex) ? 'pending' : 'unknown';
  }

  private prove(key: string): ProvenRead {
    const tree = new SparseMerkleTree((d) => this.profile.hash(d), this.reader);
    const value = this.reader.get(key);
    const proof = tree.prove(unhex(this._header.stateRoot), utf8Bytes(key));
    return { key, value: value ? hex(value) : null, proof: proofToJson(proof) };
  }

  /** Run a read-only contract method on the latest state, optionally with proofs of every key it read. */
  query(contract: string, method: string, args: unknown, withProof: boolean): QueryAnswer {
    const r = this.executor.query(
      this._config,
      { height: this._height, time: this._header.time },
      contract,
      method,
      args,
    );
    const answer: QueryAnswer = {
      result: r.result,
      height: this._height,
      stateRoot: this._header.stateRoot,
    };
    if (withProof) {
      answer.proof = {
        height: this._height,
        stateRoot: this._header.stateRoot,
        reads: r.reads.map((k) => this.prove(k)),
      };
    }
    return answer;
  }

  /** Raw value of one contract key at the latest height with its proof. */
  stateWithProof(
    contract: string,
    key: string,
  ): ProvenRead & { height: number; stateRoot: string } {
    return {
      ...this.prove(stateKey(contract, key)),
      height: this._height,
      stateRoot: this._header.stateRoot,
    };
  }

  /** Close the signature verifier, the execution threads and the store. */
  async close(): Promise<void> {
    await this.verifier.close();
    await this.executor.close();
    await this.store.close();
  }
}
