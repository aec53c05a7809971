/**
 * Scenarios of test/vm/warm-slot.test.ts, run on a thread with the sandbox's large native
 * stack (QuickJS recursion would overflow the test runner's). Warm slots against cold calls, in this thread with a scripted host: every call, hostile or
 * not, gives the same Done and asks the host the same things in the same order (so the same
 * gas) whether it runs cold in a fresh runtime or warm from a restored memory, and after a
 * warm call the memory below the live stack and the sealed heap is byte for byte the seal's.
 */
import assert from 'node:assert/strict';
import { parentPort } from 'node:worker_threads';
import { type CallEnv, runCall } from '../../src/vm/sandbox/engine.ts';
import { LIMITS } from '../../src/vm/sandbox/limits.ts';
import type { Done, HostReply, HostRequest } from '../../src/vm/sandbox/protocol.ts';
import {
  type Instance,
  LAYOUT,
  newInstance,
  WarmPool,
  WarmSlot,
} from '../../src/vm/sandbox/warm.ts';
import { bundle } from './harness.ts';

/** A host that keeps state in a Map, charges ticks up to a limit and logs every request. */
function scriptedHost(ticks: number = LIMITS.ticksPerCall) {
  const state = new Map<string, string>();
  let log: string[] = [];
  let left = ticks;
  const answer = ({ op, a, b, n }: HostRequest): HostReply => {
    log.push(`${op}:${a ?? ''}:${b ?? ''}:${n ?? ''}`);
    switch (op) {
      case 'tick':
        return --left < 0 ? { t: 'err', code: 'OUT_OF_GAS', message: 'out of ticks' } : { t: 'ok' };
      case 'get':
        return { t: 'ok', v: state.get(a ?? '') };
      case 'has':
        return { t: 'ok', v: state.has(a ?? '') };
      case 'set':
        state.set(a ?? '', b ?? 'null');
        return { t: 'ok' };
      case 'del':
        state.delete(a ?? '');
        return { t: 'ok' };
      case 'range':
        return { t: 'ok', v: '[]' };
      case 'emit':
      case 'flush':
        return { t: 'ok' };
      default:
        return {
          t: 'err',
          code: op === 'revert' ? 'CONTRACT_REVERTED' : 'FORBIDDEN_API',
          message: op,
        };
    }
  };
  // As the main thread does: deferred requests first, the first refusal answers.
  const rpc = (req: HostRequest): HostReply => {
    for (const p of req.pre ?? []) {
      const r = answer(p);
      if (r.t === 'err') return r;
    }
    return answer(req);
  };
  return {
    rpc,
    /** A Done as the main thread returns it: its deferred requests answered first. */
    settle(d: Done): Done {
      for (const p of d.pre ?? []) {
        const r = answer(p);
        if (r.t === 'err') return { t: 'done', ok: false, code: r.code, message: r.message };
      }
      const { pre: _, ...rest } = d;
      return rest as Done;
    },
    /** The requests since the last take, and a fresh tick budget. */
    take(): string[] {
      const l = log;
      log = [];
      left = ticks;
      return l;
    },
  };
}

const MODULE_STATE = `
let calls = 0;
const seen = [];
function bump(ctx, args) { calls++; seen.push(args); return { calls, seen: seen.length }; }
function pollute() {
  Array.prototype.polluted = 1; Object.prototype.x = 2; globalThis.leak = 3;
  JSON.stringify = function () { return 'hijacked'; };
  return 'done';
}
function check(ctx) {
  ctx.state.set('k', { a: 1n, b: [1, 2] });
  return [typeof [].polluted, typeof ({}).x, typeof globalThis.leak, JSON.stringify({ a: 1 }), ctx.state.get('k')];
}
function cycles() { for (let i = 0; i < 20000; i++) { const o = {}; o.self = o; } return 1; }
return { bump, pollute, check, cycles };
`;

