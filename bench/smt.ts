/**
 * State tree throughput: batches of changes into a pre-built tree, printed as JSON.
 *   node --import tsx bench/smt.ts [--leaves 200000] [--batch 10000] [--batches 10]
 *     [--hash sha256|sm3] [--impl createHash|oneshot]
 * --impl picks how the HashFn calls node:crypto: createHash(...).update().digest(), or the
 * one-shot crypto.hash() (Node >= 20.12), which allocates far less per call.
 * A batch mixes updates of existing keys (60%), inserts (30%) and deletes (10%), so the tree
 * keeps roughly its size. update() time includes hashing keys and values; persisting the new
 * nodes into the in-memory store is timed separately.
 */
import * as crypto from 'node:crypto';
import { MemoryNodeStore } from '../src/state/memory-nodes.ts';
import { EMPTY_ROOT, SparseMerkleTree, type TreeChange } from '../src/state/smt.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const leaves = Number(arg('leaves', '200000'));
const batchSize = Number(arg('batch', '10000'));
const batches = Number(arg('batches', '10'));
const hashName = arg('hash', 'sha256');
const impl = arg('impl', 'createHash');
if (![leaves, batchSize, batches].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('--leaves, --batch and --batches must be positive integers');
  process.exit(1);
}
if (hashName !== 'sha256' && hashName !== 'sm3') {
  console.error('--hash must be sha256 or sm3');
  process.exit(1);
}
const hasOneShot = typeof crypto.hash === 'function';
if (impl !== 'createHash' && !(impl === 'oneshot' && hasOneShot)) {
  console.error('--impl must be createHash or oneshot (oneshot needs Node >= 20.12)');
  process.exit(1);
}

const hash =
  impl === 'oneshot'
    ? (d: Uint8Array) => crypto.hash(hashName, d, 'buffer')
    : (d: Uint8Array) => crypto.createHash(hashName).update(d).digest();
const store = new MemoryNodeStore();
const tree = new SparseMerkleTree(hash, store);
const enc = new TextEncoder();
const key = (i: number) => enc.encode(`acct/${i}`);
const value = (i: number, round: number) => enc.encode(`balance:${i}:${round}`);

// Deterministic xorshift so runs are comparable.
let seed = 0x9e3779b9;
const rand = (n: number) => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
};

let t = performance.now();
const initial: TreeChange[] = [];
for (let i = 0; i < leaves; i++) initial.push({ key: key(i), value: value(i, 0) });
let res = tree.update(EMPTY_ROOT, initial);
const buildMs = performance.now() - t;
store.putAll(res.newNodes);
let root = res.root;
let nextKey = leaves;

const updateMs: number[] = [];
const persistMs: number[] = [];
const newNodes: number[] = [];
for (let b = 0; b < batches; b++) {
  const batch: TreeChange[] = [];
  for (let i = 0; i < batchSize; i++) {
    const r = rand(10);
    if (r < 6) batch.push({ key: key(rand(nextKey)), value: value(i, b + 1) });
    else if (r < 9) batch.push({ key: key(nextKey++), value: value(i, b + 1) });
    else batch.push({ key: key(rand(nextKey)), value: null });
  }
  t = performance.now();
  res = tree.update(root, batch);
  updateMs.push(performance.now() - t);
  t = performance.now();
  store.putAll(res.newNodes);
  persistMs.push(performance.now() - t);
  newNodes.push(res.newNodes.length);
  root = res.root;
}

const sorted = [...updateMs].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
const total = updateMs.reduce((a, b) => a + b, 0);
const round = (x: number) => Math.round(x * 10) / 10;
console.log(
  JSON.stringify({
    bench: 'smt',
    hash: hashName,
    impl,
    node: process.version,
    leaves,
    batchSize,
    batches,
    initialBuild: { ms: round(buildMs), leavesPerSec: Math.round(leaves / (buildMs / 1000)) },
    updatesPerSec: Math.round((batchSize * batches) / (total / 1000)),
    updatesPerSecMedianBatch: Math.round(batchSize / (median / 1000)),
    msPerBatch: {
      median: round(median),
      min: round(sorted[0]),
      max: round(sorted[sorted.length - 1]),
    },
    persistMsPerBatch: round(persistMs.reduce((a, b) => a + b, 0) / batches),
    newNodesPerBatch: Math.round(newNodes.reduce((a, b) => a + b, 0) / batches),
    storedNodes: store.size,
    rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
  }),
);
