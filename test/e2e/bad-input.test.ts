/**
 * Bad input from clients: each is refused with one clear error (4xx + code on the RPC,
 * one line and a non-zero exit on the CLI) and the node keeps running with its state unchanged.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getProfile } from '../../src/crypto/profile.ts';
import { certFromPem, issueCertificate } from '../../src/crypto/x509.ts';
import { buildTx, type TxFields } from '../../src/types/tx.ts';
import { archi, kvPut, removeDir, stopAll, tempDir, up } from './harness.ts';

const profile = getProfile('standard');

describe('bad input is refused and changes nothing', () => {
  let dir: string;
  let rpc: string;
  let chainId: string;
  let admin: { signer: ReturnType<typeof profile.signerFromPem>; cert: Uint8Array };
  let caSigner: ReturnType<typeof profile.signerFromPem>;

  before(async () => {
    dir = tempDir('archi-bad-');
    ({ rpc } = await up(dir, ['--nodes', '1']));
    chainId = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8')).chain;
    const user = join(dir, 'orgs', 'org1', 'users', 'admin');
    admin = {
      signer: profile.signerFromPem(readFileSync(join(user, 'key.pem'), 'utf8')),
      cert: certFromPem(readFileSync(join(user, 'cert.pem'), 'utf8')),
    };
    caSigner = profile.signerFromPem(
      readFileSync(join(dir, 'orgs', 'org1', 'ca', 'key.pem'), 'utf8'),
    );
    // One good tx so there is state to protect.
    const ok = await kvPut(dir, '{"key":"a","value":1}');
    assert.equal(ok.status, 'ok');
  });
  after(async () => {
    await stopAll();
    removeDir(dir);
  });

  const fields = (over: Partial<TxFields> = {}): TxFields => ({
    chainId,
    sender: { org: 'org1', cert: admin.cert },
    contract: 'kv',
    method: 'put',
    args: { key: 'b', value: 2 },
    ...over,
  });

  async function head(): Promise<{ height: number; stateRoot: string }> {
    const s = (await (await fetch(`${rpc}/v1/status`)).json()) as any;
    return { height: s.height, stateRoot: s.stateRoot };
  }

  async function postTx(
    body: Uint8Array | string,
    contentType = 'application/octet-stream',
  ): Promise<{ status: number; body: any }> {
    const r = await fetch(`${rpc}/v1/txs`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
    return { status: r.status, body: await r.json() };
  }

  async function expectRefused(
    body: Uint8Array | string,
    code: string,
    contentType?: string,
  ): Promise<void> {
    const before = await head();
    const r = await postTx(body, contentType);
    assert.ok(
      r.status >= 400 && r.status < 500,
      `status ${r.status} for ${code}: ${JSON.stringify(r.body)}`,
    );
    assert.equal(r.body.error?.code, code, JSON.stringify(r.body));
    assert.equal(typeof r.body.error.message, 'string');
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(await head(), before, 'state unchanged');
  }

  function leaf(over: {
    ca?: ReturnType<typeof profile.signerFromPem>;
    notAfter?: Date;
    org?: string;
  }) {
    const kp = profile.generateKeyPair();
    const org = over.org ?? 'org1';
    const der = issueCertificate({
      profile,
      issuer: over.ca ?? caSigner,
      issuerName: { O: org, CN: `ca.${org}` },
      subjectName: { O: org, OU: 'client', CN: 'mallory' },
      subjectPublicKey: kp.publicKey,
      notBefore: new Date(Date.now() - 2 * 86_400_000),
      notAfter: over.notAfter ?? new Date(Date.now() + 86_400_000),
      isCA: false,
    });
    return { signer: profile.signerFromPem(kp.privateKeyPem), cert: der };
  }

  test('malformed tx bytes', async () =>
    expectRefused(Uint8Array.of(0xff, 0xff, 0xff, 0x01), 'TX_MALFORMED'));
  test('random bytes as a JSON body', async () =>
    expectRefused(randomBytes(512), 'INVALID_JSON', 'application/json'));
  test('an empty tx body', async () => {
    await expectRefused(new Uint8Array(0), 'TX_MALFORMED');
    await expectRefused('', 'TX_MALFORMED', 'application/json');
    await expectRefused('{"tx":""}', 'TX_MALFORMED', 'application/json');
  });
  test('a JSON body in a charset other than utf-8', async () =>
    expectRefused('{"tx":"AAAA"}', 'UNSUPPORTED_CHARSET', 'application/json; charset=latin1'));
  test('random bytes as a tx', async () => {
    const r = await postTx(randomBytes(2048));
    assert.ok(r.status >= 400 && r.status < 500);
    assert.match(r.body.error.code, /^(TX_MALFORMED|TX_UNKNOWN_SENDER|TX_WRONG_CHAIN)$/);
  });
  test('bad signature', async () => {
    const tx = buildTx(profile, admin.signer, fields());
    const bad = Uint8Array.from(tx.bytes);
    bad[bad.length - 5] ^= 0x55;
    await expectRefused(bad, 'TX_BAD_SIGNATURE');
  });
  test('signed by a key that does not match the certificate', async () => {
    const other = profile.signerFromPem(profile.generateKeyPair().privateKeyPem);
    await expectRefused(buildTx(profile, other, fields()).bytes, 'TX_BAD_SIGNATURE');
  });
  test('certificate from a foreign CA', async () => {
    const foreignCa = profile.signerFromPem(profile.generateKeyPair().privateKeyPem);
    const m = leaf({ ca: foreignCa });
    await expectRefused(
      buildTx(profile, m.signer, fields({ sender: { org: 'org1', cert: m.cert } })).bytes,
      'CERT_INVALID',
    );
  });
  test('expired certificate', async () => {
    const m = leaf({ notAfter: new Date(Date.now() - 86_400_000) });
    await expectRefused(
      buildTx(profile, m.signer, fields({ sender: { org: 'org1', cert: m.cert } })).bytes,
      'CERT_EXPIRED',
    );
  });
  test('unknown organization', async () => {
    const m = leaf({});
    await expectRefused(
      buildTx(profile, m.signer, fields({ sender: { org: 'org9', cert: m.cert } })).bytes,
      'TX_UNKNOWN_SENDER',
    );
  });
  test('wrong chain id', async () => {
    await expectRefused(
      buildTx(profile, admin.signer, fields({ chainId: 'other-chain' })).bytes,
      'TX_WRONG_CHAIN',
    );
  });
  test('timestamp outside the window', async () => {
    await expectRefused(
      buildTx(profile, admin.signer, fields({ timestamp: Date.now() - 3_600_000 })).bytes,
      'TX_EXPIRED',
    );
  });
  test('oversized tx', async () => {
    const big = buildTx(
      profile,
      admin.signer,
      fields({ args: { key: 'big', value: 'x'.repeat(70_000) } }),
    );
    await expectRefused(big.bytes, 'TX_TOO_LARGE');
  });
  test('body over the HTTP limit', async () =>
    expectRefused(randomBytes(3 * 1024 * 1024), 'TX_TOO_LARGE'));
  test('unknown contract and method', async () => {
    await expectRefused(
      buildTx(profile, admin.signer, fields({ contract: 'nope' })).bytes,
      'CONTRACT_NOT_FOUND',
    );
    await expectRefused(
      buildTx(profile, admin.signer, fields({ method: 'nope' })).bytes,
      'METHOD_NOT_FOUND',
    );
  });
  test('replayed tx', async () => {
    const tx = buildTx(profile, admin.signer, fields({ args: { key: 'replay', value: 1 } }));
    const first = await fetch(`${rpc}/v1/txs?wait=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: tx.bytes,
    });
    assert.equal(first.status, 200);
    await expectRefused(tx.bytes, 'TX_DUPLICATE');
  });
  test('invalid JSON args inside a signed tx', async () => {
    // buildTx always encodes valid JSON, so sign raw bytes that are not JSON.
    const { create, encode, TxPayloadSchema, TxSchema } = await import('../../src/codec/index.ts');
    const payload = encode(
      TxPayloadSchema,
      create(TxPayloadSchema, {
        chainId,
        sender: { org: 'org1', cert: admin.cert },
        nonce: 1n,
        contract: 'kv',
        method: 'put',
        args: new TextEncoder().encode('{not json'),
        gasLimit: 1_000_000n,
        timestamp: BigInt(Date.now()),
      }),
    );
    const bytes = encode(
      TxSchema,
      create(TxSchema, { payload, signature: admin.signer.sign(payload) }),
    );
    await expectRefused(bytes, 'INVALID_ARGS');
  });
  test('unknown routes and bad parameters get coded errors', async () => {
    for (const [path, status, code] of [
      ['/v1/nothing', 404, 'NOT_FOUND'],
      ['/v1/blocks/abc', 400, 'BAD_REQUEST'],
      ['/v1/blocks/99999', 404, 'NOT_FOUND'],
      ['/v1/txs/zz', 400, 'BAD_REQUEST'],
    ] as const) {
      const r = await fetch(`${rpc}${path}`);
      assert.equal(r.status, status, path);
      assert.equal(((await r.json()) as any).error.code, code, path);
    }
    const q = await fetch(`${rpc}/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"contract":"kv","method":"put","args":{}}',
    });
    assert.equal(q.status, 400);
    assert.equal(((await q.json()) as any).error.code, 'CONTRACT_READ_ONLY');
  });

  test('CLI: bad flags and bad args give one line and a non-zero exit', async () => {
    const before = await head();
    const cases: Array<[string[], RegExp]> = [
      [
        ['tx', 'send', '--dir', dir, '--contract', 'kv', '--method', 'put', '--args', '{bad json'],
        /INVALID_ARGS/,
      ],
      [
        ['tx', 'send', '--dir', dir, '--contract', 'nope', '--method', 'put', '--args', '{}'],
        /CONTRACT_NOT_FOUND/,
      ],
      [
        [
          'tx',
          'send',
          '--dir',
          dir,
          '--contract',
          'kv',
          '--method',
          'put',
          '--args',
          '{}',
          '--as',
          'org1/nobody',
        ],
        /org1\/nobody/,
      ],
      [
        [
          'tx',
          'send',
          '--dir',
          dir,
          '--contract',
          'kv',
          '--method',
          'put',
          '--args',
          '{"key":"x","value":1}',
          '--bogus',
        ],
        /unknown option/,
      ],
      [['block', 'get', 'abc', '--dir', dir], /height/i],
      [['init', '--dir', dir], /network/i],
      [['up', '--nodes', 'zero', '--dir', join(dir, 'never-up')], /--nodes/],
      [['init', '--dir', join(dir, 'never-init'), '--crypto', 'rsa'], /crypto/],
    ];
    for (const [args, re] of cases) {
      const r = await archi(args);
      assert.notEqual(r.code, 0, `archi ${args.join(' ')} should fail`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one error line for ${args.join(' ')}: ${r.stderr}`);
      assert.match(lines[0], re);
    }
    assert.deepEqual(await head(), before);
    // Refused before anything is written: no network directory appears.
    for (const d of ['never-up', 'never-init']) assert.equal(existsSync(join(dir, d)), false, d);
  });

  test('the node is still healthy and commits', async () => {
    const r = await kvPut(dir, '{"key":"z","value":3}');
    assert.equal(r.status, 'ok');
  });
});
