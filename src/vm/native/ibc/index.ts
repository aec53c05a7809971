/**
 * `ibc`: the native contract of interchain communication (docs/INTERCHAIN.md): light clients
 * of counterparty chains (client.ts, on light-client.ts), attested clients of EVM chains
 * (attested-client.ts) and, beside them, packets, and the relayer's batches (relay-batch.ts).
 */
import type { NativeContract } from '../../context.ts';
import { attestedMethods } from './attested-client.ts';
import { clientMethods } from './client.ts';
import { IBC } from './keys.ts';
import { packetMethods } from './packets.ts';
import { relayMethods } from './relay-batch.ts';

export const ibcContract: NativeContract = {
  name: IBC,
  methods: {
    ...clientMethods,
    ...attestedMethods,
    ...packetMethods,
    ...relayMethods,
  },
};
