/** Archipelago client SDK: RPC client, identities, tx signing and proof verification. */
export { type CryptoProfile, getProfile, type Signer } from '../crypto/profile.ts';
export { ArchiError, type ErrorCode } from '../types/errors.ts';
export type { SenderId, SignedTx } from '../types/tx.ts';
export { decodeTx } from '../types/tx.ts';
export { type BatchOptions, MAX_BATCH_TXS } from './batch.ts';
export {
  ArchiClient,
  type ClientOptions,
  normalizeRpcUrl,
  type SubmitOptions,
  type SubscribeOptions,
  type VerifyOptions,
} from './client.ts';
export {
  CONTRACT_MANAGE,
  type ContractMetaJson,
  Contracts,
  contractAddress,
  contractCodeHash,
  type LifecycleOptions,
  type LifecycleResult,
} from './contracts.ts';
export {
  appIdentity,
  type CreateAppInput,
  type CreatedApp,
  type GatewayApp,
  type GatewayAppFile,
  type GatewayAppInfo,
  GatewayAdmin,
  GatewayClient,
  type GatewayClientOptions,
  type GatewayDeployAnswer,
  type GatewayError,
  type GatewayIdentity,
  type GatewayKeyMode,
  type GatewayLoadRow,
  type GatewayRequestOptions,
  type GatewaySubscribeOptions,
  type GatewayTenant,
  type GatewayTxAnswer,
  type GatewayUsage,
  type GatewayUsageCounts,
  type GatewayUsageRow,
  type GatewayWaitOptions,
  makeCsr,
  makeUploadKeys,
  newReqId,
  readAppFile,
  type UploadIdentity,
  type UploadKey,
  type UsageQuery,
} from './gateway-client.ts';
export * from './governance.ts';
export {
  answerError,
  closedError,
  codedError,
  isUnreachable,
  proofInvalid,
  remoteError,
  timeoutError,
  unreachableError,
} from './errors.ts';
export * from './ibc.ts';
export { buildAndSign, type Call, Identity, type IdentityMode } from './identity.ts';
export { LightClient, type LightSource, validatorSetHash } from './light-client.ts';
export * from './org-keys.ts';
export * from './types.ts';
export {
  commitFromJson,
  type ValidatorInput,
  type VerifiedState,
  validatorsFromInput,
  verifyQueryProof,
  verifyStateProof,
} from './verify.ts';
