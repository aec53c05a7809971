/** Inputs of the frozen codec vectors. */
import type { TxFields } from '../../../src/types/tx.ts';

export const VECTOR_TX: Omit<TxFields, 'sender'> = {
  chainId: 'vector-chain',
  contract: 'token',
  method: 'transfer',
  args: { to: '00112233445566778899aabbccddeeff00112233', amount: '42' },
  gasLimit: 1_000_000n,
  timestamp: 1_700_000_000_000,
  nonce: 7n,
};

export const VECTOR_HEADER = {
  chainId: 'vector-chain',
  height: 5n,
  time: 1_700_000_000_123n,
  prevHash: new Uint8Array(32).fill(1),
  txRoot: new Uint8Array(32).fill(2),
  stateRoot: new Uint8Array(32).fill(3),
  resultsRoot: new Uint8Array(32).fill(4),
  validatorsHash: new Uint8Array(32).fill(5),
  proposer: new Uint8Array(20).fill(6),
  lastCommitHash: new Uint8Array(32).fill(7),
  evidenceHash: new Uint8Array(32).fill(8),
  txCount: 1,
  nextValidatorsHash: new Uint8Array(32).fill(9),
};
