/**
 * The stored shape of a client, apart from the code of either client type: client.ts
 * (headers) and attested-client.ts (attestations) both read and write it, so it sits below both.
 */

/** A light client of one counterparty chain, as stored under `clients/<clientId>`. */
export interface ClientState {
  clientId: string;
  /** The counterparty's chain id. */
  chainId: string;
  /** The counterparty's crypto profile (independent of this chain's). */
  profile: 'standard' | 'gm';
  /** The counterparty's client of this chain. */
  counterpartyClientId: string;
  trustingPeriodMs: number;
  maxClockDriftMs: number;
  /** Highest verified counterparty height. */
  latestHeight: number;
  /** 0, or the height of the conflicting headers that froze the client. */
  frozenHeight: number;
  /** This chain's height at creation. */
  createdAt: number;
  /**
   * How the client learns the counterparty's state: `tendermint` (headers and state proofs;
   * absent in states stored before client types existed) or `attested` (facts attested by
   * this chain's validators, attested-client.ts). For `attested`, `chainId` is the EVM chain
   * id, `latestHeight` / `latestTime` the EVM block and time (ms) of the newest recorded fact.
   */
  type?: ClientType;
  /** Attested clients: the EVM bridge contract (0x and 40 lower-case hex digits). */
  bridge?: string;
  /** Attested clients: the EVM confirmations attestors wait before reading a value. */
  confirmations?: number;
  latestTime?: number;
}

export type ClientType = 'tendermint' | 'attested';
