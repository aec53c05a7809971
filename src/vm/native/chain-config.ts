/** `chain_config`: the chain's configuration, stored in state; read-only until governance lands. */
import { type ChainConfig, ChainConfigSchema, decode, encode } from '../../codec/index.ts';
import { hex } from '../../types/hex.ts';
import type { NativeContract } from '../context.ts';

export const CONFIG_CONTRACT = 'chain_config';
export const CONFIG_KEY = 'config';

/** Encoded config as stored in state. */
export function encodeConfig(c: ChainConfig): Uint8Array {
  return encode(ChainConfigSchema, c);
}

/** Decode the stored config. */
export function decodeConfig(bytes: Uint8Array): ChainConfig {
  return decode(ChainConfigSchema, bytes, 'INTERNAL');
}

/** JSON view of a chain config. */
export function configToJson(c: ChainConfig): Record<string, unknown> {
  return {
    chainId: c.chainId,
    crypto: c.crypto,
    identityMode: c.identityMode,
    consensus: c.consensus,
    orgs: c.orgs.map((o) => ({
      id: o.id,
      caCert: o.caCert.length ? hex(o.caCert) : null,
      keys: o.keys.map((k) => ({ name: k.name, role: k.role, publicKey: hex(k.publicKey) })),
    })),
    validators: c.validators.map((v) => ({
      name: v.name,
      org: v.org,
      publicKey: hex(v.publicKey),
      power: Number(v.power),
    })),
    params: c.params
      ? {
          maxBlockTxs: c.params.maxBlockTxs,
          maxBlockBytes: Number(c.params.maxBlockBytes),
          maxTxBytes: c.params.maxTxBytes,
          blockIntervalMs: c.params.blockIntervalMs,
          timeoutProposeMs: c.params.timeoutProposeMs,
          timeoutVoteMs: c.params.timeoutVoteMs,
          timeoutDeltaMs: c.params.timeoutDeltaMs,
        }
      : null,
    txRoles: c.txRoles,
    kvWriteRoles: c.kvWriteRoles,
    revokedCerts: c.revokedCerts,
    txTimeWindowMs: Number(c.txTimeWindowMs),
    lifecyclePolicy: c.lifecyclePolicy,
    governancePolicy: c.governancePolicy,
  };
}

export const chainConfigContract: NativeContract = {
  name: CONFIG_CONTRACT,
  methods: {
    get: {
      write: false,
      run(ctx) {
        return configToJson(ctx.config);
      },
    },
  },
};
