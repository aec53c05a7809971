/**
 * The one declaration of the node's p2p channels: their numbers on the wire and their send
 * priority. Each channel belongs to one reactor (src/consensus/reactors, the tbft driver),
 * which alone sends on it and reads it.
 */
export const CHANNELS = {
  /** Proposals and votes (the tbft driver): sent first, so a round never waits behind gossip. */
  consensus: { id: 1, priority: 0 },
  /** Block sync status, requests and responses (BlockSyncReactor). */
  blocksync: { id: 3, priority: 1 },
  /** Misbehaviour evidence (EvidenceReactor). */
  evidence: { id: 4, priority: 2 },
  /** Transaction gossip (MempoolReactor): last, it is the bulk. */
  txs: { id: 2, priority: 3 },
} as const;

/** A channel's name in CHANNELS. */
export type ChannelName = keyof typeof CHANNELS;
