/**
 * cbdc: a two-tier digital currency after the e-CNY design (docs/apps/cbdc.md).
 *
 * - Tier one: the central bank organization issues against the reserves its operators
 *   report and allocates to each operator at most that operator's reserves.
 * - Tier two: operators (commercial banks) open wallets and exchange deposits into them from
 *   their allocation; a wallet redeems back to its deposit account, which burns the money.
 * - M0 is kept in buckets that every method moves between: central + operators + wallets +
 *   escrowed + inTransit + abroad = issued - redeemed after every tx (`report`).
 * - Cross-border: a wallet pays a wallet on another chain's cbdc over an interchain packet;
 *   the receiving central bank pays the payee from its own vault at the rate it set for this
 *   chain and keeps the claim; refusals and timeouts refund the payer.
 * - Wallets are pseudonymous: a wallet is the account id of its own key, whose certificate
 *   (or registered key) its operator issued, so the chain checks the wallet's signature on
 *   every payment and the sender's organization names the operator. The KYC link stays with
 *   the operator; the contract only keeps it encrypted to the regulator and to the operator.
 * - Limits per class are data: the central bank's policy, operators' limits within it,
 *   sub-wallets' own limits within their parent's. The day is the block time's UTC day.
 * - Roles (central bank, operators, regulator, their link keys) and freezing are governance
 *   decisions: `setRoles` and `setFrozen` answer only to a `contract_call` proposal.
 *
 * Errors revert with a message starting with a stable code (`LIMIT_DAILY: ...`,
 * `CBDC_INSUFFICIENT: ...`), listed in src/apps/cbdc/rules.ts.
 */
import type { Ack, Context, Packet, Value } from 'archipelago/contract';
import {
  type CbdcError,
  CLASSES,
  DEFAULT_ALERT_THRESHOLD,
  DEFAULT_POLICY,
  dayOf,
  keys,
  type Limits,
  PAGE_SIZE,
  tighterLimits,
  WALLET_ID,
  type WalletClass,
  withinLimits,
} from '../../src/apps/cbdc/rules.ts';

type Obj = { [key: string]: Value };
type Args = Obj | null;

interface Roles extends Obj {
  central: string;
  operators: string[];
  regulator: string;
  regulatorKey: string;
  operatorKeys: { [org: string]: string };
}

interface Policy extends Obj {
  classes: { [cls: string]: Limits & Obj };
  alertThreshold: number;
}

interface M0 extends Obj {
  issued: number;
  redeemed: number;
  central: number;
  operators: number;
  wallets: number;
  escrowed: number;
  /** Sent abroad, not yet acknowledged by the other chain (refunded if it refuses). */
  inTransit: number;
  /** Paid to wallets abroad: held by correspondent central banks as a claim on this one. */
  abroad: number;
}

interface Operator extends Obj {
  org: string;
  reserves: number;
  allocated: number;
  vault: number;
  exchanged: number;
  redeemed: number;
  wallets: number;
}

interface Wallet extends Obj {
  id: string;
  operator: string;
  class: number;
  parent: string | null;
  merchant: string | null;
  /** A sub-wallet's own limits; null for a wallet that follows its class. */
  limits: (Limits & Obj) | null;
  balance: number;
  /** The UTC day `spent` counts. */
  day: number;
  spent: number;
  frozen: boolean;
  openedAt: number;
}

interface Agg extends Obj {
  flows: number;
  payments: number;
  paid: number;
  exchanged: number;
  redeemed: number;
  alerts: number;
}

function fail(ctx: Context, code: CbdcError, message: string): never {
  return ctx.revert(`${code}: ${message}`);
}

/** The args object with only `allowed` fields. */
function fields(ctx: Context, args: Args, allowed: string[]): Obj {
  if (args === null || args === undefined) return {};
  if (typeof args !== 'object' || Array.isArray(args)) {
    fail(ctx, 'CBDC_INVALID_ARGS', 'args must be a JSON object');
  }
  for (const k of Object.keys(args)) {
    if (!allowed.includes(k)) {
      fail(ctx, 'CBDC_INVALID_ARGS', `unknown field ${JSON.stringify(k)} (allowed: ${allowed})`);
    }
  }
  return args;
}

/** A positive amount in fen. */
function amountArg(ctx: Context, v: Value | undefined, field = 'amount'): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    fail(ctx, 'CBDC_INVALID_ARGS', `${field} must be a positive safe integer of fen`);
  }
  return v;
}

function limitArg(ctx: Context, v: Value | undefined, field: string): number | null {
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    fail(ctx, 'CBDC_INVALID_ARGS', `${field} must be null (no limit) or a safe integer of fen`);
  }
  return v;
}

function limitsArg(ctx: Context, v: Value | undefined): Limits & Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    fail(ctx, 'CBDC_INVALID_ARGS', 'limits must be {balance, perPayment, perDay}');
  }
  const a = fields(ctx, v, ['balance', 'perPayment', 'perDay']);
  return {
    balance: limitArg(ctx, a.balance, 'balance'),
    perPayment: limitArg(ctx, a.perPayment, 'perPayment'),
    perDay: limitArg(ctx, a.perDay, 'perDay'),
  };
}

function classArg(ctx: Context, v: Value | undefined): WalletClass {
  if (!CLASSES.includes(v as WalletClass)) {
    fail(ctx, 'CBDC_INVALID_ARGS', `class must be 1, 2, 3 or 4, got ${JSON.stringify(v)}`);
  }
  return v as WalletClass;
}

function idArg(ctx: Context, v: Value | undefined, field = 'wallet'): string {
  if (typeof v !== 'string' || !WALLET_ID.test(v)) {
    fail(ctx, 'CBDC_INVALID_ARGS', `${field} must be a wallet id (40 lower-case hex)`);
  }
  return v;
}

function textArg(ctx: Context, v: Value | undefined, field: string, max: number): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > max || /\p{Cc}/u.test(v)) {
    fail(ctx, 'CBDC_INVALID_ARGS', `${field} must be at most ${max} printable characters`);
  }
  return v;
}

/** A key on the chain's curve, as hex of the uncompressed point. */
function keyArg(ctx: Context, v: Value | undefined, field: string): string {
  if (typeof v !== 'string' || !/^04[0-9a-f]{128}$/.test(v)) {
    fail(ctx, 'CBDC_INVALID_ARGS', `${field} must be an uncompressed public key in hex`);
  }
  return v;
}

/** A ciphertext made by the operator's client (base64, bounded). */
function cipherArg(ctx: Context, v: Value | undefined, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 4096 || !/^[A-Za-z0-9+/=]+$/.test(v)) {
    fail(ctx, 'CBDC_INVALID_ARGS', `${field} must be base64 of at most 4096 characters`);
  }
  return v;
}

function linkArg(ctx: Context, v: Value | undefined): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    fail(ctx, 'CBDC_INVALID_ARGS', 'link must be {regulator, operator} ciphertexts');
  }
  const a = fields(ctx, v, ['regulator', 'operator']);
  return {
    regulator: cipherArg(ctx, a.regulator, 'link.regulator'),
    operator: cipherArg(ctx, a.operator, 'link.operator'),
  };
}

function roles(ctx: Context): Roles {
  const r = ctx.state.get<Roles>(keys.roles);
  if (!r) {
    fail(ctx, 'CBDC_NOT_SET_UP', 'no roles yet: governance sets them (archi cbdc setup)');
  }
  return r;
}

