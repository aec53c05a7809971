/**
 * `archi cbdc ...`: the two-tier digital currency (docs/apps/cbdc.md) on the `cbdc` contract.
 * `setup` and `freeze` drive governance proposals (voting with a local network's admins, or
 * printing the proposal for a real network's); the central bank issues and allocates;
 * operators open wallets (a key certified by their CA, the KYC link sealed to the regulator
 * and to themselves) and exchange deposits into them; a wallet's own key signs its payments,
 * sent through a node of its operator; the regulator resolves pseudonyms on the audit trail.
 * Amounts are yuan with up to two decimals. Refusals print their stable code and exit 1.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import {
  Cbdc,
  dayDate,
  decide,
  limitsYuan,
  parseDay,
  reportYuan,
  walletYuan,
} from '../../apps/cbdc/client.ts';
import { CBDC_LINK_SEAL } from '../../apps/cbdc/app.ts';
import { openSealed, sealTo } from '../../apps/seal.ts';
import {
  CLASS_KYC,
  CLASSES,
  formatFen,
  type Limits,
  parseYuan,
  WALLET_ID,
  type WalletClass,
} from '../../apps/cbdc/rules.ts';
import {
  newWalletKey,
  publicKeyHex,
  readWalletKey,
  type WalletKeyFile,
  walletIdentity,
  writeWalletKey,
} from '../../apps/cbdc/wallet-keys.ts';
import { type CryptoProfile, getProfile } from '../../crypto/profile.ts';
import type { ArchiClient } from '../../sdk/client.ts';
import { codedError } from '../../sdk/errors.ts';
import { registerKey } from '../../sdk/org-keys.ts';
import { ArchiError } from '../../types/errors.ts';
import { unhex } from '../../types/hex.ts';
import { orgProfileBase } from '../chain-layout.ts';
import {
  addSigningOptions,
  addTargetOptions,
  archiCommand,
  type ChainInfo,
  ClientContext,
  cliOutput,
  dirFlag,
  intOption,
  shellWord,
  type TargetFlags,
  type TargetNode,
} from '../client-context.ts';
import { localAdmins } from '../local-admins.ts';
import { formatTable } from './client.ts';

function print(text: string): void {
  cliOutput.write(text.endsWith('\n') ? text : `${text}\n`);
}

function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

interface SignFlags extends TargetFlags {
  as: string;
  timeout: number;
}

/** `--amount` and other yuan flags as fen. */
function yuan(flag: string): (text: string) => number {
  return (text: string) => {
    const fen = parseYuan(text);
    if (fen === undefined || fen <= 0) {
      throw codedError(
        'CBDC_INVALID_ARGS',
        `${flag} must be a positive amount of yuan (up to 2 decimals), got ${text}`,
      );
    }
    return fen;
  };
}

/** A limit flag: yuan, or `none` for no limit. */
function limitFlag(flag: string): (text: string) => number | null {
  return (text: string) => (text === 'none' ? null : yuan(flag)(text));
}

function walletArg(id: string): string {
  if (!WALLET_ID.test(id)) {
    throw codedError('CBDC_INVALID_ARGS', `a wallet is 40 lower-case hex characters, got ${id}`);
  }
  return id;
}

function classFlag(text: string): WalletClass {
  const c = Number(text);
  if (!CLASSES.includes(c as WalletClass)) {
    throw codedError('CBDC_INVALID_ARGS', `--class must be 1, 2, 3 or 4, got ${text}`);
  }
  return c as WalletClass;
}

/** Where an organization keeps its cbdc files in the network directory (link key, KYC records). */
function orgCbdcDir(ctx: ClientContext, info: ChainInfo, org: string): string {
  const base = orgProfileBase(org, info.crypto, ctx.network?.crypto ?? info.crypto);
  return join(ctx.dir, base, 'cbdc');
}

/** The org's link key pair (for KYC links sealed to it): made when `create` and absent. */
function linkKey(
  ctx: ClientContext,
  info: ChainInfo,
  org: string,
  create: boolean,
): { publicKey: string; keyPem: string } | undefined {
  const dir = orgCbdcDir(ctx, info, org);
  const keyPath = join(dir, 'link-key.pem');
  const pubPath = join(dir, 'link-key.hex');
  if (existsSync(keyPath) && existsSync(pubPath)) {
    return {
      keyPem: readFileSync(keyPath, 'utf8'),
      publicKey: readFileSync(pubPath, 'utf8').trim(),
    };
  }
  if (!create) return undefined;
  const kp = getProfile(info.crypto).generateKeyPair();
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyPath, kp.privateKeyPem, { mode: 0o600 });
  writeFileSync(pubPath, `${publicKeyHex(kp.publicKey)}\n`);
  return { keyPem: kp.privateKeyPem, publicKey: publicKeyHex(kp.publicKey) };
}

/** Flags that name the same target again in a suggested command. */
function targetFlags(flags: TargetFlags): string {
  const chain = flags.chain ? ` --chain ${shellWord(flags.chain)}` : '';
  return (flags.rpc ? ` --rpc ${shellWord(flags.rpc)}` : dirFlag(flags.dir)) + chain;
}

interface DecideFlags extends TargetFlags {
  as?: string;
  print?: boolean;
  expires?: number;
  timeout: number;
}

/** Drive the governance decision `method(args)` with the local admins, or print it. */
async function governed(
  ctx: ClientContext,
  client: ArchiClient,
  method: string,
  args: Record<string, unknown>,
  flags: DecideFlags,
  what: string,
): Promise<void> {
  const admins = flags.print ? [] : await localAdmins(ctx, client, flags.as);
  const call = { contract: 'cbdc', method, args };
  if (admins.length === 0) {
    const next = `${archiCommand()} gov propose contract_call --args ${shellWord(JSON.stringify(call))} --as ORG/admin${targetFlags(flags)}`;
    if (flags.json)
      printJson({ status: 'printed', proposal: { kind: 'contract_call', args: call } });
    else {
      print(
        `${what} is a governance decision; an admin of the chain proposes it with:\n  ${next}\nand the other organizations approve: ${archiCommand()} gov approve ID --as ORG/admin${targetFlags(flags)}`,
      );
    }
    return;
  }
  const r = await decide(client, admins, method, args, {
    timeoutMs: flags.timeout,
    expires: flags.expires,
  });
  const p = r.proposal;
  if (flags.json) printJson({ status: p.status, proposal: p, height: r.height });
  else if (p.status === 'executed')
    print(`${what}: proposal ${p.id} executed in block ${r.height}`);
  else {
    print(
      `proposal ${p.id} (${what}) awaits more approvals (${p.approvals.join(', ')} approved):\n  ${archiCommand()} gov approve ${p.id} --as ORG/admin${targetFlags(flags)}`,
    );
  }
  if (p.status !== 'executed' && p.status !== 'pending') {
    throw new ArchiError('POLICY_NOT_MET', `proposal ${p.id} is ${p.status}`);
  }
}

