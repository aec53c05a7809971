/** trace.ts in the sandbox on an in-process chain of 3 organizations. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { commitmentOf, sha256Ascii } from '../../src/apps/trace/commitment.ts';
import { MAX_REGISTER } from '../../src/apps/trace/rules.ts';
import type { ReceiptJson } from '../../src/types/block.ts';
import type { Member } from '../../test/unit/chain-fixture.ts';
import { type ContractChain, contractChain } from '../../test/vm/harness.ts';

describe('contracts/apps/trace.ts', () => {
  let c: ContractChain;
  let org1: { admin: Member; client: Member };
  let org2: { admin: Member; client: Member };
  let org3: { admin: Member; client: Member };
  before(async () => {
    c = await contractChain('standard', { orgs: 3 });
    [org1, org2, org3] = c.fx.orgs;
    const r = await c.deploy('trace', 'contracts/apps/trace.ts');
    assert.equal(r.status, 'ok', r.message);
  });
  after(() => c.close());

  const send = (who: Member, method: string, args: unknown) => c.send(who, 'trace', method, args);
  const item = (serial: string) => c.query('trace', 'item', { serial }) as any;
  const refused = (r: ReceiptJson, code: string, re?: RegExp) => {
    assert.equal(r.status, 'error', JSON.stringify(r));
    assert.equal(r.code, 'CONTRACT_REVERTED');
    assert.match(r.message, new RegExp(`^${code}: `));
    if (re) assert.match(r.message, re);
  };
  const ok = (r: ReceiptJson) => {
    assert.equal(r.status, 'ok', r.message);
    return r.result as any;
  };
  const code = (i: number) => `SECRET-${String(i).padStart(6, '0')}`;

  test('the commitment is SHA-256 (the same in the sandbox and in node:crypto)', () => {
    for (const s of ['', 'abc', 'x'.repeat(55), 'y'.repeat(56), 'z'.repeat(200)]) {
      assert.equal(sha256Ascii(s), createHash('sha256').update(s).digest('hex'));
    }
    assert.throws(() => sha256Ascii('é'), /not ASCII/);
  });

  test('a maker creates a batch and registers serials with commitments', async () => {
    const b = ok(await send(org1.client, 'createBatch', { batch: 'B1', product: 'Valve V-20' }));
    assert.equal(b.maker, 'org1');
    refused(
      await send(org2.client, 'createBatch', { batch: 'B1', product: 'x' }),
      'TRACE_BATCH_EXISTS',
    );
    refused(
      await send(org1.client, 'createBatch', { batch: 'B 2', product: 'x' }),
      'TRACE_BAD_FORMAT',
    );
    refused(await send(org1.client, 'createBatch', { batch: 'B2' }), 'TRACE_INVALID_ARGS');
    const items = Array.from({ length: MAX_REGISTER }, (_, i) => ({
      serial: `S${i}`,
      commitment: commitmentOf(`S${i}`, code(i)),
    }));
    const r = await send(org1.client, 'register', { batch: 'B1', items });
    assert.deepEqual(ok(r), { batch: 'B1', registered: MAX_REGISTER, total: MAX_REGISTER });
    refused(
      await send(org1.client, 'register', { batch: 'B1', items: [...items.slice(0, 1), items[0]] }),
      'TRACE_SERIAL_EXISTS',
    );
    refused(
      await send(org2.client, 'register', {
        batch: 'B1',
        items: [{ serial: 'Z', commitment: 'ab'.repeat(32) }],
      }),
      'TRACE_NOT_ALLOWED',
    );
    refused(
      await send(org1.client, 'register', {
        batch: 'B1',
        items: [{ serial: 'Z', commitment: 'AB'.repeat(32) }],
      }),
      'TRACE_BAD_FORMAT',
    );
    refused(await send(org1.client, 'register', { batch: 'B9', items: [] }), 'TRACE_UNKNOWN_BATCH');
    const v = item('S7');
    assert.equal(v.stage, 'produced');
    assert.equal(v.timeline.length, 1);
    assert.equal(v.timeline[0].step, 'produced');
    assert.equal(v.timeline[0].org, 'org1');
    assert.equal(item('nope'), null);
    const page = c.query('trace', 'serials', { batch: 'B1', page: 2 }) as any;
    assert.equal(page.total, MAX_REGISTER);
    assert.deepEqual(page.serials.slice(0, 2), ['S200', 'S201']);
  });

  test('steps by granted organizations, in lifecycle order', async () => {
    refused(
      await send(org2.client, 'event', { serial: 'S1', step: 'shipped' }),
      'TRACE_NOT_ALLOWED',
    );
    refused(
      await send(org1.client, 'grant', { org: 'org2', steps: ['shipped'] }),
      'TRACE_FORBIDDEN',
    );
    refused(
      await send(org1.admin, 'grant', { org: 'org9', steps: ['shipped'] }),
      'TRACE_UNKNOWN_ORG',
    );
    refused(
      await send(org1.admin, 'grant', { org: 'org2', steps: ['flown'] }),
      'TRACE_INVALID_ARGS',
    );
    ok(await send(org1.admin, 'grant', { org: 'org2', steps: ['received', 'shipped'] }));
    ok(await send(org1.admin, 'grant', { org: 'org3', steps: ['received', 'sold'] }));
    assert.deepEqual(c.query('trace', 'roles', { maker: 'org1' }), [
      { org: 'org2', steps: ['shipped', 'received'] },
      { org: 'org3', steps: ['received', 'sold'] },
    ]);
    refused(
      await send(org2.client, 'event', { serial: 'S1', step: 'received' }),
      'TRACE_BAD_ORDER',
    );
    refused(await send(org2.client, 'event', { serial: 'S1', step: 'sold' }), 'TRACE_NOT_ALLOWED');
    refused(
      await send(org2.client, 'event', { serial: 'S-none', step: 'shipped' }),
      'TRACE_UNKNOWN_SERIAL',
    );
    refused(
      await send(org2.client, 'event', { serial: 'S1', step: 'shipped', readings: ['xyz'] }),
      'TRACE_INVALID_ARGS',
    );
    ok(
      await send(org1.client, 'event', {
        serial: 'S1',
        step: 'inspected',
        place: 'Lingang line 3',
      }),
    );
    const reading = 'ab'.repeat(32);
    ok(
      await send(org2.client, 'event', {
        serial: 'S1',
        step: 'shipped',
        place: 'Shanghai',
        readings: [reading],
      }),
    );
    refused(await send(org1.client, 'event', { serial: 'S1', step: 'sold' }), 'TRACE_BAD_ORDER');
    ok(
      await send(org3.client, 'event', { serial: 'S1', step: 'received', place: 'Beijing store' }),
    );
    ok(await send(org3.client, 'event', { serial: 'S1', step: 'sold' }));
    refused(await send(org1.client, 'event', { serial: 'S1', step: 'shipped' }), 'TRACE_BAD_ORDER');
    const v = item('S1');
    assert.deepEqual(
      v.timeline.map((e: any) => `${e.step}:${e.org}`),
      ['produced:org1', 'inspected:org1', 'shipped:org2', 'received:org3', 'sold:org3'],
    );
    assert.deepEqual(v.timeline[2].readings, [reading]);
    assert.equal(v.stage, 'sold');
    // Revoking a grant: the steps list emptied.
    ok(await send(org1.admin, 'grant', { org: 'org2', steps: [] }));
    refused(
      await send(org2.client, 'event', { serial: 'S2', step: 'shipped' }),
      'TRACE_NOT_ALLOWED',
    );
  });

  test('verification: first reveal authentic, second a likely counterfeit, wrong code refused', async () => {
    refused(
      await send(org3.client, 'verify', { serial: 'S1', code: code(2) }),
      'TRACE_NOT_AUTHENTIC',
    );
    assert.equal(item('S1').revealed, null);
    refused(await send(org3.client, 'verify', { serial: 'S1', code: 'short' }), 'TRACE_BAD_FORMAT');
    refused(
      await send(org3.client, 'verify', { serial: 'S-x', code: code(1) }),
      'TRACE_UNKNOWN_SERIAL',
    );
    const first = ok(
      await send(org3.client, 'verify', { serial: 'S1', code: code(1), place: 'Beijing' }),
    );
    assert.equal(first.verdict, 'authentic');
    assert.equal(first.first.place, 'Beijing');
    const again = ok(
      await send(org2.client, 'verify', { serial: 'S1', code: code(1), place: 'Wuhan' }),
    );
    assert.equal(again.verdict, 'counterfeit');
    assert.equal(again.first.place, 'Beijing');
    assert.equal(again.first.height, first.first.height);
    assert.equal(again.repeats, 1);
    const v = item('S1');
    assert.equal(v.repeats, 1);
    assert.equal(v.lastRepeat.place, 'Wuhan');
  });

  test('a recall marks every item of the batch and stops its events', async () => {
    refused(await send(org1.client, 'recall', { batch: 'B1', reason: 'x' }), 'TRACE_FORBIDDEN');
    refused(await send(org2.admin, 'recall', { batch: 'B1', reason: 'x' }), 'TRACE_NOT_ALLOWED');
    ok(await send(org1.admin, 'recall', { batch: 'B1', reason: 'seal defect' }));
    refused(await send(org1.admin, 'recall', { batch: 'B1', reason: 'again' }), 'TRACE_RECALLED');
    for (const s of ['S0', 'S249']) {
      const v = item(s);
      assert.equal(v.recalled.reason, 'seal defect');
      assert.equal(v.timeline.at(-1).step, 'recalled');
    }
    refused(
      await send(org1.client, 'event', { serial: 'S3', step: 'inspected' }),
      'TRACE_RECALLED',
    );
    const r = ok(await send(org3.client, 'verify', { serial: 'S5', code: code(5) }));
    assert.equal(r.verdict, 'authentic');
    assert.equal(r.recalled.reason, 'seal defect');
  });
});