function policy(ctx: Context): Policy {
  return (
    ctx.state.get<Policy>(keys.policy) ?? {
      // A copy: a setup edits it before storing it.
      classes: JSON.parse(JSON.stringify(DEFAULT_POLICY)) as Policy['classes'],
      alertThreshold: DEFAULT_ALERT_THRESHOLD,
    }
  );
}

function m0(ctx: Context): M0 {
  // Spread over the defaults: a chain that ran an earlier version has no cross-border buckets.
  return {
    issued: 0,
    redeemed: 0,
    central: 0,
    operators: 0,
    wallets: 0,
    escrowed: 0,
    inTransit: 0,
    abroad: 0,
    ...ctx.state.get<M0>(keys.m0),
  };
}

/** Move `amount` between M0 buckets (a negative `from`/`to` is issuing or burning). */
function moveM0(ctx: Context, from: keyof M0 | null, to: keyof M0 | null, amount: number): void {
  const m = m0(ctx);
  if (from) m[from] = (m[from] as number) - amount;
  if (to) m[to] = (m[to] as number) + amount;
  ctx.state.set(keys.m0, m);
}

function operatorRec(ctx: Context, org: string): Operator {
  return (
    ctx.state.get<Operator>(keys.operator(org)) ?? {
      org,
      reserves: 0,
      allocated: 0,
      vault: 0,
      exchanged: 0,
      redeemed: 0,
      wallets: 0,
    }
  );
}

/** The sender's organization when it is a member of `org` with role admin or client. */
function staffOf(ctx: Context, org: string): boolean {
  const s = ctx.sender;
  return s.org === org && ctx.caller === null && (s.role === 'admin' || s.role === 'client');
}

function requireCentral(ctx: Context): Roles {
  const r = roles(ctx);
  if (!staffOf(ctx, r.central)) {
    fail(ctx, 'CBDC_NOT_CENTRAL', `only the central bank (${r.central}) may do this`);
  }
  return r;
}

/** The operator the sender works for. */
function requireOperator(ctx: Context): string {
  const r = roles(ctx);
  const org = ctx.sender.org;
  if (!r.operators.includes(org) || !staffOf(ctx, org)) {
    fail(
      ctx,
      'CBDC_NOT_OPERATOR',
      `only an operator's admin or client may do this (operators: ${r.operators.join(', ')})`,
    );
  }
  return org;
}

function walletRec(ctx: Context, id: string): Wallet {
  const w = ctx.state.get<Wallet>(keys.wallet(id));
  if (!w) fail(ctx, 'CBDC_UNKNOWN_WALLET', `no wallet ${id}`);
  return w;
}

/** The wallet whose own key signed this tx (its operator's certificate or registered key). */
function signingWallet(ctx: Context): Wallet {
  const s = ctx.sender;
  const w = ctx.state.get<Wallet>(keys.wallet(s.id));
  if (!w || ctx.caller !== null || s.role !== 'common' || s.org !== w.operator) {
    fail(
      ctx,
      'CBDC_NOT_WALLET_KEY',
      `this must be signed by a wallet's own key (sender ${s.name} of ${s.org || 'no org'} is none)`,
    );
  }
  return w;
}

/** The wallet's operator's staff may act on it; another operator may not. */
function requireOwnCustomer(ctx: Context, w: Wallet): void {
  const org = requireOperator(ctx);
  if (w.operator !== org) {
    fail(
      ctx,
      'CBDC_NOT_YOUR_CUSTOMER',
      `wallet ${w.id} is a customer of ${w.operator}, not ${org}`,
    );
  }
}

/** A wallet's limits today: its class under the policy and its operator, and its own if a sub-wallet. */
function limitsOf(ctx: Context, w: Wallet, pol: Policy): Limits {
  const own = ctx.state.get<{ [cls: string]: Limits & Obj }>(keys.limits(w.operator));
  const cls = tighterLimits(pol.classes[String(w.class)], own?.[String(w.class)]);
  return tighterLimits(cls, w.limits);
}

/** What the wallet spent today (block time's UTC day). */
function spentToday(ctx: Context, w: Wallet): number {
  return w.day === dayOf(ctx.block.time) ? w.spent : 0;
}

function refuseFrozen(ctx: Context, w: Wallet, role: string): void {
  if (w.frozen) fail(ctx, 'CBDC_FROZEN', `${role} wallet ${w.id} is frozen`);
}

/** Check a payment of `amount` out of `w` against its limits and balance, and count it. */
function spend(ctx: Context, w: Wallet, amount: number, pol: Policy): void {
  refuseFrozen(ctx, w, 'paying');
  const lim = limitsOf(ctx, w, pol);
  if (lim.perPayment !== null && amount > lim.perPayment) {
    fail(
      ctx,
      'LIMIT_PER_PAYMENT',
      `${amount} fen is above the wallet's per-payment limit of ${lim.perPayment} fen`,
    );
  }
  const today = spentToday(ctx, w);
  if (lim.perDay !== null && today + amount > lim.perDay) {
    fail(
      ctx,
      'LIMIT_DAILY',
      `${today} fen paid today plus ${amount} fen is above the daily limit of ${lim.perDay} fen`,
    );
  }
  if (w.balance < amount) {
    fail(ctx, 'CBDC_INSUFFICIENT', `wallet ${w.id} holds ${w.balance} fen, not ${amount}`);
  }
  w.balance -= amount;
  w.day = dayOf(ctx.block.time);
  w.spent = today + amount;
}

/** Check that `w` may receive `amount` (not frozen, within its balance limit), and credit it. */
function receive(ctx: Context, w: Wallet, amount: number, pol: Policy): void {
  refuseFrozen(ctx, w, 'receiving');
  const lim = limitsOf(ctx, w, pol);
  if (lim.balance !== null && w.balance + amount > lim.balance) {
    fail(
      ctx,
      'LIMIT_BALANCE',
      `wallet ${w.id} would hold ${w.balance + amount} fen, above its balance limit of ${lim.balance} fen`,
    );
  }
  w.balance += amount;
}

function save(ctx: Context, ...ws: Wallet[]): void {
  for (const w of ws) ctx.state.set(keys.wallet(w.id), w);
}

/**
 * Record a flow for the regulator under its day and operator (and a large-value alert), in
 * the operator's daily aggregate.
 */
function flow(
  ctx: Context,
  kind: string,
  org: string,
  f: { from: string | null; to: string | null; amount: number; memo?: string | null },
  pol: Policy | null,
): void {
  const day = dayOf(ctx.block.time);
  const ak = keys.agg(day, org);
  const agg = ctx.state.get<Agg>(ak) ?? {
    flows: 0,
    payments: 0,
    paid: 0,
    exchanged: 0,
    redeemed: 0,
    alerts: 0,
  };
  const rec: Obj = {
    kind,
    operator: org,
    from: f.from,
    to: f.to,
    amount: f.amount,
    memo: f.memo ?? null,
    time: ctx.block.time,
    height: ctx.block.height,
    txId: ctx.txId,
  };
  ctx.state.set(keys.flow(day, org, agg.flows), rec);
  agg.flows += 1;
  if (kind === 'exchange') agg.exchanged += f.amount;
  else if (kind === 'redeem') agg.redeemed += f.amount;
  else {
    agg.payments += 1;
    agg.paid += f.amount;
  }
  if (pol && f.amount >= pol.alertThreshold) {
    ctx.state.set(keys.alert(day, org, agg.alerts), rec);
    agg.alerts += 1;
    ctx.emit('LargeValue', rec);
  }
  ctx.state.set(ak, agg);
}

