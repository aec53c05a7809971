/**
 * Contract calls inside QuickJS (sandbox thread): a runtime and context, the prelude, the
 * host functions, the contract's module, then per call a `ctx` and the translation of what
 * happens into a Done. Everything the contract asks of the chain goes through `env.rpc` to
 * the main thread.
 *
 * The part before the call (`setUp`) is the same for every call of a contract, so a warm
 * slot (warm.ts) runs it once and restores the WebAssembly memory to that point after each
 * call; a cold call runs the identical sequence in a fresh runtime. Both make the same
 * QuickJS calls in the same order, so interrupt ticks (gas) and allocations are equal.
 */
import {
  DefaultIntrinsics,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSWASMModule,
} from 'quickjs-emscripten';
import { LIMITS } from './limits.ts';
import { INSPECT, PRELUDE, wrapCode } from './prelude.ts';
import type { Done, HostOp, HostReply, HostRequest, RunRequest } from './protocol.ts';

/** What a call needs from its thread. */
export interface CallEnv {
  quickjs: QuickJSWASMModule;
  /** Ask the main thread (blocking); it answers `req.pre` first (see HostRequest). */
  rpc(req: HostRequest): HostReply;
  /** Failed attempts to grow the sandbox heap so far (it never grows: any failure means exhausted). */
  heapFailures(): number;
}

/** No Date (no clock) and no typed arrays (not JSON values; they double context set-up time). */
const INTRINSICS = { ...DefaultIntrinsics, Date: false, TypedArrays: false };

export interface Fault {
  code: string;
  message: string;
}

export function fail(code: string, message: string): Done & { ok: false } {
  return { t: 'done', ok: false, code, message: clip(message) };
}

function clip(s: string): string {
  return s.length > LIMITS.errorChars ? `${s.slice(0, LIMITS.errorChars)}…` : s;
}

type Ret = QuickJSHandle | { error: QuickJSHandle } | undefined;

/**
 * Host requests whose answer is always "ok" unless refused: they are deferred and sent with
 * the next request the contract waits for (or with the Done), which halves the round trips
 * between threads. A refusal then ends the call at that next request, with the same code:
 * the contract cannot have touched the chain in between (every later request goes after the
 * deferred ones), and the host charges gas in the same order.
 */
const DEFERRED = new Set<HostOp>(['set', 'del', 'emit']);
/** Deferred bytes that make the sandbox flush early (the channel carries at most 8 MiB). */
const DEFERRED_BYTES = 1024 * 1024;
type Ok = HostReply & { t: 'ok' };

/** What one call of a set-up contract takes (see RunRequest). */
export type MethodCall = Pick<RunRequest, 'method' | 'args' | 'info' | 'nested' | 'prefetch'>;

/** The host functions `ctx` is made of. */
interface HostFns {
  get: QuickJSHandle;
  has: QuickJSHandle;
  set: QuickJSHandle;
  delete: QuickJSHandle;
  range: QuickJSHandle;
  emit: QuickJSHandle;
  call: QuickJSHandle;
  revert: QuickJSHandle;
}

/**
 * One call: a fresh runtime + context, the prelude run with the host stubs, and `ctx` built
 * from host functions. Every handle it makes is disposed with it.
 */
export class Call {
  readonly rt;
  readonly vm: QuickJSContext;
  fault: Fault | undefined;
  private started = false;
  private heapAtStart: number;
  /** Handles of the set-up (the slot's lifetime) and of the current call. */
  private readonly setupHandles: QuickJSHandle[] = [];
  private callHandles: QuickJSHandle[] = [];
  private sealed = false;
  private fns!: HostFns;
  private pending: HostRequest[] = [];
  private pendingBytes = 0;
  /**
   * The call's view of its own state keys where it is known without asking: prefetched
   * values, then what it read and wrote (JSON text, or null when absent). A contract's keys
   * change during its call only by its own writes (no re-entry, no other contract writes
   * them), so this view stays exact.
   */
  private known = new Map<string, string | null>();
  private codec!: {
    tagged: QuickJSHandle;
    plain: QuickJSHandle;
    reviver: QuickJSHandle;
    require: QuickJSHandle;
    freeze: QuickJSHandle;
    stringify: QuickJSHandle;
    parse: QuickJSHandle;
    ibc: QuickJSHandle;
  };

