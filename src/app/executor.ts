/**
 * Block executor: txs -> receipts, state changes and the new state root. It is the only
 * way consensus touches state, it does no I/O of its own (reads go through the given
 * readers, writes come back as a change set), and it is deterministic: it sees the block's
 * time and height, never a clock.
 */
import {
  type ChainConfig,
  create,
  encode,
  type Event,
  type Receipt,
  ReceiptSchema,
  type Validator,
  ValidatorSetSchema,
} from '../codec/index.ts';
import { merkleRoot } from '../codec/merkle.ts';
import type { CryptoProfile } from '../crypto/profile.ts';
import {
  type StateOverlay as Overlay,
  StateOverlay,
  type StateReader,
  stateKey,
  type TxAccess,
} from '../state/overlay.ts';
import { EMPTY_ROOT, type NodeReader, SparseMerkleTree } from '../state/smt.ts';
import { ArchiError } from '../types/errors.ts';
import { bytesEqual } from '../types/hex.ts';
import { checkJsonValue, jsonBytes, utf8Bytes } from '../types/json.ts';
import { type EvidenceJson, evidenceKey } from '../types/evidence.ts';
import type { DecodedTx } from '../types/tx.ts';
import {
  CONFIG_CONTRACT,
  CONFIG_KEY,
  decodeConfig,
  encodeConfig,
} from '../vm/native/chain-config.ts';
import { EVIDENCE_CONTRACT } from '../vm/native/evidence.ts';
import { nextValidators, promoteValidators } from '../vm/native/membership.ts';
import {
  type BlockInfo,
  type CallContext,
  type CallFrame,
  checkHookCaller,
  GAS,
  type NativeMethod,
  newFrame,
  type SenderInfo,
} from '../vm/context.ts';
import type { ContractRegistry } from '../vm/registry.ts';
import { type CallEnv, callContract, runNative } from '../vm/sandbox/runner.ts';
import { type CheckedTx, checkDecodedTx, type TxCheckEnv } from './tx-check.ts';
import { dependencyGraph, graphMismatch, type TxDeps } from './tx-dag.ts';

export interface ExecutorStore extends StateReader, NodeReader {
  hasTx(txId: Uint8Array): boolean;
}

export interface BlockInput {
  height: number;
  time: number;
  config: ChainConfig;
  prevStateRoot: Uint8Array;
  txs: DecodedTx[];
  /** Checked double-sign evidence the block carries; recorded in state under `evidence`. */
  evidence?: EvidenceJson[];
  /**
   * A proposer's budget, asked before each tx: true ends the block before that tx (at least
   * one tx is always taken). Validators never pass it: a block they get is executed whole.
   */
  full?: () => boolean;
  /**
   * A proposer's build: a tx after the first that would take the block's gas past
   * params.maxBlockGas ends the block and is left out, its writes taken back, so it stays in the
   * pool for a later block. Without it such a block is invalid (BLOCK_GAS_EXCEEDED).
   */
  proposing?: boolean;
  /**
   * The dependency graph the block carries: execution must give exactly this graph, and lets
   * independent txs run in parallel. Absent for blocks that carry none (then not checked).
   */
  dag?: TxDeps;
}

export interface BlockResult {
  receipts: Receipt[];
  receiptBytes: Uint8Array[];
  /** Ids of the txs the block carries: a budgeted proposal may take fewer than it was offered. */
  txIds: Uint8Array[];
  txRoot: Uint8Array;
  resultsRoot: Uint8Array;
  stateRoot: Uint8Array;
  stateChanges: Array<[Uint8Array, Uint8Array | null]>;
  treeNodes: Array<[Uint8Array, Uint8Array]>;
  /** The chain config stored by this block, when it wrote one; it rules from the next block. */
  configChanged?: ChainConfig;
  /** The validator set stored by this block, when it differs from the one the block started with. */
  validatorsChanged?: Validator[];
  /** The txs' dependency graph, as the block carries it (see app/tx-dag.ts). */
  dag: TxDeps;
}

/** The state of height 0: the genesis config, stored where the `chain_config` contract keeps it. */
export interface GenesisState {
  stateRoot: Uint8Array;
  stateChanges: Array<[Uint8Array, Uint8Array]>;
  treeNodes: Array<[Uint8Array, Uint8Array]>;
}

export interface QueryResult {
  result: unknown;
  /** Full state keys the query read, in first-read order; a proof covers exactly these. */
  reads: string[];
  gasUsed: number;
}

const CONFIG_STATE_KEY = stateKey(CONFIG_CONTRACT, CONFIG_KEY);

