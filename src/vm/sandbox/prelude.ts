/**
 * JavaScript that runs first in every fresh QuickJS context, before the contract's code.
 * It is kept small (QuickJS compiles about 10 KB per millisecond here and this runs on every
 * call): the `ctx` object and its methods are host functions built by the sandbox thread.
 *
 * Given the host stubs, it removes what is non-deterministic or generates code (Date,
 * Math.random, eval, the Function constructors, WeakRef, FinalizationRegistry,
 * SharedArrayBuffer) and returns the value codec: JSON with sorted keys and bigint tagged
 * as {"$bigint": "..."} (state, nested calls) or as a decimal string (returns, events), and
 * `ctx.ibc`, sugar over `ctx.call('ibc', 'send', ...)`.
 * Everything is captured before the contract runs, so a contract that replaces globals or
 * prototypes only affects its own call (the context is dropped afterwards).
 */
export const PRELUDE = `(function (f) {
  'use strict';
  const G = globalThis, O = Object, keys = O.keys, hasOwn = O.hasOwn, dp = O.defineProperty, gp = O.getPrototypeOf;
  const OP = O.prototype, isArray = Array.isArray, sort = Array.prototype.sort, apply = Reflect.apply;
  const S = String, BI = BigInt, fin = Number.isFinite, TE = TypeError;
  for (const k of ['WeakRef', 'FinalizationRegistry', 'SharedArrayBuffer', 'Atomics', 'eval']) delete G[k];
  const lock = function (o, k, v) { dp(o, k, { value: v, writable: false, configurable: false, enumerable: false }); };
  const D = function Date() { f.Date(); };
  D.now = f.now; D.parse = f.Date; D.UTC = f.Date;
  lock(G, 'Date', D);
  lock(Math, 'random', f.random);
  const F = function Function() { f.Function(); };
  F.prototype = Function.prototype;
  lock(Function.prototype, 'constructor', F);
  for (const g of [function* () {}, async function () {}, async function* () {}]) lock(gp(g), 'constructor', F);
  lock(G, 'Function', F);
  const rep = function (tag) {
    return function (k, v) {
      const t = typeof v;
      if (t === 'bigint') return tag ? { $bigint: S(v) } : S(v);
      if (t === 'number') { if (!fin(v)) throw new TE('NaN and Infinity are not JSON-safe values'); return v; }
      if (t === 'function' || t === 'symbol') throw new TE(t + ' values are not JSON-safe');
      if (t !== 'object' || v === null || isArray(v)) return v;
      const p = gp(v);
      if (p !== OP && p !== null) throw new TE('only plain objects, arrays, strings, numbers, booleans, bigint and null are JSON-safe values');
      if (hasOwn(v, '$bigint')) throw new TE('"$bigint" is a reserved key');
      const ks = apply(sort, keys(v), []), o = {};
      for (let i = 0; i < ks.length; i++) dp(o, ks[i], { value: v[ks[i]], enumerable: true, writable: true, configurable: true });
      return o;
    };
  };
  const reviver = function (k, v) {
    return v !== null && typeof v === 'object' && !isArray(v) && hasOwn(v, '$bigint') && typeof v.$bigint === 'string' && keys(v).length === 1 ? BI(v.$bigint) : v;
  };
  const req = function (c, m) { if (!c) f.revert(m === undefined ? 'requirement failed' : S(m)); };
  const ibc = function (call) {
    return O.freeze({ send: function send(p) {
      if (p === null || typeof p !== 'object') throw new TE('ctx.ibc.send needs { client, destPort, data }');
      const a = { sourceClient: p.client, destPort: p.destPort, data: p.data };
      if (p.timeoutHeight !== undefined) a.timeoutHeight = p.timeoutHeight;
      if (p.timeoutTime !== undefined) a.timeoutTime = p.timeoutTime;
      return call('ibc', 'send', a);
    } });
  };
  return [rep(true), rep(false), reviver, req, O.freeze, JSON.stringify, JSON.parse, ibc];
})`;

/** Lists the functions a module exports (deploy only). */
export const INSPECT = `(function (m) {
  if (m === null || typeof m !== 'object') return undefined;
  return JSON.stringify(Object.keys(m).filter(function (k) { return typeof m[k] === 'function'; }).sort());
})`;

/**
 * Wraps contract code (a strict function body that returns its exports, as `archi contract
 * build` produces) so that evaluating it yields the exports object.
 */
export function wrapCode(code: string): string {
  return `(function () {'use strict';\n${code}\n})()`;
}
