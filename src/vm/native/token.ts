/** `token`: a fungible token; admins mint, anyone with a send role transfers. */
import { ArchiError } from '../../types/errors.ts';
import { utf8Bytes, utf8Text } from '../../types/json.ts';
import type { CallContext, NativeContract } from '../context.ts';
import { addressArg, amount, argsObject } from './args.ts';

const SUPPLY = 'supply';
const balanceKey = (addr: string): string => `bal/${addr}`;

function read(ctx: CallContext, key: string): bigint {
  const v = ctx.get(key);
  return v === undefined ? 0n : BigInt(utf8Text(v));
}

function write(ctx: CallContext, key: string, value: bigint): void {
  if (value === 0n) ctx.delete(key);
  else ctx.set(key, utf8Bytes(value.toString()));
}

export const tokenContract: NativeContract = {
  name: 'token',
  methods: {
    mint: {
      write: true,
      run(ctx, args) {
        if (ctx.sender.role !== 'admin')
          throw new ArchiError('TX_FORBIDDEN', 'only an admin may mint');
        const a = argsObject(args);
        const to = addressArg(a, 'to');
        const value = amount(a, 'amount');
        write(ctx, balanceKey(to), read(ctx, balanceKey(to)) + value);
        write(ctx, SUPPLY, read(ctx, SUPPLY) + value);
        ctx.emit('Mint', { to, amount: value.toString() });
        return null;
      },
    },
    transfer: {
      write: true,
      run(ctx, args) {
        const a = argsObject(args);
        const to = addressArg(a, 'to');
        const value = amount(a, 'amount');
        const from = ctx.sender.id;
        const fromBal = read(ctx, balanceKey(from));
        if (fromBal < value) {
          throw new ArchiError('INSUFFICIENT_BALANCE', `balance ${fromBal} is less than ${value}`);
        }
        write(ctx, balanceKey(from), fromBal - value);
        write(ctx, balanceKey(to), read(ctx, balanceKey(to)) + value);
        ctx.emit('Transfer', { from, to, amount: value.toString() });
        return null;
      },
    },
    balanceOf: {
      write: false,
      run(ctx, args) {
        return read(ctx, balanceKey(addressArg(argsObject(args), 'owner'))).toString();
      },
    },
    totalSupply: {
      write: false,
      run(ctx) {
        return read(ctx, SUPPLY).toString();
      },
    },
  },
};
