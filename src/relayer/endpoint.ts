/**
 * One chain as the relayer reaches it: its nodes (tried in turn when one cannot be reached),
 * the identity that signs its txs, and the backoff that spaces out attempts while none of its
 * nodes answers.
 */
import { ArchiClient } from '../sdk/client.ts';
import { isUnreachable } from '../sdk/errors.ts';
import type { Identity } from '../sdk/identity.ts';
import type { CommittedAnswer } from '../sdk/types.ts';
import { ArchiError } from '../errors/index.ts';
import { IBC } from '../sdk/ibc.ts';

/** How the relayer reaches one chain (the CLI resolves it from DIR[:CHAIN]). */
export interface ChainTarget {
  /** The chain id. */
  chainId: string;
  /** RPC base URLs of nodes hosting it, in order of preference. */
  nodes: string[];
  /** Signs the relayer's txs on this chain (any identity with a send role). */
  identity: Identity;
}

/** A committed tx's outcome, as the relayer judges it. */
export interface TxOutcome {
  ok: boolean;
  /** The receipt's code ('OK' when ok). */
  code: string;
  message: string;
  height: number;
  txId: string;
  result: unknown;
}

/** One message of an `ibc.relay` tx. */
export interface RelayMsg {
  method: 'updateClient' | 'recvPacket' | 'acknowledgePacket' | 'timeoutPacket';
  args: unknown;
}

/** What one message of an `ibc.relay` tx did (the contract's RelayResult). */
export type RelayMsgResult =
  | { method: string; ok: true; result: unknown }
  | { method: string; ok: false; code: string; message: string };

/** A committed `ibc.relay` tx: the tx's outcome and, when it ran, each message's. */
export interface RelayOutcome extends TxOutcome {
  /** One per message, in order; undefined when the tx as a whole was refused. */
  results?: RelayMsgResult[];
}

const BACKOFF_FIRST_MS = 500;
/** How long a chain's tx size limit is trusted before it is read again. */
const PARAMS_TTL_MS = 60_000;
const BACKOFF_MAX_MS = 30_000;

export class ChainEndpoint {
  readonly clients: ArchiClient[];
  private current = 0;
  private failures = 0;
  private retryAt = 0;
  private limit?: { bytes: number; at: number };

  constructor(
    readonly target: ChainTarget,
    /** Per request (a waited commit gets its wait on top). */
    requestTimeoutMs = 10_000,
  ) {
    if (target.nodes.length === 0) {
      throw new ArchiError('INVALID_ARGS', `chain ${target.chainId}: no node to reach it by`);
    }
    this.clients = target.nodes.map(
      (url) => new ArchiClient(url, { chainId: target.chainId, timeoutMs: requestTimeoutMs }),
    );
  }

  get chainId(): string {
    return this.target.chainId;
  }

  /** The client of the node that answered last. */
  client(): ArchiClient {
    return this.clients[this.current];
  }

  /** False while backing off after every node failed to answer. */
  ready(now = Date.now()): boolean {
    return now >= this.retryAt;
  }

  /** Whether the last attempt found no node answering. */
  get down(): boolean {
    return this.failures > 0;
  }

  /**
   * Run `fn` on a node of the chain: an unreachable node hands over to the next; when none
   * answers, the endpoint backs off (doubling up to 30 s) and the error is thrown. Any answer
   * of a node, error or not, is final.
   */
  async call<T>(fn: (c: ArchiClient) => Promise<T>): Promise<T> {
    let last: unknown;
    for (let i = 0; i < this.clients.length; i++) {
      const at = (this.current + i) % this.clients.length;
      try {
        const out = await fn(this.clients[at]);
        this.current = at;
        this.failures = 0;
        this.retryAt = 0;
        return out;
      } catch (e) {
        if (!isUnreachable(e)) throw this.tag(e);
        last = e;
      }
    }
    this.failures++;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(this.failures - 1, 10));
    this.retryAt = Date.now() + delay;
    throw this.tag(last);
  }

  /** Marks an error with this chain's id, so a round's log says which chain failed. */
  private tag(e: unknown): unknown {
    if (e instanceof Error && (e as { chainId?: string }).chainId === undefined) {
      Object.assign(e, { chainId: this.chainId });
    }
    return e;
  }

  /** The chain's largest tx in bytes (its `maxTxBytes` param), read at most once a minute. */
  async maxTxBytes(now = Date.now()): Promise<number> {
    if (!this.limit || now - this.limit.at > PARAMS_TTL_MS) {
      const config = await this.call((c) => c.config());
      this.limit = { bytes: config.params?.maxTxBytes ?? 64 * 1024, at: now };
    }
    return this.limit.bytes;
  }

  /** Submit the messages as one `ibc.relay` tx and wait for its receipt. */
  async relay(msgs: RelayMsg[], waitMs = 30_000): Promise<RelayOutcome> {
    const out: RelayOutcome = await this.submit('relay', { msgs }, waitMs);
    if (out.ok) out.results = (out.result as { results: RelayMsgResult[] }).results;
    return out;
  }

  /** Sign `method(args)` on the `ibc` contract, submit it and wait for its receipt. */
  async submit(method: string, args: unknown, waitMs = 30_000): Promise<TxOutcome> {
    const answer = (await this.call((c) =>
      c.send(
        this.target.identity,
        { contract: IBC, method, args },
        { wait: true, timeoutMs: waitMs },
      ),
    )) as CommittedAnswer;
    const r = answer.receipt;
    return {
      ok: r.status === 'ok',
      code: r.status === 'ok' ? 'OK' : r.code,
      message: r.message,
      height: answer.height,
      txId: answer.txId,
      result: r.result,
    };
  }
}
