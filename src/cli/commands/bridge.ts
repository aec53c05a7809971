/**
 * `archi bridge to-evm|from-evm|status` (docs/BRIDGE.md, "CLI"): tokens between an Archipelago
 * chain and its EVM bridge (DIR/evm.json from `archi evm deploy`). `to-evm` escrows them here
 * (`token.sendTransfer` over the attested client) for the bridge to mint as an ERC-20;
 * `from-evm` burns the ERC-20 on the EVM (`sendTransfer` of the bridge) for Archipelago to
 * release; `--wait` follows the packet until it is settled on its sender (a relayer and the
 * validators' attestors do the carrying). `status` shows both sides: escrow, ERC-20 supply and
 * balances, the light client and the packets in flight.
 */
import type { Command } from 'commander';
import { Contract, type EventLog } from 'ethers';
import { artifact, EvmBridge, EvmLightClient } from '../../evm/bridge.ts';
import { connectEvm, type EvmConnection, evmSigner } from '../../evm/connect.ts';
import { type EvmBridgeRecord, evmRecordOf } from '../../evm/evm-record.ts';
import type { ArchiClient } from '../../sdk/client.ts';
import { remoteError } from '../../sdk/errors.ts';
import { allPendingPackets, type IbcClientView, waitForSettlement } from '../../sdk/ibc.ts';
import type { CommittedAnswer } from '../../sdk/types.ts';
import { ArchiError } from '../../types/errors.ts';
import { homeOf } from '../../vm/native/denom.ts';
import {
  addSigningOptions,
  addTargetOptions,
  archiCommand,
  ClientContext,
  cliOutput,
  intOption,
  type TargetFlags,
} from '../client-context.ts';
import { destDenomOf, transferStatus } from './ibc.ts';

function print(text: string): void {
  cliOutput.write(text.endsWith('\n') ? text : `${text}\n`);
}

const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function amountOf(text: string): bigint {
  if (!/^[1-9][0-9]{0,38}$/.test(text)) {
    throw new ArchiError('INVALID_ARGS', `--amount must be a positive integer, got "${text}"`);
  }
  return BigInt(text);
}

/** The record of the context's chain and an EVM connection to --evm or the recorded node. */
async function open(
  flags: TargetFlags & { evm?: string },
): Promise<{ ctx: ClientContext; record: EvmBridgeRecord; conn: EvmConnection; chainId: string }> {
  const ctx = ClientContext.resolve(flags);
  const info = await ctx.chainInfo();
  const record = evmRecordOf(ctx.dir, info.chainId, `${archiCommand()} evm deploy`);
  const conn = await connectEvm(flags.evm ?? record.evmUrl);
  if (String(conn.chainId) !== record.evmChainId) {
    conn.provider.destroy();
    throw new ArchiError(
      'INVALID_ARGS',
      `the EVM node at ${conn.url} is chain ${conn.chainId}, the bridge is on chain ${record.evmChainId}`,
    );
  }
  return { ctx, record, conn, chainId: info.chainId };
}

/** The client view `destDenomOf` needs, from the record. */
function clientView(record: EvmBridgeRecord): IbcClientView {
  return {
    clientId: record.archiClientId,
    counterpartyClientId: record.bridgeClientId,
  } as IbcClientView;
}

/** The first event `name` of the bridge about `sequence`, from the deployment block on. */
async function eventOf(
  bridge: EvmBridge,
  record: EvmBridgeRecord,
  name: string,
  sequence: number,
): Promise<EventLog | undefined> {
  const c = bridge.contract;
  const logs = await c.queryFilter(c.filters[name](sequence), record.deployBlock);
  return logs[0] as EventLog | undefined;
}

// ---------------------------------------------------------------- to-evm

interface ToEvmFlags extends TargetFlags {
  as: string;
  gas?: number;
  timeout: number;
  evm?: string;
  recipient: string;
  amount: string;
  denom?: string;
  timeoutSeconds: number;
  wait?: boolean;
  waitTimeout: number;
}

