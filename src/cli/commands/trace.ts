/**
 * `archi trace ...`: product traceability and anti-counterfeiting (docs/apps/trace.md) on the
 * `trace` contract. batch create, register (a CSV of serials and codes in bulk, with
 * progress), grant, event, recall and verify send txs and wait; show (optionally proven
 * against a header verified from the genesis validators), batch show, serials and roles are
 * queries; codes writes a file of serials with random codes; verifier configures the identity
 * the console's public verification signs with. Refusals print their TRACE_* code and exit 1,
 * and so do verifications that find a likely counterfeit or a recalled item.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { generateCodes, parseSerialsCsv, registerSerials } from '../../apps/trace/bulk.ts';
import { Trace, type VerifyAnswer } from '../../apps/trace/client.ts';
import { writeVerifier } from '../../apps/trace/public-verify.ts';
import { type ResolvedReading, resolveReadings } from '../../apps/trace/readings.ts';
import { type ItemView, READING, STEPS, verdictOf } from '../../apps/trace/rules.ts';
import { getProfile } from '../../crypto/profile.ts';
import { codedError } from '../../sdk/errors.ts';
import { LightClient } from '../../sdk/light-client.ts';
import type { VerifiedState } from '../../sdk/verify.ts';
import { ArchiError } from '../../types/errors.ts';
import {
  addSigningOptions,
  addTargetOptions,
  ClientContext,
  cliOutput,
  intOption,
  type TargetFlags,
} from '../client-context.ts';
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

const iso = (ms: number) => new Date(ms).toISOString();

/** Send one trace tx as --as and wait; returns its result and block. */
async function send<T>(method: string, args: Record<string, unknown>, flags: SignFlags) {
  const ctx = ClientContext.resolve(flags);
  return ctx.withNode(async (client) => {
    const identity = ctx.identity(flags.as, await ctx.chainInfo(client));
    return new Trace(client).send<T>(identity, method, args, { timeoutMs: flags.timeout });
  });
}

/** Send, then print the result (--json) or `line(result)`. */
async function write<T>(
  method: string,
  args: Record<string, unknown>,
  flags: SignFlags,
  line: (r: T) => string,
): Promise<void> {
  const r = await send<T>(method, args, flags);
  if (flags.json) printJson({ txId: r.txId, height: r.height, ...(r.result as object) });
  else print(`${line(r.result)} in block ${r.height} (tx ${r.txId})`);
}

/** A light client trusting the genesis validators of the context's chain. */
function genesisLight(ctx: ClientContext, crypto: 'standard' | 'gm'): LightClient {
  const path = ctx.genesisPath();
  let g: { chainId?: unknown; validators?: unknown };
  try {
    g = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ArchiError(
      'BAD_REQUEST',
      `--prove trusts the chain's genesis validators, but ${path} cannot be read (${(e as Error).message}); pass the network's --dir`,
    );
  }
  if (typeof g.chainId !== 'string' || !Array.isArray(g.validators)) {
    throw new ArchiError('CONFIG_INVALID', `${path} has no chainId and validators`);
  }
  return new LightClient(getProfile(crypto), g.chainId, { height: 1, validators: g.validators });
}

const VERDICT_TEXT: Record<ReturnType<typeof verdictOf>, string> = {
  unverified: 'code not verified yet',
  'verified-once': 'code verified once (the first verification below)',
  'counterfeit-suspected': 'LIKELY COUNTERFEIT: its code was verified more than once',
};

function formatReading(r: ResolvedReading): string {
  if (r.status === 'unknown') return `    reading ${r.id}: not in this network's iot store`;
  const what = `device ${r.device} seq ${r.seq} ${JSON.stringify(r.data)} at ${iso(r.ts ?? 0)}`;
  if (r.status === 'stored') {
    return `    reading ${r.id}: ${what}, not anchored${r.problem ? ` (${r.problem})` : ' yet'}`;
  }
  const a = r.anchor as NonNullable<ResolvedReading['anchor']>;
  return `    reading ${r.id}: ${what}, anchored in iot batch ${a.seq} at block ${a.height} (${iso(a.time)})`;
}

