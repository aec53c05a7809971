/**
 * Runs methods of user contracts in the sandbox against a CallContext: every host request
 * (state, events, nested calls, interrupt ticks) is answered here on the main thread, where
 * gas is charged and the tx's state overlay lives. Any failure ends the whole call (a caught
 * exception inside the contract cannot undo a refused host request). Nested calls of native
 * contracts (CallContext.call) go through the same code, on the same call stack.
 */
import { peekState, type StateReader, stateKey } from '../../state/overlay.ts';
import { ArchiError } from '../../types/errors.ts';
import { checkJsonText, checkJsonValue, utf8Bytes, utf8Text } from '../../types/json.ts';
import { type CallContext, checkHookCaller, GAS, type NativeMethod } from '../context.ts';
import { doneError, type HostHandler, sandbox } from './host.ts';
import { EVENT_NAME, LIMITS } from './limits.ts';
import { type ContractMeta, contractSender, loadCode, MANAGE, metaKey } from './meta.ts';
import type { HostReply, HostRequest, Prefetch } from './protocol.ts';

/** How a call target resolves: a native method, or a user contract's metadata. */
export type Resolved =
  | { kind: 'native'; method: NativeMethod }
  | { kind: 'user'; meta: ContractMeta };

/** What nested calls need: contract lookup against the state the call runs on. */
export interface CallEnv {
  resolve(contract: string, method: string, mode: 'tx' | 'query'): Resolved;
  state: StateReader;
}

const OK: HostReply = { t: 'ok' };

function clip(s: string): string {
  return s.length > LIMITS.errorChars ? `${s.slice(0, LIMITS.errorChars)}…` : s;
}

function bytesOver(s: string, max: number): boolean {
  return s.length > max || Buffer.byteLength(s) > max;
}

function key(k: string | undefined, what = 'state key', allowEmpty = false): string {
  if (typeof k !== 'string' || (!allowEmpty && k.length === 0) || k.length > LIMITS.keyChars) {
    throw new ArchiError(
      'INVALID_ARGS',
      `a ${what} must be a string of ${allowEmpty ? 0 : 1}..${LIMITS.keyChars} characters`,
    );
  }
  return k;
}

/** JSON text with bigint as {"$bigint": "..."} (how values travel between contracts). */
export function taggedJson(value: unknown, what = 'the return value'): string {
  checkJsonValue(value, 'value', what);
  return (
    JSON.stringify(value ?? null, (_k, v) =>
      typeof v === 'bigint' ? { $bigint: v.toString() } : v,
    ) ?? 'null'
  );
}

/** Parse tagged JSON for a native contract: bigint tags become decimal strings. */
function parseForNative(text: string): unknown {
  // The reviver makes V8 recurse: the depth check must come first.
  checkJsonText(text, 'value', 'call args');
  return JSON.parse(text, (_k, v) =>
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    typeof v.$bigint === 'string' &&
    Object.keys(v).length === 1
      ? v.$bigint
      : v,
  );
}

const FORBIDDEN_HINT: Record<string, string> = {
  Date: 'contracts have no clock: use ctx.block.time',
  'Date.now': 'contracts have no clock: use ctx.block.time',
  'Math.random': 'contracts are deterministic: derive values from ctx.txId or state',
};

/** Charge everything that is left: the failure point of a heap exhaustion is not priced. */
function chargeAll(ctx: CallContext): void {
  try {
    ctx.gas(Number.MAX_SAFE_INTEGER);
  } catch {
    // OUT_OF_GAS is the point: the receipt shows the whole gas limit used.
  }
}

/**
 * Keys a method is likely to read next time: those its last call read (a speed hint only),
 * as templates. Keys named after the sender or an argument (a payer's and a payee's record)
 * differ per call, so such a part is kept as a marker of where it came from and filled in with
 * the next call's own sender and arguments: the reads a call will make are then known before
 * it runs, and need no round trip to the host.
 */
const readHints = new Map<string, string[]>();
const HINT_ENTRIES = 4096;
const HINT_KEYS = 8;
/** Larger values are not prefetched (the contract asks for them when it reads them). */
const PREFETCH_VALUE_BYTES = 4096;
/** Shorter argument values are not looked for in keys: they would match by chance. */
const HINT_PART_CHARS = 8;
/** Markers cannot occur in a state key (keys are printable). */
const MARK = '\u0000';