interface SetupFlags extends DecideFlags {
  central: string;
  operators: string;
  regulator: string;
  regulatorKey?: string;
  operatorKeys?: string;
}

/** `archi cbdc setup`: the roles and link keys, by governance. */
async function setup(flags: SetupFlags): Promise<void> {
  const ctx = ClientContext.resolve(flags);
  await ctx.withNode(async (client) => {
    const info = await ctx.chainInfo(client);
    const operators = flags.operators
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    const members = (await client.config()).orgs.map((o) => o.id);
    for (const org of [flags.central, flags.regulator, ...operators]) {
      if (!members.includes(org)) {
        throw codedError('CBDC_UNKNOWN_ORG', `${org} is not an organization of this chain`);
      }
    }
    const given = new Map(
      (flags.operatorKeys ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => kv.split('=') as [string, string]),
    );
    // On a local network each organization's link key is made in its directory; a real
    // network's organizations hand in their public keys.
    const keyOf = (org: string, passed: string | undefined): string => {
      const k = passed ?? linkKey(ctx, info, org, true)?.publicKey;
      if (!k) throw codedError('CBDC_INVALID_ARGS', `no link key for ${org}`);
      return k;
    };
    const args = {
      central: flags.central,
      operators,
      regulator: flags.regulator,
      regulatorKey: keyOf(flags.regulator, flags.regulatorKey),
      operatorKeys: Object.fromEntries(operators.map((o) => [o, keyOf(o, given.get(o))])),
    };
    await governed(
      ctx,
      client,
      'setRoles',
      args,
      flags,
      `the cbdc roles (central ${flags.central}, operators ${operators.join(', ')}, regulator ${flags.regulator})`,
    );
  });
}

/** Send one cbdc tx as --as and return the committed result. */
async function sendAs<T = any>(
  flags: SignFlags,
  method: string,
  args: Record<string, unknown>,
): Promise<{ txId: string; height: number; result: T }> {
  const ctx = ClientContext.resolve(flags);
  return ctx.withNode(async (client) => {
    const identity = ctx.identity(flags.as, await ctx.chainInfo(client));
    return new Cbdc(client).send<T>(identity, method, args, { timeoutMs: flags.timeout });
  });
}

/** The nodes of `org` first, so that the operator's own node carries its customers' txs. */
function operatorNode(ctx: ClientContext, org: string): TargetNode[] {
  return [...ctx.nodes.filter((n) => n.org === org), ...ctx.nodes.filter((n) => n.org !== org)];
}

interface KeyFlags extends TargetFlags {
  key: string;
  as?: string;
  timeout: number;
}

/** Send one tx signed by the wallet key in --key, through a node of the wallet's operator. */
async function sendAsWallet<T = any>(
  flags: KeyFlags,
  method: string,
  args: Record<string, unknown>,
): Promise<{ txId: string; height: number; result: T; file: WalletKeyFile }> {
  const file = readWalletKey(flags.key);
  if (flags.as !== undefined && flags.as.split('/')[0] !== file.operator) {
    throw codedError(
      'CBDC_NOT_YOUR_CUSTOMER',
      `wallet ${file.wallet} is a customer of ${file.operator}, not of ${flags.as.split('/')[0]}`,
    );
  }
  const ctx = ClientContext.resolve(flags);
  let last: unknown;
  for (const node of operatorNode(ctx, file.operator)) {
    const client = ctx.client(node);
    try {
      const info = await ctx.chainInfo(client);
      const identity = walletIdentity(file, info.chainId);
      const r = await new Cbdc(client).send<T>(identity, method, args, {
        timeoutMs: flags.timeout,
      });
      return { ...r, file };
    } catch (e) {
      if (!(e instanceof ArchiError && e.code === 'NOT_READY')) throw e;
      last = e;
    }
  }
  throw last;
}

interface KycFlags {
  name?: string;
  idNumber?: string;
  phone?: string;
  bankAccount?: string;
  inPerson?: boolean;
}

/** The KYC fields given, checked against what the class needs. */
function kycOf(
  cls: WalletClass,
  f: KycFlags,
  had: Record<string, unknown> = {},
): Record<string, unknown> {
  const kyc: Record<string, unknown> = { ...had };
  if (f.name !== undefined) kyc.name = f.name;
  if (f.idNumber !== undefined) kyc.idNumber = f.idNumber;
  if (f.phone !== undefined) kyc.phone = f.phone;
  if (f.bankAccount !== undefined) kyc.bankAccount = f.bankAccount;
  if (f.inPerson) kyc.inPerson = true;
  const flag: Record<string, string> = {
    name: '--name',
    idNumber: '--id-number',
    phone: '--phone',
    bankAccount: '--bank-account',
    inPerson: '--in-person',
  };
  const missing = CLASS_KYC[cls].filter((k) => kyc[k] === undefined);
  if (missing.length > 0) {
    throw codedError(
      'CBDC_KYC_MISSING',
      `a class ${cls} wallet needs ${missing.map((k) => flag[k]).join(', ')} (KYC for class ${cls}: ${CLASS_KYC[cls].join(', ')})`,
    );
  }
  return kyc;
}

/** The KYC link sealed to the regulator and to the operator. */
function sealLink(
  profile: CryptoProfile,
  roles: { regulatorKey: string; operatorKeys: Record<string, string> },
  operator: string,
  link: Record<string, unknown>,
): { regulator: string; operator: string } {
  const text = new TextEncoder().encode(JSON.stringify(link));
  const opKey = roles.operatorKeys[operator];
  if (!opKey) throw codedError('CBDC_NOT_OPERATOR', `${operator} is not an operator`);
  return {
    regulator: sealTo(profile, unhex(roles.regulatorKey, 'regulator key'), text, CBDC_LINK_SEAL),
    operator: sealTo(profile, unhex(opKey, 'operator key'), text, CBDC_LINK_SEAL),
  };
}

/** The operator's own KYC record of a wallet (it stays with the operator). */
function kycPath(ctx: ClientContext, info: ChainInfo, org: string, wallet: string): string {
  return join(orgCbdcDir(ctx, info, org), 'kyc', `${wallet}.json`);
}

interface OpenFlags extends SignFlags, KycFlags {
  class: WalletClass;
  out: string;
  merchant?: string;
}

