/**
 * Pure pieces of the Bridge page (docs/BRIDGE.md): the chain's attested clients of EVM chains
 * read defensively from the `ibc` contract's `clients` answer, and the few EVM JSON-RPC calls
 * the page makes to the bridge, its light client and the ERC-20 (ABI words encoded and decoded
 * by hand: selectors and event topics are constants, checked against the compiled ABIs by
 * bridge.test.ts, so the browser bundle needs no keccak or ethers).
 */

/** Function selectors (first 4 bytes of keccak256 of the signature). */
export const SELECTOR = {
  tokenOf: '0x97158235',
  clientId: '0x6bb3471a',
  lightClient: '0xb5700e68',
  latestHeight: '0xe405bbc3',
  status: '0x200d2ed2',
  totalSupply: '0x18160ddd',
  balanceOf: '0x70a08231',
} as const;

/** Event topics of the bridge. */
export const TOPIC = {
  Minted: '0x4196ee256342f765f5884689f32fa21ba4861d09fe12b6c484152fa313199a32',
  SendTransfer: '0x086e3e004cfad0f4ce665b1bed209f6b3eedf368e8401ef84f11605b7cdf9fbb',
} as const;

/** The light client's `Status` enum, in order. */
export const LC_STATUS = ['active', 'frozen', 'expired'] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An attested client of an EVM chain, as the page shows it. */
export interface AttestedClient {
  clientId: string;
  /** EIP-155 chain id. */
  evmChainId: string;
  bridge: string;
  confirmations: number;
  status: string;
}

/** The attested clients of a `clients` answer (a list, or `{clients: [...]}`); others skipped. */
export function readAttestedClients(v: unknown): AttestedClient[] {
  const list = Array.isArray(v) ? v : isObj(v) && Array.isArray(v.clients) ? v.clients : [];
  const out: AttestedClient[] = [];
  for (const c of list) {
    if (!isObj(c) || c.type !== 'attested') continue;
    if (typeof c.clientId !== 'string' || typeof c.chainId !== 'string') continue;
    if (typeof c.bridge !== 'string' || !/^(0x)?[0-9a-fA-F]{40}$/.test(c.bridge)) continue;
    out.push({
      clientId: c.clientId,
      evmChainId: c.chainId,
      bridge: c.bridge.startsWith('0x') ? c.bridge : `0x${c.bridge}`,
      confirmations: Number.isSafeInteger(c.confirmations) ? (c.confirmations as number) : 0,
      status: typeof c.status === 'string' ? c.status : 'unknown',
    });
  }
  return out;
}

// ---------------------------------------------------------------- ABI words

const strip = (h: string): string => h.replace(/^0x/, '');
const pad64 = (h: string): string => h.padStart(64, '0');

/** One `string` argument, ABI-encoded (offset, length, bytes padded to 32). */
export function encodeString(s: string): string {
  const bytes = new TextEncoder().encode(s);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const padded = hex.padEnd(Math.ceil(hex.length / 64) * 64, '0');
  return pad64('20') + pad64(bytes.length.toString(16)) + padded;
}

/** One `address` argument, ABI-encoded. */
export function encodeAddress(a: string): string {
  if (!/^(0x)?[0-9a-fA-F]{40}$/.test(a)) throw new Error(`not an EVM address: ${a}`);
  return pad64(strip(a).toLowerCase());
}

/** The 32-byte word `i` of ABI data (hex, 0x optional). */
export function word(data: string, i: number): string {
  const w = strip(data).slice(i * 64, i * 64 + 64);
  if (w.length !== 64) throw new Error(`ABI data has no word ${i}`);
  return w;
}

/** A uint word as a bigint. */
export const uintOf = (w: string): bigint => BigInt(`0x${w}`);

/** An address word as 0x + 40 hex digits (checksum not applied). */
export const addressOf = (w: string): string => `0x${w.slice(24)}`;

/** The `string` whose offset is in word `i` of `data`. */
export function stringAt(data: string, i: number): string {
  const d = strip(data);
  const at = Number(uintOf(word(d, i))) * 2;
  const len = Number(BigInt(`0x${d.slice(at, at + 64)}`));
  const hex = d.slice(at + 64, at + 64 + len * 2);
  const bytes = new Uint8Array(hex.length / 2);
  for (let k = 0; k < bytes.length; k++)
    bytes[k] = Number.parseInt(hex.slice(k * 2, k * 2 + 2), 16);
  return new TextDecoder().decode(bytes);
}

// ---------------------------------------------------------------- events

/** A log as `eth_getLogs` answers it. */
export interface RawLog {
  topics: string[];
  data: string;
  blockNumber: string;
  transactionHash: string;
}

/** A transfer the bridge logged: a mint (to the EVM) or a burn sent back (from it). */
export interface EvmTransfer {
  direction: 'to-evm' | 'from-evm';
  sequence: number;
  block: number;
  tx: string;
  denom: string;
  amount: string;
  /** The EVM address receiving (mint) or burning (send back). */
  evmAddress: string;
  /** The Archipelago receiver of a send back. */
  receiver?: string;
}

/** A `Minted` or `SendTransfer` log as a transfer; null for anything else or a malformed one. */
export function readTransferLog(log: RawLog): EvmTransfer | null {
  try {
    const base = {
      sequence: Number(uintOf(strip(log.topics[1]))),
      block: Number(BigInt(log.blockNumber)),
      tx: log.transactionHash,
    };
    if (log.topics[0] === TOPIC.Minted) {
      // Minted(uint64 indexed sequence, address indexed receiver, address token, string denom, uint256 amount)
      return {
        ...base,
        direction: 'to-evm',
        evmAddress: addressOf(strip(log.topics[2])),
        denom: stringAt(log.data, 1),
        amount: uintOf(word(log.data, 2)).toString(),
      };
    }
    if (log.topics[0] === TOPIC.SendTransfer) {
      // SendTransfer(uint64 indexed sequence, address indexed sender, string denom, uint256 amount, string receiver)
      return {
        ...base,
        direction: 'from-evm',
        evmAddress: addressOf(strip(log.topics[2])),
        denom: stringAt(log.data, 0),
        amount: uintOf(word(log.data, 1)).toString(),
        receiver: stringAt(log.data, 2),
      };
    }
  } catch {
    // malformed: skipped
  }
  return null;
}

// ---------------------------------------------------------------- JSON-RPC

/** The EVM node the page reads, over JSON-RPC from the browser. */
export class EvmRpc {
  private id = 0;
  constructor(readonly url: string) {}

  /** One JSON-RPC call; rejects with the node's error message. */
  async call(method: string, params: unknown[]): Promise<unknown> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++this.id, method, params }),
    });
    const body = (await res.json()) as { result?: unknown; error?: { message?: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message ?? 'error'}`);
    return body.result;
  }

  /** `eth_call` of `data` on `to` at the latest block; the answer's hex. */
  async ethCall(to: string, data: string): Promise<string> {
    return String(await this.call('eth_call', [{ to, data }, 'latest']));
  }

  /** Logs of `address` whose first topic is one of `topics`, from `fromBlock`. */
  async logs(address: string, topics: string[], fromBlock = 0): Promise<RawLog[]> {
    return (await this.call('eth_getLogs', [
      { address, topics: [topics], fromBlock: `0x${fromBlock.toString(16)}`, toBlock: 'latest' },
    ])) as RawLog[];
  }
}
