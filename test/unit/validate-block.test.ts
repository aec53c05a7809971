/** A block built by one node is re-executed and accepted by another; any tampering is refused. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  BlockSchema,
  CommitSchema,
  create,
  decode,
  encode,
  HeaderSchema,
} from '../../src/codec/index.ts';
import { makeFixture } from './chain-fixture.ts';

const fx = makeFixture('standard');
after(() => fx.cleanup());
const { validator } = fx;
const commitFor = fx.signedCommit;

test('re-executes a peer block, then refuses tampered ones', async () => {
  const a = fx.open();
  const b = fx.open();
  let lastCommit: ReturnType<typeof commitFor> | undefined;
  for (let h = 1; h <= 3; h++) {
    await fx.client.send(a, { contract: 'kv', method: 'put', args: { key: `k${h}`, value: h } });
    const time = Date.now() + h;
    const p = a.proposeBlock(time, validator, lastCommit);
    const commit = commitFor(a, h, p.blockHash, time);
    a.commitBlock(p, commit);
    const v = b.validateBlock(p.blockBytes);
    assert.deepEqual(v.blockHash, p.blockHash);
    b.commitBlock(v, commit);
    assert.equal(b.latestHeader.stateRoot, a.latestHeader.stateRoot);
    lastCommit = commit;
  }
  assert.equal(b.getTx(b.getBlock(3).txs[0].txId).receipt.status, 'ok');

  // Height 4 from a, tampered in different ways before b sees it.
  await fx.client.send(a, { contract: 'kv', method: 'put', args: { key: 'k4', value: 4 } });
  const p = a.proposeBlock(Date.now() + 10, validator, lastCommit);
  const block = decode(BlockSchema, p.blockBytes);
  const header = decode(HeaderSchema, block.header);
  const withHeader = (mut: (h: typeof header) => void): Uint8Array => {
    const h = decode(HeaderSchema, block.header);
    mut(h);
    return encode(BlockSchema, create(BlockSchema, { ...block, header: encode(HeaderSchema, h) }));
  };
  const cases: Array<[string, Uint8Array, RegExp]> = [
    [
      'state root',
      withHeader((h) => {
        h.stateRoot = new Uint8Array(32);
      }),
      /state root/,
    ],
    [
      'results root',
      withHeader((h) => {
        h.resultsRoot = new Uint8Array(32);
      }),
      /results root/,
    ],
    [
      'prev hash',
      withHeader((h) => {
        h.prevHash = new Uint8Array(32);
      }),
      /extend/,
    ],
    [
      'height',
      withHeader((h) => {
        h.height = 9n;
      }),
      /height/,
    ],
    [
      'chain',
      withHeader((h) => {
        h.chainId = 'other';
      }),
      /chain/,
    ],
    [
      'time',
      withHeader((h) => {
        h.time = 1n;
      }),
      /time/,
    ],
    [
      'validators',
      withHeader((h) => {
        h.validatorsHash = new Uint8Array(32);
      }),
      /validators/,
    ],
    [
      'next validators',
      withHeader((h) => {
        h.nextValidatorsHash = new Uint8Array(32);
      }),
      /next validators hash mismatch/,
    ],
    [
      'forged last commit',
      (() => {
        const c = decode(CommitSchema, block.lastCommit);
        c.signatures[0].signature = fx.admin.signer.sign(new Uint8Array([1]));
        const lc = encode(CommitSchema, c);
        const h = decode(HeaderSchema, block.header);
        h.lastCommitHash = fx.profile.hash(lc);
        return encode(
          BlockSchema,
          create(BlockSchema, { ...block, header: encode(HeaderSchema, h), lastCommit: lc }),
        );
      })(),
      /last commit/,
    ],
    ['dropped tx', encode(BlockSchema, create(BlockSchema, { ...block, txs: [] })), /tx count/],
  ];
  for (const [what, bytes, re] of cases) {
    assert.throws(() => b.validateBlock(bytes), { code: 'BLOCK_INVALID', message: re }, what);
  }
  assert.throws(() => b.validateBlock(new Uint8Array([9, 9, 9])), { code: 'BAD_REQUEST' });
  assert.equal(b.height, 3, 'nothing changed');
  assert.equal(header.height, 4n);
  b.commitBlock(b.validateBlock(p.blockBytes), commitFor(a, 4, p.blockHash, Number(header.time)));
  assert.equal(b.height, 4);
});

test("a proposer's budget ends its block early; the rest stays pending and the block is valid whole", async () => {
  const a = fx.open();
  const b = fx.open();
  for (let i = 0; i < 5; i++)
    await fx.client.send(a, {
      contract: 'kv',
      method: 'put',
      args: { key: `budget${i}`, value: i },
    });
  let asked = 0;
  const time = Date.now();
  const p = a.proposeBlock(time, validator, undefined, () => ++asked >= 2);
  assert.equal(asked, 2, 'asked before each tx after the first, until it says full');
  assert.equal(p.txs.length, 2);
  assert.equal(decode(BlockSchema, p.blockBytes).txs.length, 2);
  assert.equal(Number(decode(HeaderSchema, p.headerBytes).txCount), 2);
  const commit = commitFor(a, 1, p.blockHash, time);
  a.commitBlock(p, commit);
  assert.equal(a.mempool.size, 3, 'the txs left out stay pending');
  const v = b.validateBlock(p.blockBytes);
  b.commitBlock(v, commit);
  assert.equal(b.latestHeader.stateRoot, a.latestHeader.stateRoot);
  // Full from the start still takes one tx, so a slow node's blocks are never all empty.
  const q = a.proposeBlock(time + 1, validator, commit, () => true);
  assert.equal(q.txs.length, 1);
  await a.close();
  await b.close();
});
