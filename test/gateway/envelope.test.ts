// The gateway's signed envelope: round trips in both profiles, one code for each bad case,
// and frozen vectors so that a change of the signed bytes shows as a compatibility break.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fromHex, toHex } from '../../src/crypto/bytes.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import { ArchiError } from '../../src/errors/index.ts';
import {
  checkRequest,
  GW_LIMITS,
  parseRequest,
  type RequestEnvelope,
  type RequestHeader,
  requestBytes,
  type ResponseEnvelope,
  responseBytes,
  signRequest,
  signResponse,
  type VerifyKey,
  verifyRequest,
  verifyResponse,
} from '../../src/sdk/gateway-envelope.ts';
import { canonicalJsonText } from '../../src/types/json.ts';

const NOW = 1_767_225_600_000;
const header: RequestHeader = { app: 'app-1', reqId: 'r-0001', time: NOW };
const body = { contract: 'token', method: 'transfer', args: { to: 'bob', amount: 5 } };

function throwsCode(fn: () => unknown, code: string, what?: string): void {
  assert.throws(
    fn,
    (e: unknown) => {
      assert.ok(e instanceof ArchiError, `${what ?? code}: not an ArchiError: ${String(e)}`);
      assert.equal(e.code, code, `${what ?? code}: ${e.message}`);
      return true;
    },
    what,
  );
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

test('canonical JSON sorts keys by code unit (integer-like keys too), no whitespace', () => {
  assert.equal(
    canonicalJsonText({ b: 1, a: [true, null, 'x'], '10': 0, '2': { d: 1.5, c: -0 } }),
    '{"10":0,"2":{"c":0,"d":1.5},"a":[true,null,"x"],"b":1}',
  );
  assert.equal(canonicalJsonText({ é: 1, z: 2, Z: 3 }), '{"Z":3,"z":2,"é":1}');
  throwsCode(() => canonicalJsonText({ a: Number.NaN }), 'INVALID_ARGS');
  throwsCode(() => canonicalJsonText({ a: Number.POSITIVE_INFINITY }), 'INVALID_ARGS');
  throwsCode(() => canonicalJsonText({ a: undefined }), 'INVALID_ARGS');
  throwsCode(() => canonicalJsonText({ a: new Date(0) }), 'INVALID_ARGS');
  throwsCode(() => canonicalJsonText({ a: 1n }), 'INVALID_ARGS');
  throwsCode(() => canonicalJsonText('\ud800'), 'INVALID_ARGS');
});

for (const name of ['standard', 'gm'] as const) {
  describe(`envelope, ${name} profile`, () => {
    const profile = getProfile(name);
    const app = profile.generateKeyPair();
    const other = profile.generateKeyPair();
    const gw = profile.generateKeyPair();
    const signer = profile.signerFromPem(app.privateKeyPem);
    const gwSigner = profile.signerFromPem(gw.privateKeyPem);
    const appKey: VerifyKey = { profile: name, publicKey: app.publicKey };
    const gwKey: VerifyKey = { profile, publicKey: gw.publicKey };
    const keyOf = (id: string): VerifyKey | undefined => (id === 'app-1' ? appKey : undefined);
    const window = { nowMs: NOW, maxSkewMs: 60_000 };
    const good = signRequest(signer, header, body);

    test('a request round trips as text, bytes and a parsed value', () => {
      const text = JSON.stringify(good);
      for (const input of [text, new TextEncoder().encode(text), clone(good)]) {
        const env = verifyRequest(input, keyOf, window);
        assert.deepEqual(env, good);
      }
    });

    test('a response round trips and is bound to its request', () => {
      const res = signResponse(gwSigner, {
        code: 'OK',
        msg: '',
        data: { txId: 'ab', n: 1 },
        header: { reqId: header.reqId, time: NOW + 5, gateway: 'gw-1' },
      });
      const back = verifyResponse(JSON.stringify(res), gwKey, { ...window, reqId: header.reqId });
      assert.deepEqual(back, res);
      throwsCode(() => verifyResponse(res, gwKey, { ...window, reqId: 'r-other' }), 'GW_BAD_MAC');
      const err = signResponse(gwSigner, {
        code: 'QUOTA_TPS',
        msg: 'over 5 tx/s',
        data: undefined,
        header: { reqId: '', time: NOW, gateway: 'gw-1' },
      });
      assert.equal(err.data, null);
      assert.deepEqual(verifyResponse(err, gwKey, window), err);
    });

    test('tampered body, tampered header, wrong key: GW_BAD_MAC', () => {
      const b = clone(good);
      b.body.args = { to: 'mallory', amount: 5 };
      throwsCode(() => verifyRequest(b, keyOf, window), 'GW_BAD_MAC', 'body');
      const added = clone(good);
      added.body.extra = 1;
      throwsCode(() => verifyRequest(added, keyOf, window), 'GW_BAD_MAC', 'added member');
      const h = clone(good);
      h.header.reqId = 'r-0002';
      throwsCode(() => verifyRequest(h, keyOf, window), 'GW_BAD_MAC', 'header');
      const t = clone(good);
      t.header.time += 1;
      throwsCode(() => verifyRequest(t, keyOf, window), 'GW_BAD_MAC', 'time');
      const wrong = { profile: name, publicKey: other.publicKey };
      throwsCode(() => verifyRequest(good, () => wrong, window), 'GW_BAD_MAC', 'wrong key');
      const otherSigned = signRequest(profile.signerFromPem(other.privateKeyPem), header, body);
      throwsCode(() => verifyRequest(otherSigned, keyOf, window), 'GW_BAD_MAC', 'other signer');
      const junk = { ...clone(good), mac: 'AAAA' };
      throwsCode(() => verifyRequest(junk, keyOf, window), 'GW_BAD_MAC', 'junk mac');
    });

    test('key order and whitespace of the text do not matter, values do', () => {
      const text = `{ "mac": ${JSON.stringify(good.mac)}, "body": {"method":"transfer","args":{"amount":5,"to":"bob"},"contract":"token"},\n"header": {"time": ${NOW}, "reqId": "r-0001", "app": "app-1"} }`;
      assert.deepEqual(verifyRequest(text, keyOf, window), good);
      throwsCode(
        () => verifyRequest(text.replace('"amount":5', '"amount":5.0001'), keyOf, window),
        'GW_BAD_MAC',
      );
    });

    test('unknown app: GW_UNKNOWN_APP', () => {
      const env = signRequest(signer, { ...header, app: 'app-2' }, body);
      throwsCode(() => verifyRequest(env, keyOf, window), 'GW_UNKNOWN_APP');
      throwsCode(() => checkRequest(good, undefined, window), 'GW_UNKNOWN_APP');
    });

    test('stale time either way: GW_STALE_TIME, the edge of the window passes', () => {
      for (const d of [-60_001, 60_001, -10 * 86_400_000, NOW]) {
        const env = signRequest(signer, { ...header, time: NOW + d }, body);
        throwsCode(() => verifyRequest(env, keyOf, window), 'GW_STALE_TIME', `skew ${d}`);
      }
      for (const d of [-60_000, 60_000]) {
        const env = signRequest(signer, { ...header, time: NOW + d }, body);
        assert.ok(verifyRequest(env, keyOf, window));
      }
      const old = signResponse(gwSigner, {
        code: 'OK',
        msg: '',
        data: null,
        header: { reqId: 'r-1', time: NOW - 3_600_000, gateway: 'gw-1' },
      });
      throwsCode(() => verifyResponse(old, gwKey, window), 'GW_STALE_TIME', 'response');
    });

    test('a response mac is never accepted as a request mac, nor the other way', () => {
      // Same signer and the same field values: only the prefix and shape tell them apart.
      const asReq = signRequest(gwSigner, header, body);
      const res = { code: 'OK', msg: '', data: null, header: { ...header, gateway: 'gw-1' } };
      const resEnv = signResponse(gwSigner, {
        ...res,
        header: { reqId: header.reqId, time: NOW, gateway: 'gw-1' },
      });
      const forged: RequestEnvelope = { header, body, mac: resEnv.mac };
      throwsCode(() => verifyRequest(forged, () => gwKey, window), 'GW_BAD_MAC', 'res as req');
      const forgedRes: ResponseEnvelope = { ...resEnv, mac: asReq.mac };
      throwsCode(() => verifyResponse(forgedRes, gwKey, window), 'GW_BAD_MAC', 'req as res');
      // Even over identical JSON the prefixes differ.
      const json = canonicalJsonText({ header, body });
      assert.notEqual(
        toHex(requestBytes(header, body)),
        toHex(new TextEncoder().encode(`archipelago-gw-res-v1\n${json}`)),
      );
      assert.ok(
        new TextDecoder()
          .decode(responseBytes({ ...resEnv }))
          .startsWith('archipelago-gw-res-v1\n{"code":"OK"'),
      );
    });
  });
}

describe('malformed envelopes: GW_MALFORMED, nothing verified', () => {
  const profile = getProfile('standard');
  const kp = profile.generateKeyPair();
  const signer = profile.signerFromPem(kp.privateKeyPem);
  const good = signRequest(signer, header, body);
  let keyLookups = 0;
  const keyOf = (): VerifyKey => {
    keyLookups++;
    return { profile, publicKey: kp.publicKey };
  };
  const window = { nowMs: NOW };
  const g = (): Record<string, unknown> & RequestEnvelope =>
    clone(good) as Record<string, unknown> & RequestEnvelope;
  const with_ = (f: (e: ReturnType<typeof g>) => void): unknown => {
    const e = g();
    f(e);
    return e;
  };
  const cases: Array<[string, unknown]> = [
    ['not JSON', '{"header":'],
    ['not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
    ['an array', '[]'],
    ['null', 'null'],
    ['a string', '"x"'],
    ['no header', with_((e) => delete (e as Partial<RequestEnvelope>).header)],
    ['no body', with_((e) => delete (e as Partial<RequestEnvelope>).body)],
    ['no mac', with_((e) => delete (e as Partial<RequestEnvelope>).mac)],
    ['an extra top-level field', with_((e) => (e.extra = 1))],
    [
      'an extra header field',
      with_((e) => ((e.header as unknown as Record<string, unknown>).x = 1)),
    ],
    ['header an array', with_((e) => ((e as Record<string, unknown>).header = []))],
    ['app missing', with_((e) => delete (e.header as Partial<RequestHeader>).app)],
    ['app a number', with_((e) => ((e.header as unknown as Record<string, unknown>).app = 7))],
    ['app with a space', with_((e) => (e.header.app = 'app 1'))],
    ['app empty', with_((e) => (e.header.app = ''))],
    ['reqId empty', with_((e) => (e.header.reqId = ''))],
    ['reqId 65 characters', with_((e) => (e.header.reqId = 'a'.repeat(65)))],
    ['reqId with a dot', with_((e) => (e.header.reqId = 'a.b'))],
    ['reqId with a slash', with_((e) => (e.header.reqId = 'a/b'))],
    ['reqId a number', with_((e) => ((e.header as unknown as Record<string, unknown>).reqId = 1))],
    [
      'time a string',
      with_((e) => ((e.header as unknown as Record<string, unknown>).time = `${NOW}`)),
    ],
    ['time fractional', with_((e) => (e.header.time = NOW + 0.5))],
    ['time negative', with_((e) => (e.header.time = -1))],
    ['time past 2^53', with_((e) => (e.header.time = 2 ** 53))],
    ['body an array', with_((e) => ((e as Record<string, unknown>).body = [1]))],
    ['body a string', with_((e) => ((e as Record<string, unknown>).body = 'x'))],
    ['body null', with_((e) => ((e as Record<string, unknown>).body = null))],
    ['mac not base64', with_((e) => (e.mac = 'not base64!'))],
    ['mac unpadded', with_((e) => (e.mac = 'AAAAAA'))],
    ['mac with whitespace', with_((e) => (e.mac = `${e.mac.slice(0, 4)} ${e.mac.slice(4)}`))],
    ['mac empty', with_((e) => (e.mac = ''))],
    ['mac a number', with_((e) => ((e as Record<string, unknown>).mac = 5))],
    ['mac too long', with_((e) => (e.mac = 'A'.repeat(GW_LIMITS.mac + 4)))],
    ['a non-finite number', JSON.stringify(good).replace('"amount":5', '"amount":1e999')],
    ['a lone surrogate', JSON.stringify(good).replace('"bob"', '"\\ud800"')],
  ];
  for (const [what, input] of cases) {
    test(what, () => {
      const before = keyLookups;
      throwsCode(() => verifyRequest(input, keyOf, window), 'GW_MALFORMED', what);
      throwsCode(() => parseRequest(input), 'GW_MALFORMED', what);
      assert.equal(keyLookups, before, 'no key looked up for a malformed envelope');
    });
  }

  test('signing a malformed header or body is refused too', () => {
    throwsCode(() => signRequest(signer, { ...header, reqId: 'no spaces' }, body), 'GW_MALFORMED');
    throwsCode(() => signRequest(signer, header, [] as unknown as typeof body), 'GW_MALFORMED');
    throwsCode(() => signRequest(signer, header, { x: Number.NaN }), 'GW_MALFORMED');
  });

  test('too deep, too many values, too many bytes: refused before any recursion', () => {
    const depth = 100_000;
    const deepText = `{"header":${JSON.stringify(header)},"body":{"a":${'['.repeat(depth)}${']'.repeat(depth)}},"mac":"AAAA"}`;
    throwsCode(() => verifyRequest(deepText, keyOf, window), 'ARGS_TOO_DEEP', 'text');
    // A body exactly at the limit: the envelope is depth 1, the body 2, so 62 more fit.
    const atLimit = g();
    atLimit.body = { a: JSON.parse(`${'['.repeat(62)}${']'.repeat(62)}`) };
    throwsCode(() => verifyRequest(atLimit, keyOf, window), 'GW_BAD_MAC', 'at the limit');
    const over = g();
    over.body = { a: JSON.parse(`${'['.repeat(63)}${']'.repeat(63)}`) };
    throwsCode(() => verifyRequest(JSON.stringify(over), keyOf, window), 'ARGS_TOO_DEEP');
    throwsCode(() => verifyRequest(over, keyOf, window), 'ARGS_TOO_DEEP', 'parsed value');
    // A parsed value deeper than any stack: the check walks it without recursion.
    let deep: unknown = [];
    for (let i = 0; i < depth; i++) deep = [deep];
    const deepValue = { ...g(), body: { a: deep } };
    throwsCode(() => verifyRequest(deepValue, keyOf, window), 'ARGS_TOO_DEEP', 'deep value');
    throwsCode(() => signRequest(signer, header, { a: deep }), 'ARGS_TOO_DEEP', 'signing');
    const many = `{"header":${JSON.stringify(header)},"body":{"a":[${'0,'.repeat(70_000)}0]},"mac":"AAAA"}`;
    throwsCode(() => verifyRequest(many, keyOf, window), 'ARGS_TOO_LARGE');
    const big = `{"header":${JSON.stringify(header)},"body":{"a":"${'x'.repeat(GW_LIMITS.bytes)}"},"mac":"AAAA"}`;
    throwsCode(() => verifyRequest(big, keyOf, window), 'BODY_TOO_LARGE', 'text');
    throwsCode(
      () => verifyRequest(new TextEncoder().encode(big), keyOf, window),
      'BODY_TOO_LARGE',
      'bytes',
    );
    // Multi-byte characters count as their UTF-8 bytes.
    const wide = `{"header":${JSON.stringify(header)},"body":{"a":"${'é'.repeat(GW_LIMITS.bytes / 2 + 1)}"},"mac":"AAAA"}`;
    throwsCode(() => verifyRequest(wide, keyOf, window), 'BODY_TOO_LARGE', 'utf-8 length');
  });

  test('malformed responses', () => {
    const res = signResponse(signer, {
      code: 'OK',
      msg: '',
      data: null,
      header: { reqId: 'r-1', time: NOW, gateway: 'gw-1' },
    });
    const key = { profile, publicKey: kp.publicKey };
    const bad: Array<[string, unknown]> = [
      ['no data', { ...res, data: undefined }],
      ['code lower case', { ...res, code: 'ok' }],
      ['msg a number', { ...res, msg: 1 }],
      ['msg too long', { ...res, msg: 'x'.repeat(GW_LIMITS.msg + 1) }],
      ['no gateway', { ...res, header: { reqId: 'r-1', time: NOW } }],
      ['an extra field', { ...res, extra: true }],
      ['a request', good],
    ];
    for (const [what, input] of bad) {
      throwsCode(() => verifyResponse(JSON.stringify(input), key, window), 'GW_MALFORMED', what);
    }
  });
});

describe('frozen vectors (test/vectors/gateway-envelope.json)', () => {
  const file = new URL('../vectors/gateway-envelope.json', import.meta.url);
  const { vectors } = JSON.parse(readFileSync(file, 'utf8')) as {
    vectors: Array<{
      profile: 'standard' | 'gm';
      privateKeyPem: string;
      publicKeyHex: string;
      request: { envelope: RequestEnvelope; signedText: string; signedHex: string };
      response: { envelope: ResponseEnvelope; signedText: string; signedHex: string };
    }>;
  };
  assert.deepEqual(
    vectors.map((v) => v.profile),
    ['standard', 'gm'],
  );
  for (const v of vectors) {
    test(`${v.profile}: signed bytes unchanged, stored macs verify, the key signs anew`, () => {
      const profile = getProfile(v.profile);
      const key = { profile, publicKey: fromHex(v.publicKeyHex) };
      const { envelope: req } = v.request;
      assert.equal(toHex(requestBytes(req.header, req.body)), v.request.signedHex);
      assert.equal(new TextDecoder().decode(fromHex(v.request.signedHex)), v.request.signedText);
      const window = { nowMs: req.header.time };
      assert.deepEqual(
        verifyRequest(JSON.stringify(req), () => key, window),
        req,
      );
      const { envelope: res } = v.response;
      assert.equal(toHex(responseBytes(res)), v.response.signedHex);
      assert.deepEqual(verifyResponse(res, key, { ...window, reqId: req.header.reqId }), res);
      const signer = profile.signerFromPem(v.privateKeyPem);
      assert.equal(toHex(signer.publicKey), v.publicKeyHex);
      const again = signRequest(signer, req.header, req.body);
      assert.ok(verifyRequest(again, () => key, window));
    });
  }
});
