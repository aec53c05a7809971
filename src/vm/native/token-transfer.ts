/**
 * Token transfers between chains with ICS-20 semantics (docs/INTERCHAIN.md, "Token transfers"):
 * `sendTransfer` escrows a denomination leaving for another chain, or burns a voucher going
 * home, and sends a packet to the `token` port there; the `ibc` contract then calls the hooks
 * here: `onRecv` mints a voucher or releases escrow, `onAck` (an error) and `onTimeout` refund.
 */
import { ArchiError } from '../../types/errors.ts';
import type { CallContext, NativeMethod } from '../context.ts';
import { addressArg, amount, argsObject, onlyFields } from './args.ts';
import { homeOf, MAX_DENOM_CHARS, parseDenom, voucherOf } from './denom.ts';
import { type Ack, CLIENT_ID, IBC, type Packet } from './ibc/keys.ts';
import {
  burn,
  type Denom,
  escrow,
  mint,
  registerVoucher,
  resolveDenom,
  unescrow,
} from './token-ledger.ts';

/** The port of transfers on every chain: this contract's name. */
export const TOKEN_PORT = 'token';
/** Longest memo a transfer carries (it travels in the packet, within its 64 KiB). */
export const MAX_MEMO_CHARS = 4096;
/**
 * An account on the other chain as the sender names it: printable ASCII without spaces. The
 * receiving chain judges it (there, a 40-hex address), as in ICS-20: a wrong one is refunded.
 */
const ACCOUNT = /^[\x21-\x7e]{1,128}$/;
const POSITIVE = /^[1-9][0-9]{0,77}$/;

/** What a transfer packet carries (ICS-20's FungibleTokenPacketData). */
export interface TransferData {
  /** The denomination's full name on the sending chain. */
  denom: string;
  /** Positive decimal string. */
  amount: string;
  sender: string;
  receiver: string;
  memo: string;
}

const DATA_FIELDS = ['denom', 'amount', 'sender', 'receiver', 'memo'];

function invalid(message: string): never {
  throw new ArchiError('IBC_PACKET_INVALID', message);
}

/** A transfer packet's data, checked field by field (IBC_PACKET_INVALID). */
export function transferData(v: unknown): TransferData & { value: bigint } {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    invalid('transfer data must be an object');
  const d = v as Record<string, unknown>;
  for (const k of Object.keys(d)) {
    if (!DATA_FIELDS.includes(k)) invalid(`transfer data: unknown field ${JSON.stringify(k)}`);
  }
  const { denom, amount: value, sender, receiver, memo = '' } = d;
  if (typeof denom !== 'string' || parseDenom(denom) === null) {
    invalid('transfer data: denom must be a denomination (transfer/<client>/.../<base>)');
  }
  if (typeof value !== 'string' || !POSITIVE.test(value)) {
    invalid('transfer data: amount must be a positive decimal string');
  }
  for (const [k, s] of [
    ['sender', sender],
    ['receiver', receiver],
  ] as const) {
    if (typeof s !== 'string' || !ACCOUNT.test(s)) {
      invalid(`transfer data: ${k} must be 1..128 printable characters`);
    }
  }
  if (typeof memo !== 'string' || memo.length > MAX_MEMO_CHARS) {
    invalid(`transfer data: memo must be a string of at most ${MAX_MEMO_CHARS} characters`);
  }
  return {
    denom,
    amount: value,
    sender: sender as string,
    receiver: receiver as string,
    memo,
    value: BigInt(value),
  };
}

/** A 40-hex address from packet data (IBC_PACKET_INVALID), lower-cased. */
function address(s: string, what: string): string {
  try {
    return addressArg({ [what]: s }, what);
  } catch {
    return invalid(
      `transfer data: ${what} ${JSON.stringify(s)} is not an address of this chain (40 hex digits)`,
    );
  }
}

/** The packet a hook was given (ibc checked it; only the fields used here are looked at). */
function hookPacket(v: unknown): Packet {
  const p = v as Packet;
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.sourceClient !== 'string' ||
    typeof p.destClient !== 'string' ||
    typeof p.sourcePort !== 'string'
  ) {
    invalid('a transfer hook needs the packet');
  }
  return p;
}

