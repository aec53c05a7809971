/** Messages between the main thread (host) and the sandbox thread, as JSON over the channel. */

/** Run `method` of the contract whose code has `codeHash`; args and info are JSON text. */
export interface RunRequest {
  t: 'run';
  codeHash: string;
  name: string;
  method: string;
  args: string;
  info: string;
  /** Called by another contract: the result keeps bigint tagged. */
  nested: boolean;
  /**
   * The contract's values of keys it is likely to read (those its last call of this method
   * read), as JSON text or null when absent, taken without charge: its reads of these are
   * answered in the sandbox and sent to the host deferred, which charges and records them.
   */
  prefetch?: Prefetch;
}

/** State keys of a contract with their values as JSON text, null when absent. */
export type Prefetch = Array<[string, string | null]>;

/** Load code and list the functions it exports. */
export interface InspectRequest {
  t: 'inspect';
  name: string;
  code: string;
}

/** The code the sandbox asked for with `need`. */
export interface CodeMessage {
  t: 'code';
  code: string;
}

export type HostOp =
  | 'tick'
  | 'get'
  | 'has'
  | 'set'
  | 'del'
  | 'range'
  | 'emit'
  | 'call'
  | 'revert'
  | 'forbidden'
  | 'nomethod'
  | 'flush';

/** A contract asks the host for something (state, events, nested calls, gas for a tick). */
export interface HostRequest {
  t: 'host';
  op: HostOp;
  a?: string;
  b?: string;
  c?: string;
  n?: number;
  /**
   * Requests whose answer the contract does not wait for (state writes, events), deferred
   * to travel with this one: the host answers them first, in order, and the first refusal
   * is the answer to this request too (`flush` asks nothing else).
   */
  pre?: HostRequest[];
  /**
   * On a deferred `get` or `has`: what the sandbox answered from its prefetched values (a
   * value's JSON text, null when absent, or has's boolean); the host checks it.
   */
  seen?: string | boolean | null;
}

/** The host's answer to a HostRequest; `err` is final for the call. */
export type HostReply =
  | { t: 'ok'; v?: string | boolean | null }
  | { t: 'err'; code: string; message: string };

/** The sandbox does not hold the code of a run request. */
export interface NeedCode {
  t: 'need';
}

/** End of a run or inspect request. */
export type Done = (
  | { t: 'done'; ok: true; v: string }
  | { t: 'done'; ok: false; code: string; message: string; restart?: boolean }
) & {
  /** Deferred requests still to answer; the first refusal among them is the call's outcome. */
  pre?: HostRequest[];
};

export type ToWorker = RunRequest | InspectRequest | CodeMessage | HostReply;
export type ToMain = HostRequest | NeedCode | Done;
