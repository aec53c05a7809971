/**
 * JavaScript that runs first in every fresh QuickJS context, before the contract's code.
 * It takes the host function (and hides it), removes what is non-deterministic or could
 * generate code, and returns `run` / `inspect`, which build the `ctx` a method sees and
 * encode values: JSON with sorted keys, bigint tagged as {"$bigint": "..."} in state and
 * between contracts, and as a decimal string in returns and events.
 *
 * Everything it needs later is captured here, so a contract that replaces globals or
 * prototypes only changes what its own call sees (the context is dropped afterwards).
 */
export const PRELUDE = `(function (host) {
  'use strict';
  const G = globalThis;
  delete G.__archi_host;
  const O = Object;
  const ObjectPrototype = O.prototype;
  const keys = O.keys;
  const hasOwn = O.hasOwn;
  const freeze = O.freeze;
  const defineProperty = O.defineProperty;
  const getPrototypeOf = O.getPrototypeOf;
  const isArray = Array.isArray;
  const apply = Reflect.apply;
  const sort = Array.prototype.sort;
  const push = Array.prototype.push;
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const BigIntF = BigInt;
  const StringF = String;
  const isFiniteNumber = Number.isFinite;
  const TypeErrorF = TypeError;

  for (const k of ['WeakRef', 'FinalizationRegistry', 'SharedArrayBuffer', 'Atomics', 'eval']) delete G[k];
  const forbid = function (what) {
    return function () {
      host('forbidden', what);
    };
  };
  const NoDate = function Date() {
    host('forbidden', 'Date');
  };
  NoDate.now = forbid('Date.now');
  NoDate.parse = forbid('Date.parse');
  NoDate.UTC = forbid('Date.UTC');
  const locked = function (value) {
    return { value: value, writable: false, configurable: false, enumerable: false };
  };
  defineProperty(G, 'Date', locked(NoDate));
  defineProperty(Math, 'random', locked(forbid('Math.random')));
  const NoFunction = function Function() {
    host('forbidden', 'the Function constructor');
  };
  NoFunction.prototype = Function.prototype;
  defineProperty(Function.prototype, 'constructor', locked(NoFunction));
  for (const f of [function* () {}, async function () {}, async function* () {}]) {
    defineProperty(getPrototypeOf(f), 'constructor', locked(NoFunction));
  }
  defineProperty(G, 'Function', locked(NoFunction));

  const describe = function (v) {
    const p = getPrototypeOf(v);
    const c = p && hasOwn(p, 'constructor') ? p.constructor : undefined;
    return typeof c === 'function' && typeof c.name === 'string' && c.name ? 'a ' + c.name : 'an exotic object';
  };
  const replacer = function (tag) {
    return function (k, v) {
      switch (typeof v) {
        case 'bigint':
          return tag ? { $bigint: StringF(v) } : StringF(v);
        case 'number':
          if (!isFiniteNumber(v)) throw new TypeErrorF('NaN and Infinity are not JSON-safe values');
          return v;
        case 'function':
        case 'symbol':
          throw new TypeErrorF(typeof v + ' values are not JSON-safe');
        case 'object': {
          if (v === null || isArray(v)) return v;
          const p = getPrototypeOf(v);
          if (p !== ObjectPrototype && p !== null) {
            throw new TypeErrorF('only plain objects, arrays, strings, numbers, booleans, bigint and null are JSON-safe values (got ' + describe(v) + ')');
          }
          if (hasOwn(v, '$bigint')) throw new TypeErrorF('"$bigint" is a reserved key');
          const ks = apply(sort, keys(v), []);
          const o = {};
          for (let i = 0; i < ks.length; i++) {
            defineProperty(o, ks[i], { value: v[ks[i]], enumerable: true, writable: true, configurable: true });
          }
          return o;
        }
        default:
          return v;
      }
    };
  };
  const plain = replacer(false);
  const tagged = replacer(true);
  const enc = function (v, tag) {
    const s = stringify(v, tag ? tagged : plain);
    return s === undefined ? 'null' : s;
  };
  const reviver = function (k, v) {
    if (v !== null && typeof v === 'object' && !isArray(v) && hasOwn(v, '$bigint') && typeof v.$bigint === 'string' && keys(v).length === 1) {
      return BigIntF(v.$bigint);
    }
    return v;
  };
  const dec = function (text) {
    return parse(text, reviver);
  };
  const str = function (v, what) {
    if (typeof v !== 'string') throw new TypeErrorF(what + ' must be a string');
    return v;
  };

  const makeCtx = function (info) {
    const state = freeze({
      get: function (key) {
        const v = host('get', str(key, 'a state key'));
        return v === undefined ? undefined : dec(v);
      },
      has: function (key) {
        return host('has', str(key, 'a state key')) === true;
      },
      set: function (key, value) {
        str(key, 'a state key');
        if (value === undefined) throw new TypeErrorF('state.set needs a value (state.delete removes a key)');
        host('set', key, enc(value, true));
      },
      delete: function (key) {
        host('del', str(key, 'a state key'));
      },
      range: function (prefix, limit) {
        const p = prefix === undefined ? '' : str(prefix, 'a range prefix');
        const n = limit === undefined ? 100 : limit;
        if (typeof n !== 'number' || !(n >= 1)) throw new TypeErrorF('range limit must be a positive number');
        return dec(host('range', p, undefined, undefined, n));
      },
    });
    return freeze({
      contract: info.contract,
      sender: freeze(info.sender),
      caller: info.caller,
      block: freeze(info.block),
      txId: info.txId,
      readOnly: info.readOnly,
      state: state,
      emit: function (name, data) {
        host('emit', str(name, 'an event name'), enc(data === undefined ? null : data, false));
      },
      call: function (contract, method, args) {
        const r = host('call', str(contract, 'a contract name'), str(method, 'a method name'), enc(args === undefined ? null : args, true));
        return dec(r);
      },
      require: function (condition, message) {
        if (!condition) host('revert', message === undefined ? 'requirement failed' : StringF(message));
      },
      revert: function (message) {
        host('revert', message === undefined ? 'reverted' : StringF(message));
      },
    });
  };

  const run = function (mod, method, argsText, infoText) {
    const info = parse(infoText);
    const fn = mod !== null && typeof mod === 'object' && hasOwn(mod, method) ? mod[method] : undefined;
    if (typeof fn !== 'function') host('nomethod', method);
    const result = fn(makeCtx(info), dec(argsText));
    if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof result.then === 'function') {
      host('forbidden', 'returning a Promise (contract methods are synchronous)');
    }
    return result === undefined ? 'null' : enc(result, info.nested);
  };
  const inspect = function (mod) {
    if (mod === null || typeof mod !== 'object') return null;
    const out = [];
    const ks = apply(sort, keys(mod), []);
    for (let i = 0; i < ks.length; i++) {
      if (typeof mod[ks[i]] === 'function') apply(push, out, [ks[i]]);
    }
    return stringify(out);
  };
  return freeze({ run: run, inspect: inspect });
})(globalThis.__archi_host)`;

/** Wraps bundled contract code so that evaluating it yields the module's exports. */
export function wrapCode(code: string): string {
  return `(function () {'use strict';\n${code}\n;return typeof __contract === 'undefined' ? undefined : __contract;})()`;
}
