/**
 * An execution thread: runs the txs it is sent over the chain's committed state (its own
 * read-only view of the LMDB files) plus the block's writes it is sent, exactly as the node's
 * own thread would (Executor.runTx), and sends back each tx's receipt, accesses and writes.
 * It keeps no state between blocks but caches (identities, contract code, warm contracts).
 */
import { workerData } from 'node:worker_threads';
import type { ChainConfig } from '../../codec/index.ts';
import { getProfile } from '../../crypto/profile.ts';
import { StateOverlay } from '../../state/overlay.ts';
import { ChainStore, storeReader } from '../../storage/chain-store.ts';
import { bytesEqual } from '../../types/hex.ts';
import { decodeTx } from '../../types/tx.ts';
import { decodeConfig } from '../../vm/native/chain-config.ts';
import type { BlockInfo } from '../../vm/context.ts';
import { ContractRegistry } from '../../vm/registry.ts';
import { initSandbox } from '../../vm/sandbox/index.ts';
import { Executor } from '../executor.ts';
import { IdentityResolver } from '../identity.ts';
import { SignatureCache, type TxCheckEnv } from '../tx-check.ts';
import type { FromWorker, RanTx, ToWorker, WorkerData } from './protocol.ts';

const data = workerData as WorkerData;
const port = data.port;
const signal = new Int32Array(data.signal);
const profile = getProfile(data.profile);
const store = ChainStore.open(data.storePath);
const env: TxCheckEnv = {
  profile,
  identities: new IdentityResolver(profile),
  registry: new ContractRegistry(),
  sigCache: new SignatureCache(),
};
const executor = new Executor(env, storeReader(store));

/** The block being run: its config and what it has written so far. */
let block: { info: BlockInfo; config: ChainConfig; view: StateOverlay } | undefined;
let configBytes: Uint8Array | undefined;
let config: ChainConfig | undefined;

function reply(m: FromWorker): void {
  port.postMessage(m);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

function startBlock(m: Extract<ToWorker, { t: 'block' }>): void {
  store.refresh();
  const at = store.latestHeight();
  if (at !== m.height - 1) {
    throw new Error(`the store is at height ${at}, block ${m.height} needs ${m.height - 1}`);
  }
  // The same object while the config is unchanged keeps the identity cache warm.
  if (!configBytes || !bytesEqual(configBytes, m.config)) {
    configBytes = m.config;
    config = decodeConfig(m.config);
  }
  block = {
    info: { height: m.height, time: m.time },
    config: config!,
    view: new StateOverlay(storeReader(store)),
  };
}

function run(m: Extract<ToWorker, { t: 'run' }>): RanTx[] {
  if (!block) throw new Error('txs sent before their block');
  const { info, config, view } = block;
  if (m.writes.length > 0) view.applyTx(m.writes);
  // Every tx of one message sees the same state: they were ready together, so none may see
  // another's writes (their order is the block's, which is what they are checked against).
  const base = {
    get: (k: string) => view.peek(k),
    range: (p: string, n: number) => view.range(p, n),
  };
  return m.txs.map(({ index, bytes, verified }) => {
    const tx = decodeTx(profile, bytes);
    if (verified) env.sigCache.add(tx);
    return { index, ...executor.runIsolated(config, tx, info, base) };
  });
}

port.on('message', (m: ToWorker) => {
  try {
    if (m.t === 'block') startBlock(m);
    else reply({ t: 'ran', txs: run(m) });
  } catch (e) {
    block = undefined;
    reply({ t: 'failed', message: (e as Error)?.message ?? String(e) });
  }
});

initSandbox().then(
  () => reply({ t: 'ready' }),
  (e) => reply({ t: 'failed', message: `contract sandbox: ${(e as Error).message}` }),
);
