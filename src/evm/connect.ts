/**
 * Reaching an EVM node from the CLI and the relayer: a provider that fails fast with one clear
 * error when nothing answers (ethers' own provider retries network detection forever), never
 * answers from a stale cache (its default 250 ms cache makes a polling loop see an old head),
 * and a signer from a private key or, without one, the node's first unlocked account.
 */
import {
  type JsonRpcProvider as Provider,
  JsonRpcProvider,
  Network,
  type Signer,
  Wallet,
} from 'ethers';
import { ArchiError } from '../errors/index.ts';

/** A connected EVM node. */
export interface EvmConnection {
  url: string;
  provider: Provider;
  chainId: bigint;
}

/** Connects to the JSON-RPC node at `url`; NOT_READY when it does not answer within `timeoutMs`. */
export async function connectEvm(url: string, timeoutMs = 5000): Promise<EvmConnection> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ArchiError('INVALID_ARGS', `--evm must be an http(s) URL, got "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ArchiError('INVALID_ARGS', `--evm must be an http(s) URL, got "${url}"`);
  }
  let chainId: bigint;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.json()) as { result?: string };
    if (typeof body.result !== 'string') throw new Error('no chain id in the answer');
    chainId = BigInt(body.result);
  } catch (e) {
    throw new ArchiError(
      'NOT_READY',
      `no EVM node answers at ${url} (eth_chainId: ${(e as Error).message})`,
    );
  }
  const provider = new JsonRpcProvider(url, Network.from(chainId), {
    staticNetwork: true,
    cacheTimeout: -1,
    pollingInterval: 200,
  });
  return { url, provider, chainId };
}

/**
 * The signer of EVM txs: the private key `key` (hex, 0x optional), checked to hold funds; or,
 * without a key, the node's first unlocked account (dev nodes such as Hardhat's have them).
 */
export async function evmSigner(conn: EvmConnection, key?: string): Promise<Signer> {
  if (key === undefined) {
    const accounts: string[] = await conn.provider.send('eth_accounts', []);
    if (accounts.length === 0) {
      throw new ArchiError(
        'INVALID_ARGS',
        `the EVM node at ${conn.url} holds no unlocked account: pass --evm-key HEX`,
      );
    }
    return conn.provider.getSigner(accounts[0]);
  }
  const hex = key.startsWith('0x') ? key : `0x${key}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) {
    throw new ArchiError('INVALID_ARGS', '--evm-key must be a private key of 32 bytes in hex');
  }
  let wallet: Wallet;
  try {
    wallet = new Wallet(hex, conn.provider);
  } catch (e) {
    throw new ArchiError('INVALID_ARGS', `--evm-key is not a valid key: ${(e as Error).message}`);
  }
  if ((await conn.provider.getBalance(wallet.address)) === 0n) {
    throw new ArchiError(
      'INSUFFICIENT_BALANCE',
      `the --evm-key account ${wallet.address} holds no ether on chain ${conn.chainId} to pay gas`,
    );
  }
  return wallet;
}

/** The name of a contract's custom error in an ethers error (e.g. `PacketAlreadyReceived`), if any. */
export function revertName(e: unknown): string | undefined {
  const r = (e as { revert?: { name?: string } } | undefined)?.revert;
  return typeof r?.name === 'string' ? r.name : undefined;
}
