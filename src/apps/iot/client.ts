/**
 * The iot contract through a node's RPC: its methods as txs (waited for) and its queries.
 * Contract refusals come back as ArchiErrors with their stable IOT_* code.
 */
import type { ArchiClient } from '../../sdk/client.ts';
import type { Identity } from '../../sdk/identity.ts';
import { AppContract, type AppResult, appError } from '../contract-client.ts';
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

/** A committed call of the iot contract. */
export type IotResult<T = any> = AppResult<T>;

/** The iot contract on one node. */
export class Iot extends AppContract {
  constructor(client: ArchiClient, contract = IOT_CONTRACT) {
    super(client, contract, iotErrorOf);
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
