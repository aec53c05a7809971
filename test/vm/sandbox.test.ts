/**
 * The sandbox against hostile contracts: each attack ends in an error receipt with its
 * code, no state change, and the chain goes on (a normal tx in the next block commits).
 * Also: nested calls, determinism of gas, and nothing leaking between calls.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ReceiptJson } from '../../src/types/block.ts';
import { LIMITS } from '../../src/vm/sandbox/limits.ts';
import { type ContractChain, contractChain } from './harness.ts';

const HOSTILE = 'test/vm/fixtures/hostile.ts';
const CALLER = 'test/vm/fixtures/caller.ts';

describe('sandbox: hostile contracts', () => {
  let c: ContractChain;
  let increments = 0;
  before(async () => {
    c = await contractChain();
    for (const [name, file] of [
      ['hostile', HOSTILE],
      ['counter', 'contracts/counter.ts'],
      ['caller', CALLER],
    ]) {
      const r = await c.deploy(name, file);
      assert.equal(r.status, 'ok', `${name}: ${r.message}`);
    }
  });
  after(() => c.close());

  /** The hostile call fails with `code`; then an ordinary tx still commits. */
  async function contained(method: string, code: string, message?: RegExp, args?: unknown) {
    const height = c.chain.height;
    const root = c.chain.latestHeader.stateRoot;
    const r = await c.send(c.client, 'hostile', method, args);
    assert.equal(r.status, 'error', `${method} should fail: ${JSON.stringify(r.result)}`);
    assert.equal(r.code, code, `${method}: ${r.code} ${r.message}`);
    if (message) assert.match(r.message, message);
    assert.deepEqual(r.events, []);
    assert.equal(c.chain.latestHeader.stateRoot, root, `${method} changed state`);
    assert.equal(c.chain.height, height + 1);
    const ok = await c.send(c.client, 'counter', 'increment');
    assert.equal(ok.status, 'ok', `after ${method}: ${ok.message}`);
    assert.equal(ok.result, ++increments);
    return r;
  }

  test('infinite loop: OUT_OF_GAS, and an interrupt cannot be caught', async () => {
    const r = await contained('loop', 'OUT_OF_GAS');
    assert.equal(r.gasUsed, 10_000_000);
    await contained('loopCatch', 'OUT_OF_GAS');
  });

  test('a huge gas limit still stops at the per-call step limit', async () => {
    const r = await c.send(c.client, 'hostile', 'loop', null, 10n ** 15n);
    assert.equal(r.code, 'OUT_OF_GAS');
    assert.match(r.message, new RegExp(`${LIMITS.ticksPerCall} interrupt ticks`));
  });

  test('unbounded recursion and deep JSON: STACK_OVERFLOW', async () => {
    await contained('recurse', 'STACK_OVERFLOW');
    await contained('deepJson', 'STACK_OVERFLOW');
  });

  test('memory bombs: OUT_OF_MEMORY with the whole gas limit charged, even when caught', async () => {
    const a = await contained('memoryBomb', 'OUT_OF_MEMORY');
    const b = await contained('memoryBombCaught', 'OUT_OF_MEMORY');
    assert.equal(a.gasUsed, 10_000_000);
    assert.equal(b.gasUsed, 10_000_000);
    assert.equal(c.query('caller', 'read', { key: 'survived' }), null);
    await contained('objectBomb', 'OUT_OF_MEMORY');
  });

  test('catastrophic regex backtracking is interrupted', async () => {
    await contained('regexBomb', 'OUT_OF_GAS');
  });

  test('huge return value, event, value or event count', async () => {
    await contained('hugeReturn', 'RETURN_TOO_LARGE');
    await contained('hugeEvent', 'EVENT_TOO_LARGE');
    await contained('manyEvents', 'EVENT_TOO_LARGE');
    await contained('hugeValue', 'VALUE_TOO_LARGE');
  });

  test('no clock, no randomness, no code generation', async () => {
    await contained('dateNow', 'FORBIDDEN_API', /Date\.now .*ctx\.block\.time/);
    await contained('newDate', 'FORBIDDEN_API', /Date/);
    await contained('random', 'FORBIDDEN_API', /Math\.random/);
    await contained('functionConstructor', 'FORBIDDEN_API', /Function constructor/);
    await contained('indirectEval', 'CONTRACT_ERROR', /TypeError: not a function/);
    await contained('asyncMethod', 'FORBIDDEN_API', /Promise/);
  });

  test('no host objects are reachable', async () => {
    const probe = c.query('hostile', 'probe') as Record<string, string>;
    for (const [k, v] of Object.entries(probe)) assert.equal(v, 'undefined', k);
    await contained('escapeToHost', 'CONTRACT_ERROR', /TypeError/);
  });

  test('prototype pollution does not leak into the next call', async () => {
    const p = await c.send(c.client, 'hostile', 'pollute');
    assert.equal(p.status, 'ok');
    const clean = { polluted: null, leak: 'undefined', stringify: '{"a":1}', push: 1 };
    assert.deepEqual(c.query('hostile', 'checkClean'), clean);
    const r = await c.send(c.client, 'hostile', 'checkClean');
    assert.deepEqual(r.result, clean);
  });

  test('reentrancy and call depth', async () => {
    await contained('reenter', 'REENTRANCY', /hostile -> hostile/);
    const names: string[] = [];
    for (let i = 0; i < LIMITS.callDepth; i++) {
      const name = `depth_${i}`;
      names.push(name);
      assert.equal((await c.deploy(name, HOSTILE)).status, 'ok');
    }
    const ok = await c.send(c.client, names[0], 'chain', { names: names.slice(1) });
    assert.equal(ok.status, 'ok', ok.message);
    assert.equal(ok.result, LIMITS.callDepth - 1);
    await contained('chain', 'CALL_DEPTH_EXCEEDED', undefined, { names });
  });

  test('a failed nested call fails the whole tx even when the caller catches it', async () => {
    const r = await contained('swallow', 'CONTRACT_REVERTED', /by must be a positive integer/, {
      target: 'counter',
      method: 'increment',
      args: { by: 0 },
    });
    assert.equal(r.result, null);
  });
});

