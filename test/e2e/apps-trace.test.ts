/**
 * The trace app on a 4-organization BFT network, through the `archi` CLI as a user runs it:
 * `archi up --apps` deploys it; org1 (the maker) creates a batch and registers 2,000 serials
 * with secret codes from a file in a few txs; it grants org2 inspection and shipping and org3
 * receiving and selling; an item goes through its lifecycle with an IoT reading (published to
 * the embedded aedes broker and anchored by the iot app) attached by reference; the timeline
 * is shown proven; a wrong code is not authentic, the first reveal is authentic, the second a
 * likely counterfeit with the first time and place; a recall marks every item of the batch.
 * Every bad input exits 1 with its stable code and changes nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { archi, archiJson, type CliResult, removeDir, stopAll, tempDir, up } from './harness.ts';
import { initNetwork } from './network.ts';

let dir: string;
let upOut: string;
before(async () => {
  dir = tempDir('archi-trace-');
  await initNetwork(dir, 4);
  const net = await up(dir, ['--no-console', '--apps']);
  upOut = net.proc.out;
});
after(async () => {
  await stopAll();
  removeDir(dir);
});

const cli = (...args: string[]) => archi([...args, '--dir', dir], { timeoutMs: 180_000 });
const json = (...args: string[]) => archiJson([...args, '--dir', dir]);
const trace = (...args: string[]) => cli('trace', ...args);
const show = (serial: string) => json('trace', 'show', serial);

/** Exit 1 with one line `error: CODE: ...` on stderr (besides progress lines). */
function failsWith(r: CliResult, code: string, re?: RegExp): void {
  assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('progress: '));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], new RegExp(`^error: ${code}: `));
  if (re) assert.match(lines[0], re);
}

function succeeds(r: CliResult): string {
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  return r.stdout;
}

const BATCH = 'LG-2026-V20-001';
const S1 = 'V20-000001';
let codes: Map<string, string>;

test('archi up --apps deploys trace; deploying again changes nothing', async () => {
  assert.match(upOut, /trace: contract trace deployed \(v1, codeHash [0-9a-f]{16}…\)/);
  const again = await json('apps', 'deploy', 'trace');
  assert.equal(again[0].status, 'unchanged');
});

test('a maker registers 2,000 serials from a file in a few txs, with progress', async () => {
  const made = await json(
    'trace',
    'batch',
    'create',
    BATCH,
    '--product',
    'Hydraulic valve V-20',
    '--as',
    'org1/client',
  );
  assert.equal(made.maker, 'org1');
  failsWith(await trace('batch', 'create', BATCH, '--product', 'x'), 'TRACE_BATCH_EXISTS');
  failsWith(await trace('batch', 'create', 'bad id', '--product', 'x'), 'TRACE_BAD_FORMAT');

  const file = join(dir, 'codes.csv');
  succeeds(await trace('codes', '--prefix', 'V20-', '--count', '2000', '--out', file));
  failsWith(
    await trace('codes', '--prefix', 'V20-', '--count', '2', '--out', file),
    'INVALID_ARGS',
  );
  codes = new Map(
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',') as [string, string]),
  );
  assert.equal(codes.size, 2000);

  // Only the maker registers; a malformed file sends nothing.
  failsWith(
    await trace('register', BATCH, '--file', file, '--as', 'org2/client'),
    'TRACE_NOT_ALLOWED',
  );
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'serial,code\nV20-900001,GOODCODE-1234\nV20 900002,GOODCODE-5678\n');
  failsWith(
    await trace('register', BATCH, '--file', bad),
    'TRACE_BAD_FORMAT',
    /line 3.*nothing was sent/,
  );
  failsWith(await trace('register', 'NO-BATCH', '--file', file), 'TRACE_UNKNOWN_BATCH');
  assert.equal((await json('trace', 'batch', 'show', BATCH)).serials, 0);

  const t0 = Date.now();
  const r = await trace('register', BATCH, '--file', file, '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    batch: BATCH,
    total: 2000,
    registered: 2000,
    txs: 8,
    failed: [],
  });
  assert.match(r.stderr, /progress: 2000\/2000 settled, 0 txs refused/);
  process.stderr.write(`# 2,000 serials registered in ${Date.now() - t0} ms (CLI run included)\n`);
  const page = await json('trace', 'serials', BATCH, '--page', '19');
  assert.equal(page.total, 2000);
  assert.equal(page.serials.at(-1), 'V20-002000');
  // The codes never reach the chain: only their salted hashes.
  const item = await show(S1);
  assert.match(item.commitment, /^[0-9a-f]{64}$/);
  assert.ok(!JSON.stringify(item).includes(codes.get(S1) as string));
  // Registering the same file again is refused chunk by chunk, and changes nothing.
  failsWith(
    await trace('register', BATCH, '--file', file),
    'TRACE_SERIAL_EXISTS',
    /2000 of 2000 serials were not registered/,
  );
});