/** `archi cbdc open-wallet`: a key certified by the operator, the sealed link, openWallet. */
async function openWallet(flags: OpenFlags): Promise<void> {
  const ctx = ClientContext.resolve(flags);
  const out = await ctx.withNode(async (client) => {
    const info = await ctx.chainInfo(client);
    const staff = ctx.identity(flags.as, info);
    const org = staff.org;
    const cbdc = new Cbdc(client);
    const roles = await cbdc.roles();
    if (!roles.operators.includes(org)) {
      throw codedError(
        'CBDC_NOT_OPERATOR',
        `${org} is not an operator (operators: ${roles.operators.join(', ')})`,
      );
    }
    const kyc = kycOf(flags.class, flags);
    if (existsSync(flags.out)) throw new ArchiError('BAD_REQUEST', `${flags.out} exists already`);
    const profile = getProfile(info.crypto);
    let key: ReturnType<typeof newWalletKey>;
    if (info.identityMode === 'cert') {
      const caPath = join(
        ctx.dir,
        orgProfileBase(org, info.crypto, ctx.network?.crypto ?? info.crypto),
        'ca',
        'key.pem',
      );
      if (!existsSync(caPath)) {
        throw new ArchiError(
          'BAD_REQUEST',
          `the operator's CA key is not at ${caPath}: wallets are certified by it`,
        );
      }
      key = newWalletKey(profile, org, { keyPem: readFileSync(caPath, 'utf8') });
    } else {
      key = newWalletKey(profile, org);
      // The operator's admin registers the key as a `common` member key (from the next block).
      const admin = ctx.identity(`${org}/admin`, info);
      await registerKey(
        client,
        admin,
        {
          name: `wallet-${key.wallet.slice(0, 16)}`,
          role: 'common',
          publicKey: publicKeyHex(key.publicKey),
        },
        { timeoutMs: flags.timeout },
      );
    }
    const link = {
      wallet: key.wallet,
      operator: org,
      class: flags.class,
      kyc,
      openedAt: new Date().toISOString(),
    };
    const r = await cbdc.send(
      staff,
      'openWallet',
      {
        wallet: key.wallet,
        class: flags.class,
        merchant: flags.merchant,
        link: sealLink(profile, roles, org, link),
      },
      { timeoutMs: flags.timeout },
    );
    const file: WalletKeyFile = {
      kind: 'archipelago-cbdc-wallet',
      wallet: key.wallet,
      operator: org,
      chainId: info.chainId,
      crypto: info.crypto,
      identityMode: info.identityMode,
      keyPem: key.keyPem,
      certPem: key.certPem,
      publicKey: publicKeyHex(key.publicKey),
    };
    mkdirSync(dirname(flags.out), { recursive: true });
    writeWalletKey(flags.out, file);
    const kp = kycPath(ctx, info, org, key.wallet);
    mkdirSync(dirname(kp), { recursive: true });
    writeFileSync(kp, `${JSON.stringify(link, null, 2)}\n`, { mode: 0o600 });
    return { r, file };
  });
  const w = walletYuan(out.r.result);
  if (flags.json) printJson({ ...w, keyFile: flags.out, txId: out.r.txId, height: out.r.height });
  else
    print(
      `opened class ${flags.class} wallet ${out.file.wallet} at ${out.file.operator} in block ${out.r.height}; its key is in ${flags.out}`,
    );
}

interface SubFlags extends SignFlags {
  parentKey: string;
  out: string;
  balance: number | null;
  perPayment: number | null;
  perDay: number | null;
}

/** `archi cbdc open-sub-wallet`: a key certified by the operator, opened by the parent's key. */
async function openSubWallet(flags: SubFlags): Promise<void> {
  const parent = readWalletKey(flags.parentKey);
  const ctx = ClientContext.resolve(flags);
  const info = await ctx.withNode((c) => ctx.chainInfo(c));
  if (existsSync(flags.out)) throw new ArchiError('BAD_REQUEST', `${flags.out} exists already`);
  const profile = getProfile(info.crypto);
  const org = parent.operator;
  let key: ReturnType<typeof newWalletKey>;
  if (info.identityMode === 'cert') {
    const caPath = join(
      ctx.dir,
      orgProfileBase(org, info.crypto, ctx.network?.crypto ?? info.crypto),
      'ca',
      'key.pem',
    );
    key = newWalletKey(profile, org, { keyPem: readFileSync(caPath, 'utf8') });
  } else {
    key = newWalletKey(profile, org);
    await ctx.withNode(async (client) =>
      registerKey(
        client,
        ctx.identity(`${org}/admin`, info),
        {
          name: `wallet-${key.wallet.slice(0, 16)}`,
          role: 'common',
          publicKey: publicKeyHex(key.publicKey),
        },
        { timeoutMs: flags.timeout },
      ),
    );
  }
  const limits: Limits = {
    balance: flags.balance,
    perPayment: flags.perPayment,
    perDay: flags.perDay,
  };
  const r = await sendAsWallet({ ...flags, key: flags.parentKey }, 'openSubWallet', {
    wallet: key.wallet,
    limits: limits as unknown as Record<string, unknown>,
  });
  writeWalletKey(flags.out, {
    kind: 'archipelago-cbdc-wallet',
    wallet: key.wallet,
    operator: org,
    chainId: info.chainId,
    crypto: info.crypto,
    identityMode: info.identityMode,
    keyPem: key.keyPem,
    certPem: key.certPem,
    publicKey: publicKeyHex(key.publicKey),
    parent: parent.wallet,
  });
  if (flags.json)
    printJson({ ...walletYuan(r.result), keyFile: flags.out, txId: r.txId, height: r.height });
  else
    print(
      `opened sub-wallet ${key.wallet} under ${parent.wallet} in block ${r.height}; its key is in ${flags.out}`,
    );
}

/** Print a wallet after a tx. */
function printWallet(
  r: { txId: string; height: number; result: any },
  flags: TargetFlags,
  what: string,
): void {
  const w = walletYuan(r.result);
  if (flags.json) printJson({ ...w, txId: r.txId, height: r.height });
  else
    print(`${what} in block ${r.height}: wallet ${w.wallet} holds ${w.balance} (class ${w.class})`);
}

interface UpgradeFlags extends SignFlags, KycFlags {
  wallet: string;
  class: WalletClass;
}

/** `archi cbdc upgrade|downgrade`: the operator re-seals the grown KYC link and sets the class. */
async function setClass(flags: UpgradeFlags): Promise<void> {
  const ctx = ClientContext.resolve(flags);
  const r = await ctx.withNode(async (client) => {
    const info = await ctx.chainInfo(client);
    const staff = ctx.identity(flags.as, info);
    const cbdc = new Cbdc(client);
    const w = await cbdc.wallet(walletArg(flags.wallet));
    if (w.operator !== staff.org) {
      throw codedError(
        'CBDC_NOT_YOUR_CUSTOMER',
        `wallet ${w.wallet} is a customer of ${w.operator}`,
      );
    }
    const roles = await cbdc.roles();
    // The operator reads its own copy of the link, adds the new KYC, and seals it again.
    const own = linkKey(ctx, info, staff.org, false);
    const sealed = await cbdc.query('link', { wallet: w.wallet });
    let had: Record<string, unknown> = {};
    if (own && sealed?.operator) {
      had =
        JSON.parse(
          new TextDecoder().decode(
            openSealed(getProfile(info.crypto), own.keyPem, sealed.operator, CBDC_LINK_SEAL),
          ),
        ).kyc ?? {};
    }
    const kyc = kycOf(flags.class, flags, had);
    const link = {
      wallet: w.wallet,
      operator: staff.org,
      class: flags.class,
      kyc,
      updatedAt: new Date().toISOString(),
    };
    const res = await cbdc.send(
      staff,
      'setClass',
      {
        wallet: w.wallet,
        class: flags.class,
        link: sealLink(getProfile(info.crypto), roles, staff.org, link),
      },
      { timeoutMs: flags.timeout },
    );
    const kp = kycPath(ctx, info, staff.org, w.wallet);
    mkdirSync(dirname(kp), { recursive: true });
    writeFileSync(kp, `${JSON.stringify(link, null, 2)}\n`, { mode: 0o600 });
    return res;
  });
  printWallet(r, flags, `class ${flags.class}`);
}

