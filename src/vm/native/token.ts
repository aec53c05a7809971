/**
 * `token`: fungible tokens of many denominations (docs/INTERCHAIN.md, "Token transfers"). The
 * chain's own denomination, named by its chain id, is minted by admins; vouchers of other
 * chains' denominations only by interchain transfers (token-transfer.ts). Anyone with a send
 * role transfers. Every method's `denom` is optional and defaults to the own denomination.
 */
import { ArchiError } from '../../types/errors.ts';
import type { CallContext, NativeContract } from '../context.ts';
import { addressArg, amount, argsObject, onlyFields } from './args.ts';
import { CLIENT_ID } from './ibc/keys.ts';
import {
  balanceOf,
  type Denom,
  escrowOf,
  listTraces,
  mint,
  move,
  resolveDenom,
  supplyOf,
} from './token-ledger.ts';
import { transferMethods } from './token-transfer.ts';

/** Traces one `denoms` query lists at most. */
const TRACES_MAX = 500;

/** The args of a method, `{}` for none (queries such as totalSupply may be called without). */
function fields(args: unknown, allowed: string[], method: string): Record<string, unknown> {
  const a = args === undefined || args === null ? {} : argsObject(args);
  onlyFields(a, allowed, method);
  return a;
}

/** Event data: the own denomination's events keep their old shape, vouchers name theirs. */
function withDenom(d: Denom, data: Record<string, unknown>): Record<string, unknown> {
  return d.own ? data : { ...data, denom: d.name };
}

function clientArg(v: unknown): string {
  if (typeof v !== 'string' || !CLIENT_ID.test(v)) {
    throw new ArchiError('INVALID_ARGS', `client must match ${CLIENT_ID.source}`);
  }
  return v;
}

export const tokenContract: NativeContract = {
  name: 'token',
  methods: {
    mint: {
      write: true,
      run(ctx: CallContext, args) {
        if (ctx.sender.role !== 'admin')
          throw new ArchiError('TX_FORBIDDEN', 'only an admin may mint');
        const a = fields(args, ['to', 'amount', 'denom'], 'mint');
        const to = addressArg(a, 'to');
        const value = amount(a, 'amount');
        const d = resolveDenom(ctx, a.denom);
        if (!d.own) {
          throw new ArchiError(
            'TX_FORBIDDEN',
            `${d.name} is a voucher: vouchers are minted only by interchain transfers`,
          );
        }
        mint(ctx, d, to, value);
        ctx.emit('Mint', { to, amount: value.toString() });
        return null;
      },
    },
    transfer: {
      write: true,
      run(ctx, args) {
        const a = fields(args, ['to', 'amount', 'denom'], 'transfer');
        const to = addressArg(a, 'to');
        const value = amount(a, 'amount');
        const d = resolveDenom(ctx, a.denom);
        const from = ctx.sender.id;
        move(ctx, d, from, to, value);
        ctx.emit('Transfer', withDenom(d, { from, to, amount: value.toString() }));
        return null;
      },
    },
    balanceOf: {
      write: false,
      run(ctx, args) {
        const a = fields(args, ['owner', 'denom'], 'balanceOf');
        const owner = addressArg(a, 'owner');
        return balanceOf(ctx, resolveDenom(ctx, a.denom), owner).toString();
      },
    },
    totalSupply: {
      write: false,
      run(ctx, args) {
        const a = fields(args, ['denom'], 'totalSupply');
        return supplyOf(ctx, resolveDenom(ctx, a.denom)).toString();
      },
    },
    /** What this chain holds in escrow for transfers over `client`, in one denomination. */
    escrowOf: {
      write: false,
      run(ctx, args) {
        const a = fields(args, ['client', 'denom'], 'escrowOf');
        const client = clientArg(a.client);
        return escrowOf(ctx, client, resolveDenom(ctx, a.denom)).toString();
      },
    },
    /** The own denomination and the traces of the vouchers this chain has held. */
    denoms: {
      write: false,
      run(ctx, args) {
        fields(args, [], 'denoms');
        const traces = listTraces(ctx, TRACES_MAX + 1);
        return {
          own: ctx.config.chainId,
          denoms: traces.slice(0, TRACES_MAX),
          truncated: traces.length > TRACES_MAX,
        };
      },
    },
    ...transferMethods,
  },
};