function formatItem(v: ItemView, readings: Map<string, ResolvedReading>): string {
  const out = [
    `serial: ${v.serial}`,
    `product: ${v.product} (batch ${v.batch}, made by ${v.maker})`,
    `stage: ${v.stage}`,
    `recalled: ${v.recalled ? `YES, in block ${v.recalled.height} (${iso(v.recalled.time)}): ${v.recalled.reason}` : 'no'}`,
    `authenticity: ${VERDICT_TEXT[verdictOf(v)]}`,
  ];
  if (v.revealed) {
    out.push(
      `  first verified at ${v.revealed.place} on ${iso(v.revealed.time)} (block ${v.revealed.height})`,
    );
  }
  if (v.lastRepeat) {
    out.push(
      `  verified again ${v.repeats} time(s), last at ${v.lastRepeat.place} on ${iso(v.lastRepeat.time)}`,
    );
  }
  out.push('timeline:');
  for (const e of v.timeline) {
    const where = e.place ? ` at ${e.place}` : '';
    const note = e.note ? ` (${e.note})` : '';
    out.push(`  ${iso(e.time)}  block ${e.height}  ${e.step} by ${e.org}${where}${note}`);
    for (const id of e.readings) {
      out.push(formatReading(readings.get(id) ?? { id, status: 'unknown' }));
    }
  }
  return out.join('\n');
}

interface ShowFlags extends TargetFlags {
  prove?: boolean;
}

async function show(serial: string, flags: ShowFlags): Promise<void> {
  const ctx = ClientContext.resolve(flags);
  const out = await ctx.withNode(async (client) => {
    const trace = new Trace(client);
    const info = await ctx.chainInfo(client);
    let item: ItemView | null;
    let verified: VerifiedState | undefined;
    if (flags.prove) {
      ({ item, verified } = await trace.itemProven(serial, genesisLight(ctx, info.crypto)));
    } else {
      item = await trace.item(serial);
    }
    const ids = item ? [...new Set(item.timeline.flatMap((e) => e.readings))] : [];
    const readings = await resolveReadings(client, ctx.dir, info.chainId, ids);
    return { item, verified, readings };
  });
  const { item, verified } = out;
  if (item === null) {
    const at = verified ? ` (proven absent at height ${verified.height})` : '';
    throw codedError('TRACE_UNKNOWN_SERIAL', `no item with serial ${serial}${at}`);
  }
  if (flags.json) {
    printJson({
      ...item,
      verdict: verdictOf(item),
      readings: out.readings,
      ...(verified
        ? {
            verified: true,
            height: verified.height,
            stateRoot: verified.stateRoot,
            blockHash: verified.blockHash,
          }
        : {}),
    });
    return;
  }
  print(formatItem(item, new Map(out.readings.map((r) => [r.id, r]))));
  if (verified) {
    print(
      `verified: true (height ${verified.height}, state root ${verified.stateRoot.slice(0, 16)}…, header signed by the genesis validators)`,
    );
  }
}

interface VerifyFlags extends SignFlags {
  code: string;
  place?: string;
}

async function verify(serial: string, flags: VerifyFlags): Promise<void> {
  const args: Record<string, unknown> = { serial, code: flags.code };
  if (flags.place !== undefined) args.place = flags.place;
  const r = await send<VerifyAnswer>('verify', args, flags);
  const v = r.result;
  const first = `first verified at ${v.first.place} on ${iso(v.first.time)} (block ${v.first.height})`;
  if (flags.json) printJson({ txId: r.txId, height: r.height, ...v });
  else if (v.verdict === 'authentic') {
    print(`authentic: ${v.product} by ${v.maker}, serial ${serial}; this is its ${first}`);
  } else {
    print(`LIKELY COUNTERFEIT: the code of ${serial} was ${first}`);
  }
  if (v.verdict === 'counterfeit') {
    throw codedError(
      'TRACE_COUNTERFEIT',
      `the code of ${serial} was ${first}; this is verification ${v.repeats + 1}`,
    );
  }
  if (v.recalled) {
    throw codedError(
      'TRACE_RECALLED',
      `${serial} is genuine but its batch was recalled in block ${v.recalled.height}: ${v.recalled.reason}`,
    );
  }
}

interface RegisterFlags extends SignFlags {
  file: string;
}

