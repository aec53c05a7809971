/**
 * LMDB storage of one chain: blocks, commits, receipts, the tx index, the flat world
 * state and the state tree's nodes. A block and everything it changes are written in
 * one LMDB write transaction, so after a crash a block is either wholly there or absent.
 */
import { type Database, open, type RootDatabase } from 'lmdb';
import { utf8Bytes, utf8Text } from '../types/json.ts';

export interface TxLocation {
  height: number;
  index: number;
}

/** Everything a committed block changes, written atomically by commitBlock. */
export interface BlockWrite {
  height: number;
  blockHash: Uint8Array;
  block: Uint8Array; // encoded Block
  seenCommit?: Uint8Array; // encoded Commit that committed this block
  txIds: Uint8Array[];
  receipts: Uint8Array[]; // encoded Receipt, same order as txIds
  stateChanges: Array<[key: Uint8Array, value: Uint8Array | null]>;
  treeNodes: Array<[hash: Uint8Array, node: Uint8Array]>;
}

type Bin = Database<Buffer, Buffer>;

function heightKey(h: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(h));
  return b;
}

function receiptKey(h: number, i: number): Buffer {
  const b = Buffer.allocUnsafe(12);
  b.writeBigUInt64BE(BigInt(h));
  b.writeUInt32BE(i, 8);
  return b;
}

const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.length);
const LATEST = Buffer.from('latest');

/** The LMDB files of one chain. */
export class ChainStore {
  private constructor(
    /** The directory of the LMDB files. */
    readonly path: string,
    private readonly root: RootDatabase,
    private readonly blocks: Bin,
    private readonly hashes: Bin,
    private readonly commits: Bin,
    private readonly receipts: Bin,
    private readonly txIndex: Bin,
    private readonly state: Bin,
    private readonly tree: Bin,
    private readonly meta: Bin,
  ) {}

  /** Open (creating if needed) the store in directory `path`. */
  static open(path: string): ChainStore {
    const root = open({ path, compression: false, maxDbs: 16, mapSize: 64 * 1024 ** 3 });
    const db = (name: string): Bin =>
      root.openDB<Buffer, Buffer>({
        name,
        keyEncoding: 'binary',
        encoding: 'binary',
        compression: false,
      });
    return new ChainStore(
      path,
      root,
      db('blocks'),
      db('hashes'),
      db('commits'),
      db('receipts'),
      db('txindex'),
      db('state'),
      db('tree'),
      db('meta'),
    );
  }

  /**
   * Read what other threads have committed since this thread's last read: LMDB keeps a read
   * transaction open between reads, so another thread's later commit is not seen without this.
   */
  refresh(): void {
    this.root.resetReadTxn();
  }

  /** Height of the last committed block, or -1 for an empty store. */
  latestHeight(): number {
    const v = this.meta.get(LATEST);
    return v ? Number(v.readBigUInt64BE(0)) : -1;
  }

  getBlock(height: number): Uint8Array | undefined {
    return this.blocks.get(heightKey(height));
  }

  /**
   * The encoded block at `height` as a transient view: lmdb's getBinaryFast, which maps a
   * large value without copying it and puts a small one in a reused buffer. It is valid only
   * until the next read of this store, so copy what you keep (the header, say) at once.
   */
  peekBlock(height: number): Uint8Array | undefined {
    return this.blocks.getBinaryFast(heightKey(height));
  }

  /**
   * The highest height in [floor, below) whose block holds txs, with its tx count: one
   * reverse seek in the receipts, keyed (height, index) with every index 0..n-1 written, so
   * the first key found is the last tx of that block. Empty blocks cost nothing.
   */
  lastTxBlockBelow(below: number, floor = 0): { height: number; txCount: number } | undefined {
    if (below <= floor) return undefined;
    const start = receiptKey(below - 1, 0xffffffff);
    for (const key of this.receipts.getKeys({ start, reverse: true, limit: 1 })) {
      const height = Number(key.readBigUInt64BE(0));
      return height >= floor ? { height, txCount: key.readUInt32BE(8) + 1 } : undefined;
    }
    return undefined;
  }

