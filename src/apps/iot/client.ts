/**
 * The iot contract through a node's RPC: its methods as txs (waited for) and its queries.
 * Contract refusals come back as ArchiErrors with their stable IOT_* code.
 */
import type { ArchiClient } from '../../sdk/client.ts';
import type { Identity } from '../../sdk/identity.ts';
import { appError, sendAndWait } from '../contract-client.ts';
import {
  type AnchorRecord,
  type DeviceRecord,
  IOT_CONTRACT,
  iotErrorOf,
  type Meta,
} from './rules.ts';

/** The stable IOT_* error inside a contract revert, else `e` unchanged. */
export function iotError(e: unknown): unknown {
  return appError(e, iotErrorOf);
}

/** A committed iot tx and its result. */
export interface IotResult<T> {
  txId: string;
  height: number;
  result: T;
}

/** The iot contract on one node. */
export class Iot {
  constructor(
    readonly client: ArchiClient,
    readonly contract = IOT_CONTRACT,
  ) {}

  /** Send `method` as `identity` and wait for its commit; a refusal throws its IOT_* code. */
  async send<T>(
    identity: Identity,
    method: string,
    args: Record<string, unknown>,
    opts: { timeoutMs?: number } = {},
  ): Promise<IotResult<T>> {
    const call = { contract: this.contract, method, args };
    const { txId, height, receipt } = await sendAndWait(
      this.client,
      identity,
      call,
      iotErrorOf,
      opts,
    );
    return { txId, height, result: receipt.result as T };
  }

  /** Run a read-only method; a refusal throws its IOT_* code. */
  async query<T>(method: string, args: Record<string, unknown> | null): Promise<T> {
    try {
      return (await this.client.query(this.contract, method, args)).result as T;
    } catch (e) {
      throw iotError(e);
    }
  }

  addDevice(identity: Identity, name: string, publicKey: string, timeoutMs?: number) {
    return this.send<DeviceRecord>(identity, 'addDevice', { name, publicKey }, { timeoutMs });
  }

  /** Disable (`on` false) or enable a device, as its owner organization. */
  setEnabled(identity: Identity, id: string, on: boolean, timeoutMs?: number) {
    return this.send<DeviceRecord>(identity, on ? 'enable' : 'disable', { id }, { timeoutMs });
  }

  /** Anchor a batch's Merkle root; resolves with its committed record. */
  async anchor(
    identity: Identity,
    root: string,
    count: number,
    timeoutMs?: number,
  ): Promise<AnchorRecord> {
    return (await this.send<AnchorRecord>(identity, 'anchor', { root, count }, { timeoutMs }))
      .result;
  }

  device(id: string): Promise<DeviceRecord | null> {
    return this.query('device', { id });
  }

  deviceByName(org: string, name: string): Promise<DeviceRecord | null> {
    return this.query('deviceByName', { org, name });
  }

  devices(page = 0): Promise<{ total: number; page: number; devices: DeviceRecord[] }> {
    return this.query('devices', { page });
  }

  batch(seq: number): Promise<AnchorRecord | null> {
    return this.query('batch', { seq });
  }

  batches(page = 0): Promise<{ total: number; page: number; batches: AnchorRecord[] }> {
    return this.query('batches', { page });
  }

  stats(): Promise<Meta> {
    return this.query('stats', null);
  }
}
