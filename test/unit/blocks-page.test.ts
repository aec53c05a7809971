/**
 * GET /v1/blocks (docs/RPC.md), in process: a chain on real LMDB whose txs sit behind 12,000
 * empty blocks, the node's RPC server on a port, and the SDK's ArchiClient.blocks. Paging with
 * `next` covers every height once, `nonEmpty` lists exactly the blocks with txs, one request
 * looks at no more than BLOCK_SCAN_MAX heights and reads no block it does not list, and bad
 * parameters answer BAD_REQUEST in the error shape.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { open } from 'lmdb';
import {
  BLOCK_PAGE_DEFAULT,
  BLOCK_PAGE_MAX,
  BLOCK_SCAN_MAX,
  type Chain,
} from '../../src/chain/chain.ts';
import { BlockSchema, create, decode, encode, HeaderSchema } from '../../src/codec/index.ts';
import { NodeMetrics } from '../../src/node/metrics.ts';
import { createRpcServer } from '../../src/rpc/server.ts';
import { ArchiClient, type BlockPageJson } from '../../src/sdk/client.ts';
import { ArchiError } from '../../src/types/errors.ts';
import { makeFixture } from './chain-fixture.ts';

/** Empty blocks written straight into the store between the old and the new txs. */
const GAP = 12_000;

/**
 * Append `count` empty blocks to a closed chain's LMDB files in one write transaction (a
 * commit per block would take minutes): headers copied from the latest block with the next
 * heights, times 1 ms apart and no txs. Only the read side looks at them.
 */
function appendEmptyBlocks(dir: string, count: number, hash: (d: Uint8Array) => Uint8Array) {
  const root = open({ path: dir, compression: false, maxDbs: 16, mapSize: 64 * 1024 ** 3 });
  const db = (name: string) =>
    root.openDB<Buffer, Buffer>({
      name,
      keyEncoding: 'binary',
      encoding: 'binary',
      compression: false,
    });
  const blocks = db('blocks');
  const hashes = db('hashes');
  const meta = db('meta');
  const key = (h: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(h));
    return b;
  };
  const latest = Number(meta.get(Buffer.from('latest'))!.readBigUInt64BE(0));
  const last = decode(BlockSchema, blocks.get(key(latest))!);
  const header = decode(HeaderSchema, last.header);
  let prevHash = hash(last.header);
  root.transactionSync(() => {
    for (let h = latest + 1; h <= latest + count; h++) {
      const headerBytes = encode(
        HeaderSchema,
        create(HeaderSchema, {
          ...header,
          height: BigInt(h),
          time: header.time + BigInt(h - latest),
          prevHash,
          txCount: 0,
        }),
      );
      const block = encode(BlockSchema, create(BlockSchema, { header: headerBytes }));
      prevHash = hash(headerBytes);
      blocks.putSync(key(h), Buffer.from(block));
      hashes.putSync(Buffer.from(prevHash), key(h));
    }
    meta.putSync(Buffer.from('latest'), key(latest + count));
  });
  return root.close();
}