describe('sandbox: nested calls, determinism, queries', () => {
  let c: ContractChain;
  before(async () => {
    c = await contractChain();
    for (const [name, file] of [
      ['hostile', HOSTILE],
      ['caller', CALLER],
      ['callee', CALLER],
      ['asset', 'contracts/asset.ts'],
    ]) {
      assert.equal((await c.deploy(name, file)).status, 'ok');
    }
  });
  after(() => c.close());

  test('a callee sees the calling contract as its sender', async () => {
    const direct = (await c.send(c.client, 'callee', 'whoAmI')).result as any;
    assert.deepEqual(direct, {
      sender: c.client.address,
      caller: null,
      role: 'client',
      org: 'org1',
    });
    const nested = (await c.send(c.client, 'caller', 'askWho', { target: 'callee' })).result as any;
    assert.equal(nested.caller, 'caller');
    assert.equal(nested.role, 'common');
    assert.equal(nested.org, '');
    assert.match(nested.sender, /^[0-9a-f]{40}$/);
    assert.notEqual(nested.sender, c.client.address);
  });

  test('bigint survives a nested call; natives can be called but not abused', async () => {
    const r = await c.send(c.client, 'caller', 'bigTwice', { target: 'callee' });
    assert.equal(r.result, `bigint:${(2n ** 71n).toString()}`);
    const bal = await c.send(c.client, 'caller', 'call', {
      contract: 'token',
      method: 'balanceOf',
      args: { owner: c.client.address },
    });
    assert.equal(bal.result, '0');
    // A contract is not an organization member: it cannot write kv on the signer's behalf.
    const kv = await c.send(c.admin, 'caller', 'call', {
      contract: 'kv',
      method: 'put',
      args: { key: 'k', value: 1 },
    });
    assert.equal(kv.code, 'TX_FORBIDDEN');
    // Nor manage contracts with an admin's authority.
    const manage = await c.send(c.admin, 'caller', 'call', {
      contract: 'contract_manage',
      method: 'freeze',
      args: { name: 'asset' },
    });
    assert.equal(manage.code, 'TX_FORBIDDEN');
  });

  test('the same call costs the same gas every time (interrupt ticks are deterministic)', async () => {
    const { executor, config, height, latestHeader } = c.chain;
    const block = { height, time: latestHeader.time };
    const run = () => executor.query(config, block, 'hostile', 'spin', { n: 300_000 });
    const first = run();
    assert.ok(first.gasUsed > 10 * 12_500, `spin should take many ticks, used ${first.gasUsed}`);
    for (let i = 0; i < 20; i++) {
      const again = run();
      assert.equal(again.gasUsed, first.gasUsed);
      assert.equal(again.result, first.result);
    }
    // In txs too: gas differs only by the tx's own size (signature and nonce lengths vary).
    const receipts: ReceiptJson[] = await c.sendMany(
      Array.from({ length: 6 }, () => ({
        who: c.client,
        contract: 'hostile',
        method: 'spin',
        args: { n: 300_000 },
      })),
    );
    const gas = receipts.map((r) => r.gasUsed);
    assert.equal(receipts[0].status, 'ok', receipts[0].message);
    assert.ok(Math.max(...gas) - Math.min(...gas) <= 2 * 16, `gas: ${gas.join(', ')}`);
  });

  test('memory-bomb receipts are identical run after run', async () => {
    const a = await c.send(c.client, 'hostile', 'memoryBomb');
    await c.send(c.client, 'hostile', 'spin', { n: 1000 });
    const b = await c.send(c.client, 'hostile', 'memoryBomb');
    assert.deepEqual({ ...a, txId: '' }, { ...b, txId: '' });
  });

  test('queries read without a tx, cannot write, and prove what they read', async () => {
    await c.send(c.client, 'caller', 'write', { key: 'k', value: { b: 2, a: [1, 2n.toString()] } });
    assert.deepEqual(c.query('caller', 'read', { key: 'k' }), { a: [1, '2'], b: 2 });
    assert.throws(() => c.query('caller', 'write', { key: 'k', value: 1 }), {
      code: 'CONTRACT_READ_ONLY',
    });
    const answer = c.chain.query('caller', 'read', { key: 'k' }, true);
    const keys = answer.proof!.reads.map((r) => r.key);
    assert.deepEqual(keys, ['contract_manage/contract/caller', 'caller/k']);
    // Stored with sorted keys.
    const raw = answer.proof!.reads[1].value!;
    assert.equal(Buffer.from(raw, 'hex').toString(), '{"a":[1,"2"],"b":2}');
  });

  test('unknown contract or method', async () => {
    assert.throws(() => c.query('nope', 'get'), { code: 'CONTRACT_NOT_FOUND' });
    assert.throws(() => c.query('caller', 'nope'), { code: 'METHOD_NOT_FOUND' });
    await assert.rejects(c.client.send(c.chain, { contract: 'caller', method: 'nope' }), {
      code: 'METHOD_NOT_FOUND',
    });
  });
});
