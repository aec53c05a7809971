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

/**
 * A packet between chains (docs/INTERCHAIN.md), as `onRecv`, `onAck` and `onTimeout` get it.
 * Clients are named on each side: `sourceClient` is the sender's client of the receiver,
 * `destClient` the receiver's client of the sender; ports are contract names.
 */
export interface Packet {
  readonly sequence: number;
  readonly sourceClient: string;
  readonly destClient: string;
  /** Receiving chain height from which the packet can no longer be received; 0 = none. */
  readonly timeoutHeight: number;
  /** Receiving chain block time (ms) from which the packet can no longer be received; 0 = none. */
  readonly timeoutTime: number;
  readonly sourcePort: string;
  readonly destPort: string;
  /** What the sender sent (bigint arrives as a decimal string). */
  readonly data: Value;
}

/** The receiver's answer to a packet: what its `onRecv` returned, or why it threw (`"CODE: message"`). */
export type Ack = { result: Value } | { error: string };

/** What `ctx.ibc.send` takes. At least one timeout is required. */
export interface SendPacket {
  /** This chain's client of the receiving chain. */
  client: string;
  /** The contract on the receiving chain whose `onRecv` gets the packet. */
  destPort: string;
  /** Any value up to 64 KiB of JSON (bigint is sent as a decimal string). */
  data: Value;
  /** Receiving chain height from which the packet times out. */
  timeoutHeight?: number;
  /** Receiving chain block time (ms) from which the packet times out. */
  timeoutTime?: number;
}

/** Interchain packets (the `ibc` contract), as this contract. */
export interface Ibc {
  /**
   * Send a packet to `destPort` on the chain of `client`; this contract is its source port,
   * so its `onAck` gets the answer, or its `onTimeout` the packet if it is not received in
   * time. Returns the packet's sequence number on this client.
   */
  send(packet: SendPacket): { sequence: number };
}

/**
 * IBC hooks, exported by a contract that takes part in packets. Only the `ibc` contract can
 * call them (a tx or another contract gets IBC_FORBIDDEN); `ctx.caller` is `"ibc"`.
 * `onRecv` returns the ack's result; if it throws, its writes and events are dropped and the
 * ack is `{error}`, while the packet still counts as received. A throw in `onAck` or
 * `onTimeout` fails the relayer's tx, so the packet stays pending until one succeeds.
 */
export type OnRecv = (ctx: Context, packet: Packet) => Value | undefined;
export type OnAck = (ctx: Context, args: { packet: Packet; ack: Ack }) => Value | undefined;
export type OnTimeout = (ctx: Context, packet: Packet) => Value | undefined;

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
  /** Interchain packets: `ctx.ibc.send(...)` is `ctx.call('ibc', 'send', ...)` in short. */
  readonly ibc: Ibc;
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
