/**
 * The sandbox thread: QuickJS (WebAssembly, synchronous build) with a fixed-size heap. It
 * runs one request at a time for the main thread and asks the main thread for everything
 * a contract does to the chain (state, events, nested calls, gas for interrupt ticks).
 *
 * It runs on its own thread because QuickJS in WebAssembly recurses on the native stack:
 * this thread's stack is large enough that QuickJS's own stack limit always trips first,
 * which the main thread's (about 1 MB, shared with the node) would not guarantee.
 */
import { workerData } from 'node:worker_threads';
import {
  DefaultIntrinsics,
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  RELEASE_SYNC,
} from 'quickjs-emscripten';
import { Channel, Turn } from './channel.ts';
import { LIMITS } from './limits.ts';
import { PRELUDE, wrapCode } from './prelude.ts';
import type { Done, HostOp, HostReply, InspectRequest, RunRequest, ToWorker } from './protocol.ts';

const channel = new Channel(workerData.sab as SharedArrayBuffer, Turn.worker);
const PAGE = 65536;
const pages = LIMITS.heapBytes / PAGE;
const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
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
  newVariant(RELEASE_SYNC, { wasmMemory: memory }),
);
const INTRINSICS = { ...DefaultIntrinsics, Date: false };

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

interface Fault {
  code: string;
  message: string;
}

function fail(code: string, message: string): Done {
  return { t: 'done', ok: false, code, message: clip(message) };
}

function clip(s: string): string {
  return s.length > LIMITS.errorChars ? `${s.slice(0, LIMITS.errorChars)}…` : s;
}

/** One fresh runtime + context with the prelude loaded and the code evaluated. */
class Call {
  readonly rt = QuickJS.newRuntime();
  readonly vm: QuickJSContext;
  fault: Fault | undefined;
  private readonly heapAtStart = heapFailures;
  private readonly handles: QuickJSHandle[] = [];

  constructor(private readonly ticks: boolean) {
    this.rt.setMemoryLimit(LIMITS.memoryBytes);
    this.rt.setMaxStackSize(LIMITS.stackBytes);
    this.rt.setInterruptHandler(() => this.interrupt());
    this.vm = this.rt.newContext({ intrinsics: INTRINSICS });
  }

  get heapExhausted(): boolean {
    return heapFailures !== this.heapAtStart;
  }

  private interrupt(): boolean {
    if (this.fault || this.heapExhausted) return true;
    if (!this.ticks) return false;
    const r = rpc('tick');
    if (r.t === 'err') {
      this.fault = { code: r.code, message: r.message };
      return true;
    }
    return false;
  }

  keep(h: QuickJSHandle): QuickJSHandle {
    this.handles.push(h);
    return h;
  }

  /** Install the host function and run the prelude; returns its {run, inspect} object. */
  prelude(): QuickJSHandle {
    const vm = this.vm;
    const fn = vm.newFunction('host', (...args) => this.host(args));
    vm.setProp(vm.global, '__archi_host', fn);
    fn.dispose();
    const r = vm.evalCode(PRELUDE, 'prelude.js');
    if (r.error) {
      const e = this.describe(r.error);
      r.error.dispose();
      throw new Error(`sandbox prelude failed: ${e}`);
    }
    return this.keep(r.value);
  }

  /** Evaluate contract code; returns its exports or a fault. */
  load(code: string, name: string): QuickJSHandle | Done {
    const r = this.vm.evalCode(wrapCode(code), `${name}.js`);
    if (r.error) {
      const d = this.finish(r.error);
      return d.ok ? fail('CODE_INVALID', 'contract code failed to load') : d;
    }
    return this.keep(r.value);
  }

  private host(args: QuickJSHandle[]): QuickJSHandle | { error: QuickJSHandle } {
    const vm = this.vm;
    const abort = (code: string, message: string) => {
      this.fault ??= { code, message };
      return { error: vm.newError({ name: 'ContractAbort', message: `${code}: ${message}` }) };
    };
    if (this.fault) return abort(this.fault.code, this.fault.message);
    if (this.heapExhausted) return abort('OUT_OF_MEMORY', 'the sandbox heap is exhausted');
    const text = (i: number): string | undefined =>
      args[i] !== undefined && vm.typeof(args[i]) === 'string' ? vm.getString(args[i]) : undefined;
    const op = text(0) as HostOp | undefined;
    const a = text(1);
    const b = text(2);
    const c = text(3);
    const n = args[4] !== undefined && vm.typeof(args[4]) === 'number' ? vm.getNumber(args[4]) : undefined;
    if (op === undefined) return abort('INTERNAL', 'bad host call');
    const tooBig = (s: string | undefined, max: number): boolean =>
      s !== undefined && (s.length > max || Buffer.byteLength(s) > max);
    if (op === 'set' && tooBig(b, LIMITS.valueBytes))
      return abort('VALUE_TOO_LARGE', `a stored value is limited to ${LIMITS.valueBytes} bytes`);
    if (op === 'call' && tooBig(c, LIMITS.valueBytes))
      return abort('VALUE_TOO_LARGE', `call args are limited to ${LIMITS.valueBytes} bytes`);
    if (op === 'emit' && tooBig(b, LIMITS.eventBytes))
      return abort('EVENT_TOO_LARGE', `event data is limited to ${LIMITS.eventBytes} bytes`);
    if (tooBig(a, LIMITS.valueBytes)) return abort('VALUE_TOO_LARGE', 'argument too large');
    const r = rpc(op, a, b, c, n);
    if (r.t === 'err') return abort(r.code, r.message);
    if (this.heapExhausted) return abort('OUT_OF_MEMORY', 'the sandbox heap is exhausted');
    if (typeof r.v === 'string') return vm.newString(r.v);
    if (r.v === true) return vm.true;
    if (r.v === false) return vm.false;
    return vm.undefined;
  }

