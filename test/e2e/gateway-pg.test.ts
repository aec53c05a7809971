/**
 * Two gateway processes on one real PostgreSQL server (ARCHI_TEST_PG_URL, else a throwaway
 * cluster as test/gateway/pg-server.ts makes one; skipped with the reason when there is
 * neither) in front of one network: they share the keys, the token and the database, so an
 * app's quotas are one quota whichever gateway a request goes to, and its usage one record.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { appIdentity, GatewayClient } from '../../src/sdk/gateway-client.ts';
import { realPostgres, type RealPostgres } from '../gateway/pg-server.ts';
import {
  buildTxs,
  cliJson,
  type Outcome,
  outcome,
  startGatewayProcess,
} from './gateway-helpers.ts';
import { removeDir, startArchi, stopAll, tempDir } from './harness.ts';

const server = await realPostgres();

describe('two gateways on one PostgreSQL server', {
  skip: 'skip' in server ? server.skip : false,
}, () => {
  const pg = server as RealPostgres;
  let dir: string;
  let gwA: { url: string };
  let gwB: { url: string };
  const cli = (...args: string[]) => cliJson(dir, ...args);

  before(async () => {
    dir = tempDir('archi-gw-pg-');
    const up = startArchi(['up', '--dir', dir, '--nodes', '1', '--no-console', '--no-gateway']);
    await up.waitFor(/press Ctrl-C/, 300_000);
    // The first makes the keys and the token in DIR/gateway; the second finds them.
    gwA = await startGatewayProcess(['--dir', dir, '--db', pg.url, '--id', 'gw-a']);
    gwB = await startGatewayProcess(['--dir', dir, '--db', pg.url, '--id', 'gw-b']);
    assert.notEqual(gwA.url, gwB.url);
    const net = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'));
    assert.equal(net.gateway.db, 'postgres');
    assert.doesNotMatch(
      JSON.stringify(net.gateway),
      /postgres:\/\//,
      'no database URL in network.json',
    );
    await cli('tenant', 'create', 'acme');
  });

  after(async () => {
    await stopAll();
    if (!('skip' in server)) await pg.stop();
    if (dir) removeDir(dir);
  });

  /** An app with its counter deployed, and a client of it on each gateway. */
  async function appOnBoth(name: string, ...quota: string[]) {
    const app = await cli('app', 'create', '--tenant', 'acme', '--name', name, ...quota);
    await cli('app', 'deploy', '--app', app.id, 'counter', 'contracts/counter.ts');
    const a = GatewayClient.fromAppDir(app.dir, { url: gwA.url });
    const b = GatewayClient.fromAppDir(app.dir, { url: gwB.url });
    const txs = await buildTxs(
      a,
      appIdentity(app.dir),
      `${app.namespace}_counter`,
      'increment',
      40,
    );
    await b.info();
    return { app, a, b, txs };
  }

  test('tpd: one day quota across both gateways, exactly', async () => {
    const { app, a, b, txs } = await appOnBoth('daily', '--tpd', '11');
    // The deploy took one of the 11: ten more, wherever they are sent.
    const results = await Promise.all(
      txs.map((t, i) => outcome((i % 2 ? b : a).submitTx(t.bytes))),
    );
    const accepted = results.filter((o) => o.ok).length;
    const codes = results.filter((o) => !o.ok).map((o) => (o as { code: string }).code);
    assert.equal(accepted, 10);
    assert.ok(
      codes.every((c) => c === 'QUOTA_TPD'),
      codes.join(','),
    );
    const usage = await cli('app', 'usage', '--app', app.id);
    assert.equal(usage.total.txs, 11);
    assert.equal(usage.total.rejected, 30);
  });

  test('tps: one token bucket across both gateways', async () => {
    const { app, a, b, txs } = await appOnBoth('persec', '--tps', '5');
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = Date.now();
    const results: Outcome[] = await Promise.all(
      txs.map((t, i) => outcome((i % 2 ? b : a).submitTx(t.bytes))),
    );
    const elapsedS = (Date.now() - t0) / 1000;
    const ok = results.filter((o) => o.ok).length;
    const byGateway = [0, 1].map((g) => results.filter((o, i) => o.ok && i % 2 === g).length);
    process.stdout.write(
      `# tps 5 over two gateways: ${ok} of ${txs.length} accepted (${byGateway.join(' + ')}) in ${elapsedS} s\n`,
    );
    // Two separate buckets would let through about twice this.
    assert.ok(ok >= 5 && ok <= 5 + Math.ceil(5 * elapsedS) + 1, `${ok} in ${elapsedS} s`);
    for (const o of results) if (!o.ok) assert.equal(o.code, 'QUOTA_TPS');
    const usage = await cli('app', 'usage', '--app', app.id);
    assert.equal(usage.total.txs, 1 + ok);
  });
});
