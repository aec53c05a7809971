/**
 * cbdc.ts in the sandbox on an in-process chain of 4 organizations (governance MAJORITY):
 * org1 the central bank, org2 and org3 operators, org4 the regulator. Wallets are keys
 * certified by their operator's CA (role common), as `archi cbdc open-wallet` makes them.
 * Blocks are committed at times the test picks, so the UTC day can change between blocks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DAY_MS, FEN } from '../../src/apps/cbdc/rules.ts';
import type { Chain } from '../../src/chain/chain.ts';
import { address, type CryptoProfile, getProfile, type Signer } from '../../src/crypto/profile.ts';
import { certToPem, issueCertificate } from '../../src/crypto/x509.ts';
import type { ReceiptJson } from '../../src/types/block.ts';
import { buildTx } from '../../src/types/tx.ts';
import { makeFixture } from '../../test/unit/chain-fixture.ts';
import { bundle } from '../../test/vm/harness.ts';
import { initSandbox } from '../../src/vm/sandbox/host.ts';
import { prng } from '../../test/prng.ts';

interface Who {
  org: string;
  signer: Signer;
  cert: Uint8Array;
  id: string;
}

/** An org CA that certifies members of any role. */
function orgCa(profile: CryptoProfile, org: string) {
  const kp = profile.generateKeyPair();
  const ca = profile.signerFromPem(kp.privateKeyPem);
  const name = { O: org, CN: `ca.${org}` };
  const now = Date.now();
  const validity = { notBefore: new Date(now - DAY_MS), notAfter: new Date(now + 3650 * DAY_MS) };
  const caCert = issueCertificate({
    profile,
    issuer: ca,
    issuerName: name,
    subjectName: name,
    subjectPublicKey: kp.publicKey,
    ...validity,
    isCA: true,
  });
  let n = 0;
  const member = (role: string): Who => {
    const k = profile.generateKeyPair();
    const cert = issueCertificate({
      profile,
      issuer: ca,
      issuerName: name,
      subjectName: { O: org, OU: role, CN: `${role}-${n++}` },
      subjectPublicKey: k.publicKey,
      ...validity,
      isCA: false,
    });
    return {
      org,
      signer: profile.signerFromPem(k.privateKeyPem),
      cert,
      id: address(profile, k.publicKey),
    };
  };
  return { org, caCertPem: certToPem(caCert), member };
}

const LINK = { regulator: 'cmVndWxhdG9y', operator: 'b3BlcmF0b3I=' };
const Y = (yuan: number) => yuan * FEN;

