/**
 * Native contracts calling other contracts (CallContext.call), savepoints (CallContext.savepoint)
 * and the IBC hook rule, on a real chain whose registry carries a probe native contract. The
 * probe sits under the name `kv`: the registry accepts only names NATIVE_NAMES knows.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Executor } from '../../src/app/executor.ts';
import { IdentityResolver } from '../../src/app/identity.ts';
import { SignatureCache, type TxCheckEnv } from '../../src/app/tx-check.ts';
import { Chain } from '../../src/chain/chain.ts';
import { asyncVerifier } from '../../src/crypto/async-verify.ts';
import { DEFAULT_MEMPOOL_LIMITS, Mempool } from '../../src/mempool/mempool.ts';
import { ChainStore, storeReader } from '../../src/storage/chain-store.ts';
import type { ReceiptJson } from '../../src/types/block.ts';
import { ArchiError } from '../../src/types/errors.ts';
import { unhex } from '../../src/types/hex.ts';
import { utf8Bytes, utf8Text } from '../../src/types/json.ts';
import { buildTx, decodeTx } from '../../src/types/tx.ts';
import type { NativeContract } from '../../src/vm/context.ts';
import { chainConfigContract } from '../../src/vm/native/chain-config.ts';
import { evidenceContract } from '../../src/vm/native/evidence.ts';
import { governanceContract } from '../../src/vm/native/governance.ts';
import { orgKeysContract } from '../../src/vm/native/org-keys.ts';
import { tokenContract } from '../../src/vm/native/token.ts';
import { ContractRegistry } from '../../src/vm/registry.ts';
import { initSandbox } from '../../src/vm/sandbox/host.ts';
import { LIMITS } from '../../src/vm/sandbox/limits.ts';
import { contractAddress } from '../../src/vm/sandbox/meta.ts';
import { type Fixture, type Member, makeFixture } from '../unit/chain-fixture.ts';
import { bundle } from './harness.ts';

const PROBE = 'kv';

interface CallArgs {
  contract: string;
  method: string;
  args?: unknown;
}

/** A native contract that calls out and opens savepoints as its args say. */
const probe: NativeContract = {
  name: PROBE,
  methods: {
    call: {
      write: true,
      run: (ctx, a) => {
        const c = a as CallArgs;
        return ctx.call(c.contract, c.method, c.args ?? null);
      },
    },
    look: {
      write: false,
      run: (ctx, a) => {
        const c = a as CallArgs;
        return ctx.call(c.contract, c.method, c.args ?? null);
      },
    },
    /** Writes and emits inside a savepoint (and makes `calls`), then once more after it. */
    save: {
      write: true,
      run: (ctx, a) => {
        const o = a as { calls?: CallArgs[]; fail?: boolean; burn?: boolean };
        const saved = ctx.savepoint(() => {
          ctx.set('inside', utf8Bytes('1'));
          ctx.emit('Inside', {});
          const results = (o.calls ?? []).map((c) =>
            ctx.call(c.contract, c.method, c.args ?? null),
          );
          if (o.burn) ctx.gas(Number.MAX_SAFE_INTEGER);
          if (o.fail) throw new ArchiError('CONTRACT_REVERTED', 'asked to fail');
          return results;
        });
        ctx.set('after', utf8Bytes('1'));
        ctx.emit('After', {});
        return saved.ok ? { ok: true, value: saved.value } : { ok: false, code: saved.error.code };
      },
    },
    /** An outer savepoint that keeps its work around an inner one that fails. */
    nest: {
      write: true,
      run: (ctx) => {
        const outer = ctx.savepoint(() => {
          ctx.set('outer', utf8Bytes('1'));
          const inner = ctx.savepoint(() => {
            ctx.set('inner', utf8Bytes('1'));
            ctx.set('outer', utf8Bytes('overwritten'));
            ctx.emit('Inner', {});
            throw new ArchiError('CONTRACT_REVERTED', 'inner fails');
          });
          return inner.ok ? 'inner kept' : inner.error.code;
        });
        return outer;
      },
    },
    get: {
      write: false,
      run: (ctx, a) => {
        const v = ctx.get((a as { key: string }).key);
        return v === undefined ? null : utf8Text(v);
      },
    },
  },
};

interface World {
  fx: Fixture;
  chain: Chain;
  send(who: Member, contract: string, method: string, args?: unknown): Promise<ReceiptJson>;
  query(contract: string, method: string, args?: unknown): unknown;
  close(): Promise<void>;
}