// ---------------------------------------------------------------- governance decisions

/**
 * Governance names the central bank, the operators, the regulator and the public keys the
 * KYC links are encrypted to (`archi cbdc setup`); setting them again replaces them.
 */
export function setRoles(ctx: Context, args: Args): Roles {
  if (ctx.caller !== 'governance' || ctx.sender.name !== 'contract:governance') {
    fail(ctx, 'CBDC_FORBIDDEN', 'only a governance decision sets the roles (archi cbdc setup)');
  }
  const a = fields(ctx, args, [
    'central',
    'operators',
    'regulator',
    'regulatorKey',
    'operatorKeys',
    'policy',
    'alertThreshold',
  ]);
  const config = ctx.call<{ orgs: Array<{ id: string }> }>('chain_config', 'get', null);
  const member = (v: Value | undefined, field: string): string => {
    if (typeof v !== 'string' || !config.orgs.some((o) => o.id === v)) {
      fail(ctx, 'CBDC_UNKNOWN_ORG', `${field} ${JSON.stringify(v)} is not an organization here`);
    }
    return v;
  };
  const central = member(a.central, 'central');
  const regulator = member(a.regulator, 'regulator');
  if (!Array.isArray(a.operators) || a.operators.length === 0) {
    fail(ctx, 'CBDC_INVALID_ARGS', 'operators must be a non-empty list of organizations');
  }
  const operators = a.operators.map((o) => member(o, 'operator'));
  if (new Set([central, regulator, ...operators]).size !== operators.length + 2) {
    fail(ctx, 'CBDC_INVALID_ARGS', 'central bank, regulator and operators must be distinct');
  }
  const keysIn = a.operatorKeys;
  if (typeof keysIn !== 'object' || keysIn === null || Array.isArray(keysIn)) {
    fail(ctx, 'CBDC_INVALID_ARGS', 'operatorKeys must map each operator to its link key');
  }
  const operatorKeys: { [org: string]: string } = {};
  for (const o of operators) operatorKeys[o] = keyArg(ctx, keysIn[o], `operatorKeys.${o}`);
  const r: Roles = {
    central,
    operators,
    regulator,
    regulatorKey: keyArg(ctx, a.regulatorKey, 'regulatorKey'),
    operatorKeys,
  };
  ctx.state.set(keys.roles, r);
  if (!ctx.state.has(keys.policy) || a.policy !== undefined || a.alertThreshold !== undefined) {
    const pol = policy(ctx);
    if (a.policy !== undefined) {
      if (typeof a.policy !== 'object' || a.policy === null || Array.isArray(a.policy)) {
        fail(ctx, 'CBDC_INVALID_ARGS', 'policy must map classes 1..4 to limits');
      }
      for (const [cls, lim] of Object.entries(a.policy)) {
        pol.classes[String(classArg(ctx, Number(cls)))] = limitsArg(ctx, lim);
      }
    }
    if (a.alertThreshold !== undefined) {
      pol.alertThreshold = amountArg(ctx, a.alertThreshold, 'alertThreshold');
    }
    ctx.state.set(keys.policy, pol);
  }
  ctx.emit('RolesSet', r);
  return r;
}

/** Governance freezes (or unfreezes) a wallet: it can then neither pay nor receive. */
export function setFrozen(ctx: Context, args: Args): Obj {
  if (ctx.caller !== 'governance' || ctx.sender.name !== 'contract:governance') {
    fail(ctx, 'CBDC_FORBIDDEN', 'only a governance decision freezes a wallet (archi cbdc freeze)');
  }
  const a = fields(ctx, args, ['wallet', 'frozen', 'reason']);
  const w = walletRec(ctx, idArg(ctx, a.wallet));
  if (typeof a.frozen !== 'boolean') fail(ctx, 'CBDC_INVALID_ARGS', 'frozen must be a boolean');
  w.frozen = a.frozen;
  save(ctx, w);
  const reason = textArg(ctx, a.reason, 'reason', 256);
  ctx.emit(a.frozen ? 'Frozen' : 'Unfrozen', { wallet: w.id, reason });
  return walletView(ctx, w);
}

// ---------------------------------------------------------------- tier one

/** An operator reports the reserves it holds at the central bank (fen): its ceiling. */
export function reportReserves(ctx: Context, args: Args): Operator {
  const org = requireOperator(ctx);
  const a = fields(ctx, args, ['amount']);
  if (typeof a.amount !== 'number' || !Number.isSafeInteger(a.amount) || a.amount < 0) {
    fail(ctx, 'CBDC_INVALID_ARGS', 'amount must be a safe integer of fen');
  }
  const op = operatorRec(ctx, org);
  if (a.amount < op.allocated) {
    fail(
      ctx,
      'CBDC_OVER_RESERVES',
      `${org} was allocated ${op.allocated} fen; its reserves cannot be less`,
    );
  }
  op.reserves = a.amount;
  ctx.state.set(keys.operator(org), op);
  ctx.emit('Reserves', { operator: org, reserves: op.reserves });
  return op;
}

/** The central bank issues `amount` fen into its vault, at most the operators' reserves in all. */
export function issue(ctx: Context, args: Args): M0 {
  const r = requireCentral(ctx);
  const amount = amountArg(ctx, fields(ctx, args, ['amount']).amount);
  const reserves = r.operators.reduce((s, o) => s + operatorRec(ctx, o).reserves, 0);
  const m = m0(ctx);
  if (m.issued - m.redeemed + amount > reserves) {
    fail(
      ctx,
      'CBDC_OVER_RESERVES',
      `outstanding ${m.issued - m.redeemed} fen plus ${amount} fen is above the operators' reserves of ${reserves} fen`,
    );
  }
  m.issued += amount;
  m.central += amount;
  ctx.state.set(keys.m0, m);
  ctx.emit('Issued', { amount, issued: m.issued });
  return m;
}

/** The central bank allocates `amount` fen to an operator, up to that operator's reserves. */
export function allocate(ctx: Context, args: Args): Operator {
  const r = requireCentral(ctx);
  const a = fields(ctx, args, ['operator', 'amount']);
  const amount = amountArg(ctx, a.amount);
  if (typeof a.operator !== 'string' || !r.operators.includes(a.operator)) {
    fail(ctx, 'CBDC_NOT_OPERATOR', `${JSON.stringify(a.operator)} is not an operator`);
  }
  const op = operatorRec(ctx, a.operator);
  if (op.allocated + amount > op.reserves) {
    fail(
      ctx,
      'CBDC_OVER_RESERVES',
      `${op.org} has ${op.allocated} fen allocated and reserves of ${op.reserves} fen`,
    );
  }
  const m = m0(ctx);
  if (m.central < amount) {
    fail(ctx, 'CBDC_INSUFFICIENT', `the central bank holds ${m.central} fen unallocated`);
  }
  m.central -= amount;
  m.operators += amount;
  ctx.state.set(keys.m0, m);
  op.allocated += amount;
  op.vault += amount;
  ctx.state.set(keys.operator(op.org), op);
  ctx.emit('Allocated', { operator: op.org, amount, allocated: op.allocated });
  return op;
}