interface ResolveFlags extends SignFlags {
  reason?: string;
}

/** `archi cbdc resolve W`: record the look on chain, then decrypt the link with the org's key. */
async function resolveWallet(wallet: string, flags: ResolveFlags): Promise<void> {
  const ctx = ClientContext.resolve(flags);
  const out = await ctx.withNode(async (client) => {
    const info = await ctx.chainInfo(client);
    const identity = ctx.identity(flags.as, info);
    // The contract refuses anyone but the regulator and the wallet's own operator.
    const r = await new Cbdc(client).send(
      identity,
      'recordResolution',
      { wallet: walletArg(wallet), reason: flags.reason },
      { timeoutMs: flags.timeout },
    );
    const key = linkKey(ctx, info, identity.org, false);
    if (!key) {
      throw new ArchiError(
        'BAD_REQUEST',
        `recorded in block ${r.height}, but ${identity.org} has no link key in ${orgCbdcDir(ctx, info, identity.org)} to decrypt with`,
      );
    }
    let link: unknown;
    try {
      link = JSON.parse(
        new TextDecoder().decode(
          openSealed(getProfile(info.crypto), key.keyPem, r.result.ciphertext, CBDC_LINK_SEAL),
        ),
      );
    } catch (e) {
      throw codedError(
        'CBDC_FORBIDDEN',
        `the link does not open with ${identity.org}'s key (${(e as Error).message})`,
      );
    }
    return { r, link };
  });
  const entry = out.r.result.entry;
  if (flags.json)
    printJson({
      wallet,
      link: out.link,
      resolution: entry,
      txId: out.r.txId,
      height: out.r.height,
    });
  else {
    print(
      `wallet ${wallet} (logged as resolution ${entry.n} in block ${out.r.height} by ${entry.org} ${entry.by}):`,
    );
    print(JSON.stringify(out.link, null, 2));
  }
}

interface FreezeFlags extends DecideFlags {
  reason?: string;
}

async function freeze(wallet: string, frozen: boolean, flags: FreezeFlags): Promise<void> {
  const ctx = ClientContext.resolve(flags);
  await ctx.withNode(async (client) => {
    await new Cbdc(client).wallet(walletArg(wallet));
    const args: Record<string, unknown> = { wallet, frozen };
    if (flags.reason !== undefined) args.reason = flags.reason;
    await governed(
      ctx,
      client,
      'setFrozen',
      args,
      flags,
      `${frozen ? 'freezing' : 'unfreezing'} wallet ${wallet}`,
    );
  });
}

async function query<T = any>(
  flags: TargetFlags,
  method: string,
  args: Record<string, unknown> | null = null,
): Promise<T> {
  const ctx = ClientContext.resolve(flags);
  return ctx.withNode((c) => new Cbdc(c).query<T>(method, args));
}

/** The latest block's time: deadlines are block times. */
async function blockTime(flags: TargetFlags): Promise<number> {
  const ctx = ClientContext.resolve(flags);
  return ctx.withNode(async (c) => (await c.getBlock('latest')).header.time);
}

const timeoutOption = (cmd: Command) =>
  cmd.option(
    '--timeout <ms>',
    'how long to wait for each commit',
    intOption('--timeout', 1, 300_000),
    30_000,
  );

/** --as (optional), --print and --expires of the governance commands. */
function decideOptions(cmd: Command): Command {
  return timeoutOption(
    addTargetOptions(
      cmd
        .option('--as <org/user>', 'the admin that proposes (default: the first admin in --dir)')
        .option('--print', 'print the proposal for the admins instead of voting with local ones')
        .option(
          '--expires <blocks>',
          'blocks the proposal stays open',
          intOption('--expires', 1, 100_000),
        ),
    ),
  );
}

/** --key (a wallet key file) and an optional --as naming its operator, plus target options. */
function walletSigning(cmd: Command): Command {
  return timeoutOption(
    addTargetOptions(
      cmd
        .requiredOption('--key <file>', 'the wallet key file (archi cbdc open-wallet --out)')
        .option(
          '--as <org/user>',
          "the wallet's operator, whose node carries the tx (default: the key file's)",
        ),
    ),
  );
}

const kycOptions = (cmd: Command) =>
  cmd
    .option('--name <name>', "the holder's name (KYC, kept by the operator and sealed on chain)")
    .option('--id-number <id>', "the holder's ID document number")
    .option('--phone <phone>', "the holder's phone number")
    .option('--bank-account <account>', 'the linked bank account')
    .option('--in-person', 'identity checked in person (class 1)');

function escrowJson(e: any): Record<string, unknown> {
  return {
    ...e,
    perDelivery: formatFen(e.perDelivery),
    total: formatFen(e.perDelivery * e.deliveries),
  };
}

