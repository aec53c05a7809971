/**
 * The `cbdc` workload of `archi bench`: wallet-to-wallet payments with every limit check,
 * each signed by its own wallet key. Before the clock starts it opens class 2 wallets at the
 * first operator (keys certified by its CA in --dir), has the central bank issue and allocate
 * what they need and exchanges it into them; the payments go round the ring of wallets, one
 * fen each, so no limit refuses them and every check runs. Needs `archi cbdc setup` first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cbdc } from '../../apps/cbdc/client.ts';
import { CBDC_LINK_SEAL } from '../../apps/cbdc/app.ts';
import { sealTo } from '../../apps/seal.ts';
import { FEN } from '../../apps/cbdc/rules.ts';
import { newWalletKey, publicKeyHex } from '../../apps/cbdc/wallet-keys.ts';
import { getProfile } from '../../crypto/profile.ts';
import type { ArchiClient } from '../../sdk/client.ts';
import { type Call, Identity } from '../../sdk/identity.ts';
import { registerKey } from '../../sdk/org-keys.ts';
import { ArchiError } from '../../types/errors.ts';
import { unhex } from '../../types/hex.ts';
import { orgProfileBase } from '../chain-layout.ts';
import type { ClientContext } from '../client-context.ts';

/** Wallets the payments go round. */
const WALLETS = 32;
/** What each wallet gets (yuan): far more than its share of one-fen payments. */
const FUNDS = 1_000 * FEN;

/** The payments of the cbdc workload and the wallet identity that signs each. */
export async function prepareCbdcBench(
  ctx: ClientContext,
  client: ArchiClient,
  txs: number,
  note: (text: string) => void,
): Promise<{ calls: Call[]; signers: Identity[] }> {
  const info = await ctx.chainInfo(client);
  const cbdc = new Cbdc(client);
  const roles = await cbdc.roles();
  const op = roles.operators[0];
  const central = ctx.identity(`${roles.central}/admin`, info);
  const staff = ctx.identity(`${op}/admin`, info);
  const profile = getProfile(info.crypto);
  const base = join(ctx.dir, orgProfileBase(op, info.crypto, ctx.network?.crypto ?? info.crypto));
  const caPath = join(base, 'ca', 'key.pem');
  if (info.identityMode === 'cert' && !existsSync(caPath)) {
    throw new ArchiError('BAD_REQUEST', `the cbdc workload certifies wallets with ${caPath}`);
  }
  const ca = info.identityMode === 'cert' ? { keyPem: readFileSync(caPath, 'utf8') } : undefined;

  note(`cbdc: funding ${WALLETS} wallets at ${op}`);
  const need = WALLETS * FUNDS;
  const opRec = (await cbdc.query('report')).perOperator.find((o: any) => o.org === op);
  await cbdc.send(staff, 'reportReserves', { amount: opRec.allocated + need + opRec.reserves });
  await cbdc.send(central, 'issue', { amount: need });
  await cbdc.send(central, 'allocate', { operator: op, amount: need });

  const link = (wallet: string) => {
    const text = new TextEncoder().encode(JSON.stringify({ wallet, operator: op, bench: true }));
    return {
      regulator: sealTo(profile, unhex(roles.regulatorKey, 'key'), text, CBDC_LINK_SEAL),
      operator: sealTo(profile, unhex(roles.operatorKeys[op], 'key'), text, CBDC_LINK_SEAL),
    };
  };
  const keys = Array.from({ length: WALLETS }, () => newWalletKey(profile, op, ca));
  if (!ca) {
    for (const k of keys) {
      await registerKey(client, staff, {
        name: `wallet-${k.wallet.slice(0, 16)}`,
        role: 'common',
        publicKey: publicKeyHex(k.publicKey),
      });
    }
  }
  await Promise.all(
    keys.map(async (k) => {
      await cbdc.send(staff, 'openWallet', { wallet: k.wallet, class: 2, link: link(k.wallet) });
      await cbdc.send(staff, 'exchange', { wallet: k.wallet, amount: FUNDS });
    }),
  );
  const ids = keys.map((k) =>
    Identity.fromPem(info.crypto, op, k.keyPem, k.certPem ?? publicKeyHex(k.publicKey)),
  );
  const calls: Call[] = new Array(txs);
  const signers: Identity[] = new Array(txs);
  for (let i = 0; i < txs; i++) {
    const from = i % WALLETS;
    calls[i] = {
      contract: 'cbdc',
      method: 'pay',
      args: { to: keys[(from + 1) % WALLETS].wallet, amount: 1 },
    };
    signers[i] = ids[from];
  }
  return { calls, signers };
}