/** The central bank changes a class's limits (fen; null for none); operators' limits stay within. */
export function setPolicy(ctx: Context, args: Args): Policy {
  requireCentral(ctx);
  const a = fields(ctx, args, ['class', 'limits']);
  const pol = policy(ctx);
  const cls = classArg(ctx, a.class);
  pol.classes[String(cls)] = limitsArg(ctx, a.limits);
  ctx.state.set(keys.policy, pol);
  ctx.emit('PolicySet', { class: cls, limits: pol.classes[String(cls)] });
  return pol;
}

// ---------------------------------------------------------------- tier two: operators

/** An operator sets its own limits for a class, within the central bank's policy. */
export function setLimits(ctx: Context, args: Args): Obj {
  const org = requireOperator(ctx);
  const a = fields(ctx, args, ['class', 'limits']);
  const cls = classArg(ctx, a.class);
  const lim = limitsArg(ctx, a.limits);
  const pol = policy(ctx).classes[String(cls)];
  if (!withinLimits(lim, pol)) {
    fail(ctx, 'CBDC_OVER_POLICY', `class ${cls} limits must be within the policy's`);
  }
  const own = ctx.state.get<Obj>(keys.limits(org)) ?? {};
  own[String(cls)] = lim;
  ctx.state.set(keys.limits(org), own);
  ctx.emit('LimitsSet', { operator: org, class: cls, limits: lim });
  return own;
}

/**
 * An operator opens a wallet of a class for a key it certified: `wallet` is that key's
 * account id, `link` the KYC link encrypted to the regulator and to the operator itself.
 */
export function openWallet(ctx: Context, args: Args): Obj {
  const org = requireOperator(ctx);
  const a = fields(ctx, args, ['wallet', 'class', 'merchant', 'link']);
  const id = idArg(ctx, a.wallet);
  if (ctx.state.has(keys.wallet(id))) fail(ctx, 'CBDC_WALLET_EXISTS', `wallet ${id} exists`);
  const w: Wallet = {
    id,
    operator: org,
    class: classArg(ctx, a.class),
    parent: null,
    merchant: textArg(ctx, a.merchant, 'merchant', 128),
    limits: null,
    balance: 0,
    day: 0,
    spent: 0,
    frozen: false,
    openedAt: ctx.block.time,
  };
  ctx.state.set(keys.link(id), linkArg(ctx, a.link));
  save(ctx, w);
  const op = operatorRec(ctx, org);
  op.wallets += 1;
  ctx.state.set(keys.operator(org), op);
  ctx.emit('WalletOpened', { wallet: id, operator: org, class: w.class, merchant: w.merchant });
  return walletView(ctx, w);
}

/**
 * The wallet's operator moves it to another class (an upgrade after more KYC, or a
 * downgrade), with the re-encrypted link when the KYC grew; a downgrade below the balance
 * held is refused.
 */
export function setClass(ctx: Context, args: Args): Obj {
  const a = fields(ctx, args, ['wallet', 'class', 'link']);
  const w = walletRec(ctx, idArg(ctx, a.wallet));
  requireOwnCustomer(ctx, w);
  if (w.parent !== null) {
    fail(ctx, 'CBDC_INVALID_ARGS', 'a sub-wallet takes its class from its parent');
  }
  const from = w.class;
  w.class = classArg(ctx, a.class);
  const lim = limitsOf(ctx, w, policy(ctx));
  if (lim.balance !== null && w.balance > lim.balance) {
    fail(ctx, 'LIMIT_BALANCE', `the wallet holds ${w.balance} fen, above class ${w.class}'s limit`);
  }
  if (a.link !== undefined) ctx.state.set(keys.link(w.id), linkArg(ctx, a.link));
  save(ctx, w);
  ctx.emit('ClassChanged', { wallet: w.id, from, to: w.class });
  return walletView(ctx, w);
}

/** The operator exchanges a customer's deposit into e-cash: from its allocation to the wallet. */
export function exchange(ctx: Context, args: Args): Obj {
  const a = fields(ctx, args, ['wallet', 'amount']);
  const w = walletRec(ctx, idArg(ctx, a.wallet));
  requireOwnCustomer(ctx, w);
  const amount = amountArg(ctx, a.amount);
  const op = operatorRec(ctx, w.operator);
  if (op.vault < amount) {
    fail(
      ctx,
      'CBDC_OVER_ALLOCATION',
      `${op.org} has ${op.vault} fen of its allocation left, not ${amount}`,
    );
  }
  const pol = policy(ctx);
  receive(ctx, w, amount, pol);
  op.vault -= amount;
  op.exchanged += amount;
  ctx.state.set(keys.operator(op.org), op);
  moveM0(ctx, 'operators', 'wallets', amount);
  save(ctx, w);
  flow(ctx, 'exchange', op.org, { from: null, to: w.id, amount }, null);
  ctx.emit('Exchanged', { wallet: w.id, operator: op.org, amount });
  return walletView(ctx, w);
}

// ---------------------------------------------------------------- wallets (signed by their keys)

/** The wallet (signing) redeems `amount` fen to its deposit account: the money is burnt. */
export function redeem(ctx: Context, args: Args): Obj {
  const w = signingWallet(ctx);
  const amount = amountArg(ctx, fields(ctx, args, ['amount']).amount);
  refuseFrozen(ctx, w, 'redeeming');
  if (w.balance < amount) {
    fail(ctx, 'CBDC_INSUFFICIENT', `wallet ${w.id} holds ${w.balance} fen, not ${amount}`);
  }
  w.balance -= amount;
  save(ctx, w);
  const op = operatorRec(ctx, w.operator);
  op.redeemed += amount;
  ctx.state.set(keys.operator(op.org), op);
  moveM0(ctx, 'wallets', 'redeemed', amount);
  flow(ctx, 'redeem', w.operator, { from: w.id, to: null, amount }, null);
  ctx.emit('Redeemed', { wallet: w.id, operator: w.operator, amount });
  return walletView(ctx, w);
}

/** The wallet (signing) pays another wallet or a merchant, within both wallets' limits. */
export function pay(ctx: Context, args: Args): Obj {
  const payer = signingWallet(ctx);
  const a = fields(ctx, args, ['to', 'amount', 'memo']);
  const to = idArg(ctx, a.to, 'to');
  if (to === payer.id) fail(ctx, 'CBDC_INVALID_ARGS', 'a wallet cannot pay itself');
  const amount = amountArg(ctx, a.amount);
  const memo = textArg(ctx, a.memo, 'memo', 140);
  const payee = walletRec(ctx, to);
  const pol = policy(ctx);
  spend(ctx, payer, amount, pol);
  receive(ctx, payee, amount, pol);
  save(ctx, payer, payee);
  flow(ctx, 'payment', payer.operator, { from: payer.id, to, amount, memo }, pol);
  ctx.emit('Paid', { from: payer.id, to, amount, memo });
  return { from: payer.id, to, amount, memo, balance: payer.balance, spentToday: payer.spent };
}

/**
 * The wallet (signing) opens a sub-wallet for a key its operator certified, with limits of
 * its own within the parent's (a company's or a family's wallets).
 */