/** The most gas one block may charge (params.maxBlockGas); undefined: the chain has no gas limit. */
export function blockGasLimit(config: ChainConfig): bigint | undefined {
  const limit = config.params?.maxBlockGas ?? 0n;
  return limit > 0n ? limit : undefined;
}

const QUERY_SENDER: SenderInfo = { org: '', role: 'common', id: '', name: 'query' };
const QUERY_GAS_LIMIT = 50_000_000;
const RANGE_LIMIT = 1000;

class Gas {
  used = 0;
  constructor(private readonly limit: number) {}
  charge(n: number): void {
    this.used += n;
    if (this.used > this.limit)
      throw new ArchiError('OUT_OF_GAS', `gas limit ${this.limit} exceeded`);
  }
}

/** What every context of one tx or query shares: its state, gas, events, call stack and lookups. */
interface Run {
  state: Overlay;
  gas: Gas;
  events: Event[];
  frame: CallFrame;
  env: CallEnv;
  /** A query's recorded reads (full keys). */
  reads?: string[];
}

function newRun(registry: ContractRegistry, state: Overlay, gas: Gas, reads?: string[]): Run {
  return {
    state,
    gas,
    events: [],
    frame: newFrame(),
    env: { state, resolve: (c, m, mode) => registry.resolve(c, m, state, mode) },
    reads,
  };
}

function makeContext(
  contract: string,
  run: Run,
  base: {
    sender: SenderInfo;
    block: BlockInfo;
    txId: string;
    config: ChainConfig;
    readOnly: boolean;
  },
): CallContext {
  const { state, gas, events, reads } = run;
  const full = (key: string): string => {
    if (typeof key !== 'string' || key.length === 0 || key.length > 1024) {
      throw new ArchiError('CONTRACT_ERROR', 'state keys are strings of 1..1024 characters');
    }
    return stateKey(contract, key);
  };
  const writable = (): void => {
    if (base.readOnly) throw new ArchiError('CONTRACT_READ_ONLY', 'a query cannot write state');
  };
  const ctx: CallContext = {
    contract,
    ...base,
    frame: run.frame,
    get(key) {
      const k = full(key);
      reads?.push(k);
      const v = state.get(k);
      gas.charge(GAS.read + (v?.length ?? 0) * GAS.perReadByte);
      return v;
    },
    set(key, value) {
      writable();
      const k = full(key);
      gas.charge(GAS.write + (k.length + value.length) * GAS.perWriteByte);
      state.set(k, value);
    },
    delete(key) {
      writable();
      gas.charge(GAS.write);
      state.delete(full(key));
    },
    range(prefix, limit) {
      const p = stateKey(contract, prefix);
      const rows = state.range(p, Math.min(limit, RANGE_LIMIT));
      gas.charge(GAS.read * (1 + rows.length));
      return rows.map(([k, v]) => [k.slice(contract.length + 1), v]);
    },
    emit(name, data) {
      const bytes = jsonBytes(data, 'value', 'event data');
      gas.charge(GAS.event + (name.length + bytes.length) * GAS.perEventByte);
      events.push({ $typeName: 'archipelago.v1.Event', contract, name, data: bytes } as Event);
    },
    gas(n) {
      gas.charge(n);
    },
    derive(other, sender) {
      return makeContext(other, run, { ...base, sender });
    },
    call(target, method, args) {
      return callContract(run.env, ctx, target, method, args);
    },
    savepoint(fn) {
      const eventsAt = events.length;
      const emittedAt = run.frame.events;
      state.savepoint();
      try {
        const value = fn();
        state.releaseSavepoint();
        return { ok: true, value };
      } catch (e) {
        state.rollbackSavepoint();
        events.length = eventsAt;
        run.frame.events = emittedAt;
        if (e instanceof ArchiError && e.code !== 'OUT_OF_GAS') return { ok: false, error: e };
        throw e;
      }
    },
  };
  return ctx;
}

function sameValidators(a: Validator[], b: Validator[]): boolean {
  const bytes = (validators: Validator[]) =>
    encode(ValidatorSetSchema, create(ValidatorSetSchema, { validators }));
  return a.length === b.length && bytesEqual(bytes(a), bytes(b));
}

/** One tx's receipt and what it accessed. */
export interface TxOutcome {
  receipt: Receipt;
  access: TxAccess;
}

/** A tx run apart from its block (Executor.runIsolated): its outcome and the writes it kept. */
export interface IsolatedTx extends TxOutcome {
  writes: Array<[string, Uint8Array | null]>;
}