async function registerFile(batch: string, flags: RegisterFlags): Promise<void> {
  let text: string;
  try {
    text = readFileSync(flags.file, 'utf8');
  } catch (e) {
    throw new ArchiError('BAD_REQUEST', `cannot read ${flags.file}: ${(e as Error).message}`);
  }
  const rows = parseSerialsCsv(text);
  const ctx = ClientContext.resolve(flags);
  let shown = 0;
  const r = await ctx.withNode(async (client) => {
    const identity = ctx.identity(flags.as, await ctx.chainInfo(client));
    return registerSerials(client, identity, batch, rows, {
      timeoutMs: Math.max(flags.timeout, 120_000),
      onProgress: (p) => {
        // A line per tenth (and the last), on stderr so that --json stays parseable.
        const step = Math.floor((p.done * 10) / p.total);
        if (step > shown || p.done === p.total) {
          shown = step;
          cliOutput.note(`progress: ${p.done}/${p.total} settled, ${p.failed} txs refused`);
        }
      },
    });
  });
  if (flags.json) printJson(r);
  else {
    print(`registered ${r.registered} of ${r.total} serials of batch ${batch} in ${r.txs} txs`);
    for (const f of r.failed)
      print(`  lines ${f.lines[0]}-${f.lines[1]}: ${f.error}: ${f.message}`);
  }
  if (r.failed.length > 0) {
    const f = r.failed[0];
    throw codedError(
      f.error,
      `${r.total - r.registered} of ${r.total} serials were not registered (first: lines ${f.lines[0]}-${f.lines[1]}: ${f.message})`,
    );
  }
}

function stepsFlag(text: string): string[] {
  const steps = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of steps) {
    if (!(STEPS as readonly string[]).includes(s)) {
      throw codedError('TRACE_INVALID_ARGS', `--steps: ${s} is not one of ${STEPS.join(', ')}`);
    }
  }
  return steps;
}

function collect(value: string, prev: string[] = []): string[] {
  if (!READING.test(value)) {
    throw codedError('TRACE_INVALID_ARGS', `--reading ${value} is not an iot reading id (64 hex)`);
  }
  return [...prev, value];
}