  /** Name and message of a thrown value, without trusting it. */
  describe(h: QuickJSHandle): string {
    const vm = this.vm;
    const prop = (key: string): string | undefined => {
      try {
        const p = vm.getProp(h, key);
        const s = vm.typeof(p) === 'string' ? vm.getString(p) : undefined;
        p.dispose();
        return s;
      } catch {
        return undefined;
      }
    };
    try {
      if (vm.typeof(h) !== 'object') return clip(String(vm.dump(h)));
      const name = prop('name') ?? 'Error';
      const message = clip(prop('message') ?? '');
      const stack = prop('stack') ?? '';
      const at = /at [^\n]*\(([^)]*\.js:\d+:\d+)\)/.exec(stack)?.[1];
      return `${name}: ${message}${at && !at.startsWith('prelude.js') ? ` (at ${at})` : ''}`;
    } catch {
      return 'Error';
    }
  }

  /** Turn a thrown value (or the call's fault) into a failed Done. */
  finish(error: QuickJSHandle): Done {
    const text = this.describe(error);
    error.dispose();
    if (this.fault) return fail(this.fault.code, this.fault.message);
    if (this.heapExhausted) return fail('OUT_OF_MEMORY', 'the sandbox heap is exhausted');
    if (/^InternalError: out of memory/.test(text))
      return fail('OUT_OF_MEMORY', `out of memory (limit ${LIMITS.memoryBytes} bytes per call)`);
    if (/^(InternalError|SyntaxError|RangeError): (stack overflow|Maximum call stack)/.test(text))
      return fail('STACK_OVERFLOW', `stack overflow (limit ${LIMITS.stackBytes} bytes per call)`);
    if (/^InternalError: interrupted/.test(text))
      return fail('OUT_OF_GAS', 'execution interrupted');
    return fail('CONTRACT_ERROR', text);
  }

  /** A returned JSON string, checked against the return limit. */
  result(h: QuickJSHandle): Done {
    const vm = this.vm;
    if (this.fault) return fail(this.fault.code, this.fault.message);
    if (this.heapExhausted) return fail('OUT_OF_MEMORY', 'the sandbox heap is exhausted');
    if (vm.typeof(h) !== 'string') return fail('CONTRACT_ERROR', 'the method did not return JSON');
    const len = vm.getLength(h) ?? 0;
    const v = len > LIMITS.returnBytes ? undefined : vm.getString(h);
    if (v === undefined || Buffer.byteLength(v) > LIMITS.returnBytes) {
      return fail(
        'RETURN_TOO_LARGE',
        `the return value is limited to ${LIMITS.returnBytes} bytes of JSON`,
      );
    }
    return { t: 'done', ok: true, v };
  }

  dispose(): void {
    for (const h of this.handles.reverse()) if (h.alive) h.dispose();
    this.vm.dispose();
    this.rt.dispose();
  }
}

function getCode(m: RunRequest): string {
  const cached = codeCache.get(m.codeHash);
  if (cached !== undefined) return cached;
  channel.send({ t: 'need' });
  const reply = waitReply() as { t: 'code'; code: string };
  remember(m.codeHash, reply.code);
  return reply.code;
}

function run(m: RunRequest): Done {
  const code = getCode(m);
  const call = new Call(true);
  try {
    const api = call.prelude();
    const mod = call.load(code, m.name);
    if ('t' in mod) return mod;
    const vm = call.vm;
    const runFn = call.keep(vm.getProp(api, 'run'));
    const args = [m.method, m.args, m.info].map((s) => call.keep(vm.newString(s)));
    const r = vm.callFunction(runFn, vm.undefined, mod, ...args);
    if (r.error) return call.finish(r.error);
    call.keep(r.value);
    return call.result(r.value);
  } finally {
    call.dispose();
  }
}

function inspect(m: InspectRequest): Done {
  const call = new Call(true);
  try {
    const api = call.prelude();
    const mod = call.load(m.code, m.name);
    if ('t' in mod) return mod;
    const vm = call.vm;
    const fn = call.keep(vm.getProp(api, 'inspect'));
    const r = vm.callFunction(fn, vm.undefined, mod);
    if (r.error) return call.finish(r.error);
    call.keep(r.value);
    if (vm.typeof(r.value) !== 'string') {
      return fail(
        'CODE_INVALID',
        'the code defines no contract: bundle it with "archi contract build" (an IIFE assigning __contract)',
      );
    }
    return { t: 'done', ok: true, v: vm.getString(r.value) };
  } finally {
    call.dispose();
  }
}

function serve(m: ToWorker): Done {
  try {
    if (m.t === 'run') return run(m);
    if (m.t === 'inspect') return inspect(m);
    return fail('INTERNAL', `unexpected sandbox message ${m.t}`);
  } catch (e) {
    return fail('INTERNAL', `sandbox failure: ${(e as Error)?.message ?? String(e)}`);
  }
}

process.on('uncaughtException', () => channel.kill());
(globalThis as { postMessage?: unknown }).postMessage = undefined;
const { parentPort } = await import('node:worker_threads');
parentPort?.postMessage('ready');
for (;;) {
  const m = channel.recv() as ToWorker;
  channel.send(serve(m));
}