/** A chain like buildChain's, with the probe in place of `kv`. */
async function world(): Promise<World> {
  await initSandbox();
  const fx = makeFixture('standard');
  const dir = mkdtempSync(join(tmpdir(), 'archi-native-call-'));
  fx.dirs.push(dir);
  const store = ChainStore.open(dir);
  const profile = fx.profile;
  const env: TxCheckEnv = {
    profile,
    identities: new IdentityResolver(profile),
    registry: new ContractRegistry([
      chainConfigContract,
      probe,
      tokenContract,
      evidenceContract,
      governanceContract,
      orgKeysContract,
    ]),
    sigCache: new SignatureCache(),
  };
  const chain = new Chain({
    profile,
    store,
    genesis: fx.genesis,
    mempool: new Mempool(DEFAULT_MEMPOOL_LIMITS),
    env,
    executor: new Executor(env, storeReader(store)),
    verifier: asyncVerifier(profile),
  });
  let time = Date.now();
  return {
    fx,
    chain,
    async send(who, contract, method, args) {
      const id = await who.send(chain, { contract, method, args: args ?? null });
      time = Math.max(time + 1, Date.now());
      fx.commit(chain, time);
      return chain.getTx(id).receipt;
    },
    query: (contract, method, args) => chain.query(contract, method, args ?? null, false).result,
    async close() {
      await chain.close();
      await fx.cleanup();
    },
  };
}