/** A validator's block to run along its dependency graph. */
export interface ParallelJob {
  height: number;
  time: number;
  config: ChainConfig;
  txs: DecodedTx[];
  dag: TxDeps;
  /** Per tx, whether this node already verified its signature (threads skip those). */
  verified: boolean[];
  /** Run tx `i` on this thread over `view` (which it must not change). */
  runHere(i: number, view: StateReader): IsolatedTx;
}

/** Runs a block's txs on other threads along its dependency graph (see app/exec-pool.ts). */
export interface ParallelExecution {
  /** Fewest txs worth handing to other threads. */
  readonly minTxs: number;
  /** Whether the threads are up (run() gives undefined until they are). */
  readonly ready: boolean;
  /** Blocks run on the threads, their txs, and blocks the threads could not run. */
  readonly stats: { blocks: number; txs: number; fallbacks: number };
  /**
   * Run the job over committed state as it is at the block's start, keeping each tx's writes
   * in `state` as the tx ends; each tx's outcome in block order, or undefined when the threads
   * cannot run it (the caller then runs the block on its own thread).
   */
  run(job: ParallelJob, state: StateOverlay): TxOutcome[] | undefined;
  close(): Promise<void>;
}

export class Executor {
  constructor(
    private readonly env: TxCheckEnv,
    private readonly store: ExecutorStore,
    /** Execution threads for validating large blocks; without them blocks run serially. */
    readonly parallel?: ParallelExecution,
  ) {
    // Admission (no overlay) finds user contracts in committed state.
    env.registry.bindState(store);
  }

  get profile(): CryptoProfile {
    return this.env.profile;
  }

  /** Stop the execution threads, if any. */
  async close(): Promise<void> {
    await this.parallel?.close();
  }

  /** The genesis state of a chain whose genesis gives `config`. */
  genesisState(config: ChainConfig): GenesisState {
    const key = utf8Bytes(CONFIG_STATE_KEY);
    const value = encodeConfig(config);
    const tree = new SparseMerkleTree((d) => this.env.profile.hash(d), this.store);
    const { root, newNodes } = tree.update(EMPTY_ROOT, [{ key, value }]);
    return { stateRoot: root, stateChanges: [[key, value]], treeNodes: newNodes };
  }

  /** The chain config in committed state; throws INTERNAL when there is none. */
  storedConfig(): ChainConfig {
    const bytes = this.store.get(CONFIG_STATE_KEY);
    if (!bytes) throw new ArchiError('INTERNAL', 'chain config missing from state');
    return decodeConfig(bytes);
  }

  /**
   * The validator set of height `height + 1` given the config at the start of block
   * `height`; known before the block runs, since changes apply two heights on.
   */
  nextValidators(config: ChainConfig, height: number): Validator[] {
    return nextValidators(config, height);
  }

  /** Whether double-sign evidence with this key (`evidenceKey`) is in committed state. */
  evidenceCommitted(key: string): boolean {
    return this.store.get(stateKey(EVIDENCE_CONTRACT, key)) !== undefined;
  }

  /**
   * The end of every block: a validator set due at the next height becomes the stored set
   * (see vm/native/membership.ts). Such a set was decided at least a block ago, so the
   * config this block started with already lists it; that spares empty blocks a decode.
   */
  private endBlock(input: BlockInput, state: Overlay): void {
    const next = BigInt(input.height + 1);
    if (!input.config.pendingValidators.some((u) => u.height === next)) return;
    const stored = state.get(CONFIG_STATE_KEY);
    if (!stored) throw new ArchiError('INTERNAL', 'chain config missing from state');
    const promoted = promoteValidators(decodeConfig(stored), input.height);
    if (!promoted) return;
    state.set(CONFIG_STATE_KEY, encodeConfig(promoted));
    state.commitTx();
  }