  constructor(private readonly env: CallEnv) {
    this.rt = env.quickjs.newRuntime();
    this.heapAtStart = env.heapFailures();
    this.rt.setMemoryLimit(LIMITS.memoryBytes);
    this.rt.setMaxStackSize(LIMITS.stackBytes);
    this.rt.setInterruptHandler(() => this.interrupt());
    this.vm = this.rt.newContext({ intrinsics: INTRINSICS });
  }

  get heapExhausted(): boolean {
    return this.env.heapFailures() !== this.heapAtStart;
  }

  private interrupt(): boolean {
    if (this.fault || this.heapExhausted) return true;
    // A fresh context polls its interrupt handler at its very first function entry; that
    // tick is the same for every call, so it is free and saves a round trip to the host.
    if (!this.started) {
      this.started = true;
      return false;
    }
    const r = this.send('tick');
    if (r.t === 'err') {
      this.fault = { code: r.code, message: r.message };
      return true;
    }
    return false;
  }

  keep(h: QuickJSHandle): QuickJSHandle {
    (this.sealed ? this.callHandles : this.setupHandles).push(h);
    return h;
  }

  /** The set-up is complete: from here handles belong to the current call. */
  seal(): void {
    // Touch the context's lazily cached global handle now: made during a call, its heap
    // pointer would not survive a warm slot's memory restore.
    void this.vm.global;
    this.sealed = true;
  }

  /** Send a request with the deferred ones before it. */
  private send(op: HostOp, a?: string, b?: string, c?: string, n?: number): HostReply {
    const req: HostRequest = { t: 'host', op, a, b, c, n };
    if (this.pending.length > 0) {
      req.pre = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
    }
    return this.env.rpc(req);
  }

  /** Start a call on a sealed set-up (a warm slot's memory was restored to the seal). */
  begin(): void {
    this.fault = undefined;
    this.pending = [];
    this.pendingBytes = 0;
    this.heapAtStart = this.env.heapFailures();
  }

  /**
   * Forget the call's handles without freeing them: the memory restore already dropped
   * what they point to, and freeing them now would corrupt the restored heap.
   */
  abandonCall(): void {
    this.callHandles = [];
  }

  /** Fail the call for good: the contract sees an exception it cannot recover from. */
  private abort(code: string, message: string): { error: QuickJSHandle } {
    this.fault ??= { code, message };
    return { error: this.vm.newError({ name: 'ContractAbort', message: `${code}: ${message}` }) };
  }

  /** A catchable error in the contract (bad use of the API, nothing reached the chain). */
  private typeError(message: string): { error: QuickJSHandle } {
    return { error: this.vm.newError({ name: 'TypeError', message }) };
  }

  private fn(name: string, impl: (args: QuickJSHandle[]) => Ret): QuickJSHandle {
    return this.keep(
      this.vm.newFunction(name, (...args) => {
        if (this.fault) return this.abort(this.fault.code, this.fault.message);
        if (this.heapExhausted) return this.abort('OUT_OF_MEMORY', 'the sandbox heap is exhausted');
        return impl(args);
      }),
    );
  }

  private str(h: QuickJSHandle | undefined): string | undefined {
    return h !== undefined && this.vm.typeof(h) === 'string' ? this.vm.getString(h) : undefined;
  }

  /**
   * state.get / state.has: from the call's known view when it holds the key (the host gets
   * the read deferred, to charge and record it in order), else asked and remembered.
   */
  private read(op: 'get' | 'has', key: string): Ok | { error: QuickJSHandle } {
    const known = this.known.get(key);
    if (known !== undefined) {
      const seen = op === 'has' ? known !== null : known;
      const r = this.host(op, key, undefined, undefined, undefined, seen);
      return 'error' in r ? r : { t: 'ok', v: seen };
    }
    const r = this.host(op, key);
    if (op === 'get' && !('error' in r)) {
      this.known.set(key, typeof r.v === 'string' ? r.v : null);
    }
    return r;
  }

  /** Ask the main thread; its refusal ends the call. */
  private host(
    op: HostOp,
    a?: string,
    b?: string,
    c?: string,
    n?: number,
    seen?: string | boolean | null,
  ): Ok | { error: QuickJSHandle } {
    let r: HostReply;
    if (DEFERRED.has(op) || seen !== undefined) {
      this.pending.push(
        seen === undefined ? { t: 'host', op, a, b, c, n } : { t: 'host', op, a, seen },
      );
      this.pendingBytes +=
        (a?.length ?? 0) + (b?.length ?? 0) + (typeof seen === 'string' ? seen.length : 0) + 64;
      r = this.pendingBytes > DEFERRED_BYTES ? this.send('flush') : { t: 'ok' };
    } else r = this.send(op, a, b, c, n);
    if (r.t === 'err') return this.abort(r.code, r.message);
    if (this.heapExhausted) return this.abort('OUT_OF_MEMORY', 'the sandbox heap is exhausted');
    return r;
  }

