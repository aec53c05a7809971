/** What a contract call sees of the chain: its own keys, the sender, the block, events and gas. */
import type { ChainConfig } from '../codec/index.ts';
import type { Role } from '../types/genesis.ts';

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