/** The call info of a tx to contract `c` at `height`. */
function callInfo(height: number, txByte: string): string {
  return JSON.stringify({
    contract: 'c',
    sender: 'org1/user',
    caller: null,
    block: { height, time: 1700000000000 + height },
    txId: txByte.repeat(32),
    readOnly: false,
  });
}

/** Run the same calls warm (one slot) and cold (fresh runtimes); compare each outcome. */
function compare(
  slot: WarmSlot,
  inst: Instance,
  cold: CallEnv,
  host: ReturnType<typeof scriptedHost>,
  code: string,
  calls: Array<[string, unknown]>,
): Done[] {
  const info = callInfo(7, 'ab');
  const seal = new Uint8Array(inst.memory.buffer).slice(0, LAYOUT.stackTop - 1024 * 1024);
  const out: Done[] = [];
  host.take();
  for (const [method, args] of calls) {
    const a = JSON.stringify(args ?? null);
    const warm = host.settle(slot.run({ method, args: a, info, nested: false }));
    const warmLog = host.take();
    const coldDone = host.settle(
      runCall(cold, code, 'c', { method, args: a, info, nested: false }),
    );
    const coldLog = host.take();
    assert.deepEqual(warm, coldDone, `${method}: warm and cold outcomes differ`);
    assert.deepEqual(warmLog, coldLog, `${method}: warm and cold host requests differ`);
    const now = new Uint8Array(inst.memory.buffer).subarray(0, seal.length);
    assert.ok(
      Buffer.compare(now, seal) === 0,
      `${method}: memory below the stack differs from the seal`,
    );
    out.push(warm);
  }
  return out;
}

const host = scriptedHost();
const coldInst = await newInstance();
const topAt = await WarmPool.topPointer();
assert.ok(topAt, 'the allocator top pointer is found');
const cold: CallEnv = {
  quickjs: coldInst.quickjs,
  rpc: host.rpc,
  heapFailures: coldInst.heapFailures,
};
const scenarios: Array<[string, () => Promise<void> | void]> = [];
const test = (name: string, f: () => Promise<void> | void) => scenarios.push([name, f]);

test('the layout read from the binary is that of the pinned build', () => {
  assert.ok(LAYOUT.dataEnd > 1024 && LAYOUT.staticEnd > LAYOUT.dataEnd);
  // The stack (5 MiB in this build) lies between the static region and the heap.
  assert.ok(LAYOUT.stackTop - LAYOUT.staticEnd >= 4 * 1024 * 1024);
  assert.ok(LAYOUT.minPages * 65536 <= LIMITS.heapBytes);
});

test('module state, pollution and garbage do not outlive a warm call, as in a cold one', async () => {
  const inst = await newInstance();
  const slot = WarmSlot.make(inst, MODULE_STATE, 'c', host.rpc, topAt);
  assert.ok(slot, 'the module is warmable');
  const done = compare(slot, inst, cold, host, MODULE_STATE, [
    ['bump', 1],
    ['bump', 2],
    ['pollute', null],
    ['check', null],
    ['cycles', null],
    ['bump', 3],
    ['check', null],
  ]);
  assert.deepEqual(done[1], { t: 'done', ok: true, v: '{"calls":1,"seen":1}' });
  assert.deepEqual(JSON.parse((done[3] as { v: string }).v), [
    'undefined',
    'undefined',
    'undefined',
    '{"a":1}',
    { a: '1', b: [1, 2] },
  ]);
});