export function openSubWallet(ctx: Context, args: Args): Obj {
  const parent = signingWallet(ctx);
  if (parent.parent !== null) fail(ctx, 'CBDC_INVALID_ARGS', 'a sub-wallet has no sub-wallets');
  refuseFrozen(ctx, parent, 'parent');
  const a = fields(ctx, args, ['wallet', 'limits']);
  const id = idArg(ctx, a.wallet);
  if (ctx.state.has(keys.wallet(id))) fail(ctx, 'CBDC_WALLET_EXISTS', `wallet ${id} exists`);
  const lim = limitsArg(ctx, a.limits);
  if (!withinLimits(lim, limitsOf(ctx, parent, policy(ctx)))) {
    fail(ctx, 'CBDC_OVER_POLICY', "a sub-wallet's limits must be within its parent's");
  }
  const w: Wallet = {
    id,
    operator: parent.operator,
    class: parent.class,
    parent: parent.id,
    merchant: null,
    limits: lim,
    balance: 0,
    day: 0,
    spent: 0,
    frozen: false,
    openedAt: ctx.block.time,
  };
  // The person behind a sub-wallet is its parent's: the regulator resolves through it.
  ctx.state.set(keys.link(id), { parent: parent.id });
  save(ctx, w);
  ctx.emit('WalletOpened', { wallet: id, operator: w.operator, class: w.class, parent: parent.id });
  return walletView(ctx, w);
}

// ---------------------------------------------------------------- programmable payments

interface Escrow extends Obj {
  id: string;
  payer: string;
  merchant: string;
  perDelivery: number;
  deliveries: number;
  released: number;
  /** Block time after which the payer may cancel too; 0: only the merchant cancels. */
  deadline: number;
  status: string;
  memo: string | null;
}

function escrowRec(ctx: Context, id: Value | undefined): Escrow {
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) {
    fail(ctx, 'CBDC_INVALID_ARGS', 'id must be the 64-hex id of the tx that opened it');
  }
  const e = ctx.state.get<Escrow>(keys.escrow(id));
  if (!e) fail(ctx, 'CBDC_UNKNOWN_ESCROW', `no escrow ${id}`);
  return e;
}

/**
 * The wallet (signing) prepays a merchant for `deliveries` services of `perDelivery` fen
 * each: the whole sum leaves the wallet (within its limits) and is held until released per
 * delivery or refunded. Its id is this tx's id.
 */
export function escrowOpen(ctx: Context, args: Args): Escrow {
  const payer = signingWallet(ctx);
  const a = fields(ctx, args, ['merchant', 'perDelivery', 'deliveries', 'deadline', 'memo']);
  const merchant = walletRec(ctx, idArg(ctx, a.merchant, 'merchant'));
  if (merchant.id === payer.id) fail(ctx, 'CBDC_INVALID_ARGS', 'a wallet cannot prepay itself');
  refuseFrozen(ctx, merchant, 'merchant');
  const per = amountArg(ctx, a.perDelivery, 'perDelivery');
  const n = amountArg(ctx, a.deliveries, 'deliveries');
  const total = per * n;
  if (!Number.isSafeInteger(total)) fail(ctx, 'CBDC_INVALID_ARGS', 'the total is too large');
  const deadline = a.deadline === undefined ? 0 : amountArg(ctx, a.deadline, 'deadline');
  const pol = policy(ctx);
  spend(ctx, payer, total, pol);
  save(ctx, payer);
  moveM0(ctx, 'wallets', 'escrowed', total);
  const e: Escrow = {
    id: ctx.txId,
    payer: payer.id,
    merchant: merchant.id,
    perDelivery: per,
    deliveries: n,
    released: 0,
    deadline,
    status: 'open',
    memo: textArg(ctx, a.memo, 'memo', 140),
  };
  ctx.state.set(keys.escrow(e.id), e);
  flow(ctx, 'escrow', payer.operator, { from: payer.id, to: null, amount: total }, pol);
  ctx.emit('EscrowOpened', e);
  return e;
}

/** The payer (signing) confirms `count` delivered services: their price goes to the merchant. */
export function escrowRelease(ctx: Context, args: Args): Escrow {
  const payer = signingWallet(ctx);
  const a = fields(ctx, args, ['id', 'count']);
  const e = escrowRec(ctx, a.id);
  if (e.payer !== payer.id) fail(ctx, 'CBDC_FORBIDDEN', 'only the payer confirms deliveries');
  if (e.status !== 'open') fail(ctx, 'CBDC_CLOSED', `escrow ${e.id} is ${e.status}`);
  const count = a.count === undefined ? 1 : amountArg(ctx, a.count, 'count');
  if (e.released + count > e.deliveries) {
    fail(ctx, 'CBDC_INVALID_ARGS', `${e.deliveries - e.released} deliveries are left`);
  }
  const amount = count * e.perDelivery;
  const merchant = walletRec(ctx, e.merchant);
  receive(ctx, merchant, amount, policy(ctx));
  save(ctx, merchant);
  moveM0(ctx, 'escrowed', 'wallets', amount);
  e.released += count;
  if (e.released === e.deliveries) e.status = 'done';
  ctx.state.set(keys.escrow(e.id), e);
  flow(ctx, 'release', payer.operator, { from: payer.id, to: merchant.id, amount }, null);
  ctx.emit('EscrowReleased', { id: e.id, count, amount, released: e.released });
  return e;
}

/**
 * The merchant (signing) stops, or the payer after the deadline: what was not released goes
 * back to the payer (a refund of its own money, so no limit applies).
 */
export function escrowCancel(ctx: Context, args: Args): Escrow {
  const signer = signingWallet(ctx);
  const e = escrowRec(ctx, fields(ctx, args, ['id']).id);
  if (e.status !== 'open') fail(ctx, 'CBDC_CLOSED', `escrow ${e.id} is ${e.status}`);
  if (signer.id === e.payer) {
    if (e.deadline === 0 || ctx.block.time < e.deadline) {
      fail(ctx, 'CBDC_DEADLINE_NOT_REACHED', 'the payer cancels only after the deadline');
    }
  } else if (signer.id !== e.merchant) {
    fail(ctx, 'CBDC_FORBIDDEN', 'only the merchant (or the payer after the deadline) cancels');
  }
  const refund = (e.deliveries - e.released) * e.perDelivery;
  const payer = signer.id === e.payer ? signer : walletRec(ctx, e.payer);
  payer.balance += refund;
  save(ctx, payer);
  moveM0(ctx, 'escrowed', 'wallets', refund);
  e.status = 'cancelled';
  ctx.state.set(keys.escrow(e.id), e);
  flow(ctx, 'refund', payer.operator, { from: null, to: payer.id, amount: refund }, null);
  ctx.emit('EscrowCancelled', { id: e.id, refund });
  return e;
}

interface Cond extends Obj {
  id: string;
  payer: string;
  to: string;
  amount: number;
  confirmer: string;
  deadline: number;
  status: string;
  memo: string | null;
}

function condRec(ctx: Context, id: Value | undefined): Cond {
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) {
    fail(ctx, 'CBDC_INVALID_ARGS', 'id must be the 64-hex id of the tx that made it');
  }
  const c = ctx.state.get<Cond>(keys.cond(id));
  if (!c) fail(ctx, 'CBDC_UNKNOWN_ESCROW', `no conditional payment ${id}`);
  return c;
}

/**
 * The wallet (signing) pays `to` on condition that `confirmer` (an account id: a wallet or
 * any member) confirms before `deadline` (block time, ms); the money is held until then.
 */