  /** JSON text of a value through the codec; an exception handle when it is not JSON-safe. */
  private encode(
    value: QuickJSHandle | undefined,
    tagged: boolean,
  ): string | { error: QuickJSHandle } {
    const vm = this.vm;
    if (value === undefined || vm.typeof(value) === 'undefined') return 'null';
    const r = vm.callFunction(
      this.codec.stringify,
      vm.undefined,
      value,
      tagged ? this.codec.tagged : this.codec.plain,
    );
    if (r.error) return { error: r.error };
    const s = this.str(r.value) ?? 'null';
    r.value.dispose();
    return s;
  }

  private decode(text: string): Ret {
    const vm = this.vm;
    const t = vm.newString(text);
    const r = vm.callFunction(this.codec.parse, vm.undefined, t, this.codec.reviver);
    t.dispose();
    return r.error ? { error: r.error } : r.value;
  }

  /** Run the prelude with the host stubs (no clock, no randomness, no code generation). */
  prelude(): void {
    const vm = this.vm;
    const forbid = (what: string) =>
      this.fn(what, () => this.host('forbidden', what) as { error: QuickJSHandle });
    const stubs = this.keep(vm.newObject());
    vm.setProp(stubs, 'Date', forbid('Date'));
    vm.setProp(stubs, 'now', forbid('Date.now'));
    vm.setProp(stubs, 'random', forbid('Math.random'));
    vm.setProp(stubs, 'Function', forbid('the Function constructor'));
    vm.setProp(stubs, 'revert', this.revertFn());
    const pre = vm.evalCode(PRELUDE, 'prelude.js');
    if (pre.error) throw new Error(`sandbox prelude failed: ${this.describe(pre.error)}`);
    const setup = this.keep(pre.value);
    const r = vm.callFunction(setup, vm.undefined, stubs);
    if (r.error) throw new Error(`sandbox prelude failed: ${this.describe(r.error)}`);
    const arr = this.keep(r.value);
    const at = (i: number) => this.keep(vm.getProp(arr, i));
    this.codec = {
      tagged: at(0),
      plain: at(1),
      reviver: at(2),
      require: at(3),
      freeze: at(4),
      stringify: at(5),
      parse: at(6),
      ibc: at(7),
    };
    this.fns = this.hostFns();
  }

  private revertFn(): QuickJSHandle {
    return this.fn('revert', ([m]) => {
      const msg =
        m === undefined || this.vm.typeof(m) === 'undefined'
          ? 'reverted'
          : (this.str(m) ?? String(this.vm.dump(m)));
      return this.host('revert', msg) as { error: QuickJSHandle };
    });
  }

  private freeze(h: QuickJSHandle): void {
    const r = this.vm.callFunction(this.codec.freeze, this.vm.undefined, h);
    (r.error ?? r.value).dispose();
  }