async function toEvm(flags: ToEvmFlags): Promise<void> {
  if (!EVM_ADDRESS.test(flags.recipient)) {
    throw new ArchiError(
      'INVALID_ARGS',
      `--recipient must be an EVM address (0x and 40 hex digits), got "${flags.recipient}"`,
    );
  }
  const amount = amountOf(flags.amount);
  const { ctx, record, conn } = await open(flags);
  try {
    const bridge = new EvmBridge(record.bridge, conn.provider);
    const out = await ctx.withNode(async (client: ArchiClient) => {
      const info = await ctx.chainInfo(client);
      const sender = ctx.identity(flags.as, info);
      const args: Record<string, unknown> = {
        client: record.archiClientId,
        receiver: flags.recipient,
        amount: amount.toString(),
        // EVM block time (ms): the bridge refuses it from then on, the attestors can then prove it absent.
        timeoutTime: Date.now() + flags.timeoutSeconds * 1000,
      };
      if (flags.denom !== undefined) args.denom = flags.denom;
      const answer = (await client.send(
        sender,
        { contract: 'token', method: 'sendTransfer', args, gasLimit: flags.gas },
        { wait: true, timeoutMs: flags.timeout },
      )) as CommittedAnswer;
      const r = answer.receipt;
      if (r.status !== 'ok') {
        throw remoteError(r.code, `sendTransfer failed in block ${answer.height}: ${r.message}`);
      }
      const sent = r.result as { sequence: number; denom?: string };
      const denom = typeof sent.denom === 'string' ? sent.denom : (flags.denom ?? info.chainId);
      const evmDenom = destDenomOf(denom, clientView(record));
      const result: Record<string, unknown> = {
        status: 'pending',
        sequence: sent.sequence,
        txId: answer.txId,
        height: answer.height,
        amount: amount.toString(),
        denom,
        evmDenom,
        recipient: flags.recipient,
        evmToken: await bridge.tokenOf(evmDenom),
      };
      if (flags.wait) {
        const s = await waitForSettlement(client, record.archiClientId, sent.sequence, {
          timeoutMs: flags.waitTimeout,
        });
        result.status = transferStatus(s);
        result.settledAt = s.height;
        if (s.ack) result.ack = s.ack;
        result.evmToken = await bridge.tokenOf(evmDenom);
        const recv = await eventOf(bridge, record, 'RecvPacket', sent.sequence);
        if (recv) result.evmTxHash = recv.transactionHash;
        if (result.evmToken) {
          result.evmBalance = (await bridge.balanceOf(evmDenom, flags.recipient)).toString();
        }
      }
      return result;
    });
    if (flags.json) {
      print(JSON.stringify(out, null, 2));
      return;
    }
    print(
      [
        `sent ${out.amount} ${out.denom} to ${out.recipient} on EVM chain ${record.evmChainId}: packet ${record.archiClientId}/${out.sequence} in block ${out.height}`,
        `on the EVM it is the ERC-20 ${out.evmToken ?? '(created on first receive)'} of ${out.evmDenom}`,
        out.status === 'pending'
          ? `a relayer delivers it (${archiCommand()} relay start --a DIR --evm URL)`
          : `status: ${out.status} (block ${out.settledAt})${out.evmTxHash ? `, received in EVM tx ${out.evmTxHash}` : ''}`,
      ].join('\n'),
    );
  } finally {
    conn.provider.destroy();
  }
}

// ---------------------------------------------------------------- from-evm

interface FromEvmFlags extends TargetFlags {
  evm?: string;
  evmKey: string;
  recipient: string;
  amount: string;
  denom?: string;
  timeoutSeconds: number;
  wait?: boolean;
  waitTimeout: number;
}

/**
 * The voucher's full name on the EVM for --denom: an Archipelago denomination (its own, or a
 * voucher held there such as `transfer/<client>/<denom>`) gets the bridge's prefix; a name
 * that already has it is the EVM's full name.
 */
export function evmDenomOf(record: EvmBridgeRecord, denom: string | undefined): string {
  const prefix = `transfer/${record.bridgeClientId}/`;
  if (denom?.startsWith(prefix)) return denom;
  return `${prefix}${denom ?? record.chainId}`;
}

