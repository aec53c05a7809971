/**
 * JSON limits in execution: admission refuses what execution refuses, a block that carries
 * such a tx anyway gets the same error receipt on every node, and every road out of the
 * sandbox is bounded. The last test executes one hostile block under three stack sizes and
 * under the newer Node LTS, and requires identical block hashes and receipts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ArchiError } from '../../src/types/errors.ts';
import { hex } from '../../src/types/hex.ts';
import { JSON_LIMITS, utf8Bytes } from '../../src/types/json.ts';
import { buildTx, decodeTx } from '../../src/types/tx.ts';
import { newerNode } from '../e2e/node-binaries.ts';
import { bundle, type ContractChain, contractChain } from '../vm/harness.ts';

const D = JSON_LIMITS.depth;
const DEEP = 'test/vm/fixtures/deep.ts';
const deepText = (n: number) => `${'['.repeat(n)}0${']'.repeat(n)}`;
const kvPutText = (n: number) => `{"key":"k","value":${deepText(n - 1)}}`;

function nest(n: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < n; i++) v = [v];
  return v;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ArchiError, String(e));
    return e.code;
  }
  assert.fail('expected a refusal');
}

describe('JSON limits in execution', () => {
  let c: ContractChain;
  before(async () => {
    c = await contractChain();
    const r = await c.deploy('deep', DEEP);
    assert.equal(r.status, 'ok', r.message);
  });
  after(() => c.close());

  const raw = (text: string, contract = 'kv', method = 'put') =>
    buildTx(c.fx.profile, c.client.signer, {
      chainId: 'unit',
      sender: { org: 'org1', cert: c.client.cert },
      contract,
      method,
      argsBytes: utf8Bytes(text),
    });

  test('admission: args at the depth limit pass, deeper ones are refused with ARGS_TOO_DEEP', async () => {
    const ok = await c.chain.submitTx(raw(kvPutText(D)).bytes);
    assert.ok(ok);
    for (const n of [D + 1, 5000, 30_000]) {
      assert.equal(
        await refusal(c.chain.submitTx(raw(kvPutText(n)).bytes)),
        'ARGS_TOO_DEEP',
        `${n}`,
      );
    }
    assert.equal(c.chain.mempool.size, 1);
    c.fx.commit(c.chain, Date.now());
    assert.deepEqual(c.query('kv', 'get', { key: 'k' }), nest(D - 1));
  });

  test('a block carrying a too-deep tx anyway: error receipt, no state change', async () => {
    const root = c.chain.latestHeader.stateRoot;
    const tx = raw(kvPutText(30_000));
    c.chain.mempool.add(decodeTx(c.fx.profile, tx.bytes));
    c.fx.commit(c.chain, Date.now());
    const r = c.chain.getTx(tx.txIdHex).receipt;
    assert.equal(r.status, 'error');
    assert.equal(r.code, 'ARGS_TOO_DEEP');
    assert.equal(c.chain.latestHeader.stateRoot, root);
  });

  test('a query with args 100,000 levels deep answers ARGS_TOO_DEEP', () => {
    for (const contract of ['kv', 'deep']) {
      assert.throws(
        () => c.chain.query(contract, contract === 'kv' ? 'get' : 'echo', nest(100_000), false),
        (e: ArchiError) => e.code === 'ARGS_TOO_DEEP',
      );
    }
  });

  test('contract args at the limit reach the contract and come back', async () => {
    const r = await c.send(c.client, 'deep', 'echo', { a: nest(D - 1) });
    assert.equal(r.status, 'ok', r.message);
    assert.deepEqual(r.result, { a: nest(D - 1) });
  });

  for (const [method, max] of [
    ['ret', D],
    ['emit', D],
    ['store', D],
    ['callNative', D - 1],
  ] as const) {
    test(`contract ${method}: depth ${max} passes the host, ${max + 1} is VALUE_TOO_DEEP`, async () => {
      const ok = await c.send(c.client, 'deep', method, { n: max });
      // balanceOf refuses an array owner on its own terms once the depth check let it through.
      if (method === 'callNative') assert.equal(ok.code, 'INVALID_ARGS', ok.message);
      else assert.equal(ok.status, 'ok', ok.message);
      const root = c.chain.latestHeader.stateRoot;
      const over = await c.send(c.client, 'deep', method, { n: max + 1 });
      assert.equal(over.code, 'VALUE_TOO_DEEP', over.message);
      assert.equal(c.chain.latestHeader.stateRoot, root);
      const far = await c.send(c.client, 'deep', method, { n: 20_000 });
      assert.ok(
        far.code === 'VALUE_TOO_DEEP' || far.code === 'STACK_OVERFLOW',
        `${far.code}: ${far.message}`,
      );
    });
  }

  test('one hostile block gives the same hash and receipts under 200 KiB, default and 3.9 MiB stacks and the newer Node LTS', async () => {
    const { fx } = c;
    const time = Date.now();
    const sign = (who: typeof c.client, contract: string, method: string, args: string) =>
      hex(
        buildTx(fx.profile, who.signer, {
          chainId: 'unit',
          sender: { org: 'org1', cert: who.cert },
          contract,
          method,
          argsBytes: utf8Bytes(args),
          timestamp: time,
        }).bytes,
      );
    const code = await bundle(DEEP);
    const blocks = [
      {
        time,
        txs: [
          sign(c.admin, 'contract_manage', 'deploy', JSON.stringify({ name: 'deep', code })),
          ...[D, D + 1, 3000, 9000, 40_000].map((n) => sign(c.client, 'kv', 'put', kvPutText(n))),
          sign(c.client, 'kv', 'put', `{"key":"w","value":[${'{"a":1},'.repeat(4000)}0]}`),
          sign(c.client, 'kv', 'put', `{"key":"u","value":"\\ud800\\u2028\\u0000é😀"}`),
        ],
      },
      {
        time: time + 1000,
        txs: [
          ...['ret', 'emit', 'store', 'callNative'].flatMap((m) =>
            [D, D + 1, 5000].map((n) => sign(c.client, 'deep', m, `{"n":${n}}`)),
          ),
          sign(c.client, 'deep', 'echo', deepText(20_000)),
        ],
      },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'archi-stack-'));
    try {
      const file = join(dir, 'input.json');
      writeFileSync(file, JSON.stringify({ genesis: fx.genesis, blocks }));
      // This Node under three stacks, and the newer LTS where it is installed.
      const newer = newerNode();
      const runtimes: Array<[string, number | undefined]> = [
        [process.execPath, 200],
        [process.execPath, undefined],
        [process.execPath, 3900],
        ...(newer ? ([[newer.path, 400]] as Array<[string, number]>) : []),
      ];
      const runs = runtimes.map(([bin, stack]) => {
        const r = spawnSync(
          bin,
          [
            ...(stack ? [`--stack-size=${stack}`] : []),
            '--import',
            'tsx',
            'test/unit/exec-block-child.ts',
            file,
          ],
          { encoding: 'utf8' },
        );
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
      });
      for (const run of runs) assert.deepEqual(run, runs[1]);
      const codes = runs[1].flatMap((b: { receipts: string[] }) =>
        b.receipts.map((r) => r.split(':')[0]),
      );
      assert.ok(codes.includes('ARGS_TOO_DEEP') && codes.includes('VALUE_TOO_DEEP'), codes.join());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
