/** Client commands: `archi status`, `tx send`, `tx get`, `block get`, `query`. */
import type { Command } from 'commander';
import { getProfile } from '../../crypto/profile.ts';
import { ArchiClient } from '../../sdk/client.ts';
import { remoteError } from '../../sdk/errors.ts';
import { buildAndSign } from '../../sdk/identity.ts';
import type { BlockJson, ReceiptJson, StatusJson, TxJson } from '../../sdk/types.ts';
import type { ChainSummaryJson } from '../../types/rpc-json.ts';
import { verifyQueryProof } from '../../sdk/verify.ts';
import { ArchiError } from '../../types/errors.ts';
import { parseJsonText } from '../../types/json.ts';
import {
  addTargetOptions,
  archiCommand,
  ClientContext,
  cliOutput,
  dirFlag,
  intOption,
  type TargetFlags,
  addSigningOptions,
} from '../client-context.ts';

const STATUS_TIMEOUT_MS = 5000;
const TX_ID = /^(0x)?[0-9a-fA-F]{64}$/;

/** One row of `archi status`. */
export interface NodeStatusRow {
  name: string;
  org: string | null;
  rpc: string;
  up: boolean;
  height: number | null;
  hash: string | null;
  stateRoot: string | null;
  round: number | null;
  peers: unknown[] | null;
  /** Peers this node has a live link to, of `peers`. */
  peersConnected: number | null;
  validator: boolean | null;
  /** 'waiting' while the chain does not list the node yet (a governance vote must admit it). */
  admission: 'member' | 'waiting' | null;
  /** Chain id the node reports. */
  chainId: string | null;
  /** Every chain the node hosts (null when it did not answer or is too old to say). */
  chains: ChainSummaryJson[] | null;
  error?: string;
}

/** A receipt as `tx send --wait` prints it. */
export interface ReceiptOutput {
  txId: string;
  status: 'ok' | 'error';
  code: string;
  message: string;
  height: number;
  gasUsed: number;
  result: unknown;
  events: ReceiptJson['events'];
}

function print(text: string): void {
  cliOutput.write(text.endsWith('\n') ? text : `${text}\n`);
}

function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

function short(h: string | null | undefined, n = 16): string {
  if (!h) return '-';
  return h.length > n ? `${h.slice(0, n)}…` : h;
}

/** Left-aligned text table with a header row. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function parseArgs(text: string | undefined): unknown {
  return parseJsonText(text ?? '{}', '--args');
}

/** Status of every target node; a node that does not answer is reported with up:false. */
export async function collectStatus(ctx: ClientContext): Promise<NodeStatusRow[]> {
  return Promise.all(
    ctx.nodes.map(async (n): Promise<NodeStatusRow> => {
      const base = { name: n.name, org: n.org ?? null, rpc: n.rpc };
      try {
        const s: StatusJson = await new ArchiClient(n.rpc, {
          timeoutMs: STATUS_TIMEOUT_MS,
          chainId: ctx.chainId,
        }).status();
        return {
          ...base,
          // With --rpc the only name we have is the URL; the node knows its own.
          name: ctx.viaRpc && typeof s.node === 'string' ? s.node : n.name,
          org: s.org ?? base.org,
          up: true,
          height: s.height,
          hash: s.hash,
          stateRoot: s.stateRoot,
          round: s.round,
          peers: s.peers,
          peersConnected: Array.isArray(s.peers) ? s.peers.filter(isConnected).length : null,
          validator: s.validator,
          // Nodes older than the field are members as far as anyone can tell.
          admission: s.admission ?? 'member',
          chainId: s.chainId ?? null,
          chains: Array.isArray(s.chains) ? s.chains : null,
        };
      } catch (e) {
        return {
          ...base,
          up: false,
          height: null,
          hash: null,
          stateRoot: null,
          round: null,
          peers: null,
          peersConnected: null,
          validator: null,
          admission: null,
          chainId: null,
          chains: null,
          error: e instanceof Error ? e.message : String(e),
        };
      }
    }),
  );
}

function isConnected(p: unknown): boolean {
  return typeof p === 'object' && p !== null && (p as { connected?: unknown }).connected === true;
}