export function condPay(ctx: Context, args: Args): Cond {
  const payer = signingWallet(ctx);
  const a = fields(ctx, args, ['to', 'amount', 'confirmer', 'deadline', 'memo']);
  const to = walletRec(ctx, idArg(ctx, a.to, 'to'));
  if (to.id === payer.id) fail(ctx, 'CBDC_INVALID_ARGS', 'a wallet cannot pay itself');
  const amount = amountArg(ctx, a.amount);
  const deadline = amountArg(ctx, a.deadline, 'deadline');
  if (deadline <= ctx.block.time) fail(ctx, 'CBDC_DEADLINE_PASSED', 'the deadline has passed');
  const pol = policy(ctx);
  spend(ctx, payer, amount, pol);
  save(ctx, payer);
  moveM0(ctx, 'wallets', 'escrowed', amount);
  const c: Cond = {
    id: ctx.txId,
    payer: payer.id,
    to: to.id,
    amount,
    confirmer: idArg(ctx, a.confirmer, 'confirmer'),
    deadline,
    status: 'pending',
    memo: textArg(ctx, a.memo, 'memo', 140),
  };
  ctx.state.set(keys.cond(c.id), c);
  flow(ctx, 'conditional', payer.operator, { from: payer.id, to: null, amount }, pol);
  ctx.emit('ConditionalPayment', c);
  return c;
}

/** The named confirmer confirms before the deadline: the payment settles to its payee. */
export function condConfirm(ctx: Context, args: Args): Cond {
  const c = condRec(ctx, fields(ctx, args, ['id']).id);
  if (ctx.sender.id !== c.confirmer || ctx.caller !== null) {
    fail(ctx, 'CBDC_NOT_CONFIRMER', `only ${c.confirmer} confirms this payment`);
  }
  if (c.status !== 'pending') fail(ctx, 'CBDC_CLOSED', `the payment is ${c.status}`);
  if (ctx.block.time >= c.deadline) {
    fail(ctx, 'CBDC_DEADLINE_PASSED', 'the deadline has passed: the payer may reclaim it');
  }
  const to = walletRec(ctx, c.to);
  receive(ctx, to, c.amount, policy(ctx));
  save(ctx, to);
  moveM0(ctx, 'escrowed', 'wallets', c.amount);
  c.status = 'settled';
  ctx.state.set(keys.cond(c.id), c);
  flow(ctx, 'settle', to.operator, { from: c.payer, to: c.to, amount: c.amount }, null);
  ctx.emit('ConditionalSettled', { id: c.id });
  return c;
}

/** Anyone returns an unconfirmed payment to its payer once its deadline has passed. */
export function condReclaim(ctx: Context, args: Args): Cond {
  const c = condRec(ctx, fields(ctx, args, ['id']).id);
  if (c.status !== 'pending') fail(ctx, 'CBDC_CLOSED', `the payment is ${c.status}`);
  if (ctx.block.time < c.deadline) {
    fail(
      ctx,
      'CBDC_DEADLINE_NOT_REACHED',
      `the payment waits for confirmation until ${c.deadline}`,
    );
  }
  const payer = walletRec(ctx, c.payer);
  payer.balance += c.amount;
  save(ctx, payer);
  moveM0(ctx, 'escrowed', 'wallets', c.amount);
  c.status = 'returned';
  ctx.state.set(keys.cond(c.id), c);
  flow(ctx, 'return', payer.operator, { from: null, to: payer.id, amount: c.amount }, null);
  ctx.emit('ConditionalReturned', { id: c.id });
  return c;
}

// ---------------------------------------------------------------- the regulator

/** The regulator sets the large-value alert threshold (fen). */
export function setAlertThreshold(ctx: Context, args: Args): Policy {
  const r = roles(ctx);
  if (!staffOf(ctx, r.regulator)) {
    fail(ctx, 'CBDC_NOT_REGULATOR', `only the regulator (${r.regulator}) sets the threshold`);
  }
  const pol = policy(ctx);
  pol.alertThreshold = amountArg(ctx, fields(ctx, args, ['amount']).amount);
  ctx.state.set(keys.policy, pol);
  ctx.emit('AlertThresholdSet', { amount: pol.alertThreshold });
  return pol;
}

/**
 * Put a look at a wallet's KYC link on the audit trail before the looker decrypts it: the
 * regulator for any wallet, an operator only for its own customers. Returns the entry and
 * the ciphertext for the looker's key (a sub-wallet resolves through its parent).
 */
export function recordResolution(ctx: Context, args: Args): Obj {
  const r = roles(ctx);
  const a = fields(ctx, args, ['wallet', 'reason']);
  let w = walletRec(ctx, idArg(ctx, a.wallet));
  const asked = w.id;
  if (w.parent !== null) w = walletRec(ctx, w.parent);
  let as: 'regulator' | 'operator';
  if (staffOf(ctx, r.regulator)) as = 'regulator';
  else if (r.operators.includes(ctx.sender.org) && staffOf(ctx, ctx.sender.org)) {
    if (w.operator !== ctx.sender.org) {
      fail(ctx, 'CBDC_NOT_YOUR_CUSTOMER', `wallet ${asked} is not a customer of ${ctx.sender.org}`);
    }
    as = 'operator';
  } else {
    fail(ctx, 'CBDC_NOT_REGULATOR', "only the regulator or the wallet's operator resolves it");
  }
  const n = ctx.state.get<number>(keys.resolutionCount) ?? 0;
  const entry: Obj = {
    n,
    wallet: asked,
    resolvedVia: w.id,
    org: ctx.sender.org,
    as,
    by: ctx.sender.name,
    reason: textArg(ctx, a.reason, 'reason', 256),
    time: ctx.block.time,
    height: ctx.block.height,
    txId: ctx.txId,
  };
  ctx.state.set(keys.resolution(n), entry);
  ctx.state.set(keys.resolutionCount, n + 1);
  ctx.emit('Resolved', entry);
  const link = ctx.state.get<Obj>(keys.link(w.id)) ?? {};
  return { entry, operator: w.operator, ciphertext: link[as] ?? null };
}

// ---------------------------------------------------------------- cross-border

/**
 * A correspondent: the central bank of the chain behind one of this chain's interchain clients.
 * The rate converts its fen into ours (`num / den`, rounded down); `received` counts its fen
 * paid to our wallets (our claim on it) and `paidOut` what our vault paid for them; `sent`
 * counts our fen its wallets received (its claim on us). Settling the claims between the two
 * central banks happens outside the chain.
 */
interface Correspondent extends Obj {
  client: string;
  num: number;
  den: number;
  enabled: boolean;
  received: number;
  paidOut: number;
  sent: number;
}

/** A payment sent abroad: pending until the other chain's ack (or the packet's timeout). */
interface Abroad extends Obj {
  client: string;
  sequence: number;
  from: string;
  to: string;
  amount: number;
  memo: string | null;
  status: string;
  reason: string | null;
  sentAt: number;
  settledAt: number | null;
}

/** Data of a cross-border payment packet (the version is part of the kind). */
const PAYMENT_KIND = 'cbdc-payment/v1';
const CLIENT_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Timeouts: by the receiving chain's block time, between 10 s and 7 days ahead. */
const TIMEOUT_MIN_MS = 10_000;
const TIMEOUT_MAX_MS = 7 * 86_400_000;
const TIMEOUT_DEFAULT_MS = 600_000;

function clientArg(ctx: Context, v: Value | undefined): string {
  if (typeof v !== 'string' || !CLIENT_ID.test(v)) {
    fail(ctx, 'CBDC_INVALID_ARGS', "client must be this chain's interchain client id");
  }
  return v;
}

function correspondentRec(ctx: Context, client: string): Correspondent | null {
  return ctx.state.get<Correspondent>(keys.correspondent(client)) ?? null;
}