/** Adds `archi cbdc ...` to the program. */
export function register(program: Command): void {
  const cbdc = program
    .command('cbdc')
    .description('two-tier digital currency: issue, allocate, wallets by KYC class, pay, regulate');

  decideOptions(
    cbdc
      .command('setup')
      .description('name the central bank, operators and regulator (a governance decision)')
      .requiredOption('--central <org>', 'the central bank organization')
      .requiredOption('--operators <orgs>', 'the operator banks, comma-separated')
      .requiredOption('--regulator <org>', 'the regulator organization')
      .option(
        '--regulator-key <hex>',
        "the regulator's link public key (default: made in its directory)",
      )
      .option(
        '--operator-keys <org=hex,...>',
        "operators' link public keys (default: made in their directories)",
      ),
  ).action(setup);

  addSigningOptions(
    cbdc
      .command('reserves')
      .description("report the operator's reserves at the central bank (its ceiling)")
      .requiredOption('--amount <yuan>', 'reserves in yuan', (t: string) =>
        t === '0' ? 0 : yuan('--amount')(t),
      ),
    'an operator member',
  ).action(async (f: SignFlags & { amount: number }) => {
    const r = await sendAs(f, 'reportReserves', { amount: f.amount });
    if (f.json)
      printJson({
        org: r.result.org,
        reserves: formatFen(r.result.reserves),
        txId: r.txId,
        height: r.height,
      });
    else
      print(
        `${r.result.org} reports reserves of ${formatFen(r.result.reserves)} (block ${r.height})`,
      );
  });

  addSigningOptions(
    cbdc
      .command('issue')
      .description('the central bank issues into its vault (at most the reserves)')
      .requiredOption('--amount <yuan>', 'yuan', yuan('--amount')),
    'a central bank member',
  ).action(async (f: SignFlags & { amount: number }) => {
    const r = await sendAs(f, 'issue', { amount: f.amount });
    if (f.json)
      printJson({
        issued: formatFen(r.result.issued),
        central: formatFen(r.result.central),
        txId: r.txId,
        height: r.height,
      });
    else
      print(
        `issued ${formatFen(f.amount)}; ${formatFen(r.result.issued)} issued in all (block ${r.height})`,
      );
  });

  addSigningOptions(
    cbdc
      .command('allocate')
      .description('the central bank allocates to an operator (up to its reserves)')
      .requiredOption('--operator <org>', 'the operator')
      .requiredOption('--amount <yuan>', 'yuan', yuan('--amount')),
    'a central bank member',
  ).action(async (f: SignFlags & { operator: string; amount: number }) => {
    const r = await sendAs(f, 'allocate', { operator: f.operator, amount: f.amount });
    const o = r.result;
    if (f.json)
      printJson({
        org: o.org,
        allocated: formatFen(o.allocated),
        vault: formatFen(o.vault),
        reserves: formatFen(o.reserves),
        txId: r.txId,
        height: r.height,
      });
    else
      print(
        `${o.org} has ${formatFen(o.allocated)} allocated, ${formatFen(o.vault)} left to distribute (block ${r.height})`,
      );
  });

  for (const [name, method, who] of [
    ['set-policy', 'setPolicy', 'the central bank sets a class policy'],
    ['set-limits', 'setLimits', 'an operator sets its own class limits within the policy'],
  ] as const) {
    addSigningOptions(
      cbdc
        .command(name)
        .description(`${who} (yuan, or none)`)
        .requiredOption('--class <n>', '1..4', classFlag)
        .requiredOption('--balance <yuan>', 'most a wallet holds', limitFlag('--balance'))
        .requiredOption('--per-payment <yuan>', 'most one payment', limitFlag('--per-payment'))
        .requiredOption('--per-day <yuan>', 'most paid in a UTC day', limitFlag('--per-day')),
      name === 'set-policy' ? 'a central bank member' : 'an operator member',
    ).action(
      async (
        f: SignFlags & {
          class: WalletClass;
          balance: number | null;
          perPayment: number | null;
          perDay: number | null;
        },
      ) => {
        const limits = { balance: f.balance, perPayment: f.perPayment, perDay: f.perDay };
        const r = await sendAs(f, method, { class: f.class, limits });
        if (f.json)
          printJson({ class: f.class, limits: limitsYuan(limits), txId: r.txId, height: r.height });
        else
          print(
            `class ${f.class} limits set in block ${r.height}: ${JSON.stringify(limitsYuan(limits))}`,
          );
      },
    );
  }

  addTargetOptions(
    cbdc
      .command('policy')
      .description("the class policy, operators' limits and the alert threshold"),
  ).action(async (f: TargetFlags) => {
    const p = await query(f, 'getPolicy');
    const classes = Object.fromEntries(
      Object.entries(p.classes).map(([c, l]) => [c, limitsYuan(l as Limits)]),
    );
    const operators = Object.fromEntries(
      Object.entries(p.operators as Record<string, Record<string, Limits>>).map(([o, ls]) => [
        o,
        Object.fromEntries(Object.entries(ls).map(([c, l]) => [c, limitsYuan(l)])),
      ]),
    );
    const out = { classes, operators, alertThreshold: formatFen(p.alertThreshold) };
    if (f.json) printJson(out);
    else {
      print(
        formatTable(
          ['CLASS', 'BALANCE', 'PER PAYMENT', 'PER DAY'],
          Object.entries(classes).map(([c, l]) => [
            c,
            l.balance ?? '-',
            l.perPayment ?? '-',
            l.perDay ?? '-',
          ]),
        ),
      );
      print(`large-value alerts from ${out.alertThreshold}`);
    }
  });

  kycOptions(
    addSigningOptions(
      cbdc
        .command('open-wallet')
        .description('open a wallet for a new key certified by the operator (prints `wallet`)')
        .requiredOption('--class <n>', '1 (in person) .. 4 (phone only, anonymous)', classFlag)
        .requiredOption('--out <file>', 'where to write the wallet key file (mode 0600)')
        .option('--merchant <name>', 'a merchant wallet, named in payments'),
      'an operator member',
    ),
  ).action(openWallet);

  addSigningOptions(
    cbdc
      .command('open-sub-wallet')
      .description(
        "open a sub-wallet with limits of its own under a wallet (signed by the parent's key)",
      )
      .requiredOption('--parent-key <file>', "the parent wallet's key file")
      .requiredOption('--out <file>', "where to write the sub-wallet's key file")
      .requiredOption('--balance <yuan>', 'its balance limit (or none)', limitFlag('--balance'))
      .requiredOption(
        '--per-payment <yuan>',
        'its per-payment limit (or none)',
        limitFlag('--per-payment'),
      )
      .requiredOption('--per-day <yuan>', 'its daily limit (or none)', limitFlag('--per-day')),
    'the operator (its CA certifies the key)',
  ).action(openSubWallet);

  addSigningOptions(
    cbdc
      .command('exchange')
      .description("exchange a customer's deposit into its wallet (from the operator's allocation)")
      .requiredOption('--wallet <id>', 'the wallet', walletArg)
      .requiredOption('--amount <yuan>', 'yuan', yuan('--amount')),
    "a member of the wallet's operator",
  ).action(async (f: SignFlags & { wallet: string; amount: number }) => {
    printWallet(
      await sendAs(f, 'exchange', { wallet: f.wallet, amount: f.amount }),
      f,
      `exchanged ${formatFen(f.amount)}`,
    );
  });

  kycOptions(
    addSigningOptions(
      cbdc
        .command('upgrade')
        .alias('downgrade')
        .description('move a wallet to another class (the operator adds the KYC the class needs)')
        .requiredOption('--wallet <id>', 'the wallet', walletArg)
        .requiredOption('--class <n>', '1..4', classFlag),
      "a member of the wallet's operator",
    ),
  ).action(setClass);

  walletSigning(
    cbdc
      .command('pay')
      .description('pay a wallet or a merchant, signed by the wallet key')
      .requiredOption('--to <wallet>', 'the payee', walletArg)
      .requiredOption('--amount <yuan>', 'yuan', yuan('--amount'))
      .option('--memo <text>', 'a note for the payee (on chain)'),
  ).action(async (f: KeyFlags & { to: string; amount: number; memo?: string }) => {
    const r = await sendAsWallet(f, 'pay', { to: f.to, amount: f.amount, memo: f.memo });
    const out = {
      from: r.result.from,
      to: r.result.to,
      amount: formatFen(r.result.amount),
      memo: r.result.memo,
      balance: formatFen(r.result.balance),
      spentToday: formatFen(r.result.spentToday),
      txId: r.txId,
      height: r.height,
    };
    if (f.json) printJson(out);
    else
      print(
        `paid ${out.amount} to ${out.to} in block ${r.height}; ${out.balance} left, ${out.spentToday} paid today`,
      );
  });

  walletSigning(
    cbdc
      .command('redeem')
      .description('redeem e-cash to the linked deposit account (burnt)')
      .requiredOption('--amount <yuan>', 'yuan', yuan('--amount')),
  ).action(async (f: KeyFlags & { amount: number }) => {
    printWallet(
      await sendAsWallet(f, 'redeem', { amount: f.amount }),
      f,
      `redeemed ${formatFen(f.amount)}`,
    );
  });

  addTargetOptions(
    cbdc
      .command('balance')
      .description("a wallet's balance, class, limits and what it paid today")
      .argument('<wallet>', 'the wallet id'),
  ).action(async (wallet: string, f: TargetFlags) => {
    const ctx = ClientContext.resolve(f);
    const w = walletYuan(await ctx.withNode((c) => new Cbdc(c).wallet(walletArg(wallet))));
    if (f.json) printJson(w);
    else {
      const l = w.limits as Record<string, string | null>;
      print(
        `wallet ${w.wallet} (${w.operator}, class ${w.class}${w.frozen ? ', FROZEN' : ''}${w.parent ? `, under ${w.parent}` : ''}): ${w.balance}`,
      );
      print(
        `paid on ${w.day}: ${w.spentToday} of ${l.perDay ?? 'no limit'}; per payment ${l.perPayment ?? 'no limit'}; balance limit ${l.balance ?? 'none'}`,
      );
    }
  });

  addTargetOptions(
    cbdc
      .command('report')
      .description(
        'M0: issued, redeemed, and where it is (central, operators, wallets, escrowed, in transit and held abroad)',
      ),
  ).action(async (f: TargetFlags) => {
    const r = reportYuan(await query(f, 'report'));
    if (f.json) printJson(r);
    else {
      print(
        `height ${r.height}: issued ${r.issued}, redeemed ${r.redeemed}, outstanding ${r.outstanding} = central ${r.central} + operators ${r.operators} + wallets ${r.wallets} + escrowed ${r.escrowed} + in transit ${r.inTransit} + abroad ${r.abroad} (${r.conserved ? 'conserved' : 'NOT CONSERVED'})`,
      );
      const ops = r.perOperator as Array<Record<string, string>>;
      print(
        formatTable(
          ['OPERATOR', 'RESERVES', 'ALLOCATED', 'LEFT', 'EXCHANGED', 'REDEEMED', 'WALLETS'],
          ops.map((o) => [
            o.org,
            o.reserves,
            o.allocated,
            o.vault,
            o.exchanged,
            o.redeemed,
            String(o.wallets),
          ]),
        ),
      );
    }
  });

  for (const [name, frozen] of [
    ['freeze', true],
    ['unfreeze', false],
  ] as const) {
    decideOptions(
      cbdc
        .command(name)
        .description(`${name} a wallet (a governance decision)`)
        .argument('<wallet>', 'the wallet id')
        .option('--reason <text>', 'why (on chain)'),
    ).action((wallet: string, f: FreezeFlags) => freeze(wallet, frozen, f));
  }

  addSigningOptions(
    cbdc
      .command('resolve')
      .description(
        "the regulator (or the wallet's operator) resolves a pseudonym to its KYC link, logged on chain",
      )
      .argument('<wallet>', 'the wallet id')
      .option('--reason <text>', 'why (on the audit trail)'),
    "a member of the regulator (or of the wallet's operator)",
  ).action(resolveWallet);

  addTargetOptions(
    cbdc
      .command('resolutions')
      .description('the audit trail: who resolved which wallet, when')
      .option('--page <n>', 'page (100 each, from 0)', intOption('--page', 0, 999_999), 0),
  ).action(async (f: TargetFlags & { page: number }) => {
    const p = await query(f, 'resolutions', { page: f.page });
    if (f.json) printJson(p);
    else {
      print(`${p.total} resolutions`);
      print(
        formatTable(
          ['#', 'HEIGHT', 'ORG', 'BY', 'WALLET', 'REASON'],
          p.entries.map((e: any) => [
            String(e.n),
            String(e.height),
            e.org,
            e.by,
            e.wallet,
            e.reason ?? '-',
          ]),
        ),
      );
    }
  });

  addTargetOptions(
    cbdc
      .command('flows')
      .description(
        "the regulator's view: an operator's flows of a day (amounts, pseudonyms, times)",
      )
      .requiredOption('--operator <org>', 'the operator')
      .option('--day <date>', 'YYYY-MM-DD (UTC; default today by block time)')
      .option('--page <n>', 'page (100 each, from 0)', intOption('--page', 0, 999_999), 0),
  ).action(async (f: TargetFlags & { operator: string; day?: string; page: number }) => {
    const args: Record<string, unknown> = { operator: f.operator, page: f.page };
    if (f.day) args.day = parseDay(f.day);
    const p = await query(f, 'flows', args);
    const flows = p.flows.map((x: any) => ({
      ...x,
      amount: formatFen(x.amount),
      time: new Date(x.time).toISOString(),
    }));
    if (f.json) printJson({ ...p, day: dayDate(p.day), flows });
    else {
      print(`${p.operator} on ${dayDate(p.day)}: ${p.total} flows`);
      print(
        formatTable(
          ['TIME', 'KIND', 'FROM', 'TO', 'AMOUNT', 'MEMO'],
          flows.map((x: any) => [
            x.time,
            x.kind,
            x.from ?? '-',
            x.to ?? '-',
            x.amount,
            x.memo ?? '-',
          ]),
        ),
      );
    }
  });

  addTargetOptions(
    cbdc
      .command('aggregates')
      .description("per operator, a day's flows counted and summed")
      .option('--day <date>', 'YYYY-MM-DD (UTC; default today)'),
  ).action(async (f: TargetFlags & { day?: string }) => {
    const p = await query(f, 'aggregates', f.day ? { day: parseDay(f.day) } : null);
    const ops = Object.fromEntries(
      Object.entries(p.operators as Record<string, any>).map(([o, a]) => [
        o,
        {
          ...a,
          paid: formatFen(a.paid),
          exchanged: formatFen(a.exchanged),
          redeemed: formatFen(a.redeemed),
        },
      ]),
    );
    if (f.json) printJson({ day: dayDate(p.day), operators: ops });
    else
      print(
        formatTable(
          ['OPERATOR', 'FLOWS', 'PAYMENTS', 'PAID', 'EXCHANGED', 'REDEEMED', 'ALERTS'],
          Object.entries(ops).map(([o, a]: [string, any]) => [
            o,
            String(a.flows),
            String(a.payments),
            a.paid,
            a.exchanged,
            a.redeemed,
            String(a.alerts),
          ]),
        ),
      );
  });

  addTargetOptions(
    cbdc
      .command('alerts')
      .description("a day's large-value alerts")
      .option('--day <date>', 'YYYY-MM-DD (UTC; default today)'),
  ).action(async (f: TargetFlags & { day?: string }) => {
    const p = await query(f, 'alerts', f.day ? { day: parseDay(f.day) } : null);
    const alerts = p.alerts.map((x: any) => ({
      ...x,
      amount: formatFen(x.amount),
      time: new Date(x.time).toISOString(),
    }));
    if (f.json) printJson({ day: dayDate(p.day), threshold: formatFen(p.threshold), alerts });
    else {
      print(`${dayDate(p.day)}: ${alerts.length} payments at or above ${formatFen(p.threshold)}`);
      print(
        formatTable(
          ['TIME', 'OPERATOR', 'FROM', 'TO', 'AMOUNT', 'MEMO'],
          alerts.map((x: any) => [
            x.time,
            x.operator,
            x.from,
            x.to ?? '-',
            x.amount,
            x.memo ?? '-',
          ]),
        ),
      );
    }
  });

  addSigningOptions(
    cbdc
      .command('set-alert-threshold')
      .description('the regulator sets the large-value threshold')
      .requiredOption('--amount <yuan>', 'yuan', yuan('--amount')),
    'a member of the regulator',
  ).action(async (f: SignFlags & { amount: number }) => {
    const r = await sendAs(f, 'setAlertThreshold', { amount: f.amount });
    if (f.json)
      printJson({
        alertThreshold: formatFen(r.result.alertThreshold),
        txId: r.txId,
        height: r.height,
      });
    else print(`large-value alerts from ${formatFen(r.result.alertThreshold)} (block ${r.height})`);
  });

  registerEscrow(cbdc);
  registerCrossBorder(cbdc);
}

