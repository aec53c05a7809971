/**
 * The datashare contract through a node's RPC: its methods as txs (waited for) and its
 * queries. Contract refusals come back as ArchiErrors with their stable DATA_* code.
 */
import type { ArchiClient } from '../../sdk/client.ts';
import { AppContract, type AppResult, appError } from '../contract-client.ts';
import {
  type AuditEntry,
  DATA_CONTRACT,
  type DatasetRecord,
  dataErrorOf,
  type GrantView,
  type MemberRecord,
  type Meta,
} from './rules.ts';

/** The stable DATA_* error inside a contract revert, else `e` unchanged. */
export function dataError(e: unknown): unknown {
  return appError(e, dataErrorOf);
}

/** A committed call of the datashare contract. */
export type DataResult<T = any> = AppResult<T>;

/** What `fetch` answers: the dataset, the data key sealed to the caller, its audit entry. */
export interface FetchAnswer {
  dataset: DatasetRecord;
  sealedKey: string;
  seq: number;
}

/** The datashare contract on one node. */
export class Datashare extends AppContract {
  constructor(client: ArchiClient, contract = DATA_CONTRACT) {
    super(client, contract, dataErrorOf);
  }

  /** A dataset (null when unknown). */
  dataset(name: string): Promise<DatasetRecord | null> {
    return this.query('dataset', { name });
  }

  /** Page `page` of the datasets in publish order. */
  datasets(page = 0): Promise<{ total: number; page: number; datasets: DatasetRecord[] }> {
    return this.query('datasets', { page });
  }

  /** A dataset's grants, judged at the latest block's time. */
  grants(name: string): Promise<GrantView[]> {
    return this.query('grants', { name });
  }

  /** Page `page` of a dataset's audit trail, newest first. */
  audit(
    name: string,
    page = 0,
  ): Promise<{ name: string; total: number; page: number; entries: AuditEntry[] }> {
    return this.query('auditTrail', { name, page });
  }

  /** A member's enrolled certificate record (null when not enrolled). */
  member(org: string, user: string): Promise<MemberRecord | null> {
    return this.query('member', { org, user });
  }

  /** The enrolled members of `org`. */
  members(org: string): Promise<MemberRecord[]> {
    return this.query('members', { org });
  }

  /** How many datasets and fetches. */
  stats(): Promise<Meta> {
    return this.query('stats', null);
  }
}
