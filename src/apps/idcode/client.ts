/**
 * The idcode contract through a node's RPC: its methods as txs (waited for) and queries, the
 * governance proposal that sets a root, and resolving a code with a proof checked against a
 * verified header: the view is rebuilt from the proven records, so nothing the node computed
 * is taken on trust. Contract refusals come back as ArchiErrors with the stable IDCODE_* code.
 */
import type { ArchiClient } from '../../sdk/client.ts';
import { codedError, proofInvalid } from '../../sdk/errors.ts';
import type { Identity } from '../../sdk/identity.ts';
import type { LightClient } from '../../sdk/light-client.ts';
import type { ReceiptJson } from '../../sdk/types.ts';
import type { VerifiedState } from '../../sdk/verify.ts';
import type { ArchiError } from '../../types/errors.ts';
import { canonicalJson } from '../canonical-json.ts';
import { appError, appReceiptError, sendAndWait } from '../contract-client.ts';
import { unhex } from '../../types/hex.ts';
import { IDCODE_CONTRACT } from './app.ts';
import {
  ancestorsOf,
  type CodeRecord,
  type CodeView,
  idcodeErrorOf,
  keys,
  parseCode,
  viewOf,
} from './rules.ts';

/** A committed idcode tx: the code after it. */
export interface IdcodeResult {
  txId: string;
  height: number;
  code: CodeView;
  receipt: ReceiptJson;
}

/** A code resolved with its proof checked (null: proven not issued). */
export interface ProvenCode {
  code: CodeView | null;
  verified: VerifiedState;
}

/** One page of a code's children. */
export interface ChildrenPage {
  code: string;
  total: number;
  page: number;
  pageSize: number;
  children: Array<{
    code: string;
    name: string;
    kind: string;
    owner: string;
    status: string;
    children: number;
  }>;
}

/** One page of a code's history, oldest first. */
export interface HistoryPage {
  code: string;
  total: number;
  page: number;
  pageSize: number;
  entries: Array<{
    action: string;
    org: string;
    by: string;
    height: number;
    txId: string;
    data: Record<string, unknown>;
  }>;
}

/** The stable IDCODE_* error inside a contract revert, else `e` unchanged. */
export function idcodeError(e: unknown): unknown {
  return appError(e, idcodeErrorOf);
}

/** The error of a failed receipt: its IDCODE_* code when the contract refused. */
export function receiptError(r: ReceiptJson, what: string): ArchiError {
  return appReceiptError(r, what, idcodeErrorOf);
}

/** The args of the `contract_call` proposal that hands root `code` to `org`. */
export function rootProposal(
  code: string,
  org: string,
  name?: string,
  contract = IDCODE_CONTRACT,
): Record<string, unknown> {
  const p = parseCode(code);
  if (!p || p.parent !== null) {
    throw codedError('IDCODE_BAD_FORMAT', `${code} is not a root (MA.<country: 3 digits>)`);
  }
  const args: Record<string, unknown> = { code, org };
  if (name !== undefined) args.name = name;
  return { contract, method: 'setRoot', args };
}

/** The idcode contract on one node. */
export class Idcode {
  constructor(
    readonly client: ArchiClient,
    readonly contract = IDCODE_CONTRACT,
  ) {}

  /** Send `method` as `identity` and wait for its commit; a refusal throws its IDCODE_* code. */
  async send(
    identity: Identity,
    method: string,
    args: Record<string, unknown>,
    opts: { timeoutMs?: number } = {},
  ): Promise<IdcodeResult> {
    const call = { contract: this.contract, method, args };
    const { txId, height, receipt } = await sendAndWait(
      this.client,
      identity,
      call,
      idcodeErrorOf,
      opts,
    );
    return { txId, height, code: receipt.result as CodeView, receipt };
  }

  /** Run a read-only method; a refusal throws its IDCODE_* code. */
  async query<T>(method: string, args: Record<string, unknown> | null): Promise<T> {
    try {
      return (await this.client.query(this.contract, method, args)).result as T;
    } catch (e) {
      throw idcodeError(e);
    }
  }

  /** The code as the node answers (null when not issued). */
  resolve(code: string): Promise<CodeView | null> {
    return this.query('resolve', { code });
  }

  /**
   * The code from proven state: the query's reads are checked against a header the light
   * client verified, and the view is rebuilt from the proven records of the code and its
   * ancestors; a node whose answer differs from them gets PROOF_INVALID.
   */
  async resolveProven(code: string, light: LightClient): Promise<ProvenCode> {
    let answer: Awaited<ReturnType<ArchiClient['query']>>;
    try {
      answer = await this.client.query(this.contract, 'resolve', { code }, { prove: true });
    } catch (e) {
      throw idcodeError(e);
    }
    const verified = await light.verifyQuery(this.client, answer);
    const proven = new Map((answer.proof?.reads ?? []).map((r) => [r.key, r.value]));
    const recordOf = (c: string): CodeRecord | null => {
      const key = `${this.contract}/${keys.code(c)}`;
      if (!proven.has(key)) throw proofInvalid(`the proof does not cover ${key}`);
      const value = proven.get(key);
      if (value === null || value === undefined) return null;
      return JSON.parse(new TextDecoder().decode(unhex(value, key))) as CodeRecord;
    };
    const own = recordOf(code);
    let view: CodeView | null = null;
    if (own !== null) {
      const lineage = [own];
      for (const a of ancestorsOf(code)) {
        const rec = recordOf(a);
        if (rec === null) throw proofInvalid(`${code} is stored without its ancestor ${a}`);
        lineage.push(rec);
      }
      view = viewOf(lineage);
    }
    if (canonicalJson(view) !== canonicalJson(answer.result)) {
      throw proofInvalid(`the node's answer for ${code} differs from its proven records`);
    }
    return { code: view, verified };
  }

  /** Page `page` (100 each, issue order) of a code's children. */
  children(code: string, page = 0): Promise<ChildrenPage> {
    return this.query('children', { code, page });
  }

  /** Page `page` (100 each, oldest first) of a code's history. */
  history(code: string, page = 0): Promise<HistoryPage> {
    return this.query('history', { code, page });
  }

  /** The roots and their owners. */
  roots(): Promise<Array<{ code: string; name: string; owner: string; delegate: string | null }>> {
    return this.query('roots', null);
  }

  /** Codes starting with `prefix`, in code order (at most `limit`, up to 100). */
  search(
    prefix: string,
    limit = 100,
  ): Promise<Array<{ code: string; name: string; kind: string; owner: string; status: string }>> {
    return this.query('search', { prefix, limit });
  }
}