function sendTransfer(ctx: CallContext, args: unknown): { sequence: number; denom: string } {
  const a = argsObject(args);
  onlyFields(
    a,
    ['client', 'receiver', 'amount', 'denom', 'timeoutHeight', 'timeoutTime', 'memo'],
    'sendTransfer',
  );
  const client = a.client;
  if (typeof client !== 'string' || !CLIENT_ID.test(client)) {
    throw new ArchiError('INVALID_ARGS', `client must match ${CLIENT_ID.source}`);
  }
  const receiver = a.receiver;
  if (typeof receiver !== 'string' || !ACCOUNT.test(receiver)) {
    throw new ArchiError(
      'INVALID_ARGS',
      'receiver must be an account of the other chain (1..128 printable characters)',
    );
  }
  const value = amount(a, 'amount');
  if (value === 0n) throw new ArchiError('INVALID_ARGS', 'amount must be positive');
  const memo = a.memo ?? '';
  if (typeof memo !== 'string' || memo.length > MAX_MEMO_CHARS) {
    throw new ArchiError(
      'INVALID_ARGS',
      `memo must be a string of at most ${MAX_MEMO_CHARS} characters`,
    );
  }
  const d = resolveDenom(ctx, a.denom);
  const sender = ctx.sender.id;
  // A voucher that came over this client goes back over it: it is burned here and the
  // escrow it stands for is released at home. Anything else leaves in escrow.
  const home = homeOf(d.name, client) !== null;
  if (home) burn(ctx, d, sender, value);
  else escrow(ctx, client, d, sender, value);
  const data: TransferData = { denom: d.name, amount: value.toString(), sender, receiver, memo };
  const send: Record<string, unknown> = { sourceClient: client, destPort: TOKEN_PORT, data };
  if (a.timeoutHeight !== undefined) send.timeoutHeight = a.timeoutHeight;
  if (a.timeoutTime !== undefined) send.timeoutTime = a.timeoutTime;
  const { sequence } = ctx.call(IBC, 'send', send) as { sequence: number };
  ctx.emit('SendTransfer', {
    sequence,
    client,
    denom: d.name,
    amount: data.amount,
    sender,
    receiver,
    how: home ? 'burn' : 'escrow',
  });
  return { sequence, denom: d.name };
}

function onRecv(ctx: CallContext, args: unknown): { denom: string } {
  const p = hookPacket(args);
  // Only the token contract of the other chain escrows or burns what it sends; anything
  // else sending here would mint vouchers backed by nothing.
  if (p.sourcePort !== TOKEN_PORT) {
    invalid(`transfers come from the ${TOKEN_PORT} port, not ${p.sourcePort}`);
  }
  const data = transferData(p.data);
  const receiver = address(data.receiver, 'receiver');
  const home = homeOf(data.denom, p.sourceClient);
  let d: Denom;
  if (home !== null) {
    // A denomination of this chain coming back: it left in escrow for the client it returns over.
    d = resolveDenom(ctx, home);
    unescrow(ctx, p.destClient, d, receiver, data.value);
  } else {
    const full = voucherOf(p.destClient, data.denom);
    if (full.length > MAX_DENOM_CHARS) {
      invalid(`the voucher's name would be longer than ${MAX_DENOM_CHARS} characters`);
    }
    d = registerVoucher(ctx, full);
    mint(ctx, d, receiver, data.value);
  }
  ctx.emit('RecvTransfer', {
    sequence: p.sequence,
    client: p.destClient,
    denom: d.name,
    amount: data.amount,
    sender: data.sender,
    receiver,
    how: home !== null ? 'unescrow' : 'mint',
  });
  return { denom: d.name };
}

/** Give a transfer that did not arrive back to its sender: re-mint a burned voucher, or unescrow. */
function refund(ctx: CallContext, p: Packet, reason: 'error' | 'timeout'): void {
  const data = transferData(p.data);
  const sender = address(data.sender, 'sender');
  const d = resolveDenom(ctx, data.denom);
  const burned = homeOf(data.denom, p.sourceClient) !== null;
  if (burned) mint(ctx, d, sender, data.value);
  else unescrow(ctx, p.sourceClient, d, sender, data.value);
  ctx.emit('RefundTransfer', {
    sequence: p.sequence,
    client: p.sourceClient,
    denom: d.name,
    amount: data.amount,
    sender,
    reason,
  });
}

const write = (run: NativeMethod['run']): NativeMethod => ({ write: true, run });

/** The transfer methods and IBC hooks of the `token` contract (token.ts adds them). */
export const transferMethods: Record<string, NativeMethod> = {
  sendTransfer: write(sendTransfer),
  onRecv: write(onRecv),
  onAck: write((ctx, args) => {
    const a = argsObject(args);
    const ack = a.ack as Ack;
    if (typeof ack === 'object' && ack !== null && 'error' in ack) {
      refund(ctx, hookPacket(a.packet), 'error');
    }
    return null;
  }),
  onTimeout: write((ctx, args) => {
    refund(ctx, hookPacket(args), 'timeout');
    return null;
  }),
};
