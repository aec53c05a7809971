/**
 * The sandbox thread: QuickJS (WebAssembly, synchronous build) with a fixed-size heap. It
 * runs one request at a time for the main thread and asks the main thread for everything
 * a contract does to the chain (state, events, nested calls, gas for interrupt ticks).
 *
 * It runs on its own thread because QuickJS in WebAssembly recurses on the native stack:
 * this thread's stack is large enough that QuickJS's own stack limit always trips first,
 * which the main thread's (about 1 MB, shared with the node) would not guarantee.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Channel, Turn } from './channel.ts';
import { type CallEnv, fail, inspectCall, runCall } from './engine.ts';
import type { Done, HostReply, HostRequest, RunRequest, ToWorker } from './protocol.ts';
import { newInstance, WarmPool } from './warm.ts';

const channel = new Channel(workerData.sab as SharedArrayBuffer, Turn.worker);
/** Cold calls (and deploy-time inspection) share one instance. */
const coldInstance = await newInstance();

/** Code by hash; a cache only (the main thread sends code when asked). */
const codeCache = new Map<string, string>();
const CODE_CACHE_BYTES = 32 * 1024 * 1024;
let codeCacheBytes = 0;

function remember(hash: string, code: string): void {
  if (code.length > CODE_CACHE_BYTES) return;
  while (codeCacheBytes + code.length > CODE_CACHE_BYTES) {
    const [oldest, text] = codeCache.entries().next().value as [string, string];
    codeCache.delete(oldest);
    codeCacheBytes -= text.length;
  }
  codeCache.set(hash, code);
  codeCacheBytes += code.length;
}

/** Wait for the main thread's answer, serving the nested requests it makes meanwhile. */
function waitReply(): any {
  for (;;) {
    const m = channel.recv() as ToWorker;
    if (m.t === 'run' || m.t === 'inspect') {
      channel.send(serve(m));
      continue;
    }
    return m;
  }
}

function rpc(req: HostRequest): HostReply {
  channel.send(req);
  return waitReply() as HostReply;
}

const env: CallEnv = {
  quickjs: coldInstance.quickjs,
  rpc,
  heapFailures: coldInstance.heapFailures,
};
const warm = new WarmPool(rpc);

function getCode(m: RunRequest): string {
  const cached = codeCache.get(m.codeHash);
  if (cached !== undefined) return cached;
  channel.send({ t: 'need' });
  const reply = waitReply() as { t: 'code'; code: string };
  remember(m.codeHash, reply.code);
  return reply.code;
}

function serve(m: ToWorker): Done {
  try {
    if (m.t === 'run') {
      return warm.run(m, () => getCode(m)) ?? runCall(env, getCode(m), m.name, m);
    }
    if (m.t === 'inspect') return inspectCall(env, m.code, m.name);
    return fail('INTERNAL', `unexpected sandbox message ${m.t}`);
  } catch (e) {
    // A failure of the host side of QuickJS may have left the module in a bad state: the
    // main thread replaces this thread once the current request is over.
    return {
      ...fail('INTERNAL', `sandbox failure: ${(e as Error)?.message ?? String(e)}`),
      restart: true,
    };
  }
}

process.on('uncaughtException', () => channel.kill());
parentPort?.postMessage('ready');
for (;;) {
  // Spare instances for warm slots are made only while no request waits.
  if (warm.wantsRefill && !channel.hasTurn()) {
    await warm.refill();
    continue;
  }
  const m = channel.recv() as ToWorker;
  channel.send(serve(m));
}