/** Adds `archi trace ...` to the program. */
export function register(program: Command): void {
  const trace = program
    .command('trace')
    .description(
      'product traceability: batches, serials, lifecycle events, anti-counterfeit codes, recalls',
    );
  const batch = trace.command('batch').description('product batches');

  addSigningOptions(
    batch
      .command('create')
      .description('create a batch of a product (its maker is your organization)')
      .argument('<batch>', 'batch id (1..64 of A-Z a-z 0-9 . _ -)')
      .requiredOption('--product <name>', 'what the batch is'),
    'identity to sign with (an admin or client of the maker)',
  ).action((id: string, f: SignFlags & { product: string }) =>
    write('createBatch', { batch: id, product: f.product }, f, () => `created batch ${id}`),
  );

  addTargetOptions(
    batch
      .command('show')
      .description('a batch: product, maker, serials, recall')
      .argument('<batch>'),
  ).action(async (id: string, flags: TargetFlags) => {
    const b = await ClientContext.resolve(flags).withNode((c) => new Trace(c).batch(id));
    if (!b) throw codedError('TRACE_UNKNOWN_BATCH', `no batch ${id}`);
    if (flags.json) printJson(b);
    else {
      print(
        [
          `batch: ${b.id}`,
          `product: ${b.product}`,
          `maker: ${b.maker}`,
          `serials: ${b.serials}`,
          `created: block ${b.createdAt} (${iso(b.createdTime)})`,
          `recalled: ${b.recall ? `in block ${b.recall.height}: ${b.recall.reason}` : 'no'}`,
        ].join('\n'),
      );
    }
  });

  addTargetOptions(
    trace
      .command('codes')
      .description('write a CSV of serials with random secret codes (for printing and register)')
      .requiredOption('--prefix <p>', 'serial prefix (serials are PREFIX000001, ...)')
      .requiredOption('--count <n>', 'how many', intOption('--count', 1, 1_000_000))
      .requiredOption('--out <file>', 'the CSV file to write (keep it secret: it holds the codes)')
      .option('--from <n>', 'first number', intOption('--from', 0, 999_999_999), 1),
  ).action((f: { prefix: string; count: number; out: string; from: number; json?: boolean }) => {
    if (existsSync(f.out)) throw new ArchiError('INVALID_ARGS', `${f.out} exists: not overwritten`);
    writeFileSync(f.out, generateCodes(f.prefix, f.count, f.from), { mode: 0o600 });
    if (f.json) printJson({ file: f.out, count: f.count });
    else print(`wrote ${f.count} serials with codes to ${f.out}`);
  });

  addSigningOptions(
    trace
      .command('register')
      .description(
        "register a batch's serials from a CSV file (serial,code): commitments only go on chain",
      )
      .argument('<batch>', 'the batch')
      .requiredOption('--file <csv>', 'serial,code per line'),
    'identity to sign with (an admin or client of the maker)',
  ).action(registerFile);

  addSigningOptions(
    trace
      .command('grant')
      .description('let an organization record steps on your items ([] with --steps "" revokes)')
      .argument('<org>', 'the organization')
      .requiredOption('--steps <list>', `comma-separated: ${STEPS.join(',')}`),
    "identity to sign with (the maker's admin)",
  ).action((org: string, f: SignFlags & { steps: string }) =>
    write(
      'grant',
      { org, steps: stepsFlag(f.steps) },
      f,
      (r: { steps: string[] }) => `${org} may record ${r.steps.join(', ') || 'nothing'}`,
    ),
  );

  addTargetOptions(
    trace
      .command('roles')
      .description('the organizations a maker granted steps to')
      .requiredOption('--maker <org>', 'the maker'),
  ).action(async (flags: TargetFlags & { maker: string }) => {
    const list = await ClientContext.resolve(flags).withNode((c) =>
      new Trace(c).roles(flags.maker),
    );
    if (flags.json) printJson(list);
    else
      print(
        formatTable(
          ['ORG', 'STEPS'],
          list.map((r) => [r.org, r.steps.join(',')]),
        ),
      );
  });

  addSigningOptions(
    trace
      .command('event')
      .description('record a lifecycle step on an item')
      .argument('<serial>')
      .argument('<step>', STEPS.join(' | '))
      .option('--place <text>', 'where')
      .option('--note <text>', 'a remark')
      .option('--reading <id>', 'an iot reading id (repeatable)', collect),
    'identity to sign with (an admin or client of an organization allowed the step)',
  ).action(
    (
      serial: string,
      step: string,
      f: SignFlags & { place?: string; note?: string; reading?: string[] },
    ) =>
      write(
        'event',
        { serial, step, place: f.place, note: f.note, readings: f.reading },
        f,
        () => `${serial}: ${step}`,
      ),
  );

  addSigningOptions(
    trace
      .command('recall')
      .description('recall a batch: every item of it shows the recall')
      .argument('<batch>')
      .requiredOption('--reason <text>', 'why'),
    "identity to sign with (the maker's admin)",
  ).action((id: string, f: SignFlags & { reason: string }) =>
    write(
      'recall',
      { batch: id, reason: f.reason },
      f,
      (b: { serials: number }) => `recalled batch ${id} (${b.serials} serials)`,
    ),
  );

  addSigningOptions(
    trace
      .command('verify')
      .description("reveal an item's secret code: authentic the first time, else a likely fake")
      .argument('<serial>')
      .requiredOption('--code <code>', 'the code printed on the item')
      .option('--place <text>', 'where the check happens (recorded)'),
    'identity to sign with (the verification service)',
  ).action(verify);

  addTargetOptions(
    trace
      .command('show')
      .description("an item's timeline, recall and authenticity")
      .argument('<serial>')
      .option('--prove', 'verify it against a header signed by the genesis validators'),
  ).action(show);

  addTargetOptions(
    trace
      .command('serials')
      .description("a batch's serials in registration order (100 per page)")
      .argument('<batch>')
      .option('--page <n>', 'page number (from 0)', intOption('--page', 0, 999_999), 0),
  ).action(async (id: string, flags: TargetFlags & { page: number }) => {
    const p = await ClientContext.resolve(flags).withNode((c) =>
      new Trace(c).serials(id, flags.page),
    );
    if (flags.json) printJson(p);
    else {
      print(`${p.batch}: ${p.total} serials; page ${p.page}:`);
      if (p.serials.length > 0) print(p.serials.join('\n'));
    }
  });

  addTargetOptions(
    trace
      .command('verifier')
      .description(
        "set the identity the console's public verification page signs reveals with (in --dir)",
      )
      .argument('<org/user>', 'an identity of the network directory'),
  ).action(async (as: string, flags: TargetFlags) => {
    const ctx = ClientContext.resolve(flags);
    // Loaded now so that a typo is refused here rather than on a shopper's phone.
    ctx.identity(as, await ctx.chainInfo());
    writeVerifier(ctx.dir, as);
    if (flags.json) printJson({ verifier: as });
    else print(`the console's /verify page signs reveals as ${as}`);
  });
}