  /**
   * Execute a block's txs in block order (or, for a validator with execution threads, in
   * parallel along the block's dependency graph, with the same outcome). A tx that fails any
   * check or throws gets an error receipt and leaves no state change. A block carrying a
   * duplicate tx, whose graph is not the one its execution gives (BLOCK_INVALID), or of more
   * than one tx whose receipts charge more gas than params.maxBlockGas (BLOCK_GAS_EXCEEDED),
   * is invalid.
   */
  executeBlock(input: BlockInput): BlockResult {
    const hash = (d: Uint8Array) => this.env.profile.hash(d);
    const block: BlockInfo = { height: input.height, time: input.time };
    let state = new StateOverlay(this.store);
    let outcomes: TxOutcome[] | undefined;
    const parallel = this.parallel;
    if (input.dag && !input.proposing && parallel && input.txs.length >= parallel.minTxs) {
      const seen = new Set<string>();
      for (const tx of input.txs) this.takeOnce(input.height, tx, seen);
      outcomes = parallel.run(
        {
          height: input.height,
          time: input.time,
          config: input.config,
          txs: input.txs,
          dag: input.dag,
          verified: input.txs.map((t) => this.env.sigCache.has(t)),
          runHere: (i, view) => this.runIsolated(input.config, input.txs[i], block, view),
        },
        state,
      );
      if (outcomes) this.checkBlockGas(input, outcomes);
      // Threads that cannot run it now leave a half-applied overlay: start over serially.
      else state = new StateOverlay(this.store);
    }
    outcomes ??= this.executeSerially(input, block, state);
    const receipts = outcomes.map((o) => o.receipt);
    const dag = dependencyGraph(outcomes.map((o) => o.access));
    const mismatch = input.dag && graphMismatch(dag, input.dag);
    if (mismatch) {
      throw new ArchiError(
        'BLOCK_INVALID',
        `block ${input.height}: its tx dependency graph is not the one its execution gives: ${mismatch}`,
      );
    }
    for (const e of input.evidence ?? []) {
      state.set(
        stateKey(EVIDENCE_CONTRACT, evidenceKey(e)),
        jsonBytes({ ...e, committedAt: input.height }),
      );
      state.commitTx();
    }
    this.endBlock(input, state);
    const changes = state.changes();
    const stateChanges: Array<[Uint8Array, Uint8Array | null]> = changes.map(([k, v]) => [
      utf8Bytes(k),
      v,
    ]);
    const tree = new SparseMerkleTree(hash, this.store);
    const updated = tree.update(
      input.prevStateRoot,
      stateChanges.map(([key, value]) => ({ key, value })),
    );
    const receiptBytes = receipts.map((r) => encode(ReceiptSchema, r));
    // One receipt per tx taken.
    const txIds = input.txs.slice(0, receipts.length).map((t) => t.txId);
    const result: BlockResult = {
      receipts,
      receiptBytes,
      txIds,
      txRoot: merkleRoot(hash, txIds),
      resultsRoot: merkleRoot(hash, receiptBytes),
      stateRoot: updated.root,
      stateChanges,
      treeNodes: updated.newNodes,
      dag,
    };
    const config = changes.find(([k]) => k === CONFIG_STATE_KEY);
    if (config) {
      if (!config[1]) throw new ArchiError('INTERNAL', 'a block deleted the chain config');
      result.configChanged = decodeConfig(config[1]);
      const validators = result.configChanged.validators;
      if (!sameValidators(validators, input.config.validators)) {
        result.validatorsChanged = validators;
      }
    }
    return result;
  }

  /** Run the block's txs one after another on this thread, stopping where a proposer's budget ends. */
  private executeSerially(input: BlockInput, block: BlockInfo, state: StateOverlay): TxOutcome[] {
    const outcomes: TxOutcome[] = [];
    const seen = new Set<string>();
    const gasLimit = blockGasLimit(input.config);
    let gasUsed = 0n;
    for (const tx of input.txs) {
      if (outcomes.length > 0 && input.full?.()) break;
      this.takeOnce(input.height, tx, seen);
      // A block's first tx is taken whatever its gas, as the time budget takes one: a tx's own
      // limit is not bounded by the block's, so a large tx would otherwise never be included.
      const cap = outcomes.length > 0 ? gasLimit : undefined;
      // Only the tx's own gas tells whether it fits, so it runs first and may be taken back.
      if (cap !== undefined && input.proposing) state.mark();
      const outcome = this.runTx(input.config, tx, block, state);
      gasUsed += outcome.receipt.gasUsed;
      if (cap !== undefined && gasUsed > cap) {
        if (!input.proposing) throw this.gasExceeded(input, outcomes.length, gasUsed, cap);
        state.rollbackToMark();
        break;
      }
      outcomes.push(outcome);
    }
    return outcomes;
  }

  /** Throws TX_DUPLICATE when `tx` is in `seen` (earlier in its block) or committed; else adds it. */
  private takeOnce(height: number, tx: DecodedTx, seen: Set<string>): void {
    if (seen.has(tx.txIdHex) || this.store.hasTx(tx.txId)) {
      throw new ArchiError('TX_DUPLICATE', `block ${height} carries duplicate tx ${tx.txIdHex}`);
    }
    seen.add(tx.txIdHex);
  }