describe('native contracts call other contracts', () => {
  let w: World;
  /** A tx that must fail with `code` and change nothing. */
  async function refused(contract: string, method: string, args: unknown, code: string) {
    const root = w.chain.latestHeader.stateRoot;
    const r = await w.send(w.fx.client, contract, method, args);
    assert.equal(
      r.status,
      'error',
      `${contract}.${method} should fail: ${JSON.stringify(r.result)}`,
    );
    assert.equal(r.code, code, r.message);
    assert.deepEqual(r.events, []);
    assert.equal(w.chain.latestHeader.stateRoot, root);
    return r;
  }

  before(async () => {
    w = await world();
    const deploys: Array<[string, string]> = [
      ['caller', 'test/vm/fixtures/caller.ts'],
      ['port', 'test/vm/fixtures/port.ts'],
      ['hostile', 'test/vm/fixtures/hostile.ts'],
    ];
    for (let i = 1; i <= LIMITS.callDepth; i++)
      deploys.push([`c${i}`, 'test/vm/fixtures/caller.ts']);
    for (const [name, file] of deploys) {
      const r = await w.send(w.fx.admin, 'contract_manage', 'deploy', {
        name,
        code: await bundle(file),
      });
      assert.equal(r.status, 'ok', `${name}: ${r.message}`);
    }
  });
  after(() => w.close());

  test('the callee sees the native caller as a contract sender, and bigint comes back as text', async () => {
    const r = await w.send(w.fx.client, PROBE, 'call', { contract: 'caller', method: 'whoAmI' });
    assert.equal(r.status, 'ok', r.message);
    assert.deepEqual(r.result, {
      sender: contractAddress(w.chain.config, PROBE),
      caller: PROBE,
      role: 'common',
      org: '',
    });
    const big = await w.send(w.fx.client, PROBE, 'call', { contract: 'caller', method: 'big' });
    assert.equal(big.result, (2n ** 70n).toString());
  });

  test('a native callee judges the native caller as a contract (token.mint is for admins)', async () => {
    const r = await w.send(w.fx.admin, PROBE, 'call', {
      contract: 'token',
      method: 'mint',
      args: { to: w.fx.admin.address, amount: 5 },
    });
    assert.equal(r.code, 'TX_FORBIDDEN', r.message);
    const ok = await w.send(w.fx.client, PROBE, 'call', {
      contract: 'token',
      method: 'balanceOf',
      args: { owner: w.fx.admin.address },
    });
    assert.equal(ok.result, '0');
  });

  test('the callee writes in the same tx: kept with it, dropped with it', async () => {
    const r = await w.send(w.fx.client, PROBE, 'call', {
      contract: 'caller',
      method: 'write',
      args: { key: 'k', value: 42 },
    });
    assert.equal(r.status, 'ok', r.message);
    assert.equal(w.query('caller', 'read', { key: 'k' }), 42);
    // The callee's failure fails the native caller's whole tx.
    await refused(
      PROBE,
      'call',
      { contract: 'port', method: 'scribble', args: { key: 's', fail: true } },
      'CONTRACT_REVERTED',
    );
    assert.equal(w.query('port', 'read', { key: 's' }), null);
  });

  test('no re-entry across native and sandbox frames', async () => {
    // native -> TypeScript -> the same native
    const r = await refused(
      PROBE,
      'call',
      {
        contract: 'caller',
        method: 'call',
        args: {
          contract: PROBE,
          method: 'call',
          args: { contract: 'token', method: 'totalSupply' },
        },
      },
      'REENTRANCY',
    );
    assert.match(r.message, /kv -> caller -> kv/);
    // TypeScript -> native -> the same TypeScript contract
    const r2 = await refused(
      'caller',
      'call',
      { contract: PROBE, method: 'call', args: { contract: 'caller', method: 'whoAmI' } },
      'REENTRANCY',
    );
    assert.match(r2.message, /caller -> kv -> caller/);
    // A native calling itself is a re-entry too.
    await refused(
      PROBE,
      'call',
      { contract: PROBE, method: 'get', args: { key: 'x' } },
      'REENTRANCY',
    );
  });

  test('the call depth counts native frames', async () => {
    /** kv -> c1 -> ... -> cN.whoAmI */
    const chain = (n: number): CallArgs => {
      let inner: CallArgs = { contract: `c${n}`, method: 'whoAmI' };
      for (let i = n - 1; i >= 1; i--) {
        inner = {
          contract: `c${i}`,
          method: 'call',
          args: inner as unknown as Record<string, unknown>,
        };
      }
      return inner;
    };
    // The native target plus callDepth - 1 contracts: the limit exactly.
    const ok = await w.send(w.fx.client, PROBE, 'call', chain(LIMITS.callDepth - 1));
    assert.equal(ok.status, 'ok', ok.message);
    assert.equal((ok.result as { caller: string }).caller, `c${LIMITS.callDepth - 2}`);
    await refused(PROBE, 'call', chain(LIMITS.callDepth), 'CALL_DEPTH_EXCEEDED');
  });

  test('in a query the native caller and its callees are read-only', () => {
    assert.equal(
      w.query(PROBE, 'look', { contract: 'caller', method: 'read', args: { key: 'k' } }),
      42,
    );
    assert.throws(
      () =>
        w.query(PROBE, 'look', {
          contract: 'caller',
          method: 'write',
          args: { key: 'k', value: 1 },
        }),
      { code: 'CONTRACT_READ_ONLY' },
    );
  });

  test("savepoint: a failure inside drops its writes and events, the callee's too; the tx goes on", async () => {
    const r = await w.send(w.fx.client, PROBE, 'save', {
      calls: [{ contract: 'port', method: 'scribble', args: { key: 'sp1' } }],
      fail: true,
    });
    assert.equal(r.status, 'ok', r.message);
    assert.deepEqual(r.result, { ok: false, code: 'CONTRACT_REVERTED' });
    assert.deepEqual(
      r.events.map((e) => `${e.contract}.${e.name}`),
      [`${PROBE}.After`],
    );
    assert.equal(w.query(PROBE, 'get', { key: 'inside' }), null);
    assert.equal(w.query(PROBE, 'get', { key: 'after' }), '1');
    assert.equal(w.query('port', 'read', { key: 'sp1' }), null);

    // A sandboxed callee that throws inside the savepoint is caught the same way.
    const r2 = await w.send(w.fx.client, PROBE, 'save', {
      calls: [
        { contract: 'caller', method: 'write', args: { key: 'sp2', value: 1 } },
        { contract: 'port', method: 'scribble', args: { key: 'sp2', fail: true } },
      ],
    });
    assert.deepEqual(r2.result, { ok: false, code: 'CONTRACT_REVERTED' });
    assert.equal(w.query('caller', 'read', { key: 'sp2' }), null);
    assert.equal(w.query(PROBE, 'get', { key: 'inside' }), null);
  });

  test('savepoint: work that succeeds is kept with its events', async () => {
    const r = await w.send(w.fx.client, PROBE, 'save', {
      calls: [{ contract: 'port', method: 'scribble', args: { key: 'sp3' } }],
    });
    assert.deepEqual(r.result, { ok: true, value: ['scribbled'] });
    assert.deepEqual(
      r.events.map((e) => `${e.contract}.${e.name}`),
      [`${PROBE}.Inside`, 'port.Scribbled', `${PROBE}.After`],
    );
    assert.equal(w.query(PROBE, 'get', { key: 'inside' }), '1');
    assert.equal(w.query('port', 'read', { key: 'sp3' }), 'scribbled');
  });

  test('savepoint: a failed re-entry or hook call inside is caught like any refusal', async () => {
    const r = await w.send(w.fx.client, PROBE, 'save', {
      calls: [{ contract: 'port', method: 'onRecv', args: {} }],
    });
    assert.deepEqual(r.result, { ok: false, code: 'IBC_FORBIDDEN' });
  });

  test('savepoint: nested ones keep the outer work when an inner one fails', async () => {
    const r = await w.send(w.fx.client, PROBE, 'nest', {});
    assert.equal(r.status, 'ok', r.message);
    assert.deepEqual(r.result, { ok: true, value: 'CONTRACT_REVERTED' });
    assert.deepEqual(r.events, []);
    assert.equal(w.query(PROBE, 'get', { key: 'outer' }), '1');
    assert.equal(w.query(PROBE, 'get', { key: 'inner' }), null);
  });

  test('savepoint: running out of gas inside fails the whole tx', async () => {
    await refused(PROBE, 'save', { burn: true }, 'OUT_OF_GAS');
    // So does a sandboxed callee that loops until the gas is gone.
    await refused(
      PROBE,
      'save',
      { calls: [{ contract: 'hostile', method: 'loop' }] },
      'OUT_OF_GAS',
    );
  });
});

