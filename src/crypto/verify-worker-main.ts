/**
 * Body of a verification worker: answers {id, results[i] = 1 | 0} for each batch, after an
 * {id: 0} once loaded (async-verify.ts's `ready`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { getProfile } from './profile.ts';

const profile = getProfile((workerData as { profile: string }).profile);

parentPort!.on(
  'message',
  (m: { id: number; items: Array<[Uint8Array, Uint8Array, Uint8Array]> }) => {
    const results = new Uint8Array(m.items.length);
    for (let i = 0; i < m.items.length; i++) {
      const [pub, msg, sig] = m.items[i];
      results[i] = profile.verify(pub, msg, sig) ? 1 : 0;
    }
    parentPort!.postMessage({ id: m.id, results });
  },
);
parentPort!.postMessage({ id: 0, results: new Uint8Array(0) });