test('granted organizations record steps in order, with an IoT reading by reference', async () => {
  failsWith(
    await trace('grant', 'org2', '--steps', 'inspected,shipped', '--as', 'org1/client'),
    'TRACE_FORBIDDEN',
  );
  failsWith(await trace('grant', 'org9', '--steps', 'shipped'), 'TRACE_UNKNOWN_ORG');
  failsWith(await trace('grant', 'org2', '--steps', 'flown'), 'TRACE_INVALID_ARGS');
  succeeds(await trace('grant', 'org2', '--steps', 'shipped,inspected'));
  succeeds(await trace('grant', 'org3', '--steps', 'received,sold'));
  assert.deepEqual(await json('trace', 'roles', '--maker', 'org1'), [
    { org: 'org2', steps: ['inspected', 'shipped'] },
    { org: 'org3', steps: ['received', 'sold'] },
  ]);

  // A temperature logger of org2's lab publishes a reading to the embedded broker.
  const key = join(dir, 'logger.key');
  succeeds(await cli('iot', 'device', 'add', 'qa-logger', '--out', key, '--as', 'org2/client'));
  const reading = JSON.parse(
    succeeds(await archi(['iot', 'sign', '--key', key, '--data', '{"t":21.5,"p":350}'])),
  );
  const { url } = JSON.parse(readFileSync(join(dir, 'iot', 'broker.json'), 'utf8'));
  const client = await mqtt.connectAsync(url);
  try {
    await client.publishAsync('factory/qa/readings', JSON.stringify(reading), { qos: 1 });
  } finally {
    await client.endAsync();
  }

  const step = (serial: string, s: string, as: string, ...more: string[]) =>
    trace('event', serial, s, '--as', as, ...more);
  failsWith(await step(S1, 'shipped', 'org4/client'), 'TRACE_NOT_ALLOWED', /not granted org4/);
  failsWith(await step(S1, 'received', 'org3/client'), 'TRACE_BAD_ORDER', /produced/);
  failsWith(await step('V20-999999', 'shipped', 'org2/client'), 'TRACE_UNKNOWN_SERIAL');
  failsWith(await step(S1, 'lost', 'org2/client'), 'TRACE_INVALID_ARGS');
  failsWith(await step(S1, 'inspected', 'org2/client', '--reading', 'xyz'), 'TRACE_INVALID_ARGS');
  assert.equal((await show(S1)).timeline.length, 1);

  succeeds(
    await step(
      S1,
      'inspected',
      'org2/client',
      '--place',
      'Lingang QA lab',
      '--reading',
      reading.id,
    ),
  );
  succeeds(await step(S1, 'shipped', 'org2/client', '--place', 'Yangshan port'));
  succeeds(await step(S1, 'received', 'org3/client', '--place', 'Beijing store'));
  succeeds(await step(S1, 'sold', 'org3/client', '--note', 'receipt 8812'));
  failsWith(await step(S1, 'shipped', 'org1/client'), 'TRACE_BAD_ORDER', /sold/);

  // The reading is resolved against the iot app once its batch is anchored.
  let proven: any;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    proven = await json('trace', 'show', S1, '--prove');
    if (proven.readings[0]?.status === 'anchored') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(proven.verified, true);
  assert.deepEqual(
    proven.timeline.map((e: any) => `${e.step}:${e.org}`),
    ['produced:org1', 'inspected:org2', 'shipped:org2', 'received:org3', 'sold:org3'],
  );
  assert.equal(proven.timeline[1].place, 'Lingang QA lab');
  assert.deepEqual(proven.timeline[1].readings, [reading.id]);
  assert.equal(proven.readings[0].status, 'anchored');
  assert.deepEqual(proven.readings[0].data, { t: 21.5, p: 350 });
  assert.ok(proven.readings[0].anchor.height > 0);
  const text = succeeds(await trace('show', S1));
  assert.match(text, /inspected by org2 at Lingang QA lab/);
  assert.match(text, /reading [0-9a-f]{64}: device [0-9a-f]{40} .*anchored in iot batch \d+/);
  failsWith(await trace('show', 'V20-999999', '--prove'), 'TRACE_UNKNOWN_SERIAL', /proven absent/);
});

