/**
 * The service gateway in front of a gm chain with key identities (`archi up --crypto gm
 * --identity key`): SM2 keys everywhere, the app identities' keys registered on chain by the
 * gateway organization's admin; an app in each key mode deploys its contract through the
 * gateway, calls it, queries with a verified proof and receives its events.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getProfile } from '../../src/crypto/profile.ts';
import { ArchiClient } from '../../src/sdk/client.ts';
import { appIdentity, GatewayClient } from '../../src/sdk/gateway-client.ts';
import type { EventPush } from '../../src/sdk/types.ts';
import { cliJson, eventually, upWithGateway } from './gateway-helpers.ts';
import { removeDir, stopAll, tempDir } from './harness.ts';

describe('the service gateway on a gm chain with key identities', () => {
  let dir: string;
  let rpc: string;
  const cli = (...args: string[]) => cliJson(dir, ...args);

  before(async () => {
    dir = tempDir('archi-gw-gm-');
    ({
      rpcs: [rpc],
    } = await upWithGateway(dir, ['--nodes', '1', '--crypto', 'gm', '--identity', 'key']));
    await cli('tenant', 'create', 'acme');
  });

  after(async () => {
    await stopAll();
    removeDir(dir);
  });

  for (const mode of ['upload', 'trust'] as const) {
    test(`a ${mode}-mode app with SM2 keys deploys, calls, queries verified and gets its events`, async () => {
      const app = await cli(
        'app',
        'create',
        '--tenant',
        'acme',
        '--name',
        `gm-${mode}`,
        '--mode',
        mode,
      );
      assert.equal(app.crypto, 'gm');
      const ns: string = app.namespace;
      // The identity's key is an SM2 key registered on chain, not a certificate.
      const pub = readFileSync(join(app.dir, 'identities', 'default', 'public.hex'), 'utf8').trim();
      assert.equal(app.identities[0].publicKey, pub);
      const gm = getProfile('gm');
      gm.publicKeyToPem(Buffer.from(pub, 'hex'));
      const sdk = GatewayClient.fromAppDir(app.dir);
      const info = await sdk.info();
      assert.deepEqual([info.chain.crypto, info.chain.identityMode], ['gm', 'key']);

      const events: EventPush[] = [];
      const sub = await sdk.subscribe({ contract: 'counter', name: 'Incremented' }, (e) =>
        events.push(e),
      );
      try {
        const d = await cli('app', 'deploy', '--app', app.id, 'counter', 'contracts/counter.ts');
        assert.equal(d.status, 'deployed', JSON.stringify(d));
        const c = await cli(
          'app',
          'call',
          '--app',
          app.id,
          '--contract',
          'counter',
          '--method',
          'increment',
          '--wait',
        );
        assert.equal(c.receipt.status, 'ok', JSON.stringify(c));
        if (mode === 'upload') {
          const id = appIdentity(app.dir);
          assert.equal(id.mode, 'key');
          const r = await sdk.send(
            id,
            { contract: `${ns}_counter`, method: 'increment', args: { by: 5 } },
            { wait: true },
          );
          assert.equal(r.receipt?.result, 6);
        } else {
          const r = await sdk.call(
            { contract: 'counter', method: 'increment', args: { by: 5 } },
            { wait: true },
          );
          assert.equal(r.receipt?.result, 6);
        }
        assert.equal(await sdk.queryVerified('counter', 'get'), 6);
        // The node agrees, and its validators signed the block the proof is checked against.
        const node = new ArchiClient(rpc);
        assert.equal((await node.query(`${ns}_counter`, 'get', null)).result, 6);
        const validators = (await sdk.validators()).validators;
        assert.equal(await sdk.queryVerified('counter', 'get', null, { validators }), 6);
        await eventually(() => events.length >= 2, 'two events');
        assert.deepEqual(
          events.map((e) => [e.contract, e.data]),
          [
            [`${ns}_counter`, { by: 1, count: 1 }],
            [`${ns}_counter`, { by: 5, count: 6 }],
          ],
        );
      } finally {
        sub.close();
      }
    });
  }
});