describe('contracts/apps/cbdc.ts', () => {
  const profile = getProfile('standard');
  const orgs = [1, 2, 3, 4].map((i) => orgCa(profile, `org${i}`));
  const [central, op2, op3, reg] = orgs.map((o) => ({
    admin: o.member('admin'),
    client: o.member('client'),
  }));
  let chain: Chain;
  let cleanup: () => Promise<void>;
  let fx: ReturnType<typeof makeFixture>;
  // Block time: starts at 10:00 UTC of today, moved on by the tests.
  let now = Math.floor(Date.now() / DAY_MS) * DAY_MS + 10 * 3600_000;

  before(async () => {
    await initSandbox();
    fx = makeFixture('standard', {
      orgs: 1,
      genesis: {
        orgs: orgs.map((o) => ({ id: o.org, caCert: o.caCertPem })),
        governancePolicy: 'MAJORITY',
        // Blocks run days ahead of the txs' own timestamps here.
        txTimeWindowMs: 400 * DAY_MS,
      },
    });
    chain = fx.open();
    cleanup = () => fx.cleanup();
    const r = await sendAs(central.admin, 'contract_manage', 'deploy', {
      name: 'cbdc',
      code: await bundle('contracts/apps/cbdc.ts'),
    });
    assert.equal(r.status, 'ok', r.message);
  });
  after(() => cleanup());

  async function submit(
    who: Who,
    contract: string,
    method: string,
    args: unknown,
  ): Promise<string> {
    return chain.submitTx(
      buildTx(profile, who.signer, {
        chainId: 'unit',
        sender: { org: who.org, cert: who.cert },
        contract,
        method,
        args: args ?? null,
        timestamp: Date.now(),
      }).bytes,
    );
  }
  function commit(): void {
    now += 1000;
    fx.commit(chain, now);
  }
  async function sendAs(
    who: Who,
    contract: string,
    method: string,
    args?: unknown,
  ): Promise<ReceiptJson> {
    const id = await submit(who, contract, method, args);
    commit();
    return chain.getTx(id).receipt;
  }
  const send = (who: Who, method: string, args?: unknown) => sendAs(who, 'cbdc', method, args);
  const query = (method: string, args?: unknown) =>
    chain.query('cbdc', method, args ?? null, false).result as any;
  const ok = (r: ReceiptJson) => {
    assert.equal(r.status, 'ok', r.message);
    return r.result as any;
  };
  const refused = (r: ReceiptJson, code: string) => {
    assert.equal(r.status, 'error', JSON.stringify(r.result));
    assert.equal(r.code, 'CONTRACT_REVERTED');
    assert.match(r.message, new RegExp(`^${code}: `));
  };
  /** Governance: org1 proposes a contract_call, org2 and org3 approve (3 of 4). */
  async function decide(method: string, args: unknown): Promise<ReceiptJson> {
    const p = ok(
      await sendAs(central.admin, 'governance', 'propose', {
        kind: 'contract_call',
        args: { contract: 'cbdc', method, args },
      }),
    );
    ok(await sendAs(op2.admin, 'governance', 'approve', { id: p.id }));
    return sendAs(op3.admin, 'governance', 'approve', { id: p.id });
  }
  const key = () => `04${'ab'.repeat(64)}`;
  /** Every wallet opened, to add up their balances. */
  const everyWallet: Who[] = [];
  async function openWallet(op: { client: Who }, cls: number, extra: Record<string, unknown> = {}) {
    const w = orgs[Number(op.client.org.slice(3)) - 1].member('common');
    ok(await send(op.client, 'openWallet', { wallet: w.id, class: cls, link: LINK, ...extra }));
    everyWallet.push(w);
    return w;
  }
  const balance = (w: Who) => query('wallet', { wallet: w.id });
  function conserved() {
    const r = query('report');
    assert.equal(r.conserved, true, JSON.stringify(r));
    return r;
  }

  test('roles come only from governance; tier one issues against reserves', async () => {
    refused(await send(op2.admin, 'reportReserves', { amount: 1 }), 'CBDC_NOT_SET_UP');
    const roles = {
      central: 'org1',
      operators: ['org2', 'org3'],
      regulator: 'org4',
      regulatorKey: key(),
      operatorKeys: { org2: key(), org3: key() },
    };
    refused(await send(central.admin, 'setRoles', roles), 'CBDC_FORBIDDEN');
    refused(await decide('setRoles', { ...roles, regulator: 'org9' }), 'CBDC_UNKNOWN_ORG');
    ok(await decide('setRoles', roles));
    assert.deepEqual(query('getRoles').operators, ['org2', 'org3']);

    ok(await send(op2.admin, 'reportReserves', { amount: Y(1_000_000) }));
    ok(await send(op3.client, 'reportReserves', { amount: Y(500_000) }));
    refused(await send(central.admin, 'reportReserves', { amount: 1 }), 'CBDC_NOT_OPERATOR');
    refused(await send(op2.admin, 'issue', { amount: Y(10) }), 'CBDC_NOT_CENTRAL');
    refused(await send(central.admin, 'issue', { amount: Y(1_500_001) }), 'CBDC_OVER_RESERVES');
    ok(await send(central.admin, 'issue', { amount: Y(1_200_000) }));
    refused(
      await send(central.admin, 'allocate', { operator: 'org3', amount: Y(500_001) }),
      'CBDC_OVER_RESERVES',
    );
    refused(
      await send(central.admin, 'allocate', { operator: 'org4', amount: 1 }),
      'CBDC_NOT_OPERATOR',
    );
    ok(await send(central.admin, 'allocate', { operator: 'org2', amount: Y(100_000) }));
    ok(await send(central.admin, 'allocate', { operator: 'org3', amount: Y(50_000) }));
    const r = conserved();
    assert.equal(r.issued, Y(1_200_000));
    assert.equal(r.central, Y(1_050_000));
    assert.equal(r.operators, Y(150_000));
  });

  test('class 4 limits: per payment, per day by block time, balance; class 2 after upgrade', async () => {
    const a = await openWallet(op2, 4);
    const b = await openWallet(op3, 4);
    refused(
      await send(central.client, 'openWallet', { wallet: a.id, class: 4, link: LINK }),
      'CBDC_NOT_OPERATOR',
    );
    refused(
      await send(op2.client, 'openWallet', { wallet: a.id, class: 4, link: LINK }),
      'CBDC_WALLET_EXISTS',
    );
    refused(
      await send(op3.client, 'exchange', { wallet: a.id, amount: 1 }),
      'CBDC_NOT_YOUR_CUSTOMER',
    );
    ok(await send(op2.client, 'exchange', { wallet: a.id, amount: Y(9_000) }));
    refused(
      await send(op2.client, 'exchange', { wallet: a.id, amount: Y(1_001) }),
      'LIMIT_BALANCE',
    );
    ok(await send(op2.client, 'exchange', { wallet: a.id, amount: Y(1_000) }));

    // Only the wallet's own key pays.
    refused(await send(op2.client, 'pay', { to: b.id, amount: 1 }), 'CBDC_NOT_WALLET_KEY');
    ok(await send(a, 'pay', { to: b.id, amount: Y(2_000), memo: 'lunch' }));
    refused(await send(a, 'pay', { to: b.id, amount: Y(2_000) + 1 }), 'LIMIT_PER_PAYMENT');
    ok(await send(a, 'pay', { to: b.id, amount: Y(2_000) }));
    ok(await send(a, 'pay', { to: b.id, amount: Y(1_000) }));
    assert.equal(balance(a).spentToday, Y(5_000));
    refused(await send(a, 'pay', { to: b.id, amount: 1 }), 'LIMIT_DAILY');
    // b holds 5,000; 5,001 more would take it over 10,000.
    ok(await send(op3.client, 'exchange', { wallet: b.id, amount: Y(5_000) }));
    refused(await send(op3.client, 'exchange', { wallet: b.id, amount: 1 }), 'LIMIT_BALANCE');

    // The next UTC day by block time.
    now = (Math.floor(now / DAY_MS) + 1) * DAY_MS + 60_000;
    assert.equal(balance(a).spentToday, Y(5_000), 'a query sees the last block, still yesterday');
    ok(await send(b, 'pay', { to: a.id, amount: Y(1) }));
    ok(await send(a, 'pay', { to: b.id, amount: 1 }));
    assert.equal(balance(a).spentToday, 1);

    // Upgraded to class 2 the same payments pass.
    refused(await send(a, 'pay', { to: b.id, amount: Y(2_001) }), 'LIMIT_PER_PAYMENT');
    refused(
      await send(op3.client, 'setClass', { wallet: a.id, class: 2 }),
      'CBDC_NOT_YOUR_CUSTOMER',
    );
    ok(await send(op2.admin, 'setClass', { wallet: a.id, class: 2, link: LINK }));
    ok(await send(op3.admin, 'setClass', { wallet: b.id, class: 2, link: LINK }));
    ok(await send(a, 'pay', { to: b.id, amount: Y(2_001) }));
    ok(await send(a, 'pay', { to: b.id, amount: Y(2_999) }));
    ok(await send(op3.client, 'exchange', { wallet: b.id, amount: Y(10_000) }));
    assert.deepEqual(balance(a).limits, {
      balance: Y(500_000),
      perPayment: Y(50_000),
      perDay: Y(100_000),
    });
    // A downgrade below the balance held is refused.
    refused(await send(op3.admin, 'setClass', { wallet: b.id, class: 4 }), 'LIMIT_BALANCE');
    conserved();
  });

  test('allocation, overspending, freezing, operator limits, sub-wallets', async () => {
    const a = await openWallet(op3, 1);
    const b = await openWallet(op3, 1, { merchant: 'Tea house' });
    const left = query('report').perOperator.find((o: any) => o.org === 'org3').vault;
    refused(
      await send(op3.client, 'exchange', { wallet: a.id, amount: left + 1 }),
      'CBDC_OVER_ALLOCATION',
    );
    ok(await send(op3.client, 'exchange', { wallet: a.id, amount: Y(100) }));
    refused(await send(a, 'pay', { to: b.id, amount: Y(100) + 1 }), 'CBDC_INSUFFICIENT');
    refused(await send(a, 'redeem', { amount: Y(101) }), 'CBDC_INSUFFICIENT');
    ok(await send(a, 'redeem', { amount: Y(10) }));

    refused(await send(reg.admin, 'setFrozen', { wallet: b.id, frozen: true }), 'CBDC_FORBIDDEN');
    ok(await decide('setFrozen', { wallet: b.id, frozen: true, reason: 'court order' }));
    refused(await send(a, 'pay', { to: b.id, amount: Y(1) }), 'CBDC_FROZEN');
    refused(await send(b, 'pay', { to: a.id, amount: Y(1) }), 'CBDC_FROZEN');
    ok(await decide('setFrozen', { wallet: b.id, frozen: false }));
    ok(await send(a, 'pay', { to: b.id, amount: Y(1), memo: 'tea' }));

    // Operators set limits within the policy.
    refused(
      await send(op3.admin, 'setLimits', {
        class: 4,
        limits: { balance: Y(20_000), perPayment: Y(1), perDay: Y(1) },
      }),
      'CBDC_OVER_POLICY',
    );
    ok(
      await send(op3.admin, 'setLimits', {
        class: 1,
        limits: { balance: null, perPayment: Y(50), perDay: null },
      }),
    );
    refused(await send(a, 'pay', { to: b.id, amount: Y(51) }), 'LIMIT_PER_PAYMENT');
    ok(
      await send(op3.admin, 'setLimits', {
        class: 1,
        limits: { balance: null, perPayment: null, perDay: null },
      }),
    );

    // A sub-wallet with limits of its own under a, funded by a.
    const kid = orgs[2].member('common');
    const lim = { balance: Y(500), perPayment: Y(20), perDay: Y(30) };
    refused(
      await send(op3.client, 'openSubWallet', { wallet: kid.id, limits: lim }),
      'CBDC_NOT_WALLET_KEY',
    );
    const sub = ok(await send(a, 'openSubWallet', { wallet: kid.id, limits: lim }));
    everyWallet.push(kid);
    assert.equal(sub.parent, a.id);
    assert.equal(sub.class, 1);
    ok(await send(a, 'pay', { to: kid.id, amount: Y(50) }));
    refused(await send(kid, 'pay', { to: b.id, amount: Y(21) }), 'LIMIT_PER_PAYMENT');
    ok(await send(kid, 'pay', { to: b.id, amount: Y(20) }));
    refused(await send(kid, 'pay', { to: b.id, amount: Y(11) }), 'LIMIT_DAILY');
    ok(await send(op3.client, 'exchange', { wallet: a.id, amount: Y(1_000) }));
    refused(await send(a, 'pay', { to: kid.id, amount: Y(471) }), 'LIMIT_BALANCE');
    // A class 4 parent cannot give a sub-wallet more than its own limits.
    const small = await openWallet(op2, 4);
    refused(
      await send(small, 'openSubWallet', {
        wallet: orgs[1].member('common').id,
        limits: { ...lim, balance: Y(10_001) },
      }),
      'CBDC_OVER_POLICY',
    );
    // A key of another operator's CA is not a wallet key of this operator's wallet.
    const stranger = orgs[1].member('common');
    refused(await send(stranger, 'pay', { to: b.id, amount: 1 }), 'CBDC_NOT_WALLET_KEY');
    conserved();
  });

  test('escrow releases per delivery and refunds on cancel; conditional payments', async () => {
    const payer = await openWallet(op2, 2);
    const gym = await openWallet(op3, 1, { merchant: 'Gym' });
    const notary = await openWallet(op2, 4);
    ok(await send(op2.client, 'exchange', { wallet: payer.id, amount: Y(3_000) }));
    const e = ok(
      await send(payer, 'escrowOpen', {
        merchant: gym.id,
        perDelivery: Y(100),
        deliveries: 10,
        memo: '10 lessons',
      }),
    );
    assert.equal(balance(payer).balance, Y(2_000));
    assert.equal(conserved().escrowed, Y(1_000));
    refused(await send(gym, 'escrowRelease', { id: e.id }), 'CBDC_FORBIDDEN');
    ok(await send(payer, 'escrowRelease', { id: e.id }));
    ok(await send(payer, 'escrowRelease', { id: e.id, count: 2 }));
    assert.equal(balance(gym).balance, Y(300));
    refused(await send(payer, 'escrowCancel', { id: e.id }), 'CBDC_DEADLINE_NOT_REACHED');
    const c = ok(await send(gym, 'escrowCancel', { id: e.id }));
    assert.equal(c.status, 'cancelled');
    assert.equal(balance(payer).balance, Y(2_700));
    refused(await send(payer, 'escrowRelease', { id: e.id }), 'CBDC_CLOSED');
    assert.equal(conserved().escrowed, 0);

    // Settles when the named party confirms before the deadline.
    const p1 = ok(
      await send(payer, 'condPay', {
        to: gym.id,
        amount: Y(500),
        confirmer: notary.id,
        deadline: now + 60_000,
      }),
    );
    refused(await send(gym, 'condConfirm', { id: p1.id }), 'CBDC_NOT_CONFIRMER');
    refused(await send(payer, 'condReclaim', { id: p1.id }), 'CBDC_DEADLINE_NOT_REACHED');
    assert.equal(ok(await send(notary, 'condConfirm', { id: p1.id })).status, 'settled');
    assert.equal(balance(gym).balance, Y(800));
    // Returns to the payer when nobody confirms in time.
    const p2 = ok(
      await send(payer, 'condPay', {
        to: gym.id,
        amount: Y(200),
        confirmer: notary.id,
        deadline: now + 5_000,
      }),
    );
    assert.equal(balance(payer).balance, Y(2_000));
    now += 10_000;
    refused(await send(notary, 'condConfirm', { id: p2.id }), 'CBDC_DEADLINE_PASSED');
    assert.equal(ok(await send(central.client, 'condReclaim', { id: p2.id })).status, 'returned');
    assert.equal(balance(payer).balance, Y(2_200));
    assert.equal(conserved().escrowed, 0);
  });

  test('the regulator resolves any pseudonym on the audit trail; another operator cannot', async () => {
    const w = await openWallet(op2, 3);
    refused(await send(op3.client, 'recordResolution', { wallet: w.id }), 'CBDC_NOT_YOUR_CUSTOMER');
    refused(await send(central.admin, 'recordResolution', { wallet: w.id }), 'CBDC_NOT_REGULATOR');
    const r = ok(
      await send(reg.client, 'recordResolution', { wallet: w.id, reason: 'AML case 7' }),
    );
    assert.equal(r.ciphertext, LINK.regulator);
    assert.equal(r.entry.org, 'org4');
    assert.equal(r.entry.as, 'regulator');
    const own = ok(await send(op2.client, 'recordResolution', { wallet: w.id }));
    assert.equal(own.ciphertext, LINK.operator);
    const trail = query('resolutions');
    assert.equal(trail.total, 2);
    assert.deepEqual(
      trail.entries.map((e: any) => [e.wallet, e.org, e.reason]),
      [
        [w.id, 'org4', 'AML case 7'],
        [w.id, 'org2', null],
      ],
    );
    // Flows, per-operator aggregates and large-value alerts for the regulator.
    const big = await openWallet(op2, 1);
    const shop = await openWallet(op2, 1);
    ok(await send(central.admin, 'allocate', { operator: 'org2', amount: Y(200_000) }));
    ok(await send(op2.client, 'exchange', { wallet: big.id, amount: Y(150_000) }));
    ok(await send(big, 'pay', { to: shop.id, amount: Y(50_000), memo: 'car' }));
    ok(await send(big, 'pay', { to: shop.id, amount: Y(49_999) }));
    const alerts = query('alerts');
    assert.equal(alerts.threshold, Y(50_000));
    assert.deepEqual(
      alerts.alerts.map((a: any) => [a.from, a.amount, a.memo]),
      [[big.id, Y(50_000), 'car']],
    );
    refused(await send(op2.admin, 'setAlertThreshold', { amount: Y(1) }), 'CBDC_NOT_REGULATOR');
    ok(await send(reg.admin, 'setAlertThreshold', { amount: Y(40_000) }));
    ok(await send(big, 'pay', { to: shop.id, amount: Y(40_000) - 1 }));
    assert.equal(query('alerts').alerts.length, 1);
    const agg = query('aggregates').operators.org2;
    assert.ok(agg.payments >= 3 && agg.exchanged >= Y(60_000), JSON.stringify(agg));
    const page = query('flows', { operator: 'org2' });
    assert.equal(page.total, agg.flows);
    assert.ok(page.flows.some((f: any) => f.memo === 'car' && f.txId.length === 64));
  });

  test('M0 is conserved through 1,000 random operations (seeded)', async () => {
    const rand = prng(Number(process.env.CBDC_SEED ?? 20240601));
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const ops = [op2, op3];
    const wallets: Who[] = [];
    for (let i = 0; i < 12; i++) wallets.push(await openWallet(ops[i % 2], 1 + (i % 4)));
    const escrows: string[] = [];
    const outcomes: Record<string, number> = {};
    for (let done = 0; done < 1000; ) {
      // 25 operations a block, some of them refused: a refusal must change nothing.
      const ids: string[] = [];
      for (let k = 0; k < 25; k++, done++) {
        const w = pick(wallets);
        const amount = 1 + Math.floor(rand() ** 3 * Y(12_000));
        const r = rand();
        let call: [Who, string, unknown];
        if (r < 0.05) call = [central.admin, 'issue', { amount }];
        else if (r < 0.1)
          call = [central.admin, 'allocate', { operator: pick(['org2', 'org3']), amount }];
        else if (r < 0.3) call = [pick(ops).client, 'exchange', { wallet: w.id, amount }];
        else if (r < 0.8) call = [w, 'pay', { to: pick(wallets).id, amount }];
        else if (r < 0.87) call = [w, 'redeem', { amount }];
        else if (r < 0.93)
          call = [
            w,
            'escrowOpen',
            { merchant: pick(wallets).id, perDelivery: 1 + (amount % 500), deliveries: 3 },
          ];
        else if (escrows.length > 0) {
          const id = pick(escrows);
          const e = query('escrow', { id });
          const payer = wallets.find((x) => x.id === e.payer)!;
          const merchant = wallets.find((x) => x.id === e.merchant)!;
          call =
            rand() < 0.6 ? [payer, 'escrowRelease', { id }] : [merchant, 'escrowCancel', { id }];
        } else call = [w, 'pay', { to: pick(wallets).id, amount }];
        ids.push(await submit(call[0], 'cbdc', call[1], call[2]));
      }
      // Sometimes a block on the next day, so daily limits reset along the way.
      if (rand() < 0.1) now += DAY_MS;
      commit();
      for (const id of ids) {
        const t = chain.getTx(id);
        const key =
          t.receipt.status === 'ok'
            ? `${t.method}:ok`
            : `${t.method}:${t.receipt.message.split(':')[0]}`;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
        if (t.method === 'escrowOpen' && t.receipt.status === 'ok') escrows.push(id);
      }
      const m = conserved();
      // Each bucket is what its holders hold.
      const inWallets = everyWallet.map((x) => balance(x).balance);
      assert.equal(
        inWallets.reduce((a, b) => a + b, 0),
        m.wallets,
      );
      assert.ok(inWallets.every((b) => b >= 0));
      assert.equal(
        m.perOperator.reduce((s: number, o: any) => s + o.vault, 0),
        m.operators,
      );
      const held = escrows
        .map((id) => query('escrow', { id }))
        .filter((e) => e.status === 'open')
        .reduce((s, e) => s + (e.deliveries - e.released) * e.perDelivery, 0);
      assert.equal(held, m.escrowed);
    }
    // The sequence exercised both outcomes of the main operations.
    for (const k of [
      'pay:ok',
      'pay:LIMIT_PER_PAYMENT',
      'exchange:ok',
      'redeem:ok',
      'escrowOpen:ok',
    ]) {
      assert.ok((outcomes[k] ?? 0) > 0, `${k} never happened: ${JSON.stringify(outcomes)}`);
    }
  });
});