test('verification: wrong code, first reveal, second reveal flagged with the first place', async () => {
  const code = codes.get(S1) as string;
  const verify = (serial: string, c: string, ...more: string[]) =>
    trace('verify', serial, '--code', c, '--as', 'org4/client', ...more);
  failsWith(await verify(S1, codes.get('V20-000002') as string), 'TRACE_NOT_AUTHENTIC');
  failsWith(await verify(S1, 'short'), 'TRACE_BAD_FORMAT');
  failsWith(await verify('V20-999999', code), 'TRACE_UNKNOWN_SERIAL');
  assert.equal((await show(S1)).revealed, null);

  const first = succeeds(await verify(S1, code, '--place', 'Beijing, Chaoyang'));
  assert.match(first, /^authentic: Hydraulic valve V-20 by org1/);
  const again = await verify(S1, code, '--place', 'Wuhan');
  failsWith(again, 'TRACE_COUNTERFEIT', /first verified at Beijing, Chaoyang on \d{4}-/);
  assert.match(again.stdout, /LIKELY COUNTERFEIT/);
  const v = await show(S1);
  assert.equal(v.verdict, 'counterfeit-suspected');
  assert.equal(v.revealed.place, 'Beijing, Chaoyang');
  assert.equal(v.lastRepeat.place, 'Wuhan');
  assert.equal(v.repeats, 1);
});

test('a recall marks every item of the batch; verification shows it', async () => {
  failsWith(
    await trace('recall', BATCH, '--reason', 'x', '--as', 'org1/client'),
    'TRACE_FORBIDDEN',
  );
  failsWith(
    await trace('recall', BATCH, '--reason', 'x', '--as', 'org2/admin'),
    'TRACE_NOT_ALLOWED',
  );
  failsWith(await trace('recall', 'NO-BATCH', '--reason', 'x'), 'TRACE_UNKNOWN_BATCH');
  succeeds(await trace('recall', BATCH, '--reason', 'seal defect, lot 7'));
  failsWith(await trace('recall', BATCH, '--reason', 'again'), 'TRACE_RECALLED');
  for (const s of ['V20-000002', 'V20-001999']) {
    const v = await show(s);
    assert.equal(v.recalled.reason, 'seal defect, lot 7');
    assert.equal(v.timeline.at(-1).step, 'recalled');
  }
  failsWith(
    await trace('event', 'V20-000003', 'inspected', '--as', 'org2/client'),
    'TRACE_RECALLED',
  );
  const r = await trace(
    'verify',
    'V20-000002',
    '--code',
    codes.get('V20-000002') as string,
    '--as',
    'org4/client',
  );
  failsWith(r, 'TRACE_RECALLED', /genuine but its batch was recalled.*seal defect/);
  assert.match(succeeds(await trace('show', 'V20-000002')), /recalled: YES/);
});
