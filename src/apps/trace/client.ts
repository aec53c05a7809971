/**
 * The trace contract through a node's RPC: its methods as txs (waited for) and queries, and
 * an item read with its proof checked against a verified header, the view rebuilt from the
 * proven records (item, batch, every event) so nothing the node computed is taken on trust.
 * Contract refusals come back as ArchiErrors with the stable TRACE_* code.
 */
import type { ArchiClient } from '../../sdk/client.ts';
import { proofInvalid } from '../../sdk/errors.ts';
import type { LightClient } from '../../sdk/light-client.ts';
import type { VerifiedState } from '../../sdk/verify.ts';
import { unhex } from '../../types/hex.ts';
import { canonicalJson } from '../canonical-json.ts';
import { AppContract, type AppResult, appError } from '../contract-client.ts';
import {
  type BatchRecord,
  type ItemView,
  itemFromRecords,
  type Reveal,
  type Recall,
  TRACE_CONTRACT,
  traceErrorOf,
} from './rules.ts';

/** A committed call of the trace contract. */
export type TraceResult<T = any> = AppResult<T>;

/** What `verify` answers when the code matched. */
export interface VerifyAnswer {
  serial: string;
  verdict: 'authentic' | 'counterfeit';
  first: Reveal;
  repeats: number;
  recalled: Recall | null;
  product: string;
  maker: string;
}

/** An item read with its proof checked (null: proven not registered). */
export interface ProvenItem {
  item: ItemView | null;
  verified: VerifiedState;
}

/** The stable TRACE_* error inside a contract revert, else `e` unchanged. */
export function traceError(e: unknown): unknown {
  return appError(e, traceErrorOf);
}

/** The trace contract on one node. */
export class Trace extends AppContract {
  constructor(client: ArchiClient, contract = TRACE_CONTRACT) {
    super(client, contract, traceErrorOf);
  }

  /** The item as the node answers (null when not registered). */
  item(serial: string): Promise<ItemView | null> {
    return this.query('item', { serial });
  }

  /** The item from proven state; a node whose answer differs gets PROOF_INVALID. */
  async itemProven(serial: string, light: LightClient): Promise<ProvenItem> {
    let answer: Awaited<ReturnType<ArchiClient['query']>>;
    try {
      answer = await this.client.query(this.contract, 'item', { serial }, { prove: true });
    } catch (e) {
      throw traceError(e);
    }
    const verified = await light.verifyQuery(this.client, answer);
    const proven = new Map((answer.proof?.reads ?? []).map((r) => [r.key, r.value]));
    let item: ItemView | null;
    try {
      item = itemFromRecords(serial, (k) => {
        const key = `${this.contract}/${k}`;
        if (!proven.has(key)) throw new Error(`the proof does not cover ${key}`);
        const v = proven.get(key);
        return v === null || v === undefined
          ? null
          : JSON.parse(new TextDecoder().decode(unhex(v, key)));
      });
    } catch (e) {
      throw proofInvalid((e as Error).message);
    }
    if (canonicalJson(item) !== canonicalJson(answer.result)) {
      throw proofInvalid(`the node's answer for ${serial} differs from its proven records`);
    }
    return { item, verified };
  }

  /** A batch (null when unknown). */
  batch(id: string): Promise<BatchRecord | null> {
    return this.query('batch', { batch: id });
  }

  /** Page `page` (100 each, registration order) of a batch's serials. */
  serials(
    id: string,
    page = 0,
  ): Promise<{ batch: string; total: number; page: number; pageSize: number; serials: string[] }> {
    return this.query('serials', { batch: id, page });
  }

  /** The organizations `maker` granted steps to. */
  roles(maker: string): Promise<Array<{ org: string; steps: string[] }>> {
    return this.query('roles', { maker });
  }
}
