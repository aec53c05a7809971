/**
 * A fungible asset: admins issue it, holders transfer it. Balances are bigint in state;
 * amounts come in as decimal strings (or safe integers) and go out as decimal strings.
 */
import type { Context } from 'archipelago/contract';

const MAX = 2n ** 128n;

function amountOf(ctx: Context, v: unknown): bigint {
  const ok =
    (typeof v === 'string' && /^[0-9]{1,39}$/.test(v)) ||
    (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
  ctx.require(ok, 'amount must be a non-negative integer (decimal string or safe integer)');
  const n = BigInt(v as string | number);
  ctx.require(n > 0n && n < MAX, 'amount must be between 1 and 2^128 - 1');
  return n;
}

function accountOf(ctx: Context, v: unknown, field: string): string {
  ctx.require(
    typeof v === 'string' && /^[0-9a-f]{40}$/.test(v),
    `${field} must be a 40-hex-character account id`,
  );
  return v as string;
}

const balanceKey = (account: string): string => `balance/${account}`;

function balanceOf(ctx: Context, account: string): bigint {
  return ctx.state.get<bigint>(balanceKey(account)) ?? 0n;
}

function setBalance(ctx: Context, account: string, value: bigint): void {
  if (value === 0n) ctx.state.delete(balanceKey(account));
  else ctx.state.set(balanceKey(account), value);
}

/** Create `amount` new units for `to` (admins only). */
export function issue(ctx: Context, args: { to: string; amount: string | number }): string {
  ctx.require(ctx.sender.role === 'admin', 'only an organization admin may issue');
  const to = accountOf(ctx, args?.to, 'to');
  const amount = amountOf(ctx, args?.amount);
  const supply = (ctx.state.get<bigint>('supply') ?? 0n) + amount;
  ctx.require(supply < MAX, 'total supply would exceed 2^128 - 1');
  setBalance(ctx, to, balanceOf(ctx, to) + amount);
  ctx.state.set('supply', supply);
  ctx.emit('Issued', { to, amount, supply });
  return supply.toString();
}

/** Move `amount` from the sender to `to`. */
export function transfer(ctx: Context, args: { to: string; amount: string | number }): string {
  const from = ctx.sender.id;
  const to = accountOf(ctx, args?.to, 'to');
  const amount = amountOf(ctx, args?.amount);
  const have = balanceOf(ctx, from);
  ctx.require(have >= amount, `insufficient balance: ${have} < ${amount}`);
  setBalance(ctx, from, have - amount);
  setBalance(ctx, to, balanceOf(ctx, to) + amount);
  ctx.emit('Transfer', { from, to, amount });
  return (have - amount).toString();
}

/** Balance of `owner` as a decimal string. */
export function balance(ctx: Context, args: { owner: string }): string {
  return balanceOf(ctx, accountOf(ctx, args?.owner, 'owner')).toString();
}

/** Total issued, as a decimal string. */
export function supply(ctx: Context): string {
  return (ctx.state.get<bigint>('supply') ?? 0n).toString();
}
