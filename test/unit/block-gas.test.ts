/**
 * The block gas limit (params.maxBlockGas): a proposer ends its block before the tx that would
 * take it over and leaves that tx pending with its writes taken back, a block's first tx is taken
 * whatever its gas, validators refuse a block over the limit, and a genesis without the field
 * yields the same genesis hash and config bytes as before the field existed.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Chain } from '../../src/chain/chain.ts';
import { genesisDocument } from '../../src/cli/init-network.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import {
  DEFAULT_PARAMS,
  genesisToConfig,
  MAX_BLOCK_GAS_BOUNDS,
  validateGenesis,
} from '../../src/types/genesis.ts';
import { hex } from '../../src/types/hex.ts';
import { utf8Bytes } from '../../src/types/json.ts';
import { configToJson, encodeConfig } from '../../src/vm/native/chain-config.ts';
import { makeFixture } from './chain-fixture.ts';

// A kv put here charges about 2,650 gas (a few more or less with the tx's size): two fit under 6,000, a third does not. The limit is
// below the genesis floor on purpose (set after validation), so that blocks stay a few txs.
const LIMIT = 6_000;

const fx = makeFixture('standard');
fx.genesis.params.maxBlockGas = LIMIT;
after(() => fx.cleanup());
const { validator } = fx;
const commitFor = fx.signedCommit;

const put = (chain: Chain, key: string, value: number) =>
  fx.client.send(chain, { contract: 'kv', method: 'put', args: { key, value } });
const kvGet = (chain: Chain, key: string) =>
  chain.query('kv', 'get', { key }, false).result as number | null;
const blockGas = (p: ReturnType<Chain['proposeBlock']>) =>
  p.result.receipts.reduce((n, r) => n + r.gasUsed, 0n);

describe('block gas limit', () => {
  test('the proposer stops before the tx that would cross it; that tx stays pending, undone exactly', async () => {
    const a = fx.open();
    const b = fx.open();
    let time = Date.now();
    let lastCommit: ReturnType<typeof commitFor> | undefined;
    const step = () => {
      time += 1;
      const p = a.proposeBlock(time, validator, lastCommit);
      const commit = commitFor(a, p.height, p.blockHash, time);
      a.commitBlock(p, commit);
      // The validator re-executes only what the block carries: any write of the left-out tx
      // kept by the proposer would show as a state root mismatch here.
      const v = b.validateBlock(p.blockBytes);
      b.commitBlock(v, commit);
      assert.equal(b.latestHeader.stateRoot, a.latestHeader.stateRoot);
      lastCommit = commit;
      return p;
    };
    await put(a, 'x', 0);
    assert.equal(step().txs.length, 1);
    // The third tx rewrites x, which the first rewrote in the same block and the chain holds.
    const ids = [
      await put(a, 'x', 1),
      await put(a, 'y', 1),
      await put(a, 'x', 2),
      await put(a, 'z', 1),
      await put(a, 'w', 1),
    ];
    const p = step();
    assert.deepEqual(
      p.txs.map((t) => t.txIdHex),
      ids.slice(0, 2),
    );
    assert.ok(blockGas(p) <= BigInt(LIMIT), `block gas ${blockGas(p)}`);
    assert.equal(a.mempool.size, 3, 'the tx that would cross the limit and those after it wait');
    assert.equal(kvGet(a, 'x'), 1, 'the left-out tx wrote nothing');
    assert.equal(kvGet(a, 'z'), null);
    const q = step();
    assert.deepEqual(
      q.txs.map((t) => t.txIdHex),
      ids.slice(2, 4),
    );
    // Exactly at the edge: what the first block took plus the next tx is over the limit.
    assert.ok(blockGas(p) + q.result.receipts[0].gasUsed > BigInt(LIMIT));
    assert.equal(kvGet(a, 'x'), 2);
    assert.deepEqual(
      step().txs.map((t) => t.txIdHex),
      ids.slice(4),
    );
    assert.equal(a.mempool.size, 0);
    await a.close();
    await b.close();
  });

  test('a validator refuses a block over the limit with BLOCK_GAS_EXCEEDED', async () => {
    const a = fx.open();
    const b = fx.open();
    for (const k of ['p', 'q', 'r']) await put(a, k, 1);
    // A proposer that ignores the limit: its own config says none.
    const params = a.config.params!;
    params.maxBlockGas = 0n;
    const p = a.proposeBlock(Date.now(), validator);
    params.maxBlockGas = BigInt(LIMIT);
    assert.equal(p.txs.length, 3);
    assert.ok(blockGas(p) > BigInt(LIMIT));
    assert.throws(() => b.validateBlock(p.blockBytes), {
      code: 'BLOCK_GAS_EXCEEDED',
      message: /block 1 charges more gas than its limit 6000: \d+ with its tx 2 /,
    });
    assert.equal(b.height, 0, 'nothing changed');
    await a.close();
    await b.close();
  });

  test("a block's first tx is taken whatever its gas; a second one over the limit is not", async () => {
    const a = fx.open();
    const b = fx.open();
    // A tx alone over the limit: a value of 900 bytes charges about 11,000 gas.
    const big = { key: 'big', value: 'v'.repeat(900) };
    const ids = [
      await fx.client.send(a, { contract: 'kv', method: 'put', args: big }),
      await put(a, 'after', 1),
    ];
    const time = Date.now();
    const p = a.proposeBlock(time, validator);
    assert.deepEqual(
      p.txs.map((t) => t.txIdHex),
      ids.slice(0, 1),
    );
    assert.ok(blockGas(p) > BigInt(LIMIT), `block gas ${blockGas(p)}`);
    assert.equal(p.result.receipts[0].status, 0);
    const commit = commitFor(a, 1, p.blockHash, time);
    a.commitBlock(p, commit);
    b.commitBlock(b.validateBlock(p.blockBytes), commit);
    assert.equal(b.latestHeader.stateRoot, a.latestHeader.stateRoot);
    // Behind a small tx the big one waits for the next block.
    const ids2 = [
      await put(a, 'small', 1),
      await fx.client.send(a, { contract: 'kv', method: 'put', args: { ...big, key: 'big2' } }),
    ];
    const q = a.proposeBlock(time + 1, validator, commit);
    assert.deepEqual(
      q.txs.map((t) => t.txIdHex),
      [ids[1], ids2[0]],
    );
    a.commitBlock(q, commitFor(a, 2, q.blockHash, time + 1));
    assert.equal(a.mempool.size, 1, 'the big tx waits');
    await a.close();
    await b.close();
  });
});

describe('maxBlockGas in genesis', () => {
  const pk = `04${'11'.repeat(32)}${'22'.repeat(32)}`;
  const vk = `04${'33'.repeat(32)}${'44'.repeat(32)}`;
  const raw = {
    chainId: 'compat',
    genesisTime: 1_700_000_000_000,
    crypto: 'standard',
    identityMode: 'key',
    consensus: 'tbft',
    orgs: [{ id: 'org1', keys: [{ name: 'admin', role: 'admin', publicKey: pk }] }],
    validators: [{ name: 'node1', org: 'org1', publicKey: vk, power: 10 }],
  };
  const sha = (d: Uint8Array) => hex(getProfile('standard').hash(d));

  test('a genesis without it has no gas limit and the hashes it had before the field existed', () => {
    // Frozen with the code before maxBlockGas: a data directory checks the validated genesis's
    // hash, and the config bytes are the genesis state.
    const frozen: Array<[unknown, string, string]> = [
      [
        raw,
        'be7d499b66be495bbc2fd3c751186a3403fba64b29016670014b3dd263562b32',
        '38515ab8df76220130b7c34ca38a5bc9d5d472345084f06a780a94c4bee85567',
      ],
      [
        { ...raw, params: { maxBlockTxs: 500 } },
        '46cea22e50f5a2d49a253c3d1aa831f87fb768752a2669a49888d6d9c76e9817',
        '56c40a4d98d03371172a8f5d9ac48335b773c80e6195b0b263e994bd2d7b0e09',
      ],
    ];
    for (const [g, genesisHash, configHash] of frozen) {
      const v = validateGenesis(g);
      assert.equal('maxBlockGas' in v.params, false);
      assert.equal(sha(utf8Bytes(JSON.stringify(v))), genesisHash);
      const config = genesisToConfig(v);
      assert.equal(config.params!.maxBlockGas, 0n);
      assert.equal(sha(encodeConfig(config)), configHash);
      assert.equal('maxBlockGas' in configToJson(config).params!, false);
    }
  });

  test('a genesis document spells out the default; bounds are enforced', () => {
    const doc = genesisDocument(raw as Parameters<typeof genesisDocument>[0]);
    assert.equal(doc.params.maxBlockGas, DEFAULT_PARAMS.maxBlockGas);
    const config = genesisToConfig(validateGenesis(JSON.parse(JSON.stringify(doc))));
    assert.equal(config.params!.maxBlockGas, BigInt(DEFAULT_PARAMS.maxBlockGas!));
    assert.equal(configToJson(config).params!.maxBlockGas, DEFAULT_PARAMS.maxBlockGas);
    const [min, max] = MAX_BLOCK_GAS_BOUNDS;
    for (const ok of [min, max]) {
      assert.equal(validateGenesis({ ...raw, params: { maxBlockGas: ok } }).params.maxBlockGas, ok);
    }
    for (const bad of [0, min - 1, max + 1, 1.5, '20000000']) {
      assert.throws(() => validateGenesis({ ...raw, params: { maxBlockGas: bad } }), {
        code: 'CONFIG_INVALID',
        message: /params\.maxBlockGas must be an integer in/,
      });
    }
  });
});