/** What a call's keys may be built from: marker name to value, longest value first. */
export function hintParts(sender: string, argsText: string): Array<[string, string]> {
  const parts: Array<[string, string]> = [];
  if (sender.length >= HINT_PART_CHARS) parts.push(['s', sender]);
  if (argsText.startsWith('{')) {
    // Args were checked before the call; a hint that cannot parse them just has no arg parts.
    let args: unknown;
    try {
      args = JSON.parse(argsText);
    } catch {
      args = null;
    }
    if (args !== null && typeof args === 'object' && !Array.isArray(args)) {
      for (const [name, v] of Object.entries(args)) {
        if (typeof v === 'string' && v.length >= HINT_PART_CHARS && v.length <= 256) {
          parts.push([`a.${name}`, v]);
        }
      }
    }
  }
  return parts.sort((x, y) => y[1].length - x[1].length);
}

/** `key` with each part's value replaced by its marker. */
export function keyTemplate(key: string, parts: Array<[string, string]>): string {
  let out = key;
  for (const [name, value] of parts) {
    if (out.includes(value)) out = out.split(value).join(`${MARK}${name}${MARK}`);
  }
  return out;
}

/** A template filled with this call's parts; undefined when one of its markers has no value. */
export function fillTemplate(template: string, parts: Array<[string, string]>): string | undefined {
  if (!template.includes(MARK)) return template;
  const pieces = template.split(MARK);
  let out = '';
  for (let i = 0; i < pieces.length; i++) {
    if (i % 2 === 0) out += pieces[i];
    else {
      const part = parts.find(([name]) => name === pieces[i]);
      if (!part) return undefined;
      out += part[1];
    }
  }
  return out;
}

/** The hinted keys' current values, read without charge (the contract's reads are charged). */
function prefetch(
  env: CallEnv,
  ctx: CallContext,
  hint: string,
  parts: Array<[string, string]>,
): Prefetch {
  const out: Prefetch = [];
  for (const template of readHints.get(hint) ?? []) {
    const k = fillTemplate(template, parts);
    if (k === undefined || out.some(([seen]) => seen === k)) continue;
    // Not an access of the tx: hints differ per node; the host checks each value the contract uses.
    const v = peekState(env.state, stateKey(ctx.contract, k));
    if (v === undefined) out.push([k, null]);
    else if (v.length <= PREFETCH_VALUE_BYTES) out.push([k, utf8Text(v)]);
  }
  return out;
}

function learnReads(hint: string, keys: string[], parts: Array<[string, string]>): void {
  if (keys.length === 0) {
    readHints.delete(hint);
    return;
  }
  if (!readHints.has(hint) && readHints.size >= HINT_ENTRIES) {
    readHints.delete(readHints.keys().next().value as string);
  }
  readHints.set(
    hint,
    keys.map((k) => keyTemplate(k, parts)),
  );
}

