/**
 * JSON shapes of the node's RPC answers (docs/RPC.md), shared by the node, the SDK and the
 * browser console. Types only and no imports, so any of them can use it.
 */

/** A block header. */
export interface HeaderJson {
  chainId: string;
  height: number;
  time: number;
  prevHash: string;
  txRoot: string;
  stateRoot: string;
  resultsRoot: string;
  validatorsHash: string;
  proposer: string;
  lastCommitHash: string;
  evidenceHash: string;
  txCount: number;
  /** Hash of the validator set of the next height. */
  nextValidatorsHash: string;
}

/** +2/3 precommits for a block. */
export interface CommitJson {
  height: number;
  round: number;
  blockHash: string;
  signatures: Array<{ validator: string; timestamp: number; signature: string }>;
}

/** An event a contract emitted. */
export interface EventJson {
  contract: string;
  name: string;
  data: unknown;
}

/** The outcome of a tx. */
export interface ReceiptJson {
  txId: string;
  status: 'ok' | 'error';
  code: string;
  message: string;
  gasUsed: number;
  result: unknown;
  events: EventJson[];
}

/** GET /v1/blocks/:height */
export interface BlockJson {
  height: number;
  hash: string;
  header: HeaderJson;
  headerBytes: string;
  txs: Array<{ txId: string; contract: string; method: string; org: string }>;
  lastCommit: CommitJson | null;
  commit: CommitJson | null;
}

/** One block in a GET /v1/blocks page. */
export interface BlockSummaryJson {
  height: number;
  hash: string;
  time: number;
  txCount: number;
}

/**
 * GET /v1/blocks?before&limit&nonEmpty: the blocks below `before` that match, newest first.
 * Every height from `scannedFrom` to `scannedTo` (inclusive) was looked at, and `blocks` holds
 * every match among them; `next` is the `before` of the following page (`scannedFrom`), or
 * null once the genesis block has been looked at.
 */
export interface BlockPageJson {
  blocks: BlockSummaryJson[];
  scannedFrom: number;
  scannedTo: number;
  next: number | null;
}

/** GET /v1/txs/:txId */
export interface TxJson {
  txId: string;
  height: number;
  index: number;
  chainId: string;
  contract: string;
  method: string;
  args: string;
  sender: { org: string };
  timestamp: number;
  receipt: ReceiptJson;
}

/** A validator as the RPC shows it (public key in hex). */
export interface ValidatorJson {
  name: string;
  org: string;
  publicKey: string;
  power: number;
}

/** GET /v1/config: the chain config (byte fields in hex). */
export interface ChainConfigJson {
  chainId: string;
  crypto: 'standard' | 'gm';
  identityMode: 'cert' | 'key';
  consensus: string;
  orgs: Array<{
    id: string;
    caCert: string | null;
    keys: Array<{ name: string; role: string; publicKey: string }>;
    tlsCaCert: string | null;
  }>;
  /** Member nodes; address is the p2p host:port governance recorded, if any. */
  nodes: Array<{ name: string; org: string; publicKey: string; address: string | null }>;
  validators: ValidatorJson[];
  /** Validator sets decided by governance and the first height each applies to. */
  pendingValidators: Array<{ height: number; validators: ValidatorJson[] }>;
  params: Record<string, number> | null;
  txRoles: string[];
  kvWriteRoles: string[];
  revokedCerts: string[];
  txTimeWindowMs: number;
  lifecyclePolicy: string;
  governancePolicy: string;
}

/** GET /v1/validators[/:height]: the validator set that decides (or decided) a height. */
export interface ValidatorSetJson {
  height: number;
  /** Merkle root of the encoded validators, as in that height's header. */
  hash: string;
  totalPower: number;
  validators: ValidatorJson[];
}

/** GET /v1/status */
export interface StatusJson {
  chainId: string;
  node: string;
  org: string;
  height: number;
  hash: string;
  stateRoot: string;
  time: number;
  crypto: 'standard' | 'gm';
  identityMode: 'cert' | 'key';
  consensus: string;
  validator: boolean;
  round: number;
  /** Consensus step (BFT nodes). */
  step?: string;
  /** Peer links; BFT nodes report {name, connected}. */
  peers: unknown[];
  /**
   * 'waiting' while the chain (as far as this node has synced it) does not list the node:
   * a node made by `archi org new` before a governance vote admits it. Absent on old nodes.
   */
  admission?: 'member' | 'waiting';
  mempool: { size: number; bytes: number };
  /** Every chain the node hosts, the first chain (the one `/v1/...` means) first. */
  chains?: ChainSummaryJson[];
}

/** One chain a node hosts: GET /v1/chains and status's `chains`. */
export interface ChainSummaryJson {
  id: string;
  height: number;
  hash: string;
  stateRoot: string;
  round: number;
  /** Whether this node votes on the chain. */
  validator: boolean;
  crypto: 'standard' | 'gm';
  consensus: string;
}

/** contract_manage list/info: metadata of a deployed TypeScript contract. */
export interface ContractMetaJson {
  name: string;
  version: number;
  codeHash: string;
  codeSize: number;
  status: 'active' | 'frozen' | 'revoked';
  methods: string[];
  deployer: { org: string; id: string };
  deployedAt: number;
  updatedAt: number;
}

/**
 * A packet as the `ibc` contract stores it, a relayer carries it and the `packet`/`packets`
 * queries answer (docs/INTERCHAIN.md, "Shapes").
 */
export interface IbcPacket {
  sequence: number;
  sourceClient: string;
  destClient: string;
  /** Counterparty height at which the packet times out; 0 = none. */
  timeoutHeight: number;
  /** Counterparty block time (ms) at which the packet times out; 0 = none. */
  timeoutTime: number;
  sourcePort: string;
  destPort: string;
  data: unknown;
}

/** What the receiving port made of a packet: its answer, or "CODE: message". */
export type IbcAck = { result: unknown } | { error: string };
