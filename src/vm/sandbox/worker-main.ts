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
import { newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC } from 'quickjs-emscripten';
import { Channel, Turn } from './channel.ts';
import { type CallEnv, fail, inspectCall, runCall } from './engine.ts';
import { LIMITS } from './limits.ts';
import type { Done, HostOp, HostReply, RunRequest, ToWorker } from './protocol.ts';

const channel = new Channel(workerData.sab as SharedArrayBuffer, Turn.worker);
const PAGE = 65536;
const pages = LIMITS.heapBytes / PAGE;
// @types/node does not declare the WebAssembly global; this is the part used here.
interface WasmMemory {
  grow(delta: number): number;
}
const Wasm = (
  globalThis as unknown as {
    WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => WasmMemory };
  }
).WebAssembly;
const memory = new Wasm.Memory({ initial: pages, maximum: pages });
// The heap never grows, so a failed grow is exactly "the sandbox heap is exhausted".
let heapFailures = 0;
const grow = memory.grow.bind(memory);
Object.defineProperty(memory, 'grow', {
  value: (delta: number) => {
    try {
      return grow(delta);
    } catch (e) {
      heapFailures++;
      throw e;
    }
  },
});
const QuickJS = await newQuickJSWASMModuleFromVariant(
  newVariant(RELEASE_SYNC, { wasmMemory: memory as never }),
);

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

function rpc(op: HostOp, a?: string, b?: string, c?: string, n?: number): HostReply {
  channel.send({ t: 'host', op, a, b, c, n });
  return waitReply() as HostReply;
}

const env: CallEnv = { quickjs: QuickJS, rpc, heapFailures: () => heapFailures };

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
    if (m.t === 'run') return runCall(env, getCode(m), m.name, m.method, m.args, m.info, m.nested);
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
  const m = channel.recv() as ToWorker;
  channel.send(serve(m));
}