/**
 * The central bank accepts payments from (and allows payments to) the chain behind `client`,
 * converting its fen at `num / den`; `enabled: false` stops both directions.
 */
export function setCorrespondent(ctx: Context, args: Args): Correspondent {
  requireCentral(ctx);
  const a = fields(ctx, args, ['client', 'num', 'den', 'enabled']);
  const client = clientArg(ctx, a.client);
  const ratio = (v: Value | undefined, field: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > 1_000_000) {
      fail(ctx, 'CBDC_INVALID_ARGS', `${field} must be an integer from 1 to 1,000,000`);
    }
    return v;
  };
  if (a.enabled !== undefined && typeof a.enabled !== 'boolean') {
    fail(ctx, 'CBDC_INVALID_ARGS', 'enabled must be a boolean');
  }
  const c: Correspondent = {
    received: 0,
    paidOut: 0,
    sent: 0,
    ...correspondentRec(ctx, client),
    client,
    num: ratio(a.num, 'num'),
    den: ratio(a.den, 'den'),
    enabled: a.enabled ?? true,
  };
  ctx.state.set(keys.correspondent(client), c);
  ctx.emit('CorrespondentSet', { client, num: c.num, den: c.den, enabled: c.enabled });
  return c;
}

/**
 * The wallet (signing) pays wallet `to` on the chain behind `client`, within its own limits:
 * the amount leaves the wallet now and is in transit until the other chain answers. Its
 * central bank credits the payee (or refuses, and the amount comes back here, as it does
 * when the packet times out).
 */
export function payAbroad(ctx: Context, args: Args): Abroad {
  const payer = signingWallet(ctx);
  const a = fields(ctx, args, ['client', 'to', 'amount', 'memo', 'timeoutMs']);
  const client = clientArg(ctx, a.client);
  const to = idArg(ctx, a.to, 'to');
  const amount = amountArg(ctx, a.amount);
  const memo = textArg(ctx, a.memo, 'memo', 140);
  let timeoutMs = TIMEOUT_DEFAULT_MS;
  if (a.timeoutMs !== undefined) {
    const t = a.timeoutMs;
    if (
      typeof t !== 'number' ||
      !Number.isSafeInteger(t) ||
      t < TIMEOUT_MIN_MS ||
      t > TIMEOUT_MAX_MS
    ) {
      fail(
        ctx,
        'CBDC_INVALID_ARGS',
        `timeoutMs must be from ${TIMEOUT_MIN_MS} to ${TIMEOUT_MAX_MS}`,
      );
    }
    timeoutMs = t;
  }
  const corr = correspondentRec(ctx, client);
  if (!corr?.enabled) {
    fail(
      ctx,
      'CBDC_NO_CORRESPONDENT',
      `the central bank has no correspondent over client ${client}`,
    );
  }
  const pol = policy(ctx);
  spend(ctx, payer, amount, pol);
  save(ctx, payer);
  moveM0(ctx, 'wallets', 'inTransit', amount);
  // The receiving chain's clock decides the timeout; ours is the best estimate of it here.
  const { sequence } = ctx.ibc.send({
    client,
    destPort: ctx.contract,
    data: { kind: PAYMENT_KIND, from: payer.id, to, amount, memo },
    timeoutTime: ctx.block.time + timeoutMs,
  });
  const rec: Abroad = {
    client,
    sequence,
    from: payer.id,
    to,
    amount,
    memo,
    status: 'sent',
    reason: null,
    sentAt: ctx.block.time,
    settledAt: null,
  };
  ctx.state.set(keys.abroad(client, sequence), rec);
  flow(
    ctx,
    'payment-abroad',
    payer.operator,
    { from: payer.id, to: `${client}:${to}`, amount, memo },
    pol,
  );
  ctx.emit('PaidAbroad', rec);
  return rec;
}

/** A cross-border payment's data, checked: what the paying chain's cbdc sends. */
function paymentData(
  ctx: Context,
  packet: Packet,
): { from: string; to: string; amount: number; memo: string | null } {
  const d = packet.data;
  if (typeof d !== 'object' || d === null || Array.isArray(d) || d.kind !== PAYMENT_KIND) {
    fail(ctx, 'CBDC_BAD_PACKET', `expected a ${PAYMENT_KIND} packet`);
  }
  const rec = d as Obj;
  if (typeof rec.from !== 'string' || !WALLET_ID.test(rec.from)) {
    fail(ctx, 'CBDC_BAD_PACKET', 'from must be a wallet id');
  }
  return {
    from: rec.from,
    to: idArg(ctx, rec.to, 'to'),
    amount: amountArg(ctx, rec.amount),
    memo: textArg(ctx, rec.memo, 'memo', 140),
  };
}

/**
 * A payment from a wallet abroad (called by `ibc` with a proven packet): our vault pays the
 * payee the converted amount under the payee's limits; any refusal becomes an error ack and the
 * payer is refunded on its chain.
 */
export function onRecv(ctx: Context, packet: Packet): Obj {
  if (packet.sourcePort !== ctx.contract) {
    fail(
      ctx,
      'CBDC_BAD_PACKET',
      `payments come from the ${ctx.contract} port, not ${packet.sourcePort}`,
    );
  }
  const p = paymentData(ctx, packet);
  const corr = correspondentRec(ctx, packet.destClient);
  if (!corr?.enabled) {
    fail(ctx, 'CBDC_NO_CORRESPONDENT', `no correspondent over client ${packet.destClient}`);
  }
  const product = p.amount * corr.num;
  if (!Number.isSafeInteger(product)) fail(ctx, 'CBDC_BAD_PACKET', 'the amount is too large');
  const local = Math.floor(product / corr.den);
  if (local <= 0) fail(ctx, 'CBDC_BAD_PACKET', `${p.amount} fen converts to nothing here`);
  const m = m0(ctx);
  if (m.central < local) {
    fail(ctx, 'CBDC_INSUFFICIENT', `the central bank's vault holds ${m.central} fen, not ${local}`);
  }
  const payee = walletRec(ctx, p.to);
  const pol = policy(ctx);
  receive(ctx, payee, local, pol);
  save(ctx, payee);
  moveM0(ctx, 'central', 'wallets', local);
  corr.received += p.amount;
  corr.paidOut += local;
  ctx.state.set(keys.correspondent(corr.client), corr);
  const from = `${packet.destClient}:${p.from}`;
  flow(
    ctx,
    'payment-from-abroad',
    payee.operator,
    { from, to: payee.id, amount: local, memo: p.memo },
    pol,
  );
  ctx.emit('PaidFromAbroad', {
    from,
    to: payee.id,
    amount: local,
    foreignAmount: p.amount,
    memo: p.memo,
  });
  return { to: payee.id, amount: local };
}

