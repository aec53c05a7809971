/**
 * The other nested encodings execution decodes from untrusted bytes: protobuf groups in a tx
 * and DER inside a certificate. Both libraries stop at fixed depths, so the answer is the
 * same under any stack size; these tests keep it so if a library changes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';

const SCRIPT = `
  import { decodeTx } from './src/types/tx.ts';
  import { getProfile } from './src/crypto/profile.ts';
  import { parseCertificate } from './src/crypto/x509.ts';
  const out = [];
  const attempt = (f) => { try { f(); out.push('accepted'); } catch (e) { out.push(e.code + ' ' + e.message.slice(0, 80)); } };
  for (const n of [50, 101, 30000]) {
    // field 15 as a start group (wire type 3) n times, then n end groups
    const b = new Uint8Array(2 * n); b.fill(123, 0, n); b.fill(124, n);
    attempt(() => decodeTx(getProfile('standard'), b));
  }
  const wrap = (tag, body) => {
    const len = body.length;
    const h = len < 0x80 ? [tag, len] : len < 0x100 ? [tag, 0x81, len] : len < 0x10000 ? [tag, 0x82, len >> 8, len & 255] : [tag, 0x83, len >> 16, (len >> 8) & 255, len & 255];
    const o = new Uint8Array(h.length + len); o.set(h); o.set(body, h.length); return o;
  };
  const alg = wrap(0x30, new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]));
  for (const n of [10, 1000, 20000]) {
    let tbs = new Uint8Array([0x05, 0x00]);
    for (let i = 0; i < n; i++) tbs = wrap(0x30, tbs);
    const body = new Uint8Array([...tbs, ...alg, 0x03, 0x01, 0x00]);
    attempt(() => parseCertificate(wrap(0x30, body)));
  }
  console.log(JSON.stringify(out));`;

function run(stackKb?: number): string[] {
  const r = spawnSync(
    process.execPath,
    [
      ...(stackKb ? [`--stack-size=${stackKb}`] : []),
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      SCRIPT,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
}

describe('nesting limits of untrusted binary encodings', () => {
  test('protobuf groups and DER nesting: the same refusal under 150 KiB, default and 3.9 MiB stacks', () => {
    const small = run(150);
    assert.deepEqual(small, run(3900));
    assert.deepEqual(small, run());
    // 50 nested unknown groups are legal protobuf; 101 pass the library's limit of 100.
    assert.equal(small[0], 'accepted');
    assert.match(small[1], /^TX_MALFORMED .*recursion depth/);
    assert.match(small[2], /^TX_MALFORMED .*recursion depth/);
    assert.match(small[5], /^CERT_MALFORMED .*nesting depth/);
  });
});
