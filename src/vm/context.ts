/** What a contract call sees of the chain: its own keys, the sender, the block, events and gas. */
import type { ChainConfig } from '../codec/index.ts';
import { ArchiError } from '../types/errors.ts';
import type { Role } from '../types/genesis.ts';
import { IBC } from './native/ibc/keys.ts';

export interface SenderInfo {
  org: string;
  role: Role;
  /** Address: hex of the first 20 bytes of the hash of the sender's public key. */
  id: string;
  /** Common name of the certificate, or the registered key's name. */
  name: string;
}

export interface BlockInfo {
  height: number;
  time: number;
}

/** The call stack of one tx or query, shared by every call it makes (native or sandboxed). */
export interface CallFrame {
  /** Contracts running now, outermost first: re-entry and call depth are judged on it. */
  readonly stack: string[];
  /** Sandbox interrupt ticks so far (LIMITS.ticksPerCall bounds the whole tx). */
  ticks: number;
  /** Events sandboxed contracts emitted so far (LIMITS.eventsPerCall bounds the whole tx). */
  events: number;
}

/** A fresh call stack for a tx or query. */
export function newFrame(): CallFrame {
  return { stack: [], ticks: 0, events: 0 };
}

/** What `CallContext.savepoint` made of its function: its value, or the error that dropped its work. */
export type Saved<T> = { ok: true; value: T } | { ok: false; error: ArchiError };

export interface CallContext {
  readonly contract: string;
  readonly sender: SenderInfo;
  readonly block: BlockInfo;
  readonly txId: string;
  readonly config: ChainConfig;
  readonly readOnly: boolean;
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): void;
  delete(key: string): void;
  /** Keys of this contract starting with prefix, in order, with values. */
  range(prefix: string, limit: number): Array<[string, Uint8Array]>;
  emit(name: string, data: unknown): void;
  /** Charge gas; throws ArchiError(OUT_OF_GAS) past the tx's limit. */
  gas(amount: number): void;
  /**
   * A context for a nested call into `contract` as `sender`, sharing this call's state
   * overlay, gas, events, read-only flag and recorded reads.
   */
  derive(contract: string, sender: SenderInfo): CallContext;
  /** The call stack this call belongs to (plumbing for nested calls, not contract logic). */
  readonly frame: CallFrame;
  /**
   * Call `method` of another contract (native or TypeScript) as this contract: the callee's
   * sender is `contract:<this contract>`, with the sandbox's nested-call rules (call depth, no
   * re-entry of a running contract, read-only in a query, IBC hooks only from `ibc`). Args and
   * result are JSON values (a TypeScript callee's bigint comes back as a decimal string).
   */
  call(contract: string, method: string, args: unknown): unknown;
  /**
   * Run `fn`. If it throws an ArchiError other than OUT_OF_GAS (gas ends the whole tx), the
   * state writes and events made inside are dropped and the error is returned; any other
   * throw goes on up (after the same drop).
   */
  savepoint<T>(fn: () => T): Saved<T>;
}

/** Methods of a port contract that only the `ibc` contract may call (docs/INTERCHAIN.md). */
export const IBC_HOOKS: ReadonlySet<string> = new Set(['onRecv', 'onAck', 'onTimeout']);

/**
 * Refuses a call of an IBC hook by anyone but `ibc` with IBC_FORBIDDEN; `caller` is the calling
 * contract, null for a tx or a query.
 */
export function checkHookCaller(caller: string | null, contract: string, method: string): void {
  if (IBC_HOOKS.has(method) && caller !== IBC) {
    throw new ArchiError(
      'IBC_FORBIDDEN',
      `${contract}.${method} is an IBC hook: only the ${IBC} contract may call it (called by ${caller === null ? 'a tx or query' : caller})`,
    );
  }
}

export interface NativeMethod {
  /** Whether the method writes state (write methods need a tx; queries cannot run them). */
  readonly write: boolean;
  run(ctx: CallContext, args: unknown): unknown;
}

export interface NativeContract {
  readonly name: string;
  readonly methods: Readonly<Record<string, NativeMethod>>;
}

/** Gas schedule: deterministic prices of host operations. */
export const GAS = {
  txBase: 1000,
  perArgByte: 2,
  read: 50,
  perReadByte: 1,
  write: 200,
  perWriteByte: 10,
  event: 100,
  perEventByte: 5,
  /** One sandboxed (TypeScript) contract call: a fresh QuickJS runtime and context. */
  contractCall: 2000,
  /** Per byte of contract code loaded for a call. */
  perCodeByte: 1,
  /** Each host call a sandboxed contract makes (state, emit, call, ...), on top of its own price. */
  hostCall: 20,
  /** Each QuickJS interrupt-handler invocation (about 10,000 interpreter polls, ~0.25 ms). */
  interruptTick: 12_500,
} as const;