  /** The functions behind `ctx` (made once per set-up; they act on the current call). */
  private hostFns(): HostFns {
    const vm = this.vm;
    const key = (
      h: QuickJSHandle | undefined,
      what = 'a state key',
    ): string | { error: QuickJSHandle } =>
      this.str(h) ?? this.typeError(`${what} must be a string`);
    const value = (r: Ok | { error: QuickJSHandle }): Ret => {
      if ('error' in r) return r;
      if (typeof r.v === 'string') return this.decode(r.v);
      if (r.v === true) return vm.true;
      if (r.v === false) return vm.false;
      return vm.undefined;
    };
    return {
      get: this.fn('get', ([k]) => {
        const kk = key(k);
        return typeof kk === 'string' ? value(this.read('get', kk)) : kk;
      }),
      has: this.fn('has', ([k]) => {
        const kk = key(k);
        return typeof kk === 'string' ? value(this.read('has', kk)) : kk;
      }),
      set: this.fn('set', ([k, v]) => {
        const kk = key(k);
        if (typeof kk !== 'string') return kk;
        if (v === undefined || vm.typeof(v) === 'undefined') {
          return this.typeError('state.set needs a value (state.delete removes a key)');
        }
        const text = this.encode(v, true);
        if (typeof text !== 'string') return text;
        if (tooBig(text, LIMITS.valueBytes)) {
          return this.abort(
            'VALUE_TOO_LARGE',
            `a stored value is limited to ${LIMITS.valueBytes} bytes`,
          );
        }
        const r = this.host('set', kk, text);
        if (!('error' in r)) this.known.set(kk, text);
        return value(r);
      }),
      delete: this.fn('delete', ([k]) => {
        const kk = key(k);
        if (typeof kk !== 'string') return kk;
        const r = this.host('del', kk);
        if (!('error' in r)) this.known.set(kk, null);
        return value(r);
      }),
      range: this.fn('range', ([p, l]) => {
        const prefix =
          p === undefined || vm.typeof(p) === 'undefined' ? '' : key(p, 'a range prefix');
        if (typeof prefix !== 'string') return prefix;
        let limit = 100;
        if (l !== undefined && vm.typeof(l) !== 'undefined') {
          limit = vm.typeof(l) === 'number' ? vm.getNumber(l) : Number.NaN;
          if (!(limit >= 1)) return this.typeError('range limit must be a positive number');
        }
        return value(
          this.host('range', prefix, undefined, undefined, Math.min(limit, LIMITS.rangeRows)),
        );
      }),
      emit: this.fn('emit', ([n, d]) => {
        const name = key(n, 'an event name');
        if (typeof name !== 'string') return name;
        const text = this.encode(d, false);
        if (typeof text !== 'string') return text;
        if (tooBig(text, LIMITS.eventBytes)) {
          return this.abort(
            'EVENT_TOO_LARGE',
            `event data is limited to ${LIMITS.eventBytes} bytes`,
          );
        }
        return value(this.host('emit', name, text));
      }),
      call: this.fn('call', ([c, m, a]) => {
        const contract = key(c, 'a contract name');
        if (typeof contract !== 'string') return contract;
        const method = key(m, 'a method name');
        if (typeof method !== 'string') return method;
        const text = this.encode(a, true);
        if (typeof text !== 'string') return text;
        if (tooBig(text, LIMITS.valueBytes)) {
          return this.abort(
            'VALUE_TOO_LARGE',
            `call args are limited to ${LIMITS.valueBytes} bytes`,
          );
        }
        return value(this.host('call', contract, method, text));
      }),
      revert: this.revertFn(),
    };
  }

  /** The `ctx` of a method: call info plus host functions, frozen. */
  ctx(info: string): QuickJSHandle | Done {
    const vm = this.vm;
    const fns = this.fns;
    const ctx = this.decode(info);
    if (!ctx || 'error' in ctx) return fail('INTERNAL', 'bad call info');
    this.keep(ctx);
    const state = this.keep(vm.newObject());
    vm.setProp(state, 'get', fns.get);
    vm.setProp(state, 'has', fns.has);
    vm.setProp(state, 'set', fns.set);
    vm.setProp(state, 'delete', fns.delete);
    vm.setProp(state, 'range', fns.range);
    this.freeze(state);
    vm.setProp(ctx, 'state', state);
    vm.setProp(ctx, 'emit', fns.emit);
    vm.setProp(ctx, 'call', fns.call);
    const ibc = vm.callFunction(this.codec.ibc, vm.undefined, fns.call);
    if (ibc.error) {
      const why = this.describe(ibc.error);
      ibc.error.dispose();
      return fail('INTERNAL', `ctx.ibc: ${why}`);
    }
    vm.setProp(ctx, 'ibc', this.keep(ibc.value));
    vm.setProp(ctx, 'require', this.codec.require);
    vm.setProp(ctx, 'revert', fns.revert);
    for (const k of ['sender', 'block']) {
      const h = vm.getProp(ctx, k);
      this.freeze(h);
      h.dispose();
    }
    this.freeze(ctx);
    return ctx;
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
    // The call may have failed at its memory limit: leave room to look at what it threw.
    this.rt.setMemoryLimit(LIMITS.memoryBytes + 1024 * 1024);
    // Out of memory with no room left for its InternalError throws null (so does `throw null`).
    const thrownNull = this.vm.typeof(error) === 'object' && this.vm.dump(error) === null;
    const text = this.describe(error);
    error.dispose();
    if (this.fault) return fail(this.fault.code, this.fault.message);
    if (this.heapExhausted) return fail('OUT_OF_MEMORY', 'the sandbox heap is exhausted');
    if (thrownNull || /^InternalError: out of memory/.test(text))
      return fail('OUT_OF_MEMORY', `out of memory (limit ${LIMITS.memoryBytes} bytes per call)`);
    if (/^(InternalError|SyntaxError|RangeError): (stack overflow|Maximum call stack)/.test(text))
      return fail('STACK_OVERFLOW', `stack overflow (limit ${LIMITS.stackBytes} bytes per call)`);
    if (/^InternalError: interrupted/.test(text))
      return fail('OUT_OF_GAS', 'execution interrupted');
    return fail('CONTRACT_ERROR', text);
  }

