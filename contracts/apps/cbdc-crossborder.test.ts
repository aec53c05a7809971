/**
 * Cross-border cbdc payments between two in-process chains (a standard one and a gm one), each
 * running cbdc with its own central bank (org1), operator (org2) and regulator (org3), their
 * packets relayed by hand with real proofs: a wallet on A pays a wallet on B at B's rate; B's
 * refusals (unknown payee, balance limit, no correspondent) come back as error acks and refund
 * the payer; a packet B never receives times out and refunds; M0 stays conserved on both chains
 * at every step, with the amount in transit and then held abroad on A.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FEN } from '../../src/apps/cbdc/rules.ts';
import type { ReceiptJson } from '../../src/types/block.ts';
import { keys as ibcKeys, type Packet } from '../../src/vm/native/ibc/keys.ts';
import { initSandbox } from '../../src/vm/sandbox/host.ts';
import type { Member } from '../../test/unit/chain-fixture.ts';
import { bundle } from '../../test/vm/harness.ts';
import { HandRelay, type Island, makeIsland, ok, runTx } from '../../test/vm/ibc-fixture.ts';

const A_ID = 'city-a';
const B_ID = 'city-b';
/** A's client of B and B's client of A. */
const AB = B_ID;
const BA = A_ID;
const Y = (yuan: number) => yuan * FEN;
const LINK = { regulator: 'cmVndWxhdG9y', operator: 'b3BlcmF0b3I=' };

const relay = new HandRelay();

const send = (island: Island, who: Member, method: string, args: unknown): Promise<ReceiptJson> =>
  runTx(island, 'cbdc', method, args, who);
const query = (island: Island, method: string, args?: unknown): any =>
  island.chain.query('cbdc', method, args ?? null, false).result;
const okResult = (r: ReceiptJson): any => ok(r).result;

function refused(r: ReceiptJson, code: string): void {
  assert.equal(r.status, 'error', `expected ${code}, got ${JSON.stringify(r.result)}`);
  assert.match(r.message, new RegExp(`${code}: `));
}

/** The report of `island`, asserted conserved. */
function conserved(island: Island): any {
  const r = query(island, 'report');
  assert.equal(r.conserved, true, `${island.chainId}: ${JSON.stringify(r)}`);
  return r;
}