function peerName(p: unknown): string | undefined {
  const name = typeof p === 'object' && p !== null ? (p as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name : undefined;
}

/** "connected/total" of a node's peer links, "-" when it has none (solo) or did not answer. */
function formatPeers(r: NodeStatusRow): string {
  if (r.peers === null || r.peers.length === 0) return '-';
  return `${r.peersConnected ?? 0}/${r.peers.length}`;
}

/**
 * A node the chain (as far as it synced) does not list yet but that members already talk
 * to: they only accept member nodes, so a vote admitted it and it is still catching up.
 */
function admittedSyncing(r: NodeStatusRow): boolean {
  return r.admission === 'waiting' && (r.peersConnected ?? 0) > 0;
}

function stateOf(r: NodeStatusRow): string {
  if (!r.up) return 'DOWN';
  if (admittedSyncing(r)) return 'admitted, syncing';
  return r.admission === 'waiting' ? 'waiting for admission' : 'up';
}

/** Human table of `archi status`, then a line for every node that needs a look. */
export function formatStatus(rows: NodeStatusRow[]): string {
  const table = formatTable(
    ['NODE', 'RPC', 'STATE', 'HEIGHT', 'HASH', 'STATE ROOT', 'ROUND', 'PEERS', 'VALIDATOR'],
    rows.map((r) => [
      r.name,
      r.rpc,
      stateOf(r),
      r.height === null ? '-' : String(r.height),
      short(r.hash),
      short(r.stateRoot),
      r.round === null ? '-' : String(r.round),
      formatPeers(r),
      r.validator === null ? '-' : r.validator ? 'yes' : 'no',
    ]),
  );
  const notes: string[] = [];
  const explained = new Set<string>();
  for (const r of rows) {
    if (!r.up) {
      notes.push(`${r.name} does not answer: ${r.error ?? `no answer at ${r.rpc}`}`);
      explained.add(r.name);
    } else if (admittedSyncing(r)) {
      notes.push(
        `${r.name} is admitted (members accept its links) and syncing: at height ${r.height}, it reports "member" once it has synced the block that admitted it`,
      );
    } else if (r.admission === 'waiting') {
      const who = r.org ? `${r.org}/${r.name}` : r.name;
      notes.push(
        `${r.name} is waiting for admission: not yet a member of chain ${r.chainId ?? '?'}; a governance vote must admit ${who} (see docs/GOVERNANCE.md)`,
      );
      explained.add(r.name);
    }
  }
  // Links that are down between nodes that both answer have no other explanation here.
  for (const r of rows) {
    if (!r.up || r.admission === 'waiting' || !r.peers) continue;
    const missing = r.peers
      .filter((p) => !isConnected(p))
      .map(peerName)
      .filter((n): n is string => n !== undefined && !explained.has(n));
    if (missing.length) notes.push(`${r.name} has no link to ${missing.join(', ')}`);
  }
  const answering = rows.filter((r) => r.up).length;
  if (rows.length > 1) notes.push(`${answering} of ${rows.length} nodes answer`);
  // The table is about one chain; name it, and list every chain when nodes host several.
  const several = rows.some((r) => (r.chains?.length ?? 0) > 1);
  const chainId = rows.find((r) => r.chainId)?.chainId;
  const title = several && chainId ? [`chain ${chainId}`] : [];
  const chains = several ? ['', formatChainRows(chainRows(rows))] : [];
  return [...title, table, ...chains, ...(notes.length ? ['', ...notes] : [])].join('\n');
}

/** One node's view of one chain, as `status` and `chain list` print it. */
export interface ChainRow {
  chain: string;
  node: string;
  summary: ChainSummaryJson;
}

/** Every (chain, node) pair the answering nodes report, grouped by chain in order of appearance. */
export function chainRows(rows: NodeStatusRow[]): ChainRow[] {
  const out: ChainRow[] = [];
  for (const r of rows) {
    for (const c of r.chains ?? []) out.push({ chain: c.id, node: r.name, summary: c });
  }
  const order = [...new Set(out.map((c) => c.chain))];
  return out.sort((a, b) => order.indexOf(a.chain) - order.indexOf(b.chain));
}

/** Text table of chains per node: height, hash, round, whether it votes, crypto, consensus. */
export function formatChainRows(rows: ChainRow[]): string {
  return formatTable(
    ['CHAIN', 'NODE', 'HEIGHT', 'HASH', 'ROUND', 'VALIDATOR', 'CRYPTO', 'CONSENSUS'],
    rows.map(({ chain, node, summary: c }) => [
      chain,
      node,
      String(c.height),
      short(c.hash),
      String(c.round),
      c.validator ? 'yes' : 'no',
      c.crypto,
      c.consensus,
    ]),
  );
}

function receiptOutput(txId: string, height: number, r: ReceiptJson): ReceiptOutput {
  return {
    txId,
    status: r.status,
    code: r.code,
    message: r.message,
    height,
    gasUsed: r.gasUsed,
    result: r.result,
    events: r.events,
  };
}

function formatReceipt(r: ReceiptOutput): string {
  const lines = [`txId: ${r.txId}`, `status: ${r.status}`];
  if (r.status !== 'ok') lines.push(`code: ${r.code}`, `message: ${r.message}`);
  lines.push(`height: ${r.height}`, `gasUsed: ${r.gasUsed}`, `result: ${JSON.stringify(r.result)}`);
  if (r.events.length) {
    lines.push('events:');
    for (const e of r.events) lines.push(`  ${e.contract}.${e.name} ${JSON.stringify(e.data)}`);
  }
  return lines.join('\n');
}

function formatTx(t: TxJson): string {
  const r = receiptOutput(t.txId, t.height, t.receipt);
  return [
    `txId: ${t.txId}`,
    `height: ${t.height} (index ${t.index})`,
    `chain: ${t.chainId}`,
    `call: ${t.contract}.${t.method}(${t.args})`,
    `sender: ${t.sender.org}`,
    `time: ${new Date(t.timestamp).toISOString()}`,
    ...formatReceipt(r).split('\n').slice(1),
  ].join('\n');
}

function formatBlock(b: BlockJson): string {
  const h = b.header;
  const lines = [
    `height: ${b.height}`,
    `hash: ${b.hash}`,
    `time: ${new Date(h.time).toISOString()}`,
    `stateRoot: ${h.stateRoot}`,
    `prevHash: ${h.prevHash}`,
    `proposer: ${h.proposer || '-'}`,
    `commit: ${b.commit ? `${b.commit.signatures.length} signatures (round ${b.commit.round})` : '-'}`,
    `txs: ${b.txs.length}`,
  ];
  for (const t of b.txs) lines.push(`  ${t.txId}  ${t.org}  ${t.contract}.${t.method}`);
  return lines.join('\n');
}

function parseHeight(text: string): number | 'latest' {
  return text === 'latest' ? 'latest' : parseHeightNumber(text, ' or "latest"');
}

function parseHeightNumber(text: string, orWhat = ''): number {
  if (!/^[0-9]{1,15}$/.test(text)) {
    throw new ArchiError(
      'INVALID_ARGS',
      `block height must be a non-negative integer${orWhat}, got "${text}"`,
    );
  }
  return Number(text);
}

interface SendFlags extends TargetFlags {
  contract: string;
  method: string;
  args?: string;
  as: string;
  wait?: boolean;
  gas?: number;
  timeout: number;
}

async function txSend(flags: SendFlags): Promise<void> {
  // Everything checkable offline is checked before anything is sent.
  const args = parseArgs(flags.args);
  const ctx = ClientContext.resolve(flags);
  const call = { contract: flags.contract, method: flags.method, args, gasLimit: flags.gas };
  const answer = await ctx.withNode(async (client) => {
    const info = await ctx.chainInfo(client);
    const identity = ctx.identity(flags.as, info);
    const tx = buildAndSign(identity, info.chainId, call);
    return flags.wait
      ? client.submitTx(tx.bytes, { wait: true, timeoutMs: flags.timeout })
      : client.submitTx(tx.bytes);
  });
  if (!('receipt' in answer)) {
    if (flags.json) printJson({ txId: answer.txId });
    else print(answer.txId);
    return;
  }
  const out = receiptOutput(answer.txId, answer.height, answer.receipt);
  if (flags.json) printJson(out);
  else print(formatReceipt(out));
  if (out.status !== 'ok') {
    throw remoteError(out.code, `tx ${out.txId} failed in block ${out.height}: ${out.message}`);
  }
}

interface QueryFlags extends TargetFlags {
  contract: string;
  method: string;
  args?: string;
  prove?: boolean;
}

async function query(flags: QueryFlags): Promise<void> {
  const args = parseArgs(flags.args);
  const ctx = ClientContext.resolve(flags);
  const out = await ctx.withNode(async (client) => {
    const answer = await client.query(flags.contract, flags.method, args, { prove: flags.prove });
    if (!flags.prove) return { ...answer };
    if (!answer.proof) throw new ArchiError('INTERNAL', `${client.url} answered without a proof`);
    const info = await ctx.chainInfo(client);
    const block = await client.getBlock(answer.proof.height);
    const checked = verifyQueryProof(getProfile(info.crypto), block, answer.proof);
    return { ...answer, verified: true as const, blockHash: checked.blockHash };
  });
  if (flags.json) {
    printJson(out);
    return;
  }
  print(JSON.stringify(out.result, null, 2) ?? 'null');
  if ('verified' in out) {
    const reads = out.proof?.reads.length ?? 0;
    print(
      `verified: true (height ${out.height}, ${reads} proven reads, state root ${short(out.stateRoot)})`,
    );
  }
}

/** Adds the client commands to the program. */
export function register(program: Command): void {
  addTargetOptions(
    program
      .command('status')
      .description(
        'height, hash and health of every node of the network (and every chain each hosts)',
      ),
  ).action(async (flags: TargetFlags) => {
    const ctx = ClientContext.resolve(flags);
    const rows = await collectStatus(ctx);
    const answering = rows.filter((r) => r.up).length;
    if (flags.json) printJson({ nodes: rows, answering, total: rows.length });
    else print(formatStatus(rows));
    if (answering === 0) {
      throw new ArchiError(
        'NOT_READY',
        ctx.viaRpc
          ? `${rows[0].rpc} does not answer; is the node up?`
          : `no node of ${ctx.dir} answers; is the network up? (start it with "${archiCommand()} up${dirFlag(flags.dir)}")`,
      );
    }
  });

  const tx = program.command('tx').description('send and look up transactions');
  addSigningOptions(
    tx
      .command('send')
      .description('sign a contract call and submit it')
      .requiredOption('--contract <name>', 'contract to call')
      .requiredOption('--method <name>', 'method to call')
      .option('--args <json>', 'arguments as JSON', '{}')
      .option('--wait', 'wait for the commit and print the receipt (at most --timeout ms)'),
    'identity to sign with',
  ).action(txSend);

  addTargetOptions(
    tx
      .command('get')
      .description('a committed transaction and its receipt')
      .argument('<txId>', 'tx id (hex)')
      .option('--wait', 'wait until it is committed (at most --timeout ms)')
      .option(
        '--timeout <ms>',
        'how long --wait waits',
        intOption('--timeout', 1, 300_000),
        30_000,
      ),
  ).action(async (txId: string, flags: TargetFlags & { wait?: boolean; timeout: number }) => {
    if (!TX_ID.test(txId))
      throw new ArchiError('INVALID_ARGS', `tx id must be 64 hex characters, got "${txId}"`);
    const id = txId.replace(/^0x/, '').toLowerCase();
    const t = await ClientContext.resolve(flags).withNode((c) =>
      flags.wait ? c.waitForTx(id, flags.timeout) : c.getTx(id),
    );
    if (flags.json) printJson(t);
    else print(formatTx(t));
  });

  const block = program.command('block').description('look up blocks');
  addTargetOptions(
    block
      .command('get')
      .description('a block by height')
      .argument('<height>', 'block height or "latest"'),
  ).action(async (heightText: string, flags: TargetFlags) => {
    const height = parseHeight(heightText);
    const b = await ClientContext.resolve(flags).withNode((c) => c.getBlock(height));
    if (flags.json) {
      const { height: h, hash, ...rest } = b;
      printJson({ height: h, hash, stateRoot: b.header.stateRoot, ...rest });
    } else print(formatBlock(b));
  });

  addTargetOptions(
    program
      .command('validators')
      .description('the validator set deciding a height (default: the next one)')
      .argument('[height]', 'block height'),
  ).action(async (heightText: string | undefined, flags: TargetFlags) => {
    const height = heightText === undefined ? undefined : parseHeightNumber(heightText);
    const set = await ClientContext.resolve(flags).withNode((c) => c.validators(height));
    if (flags.json) return printJson(set);
    print(
      [
        `height ${set.height}  hash ${set.hash}  total power ${set.totalPower}`,
        ...set.validators.map((v) => `  ${v.name.padEnd(12)} ${v.org.padEnd(10)} power ${v.power}`),
      ].join('\n'),
    );
  });

  addTargetOptions(
    program
      .command('query')
      .description('run a read-only contract method (optionally with a verified proof)')
      .requiredOption('--contract <name>', 'contract to query')
      .requiredOption('--method <name>', 'method to call')
      .option('--args <json>', 'arguments as JSON', '{}')
      .option('--prove', 'ask for state proofs and verify them against the block header'),
  ).action(query);
}