describe('IBC hooks: only the ibc contract may call them', () => {
  let w: World;
  before(async () => {
    w = await world();
    for (const [name, file] of [
      ['caller', 'test/vm/fixtures/caller.ts'],
      ['port', 'test/vm/fixtures/port.ts'],
    ]) {
      const r = await w.send(w.fx.admin, 'contract_manage', 'deploy', {
        name,
        code: await bundle(file),
      });
      assert.equal(r.status, 'ok', `${name}: ${r.message}`);
    }
  });
  after(() => w.close());

  test('a tx to a hook is refused at admission', async () => {
    for (const method of ['onRecv', 'onAck', 'onTimeout']) {
      await assert.rejects(w.fx.client.send(w.chain, { contract: 'port', method, args: {} }), {
        code: 'IBC_FORBIDDEN',
      });
    }
    // Even for a contract that does not exist: the name alone decides.
    await assert.rejects(w.fx.client.send(w.chain, { contract: 'nobody', method: 'onRecv' }), {
      code: 'IBC_FORBIDDEN',
    });
    assert.equal(w.chain.mempool.size, 0);
  });

  test('a tx to a hook that reaches a block gets an IBC_FORBIDDEN receipt', () => {
    const fx = w.fx;
    const tx = buildTx(fx.profile, fx.client.signer, {
      chainId: w.chain.config.chainId,
      sender: { org: 'org1', cert: fx.client.cert },
      contract: 'port',
      method: 'onRecv',
      args: { sequence: 1 },
      timestamp: Date.now(),
    });
    const result = w.chain.executor.executeBlock({
      height: w.chain.height + 1,
      time: Date.now(),
      config: w.chain.config,
      prevStateRoot: unhex(w.chain.latestHeader.stateRoot),
      txs: [decodeTx(fx.profile, tx.bytes)],
    });
    assert.equal(result.receipts[0].status, 1);
    assert.equal(result.receipts[0].code, 'IBC_FORBIDDEN');
    assert.deepEqual(result.stateChanges, []);
  });

  test('another contract, native or TypeScript, gets IBC_FORBIDDEN', async () => {
    const root = w.chain.latestHeader.stateRoot;
    const r = await w.send(w.fx.client, PROBE, 'call', { contract: 'port', method: 'onAck' });
    assert.equal(r.code, 'IBC_FORBIDDEN', r.message);
    const r2 = await w.send(w.fx.client, 'port', 'callHook', {
      target: 'port',
      method: 'onTimeout',
    });
    assert.equal(r2.code, 'IBC_FORBIDDEN', r2.message);
    const r3 = await w.send(w.fx.client, 'caller', 'call', { contract: 'port', method: 'onRecv' });
    assert.equal(r3.code, 'IBC_FORBIDDEN', r3.message);
    assert.equal(w.chain.latestHeader.stateRoot, root);
  });

  test('a query of a hook is refused too', () => {
    assert.throws(() => w.query('port', 'onRecv', {}), { code: 'IBC_FORBIDDEN' });
    assert.throws(() => w.query(PROBE, 'look', { contract: 'port', method: 'onAck' }), {
      code: 'IBC_FORBIDDEN',
    });
  });
});
