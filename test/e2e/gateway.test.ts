/**
 * The service gateway on a 4-node network that `archi up` starts (cert identities), through
 * the CLI and the SDK: an app in each key mode deploys its TypeScript contract through the
 * gateway, calls it, queries it with a verified proof and receives its events; per-second
 * quotas refuse the excess of one app's burst while another app is served; the per-day quota
 * and a run-time quota change; usage counts what was sent; bad input is answered with its code
 * while the gateway keeps serving; and a gateway killed with kill -9 during a burst and
 * restarted loses no accepted request and counts none twice.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getProfile } from '../../src/crypto/profile.ts';
import { ArchiClient } from '../../src/sdk/client.ts';
import { appIdentity, GatewayClient, newReqId, readAppFile } from '../../src/sdk/gateway-client.ts';
import type { EventPush } from '../../src/sdk/types.ts';
import { signRequest, verifyResponse } from '../../src/types/gateway-envelope.ts';
import {
  buildTxs,
  cliJson,
  eventually,
  type Outcome,
  outcome,
  startGatewayProcess,
  txCountsOnChain,
  upWithGateway,
} from './gateway-helpers.ts';
import { archi, kill9, removeDir, stopAll, tempDir } from './harness.ts';

describe('the service gateway on a 4-node network from archi up', () => {
  let dir: string;
  let rpc: string;
  let gw: { url: string; pid: number };
  const cli = (...args: string[]) => cliJson(dir, ...args);
  /** Creates an app and returns what `app create --json` printed. */
  const createApp = (name: string, ...flags: string[]) =>
    cli('app', 'create', '--tenant', 'acme', '--name', name, ...flags);

  before(async () => {
    dir = tempDir('archi-gw-e2e-');
    const started = Date.now();
    const u = await upWithGateway(dir, ['--nodes', '4']);
    rpc = u.rpcs[0];
    gw = u.gateway;
    process.stdout.write(`# archi up with its gateway took ${Date.now() - started} ms\n`);
    const net = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'));
    assert.equal(net.gateway.url, gw.url);
    assert.equal(net.gateway.db, 'pglite');
    const t = await cli('tenant', 'create', 'acme');
    assert.equal(t.name, 'acme');
  });

  after(async () => {
    await stopAll();
    removeDir(dir);
  });

  for (const mode of ['upload', 'trust'] as const) {
    test(`a ${mode}-mode app deploys, calls, queries with a verified proof and gets its events`, async () => {
      const app = await createApp(`shop-${mode}`, '--mode', mode);
      assert.match(app.id, /^[A-Za-z0-9_.-]+$/);
      assert.equal(app.mode, mode);
      const ns: string = app.namespace;
      const sdk = GatewayClient.fromAppDir(app.dir);
      const events: EventPush[] = [];
      const sub = await sdk.subscribe({ contract: 'counter' }, (e) => events.push(e));
      try {
        const d = await cli('app', 'deploy', '--app', app.name, 'counter', 'contracts/counter.ts');
        assert.equal(d.status, 'deployed', JSON.stringify(d));
        assert.equal(d.contract.name, `${ns}_counter`);
        assert.deepEqual(d.contract.methods, ['get', 'increment']);

        const c = await cli(
          'app',
          'call',
          '--app',
          app.id,
          '--contract',
          'counter',
          '--method',
          'increment',
          '--args',
          '{"by":2}',
          '--wait',
        );
        assert.equal(c.status, 'committed', JSON.stringify(c));
        assert.equal(c.receipt.status, 'ok', JSON.stringify(c.receipt));
        assert.equal(c.receipt.result, 2);

        const call = { contract: `${ns}_counter`, method: 'increment' };
        const viaSdk =
          mode === 'upload'
            ? await sdk.send(appIdentity(app.dir), call, { wait: true })
            : await sdk.call({ contract: 'counter', method: 'increment' }, { wait: true });
        assert.equal(viaSdk.status, 'committed');
        assert.equal(viaSdk.receipt?.result, 3);
        const tx = await sdk.getTx(viaSdk.txId);
        assert.equal(tx.contract, `${ns}_counter`);

        assert.equal(await sdk.queryVerified('counter', 'get'), 3);
        const q = await cli(
          'app',
          'call',
          '--app',
          app.id,
          '--contract',
          'counter',
          '--method',
          'get',
          '--query',
          '--prove',
        );
        assert.deepEqual(q, { result: 3, verified: true });

        await eventually(() => events.length >= 2, 'two Incremented events');
        assert.deepEqual(
          events.map((e) => [e.contract, e.name, e.data]),
          [
            [`${ns}_counter`, 'Incremented', { by: 2, count: 2 }],
            [`${ns}_counter`, 'Incremented', { by: 1, count: 3 }],
          ],
        );
        assert.equal(events[1].txId, viaSdk.txId);
      } finally {
        sub.close();
      }
      if (mode === 'trust') {
        // The access key handed over once is in no log line and in no database file: neither
        // its PEM text nor its private scalar (raw or hex).
        const pem = readFileSync(join(app.dir, 'access.key.pem'), 'utf8');
        const d = privateScalar(pem);
        const needles = [
          pem.split('\n')[2],
          d.toString('hex'),
          d.toString('latin1'),
          d.toString('base64').slice(0, 40),
        ];
        for (const file of filesUnder(join(dir, 'gateway'))) {
          const text = readFileSync(file).toString('latin1');
          for (const n of needles)
            assert.ok(!text.includes(n), `${file} holds the access private key`);
        }
      }
    });
  }

  test('tps 5: a burst of 50 from one app gets QUOTA_TPS for the excess, the other app is served meanwhile', async () => {
    const [a, b] = await Promise.all([
      createApp('burst-a', '--tps', '5'),
      createApp('burst-b', '--tps', '5'),
    ]);
    await Promise.all([
      cli('app', 'deploy', '--app', a.id, 'counter', 'contracts/counter.ts'),
      cli('app', 'deploy', '--app', b.id, 'counter', 'contracts/counter.ts'),
    ]);
    const sa = GatewayClient.fromAppDir(a.dir);
    const sb = GatewayClient.fromAppDir(b.dir);
    const txA = await buildTxs(sa, appIdentity(a.dir), `${a.namespace}_counter`, 'increment', 50);
    const txB = await buildTxs(sb, appIdentity(b.dir), `${b.namespace}_counter`, 'increment', 5);
    // Both buckets full again (the deploy took a token).
    await new Promise((r) => setTimeout(r, 1500));

    const t0 = Date.now();
    const burst = Promise.all(txA.map((t) => outcome(sa.submitTx(t.bytes))));
    const others: Outcome[] = [];
    for (const t of txB) {
      others.push(await outcome(sb.submitTx(t.bytes)));
      await new Promise((r) => setTimeout(r, 150));
    }
    const results = await burst;
    const elapsedS = (Date.now() - t0) / 1000;

    assert.deepEqual(
      others.map((o) => (o.ok ? o.status : o.code)),
      ['accepted', 'accepted', 'accepted', 'accepted', 'accepted'],
    );
    const accepted = results.filter((o) => o.ok);
    const refused = results.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok);
    assert.ok(accepted.length >= 5, `accepted ${accepted.length}`);
    assert.ok(
      accepted.length <= 5 + Math.ceil(5 * elapsedS) + 1,
      `accepted ${accepted.length} in ${elapsedS} s`,
    );
    assert.ok(refused.length > 0);
    for (const r of refused) {
      assert.equal(r.code, 'QUOTA_TPS', r.message);
      assert.ok(
        r.retryAfterMs !== undefined && r.retryAfterMs > 0 && r.retryAfterMs <= 1000,
        String(r.retryAfterMs),
      );
    }
    process.stdout.write(
      `# burst of 50 at tps 5: ${accepted.length} accepted, ${refused.length} QUOTA_TPS in ${elapsedS} s\n`,
    );

    // Usage counts what was sent: the deploy and the accepted txs, one query (info), the refusals.
    const ua = await cli('app', 'usage', '--app', a.id);
    assert.equal(ua.total.txs, 1 + accepted.length);
    assert.equal(ua.total.rejected, refused.length);
    assert.equal(ua.total.queries, 1);
    const sizes = txA.filter((_, i) => results[i].ok).reduce((s, t) => s + t.bytes.length, 0);
    assert.ok(ua.total.bytesWritten >= sizes, `${ua.total.bytesWritten} < ${sizes}`);
    const ub = await cli('app', 'usage', '--app', b.id);
    assert.deepEqual([ub.total.txs, ub.total.rejected, ub.total.queries], [6, 0, 1]);
    const csv = await archi(['app', 'usage', '--app', a.id, '--csv', '--dir', dir]);
    assert.equal(csv.code, 0, csv.stderr);
    assert.match(csv.stdout, new RegExp(`${a.id}`));
  });

  test('tpd: QUOTA_TPD through archi app call, lifted at run time by set-quota', async () => {
    const app = await createApp('daily', '--tpd', '3');
    await cli('app', 'deploy', '--app', app.id, 'counter', 'contracts/counter.ts');
    const call = (...extra: string[]) =>
      archi([
        'app',
        'call',
        '--app',
        app.name,
        '--contract',
        'counter',
        '--method',
        'increment',
        '--dir',
        dir,
        ...extra,
      ]);
    for (let i = 0; i < 2; i++) {
      const ok = await call();
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^[0-9a-f]{64}$/m);
    }
    const over = await call();
    assert.equal(over.code, 1);
    assert.match(over.stderr, /QUOTA_TPD: .*\(retry after \d+ ms\)/);
    const overJson = await call('--json');
    assert.equal(overJson.code, 1);
    const err = JSON.parse(overJson.stdout).error;
    assert.equal(err.code, 'QUOTA_TPD');
    assert.ok(err.retryAfterMs > 0 && err.retryAfterMs <= 86_400_000);

    const lifted = await cli('app', 'set-quota', '--app', app.id, '--tpd', 'none');
    assert.equal(lifted.tpd, null);
    const again = await call('--wait', '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).receipt.result, 3);
    const shown = await cli('app', 'show', '--app', app.id);
    assert.equal(shown.usageToday.txs, 4);
    assert.equal(shown.usageToday.rejected, 2);
  });

  test('bad input is answered with its code and the gateway keeps serving', async () => {
    const app = await createApp('probe');
    const other = await createApp('probe-other');
    const file = readAppFile(app.dir);
    const profile = getProfile(file.crypto);
    const accessPem = readFileSync(join(app.dir, 'access.key.pem'), 'utf8');
    const signer = profile.signerFromPem(accessPem);
    const stranger = profile.signerFromPem(profile.generateKeyPair().privateKeyPem);
    const gwKey = {
      profile: file.crypto,
      publicKey: profile.publicKeyFromPem(file.gateway.publicKeys[file.crypto]),
    };
    const sdk = GatewayClient.fromAppDir(app.dir);
    const post = async (text: string, path = '/gw/v1/info') => {
      const res = await fetch(`${gw.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: text,
      });
      const body = await res.text();
      // Every answer is signed by the gateway, errors too.
      const env = verifyResponse(body, gwKey, { nowMs: Date.now() });
      return { status: res.status, code: env.code, reqId: env.header.reqId };
    };
    const envelope = (o: { app?: string; time?: number; by?: typeof signer; body?: object } = {}) =>
      signRequest(
        o.by ?? signer,
        { app: o.app ?? app.id, reqId: newReqId(), time: o.time ?? Date.now() },
        (o.body ?? {}) as Record<string, unknown>,
      );
    const stillServing = async () => assert.equal((await sdk.refreshInfo()).app.id, app.id);

    const good = envelope();
    assert.deepEqual(await post(JSON.stringify(good)), {
      status: 200,
      code: 'OK',
      reqId: good.header.reqId,
    });
    // Bad mac, stale time and a replayed reqId count as the app's rejected requests.
    const cases: Array<[string, string, number, string]> = [
      ['bad mac', JSON.stringify(envelope({ by: stranger })), 401, 'GW_BAD_MAC'],
      [
        'stale time',
        JSON.stringify(envelope({ time: Date.now() - 10 * 60_000 })),
        401,
        'GW_STALE_TIME',
      ],
      ['replayed reqId', JSON.stringify(good), 401, 'GW_REPLAY'],
      ['unknown app', JSON.stringify(envelope({ app: 'app_no_such_app' })), 401, 'GW_UNKNOWN_APP'],
      ["another app's id", JSON.stringify(envelope({ app: other.id })), 401, 'GW_BAD_MAC'],
      [
        'malformed envelope',
        JSON.stringify({ header: good.header, body: {} }),
        400,
        'GW_MALFORMED',
      ],
      ['not JSON', '{"header":', 400, 'GW_MALFORMED'],
      [
        'oversized body',
        JSON.stringify(envelope({ body: { pad: 'x'.repeat(1024 * 1024 + 10) } })),
        413,
        'BODY_TOO_LARGE',
      ],
      [
        'deep nesting',
        `{"header":{},"body":${'['.repeat(100)}${']'.repeat(100)},"mac":"AA=="}`,
        400,
        'ARGS_TOO_DEEP',
      ],
    ];
    for (const [i, [what, text, status, code]] of cases.entries()) {
      const r = await post(text);
      assert.deepEqual([r.status, r.code], [status, code], what);
      await stillServing();
      if (i === 2) {
        // A bad mac, a stale time and a replay: each counted as one of the app's rejected requests.
        const usage = await cli('app', 'usage', '--app', app.id);
        assert.equal(usage.total.rejected, 3);
      }
    }

    // The endpoints' own refusals: a contract outside the namespace, the other mode's body.
    const identity = appIdentity(app.dir);
    const outside = await outcome(sdk.send(identity, { contract: 'counter', method: 'increment' }));
    assert.equal(outside.ok ? 'accepted' : outside.code, 'GW_FORBIDDEN');
    const wrongMode = await outcome(sdk.call({ contract: 'counter', method: 'get' }));
    assert.equal(wrongMode.ok ? 'accepted' : wrongMode.code, 'GW_WRONG_MODE');
    // A short name always means the app's own contract: `kv` is <namespace>_kv, not the native kv.
    await assert.rejects(sdk.query('kv', 'get', { key: 'k' }), (e: Error) => {
      assert.equal((e as { code?: string }).code, 'CONTRACT_NOT_FOUND');
      assert.match(e.message, new RegExp(`${app.namespace}_kv`));
      return true;
    });
    await stillServing();
    const shown = await cli('app', 'show', '--app', app.id);
    assert.equal(shown.usageToday.txs, 0, 'refused txs take no quota');
    assert.ok(shown.usageToday.rejected >= 5, String(shown.usageToday.rejected));
  });

  test('kill -9 during a burst and a restart: no accepted request lost or counted twice', async () => {
    const app = await createApp('crash');
    await cli('app', 'deploy', '--app', app.id, 'counter', 'contracts/counter.ts');
    const sdk = GatewayClient.fromAppDir(app.dir, { timeoutMs: 10_000 });
    const txs = await buildTxs(
      sdk,
      appIdentity(app.dir),
      `${app.namespace}_counter`,
      'increment',
      80,
    );
    const results: Outcome[] = new Array(txs.length);
    let next = 0;
    let answered = 0;
    let killed: Promise<void> | undefined;
    const worker = async () => {
      while (next < txs.length) {
        const i = next++;
        results[i] = await outcome(sdk.submitTx(txs[i].bytes));
        if (++answered === 25) killed = kill9(gw.pid);
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    await killed;
    const accepted = txs.filter((_, i) => results[i].ok).map((t) => t.txId);
    const unknown = txs.filter((_, i) => !results[i].ok).map((t) => t.txId);
    const codes = new Set(results.filter((o) => !o.ok).map((o) => (o as { code: string }).code));
    process.stdout.write(
      `# kill -9 during a burst of ${txs.length}: ${accepted.length} accepted, ${unknown.length} without an answer (${[...codes].join(', ')})\n`,
    );
    assert.ok(accepted.length >= 25 && unknown.length > 0);
    for (const c of codes) assert.ok(['NOT_READY', 'TIMEOUT'].includes(c), c);

    // Restarted on the same port (and database): the journal's accepted rows are forwarded again.
    const port = new URL(gw.url).port;
    const restarted = await startGatewayProcess(['--dir', dir, '--port', port]);
    assert.equal(restarted.url, gw.url);
    gw = { url: restarted.url, pid: restarted.pid };
    for (const txId of accepted) await sdk.waitForTx(txId, 60_000);
    const node = new ArchiClient(rpc);
    // Requests cut off by the kill may have been accepted before it: they are on chain too.
    await new Promise((r) => setTimeout(r, 3000));
    const counts = await txCountsOnChain(rpc);
    for (const txId of accepted)
      assert.equal(counts.get(txId), 1, `accepted tx ${txId} on chain once`);
    const late = unknown.filter((t) => counts.has(t));
    for (const txId of late) assert.equal(counts.get(txId), 1);
    const onChain = accepted.length + late.length;
    assert.equal((await node.getTx(accepted[0])).txId, accepted[0]);
    const usage = await cli('app', 'usage', '--app', app.id);
    assert.equal(
      usage.total.txs,
      1 + onChain,
      'usage counts every tx on chain once (and the deploy)',
    );
    process.stdout.write(`# of the unanswered, ${late.length} were accepted before the kill\n`);
    // And the restarted gateway serves.
    const more = await sdk.send(
      appIdentity(app.dir),
      { contract: `${app.namespace}_counter`, method: 'increment' },
      { wait: true },
    );
    assert.equal(more.receipt?.result, onChain + 1);
  });
});

/** The 32-byte private scalar of a PKCS#8 EC key PEM (after `02 01 01 04 20` in its ECPrivateKey). */
function privateScalar(pem: string): Buffer {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const at = der.indexOf(Buffer.from([0x02, 0x01, 0x01, 0x04, 0x20]));
  assert.ok(at > 0, 'an EC private key');
  return der.subarray(at + 5, at + 37);
}

function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(root);
  return out;
}
