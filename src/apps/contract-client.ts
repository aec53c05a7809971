/**
 * What every app's client does the same way: send a method of its contract and wait for the
 * commit, and turn a contract's revert into the app's stable error code (each app's rules.ts
 * says how its codes are found in a revert message).
 */
import type { ArchiClient } from '../sdk/client.ts';
import { codedError, remoteError } from '../sdk/errors.ts';
import type { Identity } from '../sdk/identity.ts';
import type { CommittedAnswer, ReceiptJson } from '../sdk/types.ts';
import { ArchiError } from '../types/errors.ts';

/** Finds an app's stable code in a revert message (the app's `...ErrorOf`). */
export type ErrorOf = (message: string) => { code: string; text: string } | undefined;

/** The app's stable error inside a contract revert, else `e` unchanged. */
export function appError(e: unknown, errorOf: ErrorOf): unknown {
  if (!(e instanceof ArchiError) || e.code !== 'CONTRACT_REVERTED') return e;
  const found = errorOf(e.message);
  return found ? codedError(found.code, found.text) : e;
}

/** The error of a failed receipt: the app's code when its contract refused. */
export function appReceiptError(r: ReceiptJson, what: string, errorOf: ErrorOf): ArchiError {
  const found = r.code === 'CONTRACT_REVERTED' ? errorOf(r.message) : undefined;
  if (found) return codedError(found.code, found.text);
  return remoteError(r.code, `${what}: ${r.message}`);
}

/** Send `method` of `contract` as `identity` and wait for its commit; a refusal throws the app's code. */
export async function sendAndWait(
  client: ArchiClient,
  identity: Identity,
  call: { contract: string; method: string; args: Record<string, unknown> },
  errorOf: ErrorOf,
  opts: { timeoutMs?: number } = {},
): Promise<{ txId: string; height: number; receipt: ReceiptJson }> {
  let answer: CommittedAnswer;
  try {
    answer = (await client.send(identity, call, {
      wait: true,
      timeoutMs: opts.timeoutMs,
    })) as CommittedAnswer;
  } catch (e) {
    throw appError(e, errorOf);
  }
  const r = answer.receipt;
  if (r.status !== 'ok') {
    throw appReceiptError(r, `${call.method} failed in block ${answer.height}`, errorOf);
  }
  return { txId: answer.txId, height: answer.height, receipt: r };
}

/** A committed call of an app's contract: where it landed, its result and its receipt. */
export interface AppResult<T = unknown> {
  txId: string;
  height: number;
  result: T;
  receipt: ReceiptJson;
}

/** An app's contract on one node: its methods sent and queried under the app's error codes. */
export class AppContract {
  constructor(
    readonly client: ArchiClient,
    readonly contract: string,
    private readonly errorOf: ErrorOf,
  ) {}

  /** Send `method` as `identity` and wait for its commit; a refusal throws the app's code. */
  async send<T = any>(
    identity: Identity,
    method: string,
    args: Record<string, unknown>,
    opts: { timeoutMs?: number } = {},
  ): Promise<AppResult<T>> {
    const call = { contract: this.contract, method, args };
    const r = await sendAndWait(this.client, identity, call, this.errorOf, opts);
    return { ...r, result: r.receipt.result as T };
  }

  /** Run a read-only method; a refusal throws the app's code. */
  async query<T = any>(method: string, args: Record<string, unknown> | null = null): Promise<T> {
    try {
      return (await this.client.query(this.contract, method, args)).result as T;
    } catch (e) {
      throw appError(e, this.errorOf);
    }
  }
}