  heightOfHash(hash: Uint8Array): number | undefined {
    const v = this.hashes.get(buf(hash));
    return v ? Number(v.readBigUInt64BE(0)) : undefined;
  }

  getSeenCommit(height: number): Uint8Array | undefined {
    return this.commits.get(heightKey(height));
  }

  getTxLocation(txId: Uint8Array): TxLocation | undefined {
    const v = this.txIndex.get(buf(txId));
    return v ? { height: Number(v.readBigUInt64BE(0)), index: v.readUInt32BE(8) } : undefined;
  }

  hasTx(txId: Uint8Array): boolean {
    return this.txIndex.doesExist(buf(txId));
  }

  getReceipt(loc: TxLocation): Uint8Array | undefined {
    return this.receipts.get(receiptKey(loc.height, loc.index));
  }

  getState(key: Uint8Array): Uint8Array | undefined {
    return this.state.get(buf(key));
  }

  /** Keys and values of the flat state whose key starts with `prefix`, in key order. */
  *rangeState(prefix: Uint8Array, limit = 1000): Generator<[Uint8Array, Uint8Array]> {
    const start = buf(prefix);
    let n = 0;
    for (const { key, value } of this.state.getRange({ start })) {
      if (n++ >= limit || key.length < start.length || !key.subarray(0, start.length).equals(start))
        return;
      yield [key, value];
    }
  }

  getTreeNode(hash: Uint8Array): Uint8Array | undefined {
    return this.tree.get(buf(hash));
  }

  /** Write a block and all it changes in one transaction, durably. */
  commitBlock(w: BlockWrite): void {
    const hk = heightKey(w.height);
    this.root.transactionSync(() => {
      this.blocks.putSync(hk, buf(w.block));
      this.hashes.putSync(buf(w.blockHash), hk);
      if (w.seenCommit) this.commits.putSync(hk, buf(w.seenCommit));
      for (let i = 0; i < w.txIds.length; i++) {
        const loc = receiptKey(w.height, i);
        this.txIndex.putSync(buf(w.txIds[i]), loc);
        this.receipts.putSync(loc, buf(w.receipts[i]));
      }
      for (const [k, v] of w.stateChanges) {
        if (v === null) this.state.removeSync(buf(k));
        else this.state.putSync(buf(k), buf(v));
      }
      for (const [h, n] of w.treeNodes) this.tree.putSync(buf(h), buf(n));
      this.meta.putSync(LATEST, hk);
    });
  }

  /** Replace the seen commit of a stored block (a later, fuller commit may arrive). */
  putSeenCommit(height: number, commit: Uint8Array): void {
    this.commits.putSync(heightKey(height), buf(commit));
  }

  getMeta(key: string): Uint8Array | undefined {
    return this.meta.get(Buffer.from(key));
  }

  putMeta(key: string, value: Uint8Array): void {
    this.meta.putSync(Buffer.from(key), buf(value));
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}

/**
 * The store as the executor and the state tree read it: committed state by string key, tree
 * nodes, and whether a tx is committed.
 */
export function storeReader(store: ChainStore): {
  get(key: string): Uint8Array | undefined;
  range(prefix: string, limit: number): Array<[string, Uint8Array]>;
  getNode(hash: Uint8Array): Uint8Array | undefined;
  hasTx(txId: Uint8Array): boolean;
} {
  return {
    get: (key) => store.getState(utf8Bytes(key)),
    range: (prefix, limit) =>
      [...store.rangeState(utf8Bytes(prefix), limit)].map(
        ([k, v]) => [utf8Text(k), v] as [string, Uint8Array],
      ),
    getNode: (h) => store.getTreeNode(h),
    hasTx: (id) => store.hasTx(id),
  };
}
