/** Node-to-node transport: mutual TLS 1.3, one channel per subsystem (see node.ts, frame.ts). */
export {
  BLOCKSYNC,
  CHANNEL_PRIORITY,
  type Channel,
  CONSENSUS,
  EVIDENCE,
  isChannel,
  PROTOCOL_VERSION,
  TXS,
} from './frame.ts';
export {
  DEFAULT_LIMITS,
  type P2PEvents,
  type P2PLimits,
  type P2PLimitsOptions,
  type P2PLogger,
  P2PNode,
  type P2POptions,
  type PeerCertInfo,
  type PeerInfo,
  type PeerQueueStats,
  parseAddress,
  resolveLimits,
} from './node.ts';
export type { ChannelLimit, QueueStats } from './queue.ts';
export {
  createTlsCa,
  issueTlsCert,
  TLS_NODE_OU,
  type TlsCa,
  type TlsIdentity,
  type TlsValidity,
} from './tls-certs.ts';