/** `archi cbdc escrow ...` and `archi cbdc cond ...`: programmable payments. */
/** A rate as NUM/DEN (or a whole number): the other chain's fen in ours. */
function rateFlag(text: string): { num: number; den: number } {
  const m = /^([1-9][0-9]{0,6})(?:\/([1-9][0-9]{0,6}))?$/.exec(text.trim());
  const num = Number(m?.[1]);
  const den = Number(m?.[2] ?? 1);
  if (!m || num > 1_000_000 || den > 1_000_000) {
    throw new ArchiError(
      'INVALID_ARGS',
      `--rate must be NUM/DEN with each 1..1000000, got "${text}"`,
    );
  }
  return { num, den };
}

/** A payment abroad as people read it. */
function abroadJson(r: any): Record<string, unknown> {
  return { ...r, amount: formatFen(r.amount) };
}

/** Cross-border: correspondents (the central bank) and payments to wallets on another chain. */
function registerCrossBorder(cbdc: Command): void {
  addSigningOptions(
    cbdc
      .command('correspondent')
      .description(
        "the central bank accepts payments from (and allows payments to) the chain behind one of this chain's interchain clients",
      )
      .requiredOption('--client <id>', "this chain's interchain client of the other chain")
      .requiredOption(
        '--rate <num/den>',
        "the other chain's fen in ours (1/1: the same currency)",
        rateFlag,
      )
      .option('--disable', 'stop payments both ways over this client'),
    'a central bank member',
  ).action(
    async (
      f: SignFlags & { client: string; rate: { num: number; den: number }; disable?: boolean },
    ) => {
      const r = await sendAs(f, 'setCorrespondent', {
        client: f.client,
        ...f.rate,
        enabled: !f.disable,
      });
      if (f.json) printJson({ ...r.result, txId: r.txId, height: r.height });
      else
        print(
          `correspondent over ${r.result.client}: ${r.result.num}/${r.result.den}, ${r.result.enabled ? 'enabled' : 'disabled'} (block ${r.height})`,
        );
    },
  );

  walletSigning(
    cbdc
      .command('pay-abroad')
      .description(
        'pay a wallet on another chain (signed by the wallet key); its central bank pays the payee, or the amount comes back',
      )
      .requiredOption('--client <id>', "this chain's interchain client of the payee's chain")
      .requiredOption('--to <wallet>', "the payee's wallet on that chain", walletArg)
      .requiredOption('--amount <yuan>', 'yuan', yuan('--amount'))
      .option('--memo <text>', 'a note for the payee (on both chains)')
      .option(
        '--deadline-ms <ms>',
        "refunded if not received within this (by the other chain's block time)",
        intOption('--deadline-ms', 10_000, 7 * 86_400_000),
      ),
  ).action(
    async (
      f: KeyFlags & {
        client: string;
        to: string;
        amount: number;
        memo?: string;
        deadlineMs?: number;
      },
    ) => {
      const r = await sendAsWallet(f, 'payAbroad', {
        client: f.client,
        to: f.to,
        amount: f.amount,
        memo: f.memo,
        timeoutMs: f.deadlineMs,
      });
      if (f.json) printJson({ ...abroadJson(r.result), txId: r.txId, height: r.height });
      else
        print(
          `sent ${formatFen(r.result.amount)} to ${r.result.to} over ${r.result.client} (sequence ${r.result.sequence}, block ${r.height}); a relayer carries it`,
        );
    },
  );

  addTargetOptions(
    cbdc
      .command('abroad')
      .description('a payment sent abroad: sent, paid or refunded (and why)')
      .argument('<client>', 'the client it went over')
      .argument(
        '<sequence>',
        'its packet sequence',
        intOption('sequence', 1, Number.MAX_SAFE_INTEGER),
      ),
  ).action(async (client: string, sequence: number, f: TargetFlags) => {
    const r = await query(f, 'paymentAbroad', { client, sequence });
    if (!r) throw new ArchiError('NOT_FOUND', `no payment abroad ${client}/${sequence}`);
    if (f.json) printJson(abroadJson(r));
    else
      print(
        `${client}/${sequence}: ${formatFen(r.amount)} from ${r.from} to ${r.to}: ${r.status}${r.reason ? ` (${r.reason})` : ''}`,
      );
  });

  addTargetOptions(
    cbdc.command('correspondents').description('correspondents: rates and the claims each way'),
  ).action(async (f: TargetFlags) => {
    const list = (await query(f, 'correspondents')).correspondents as any[];
    const rows = list.map((c) => ({
      ...c,
      received: formatFen(c.received),
      paidOut: formatFen(c.paidOut),
      sent: formatFen(c.sent),
    }));
    if (f.json) printJson(rows);
    else
      print(
        formatTable(
          ['CLIENT', 'RATE', 'ENABLED', 'RECEIVED (THEIRS)', 'PAID OUT', 'SENT'],
          rows.map((c) => [
            c.client,
            `${c.num}/${c.den}`,
            c.enabled ? 'yes' : 'no',
            c.received,
            c.paidOut,
            c.sent,
          ]),
        ),
      );
  });
}

