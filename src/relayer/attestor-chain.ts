/**
 * The attestor's view of Archipelago over a node's API (src/evm/attestor.ts takes any
 * AttestorChain; the SDK may only be used from here up, docs/ARCHITECTURE.md).
 */
import type { AttestArgs, AttestorChain } from '../evm/attestor.ts';
import type { ArchiClient } from '../sdk/client.ts';
import type { Identity } from '../sdk/identity.ts';
import { ArchiError, type ErrorCode, isErrorCode } from '../types/errors.ts';

/**
 * `ibc` queries, and `attest` txs signed by `identity` (any send role: the validator's
 * consensus key signs only the digest inside) and waited for; a refusal rejects with its code.
 */
export function sdkAttestorChain(client: ArchiClient, identity: Identity): AttestorChain {
  return {
    query: async (method, args) => (await client.query('ibc', method, args)).result,
    attest: async (args: AttestArgs) => {
      const r = await client.send(
        identity,
        { contract: 'ibc', method: 'attest', args },
        { wait: true },
      );
      if (!('receipt' in r)) return null;
      const { receipt } = r;
      if (receipt.status !== 'ok') {
        const code: ErrorCode =
          receipt.code && isErrorCode(receipt.code) ? receipt.code : 'INTERNAL';
        throw new ArchiError(code, receipt.message ?? 'attest refused');
      }
      return receipt.result;
    },
  };
}