function hostHandler(env: CallEnv, ctx: CallContext, reads?: string[]): HostHandler {
  const frame = ctx.frame;
  return (req: HostRequest): HostReply => {
    if (reads && (req.op === 'get' || req.op === 'has') && reads.length < HINT_KEYS) {
      if (typeof req.a === 'string' && !reads.includes(req.a)) reads.push(req.a);
    }
    if (req.op === 'tick') {
      if (++frame.ticks > LIMITS.ticksPerCall) {
        throw new ArchiError(
          'OUT_OF_GAS',
          `the call ran past ${LIMITS.ticksPerCall} interrupt ticks (the per-call step limit)`,
        );
      }
      ctx.gas(GAS.interruptTick);
      return OK;
    }
    ctx.gas(GAS.hostCall);
    switch (req.op) {
      case 'get': {
        const v = ctx.get(key(req.a));
        return { t: 'ok', v: v === undefined ? undefined : utf8Text(v) };
      }
      case 'has':
        return { t: 'ok', v: ctx.get(key(req.a)) !== undefined };
      case 'set': {
        const k = key(req.a);
        const value = req.b ?? 'null';
        if (bytesOver(value, LIMITS.valueBytes)) {
          throw new ArchiError(
            'VALUE_TOO_LARGE',
            `a stored value is limited to ${LIMITS.valueBytes} bytes`,
          );
        }
        checkJsonText(value, 'value', 'a stored value');
        ctx.set(k, utf8Bytes(value));
        return OK;
      }
      case 'del':
        ctx.delete(key(req.a));
        return OK;
      case 'range': {
        const prefix = key(req.a ?? '', 'range prefix', true);
        const limit = Math.max(1, Math.min(Math.floor(req.n ?? 100), LIMITS.rangeRows));
        const rows = ctx.range(prefix, limit);
        return {
          t: 'ok',
          v: `[${rows.map(([k, v]) => `[${JSON.stringify(k)},${utf8Text(v)}]`).join(',')}]`,
        };
      }
      case 'emit': {
        const name = req.a ?? '';
        if (!EVENT_NAME.test(name)) {
          throw new ArchiError(
            'INVALID_ARGS',
            `event name ${JSON.stringify(name.slice(0, 80))} must match ${EVENT_NAME}`,
          );
        }
        const data = req.b ?? 'null';
        if (bytesOver(data, LIMITS.eventBytes)) {
          throw new ArchiError(
            'EVENT_TOO_LARGE',
            `event data is limited to ${LIMITS.eventBytes} bytes`,
          );
        }
        if (++frame.events > LIMITS.eventsPerCall) {
          throw new ArchiError(
            'EVENT_TOO_LARGE',
            `a call may emit at most ${LIMITS.eventsPerCall} events`,
          );
        }
        checkJsonText(data, 'value', 'event data');
        ctx.emit(name, JSON.parse(data));
        return OK;
      }
      case 'call':
        return { t: 'ok', v: nestedCall(env, ctx, req.a, req.b, req.c ?? 'null') };
      case 'revert':
        throw new ArchiError('CONTRACT_REVERTED', clip(req.a ?? 'reverted'));
      case 'forbidden': {
        const what = req.a ?? 'this';
        const hint = FORBIDDEN_HINT[what] ?? 'contracts cannot generate code or use host objects';
        throw new ArchiError('FORBIDDEN_API', `${what} is not available in contracts (${hint})`);
      }
      case 'nomethod':
        throw new ArchiError(
          'METHOD_NOT_FOUND',
          `contract ${ctx.contract} has no method ${JSON.stringify(req.a)}`,
        );
      default:
        throw new ArchiError('INTERNAL', `unknown host request ${JSON.stringify(req.op)}`);
    }
  };
}

/** `ctx.contract` calls `target.method` with tagged JSON args; the result is tagged JSON. */
function nestedCall(
  env: CallEnv,
  ctx: CallContext,
  target: string | undefined,
  method: string | undefined,
  argsText: string,
): string {
  if (typeof target !== 'string' || typeof method !== 'string') {
    throw new ArchiError('INVALID_ARGS', 'ctx.call needs a contract name and a method name');
  }
  if (bytesOver(argsText, LIMITS.valueBytes)) {
    throw new ArchiError('VALUE_TOO_LARGE', `call args are limited to ${LIMITS.valueBytes} bytes`);
  }
  checkJsonText(argsText, 'value', 'call args');
  checkHookCaller(ctx.contract, target, method);
  const frame = ctx.frame;
  if (frame.stack.includes(target)) {
    throw new ArchiError(
      'REENTRANCY',
      `${target} is already running (${[...frame.stack, target].join(' -> ')}): a contract cannot be re-entered`,
    );
  }
  if (frame.stack.length >= LIMITS.callDepth) {
    throw new ArchiError(
      'CALL_DEPTH_EXCEEDED',
      `calls nest at most ${LIMITS.callDepth} deep (${[...frame.stack, target].join(' -> ')})`,
    );
  }
  const resolved = env.resolve(target, method, ctx.readOnly ? 'query' : 'tx');
  const sub = ctx.derive(target, contractSender(ctx.config, ctx.contract));
  if (resolved.kind === 'user') {
    return runInSandbox(env, sub, resolved.meta, method, argsText, ctx.contract);
  }
  const result = taggedJson(runNative(sub, resolved.method, parseForNative(argsText)));
  if (bytesOver(result, LIMITS.returnBytes)) {
    throw new ArchiError(
      'RETURN_TOO_LARGE',
      `${target}.${method} returned more than ${LIMITS.returnBytes} bytes`,
    );
  }
  return result;
}