  /** A validator's check of params.maxBlockGas over receipts already made (see executeSerially). */
  private checkBlockGas(input: BlockInput, outcomes: TxOutcome[]): void {
    const cap = blockGasLimit(input.config);
    if (cap === undefined) return;
    let gasUsed = 0n;
    outcomes.forEach((o, i) => {
      gasUsed += o.receipt.gasUsed;
      if (i > 0 && gasUsed > cap) throw this.gasExceeded(input, i, gasUsed, cap);
    });
  }

  private gasExceeded(input: BlockInput, i: number, gasUsed: bigint, cap: bigint): ArchiError {
    return new ArchiError(
      'BLOCK_GAS_EXCEEDED',
      `block ${input.height} charges more gas than its limit ${cap}: ${gasUsed} with its tx ${i} (${input.txs[i].txIdHex}, counting from 0)`,
    );
  }

  /** Run one tx over `state` as block execution does and keep its writes there. */
  private runTx(
    config: ChainConfig,
    tx: DecodedTx,
    block: BlockInfo,
    state: StateOverlay,
  ): TxOutcome {
    const receipt = this.executeTx(config, tx, block, state);
    return { receipt, access: state.takeAccess() };
  }

  /**
   * Run one tx over `view` without changing it, as block execution would at that point of the
   * block; its outcome and the writes it kept (key order). Parallel execution runs txs so.
   */
  runIsolated(config: ChainConfig, tx: DecodedTx, block: BlockInfo, view: StateReader): IsolatedTx {
    const state = new StateOverlay(view);
    const outcome = this.runTx(config, tx, block, state);
    return { ...outcome, writes: state.changes() };
  }

  private executeTx(
    config: ChainConfig,
    tx: DecodedTx,
    block: BlockInfo,
    state: StateOverlay,
  ): Receipt {
    const gas = new Gas(Number(tx.payload.gasLimit));
    const run = newRun(this.env.registry, state, gas);
    const events = run.events;
    try {
      gas.charge(GAS.txBase + tx.bytes.length * GAS.perArgByte);
      const checked: CheckedTx = checkDecodedTx(this.env, config, tx, block.time, state);
      const p = checked.payload;
      const ctx = makeContext(p.contract, run, {
        sender: checked.sender,
        block,
        txId: tx.txIdHex,
        config,
        readOnly: false,
      });
      const result = this.runTop(ctx, checked.method, checked.args);
      state.commitTx();
      return create(ReceiptSchema, {
        txId: tx.txId,
        status: 0,
        gasUsed: BigInt(gas.used),
        returnValue: jsonBytes(result, 'value', 'the return value'),
        events,
      });
    } catch (e) {
      state.rollbackTx();
      const err =
        e instanceof ArchiError
          ? e
          : new ArchiError('CONTRACT_ERROR', (e as Error)?.message ?? String(e));
      return create(ReceiptSchema, {
        txId: tx.txId,
        status: 1,
        code: err.code,
        message: err.message,
        gasUsed: BigInt(Math.min(gas.used, Number(tx.payload.gasLimit))),
      });
    }
  }

  /** Run the target of a tx or query as the first frame of its call stack. */
  private runTop(ctx: CallContext, method: NativeMethod, args: unknown): unknown {
    // A user contract's runner puts it on the stack itself.
    return this.env.registry.isNative(ctx.contract)
      ? runNative(ctx, method, args)
      : method.run(ctx, args);
  }

  /** Run a read-only method against committed state, recording the keys it reads. */
  query(
    config: ChainConfig,
    block: BlockInfo,
    contract: string,
    methodName: string,
    args: unknown,
  ): QueryResult {
    // Query args arrive as parsed JSON from the RPC: bound them before anything walks them.
    checkJsonValue(args, 'args', 'args');
    checkHookCaller(null, contract, methodName);
    const overlay = new StateOverlay(this.store);
    const method = this.env.registry.method(contract, methodName, overlay, 'query');
    if (method.write) {
      throw new ArchiError(
        'CONTRACT_READ_ONLY',
        `${contract}.${methodName} writes state: send a tx`,
      );
    }
    const reads: string[] = [];
    const gas = new Gas(QUERY_GAS_LIMIT);
    const ctx = makeContext(contract, newRun(this.env.registry, overlay, gas, reads), {
      sender: QUERY_SENDER,
      block,
      txId: '',
      config,
      readOnly: true,
    });
    const result = this.runTop(ctx, method, args);
    checkJsonValue(result, 'value', 'the result');
    return { result, reads: [...new Set(reads)], gasUsed: gas.used };
  }
}