describe('cbdc across two chains', () => {
  let a: Island;
  let b: Island;
  /** Wallet keys (role common, certified by the operator org2). */
  let payer: Member;
  let payee: Member;
  let smallPayee: Member;

  const org = (island: Island, i: number) => island.fx.orgs[i - 1];

  /** Deploy cbdc on `island`, set roles by governance, issue and allocate. */
  async function setUp(island: Island, code: string): Promise<void> {
    ok(
      await runTx(
        island,
        'contract_manage',
        'deploy',
        { name: 'cbdc', code },
        org(island, 1).admin,
      ),
    );
    const key = `04${'ab'.repeat(64)}`;
    const roles = {
      central: 'org1',
      operators: ['org2'],
      regulator: 'org3',
      regulatorKey: key,
      operatorKeys: { org2: key },
    };
    ok(
      await runTx(
        island,
        'governance',
        'propose',
        { kind: 'contract_call', args: { contract: 'cbdc', method: 'setRoles', args: roles } },
        org(island, 1).admin,
      ),
    );
    assert.equal(query(island, 'getRoles').central, 'org1');
    okResult(await send(island, org(island, 2).admin, 'reportReserves', { amount: Y(1_000_000) }));
    okResult(await send(island, org(island, 1).admin, 'issue', { amount: Y(1_000_000) }));
    okResult(
      await send(island, org(island, 1).admin, 'allocate', {
        operator: 'org2',
        amount: Y(500_000),
      }),
    );
  }

  /** org2 opens a wallet of `cls` for a new key and exchanges `yuan` into it. */
  async function wallet(island: Island, cls: number, yuan: number): Promise<Member> {
    const w = org(island, 2).member('common');
    okResult(
      await send(island, org(island, 2).client, 'openWallet', {
        wallet: w.address,
        class: cls,
        link: LINK,
      }),
    );
    if (yuan > 0) {
      okResult(
        await send(island, org(island, 2).client, 'exchange', {
          wallet: w.address,
          amount: Y(yuan),
        }),
      );
    }
    return w;
  }

  const balanceOf = (island: Island, w: Member): number =>
    query(island, 'wallet', { wallet: w.address }).balance;

  /** `payer` on A pays `to` on B: the pending record, and the packet A committed to. */
  async function payAbroad(to: string, yuan: number, extra: Record<string, unknown> = {}) {
    const rec = okResult(
      await send(a, payer, 'payAbroad', { client: AB, to, amount: Y(yuan), ...extra }),
    );
    const packet: Packet = a.chain.query(
      'ibc',
      'packet',
      { client: AB, sequence: rec.sequence },
      false,
    ).result as Packet;
    return { rec, packet };
  }

  before(async () => {
    await initSandbox();
    const genesis = { governancePolicy: 'ANY', txTimeWindowMs: 3_600_000 };
    a = makeIsland(A_ID, 'standard', { orgs: 3, genesis });
    b = makeIsland(B_ID, 'gm', { orgs: 3, genesis });
    const code = await bundle('contracts/apps/cbdc.ts');
    await setUp(a, code);
    await setUp(b, code);
    await relay.connect(a, b, AB, BA);
    payer = await wallet(a, 2, 20_000);
    payee = await wallet(b, 2, 0);
    smallPayee = await wallet(b, 4, 9_000);
  });
  after(async () => {
    await a?.cleanup();
    await b?.cleanup();
  });

  test('only a correspondent of the central bank is paid; only the central bank names one', async () => {
    refused(
      await send(a, payer, 'payAbroad', { client: AB, to: payee.address, amount: Y(1) }),
      'CBDC_NO_CORRESPONDENT',
    );
    refused(
      await send(a, org(a, 2).admin, 'setCorrespondent', { client: AB, num: 1, den: 1 }),
      'CBDC_NOT_CENTRAL',
    );
    refused(
      await send(a, org(a, 1).admin, 'setCorrespondent', { client: AB, num: 0, den: 1 }),
      'CBDC_INVALID_ARGS',
    );
    okResult(await send(a, org(a, 1).admin, 'setCorrespondent', { client: AB, num: 1, den: 1 }));
    // B converts A's fen at 2 for 1 (B's central bank's rate for A's currency).
    okResult(await send(b, org(b, 1).admin, 'setCorrespondent', { client: BA, num: 2, den: 1 }));
    assert.deepEqual(query(b, 'correspondents').correspondents, [
      { client: BA, num: 2, den: 1, enabled: true, received: 0, paidOut: 0, sent: 0 },
    ]);
    // A wallet key is needed; the payer's own limits hold before anything is sent.
    refused(
      await send(a, org(a, 2).client, 'payAbroad', { client: AB, to: payee.address, amount: 1 }),
      'CBDC_NOT_WALLET_KEY',
    );
    refused(
      await send(a, payer, 'payAbroad', { client: AB, to: payee.address, amount: Y(50_001) }),
      'LIMIT_PER_PAYMENT',
    );
    refused(
      await send(a, payer, 'payAbroad', {
        client: AB,
        to: payee.address,
        amount: Y(1),
        timeoutMs: 5,
      }),
      'CBDC_INVALID_ARGS',
    );
    assert.equal(balanceOf(a, payer), Y(20_000));
    assert.equal(conserved(a).inTransit, 0);
  });

  test('a payment goes in transit, is paid at the rate on B, and is then held abroad on A', async () => {
    const { rec, packet } = await payAbroad(payee.address, 1_000, { memo: 'invoice 7' });
    assert.equal(rec.status, 'sent');
    assert.deepEqual(packet.data, {
      kind: 'cbdc-payment/v1',
      from: payer.address,
      to: payee.address,
      amount: Y(1_000),
      memo: 'invoice 7',
    });
    assert.equal(balanceOf(a, payer), Y(19_000));
    assert.equal(conserved(a).inTransit, Y(1_000));

    const centralBefore = conserved(b).central;
    const { ack, receipt } = await relay.deliver(a, b, AB, BA, rec.sequence);
    assert.deepEqual(ack, { result: { to: payee.address, amount: Y(2_000) } });
    assert.ok(receipt.events.some((e) => e.name === 'PaidFromAbroad'));
    assert.equal(balanceOf(b, payee), Y(2_000));
    const rb = conserved(b);
    assert.equal(rb.central, centralBefore - Y(2_000));
    assert.deepEqual(query(b, 'correspondents').correspondents[0], {
      client: BA,
      num: 2,
      den: 1,
      enabled: true,
      received: Y(1_000),
      paidOut: Y(2_000),
      sent: 0,
    });
    // B's regulator sees the payment from abroad under the payee's operator.
    const flows = query(b, 'flows', { operator: 'org2' }).flows;
    assert.deepEqual(
      flows
        .filter((f: any) => f.kind === 'payment-from-abroad')
        .map((f: any) => [f.from, f.to, f.amount]),
      [[`${BA}:${payer.address}`, payee.address, Y(2_000)]],
    );

    await relay.acknowledge(a, b, AB, BA, packet);
    const settled = query(a, 'paymentAbroad', { client: AB, sequence: rec.sequence });
    assert.equal(settled.status, 'paid');
    const ra = conserved(a);
    assert.equal(ra.inTransit, 0);
    assert.equal(ra.abroad, Y(1_000));
    assert.equal(query(a, 'correspondents').correspondents[0].sent, Y(1_000));
  });

  test("B's refusals come back as error acks and refund the payer", async () => {
    const cases: Array<[string, number, string]> = [
      // No such wallet on B.
      ['ab'.repeat(20), 10, 'CBDC_UNKNOWN_WALLET'],
      // Class 4 holds at most 10,000 yuan: 9,000 + 2 × 600 is above it.
      [smallPayee.address, 600, 'LIMIT_BALANCE'],
    ];
    for (const [to, yuan, code] of cases) {
      const before = balanceOf(a, payer);
      const { rec, packet } = await payAbroad(to, yuan);
      const { ack } = await relay.deliver(a, b, AB, BA, rec.sequence);
      assert.ok('error' in ack && ack.error.includes(code), JSON.stringify(ack));
      conserved(b);
      assert.equal(balanceOf(b, smallPayee), Y(9_000));
      await relay.acknowledge(a, b, AB, BA, packet);
      const settled = query(a, 'paymentAbroad', { client: AB, sequence: rec.sequence });
      assert.equal(settled.status, 'refunded');
      assert.match(settled.reason, new RegExp(code));
      assert.equal(balanceOf(a, payer), before);
      assert.equal(conserved(a).inTransit, 0);
    }
  });

  test('a correspondent turned off refuses on B; an unreceived payment times out and is refunded', async () => {
    okResult(
      await send(b, org(b, 1).admin, 'setCorrespondent', {
        client: BA,
        num: 2,
        den: 1,
        enabled: false,
      }),
    );
    let { rec, packet } = await payAbroad(payee.address, 5);
    const { ack } = await relay.deliver(a, b, AB, BA, rec.sequence);
    assert.ok('error' in ack && ack.error.includes('CBDC_NO_CORRESPONDENT'), JSON.stringify(ack));
    await relay.acknowledge(a, b, AB, BA, packet);
    okResult(await send(b, org(b, 1).admin, 'setCorrespondent', { client: BA, num: 2, den: 1 }));

    const before = balanceOf(a, payer);
    ({ rec, packet } = await payAbroad(payee.address, 7, { timeoutMs: 10_000 }));
    assert.equal(balanceOf(a, payer), before - Y(7));
    while (b.time <= packet.timeoutTime) b.commit();
    const absent = await relay.prove(a, AB, b, ibcKeys.receipt(BA, rec.sequence));
    assert.equal(absent.value, null);
    ok(
      await runTx(a, 'ibc', 'timeoutPacket', {
        packet,
        proof: absent.proof,
        proofHeight: absent.height,
      }),
    );
    const settled = query(a, 'paymentAbroad', { client: AB, sequence: rec.sequence });
    assert.equal(settled.status, 'refunded');
    assert.match(settled.reason, /timeout/);
    assert.equal(balanceOf(a, payer), before);
    assert.equal(conserved(a).inTransit, 0);
  });

  test('the hooks answer only ibc: a tx calling one is refused at the door', async () => {
    const packet = {
      sequence: 99,
      sourceClient: AB,
      destClient: BA,
      timeoutHeight: 0,
      timeoutTime: 0,
      sourcePort: 'cbdc',
      destPort: 'cbdc',
      data: { kind: 'cbdc-payment/v1', from: payer.address, to: payee.address, amount: 1 },
    };
    for (const method of ['onRecv', 'onTimeout']) {
      await assert.rejects(send(b, org(b, 2).admin, method, packet), { code: 'IBC_FORBIDDEN' });
    }
    assert.equal(balanceOf(b, payee), Y(2_000));
    conserved(b);
  });
});
