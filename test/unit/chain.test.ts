/** The chain on real LMDB: execution, receipts, atomic failed txs, determinism, restart and proofs. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { verifyProof, proofFromJson } from '../../src/state/proof.ts';
import { unhex } from '../../src/types/hex.ts';
import { makeFixture } from './chain-fixture.ts';

for (const profileName of ['standard', 'gm'] as const) {
  describe(`chain (${profileName})`, () => {
    const fx = makeFixture(profileName);
    after(() => fx.cleanup());

    test('kv put/get/delete with receipts and events', async () => {
      const chain = fx.open();
      const id = await fx.client.send(chain, {
        contract: 'kv',
        method: 'put',
        args: { key: 'k', value: [1, 2] },
      });
      assert.equal(chain.mempool.size, 1);
      fx.commit(chain, Date.now());
      assert.equal(chain.mempool.size, 0);
      const tx = chain.getTx(id);
      assert.equal(tx.receipt.status, 'ok');
      assert.deepEqual(tx.receipt.events, [{ contract: 'kv', name: 'put', data: { key: 'k' } }]);
      assert.ok(tx.receipt.gasUsed > 0);
      assert.deepEqual(chain.query('kv', 'get', { key: 'k' }, false).result, [1, 2]);
      await fx.client.send(chain, { contract: 'kv', method: 'delete', args: { key: 'k' } });
      fx.commit(chain, Date.now());
      assert.equal(chain.query('kv', 'get', { key: 'k' }, false).result, null);
      await chain.close();
    });

    test('a failed tx leaves an error receipt and no state change', async () => {
      const chain = fx.open();
      const before = chain.latestHeader.stateRoot;
      const id = await fx.client.send(chain, {
        contract: 'token',
        method: 'transfer',
        args: { to: fx.admin.address, amount: '5' },
      });
      const mint = await fx.client.send(chain, {
        contract: 'token',
        method: 'mint',
        args: { to: fx.client.address, amount: 5 },
      });
      fx.commit(chain, Date.now());
      const r = chain.getTx(id).receipt;
      assert.equal(r.status, 'error');
      assert.equal(r.code, 'INSUFFICIENT_BALANCE');
      assert.equal(chain.getTx(mint).receipt.code, 'TX_FORBIDDEN');
      assert.equal(chain.latestHeader.stateRoot, before, 'state root unchanged by failed txs');
      assert.equal(chain.height, 1);
      await chain.close();
    });

    test('token mint and transfer', async () => {
      const chain = fx.open();
      await fx.admin.send(chain, {
        contract: 'token',
        method: 'mint',
        args: { to: fx.client.address, amount: '1000' },
      });
      fx.commit(chain, Date.now());
      await fx.client.send(chain, {
        contract: 'token',
        method: 'transfer',
        args: { to: fx.admin.address, amount: 300 },
      });
      fx.commit(chain, Date.now());
      assert.equal(
        chain.query('token', 'balanceOf', { owner: fx.client.address }, false).result,
        '700',
      );
      assert.equal(
        chain.query('token', 'balanceOf', { owner: fx.admin.address }, false).result,
        '300',
      );
      assert.equal(chain.query('token', 'totalSupply', {}, false).result, '1000');
      await chain.close();
    });

    test('same txs on two chains give the same blocks; reopening keeps height and root', async () => {
      const a = fx.open();
      const b = fx.open();
      const t = Date.now();
      for (const c of [a, b]) assert.equal(c.latestHeader.stateRoot, a.latestHeader.stateRoot);
      const txs = [];
      const { buildTx } = await import('../../src/types/tx.ts');
      for (let i = 0; i < 50; i++) {
        txs.push(
          buildTx(fx.profile, fx.client.signer, {
            chainId: 'unit',
            sender: { org: 'org1', cert: fx.client.cert },
            contract: 'kv',
            method: 'put',
            args: { key: `k${i % 7}`, value: i },
            timestamp: t,
          }).bytes,
        );
      }
      for (const c of [a, b]) for (const tx of txs) await c.submitTx(tx);
      const pa = fx.commit(a, t + 1);
      const pb = fx.commit(b, t + 1);
      assert.deepEqual(pa.blockHash, pb.blockHash);
      assert.equal(a.latestHeader.stateRoot, b.latestHeader.stateRoot);
      const dir = fx.dirs[fx.dirs.length - 2];
      const root = a.latestHeader.stateRoot;
      await a.close();
      await b.close();
      const reopened = fx.open(dir);
      assert.equal(reopened.height, 1);
      assert.equal(reopened.latestHeader.stateRoot, root);
      assert.deepEqual(reopened.query('kv', 'get', { key: 'k0' }, false).result, 49);
      await reopened.close();
    });

    test('query proofs verify against the header state root; tampered ones do not', async () => {
      const chain = fx.open();
      await fx.client.send(chain, {
        contract: 'kv',
        method: 'put',
        args: { key: 'p', value: 'v' },
      });
      fx.commit(chain, Date.now());
      const hash = (d: Uint8Array) => fx.profile.hash(d);
      for (const key of ['p', 'missing']) {
        const q = chain.query('kv', 'get', { key }, true);
        const read = q.proof!.reads[0];
        const root = unhex(chain.latestHeader.stateRoot);
        const value = read.value === null ? null : unhex(read.value);
        const keyBytes = new TextEncoder().encode(read.key);
        assert.equal(verifyProof(hash, root, keyBytes, value, proofFromJson(read.proof)), true);
        const other = value === null ? new Uint8Array([1]) : null;
        assert.equal(verifyProof(hash, root, keyBytes, other, proofFromJson(read.proof)), false);
      }
      await chain.close();
    });

    test('duplicate and replayed txs are refused', async () => {
      const chain = fx.open();
      const { buildTx } = await import('../../src/types/tx.ts');
      const tx = buildTx(fx.profile, fx.client.signer, {
        chainId: 'unit',
        sender: { org: 'org1', cert: fx.client.cert },
        contract: 'kv',
        method: 'put',
        args: { key: 'r', value: 1 },
      });
      const [first, second] = await Promise.allSettled([
        chain.submitTx(tx.bytes),
        chain.submitTx(tx.bytes),
      ]);
      assert.equal(first.status, 'fulfilled');
      assert.equal(second.status, 'rejected', 'a concurrent copy is refused');
      assert.equal((second as PromiseRejectedResult).reason.code, 'TX_DUPLICATE');
      assert.equal(chain.mempool.size, 1);
      fx.commit(chain, Date.now());
      await assert.rejects(chain.submitTx(tx.bytes), { code: 'TX_DUPLICATE' });
      const fresh = buildTx(fx.profile, fx.client.signer, {
        chainId: 'unit',
        sender: { org: 'org1', cert: fx.client.cert },
        contract: 'kv',
        method: 'put',
        args: { key: 'r', value: 2 },
      });
      const bad = Uint8Array.from(fresh.bytes);
      bad[bad.length - 3] ^= 1;
      await assert.rejects(chain.submitTx(bad), { code: 'TX_BAD_SIGNATURE' });
      assert.equal(chain.mempool.size, 0);
      await chain.close();
    });
  });
}
