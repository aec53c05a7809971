/**
 * V8 flags a node process starts with (`archi up`, the systemd unit of `archi pack`, the
 * benches). A busy node allocates per tx a decoded tx, its receipt, JSON views and gossip
 * frames, nearly all short-lived. With V8's default young generation (16 MiB semi-spaces)
 * scavenges run many times per block and promote whatever is still in flight into the old
 * generation, whose collections then cost more the more chains a node hosts (two mempools
 * of pending txs stay live beside the in-flight ones). Lodestar raised it for the same reason
 * (ChainSafe/lodestar#2115); the closing note of issue 11 has the bench figures.
 * The flag must be given when the process starts: V8 sizes the young generation once.
 */
export const NODE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