describe('GET /v1/blocks', () => {
  const fx = makeFixture('standard');
  const dir = mkdtempSync(join(tmpdir(), 'archi-blocks-page-'));
  let chain: Chain;
  let app: FastifyInstance;
  let url: string;
  let client: ArchiClient;
  let time = Date.now();
  /** Heights of the blocks that hold txs, newest first, with their tx counts. */
  const withTxs = new Map<number, number>();

  const put = (c: Chain, key: string) =>
    fx.admin.send(c, { contract: 'kv', method: 'put', args: { key, value: key } });
  /** Commit one block holding `txs` kv puts. */
  const block = async (c: Chain, txs: number): Promise<number> => {
    for (let i = 0; i < txs; i++) await put(c, `k${c.height + 1}.${i}`);
    time += 1000;
    const p = fx.commit(c, time);
    assert.equal(p.txs.length, txs);
    if (txs > 0) withTxs.set(p.height, txs);
    return p.height;
  };

  before(async () => {
    const first = fx.open(dir);
    await block(first, 2); // 1
    await block(first, 0); // 2
    await block(first, 1); // 3
    await first.close();
    await appendEmptyBlocks(dir, GAP, (d) => fx.profile.hash(d));
    time += GAP;
    chain = fx.open(dir);
    assert.equal(chain.height, 3 + GAP);
    await block(chain, 3); // 12004
    await block(chain, 0);
    await block(chain, 1); // 12006
    for (let i = 0; i < 5; i++) await block(chain, 0);
    assert.equal(chain.height, 3 + GAP + 8);
    app = createRpcServer({
      node: {
        node: 'node1',
        org: 'org1',
        peers: () => [],
        chains: () => [{ chain, consensus: () => ({ validator: true, round: 0, step: 'solo' }) }],
      },
      metrics: new NodeMetrics(),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    url = `http://127.0.0.1:${port}`;
    client = new ArchiClient(url);
  });
  after(async () => {
    await app?.close();
    await fx.cleanup();
  });

  /** Follow `next` from the head to genesis; every page checked against the last one. */
  const walk = async (opts: { limit?: number; nonEmpty?: boolean }) => {
    const pages: BlockPageJson[] = [];
    let below: number | undefined;
    for (;;) {
      const page = await client.blocks({ ...opts, before: below });
      assert.equal(page.scannedTo, below === undefined ? chain.height : below - 1);
      assert.ok(page.scannedFrom <= page.scannedTo, JSON.stringify(page));
      assert.ok(page.scannedTo - page.scannedFrom < BLOCK_SCAN_MAX, JSON.stringify(page));
      assert.ok(page.blocks.length <= (opts.limit ?? BLOCK_PAGE_DEFAULT));
      for (const b of page.blocks) {
        assert.ok(b.height >= page.scannedFrom && b.height <= page.scannedTo);
      }
      assert.equal(page.next, page.scannedFrom > 0 ? page.scannedFrom : null);
      pages.push(page);
      if (page.next === null) return pages;
      below = page.next;
    }
  };

  test('nonEmpty lists the blocks with txs newest first, 10,000 heights a request', async () => {
    const page = await client.blocks({ nonEmpty: true, limit: BLOCK_PAGE_MAX });
    const head = chain.height;
    assert.deepEqual(
      page.blocks.map((b) => [b.height, b.txCount]),
      [
        [GAP + 6, 1],
        [GAP + 4, 3],
      ],
    );
    assert.equal(page.scannedTo, head);
    assert.equal(page.scannedFrom, head - BLOCK_SCAN_MAX + 1);
    assert.equal(page.next, page.scannedFrom);
    // Each summary is the block's own header.
    for (const b of page.blocks) {
      const full = await client.getBlock(b.height);
      assert.deepEqual(b, {
        height: full.height,
        hash: full.hash,
        time: full.header.time,
        txCount: full.header.txCount,
      });
    }
    const older = await client.blocks({ nonEmpty: true, before: page.next! });
    assert.deepEqual(
      older.blocks.map((b) => [b.height, b.txCount]),
      [
        [3, 1],
        [1, 2],
      ],
    );
    assert.deepEqual([older.scannedFrom, older.scannedTo, older.next], [0, page.next! - 1, null]);
  });

  test('following next covers every height once, at any limit', async () => {
    for (const limit of [1, 2, BLOCK_PAGE_MAX]) {
      const pages = await walk({ nonEmpty: true, limit });
      assert.deepEqual(
        pages.flatMap((p) => p.blocks.map((b) => [b.height, b.txCount])),
        [...withTxs].sort((a, b) => b[0] - a[0]),
        `limit ${limit}`,
      );
      // The pages tile the heights from the head down to genesis.
      let top = chain.height;
      for (const p of pages) {
        assert.equal(p.scannedTo, top);
        top = p.scannedFrom - 1;
      }
      assert.equal(top, -1);
    }
    // With limit 1 a page stops at the block it lists: the next page starts just below it.
    const one = await client.blocks({ nonEmpty: true, limit: 1 });
    assert.deepEqual(
      [one.blocks[0].height, one.scannedFrom, one.next],
      [GAP + 6, GAP + 6, GAP + 6],
    );
  });

  test('without nonEmpty every block is listed, empty ones too', async () => {
    const head = chain.height;
    const page = await client.blocks({ limit: 5 });
    assert.deepEqual(
      page.blocks.map((b) => [b.height, b.txCount]),
      [0, 1, 2, 3, 4].map((i) => [head - i, withTxs.get(head - i) ?? 0]),
    );
    assert.deepEqual([page.scannedFrom, page.scannedTo, page.next], [head - 4, head, head - 4]);
    assert.equal((await client.blocks()).blocks.length, BLOCK_PAGE_DEFAULT);
    const bottom = await client.blocks({ before: 4, nonEmpty: false, limit: BLOCK_PAGE_MAX });
    assert.deepEqual(
      bottom.blocks.map((b) => [b.height, b.txCount]),
      [
        [3, 1],
        [2, 0],
        [1, 2],
        [0, 0],
      ],
    );
    assert.deepEqual([bottom.scannedFrom, bottom.scannedTo, bottom.next], [0, 3, null]);
    const genesis = await client.getBlock(0);
    assert.equal(bottom.blocks[3].hash, genesis.hash);
  });

  test('a before past the head starts at the head; new blocks show at once', async () => {
    const far = await client.blocks({ nonEmpty: true, before: 10 ** 14 });
    assert.equal(far.scannedTo, chain.height);
    assert.equal(far.blocks[0].height, GAP + 6);
    const h = await block(chain, 2);
    const now = await client.blocks({ nonEmpty: true, limit: 1 });
    assert.deepEqual(
      now.blocks.map((b) => [b.height, b.txCount]),
      [[h, 2]],
    );
    assert.equal(now.scannedTo, h);
  });

  test('a request reads the blocks it lists and no other', async (t) => {
    const store = chain.store;
    const peek = store.peekBlock.bind(store);
    const get = store.getBlock.bind(store);
    const read: number[] = [];
    store.peekBlock = (h) => {
      read.push(h);
      return peek(h);
    };
    store.getBlock = (h) => {
      read.push(h);
      return get(h);
    };
    try {
      const started = performance.now();
      // 10,000 heights, nearly all of them empty.
      const page = await client.blocks({ nonEmpty: true, limit: BLOCK_PAGE_MAX });
      const ms = performance.now() - started;
      assert.deepEqual(
        read,
        page.blocks.map((b) => b.height),
      );
      read.length = 0;
      const all = await client.blocks({ limit: 7 });
      assert.deepEqual(
        read,
        all.blocks.map((b) => b.height),
      );
      t.diagnostic(`a nonEmpty page over ${BLOCK_SCAN_MAX} heights: ${ms.toFixed(1)} ms`);
      assert.ok(ms < 2000, `a page over ${BLOCK_SCAN_MAX} heights took ${ms} ms`);
    } finally {
      store.peekBlock = peek;
      store.getBlock = get;
    }
  });

  test('bad parameters are 400 BAD_REQUEST in the error shape', async () => {
    const bad = [
      'limit=0',
      `limit=${BLOCK_PAGE_MAX + 1}`,
      'limit=abc',
      'limit=-1',
      'limit=1.5',
      'limit=',
      'limit=1&limit=2',
      'before=0',
      'before=-3',
      'before=x',
      'before=1e3',
      'before=4&before=5',
      'nonEmpty=yes',
      'nonEmpty=',
      'nonEmpty=TRUE',
      'nonEmpty=true&nonEmpty=false',
    ];
    for (const q of bad) {
      const res = await fetch(`${url}/v1/blocks?${q}`);
      const body = (await res.json()) as any;
      assert.equal(res.status, 400, `${q}: ${JSON.stringify(body)}`);
      assert.deepEqual(Object.keys(body), ['error'], q);
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message'], q);
      assert.equal(body.error.code, 'BAD_REQUEST', q);
      assert.match(body.error.message, /^(limit|before|nonEmpty) /, q);
    }
    // What is accepted: 1 and 0 for the flag, unknown parameters ignored.
    for (const q of [
      'nonEmpty=1',
      'nonEmpty=0',
      'nonEmpty=false',
      'limit=100',
      'before=1',
      'x=y',
    ]) {
      const res = await fetch(`${url}/v1/blocks?${q}`);
      assert.equal(res.status, 200, q);
    }
    await assert.rejects(
      client.blocks({ limit: 0 }),
      (e: unknown) => e instanceof ArchiError && e.code === 'BAD_REQUEST',
    );
    const post = await fetch(`${url}/v1/blocks`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(((await post.json()) as any).error.code, 'HTTP_METHOD_NOT_ALLOWED');
  });

  test('a chain of only its genesis block', async () => {
    const fresh = fx.open();
    try {
      assert.deepEqual(fresh.listBlocks({ limit: 10, nonEmpty: true }), {
        blocks: [],
        scannedFrom: 0,
        scannedTo: 0,
        next: null,
      });
      const all = fresh.listBlocks({ limit: 10, nonEmpty: false });
      assert.deepEqual(
        all.blocks.map((b) => [b.height, b.txCount]),
        [[0, 0]],
      );
      assert.equal(all.next, null);
    } finally {
      await fresh.close();
    }
  });
});
