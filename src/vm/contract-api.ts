/**
 * The contract API (`archipelago/contract`): what a TypeScript contract sees. A contract is
 * a module whose exported functions are its methods, each `(ctx: Context, args) => result`:
 *
 * ```ts
 * import type { Context } from 'archipelago/contract';
 *
 * export function increment(ctx: Context, args: { by?: number }): number {
 *   const next = (ctx.state.get<number>('count') ?? 0) + (args?.by ?? 1);
 *   ctx.state.set('count', next);
 *   ctx.emit('Incremented', { count: next });
 *   return next;
 * }
 * ```
 *
 * It runs in a QuickJS sandbox with a fresh context per call: no clock (`Date` is absent),
 * no randomness (`Math.random` is absent), no timers, no I/O, no `eval` or `Function`
 * constructor. Values are JSON-safe plus bigint (for amounts). Every call is metered by
 * deterministic gas; running out of gas, memory, stack, call depth or return size reverts
 * the call with a receipt code. This file has no runtime dependencies: contracts are
 * bundled with it.
 */

/** A value contracts store, pass, return and emit: JSON plus bigint. */
export type Value = null | boolean | number | string | bigint | Value[] | { [key: string]: Value };

/** Roles of organization members (contracts calling contracts appear as `common`). */
export type Role = 'admin' | 'client' | 'consensus' | 'common';

/** Who called the method. */
export interface Sender {
  /** Organization id; empty when the caller is another contract. */
  readonly org: string;
  readonly role: Role;
  /** Account address (40 hex): of the signer's public key, or of the calling contract. */
  readonly id: string;
  /** Certificate common name or registered key name; `contract:<name>` for a contract. */
  readonly name: string;
}

/** The block the call runs in (a query sees the latest committed block). */
export interface Block {
  readonly height: number;
  /** Block time in milliseconds since the epoch: the only clock a contract has. */
  readonly time: number;
}

/** This contract's keys in the world state (stored as `<contract>/<key>`). */
export interface State {
  /** The value at `key`, or undefined when absent. */
  get<T extends Value = Value>(key: string): T | undefined;
  has(key: string): boolean;
  /** Store a value (JSON with sorted keys; bigint is kept as bigint). */
  set(key: string, value: Value): void;
  delete(key: string): void;
  /** Keys starting with `prefix` in key order with their values (at most `limit`, default 100, max 1000). */
  range<T extends Value = Value>(prefix: string, limit?: number): Array<[string, T]>;
}

/** What a method gets as its first argument. */
export interface Context {
  /** This contract's name. */
  readonly contract: string;
  /** The tx signer, or the calling contract for a nested call. */
  readonly sender: Sender;
  /** The calling contract's name for a nested call, null when called by a tx or query. */
  readonly caller: string | null;
  readonly block: Block;
  /** Id (hex) of the tx being executed; empty in a query. */
  readonly txId: string;
  /** True in a query: writes, events and calls that write fail with CONTRACT_READ_ONLY. */
  readonly readOnly: boolean;
  readonly state: State;
  /** Emit an event (in the receipt and on the WebSocket `events` topic); bigint becomes a decimal string. */
  emit(name: string, data?: Value): void;
  /**
   * Call a method of another contract (native or TypeScript) and return its result. The
   * callee sees this contract as its sender. Re-entering a contract already on the call
   * stack fails with REENTRANCY; any failure of the callee reverts the whole tx.
   */
  call<T extends Value = Value>(contract: string, method: string, args?: Value): T;
  /** Revert the call with CONTRACT_REVERTED and `message` unless `condition` holds. */
  require(condition: unknown, message?: string): asserts condition;
  /** Revert the call with CONTRACT_REVERTED. */
  revert(message?: string): never;
}

/** A contract method. */
export type Method<Args = any, Result extends Value | undefined = Value | undefined> = (
  ctx: Context,
  args: Args,
) => Result;