  /** Call `method` of the module and encode its result; deferred requests go with it. */
  call(mod: QuickJSHandle, c: MethodCall): Done {
    this.known = new Map(c.prefetch);
    const done = this.run(mod, c.method, c.args, c.info, c.nested);
    if (this.pending.length === 0) return done;
    const pre = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    return { ...done, pre };
  }

  private run(
    mod: QuickJSHandle,
    method: string,
    argsText: string,
    info: string,
    nested: boolean,
  ): Done {
    const vm = this.vm;
    const fn = this.keep(vm.getProp(mod, method));
    if (vm.typeof(fn) !== 'function') {
      return fail('METHOD_NOT_FOUND', `the contract has no method ${JSON.stringify(method)}`);
    }
    const ctx = this.ctx(info);
    if ('t' in ctx) return ctx;
    const args = this.decode(argsText);
    if (!args || 'error' in args)
      return args ? this.finish(args.error) : fail('INVALID_ARGS', 'bad args');
    this.keep(args);
    const r = vm.callFunction(fn, vm.undefined, ctx, args);
    if (r.error) return this.finish(r.error);
    const result = this.keep(r.value);
    if (this.fault) return fail(this.fault.code, this.fault.message);
    if (this.heapExhausted) return fail('OUT_OF_MEMORY', 'the sandbox heap is exhausted');
    if (vm.typeof(result) === 'object') {
      const then = vm.getProp(result, 'then');
      const isPromise = vm.typeof(then) === 'function';
      then.dispose();
      if (isPromise) {
        return fail(
          'FORBIDDEN_API',
          'returning a Promise is not available in contracts (methods are synchronous)',
        );
      }
    }
    const text = this.encode(result, nested);
    if (typeof text !== 'string') return this.finish(text.error);
    const fault = this.fault as Fault | undefined;
    if (fault) return fail(fault.code, fault.message);
    if (tooBig(text, LIMITS.returnBytes)) {
      return fail(
        'RETURN_TOO_LARGE',
        `the return value is limited to ${LIMITS.returnBytes} bytes of JSON`,
      );
    }
    return { t: 'done', ok: true, v: text };
  }

  dispose(): void {
    for (const h of [...this.callHandles.reverse(), ...this.setupHandles.reverse()]) {
      if (h.alive) h.dispose();
    }
    this.vm.dispose();
    this.rt.dispose();
  }
}

function tooBig(s: string, max: number): boolean {
  return s.length > max || Buffer.byteLength(s) > max;
}

/** Run a method of `code` in a fresh runtime (see RunRequest). */
export function runCall(env: CallEnv, code: string, name: string, c: MethodCall): Done {
  const call = new Call(env);
  try {
    const mod = setUp(call, code, name);
    if ('t' in mod) return mod;
    return call.call(mod, c);
  } finally {
    call.dispose();
  }
}

/** What comes before any call of a contract: prelude, host functions, module. */
export function setUp(call: Call, code: string, name: string): QuickJSHandle | Done {
  call.prelude();
  const mod = call.load(code, name);
  if ('t' in mod) return mod;
  call.seal();
  return mod;
}

/** Load `code` and list the functions it exports, as JSON text. */
export function inspectCall(env: CallEnv, code: string, name: string): Done {
  const call = new Call(env);
  try {
    call.prelude();
    const mod = call.load(code, name);
    if ('t' in mod) return mod;
    const vm = call.vm;
    const helper = vm.evalCode(INSPECT, 'inspect.js');
    if (helper.error) return call.finish(helper.error);
    const fn = call.keep(helper.value);
    const r = vm.callFunction(fn, vm.undefined, mod);
    if (r.error) return call.finish(r.error);
    call.keep(r.value);
    if (vm.typeof(r.value) !== 'string') {
      return fail(
        'CODE_INVALID',
        'the code returns no exports: bundle it with "archi contract build"',
      );
    }
    return { t: 'done', ok: true, v: vm.getString(r.value) };
  } finally {
    call.dispose();
  }
}