test('hostile calls end the same way warm and cold, and the slot stays clean', async () => {
  const code = await bundle('test/vm/fixtures/hostile.ts');
  const inst = await newInstance();
  const slot = WarmSlot.make(inst, code, 'c', host.rpc, topAt);
  assert.ok(slot, 'the hostile module is warmable');
  const done = compare(slot, inst, cold, host, code, [
    ['spin', { n: 100 }],
    ['loop', null],
    ['loopCatch', null],
    ['recurse', null],
    ['deepJson', null],
    ['regexBomb', null],
    ['spin', { n: 200_000 }],
    ['dateNow', null],
    ['random', null],
    ['functionConstructor', null],
    ['indirectEval', null],
    ['escapeToHost', null],
    ['probe', null],
    ['pollute', null],
    ['checkClean', null],
    ['hugeReturn', null],
    ['hugeValue', null],
    ['spin', { n: 100 }],
  ]);
  const codes = done.map((d) => (d.ok ? 'ok' : d.code));
  assert.equal(codes[0], 'ok');
  assert.equal(codes[1], 'OUT_OF_GAS');
  assert.equal(codes[3], 'STACK_OVERFLOW');
  assert.equal(codes[17], 'ok');
  assert.deepEqual(done[0], done[17], 'the same call gives the same result before and after');
});

test('a memory bomb fails with OUT_OF_MEMORY warm as cold, and the next call is clean', async () => {
  const code = await bundle('test/vm/fixtures/hostile.ts');
  const inst = await newInstance();
  const slot = WarmSlot.make(inst, code, 'c', host.rpc, topAt);
  assert.ok(slot);
  const done = compare(slot, inst, cold, host, code, [
    ['memoryBomb', null],
    ['memoryBombCaught', null],
    ['objectBomb', null],
    ['spin', { n: 10 }],
  ]);
  assert.deepEqual(
    done.map((d) => (d.ok ? 'ok' : d.code)),
    ['OUT_OF_MEMORY', 'OUT_OF_MEMORY', 'OUT_OF_MEMORY', 'ok'],
  );
});

test('prefetched reads make the same requests in the same order as asked ones', async () => {
  const code = `
    function rw(ctx, args) {
      const a = ctx.state.get('a') ?? 0;
      ctx.state.set('a', a + 1);
      const again = ctx.state.get('a');
      const hasB = ctx.state.has('b');
      ctx.state.delete('b');
      ctx.emit('E', { a, again, hasB, b: ctx.state.get('b') ?? null, c: ctx.state.get('c') ?? null });
      return [a, again, hasB];
    }
    return { rw };`;
  const info = callInfo(1, 'cd');
  const inst = await newInstance();
  const slot = WarmSlot.make(inst, code, 'c', host.rpc, topAt);
  assert.ok(slot);
  host.take();
  const asked = host.settle(slot.run({ method: 'rw', args: 'null', info, nested: false }));
  const askedLog = host.take();
  // The host's state now has a = 1 and no b: prefetch exactly that view.
  const prefetched = host.settle(
    slot.run({
      method: 'rw',
      args: 'null',
      info,
      nested: false,
      prefetch: [
        ['a', '1'],
        ['b', null],
      ],
    }),
  );
  const prefetchedLog = host.take();
  assert.deepEqual(asked, { t: 'done', ok: true, v: '[0,1,false]' });
  assert.deepEqual(prefetched, { t: 'done', ok: true, v: '[1,2,false]' });
  // Same requests in the same order, the values aside (the second call starts at a = 1).
  assert.deepEqual(
    prefetchedLog.map((l) => l.replace(/:.*/, '')),
    askedLog.map((l) => l.replace(/:.*/, '')),
  );
  assert.ok(prefetchedLog.length >= 6, prefetchedLog.join(' '));
});

test('a module that asks the host while loading is not warmed', async () => {
  const inst = await newInstance();
  const slot = WarmSlot.make(
    inst,
    'const t = Date.now(); return { f() { return t; } };',
    'c',
    host.rpc,
    topAt,
  );
  assert.equal(slot, undefined);
  const looping = await bundle('test/vm/fixtures/looping-module.ts');
  assert.equal(WarmSlot.make(await newInstance(), looping, 'c', host.rpc, topAt), undefined);
});

const results: Array<{ name: string; error?: string }> = [];
for (const [name, f] of scenarios) {
  try {
    await f();
    results.push({ name });
  } catch (e) {
    results.push({ name, error: (e as Error).stack ?? String(e) });
  }
}
parentPort?.postMessage(results);