/** Settle a payment sent abroad: paid (now held abroad) or refunded to the payer. */
function settleAbroad(ctx: Context, packet: Packet, error: string | null): Abroad {
  const rec = ctx.state.get<Abroad>(keys.abroad(packet.sourceClient, packet.sequence));
  // Only this contract sends on this port, and ibc settles a packet once.
  if (rec?.status !== 'sent') {
    fail(ctx, 'CBDC_BAD_PACKET', `no pending payment ${packet.sourceClient}/${packet.sequence}`);
  }
  rec.settledAt = ctx.block.time;
  if (error === null) {
    rec.status = 'paid';
    moveM0(ctx, 'inTransit', 'abroad', rec.amount);
    const corr = correspondentRec(ctx, rec.client);
    if (corr) {
      corr.sent += rec.amount;
      ctx.state.set(keys.correspondent(corr.client), corr);
    }
  } else {
    // A refund of the payer's own money: no limit applies (escrowCancel does the same).
    rec.status = 'refunded';
    rec.reason = error;
    const payer = walletRec(ctx, rec.from);
    payer.balance += rec.amount;
    save(ctx, payer);
    moveM0(ctx, 'inTransit', 'wallets', rec.amount);
    flow(ctx, 'refund', payer.operator, { from: null, to: payer.id, amount: rec.amount }, null);
  }
  ctx.state.set(keys.abroad(rec.client, rec.sequence), rec);
  ctx.emit(error === null ? 'PaidAbroadSettled' : 'PaidAbroadRefunded', rec);
  return rec;
}

/** The other chain's answer to a payment sent abroad. */
export function onAck(ctx: Context, a: { packet: Packet; ack: Ack }): Abroad {
  return settleAbroad(ctx, a.packet, 'error' in a.ack ? a.ack.error : null);
}

/** A payment the other chain did not receive in time comes back to the payer. */
export function onTimeout(ctx: Context, packet: Packet): Abroad {
  return settleAbroad(ctx, packet, 'timeout: not received before the deadline');
}

// ---------------------------------------------------------------- queries

/** A wallet as people read it: balance, limits in force and what was spent today. */
function walletView(ctx: Context, w: Wallet): Obj {
  return {
    wallet: w.id,
    operator: w.operator,
    class: w.class,
    parent: w.parent,
    merchant: w.merchant,
    balance: w.balance,
    spentToday: spentToday(ctx, w),
    day: dayOf(ctx.block.time),
    limits: limitsOf(ctx, w, policy(ctx)) as unknown as Obj,
    frozen: w.frozen,
    openedAt: w.openedAt,
  };
}

/** A wallet's view, or null. */
export function wallet(ctx: Context, args: Args): Obj | null {
  const w = ctx.state.get<Wallet>(keys.wallet(idArg(ctx, fields(ctx, args, ['wallet']).wallet)));
  return w ? walletView(ctx, w) : null;
}

/** The roles, or null before setup. */
export function getRoles(ctx: Context): Roles | null {
  return ctx.state.get<Roles>(keys.roles) ?? null;
}

/** The class policy, the alert threshold, and each operator's own limits. */
export function getPolicy(ctx: Context): Obj {
  const r = ctx.state.get<Roles>(keys.roles);
  const operators: Obj = {};
  for (const o of r?.operators ?? []) operators[o] = ctx.state.get<Obj>(keys.limits(o)) ?? {};
  return { ...policy(ctx), operators };
}

/** M0 by bucket, each operator's figures, and whether the buckets add up. */
export function report(ctx: Context): Obj {
  const m = m0(ctx);
  const r = ctx.state.get<Roles>(keys.roles);
  const held = m.central + m.operators + m.wallets + m.escrowed + m.inTransit + m.abroad;
  return {
    ...m,
    outstanding: m.issued - m.redeemed,
    conserved: held === m.issued - m.redeemed,
    height: ctx.block.height,
    time: ctx.block.time,
    perOperator: (r?.operators ?? []).map((o) => operatorRec(ctx, o)),
  };
}

function dayArg(ctx: Context, v: Value | undefined): number {
  if (v === undefined) return dayOf(ctx.block.time);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > 999_999) {
    fail(ctx, 'CBDC_INVALID_ARGS', 'day must be a UTC day number (days since 1970-01-01)');
  }
  return v;
}

function pageArg(ctx: Context, v: Value | undefined): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > 999_999) {
    fail(ctx, 'CBDC_INVALID_ARGS', 'page must be an integer from 0');
  }
  return v;
}

/** Per operator, a day's flows: counts and sums (default today). */
export function aggregates(ctx: Context, args: Args): Obj {
  const day = dayArg(ctx, fields(ctx, args, ['day']).day);
  const out: Obj = {};
  for (const [k, v] of ctx.state.range<Agg>(keys.aggDay(day), 1000)) {
    out[k.slice(keys.aggDay(day).length)] = v;
  }
  return { day, operators: out };
}

/** One page (100) of a day's flows of one operator, in order. */
export function flows(ctx: Context, args: Args): Obj {
  const a = fields(ctx, args, ['day', 'operator', 'page']);
  const day = dayArg(ctx, a.day);
  if (typeof a.operator !== 'string') fail(ctx, 'CBDC_INVALID_ARGS', 'operator is required');
  const page = pageArg(ctx, a.page);
  const agg = ctx.state.get<Agg>(keys.agg(day, a.operator));
  const list = ctx.state.range(keys.flowPage(day, a.operator, page), PAGE_SIZE).map(([, v]) => v);
  return { day, operator: a.operator, page, total: agg?.flows ?? 0, flows: list };
}

/** A day's large-value alerts (up to 1000), by operator. */
export function alerts(ctx: Context, args: Args): Obj {
  const a = fields(ctx, args, ['day']);
  const day = dayArg(ctx, a.day);
  const list = ctx.state.range(keys.alertDay(day), 1000).map(([, v]) => v);
  return { day, threshold: policy(ctx).alertThreshold, alerts: list };
}

/** One page (100) of the audit trail of resolutions, oldest first. */
export function resolutions(ctx: Context, args: Args): Obj {
  const page = pageArg(ctx, fields(ctx, args, ['page']).page);
  const list = ctx.state.range(keys.resolutionPage(page), PAGE_SIZE).map(([, v]) => v);
  return { page, total: ctx.state.get<number>(keys.resolutionCount) ?? 0, entries: list };
}

/** An escrow by id, or null. */
export function escrow(ctx: Context, args: Args): Escrow | null {
  const id = fields(ctx, args, ['id']).id;
  return typeof id === 'string' ? (ctx.state.get<Escrow>(keys.escrow(id)) ?? null) : null;
}

/** A conditional payment by id, or null. */
export function conditional(ctx: Context, args: Args): Cond | null {
  const id = fields(ctx, args, ['id']).id;
  return typeof id === 'string' ? (ctx.state.get<Cond>(keys.cond(id)) ?? null) : null;
}

/** A wallet's encrypted KYC link (public ciphertext; only the keys' holders read it). */
export function link(ctx: Context, args: Args): Obj | null {
  const id = idArg(ctx, fields(ctx, args, ['wallet']).wallet);
  return ctx.state.get<Obj>(keys.link(id)) ?? null;
}

/** A payment sent abroad by client and sequence, or null. */
export function paymentAbroad(ctx: Context, args: Args): Abroad | null {
  const a = fields(ctx, args, ['client', 'sequence']);
  const client = clientArg(ctx, a.client);
  if (typeof a.sequence !== 'number' || !Number.isSafeInteger(a.sequence) || a.sequence < 1) {
    fail(ctx, 'CBDC_INVALID_ARGS', 'sequence must be a packet sequence (from 1)');
  }
  return ctx.state.get<Abroad>(keys.abroad(client, a.sequence)) ?? null;
}

/** The correspondents (up to 1000): rates and the claims each way. */
export function correspondents(ctx: Context): Obj {
  return {
    correspondents: ctx.state.range<Correspondent>(keys.correspondents, 1000).map(([, v]) => v),
  };
}
