/** `chain_config`: the chain's configuration, stored in state; only governance changes it. */
import { type ChainConfig, ChainConfigSchema, decode, encode } from '../../codec/index.ts';
import { hex } from '../../types/hex.ts';
import type { ChainConfigJson, ValidatorJson } from '../../types/rpc-json.ts';
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

/** JSON view of a validator. */
export const validatorJson = (v: ChainConfig['validators'][number]): ValidatorJson => ({
  name: v.name,
  org: v.org,
  publicKey: hex(v.publicKey),
  power: Number(v.power),
});

/** JSON view of a chain config. */
export function configToJson(c: ChainConfig): ChainConfigJson {
  return {
    chainId: c.chainId,
    // The proto keeps these as strings; genesis validation admits only these values.
    crypto: c.crypto as ChainConfigJson['crypto'],
    identityMode: c.identityMode as ChainConfigJson['identityMode'],
    consensus: c.consensus,
    orgs: c.orgs.map((o) => ({
      id: o.id,
      caCert: o.caCert.length ? hex(o.caCert) : null,
      keys: o.keys.map((k) => ({ name: k.name, role: k.role, publicKey: hex(k.publicKey) })),
      tlsCaCert: o.tlsCaCert.length ? hex(o.tlsCaCert) : null,
    })),
    nodes: c.nodes.map((n) => ({
      name: n.name,
      org: n.org,
      publicKey: hex(n.publicKey),
      address: n.address || null,
    })),
    validators: c.validators.map(validatorJson),
    pendingValidators: c.pendingValidators.map((u) => ({
      height: Number(u.height),
      validators: u.validators.map(validatorJson),
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
          // Absent means no gas limit, as in the config: the view of a chain without one stays
          // what it was, since a contract may read it inside a tx and old blocks must replay.
          ...(c.params.maxBlockGas > 0n ? { maxBlockGas: Number(c.params.maxBlockGas) } : {}),
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