function registerEscrow(cbdc: Command): void {
  const escrow = cbdc
    .command('escrow')
    .description('prepaid services released per delivery, refunded if the merchant stops');
  walletSigning(
    escrow
      .command('open')
      .description('prepay a merchant for a number of deliveries (prints `id`)')
      .requiredOption('--merchant <wallet>', "the merchant's wallet", walletArg)
      .requiredOption('--per-delivery <yuan>', 'the price of one delivery', yuan('--per-delivery'))
      .requiredOption('--deliveries <n>', 'how many', intOption('--deliveries', 1, 1_000_000))
      .option(
        '--deadline-in <seconds>',
        'after this the payer may cancel too',
        intOption('--deadline-in', 1, 10 * 365 * 86_400),
      )
      .option('--memo <text>', 'what is prepaid'),
  ).action(
    async (
      f: KeyFlags & {
        merchant: string;
        perDelivery: number;
        deliveries: number;
        deadlineIn?: number;
        memo?: string;
      },
    ) => {
      const args: Record<string, unknown> = {
        merchant: f.merchant,
        perDelivery: f.perDelivery,
        deliveries: f.deliveries,
        memo: f.memo,
      };
      if (f.deadlineIn !== undefined) args.deadline = (await blockTime(f)) + f.deadlineIn * 1000;
      const r = await sendAsWallet(f, 'escrowOpen', args);
      if (f.json) printJson({ ...escrowJson(r.result), txId: r.txId, height: r.height });
      else
        print(
          `escrow ${r.result.id}: ${f.deliveries} x ${formatFen(f.perDelivery)} prepaid to ${f.merchant} (block ${r.height})`,
        );
    },
  );
  walletSigning(
    escrow
      .command('release')
      .description('confirm delivered services: their price goes to the merchant (the payer)')
      .requiredOption('--id <id>', 'the escrow id')
      .option('--count <n>', 'deliveries confirmed', intOption('--count', 1, 1_000_000), 1),
  ).action(async (f: KeyFlags & { id: string; count: number }) => {
    const r = await sendAsWallet(f, 'escrowRelease', { id: f.id, count: f.count });
    if (f.json) printJson({ ...escrowJson(r.result), txId: r.txId, height: r.height });
    else
      print(
        `escrow ${f.id}: ${r.result.released} of ${r.result.deliveries} released (${r.result.status}, block ${r.height})`,
      );
  });
  walletSigning(
    escrow
      .command('cancel')
      .description('refund what is not released (the merchant; the payer after the deadline)')
      .requiredOption('--id <id>', 'the escrow id'),
  ).action(async (f: KeyFlags & { id: string }) => {
    const r = await sendAsWallet(f, 'escrowCancel', { id: f.id });
    if (f.json) printJson({ ...escrowJson(r.result), txId: r.txId, height: r.height });
    else print(`escrow ${f.id} cancelled in block ${r.height}`);
  });
  addTargetOptions(
    escrow.command('show').description('an escrow').argument('<id>', 'the escrow id'),
  ).action(async (id: string, f: TargetFlags) => {
    const e = await query(f, 'escrow', { id });
    if (e === null) throw codedError('CBDC_UNKNOWN_ESCROW', `no escrow ${id}`);
    printJson(escrowJson(e));
  });

  const cond = cbdc
    .command('cond')
    .description('a payment that settles only if a named party confirms before a deadline');
  walletSigning(
    cond
      .command('pay')
      .description('hold a payment until the confirmer confirms (prints `id`)')
      .requiredOption('--to <wallet>', 'the payee', walletArg)
      .requiredOption('--amount <yuan>', 'yuan', yuan('--amount'))
      .requiredOption(
        '--confirmer <id>',
        "the confirming party's account id (a wallet or a member's address)",
        walletArg,
      )
      .requiredOption(
        '--deadline-in <seconds>',
        'seconds of block time to confirm in',
        intOption('--deadline-in', 1, 10 * 365 * 86_400),
      )
      .option('--memo <text>', 'a note'),
  ).action(
    async (
      f: KeyFlags & {
        to: string;
        amount: number;
        confirmer: string;
        deadlineIn: number;
        memo?: string;
      },
    ) => {
      const deadline = (await blockTime(f)) + f.deadlineIn * 1000;
      const r = await sendAsWallet(f, 'condPay', {
        to: f.to,
        amount: f.amount,
        confirmer: f.confirmer,
        deadline,
        memo: f.memo,
      });
      const out = {
        ...r.result,
        amount: formatFen(r.result.amount),
        txId: r.txId,
        height: r.height,
      };
      if (f.json) printJson(out);
      else
        print(
          `conditional payment ${r.result.id}: ${out.amount} to ${f.to} once ${f.confirmer} confirms before ${new Date(deadline).toISOString()}`,
        );
    },
  );
  for (const [name, method, text] of [
    ['confirm', 'condConfirm', 'the named party confirms: the payment settles'],
    ['reclaim', 'condReclaim', 'after the deadline: the payment returns to its payer'],
  ] as const) {
    timeoutOption(
      addTargetOptions(
        cond
          .command(name)
          .description(`${text} (sign with --key WALLETFILE or --as ORG/USER)`)
          .requiredOption('--id <id>', 'the conditional payment id')
          .option('--key <file>', 'a wallet key file to sign with')
          .option('--as <org/user>', 'a member identity to sign with (default org1/admin)'),
      ),
    ).action(async (f: KeyFlags & { id: string }) => {
      const r = f.key
        ? await sendAsWallet(f, method, { id: f.id })
        : await sendAs({ ...f, as: f.as ?? 'org1/admin' }, method, { id: f.id });
      const out = {
        ...r.result,
        amount: formatFen(r.result.amount),
        txId: r.txId,
        height: r.height,
      };
      if (f.json) printJson(out);
      else print(`conditional payment ${f.id} ${r.result.status} in block ${r.height}`);
    });
  }
  addTargetOptions(
    cond.command('show').description('a conditional payment').argument('<id>', 'its id'),
  ).action(async (id: string, f: TargetFlags) => {
    const c = await query(f, 'conditional', { id });
    if (c === null) throw codedError('CBDC_UNKNOWN_ESCROW', `no conditional payment ${id}`);
    printJson({ ...c, amount: formatFen(c.amount) });
  });
}
