/**
 * kill -9 a solo node at arbitrary moments under load, several times: after each restart
 * every tx it had reported committed is there at the same height, the state tree still
 * proves the latest root, and the node goes on committing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { getProfile } from '../../src/crypto/profile.ts';
import { certFromPem } from '../../src/crypto/x509.ts';
import { buildTx } from '../../src/types/tx.ts';
import { archi, archiJson, kill9, removeDir, startArchi, stopAll, tempDir } from './harness.ts';

const dir = tempDir('archi-crash-');
after(async () => {
  await stopAll();
  removeDir(dir);
});

test('kill -9 under load loses no committed tx and keeps one history', async () => {
  const init = await archi(['init', '--dir', dir, '--orgs', '1']);
  assert.equal(init.code, 0, init.stderr);
  const network = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'));
  const rpc: string = network.nodes[0].rpc;
  const config = join(dir, 'nodes', 'node1', 'node.json');
  const profile = getProfile('standard');
  const user = join(dir, 'orgs', 'org1', 'users', 'client');
  const signer = profile.signerFromPem(readFileSync(join(user, 'key.pem'), 'utf8'));
  const cert = certFromPem(readFileSync(join(user, 'cert.pem'), 'utf8'));
  const committed = new Map<string, number>();
  const blockHashes = new Map<number, string>();
  let seq = 0;

  for (let round = 0; round < 3; round++) {
    const node = startArchi(['node', 'start', '--config', config]);
    await node.waitFor(/node1 rpc/);
    // Everything committed before this crash is still there, unchanged.
    for (const [txId, height] of committed) {
      const r = await fetch(`${rpc}/v1/txs/${txId}`);
      assert.equal(r.status, 200, `tx ${txId} lost after crash ${round}`);
      assert.equal(((await r.json()) as any).height, height);
    }
    for (const height of new Set(committed.values())) {
      const b = (await (await fetch(`${rpc}/v1/blocks/${height}`)).json()) as any;
      const known = blockHashes.get(height);
      if (known) assert.equal(b.hash, known, `block ${height} changed after crash ${round}`);
      else blockHashes.set(height, b.hash);
    }
    const proven = await archiJson([
      'query',
      '--rpc',
      rpc,
      '--contract',
      'kv',
      '--method',
      'get',
      '--args',
      '{"key":"k0"}',
      '--prove',
    ]);
    assert.equal(proven.verified, true);

    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        const i = seq++;
        const tx = buildTx(profile, signer, {
          chainId: network.chain,
          sender: { org: 'org1', cert },
          contract: 'kv',
          method: 'put',
          args: { key: `k${i % 50}`, value: i },
        });
        try {
          const r = await fetch(`${rpc}/v1/txs?wait=true`, {
            method: 'POST',
            headers: { 'content-type': 'application/octet-stream' },
            body: tx.bytes,
          });
          if (r.status === 200) {
            const body = (await r.json()) as any;
            committed.set(body.txId, body.height);
          }
        } catch {
          return; // the node died under us
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    await new Promise((r) => setTimeout(r, 800 + Math.floor(Math.random() * 1500)));
    await kill9(node.child.pid!);
    stop = true;
    await Promise.all(workers);
    await node.exited;
  }

  const node = startArchi(['node', 'start', '--config', config]);
  await node.waitFor(/node1 rpc/);
  assert.ok(committed.size > 20, `load committed only ${committed.size} txs`);
  for (const [txId, height] of committed) {
    const r = await fetch(`${rpc}/v1/txs/${txId}`);
    assert.equal(r.status, 200, `tx ${txId} lost`);
    assert.equal(((await r.json()) as any).height, height);
  }
  const after = await archiJson([
    'tx',
    'send',
    '--rpc',
    rpc,
    '--as',
    'org1/client',
    '--dir',
    dir,
    '--contract',
    'kv',
    '--method',
    'put',
    '--args',
    '{"key":"end","value":1}',
    '--wait',
  ]);
  assert.equal(after.status, 'ok');
  await node.stop();
});