async function fromEvm(flags: FromEvmFlags): Promise<void> {
  const amount = amountOf(flags.amount);
  if (!/^[0-9a-fA-F]{40}$/.test(flags.recipient) && !/^[\x21-\x7e]{1,128}$/.test(flags.recipient)) {
    throw new ArchiError(
      'INVALID_ARGS',
      `--recipient must be an Archipelago address, got "${flags.recipient}"`,
    );
  }
  const { ctx, record, conn } = await open(flags);
  try {
    const signer = await evmSigner(conn, flags.evmKey);
    const bridge = new EvmBridge(record.bridge, signer);
    const evmDenom = evmDenomOf(record, flags.denom);
    const owner = await signer.getAddress();
    const have = await bridge.balanceOf(evmDenom, owner);
    if (have < amount) {
      throw new ArchiError(
        'INSUFFICIENT_BALANCE',
        `${owner} holds ${have} of ${evmDenom} on the EVM, less than ${amount}`,
      );
    }
    const sent = await bridge.sendTransfer({
      denom: evmDenom,
      amount,
      receiver: flags.recipient,
      timeoutTime: Date.now() + flags.timeoutSeconds * 1000,
    });
    const seq = sent.packet.sequence;
    const home = homeOf(evmDenom, record.bridgeClientId);
    const out: Record<string, unknown> = {
      status: 'pending',
      sequence: seq,
      evmTxHash: sent.txHash,
      evmBlock: sent.blockNumber,
      amount: amount.toString(),
      evmDenom,
      denom: home ?? evmDenom,
      evmToken: await bridge.tokenOf(evmDenom),
      sender: owner,
      recipient: flags.recipient,
    };
    if (flags.wait) {
      const deadline = Date.now() + flags.waitTimeout;
      while (await bridge.pending(seq)) {
        if (Date.now() > deadline) {
          throw new ArchiError(
            'TIMEOUT',
            `EVM packet ${seq} was not settled within ${flags.waitTimeout} ms (are a relayer and the attestors running?)`,
          );
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      const ack = await eventOf(bridge, record, 'AckPacket', seq);
      const timeout = await eventOf(bridge, record, 'TimeoutPacket', seq);
      out.status = timeout ? 'timed-out' : ack && !ack.args.success ? 'refunded' : 'acked';
      const settle = timeout ?? ack;
      if (settle) out.settleTxHash = settle.transactionHash;
      out.evmBalance = (await bridge.balanceOf(evmDenom, owner)).toString();
      await ctx.withNode(async (client) => {
        out.balance = String(
          (await client.query('token', 'balanceOf', { owner: flags.recipient, denom: out.denom }))
            .result,
        );
      });
    }
    if (flags.json) {
      print(JSON.stringify(out, null, 2));
      return;
    }
    print(
      [
        `burned ${out.amount} ${evmDenom} of ${owner} on EVM chain ${record.evmChainId} (tx ${sent.txHash}): packet ${seq} to ${flags.recipient}`,
        out.status === 'pending'
          ? `the validators' attestors and a relayer bring it to ${record.chainId}`
          : `status: ${out.status}${out.balance !== undefined ? `; ${flags.recipient} holds ${out.balance} ${out.denom}` : ''}`,
      ].join('\n'),
    );
  } finally {
    conn.provider.destroy();
  }
}

// ---------------------------------------------------------------- status

interface StatusFlags extends TargetFlags {
  evm?: string;
  denom?: string;
  address?: string[];
  evmAddress?: string[];
}

async function status(flags: StatusFlags): Promise<void> {
  for (const a of flags.evmAddress ?? []) {
    if (!EVM_ADDRESS.test(a)) {
      throw new ArchiError(
        'INVALID_ARGS',
        `--evm-address must be 0x and 40 hex digits, got "${a}"`,
      );
    }
  }
  const { ctx, record, conn } = await open(flags);
  try {
    const bridge = new EvmBridge(record.bridge, conn.provider);
    const lc = new EvmLightClient(record.lightClient, conn.provider);
    const denom = flags.denom ?? record.chainId;
    const evmDenom = evmDenomOf(record, denom);
    const token = await bridge.tokenOf(evmDenom);
    const supply = token
      ? ((await new Contract(
          token,
          artifact('BridgedToken').abi,
          conn.provider,
        ).totalSupply()) as bigint)
      : 0n;
    const evmBalances: Record<string, string> = {};
    for (const a of flags.evmAddress ?? []) {
      evmBalances[a] = (await bridge.balanceOf(evmDenom, a)).toString();
    }
    const sent = await bridge.sentPackets(record.deployBlock);
    let fromEvmPending = 0;
    for (const s of sent) if (await bridge.pending(s.packet.sequence)) fromEvmPending++;
    const archi = await ctx.withNode(async (client) => {
      const q = async (method: string, args: unknown) =>
        (await client.query('token', method, args)).result;
      const balances: Record<string, string> = {};
      for (const a of flags.address ?? [])
        balances[a] = String(await q('balanceOf', { owner: a, denom }));
      return {
        escrow: String(await q('escrowOf', { client: record.archiClientId, denom })),
        balances,
        pending: (await allPendingPackets(client, record.archiClientId)).packets.length,
      };
    });
    const out = {
      chainId: record.chainId,
      evmChainId: record.evmChainId,
      bridge: record.bridge,
      lightClient: {
        address: record.lightClient,
        latestHeight: await lc.latestHeight(),
        status: await lc.status(),
      },
      denom,
      evmDenom,
      evmToken: token,
      escrow: archi.escrow,
      evmSupply: supply.toString(),
      balances: archi.balances,
      evmBalances,
      pending: { toEvm: archi.pending, fromEvm: fromEvmPending },
    };
    if (flags.json) {
      print(JSON.stringify(out, null, 2));
      return;
    }
    const lines = [
      `${record.chainId} <-> EVM chain ${record.evmChainId}: bridge ${record.bridge}, light client at height ${out.lightClient.latestHeight} (${out.lightClient.status})`,
      `${denom}: ${out.escrow} in escrow here; ${out.evmSupply} as the ERC-20 ${token ?? '(not created yet)'} there`,
      ...Object.entries(out.balances).map(([a, b]) => `  ${a}: ${b}`),
      ...Object.entries(out.evmBalances).map(([a, b]) => `  ${a}: ${b} (EVM)`),
      `in flight: ${out.pending.toEvm} to the EVM, ${out.pending.fromEvm} from it`,
    ];
    print(lines.join('\n'));
  } finally {
    conn.provider.destroy();
  }
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Adds `archi bridge ...` to the program. */
export function register(program: Command): void {
  const bridge = program
    .command('bridge')
    .description('tokens between this chain and its EVM bridge (archi evm deploy)');

  addSigningOptions(
    bridge
      .command('to-evm')
      .description('send tokens to an EVM address: escrowed here, minted there as an ERC-20')
      .requiredOption('--recipient <0x..>', 'the EVM address receiving the ERC-20')
      .requiredOption('--amount <n>', 'how much')
      .option('--denom <denom>', "denomination (default: this chain's own)")
      .option('--evm <url>', "EVM JSON-RPC node (default: evm.json's)")
      .option(
        '--timeout-seconds <s>',
        'time out at EVM block time now + S',
        intOption('--timeout-seconds', 1, 31_536_000),
        600,
      )
      .option('--wait', 'wait until the packet is acked, refunded or timed out')
      .option(
        '--wait-timeout <ms>',
        'how long --wait waits',
        intOption('--wait-timeout', 1, 86_400_000),
        120_000,
      ),
    'identity that sends (its balance pays)',
  ).action(toEvm);

  addTargetOptions(
    bridge
      .command('from-evm')
      .description('send ERC-20 vouchers back from the EVM: burned there, released here')
      .requiredOption('--evm-key <hex>', 'private key of the EVM account holding the vouchers')
      .requiredOption('--recipient <address>', 'the Archipelago address receiving the tokens')
      .requiredOption('--amount <n>', 'how much')
      .option(
        '--denom <denom>',
        "the chain's denomination (default: its own) or the voucher's full name",
      )
      .option('--evm <url>', "EVM JSON-RPC node (default: evm.json's)")
      .option(
        '--timeout-seconds <s>',
        "time out at Archipelago's block time now + S",
        intOption('--timeout-seconds', 1, 31_536_000),
        600,
      )
      .option('--wait', 'wait until the packet is settled on the EVM')
      .option(
        '--wait-timeout <ms>',
        'how long --wait waits',
        intOption('--wait-timeout', 1, 86_400_000),
        120_000,
      ),
  ).action(fromEvm);

  addTargetOptions(
    bridge
      .command('status')
      .description('both sides: escrow here, ERC-20 supply there, balances, packets in flight')
      .option('--denom <denom>', "denomination (default: this chain's own)")
      .option('--evm <url>', "EVM JSON-RPC node (default: evm.json's)")
      .option('--address <addr>', 'an Archipelago balance to show (repeatable)', collect)
      .option('--evm-address <0x..>', 'an EVM balance to show (repeatable)', collect),
  ).action(status);
}