function runInSandbox(
  env: CallEnv,
  ctx: CallContext,
  meta: ContractMeta,
  method: string,
  argsText: string,
  caller: string | null,
): string {
  // Read the metadata through the context: charged, and part of a query's proof.
  ctx.derive(MANAGE, ctx.sender).get(metaKey(meta.name));
  const code = loadCode(env.state, meta.codeHash);
  if (code === undefined) {
    throw new ArchiError('INTERNAL', `code ${meta.codeHash} of ${meta.name} is missing`);
  }
  ctx.gas(GAS.contractCall + code.length * GAS.perCodeByte);
  const info = JSON.stringify({
    contract: meta.name,
    sender: ctx.sender,
    caller,
    block: ctx.block,
    txId: ctx.txId,
    readOnly: ctx.readOnly,
  });
  const frame = ctx.frame;
  frame.stack.push(meta.name);
  const hint = `${meta.codeHash}:${method}`;
  const parts = hintParts(ctx.sender.id, argsText);
  const reads: string[] = [];
  try {
    const done = sandbox.request(
      {
        t: 'run',
        codeHash: meta.codeHash,
        name: meta.name,
        method,
        args: argsText,
        info,
        nested: caller !== null,
        prefetch: prefetch(env, ctx, hint, parts),
      },
      hostHandler(env, ctx, reads),
      () => code,
    );
    learnReads(hint, reads, parts);
    if (done.ok) {
      checkJsonText(done.v, 'value', 'the return value');
      return done.v;
    }
    if (done.code === 'OUT_OF_MEMORY') chargeAll(ctx);
    throw doneError(done);
  } finally {
    frame.stack.pop();
  }
}

/**
 * Run `method` of a user contract as the target of a tx or query. Args are plain JSON; the
 * result is plain JSON (bigint as decimal strings).
 */
export function runUserMethod(
  env: CallEnv,
  ctx: CallContext,
  meta: ContractMeta,
  method: string,
  args: unknown,
): unknown {
  // Args reach here within JSON_LIMITS: checkTxRules parsed a tx's, Executor.query checked a query's.
  const argsText = JSON.stringify(args ?? null);
  if (bytesOver(argsText, LIMITS.argsBytes)) {
    throw new ArchiError('ARGS_TOO_LARGE', `args are limited to ${LIMITS.argsBytes} bytes of JSON`);
  }
  return JSON.parse(runInSandbox(env, ctx, meta, method, argsText, null));
}

/** Run a native method with `ctx.contract` on the call stack (natives call out, so they count). */
export function runNative(ctx: CallContext, method: NativeMethod, args: unknown): unknown {
  ctx.frame.stack.push(ctx.contract);
  try {
    return method.run(ctx, args);
  } finally {
    ctx.frame.stack.pop();
  }
}

/**
 * CallContext.call: the native contract `ctx.contract` calls `target.method` under the rules of
 * a sandboxed contract's ctx.call. Args are JSON values (bigint allowed); the result is plain
 * JSON with bigint as decimal strings, as a native method sees its args.
 */
export function callContract(
  env: CallEnv,
  ctx: CallContext,
  target: string,
  method: string,
  args: unknown,
): unknown {
  return parseForNative(nestedCall(env, ctx, target, method, taggedJson(args, 'call args')));
}

/**
 * Load code in the sandbox and list the functions it exports (its methods). `onTick` is
 * charged for each interrupt tick; module code that runs too long fails with OUT_OF_GAS.
 */
export function inspectCode(name: string, code: string, onTick: () => void): string[] {
  let ticks = 0;
  const done = sandbox.request({ t: 'inspect', name, code }, (req) => {
    if (req.op === 'tick') {
      if (++ticks > LIMITS.ticksPerCall) {
        throw new ArchiError('OUT_OF_GAS', 'the contract module runs too long when it loads');
      }
      onTick();
      return OK;
    }
    if (req.op === 'forbidden') {
      throw new ArchiError('FORBIDDEN_API', `${req.a} is not available in contracts`);
    }
    throw new ArchiError('CODE_INVALID', 'module code cannot reach the chain while it loads');
  });
  if (!done.ok) {
    const e = doneError(done);
    if (e.code === 'CONTRACT_ERROR')
      throw new ArchiError('CODE_INVALID', `code fails to load: ${e.message}`);
    throw e;
  }
  return JSON.parse(done.v) as string[];
}
